//! Commands from Telegram: the server long-polls the Bot API (`getUpdates`,
//! no public URL needed) and answers whitelisted chats only. A chat acts with
//! its configured role through the same audited actions as the API (actor
//! `telegram:<chat id>`), and a change waits for the same chat to reply
//! `yes` within a minute. Anyone else gets no answer; the first message of
//! an unknown chat in each ten minutes is written to the audit log.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use frankenstein::AsyncTelegramApi;
use frankenstein::methods::{GetUpdatesParams, SendMessageParams};
use frankenstein::types::AllowedUpdate;
use frankenstein::updates::{Update, UpdateContent};
use serde_json::Value;

use super::BotApi;
use super::commands::{Command, HELP, parse};
use crate::config::{ChatRole, TelegramConfig};
use crate::model::time::wall_ns;
use crate::report::views;
use crate::store::auth::{Principal, Role, audit};
use crate::web::{ServerState, actions};

/// How long a long poll waits for messages.
const POLL_S: u32 = 25;
/// How long a change waits for its `yes`.
const CONFIRM_WITHIN: Duration = Duration::from_secs(60);
/// An unknown chat is audited once per this long.
const UNKNOWN_AUDIT_EVERY: Duration = Duration::from_secs(600);
/// Unknown chats remembered at most.
const UNKNOWN_REMEMBERED: usize = 1_000;
/// Telegram's limit on a message's length.
const MAX_TEXT: usize = 4_000;

/// Answers the whitelisted chats.
pub struct Listener {
    bot: BotApi,
    chats: BTreeMap<i64, ChatRole>,
    state: ServerState,
    pending: HashMap<i64, (Command, Instant)>,
    unknown: HashMap<i64, Instant>,
}

fn role(r: ChatRole) -> Role {
    match r {
        ChatRole::Viewer => Role::Viewer,
        ChatRole::Operator => Role::Operator,
        ChatRole::Admin => Role::Admin,
    }
}

impl Listener {
    pub fn new(config: &TelegramConfig, token: &str, state: ServerState) -> Listener {
        Listener {
            bot: BotApi::new(&config.api_url, token, u64::from(POLL_S)),
            chats: config.chats.iter().map(|c| (c.id, c.role)).collect(),
            state,
            pending: HashMap::new(),
            unknown: HashMap::new(),
        }
    }

    /// Polls and answers until the task is dropped.
    pub async fn run(mut self) {
        let mut offset: Option<i64> = None;
        loop {
            let params = GetUpdatesParams::builder()
                .timeout(POLL_S)
                .allowed_updates(vec![AllowedUpdate::Message])
                .maybe_offset(offset)
                .build();
            match self.bot.get_updates(&params).await {
                Ok(r) => {
                    for update in r.result {
                        offset = Some(i64::from(update.update_id) + 1);
                        self.handle(update).await;
                    }
                }
                Err(e) => {
                    let wait = match &e {
                        super::BotError::Api {
                            retry_after: Some(s),
                            ..
                        } => *s,
                        _ => 5,
                    };
                    tracing::warn!(error = %e, "Telegram commands: polling failed; retrying");
                    tokio::time::sleep(Duration::from_secs(wait.clamp(1, 300))).await;
                }
            }
        }
    }

    async fn handle(&mut self, update: Update) {
        let UpdateContent::Message(m) = update.content else {
            return;
        };
        let chat = m.chat.id;
        let text = m.text.unwrap_or_default();
        let Some(r) = self.chats.get(&chat).copied() else {
            self.unknown_chat(chat, &text).await;
            return;
        };
        let answer = self.answer(chat, r, &text).await;
        self.say(chat, &answer).await;
    }

    /// No answer; audited once per window per chat, with bounded memory.
    async fn unknown_chat(&mut self, chat: i64, text: &str) {
        let now = Instant::now();
        if self
            .unknown
            .get(&chat)
            .is_some_and(|at| now.duration_since(*at) < UNKNOWN_AUDIT_EVERY)
        {
            return;
        }
        if self.unknown.len() >= UNKNOWN_REMEMBERED {
            self.unknown
                .retain(|_, at| now.duration_since(*at) < UNKNOWN_AUDIT_EVERY);
        }
        if self.unknown.len() < UNKNOWN_REMEMBERED {
            self.unknown.insert(chat, now);
        }
        let said: String = text.chars().take(64).collect();
        if let Err(e) = audit(
            &self.state.auth,
            wall_ns(),
            &format!("telegram:{chat}"),
            "telegram",
            &said,
            "rejected: the chat is not in alerts.telegram.chats; no answer sent",
        )
        .await
        {
            tracing::error!(error = %e, "writing the audit log");
        }
    }

    async fn answer(&mut self, chat: i64, r: ChatRole, text: &str) -> String {
        let command = match parse(text) {
            Ok(c) => c,
            Err(e) => return e.0,
        };
        match command {
            Command::Help => HELP.to_string(),
            Command::Yes => match self.pending.remove(&chat) {
                Some((c, at)) if at.elapsed() < CONFIRM_WITHIN => self.execute(chat, r, c).await,
                Some((c, _)) => format!(
                    "The request to {} expired (a minute); send it again.",
                    c.describe()
                ),
                None => "Nothing is waiting for a yes.".into(),
            },
            Command::No => match self.pending.remove(&chat) {
                Some((c, _)) => format!("Dropped: {}.", c.describe()),
                None => "Nothing is waiting for an answer.".into(),
            },
            // Refused (and audited) by the action itself, at once.
            c if c.needs() > r => self.execute(chat, r, c).await,
            c if c.changes_anything() => {
                let question = format!(
                    "Reply yes within a minute to {}, or no to drop it.",
                    c.describe()
                );
                self.pending.insert(chat, (c, Instant::now()));
                question
            }
            c => self.read(c).await,
        }
    }

    async fn execute(&self, chat: i64, r: ChatRole, c: Command) -> String {
        let who = Principal {
            name: format!("telegram:{chat}"),
            role: role(r),
        };
        let s = &self.state;
        let done = match &c {
            Command::Halt => actions::risk(s, &who, "halt").await,
            Command::Reduce => actions::risk(s, &who, "reduce").await,
            Command::ResumeTrading => actions::risk(s, &who, "resume").await,
            Command::Pause(n) => actions::pause(s, &who, n, true).await,
            Command::Resume(n) => actions::pause(s, &who, n, false).await,
            _ => return "That changes nothing.".into(),
        };
        match done {
            Ok(v) => format!(
                "Queued: {} (request {}). The engine applies it on its next round.",
                c.describe(),
                v["request"]
            ),
            Err(refused) => format!("Refused: {}", refused.message),
        }
    }

    async fn read(&self, c: Command) -> String {
        if let Command::Strategies = c {
            return strategies(&self.state);
        }
        let s = &self.state;
        let p = match s.view.current(&s.journal).await {
            Ok(p) => p,
            Err(e) => return format!("The journal cannot be read: {e}"),
        };
        let next_seq = s.live.read().map_or(0, |l| l.journal_next_seq);
        match c {
            Command::Status => status(&views::status(&p, next_seq)),
            Command::Positions => lines(
                "No positions.",
                views::positions(&p).iter().map(|v| {
                    format!(
                        "{} {}: {} shares @ {}",
                        text(&v["strategy_name"]),
                        short(&text(&v["token"])),
                        v["shares"],
                        text(&v["avg_price"])
                    )
                }),
            ),
            Command::Trades(n) => lines(
                "No fills yet.",
                views::trades(&p, n).iter().map(|v| {
                    format!(
                        "#{} {} {} {} {} @ {} ({})",
                        v["seq"],
                        text(&v["time"]),
                        text(&v["strategy"]),
                        text(&v["side"]).to_lowercase(),
                        text(&v["shares"]),
                        text(&v["price"]),
                        text(&v["reason"])
                    )
                }),
            ),
            Command::Performance(secs) => lines(
                "No strategies.",
                views::performance(
                    &p,
                    i64::try_from(secs.saturating_mul(1_000_000_000)).unwrap_or(i64::MAX),
                )
                .iter()
                .map(|v| {
                    format!(
                        "{}: {} fills, volume ${}, fees ${}, realised ${}, equity change ${}",
                        text(&v["name"]),
                        v["fills"],
                        text(&v["volume"]),
                        text(&v["fees"]),
                        text(&v["realized_total"]),
                        text(&v["equity_change"])
                    )
                }),
            ),
            _ => HELP.to_string(),
        }
    }

    async fn say(&self, chat: i64, text: &str) {
        let mut text: String = text.chars().take(MAX_TEXT).collect();
        if text.is_empty() {
            text.push('…');
        }
        let params = SendMessageParams::builder()
            .chat_id(chat)
            .text(text)
            .build();
        if let Err(e) = self.bot.send_message(&params).await {
            tracing::warn!(chat, error = %e, "a Telegram answer was not delivered");
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn short(token: &str) -> String {
    if token.len() > 12 {
        format!("{}…{}", &token[..5], &token[token.len() - 5..])
    } else {
        token.to_string()
    }
}

fn lines(empty: &str, rows: impl Iterator<Item = String>) -> String {
    let out: Vec<String> = rows.collect();
    if out.is_empty() {
        empty.to_string()
    } else {
        out.join("\n")
    }
}

fn status(doc: &Value) -> String {
    let mut out = format!(
        "trading: {}\nopen orders: {} · fills: {} · risk rejections: {} · faults: {}",
        text(&doc["trading_state"]),
        doc["open_orders"],
        doc["fills"],
        doc["risk_rejections"],
        doc["faults"]
    );
    if let Some(list) = doc["strategies"].as_array() {
        for s in list {
            out.push_str(&format!("\n{}: {}", text(&s["name"]), text(&s["state"])));
        }
    }
    out
}

fn strategies(s: &ServerState) -> String {
    let Ok(live) = s.live.read() else {
        return "The live status cannot be read.".into();
    };
    lines(
        "No strategies are running.",
        live.strategies.iter().map(|st| {
            format!(
                "{} {}: {}, {} faults, {} fills, equity ${}",
                st.name,
                st.version,
                st.state,
                st.faults,
                st.fills,
                st.equity.round_dp(2)
            )
        }),
    )
}
