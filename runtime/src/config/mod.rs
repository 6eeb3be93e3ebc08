//! Configuration: YAML files (`configs/dev.yaml`, `configs/prod.yaml`) with
//! `PQAP_*` environment overrides, validated once at start. Secrets never live in
//! YAML; they come from the environment or from files named here.

pub mod backups;
pub mod key_file;
mod live;
pub mod telegram;

pub use live::{LiveConfig, TradingMode, WalletKind};
pub use telegram::{ChatRole, TelegramChat, TelegramConfig};

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::execution::FillConfig;
use crate::risk::RiskLimits;
use crate::strategy::SandboxLimits;

/// Which environment a configuration describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Dev,
    Prod,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub environment: Environment,
    /// SQLite database of this environment (journal, projections).
    pub database: PathBuf,
    /// Compiled-component cache; defaults to the user cache directory.
    #[serde(default)]
    pub compiled_cache: Option<PathBuf>,
    /// Limits of every strategy sandbox.
    #[serde(default)]
    pub sandbox: SandboxLimits,
    /// Pre-trade risk limits.
    #[serde(default)]
    pub risk: RiskConfig,
    /// Where market data and orders go.
    #[serde(default)]
    pub venue: VenueConfig,
    /// The fill simulator used by paper trading and backtests.
    #[serde(default)]
    pub execution: FillConfig,
    /// Host time between equity marks in the journal (the equity curve); one is
    /// also written when a run starts.
    #[serde(default = "default_mark_every_ms")]
    pub mark_every_ms: u64,
    /// The environment's server (`pqap serve`) and how the CLI reaches it.
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// Paper (default) or live.
    #[serde(default)]
    pub trading: TradingMode,
    #[serde(default)]
    pub live: LiveConfig,
    #[serde(default)]
    pub backups: backups::BackupsConfig,
}

/// Where `pqap serve` listens, and where `--env` commands find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: std::net::SocketAddr,
    /// Base URL for the CLI (default: `http://` + `bind`).
    pub url: Option<String>,
    /// What happens to resting orders when the server stops (SIGTERM).
    pub on_shutdown: ShutdownOrders,
    /// Whether `/metrics` (strategy names, PnL, exposure) answers without
    /// an API token. Unset: only when the server listens on loopback alone.
    pub metrics_public: Option<bool>,
    /// Reverse proxies (their addresses) whose `X-Forwarded-For` header names
    /// the client, for throttling failed logins per client. Empty: the
    /// header is ignored and the peer's address counts.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// Resting orders at a graceful stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShutdownOrders {
    /// Leave them working; the next start reconciles them with the venue.
    #[default]
    Keep,
    /// Cancel every working order before stopping.
    Cancel,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            url: None,
            on_shutdown: ShutdownOrders::Keep,
            metrics_public: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Where alerts go besides the log, the database and the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// Each alert is POSTed here as JSON (best effort, 5 s timeout).
    pub webhook_url: Option<String>,
    /// Alerts sent to whitelisted Telegram chats (token: `PQAP_TELEGRAM_TOKEN`).
    pub telegram: Option<TelegramConfig>,
}

impl ServerConfig {
    /// Whether `/metrics` answers without a token: as configured, else only
    /// on a loopback bind (where only this machine can ask).
    pub fn metrics_public(&self, bound: std::net::SocketAddr) -> bool {
        self.metrics_public
            .unwrap_or_else(|| bound.ip().is_loopback())
    }

    /// Whether the server is reached over TLS (its base URL is https), so
    /// session cookies must be `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.base_url().starts_with("https://")
    }

    /// The base URL the CLI talks to.
    pub fn base_url(&self) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_string()
    }
}

fn default_mark_every_ms() -> u64 {
    60_000
}

/// Limits for each strategy and for all of them together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    pub strategy: RiskLimits,
    pub global: RiskLimits,
}

/// Venue endpoints. With none set, commands that need a venue start an
/// in-process simulator (`pqap sim`) seeded with `sim_seed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VenueConfig {
    pub clob_url: Option<String>,
    pub gamma_url: Option<String>,
    pub ws_url: Option<String>,
    pub sim_seed: u64,
    /// Milliseconds between simulator steps.
    pub sim_step_ms: u64,
    /// Seconds between asks to Gamma whether markets held resolved (also at
    /// start): settles a resolution the market feed never delivered.
    pub resolution_watch_s: u64,
    /// Seconds between refreshes of the venue's open markets while running.
    pub markets_refresh_s: u64,
}

impl Default for VenueConfig {
    fn default() -> Self {
        VenueConfig {
            clob_url: None,
            gamma_url: None,
            ws_url: None,
            sim_seed: 7,
            sim_step_ms: 250,
            resolution_watch_s: 60,
            markets_refresh_s: 300,
        }
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment override {var}={value}: {message}")]
    Override {
        var: String,
        value: String,
        message: String,
    },
    #[error("config {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Reads a YAML file, applies `PQAP_*` overrides from `env`, and validates.
    pub fn load(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config: Config = serde_saphyr::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        for (var, value) in env {
            config.apply_override(&var, &value)?;
        }
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(config)
    }

    fn apply_override(&mut self, var: &str, value: &str) -> Result<(), ConfigError> {
        let bad = |message: String| ConfigError::Override {
            var: var.to_string(),
            value: value.to_string(),
            message,
        };
        let num = |v: &str| v.parse::<u64>().map_err(|e| bad(e.to_string()));
        let s = &mut self.sandbox;
        match var {
            "PQAP_DATABASE" => self.database = PathBuf::from(value),
            "PQAP_COMPILED_CACHE" => self.compiled_cache = Some(PathBuf::from(value)),
            "PQAP_VENUE_CLOB_URL" => self.venue.clob_url = Some(value.to_string()),
            "PQAP_VENUE_GAMMA_URL" => self.venue.gamma_url = Some(value.to_string()),
            "PQAP_VENUE_WS_URL" => self.venue.ws_url = Some(value.to_string()),
            "PQAP_VENUE_SIM_SEED" => self.venue.sim_seed = num(value)?,
            "PQAP_VENUE_SIM_STEP_MS" => self.venue.sim_step_ms = num(value)?,
            "PQAP_VENUE_RESOLUTION_WATCH_S" => self.venue.resolution_watch_s = num(value)?.max(1),
            "PQAP_VENUE_MARKETS_REFRESH_S" => self.venue.markets_refresh_s = num(value)?.max(1),
            "PQAP_MARK_EVERY_MS" => self.mark_every_ms = num(value)?,
            "PQAP_TRADING" => {
                self.trading = match value {
                    "paper" => TradingMode::Paper,
                    "live" => TradingMode::Live,
                    _ => return Err(bad("expected paper or live".into())),
                }
            }
            "PQAP_LIVE_CHAIN_ID" => self.live.chain_id = num(value)?,
            "PQAP_LIVE_KEY_FILE" => self.live.key_file = Some(PathBuf::from(value)),
            "PQAP_LIVE_CREDENTIALS_FILE" => self.live.credentials_file = Some(PathBuf::from(value)),
            "PQAP_LIVE_HEARTBEAT_EVERY_S" => self.live.heartbeat_every_s = num(value)?,
            "PQAP_LIVE_RECONCILE_EVERY_S" => self.live.reconcile_every_s = num(value)?,
            "PQAP_LIVE_GEOBLOCK_URL" => self.live.geoblock_url = Some(value.to_string()),
            "PQAP_LIVE_FOREIGN_ORDERS" => {
                self.live.foreign_orders = match value {
                    "cancel" => crate::venue::ForeignPolicy::Cancel,
                    "adopt" => crate::venue::ForeignPolicy::Adopt,
                    "leave" => crate::venue::ForeignPolicy::Leave,
                    _ => return Err(bad("expected cancel, adopt or leave".into())),
                }
            }
            "PQAP_SERVER_URL" => self.server.url = Some(value.to_string()),
            "PQAP_BACKUPS_DIR" => self.backups.dir = Some(PathBuf::from(value)),
            "PQAP_BACKUPS_EVERY_S" => self.backups.every_s = Some(num(value)?.max(1)),
            "PQAP_BACKUPS_KEEP" => {
                self.backups.keep = usize::try_from(num(value)?).unwrap_or(usize::MAX)
            }
            "PQAP_ALERTS_WEBHOOK_URL" => self.alerts.webhook_url = Some(value.to_string()),
            "PQAP_ALERTS_TELEGRAM_CHATS" => {
                self.alerts
                    .telegram
                    .get_or_insert_with(TelegramConfig::default)
                    .chats = telegram::parse_chats(value).map_err(bad)?
            }
            "PQAP_ALERTS_TELEGRAM_API_URL" => {
                self.alerts
                    .telegram
                    .get_or_insert_with(TelegramConfig::default)
                    .api_url = value.to_string()
            }
            "PQAP_SERVER_ON_SHUTDOWN" => {
                self.server.on_shutdown = match value {
                    "keep" => ShutdownOrders::Keep,
                    "cancel" => ShutdownOrders::Cancel,
                    _ => return Err(bad("expected keep or cancel".into())),
                }
            }
            "PQAP_SERVER_METRICS_PUBLIC" => {
                self.server.metrics_public = Some(match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad("expected true or false".into())),
                })
            }
            "PQAP_SERVER_TRUSTED_PROXIES" => {
                self.server.trusted_proxies = value
                    .split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(|a| {
                        a.parse()
                            .map_err(|e: std::net::AddrParseError| bad(format!("{a}: {e}")))
                    })
                    .collect::<Result<_, _>>()?
            }
            "PQAP_SERVER_BIND" => {
                self.server.bind = value
                    .parse()
                    .map_err(|e: std::net::AddrParseError| bad(e.to_string()))?
            }
            "PQAP_SANDBOX_FUEL_PER_CALL" => s.fuel_per_call = num(value)?,
            "PQAP_SANDBOX_FUEL_INIT" => s.fuel_init = num(value)?,
            "PQAP_SANDBOX_MAX_JOURNAL_BYTES_PER_MINUTE" => {
                s.max_journal_bytes_per_minute = num(value)?
            }
            "PQAP_SANDBOX_MEMORY_BYTES" => s.memory_bytes = num(value)? as usize,
            "PQAP_SANDBOX_DEADLINE_MS" => s.deadline_ms = num(value)?,
            "PQAP_SANDBOX_MAX_FAULTS" => {
                s.max_faults = u32::try_from(num(value)?).map_err(|e| bad(e.to_string()))?
            }
            _ => {}
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), String> {
        let s = &self.sandbox;
        if s.fuel_per_call == 0 || s.fuel_init == 0 {
            return Err("sandbox fuel budgets must be positive".into());
        }
        // wasmtime keeps fuel as i64 internally; stay far below its range.
        if s.fuel_per_call > 1 << 50 || s.fuel_init > 1 << 50 {
            return Err("sandbox fuel budgets must be at most 2^50".into());
        }
        if s.memory_bytes < 1 << 20 {
            return Err("sandbox.memory_bytes must be at least 1 MiB".into());
        }
        s.check_ceilings()?;
        if s.max_faults == 0 {
            return Err("sandbox.max_faults must be at least 1".into());
        }
        if s.snapshot_every_calls == 0 {
            return Err("sandbox.snapshot_every_calls must be at least 1".into());
        }
        let v = &self.venue;
        let set = [&v.clob_url, &v.gamma_url, &v.ws_url]
            .iter()
            .filter(|u| u.is_some())
            .count();
        if set != 0 && set != 3 {
            return Err(
                "venue: set all of clob_url, gamma_url and ws_url, or none (in-process simulator)"
                    .into(),
            );
        }
        if v.sim_step_ms == 0 {
            return Err("venue.sim_step_ms must be at least 1".into());
        }
        self.live.validate()?;
        if let Some(t) = &self.alerts.telegram {
            t.validate()?;
        }
        if self.trading == TradingMode::Live && set == 0 {
            return Err("trading: live needs the venue's clob_url, gamma_url and ws_url".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn repository_configs_load() {
        for name in ["dev", "prod"] {
            let path =
                Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../configs/{name}.yaml"));
            let c = Config::load(&path, []).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(c.sandbox.memory_bytes, 64 << 20);
        }
    }

    #[test]
    fn live_trading_is_opt_in_and_secrets_cannot_live_in_the_config() {
        let prod = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/prod.yaml");
        assert_eq!(Config::load(&prod, []).unwrap().trading, TradingMode::Paper);
        let f = write("environment: prod\ndatabase: x\nlive:\n  private_key: '0xac09'\n");
        let e = Config::load(f.path(), []).unwrap_err().to_string();
        assert!(e.contains("private_key"), "{e}");
        let f = write("environment: prod\ndatabase: x\ntrading: live\n");
        let e = Config::load(f.path(), []).unwrap_err().to_string();
        assert!(e.contains("clob_url"), "{e}");
        let f = write("environment: prod\ndatabase: x\nlive:\n  wallet: safe\n");
        let e = Config::load(f.path(), []).unwrap_err().to_string();
        assert!(e.contains("live.funder"), "{e}");
        let live = [("PQAP_TRADING".to_string(), "live".to_string())];
        assert_eq!(
            Config::load(&prod, live).unwrap().trading,
            TradingMode::Live
        );
    }

    #[test]
    fn overrides_and_errors_name_their_input() {
        let f = write("environment: dev\ndatabase: data/x.db\nsandbox:\n  fuel_per_call: 1000\n");
        let c = Config::load(
            f.path(),
            [("PQAP_SANDBOX_DEADLINE_MS".to_string(), "7".to_string())],
        )
        .unwrap();
        assert_eq!(c.sandbox.fuel_per_call, 1000);
        assert_eq!(c.sandbox.deadline_ms, 7);
        let e = Config::load(
            f.path(),
            [("PQAP_SANDBOX_DEADLINE_MS".to_string(), "soon".to_string())],
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("PQAP_SANDBOX_DEADLINE_MS=soon"),
            "{e}"
        );
        let f2 = write(
            "environment: dev\ndatabase: x\nserver:\n  on_shutdown: cancel\nalerts:\n  webhook_url: http://127.0.0.1:9/a\n",
        );
        let c = Config::load(f2.path(), []).unwrap();
        assert_eq!(c.server.on_shutdown, ShutdownOrders::Cancel);
        assert_eq!(
            c.alerts.webhook_url.as_deref(),
            Some("http://127.0.0.1:9/a")
        );
        let keep = [("PQAP_SERVER_ON_SHUTDOWN".to_string(), "keep".to_string())];
        assert_eq!(
            Config::load(f2.path(), keep).unwrap().server.on_shutdown,
            ShutdownOrders::Keep
        );
        let bad = [("PQAP_SERVER_ON_SHUTDOWN".to_string(), "drop".to_string())];
        let e = Config::load(f2.path(), bad).unwrap_err();
        assert!(
            e.to_string().contains("PQAP_SERVER_ON_SHUTDOWN=drop"),
            "{e}"
        );
        let f = write("environment: dev\ndatabase: x\nsandbox:\n  fuel_per_cal: 1\n");
        let e = Config::load(f.path(), []).unwrap_err();
        assert!(e.to_string().contains("fuel_per_cal"), "{e}");
        let f = write("environment: dev\ndatabase: x\nsandbox:\n  max_faults: 0\n");
        assert!(
            Config::load(f.path(), [])
                .unwrap_err()
                .to_string()
                .contains("max_faults")
        );
        // Raising a sandbox limit past its ceiling is refused, in the file or
        // through the environment.
        let f = write("environment: dev\ndatabase: x\nsandbox:\n  memory_bytes: 4294967296\n");
        let e = Config::load(f.path(), []).unwrap_err().to_string();
        assert!(
            e.contains("sandbox.memory_bytes") && e.contains("ceiling"),
            "{e}"
        );
        let ok = write("environment: dev\ndatabase: x\n");
        let env = [("PQAP_SANDBOX_DEADLINE_MS".to_string(), "60000".to_string())];
        let e = Config::load(ok.path(), env).unwrap_err().to_string();
        assert!(e.contains("sandbox.deadline_ms is 60000"), "{e}");
        let metrics = [("PQAP_SERVER_METRICS_PUBLIC".to_string(), "true".to_string())];
        let c = Config::load(ok.path(), metrics).unwrap();
        let lan: std::net::SocketAddr = "10.0.0.5:8080".parse().unwrap();
        assert!(c.server.metrics_public(lan));
        let c = Config::load(ok.path(), []).unwrap();
        assert!(
            !c.server.metrics_public(lan),
            "off loopback: a token by default"
        );
        assert!(c.server.metrics_public("127.0.0.1:8080".parse().unwrap()));
    }
}
