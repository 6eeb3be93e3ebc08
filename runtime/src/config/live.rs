//! Live trading settings: whether this environment trades for real, on which
//! chain and wallet, and where the secrets are (files or the environment —
//! never this file: unknown keys such as `private_key` are refused).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::venue::ForeignPolicy;

/// What the engine's orders reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TradingMode {
    /// The fill simulator: nothing leaves the host.
    #[default]
    Paper,
    /// The venue's CLOB, with real money. Also needs `pqap live` (or
    /// `pqap serve --live`) on the command line.
    Live,
}

/// Which wallet holds the funds and how orders are signed for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WalletKind {
    /// The key's own address holds the funds (signature type 0).
    #[default]
    Eoa,
    /// A Polymarket proxy wallet owned by the key (type 1).
    Proxy,
    /// A Gnosis Safe owned by the key (type 2).
    Safe,
    /// A deposit wallet (ERC-1271) owned by the key (type 3).
    DepositWallet,
}

/// `live:` in a config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveConfig {
    /// 137 (Polygon) or 80002 (Amoy).
    pub chain_id: u64,
    pub wallet: WalletKind,
    /// The wallet holding the funds when it is not the key's own address.
    pub funder: Option<String>,
    /// A file (mode 0600 or stricter) holding the private key in hex;
    /// without it, `PQAP_PRIVATE_KEY`.
    pub key_file: Option<PathBuf>,
    /// A file (0600) with the API credentials `{"apiKey","secret","passphrase"}`;
    /// without it, `PQAP_CLOB_API_KEY`/`_SECRET`/`_PASSPHRASE`, or else they
    /// are created (or derived) with the key at start.
    pub credentials_file: Option<PathBuf>,
    /// Nonce of the API key derived with the private key.
    pub api_key_nonce: u64,
    /// Seconds between reconciliations of working orders with the venue.
    pub reconcile_every_s: u64,
    /// Seconds between heartbeats (the venue cancels a silent account's orders).
    pub heartbeat_every_s: u64,
    /// Milliseconds before a trading request without an answer is given up
    /// (its order becomes unknown until reconciled).
    pub request_timeout_ms: u64,
    /// Where to ask whether this machine may trade (Polymarket's is
    /// `https://polymarket.com/api/geoblock`); asked at start when set, and a
    /// blocked answer refuses to trade.
    pub geoblock_url: Option<String>,
    /// Open orders on the account that the journal does not know, found by
    /// reconciliation: `cancel` (default), `adopt` (counted against the
    /// global limits) or `leave` (reported only).
    pub foreign_orders: ForeignPolicy,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            chain_id: 137,
            wallet: WalletKind::Eoa,
            funder: None,
            key_file: None,
            credentials_file: None,
            api_key_nonce: 0,
            reconcile_every_s: 30,
            heartbeat_every_s: 5,
            request_timeout_ms: 10_000,
            geoblock_url: None,
            foreign_orders: ForeignPolicy::Cancel,
        }
    }
}

impl LiveConfig {
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.chain_id != 137 && self.chain_id != 80002 {
            return Err(format!(
                "live.chain_id {}: expected 137 (Polygon) or 80002 (Amoy)",
                self.chain_id
            ));
        }
        match (self.wallet, &self.funder) {
            (WalletKind::Eoa, Some(f)) => {
                return Err(format!(
                    "live.funder {f}: an eoa wallet trades the key's own address; set live.wallet to proxy, safe or deposit_wallet"
                ));
            }
            (WalletKind::Proxy | WalletKind::Safe | WalletKind::DepositWallet, None) => {
                return Err(
                    "live.funder: the wallet holding the funds is required for this live.wallet"
                        .into(),
                );
            }
            _ => {}
        }
        if let Some(u) = &self.geoblock_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(format!("live.geoblock_url `{u}`: expected an http(s) URL"));
        }
        if self.reconcile_every_s == 0
            || self.heartbeat_every_s == 0
            || self.request_timeout_ms == 0
        {
            return Err("live: reconcile_every_s, heartbeat_every_s and request_timeout_ms must be positive".into());
        }
        Ok(())
    }
}
