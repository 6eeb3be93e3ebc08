//! `alerts.telegram`: the Bot API endpoint, the chats allowed to hear alerts
//! (and, by role, to command), and how often they may be written to. The
//! bot's token is never in the file: it comes from `PQAP_TELEGRAM_TOKEN`.

use serde::{Deserialize, Serialize};

/// The environment variable that holds the bot's token.
pub const TOKEN_VAR: &str = "PQAP_TELEGRAM_TOKEN";

/// The public Bot API.
pub const PUBLIC_API_URL: &str = "https://api.telegram.org";

/// A chat's standing: what it hears and what it may ask for, as the
/// server's roles say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatRole {
    Viewer,
    Operator,
    Admin,
}

/// One whitelisted chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramChat {
    /// The chat's id (a user's private chat, or a group's negative id).
    pub id: i64,
    #[serde(default = "default_role")]
    pub role: ChatRole,
}

fn default_role() -> ChatRole {
    ChatRole::Viewer
}

/// Telegram delivery of alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramConfig {
    /// The Bot API's base URL (a local Bot API server, or a test's fake).
    pub api_url: String,
    /// The only chats the bot writes to (and, later, listens to).
    pub chats: Vec<TelegramChat>,
    /// Messages per chat per minute; alerts past it are summed up in one
    /// message once the minute is over.
    pub max_per_minute: u32,
    /// The same alert (kind, strategy and text) is sent once per this many
    /// seconds; repeats within it are counted, not sent.
    pub dedupe_s: u64,
}

impl Default for TelegramConfig {
    fn default() -> TelegramConfig {
        TelegramConfig {
            api_url: PUBLIC_API_URL.to_string(),
            chats: Vec::new(),
            max_per_minute: 20,
            dedupe_s: 600,
        }
    }
}

/// Chats as `PQAP_ALERTS_TELEGRAM_CHATS` lists them: `ID[:ROLE],...`
/// (role `viewer` when left out).
pub fn parse_chats(text: &str) -> Result<Vec<TelegramChat>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            let (id, role) = c.split_once(':').unwrap_or((c, "viewer"));
            let id = id
                .trim()
                .parse()
                .map_err(|e| format!("chat `{c}`: the id is not a number ({e})"))?;
            let role = match role.trim() {
                "viewer" => ChatRole::Viewer,
                "operator" => ChatRole::Operator,
                "admin" => ChatRole::Admin,
                other => {
                    return Err(format!(
                        "chat `{c}`: role `{other}` is not viewer, operator or admin"
                    ));
                }
            };
            Ok(TelegramChat { id, role })
        })
        .collect()
}

impl TelegramConfig {
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.chats.is_empty() {
            return Err("alerts.telegram.chats: name at least one chat id".into());
        }
        if self.max_per_minute == 0 {
            return Err("alerts.telegram.max_per_minute must be at least 1".into());
        }
        match reqwest::Url::parse(&self.api_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
            _ => Err(format!(
                "alerts.telegram.api_url: {} is not an http(s) URL",
                self.api_url
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chats_from_the_environment_name_ids_and_roles() {
        let chats = parse_chats("42:operator, -1001, 7:admin").unwrap();
        assert_eq!(
            chats,
            vec![
                TelegramChat {
                    id: 42,
                    role: ChatRole::Operator
                },
                TelegramChat {
                    id: -1001,
                    role: ChatRole::Viewer
                },
                TelegramChat {
                    id: 7,
                    role: ChatRole::Admin
                },
            ]
        );
        let e = parse_chats("42:boss").unwrap_err();
        assert!(e.contains("`boss`"), "{e}");
        assert!(parse_chats("x").unwrap_err().contains("chat `x`"));
    }

    #[test]
    fn a_telegram_section_is_read_and_checked() {
        let c: TelegramConfig = serde_saphyr::from_str(
            "api_url: http://127.0.0.1:9\nchats:\n  - id: 5\n    role: admin\nmax_per_minute: 3\n",
        )
        .unwrap();
        assert_eq!(c.chats[0].role, ChatRole::Admin);
        assert_eq!((c.max_per_minute, c.dedupe_s), (3, 600));
        assert!(c.validate().is_ok());
        let none = TelegramConfig::default();
        assert!(none.validate().unwrap_err().contains("at least one chat"));
    }
}
