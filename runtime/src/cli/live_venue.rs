//! Reaching the live account as `live:` configures it, shared by `pqap live`
//! and `pqap reconcile`: the key, the wallet, the API credentials, an
//! authenticated client on the venue's clock, the open markets and the venue.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use pqap::config::{Config, LiveConfig, WalletKind};
use pqap::engine::runner::MarketSelector;
use pqap::venue::MarketSpec;
use pqap::venue::polymarket::execution::geoblock;
use pqap::venue::polymarket::execution::{ClobClient, OrderSigner, PolymarketVenue};
use pqap::venue::polymarket::http::client::{HttpConfig, PolymarketHttp};
use pqap::venue::polymarket::signing::{Account, ApiCredentials, PrivateKey};

/// The venue's endpoints from the config.
pub struct Endpoints {
    pub clob: String,
    pub gamma: String,
    pub ws: String,
}

impl Endpoints {
    pub fn of(config: &Config, path: &Path) -> anyhow::Result<Endpoints> {
        let (Some(clob), Some(gamma), Some(ws)) = (
            config.venue.clob_url.clone(),
            config.venue.gamma_url.clone(),
            config.venue.ws_url.clone(),
        ) else {
            anyhow::bail!(
                "{}: live trading needs venue.clob_url, gamma_url and ws_url",
                path.display()
            );
        };
        Ok(Endpoints { clob, gamma, ws })
    }

    pub fn http(&self) -> HttpConfig {
        HttpConfig {
            clob_url: self.clob.clone(),
            gamma_url: self.gamma.clone(),
            ..HttpConfig::default()
        }
    }
}

/// The account, reached: its key, wallet, credentials and a client signing
/// with them on the venue's clock.
pub struct LiveAccount {
    pub key: Arc<PrivateKey>,
    pub account: Account,
    pub creds: ApiCredentials,
    pub client: ClobClient,
}

/// The private key: the configured file (0600 or stricter) or `PQAP_PRIVATE_KEY`.
fn private_key(live: &LiveConfig) -> anyhow::Result<PrivateKey> {
    Ok(match &live.key_file {
        Some(path) => PrivateKey::from_file(path)?,
        None => PrivateKey::from_env("PQAP_PRIVATE_KEY").context(
            "live trading needs the private key: set live.key_file (mode 0600) or PQAP_PRIVATE_KEY",
        )?,
    })
}

pub(super) fn account(live: &LiveConfig, key: &PrivateKey) -> anyhow::Result<Account> {
    let funder = || -> anyhow::Result<alloy_primitives::Address> {
        let f = live.funder.as_deref().unwrap_or_default();
        f.parse()
            .with_context(|| format!("live.funder `{f}` is not an address"))
    };
    Ok(match live.wallet {
        WalletKind::Eoa => Account::eoa(key.address()),
        WalletKind::Proxy => Account::proxy(funder()?, key.address()),
        WalletKind::Safe => Account::safe(funder()?, key.address()),
        WalletKind::DepositWallet => Account::deposit_wallet(funder()?),
    })
}

/// API credentials: the configured file, `PQAP_CLOB_API_KEY`/`_SECRET`/
/// `_PASSPHRASE`, or created (derived) with the key.
async fn credentials(
    live: &LiveConfig,
    client: &ClobClient,
    key: &PrivateKey,
) -> anyhow::Result<ApiCredentials> {
    if let Some(path) = &live.credentials_file {
        return Ok(ApiCredentials::from_file(path)?);
    }
    if std::env::var_os("PQAP_CLOB_API_KEY").is_some() {
        return Ok(ApiCredentials::from_env("PQAP_CLOB_")?);
    }
    client
        .create_or_derive_api_key(key, live.api_key_nonce)
        .await
        .context("creating (or deriving) the API key with the private key")
}

/// Reaches the account: reads the key, syncs with the venue's clock, checks
/// the order version it expects and (when configured) that this machine is
/// not geoblocked, and authenticates. Sends no heartbeat (the
/// first one arms the venue's cancel-on-silence for the account).
pub async fn connect(live: &LiveConfig, clob: &str) -> anyhow::Result<LiveAccount> {
    let key = Arc::new(private_key(live)?);
    let account = account(live, &key)?;
    let timeout = Duration::from_millis(live.request_timeout_ms);
    let mut client = ClobClient::new(clob, live.chain_id, timeout)?;
    client
        .sync_clock()
        .await
        .with_context(|| format!("reading the venue's clock at {clob}"))?;
    let version = client
        .version()
        .await
        .context("asking the venue's order version")?;
    anyhow::ensure!(
        version == 2,
        "the venue expects order version {version}; this build signs version 2 orders"
    );
    if let Some(url) = &live.geoblock_url {
        let here = geoblock::ask(url, timeout).await.with_context(|| {
            format!("asking {url} (live.geoblock_url) whether this machine may trade")
        })?;
        anyhow::ensure!(
            !here.blocked,
            "geoblocked: {url} says trading is not allowed from {}: not trading",
            here.place()
        );
    }
    let creds = credentials(live, &client, &key).await?;
    let client = client.authenticated(&creds, key.address());
    Ok(LiveAccount {
        key,
        account,
        creds,
        client,
    })
}

/// The open markets `--markets` selects (`all` when not given).
pub async fn open_markets(
    endpoints: &Endpoints,
    markets: Option<&str>,
) -> anyhow::Result<(MarketSelector, Vec<MarketSpec>)> {
    let selector = MarketSelector::parse(markets.unwrap_or("all"));
    let listed = selector
        .open_on(&PolymarketHttp::new(endpoints.http())?)
        .await
        .context("listing open markets")?;
    Ok((selector, listed.iter().map(MarketSpec::from).collect()))
}

/// The venue trading `account` on `markets`, as `live:` configures it
/// (foreign orders). Starts its sender task: call inside a Tokio runtime.
pub fn venue(account: LiveAccount, live: &LiveConfig, markets: &[MarketSpec]) -> PolymarketVenue {
    let signer = OrderSigner::new(
        account.key.clone(),
        account.account,
        live.chain_id,
        &account.creds.api_key,
    );
    PolymarketVenue::start(account.client, signer, markets).with_foreign_orders(live.foreign_orders)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn funder_wallets_sign_with_the_owner_key() {
        let key = PrivateKey::from_hex(
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
            "test",
        )
        .unwrap();
        let eoa = account(&LiveConfig::default(), &key).unwrap();
        assert_eq!(eoa.maker, key.address());
        let safe = LiveConfig {
            wallet: WalletKind::Safe,
            funder: Some("0xd93b25Cb943D14d0d34FBAf01fc93a0F8b5f6e47".into()),
            ..LiveConfig::default()
        };
        let a = account(&safe, &key).unwrap();
        assert_eq!(a.signer, key.address());
        assert_eq!(
            a.maker.to_string().to_lowercase(),
            "0xd93b25cb943d14d0d34fbaf01fc93a0f8b5f6e47"
        );
        let bad = LiveConfig {
            funder: Some("nope".into()),
            ..safe
        };
        assert!(
            account(&bad, &key)
                .unwrap_err()
                .to_string()
                .contains("nope")
        );
    }
}
