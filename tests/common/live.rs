//! Helpers for the tests that run `pqap live` against `pqap sim` as separate
//! processes: a funded exchange, the `pqap live` command aimed at it, the
//! exchange's own view of the account (through the CLOB client, as a user
//! would ask) and the journal's books to compare with it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pqap::model::TokenId;
use pqap::store::Projections;
use pqap::venue::polymarket::execution::{Asset, ClobClient};
use pqap::venue::polymarket::signing::PrivateKey;
use rust_decimal::Decimal;

/// The account's key (a well-known test key, never funded anywhere real).
pub const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
pub const ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
/// Dollars of collateral the exchange gives the account.
pub const FUNDED: i64 = 1_000;

/// `pqap sim` (2 markets, 20 ms steps) on a free loopback port with the
/// account funded; stopped when the guard drops.
pub fn start_funded_sim() -> (super::server::Guard, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_pqap"))
        .args(["sim", "--bind", &addr.to_string(), "--step", "20ms"])
        .args(["--seed", "5", "--markets", "2"])
        .args(["--fund", &format!("{ADDRESS}={FUNDED}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let guard = super::server::Guard(child);
    super::server::wait_for(20, "pqap sim", || {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()
    });
    (guard, addr)
}

/// `pqap live` with the market maker (quoting every outcome) trading the
/// funded account on the exchange at `addr`, journaling into `db`; compiled
/// code cached in `cache` (shared across runs: a restart does not compile the
/// component again). The caller adds `--duration` and its own settings.
pub fn live_command(mm: &Path, db: &Path, cache: &Path, addr: SocketAddr) -> Command {
    let mut cmd = live_strategy_command(mm, db, cache, addr);
    cmd.args(["--params", "market_maker.all_outcomes=true"]);
    cmd
}

/// `pqap live` running `strategy` (its own default parameters) on the funded
/// account at `addr`, as `live_command` describes.
pub fn live_strategy_command(
    strategy: &Path,
    db: &Path,
    cache: &Path,
    addr: SocketAddr,
) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pqap"));
    cmd.arg("live")
        .arg(strategy)
        .arg("--config")
        .arg(super::repo().join("configs/prod.yaml"))
        .arg("--db")
        .arg(db)
        .arg("--json")
        .env("PQAP_TRADING", "live")
        .env("PQAP_PRIVATE_KEY", KEY)
        .env_remove("PQAP_CLOB_API_KEY")
        .env("PQAP_COMPILED_CACHE", cache)
        .env("PQAP_VENUE_CLOB_URL", format!("http://{addr}"))
        .env("PQAP_VENUE_GAMMA_URL", format!("http://{addr}/gamma"))
        .env("PQAP_VENUE_WS_URL", format!("ws://{addr}/ws/market"));
    cmd
}

/// The account's client on the exchange at `addr` (its API key derived as
/// `pqap live` derives it).
pub async fn client(addr: SocketAddr) -> ClobClient {
    let key = PrivateKey::from_hex(KEY, "test").unwrap();
    let client = ClobClient::new(&format!("http://{addr}"), 137, Duration::from_secs(5)).unwrap();
    let creds = client.create_or_derive_api_key(&key, 0).await.unwrap();
    client.authenticated(&creds, key.address())
}

/// The exchange's view of the account: collateral and each token's shares.
pub async fn exchange_view(
    addr: SocketAddr,
    tokens: &[TokenId],
) -> (Decimal, BTreeMap<TokenId, Decimal>) {
    let client = client(addr).await;
    let units = |s: &str| s.parse::<Decimal>().unwrap() / Decimal::from(1_000_000);
    let cash = units(
        &client
            .balance_allowance(&Asset::Collateral, 0)
            .await
            .unwrap()
            .balance,
    );
    let mut shares = BTreeMap::new();
    for t in tokens {
        let b = client
            .balance_allowance(
                &Asset::Conditional {
                    token_id: t.to_string(),
                },
                0,
            )
            .await
            .unwrap();
        shares.insert(t.clone(), units(&b.balance));
    }
    (cash, shares)
}

/// The journal's books: cash (summed over strategies) and shares per token.
pub fn journal_books(p: &Projections) -> (Decimal, BTreeMap<TokenId, Decimal>) {
    let mut cash = Decimal::ZERO;
    let mut held: BTreeMap<TokenId, Decimal> = BTreeMap::new();
    for (_, account) in p.portfolio.accounts() {
        cash += account.cash;
        for (t, h) in &account.holdings {
            *held.entry(t.clone()).or_default() +=
                Decimal::from(h.size.micros()) / Decimal::from(1_000_000);
        }
    }
    (cash, held)
}

/// Asserts the journal's cash and shares of `tokens` equal the exchange's to
/// the micro-dollar (the cash as moved from the funded amount).
pub async fn assert_books_match(addr: SocketAddr, p: &Projections, tokens: &[TokenId]) {
    let (cash, held) = journal_books(p);
    let (exchange_cash, exchange_shares) = exchange_view(addr, tokens).await;
    // The exchange settles each fill in whole micro-dollars (as on chain);
    // the journal books price × size exactly. They may differ by under a
    // micro-dollar for each fill whose product has more digits: no more.
    let finer = p
        .fills
        .iter()
        .filter(|f| {
            let exact = pqap::model::money::notional(f.fill.price, f.fill.size);
            exact.round_dp(6) != exact
        })
        .count();
    let gap = (exchange_cash - Decimal::from(FUNDED) - cash).abs();
    assert!(
        gap < Decimal::new(i64::try_from(finer).unwrap(), 6) || gap.is_zero(),
        "cash moved the same: exchange {} vs journal {cash} ({finer} fills finer than a micro-dollar)",
        exchange_cash - Decimal::from(FUNDED)
    );
    for t in tokens {
        assert_eq!(
            exchange_shares.get(t).copied().unwrap_or_default(),
            held.get(t).copied().unwrap_or_default(),
            "shares of {t}"
        );
    }
}
