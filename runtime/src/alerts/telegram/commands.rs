//! The bot's commands as chats type them: parsed into what to do, with the
//! role each needs and whether it changes anything (those wait for a
//! confirming reply).

use crate::config::ChatRole;

/// Fills `/trades` lists unless told otherwise, and at most.
const TRADES: usize = 10;
const TRADES_MAX: usize = 50;

/// What a chat asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Status,
    Positions,
    Trades(usize),
    /// Over this many seconds.
    Performance(u64),
    Strategies,
    Pause(String),
    Resume(String),
    Halt,
    Reduce,
    ResumeTrading,
    /// A reply confirming the change waiting for it.
    Yes,
    /// A reply dropping it.
    No,
}

/// Why a message is not a command; the text says what to type instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotACommand(pub String);

impl Command {
    /// The role a chat needs for it.
    pub fn needs(&self) -> ChatRole {
        if self.changes_anything() {
            ChatRole::Operator
        } else {
            ChatRole::Viewer
        }
    }

    /// Whether it changes trading (and so waits for a confirmation).
    pub fn changes_anything(&self) -> bool {
        matches!(
            self,
            Command::Pause(_)
                | Command::Resume(_)
                | Command::Halt
                | Command::Reduce
                | Command::ResumeTrading
        )
    }

    /// How the confirmation question names it.
    pub fn describe(&self) -> String {
        match self {
            Command::Pause(n) => format!("pause strategy {n}"),
            Command::Resume(n) => format!("resume strategy {n}"),
            Command::Halt => "halt all trading (working orders are cancelled)".into(),
            Command::Reduce => "let every strategy only reduce its positions".into(),
            Command::ResumeTrading => "resume trading".into(),
            other => format!("{other:?}"),
        }
    }
}

/// The commands, as `/help` lists them.
pub const HELP: &str = "\
/status — trading state, strategies, open orders
/positions — shares held per strategy
/trades [N] — the latest N fills (default 10, at most 50)
/performance [7d] — fills, volume, fees and PnL per strategy over a period (h, d)
/strategies — each strategy's state, faults and equity
/pause NAME, /resume NAME — stop or restart a strategy's trading (operator)
/halt, /reduce, /resume_trading — the whole book (operator)
Changes ask for a reply: yes to go ahead, no to drop it.";

fn period_s(text: &str) -> Option<u64> {
    let (n, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: u64 = n.parse().ok().filter(|n| *n > 0)?;
    match unit {
        "h" => n.checked_mul(3_600),
        "d" => n.checked_mul(86_400),
        _ => None,
    }
}

/// Reads a message's text.
pub fn parse(text: &str) -> Result<Command, NotACommand> {
    let mut words = text.split_whitespace();
    let Some(first) = words.next() else {
        return Err(NotACommand(
            "an empty message; /help lists the commands".into(),
        ));
    };
    // `/cmd@BotName` in groups.
    let name = first
        .split('@')
        .next()
        .unwrap_or(first)
        .to_ascii_lowercase();
    let arg = words.next();
    let extra = words.next();
    let strategy = |cmd: &str| match (arg, extra) {
        (Some(n), None) => Ok(n.to_string()),
        _ => Err(NotACommand(format!(
            "{cmd} takes one strategy name, e.g. {cmd} market_maker"
        ))),
    };
    let bare = |c: Command| match arg {
        None => Ok(c),
        Some(_) => Err(NotACommand(format!("{name} takes nothing after it"))),
    };
    match name.as_str() {
        "/help" | "/start" => bare(Command::Help),
        "/status" => bare(Command::Status),
        "/positions" => bare(Command::Positions),
        "/strategies" => bare(Command::Strategies),
        "/trades" => match arg.map(str::parse::<usize>) {
            None => Ok(Command::Trades(TRADES)),
            Some(Ok(n)) if (1..=TRADES_MAX).contains(&n) && extra.is_none() => {
                Ok(Command::Trades(n))
            }
            _ => Err(NotACommand(format!(
                "/trades takes a count from 1 to {TRADES_MAX}, e.g. /trades 20"
            ))),
        },
        "/performance" => match arg {
            None => Ok(Command::Performance(7 * 86_400)),
            Some(p) => period_s(p)
                .filter(|_| extra.is_none())
                .map(Command::Performance)
                .ok_or_else(|| {
                    NotACommand(format!(
                        "/performance takes a period like 24h or 7d, not {p}"
                    ))
                }),
        },
        "/pause" => strategy("/pause").map(Command::Pause),
        "/resume" => strategy("/resume").map(Command::Resume),
        "/halt" => bare(Command::Halt),
        "/reduce" => bare(Command::Reduce),
        "/resume_trading" => bare(Command::ResumeTrading),
        "yes" | "/yes" | "y" => bare(Command::Yes),
        "no" | "/no" | "n" => bare(Command::No),
        _ => Err(NotACommand(format!(
            "{} is not a command; /help lists them",
            first.chars().take(40).collect::<String>()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_read_as_typed_with_their_arguments() {
        assert_eq!(parse("/status"), Ok(Command::Status));
        assert_eq!(parse("/status@pqap_bot"), Ok(Command::Status));
        assert_eq!(parse("/trades"), Ok(Command::Trades(10)));
        assert_eq!(parse("/trades 25"), Ok(Command::Trades(25)));
        assert_eq!(parse("/performance"), Ok(Command::Performance(604_800)));
        assert_eq!(parse("/performance 24h"), Ok(Command::Performance(86_400)));
        assert_eq!(parse("/pause mm"), Ok(Command::Pause("mm".into())));
        assert_eq!(parse("/resume_trading"), Ok(Command::ResumeTrading));
        assert_eq!(parse("Yes"), Ok(Command::Yes));
        assert_eq!(parse(" no "), Ok(Command::No));
    }

    #[test]
    fn bad_input_says_what_to_type() {
        for (text, says) in [
            ("/trades 0", "from 1 to 50"),
            ("/trades 51", "from 1 to 50"),
            ("/trades x", "from 1 to 50"),
            ("/performance 7w", "not 7w"),
            ("/pause", "one strategy name"),
            ("/pause a b", "one strategy name"),
            ("/halt now", "takes nothing"),
            ("hello", "not a command"),
            ("", "empty"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.0.contains(says), "{text}: {}", e.0);
        }
    }

    #[test]
    fn only_changes_need_an_operator() {
        assert_eq!(Command::Status.needs(), ChatRole::Viewer);
        assert_eq!(Command::Halt.needs(), ChatRole::Operator);
        assert!(Command::Pause("x".into()).changes_anything());
        assert!(!Command::Trades(3).changes_anything());
    }
}
