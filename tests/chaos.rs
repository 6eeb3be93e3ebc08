//! Crash recovery under SIGKILL: `pqap paper` trades two example strategies
//! against a separate `pqap sim` and is killed at 50 random points (start-up,
//! replay, reconciliation, mid-trading). After every kill the journal's chain
//! verifies, replay finds no anomaly, no order key was submitted twice, no order
//! filled beyond its size or after it ended, and every equity mark the live
//! process wrote equals a replay of the journal up to that mark.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pqap::model::{OrderEvent, OrderKey, Size};
use pqap::store::{Entry, Journal, Projections, Stored};
use pqap::strategy::build::GuestTarget;

const KILLS: usize = 50;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn wait_for(addr: SocketAddr) {
    let start = Instant::now();
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "simulator did not come up on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// xorshift64*: the kill schedule is reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Everything the journal must satisfy, whatever point the process died at.
fn check(entries: &[Stored], round: usize) -> (usize, usize) {
    let mut submitted = BTreeSet::new();
    let mut size: BTreeMap<OrderKey, Size> = BTreeMap::new();
    let mut filled: BTreeMap<OrderKey, Size> = BTreeMap::new();
    let mut ended: BTreeSet<OrderKey> = BTreeSet::new();
    let mut replay = Projections::default();
    let mut marks = 0;
    for e in entries {
        replay.apply(e);
        match &e.entry {
            Entry::OrderSubmitted { order } => {
                assert!(
                    submitted.insert(order.key),
                    "round {round}: order {:?} submitted twice (entry {})",
                    order.key,
                    e.seq
                );
                size.insert(order.key, order.size);
            }
            Entry::Order { event } => {
                let key = event.key();
                assert!(
                    !ended.contains(&key),
                    "round {round}: entry {} is an event for {key:?} after it ended",
                    e.seq
                );
                match event {
                    OrderEvent::Filled(f) => {
                        let total = filled.entry(key).or_insert(Size::ZERO);
                        *total = total.checked_add(f.size).expect("fill total");
                        assert_eq!(
                            total.checked_add(f.remaining),
                            size.get(&key).copied(),
                            "round {round}: entry {}: fills and remaining disagree with the order size",
                            e.seq
                        );
                        if f.remaining.is_zero() {
                            ended.insert(key);
                        }
                    }
                    OrderEvent::Cancelled { .. } | OrderEvent::Rejected { .. } => {
                        ended.insert(key);
                    }
                    OrderEvent::Accepted { .. }
                    | OrderEvent::Unknown { .. }
                    | OrderEvent::FillReversed { .. } => {}
                }
            }
            Entry::Mark {
                strategy,
                cash,
                realized,
                ..
            } => {
                marks += 1;
                let account = replay.portfolio.account(*strategy);
                assert_eq!(
                    account.map(|a| (a.cash, a.realized())),
                    Some((*cash, *realized)),
                    "round {round}: mark at entry {} differs from the replayed portfolio",
                    e.seq
                );
            }
            _ => {}
        }
    }
    assert!(
        replay.anomalies.is_empty(),
        "round {round}: {:?}",
        replay.anomalies
    );
    (replay.fills.len(), marks)
}

#[test]
fn sigkill_at_fifty_points_loses_and_doubles_nothing() {
    let bin = env!("CARGO_BIN_EXE_pqap");
    let mm = common::guest("strategies/market-maker", GuestTarget::UnknownUnknown);
    let arb = common::guest("strategies/complement-arb", GuestTarget::UnknownUnknown);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("chaos.db");
    let cache = dir.path().join("compiled");
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let _sim = Killed(
        Command::new(bin)
            .args(["sim", "--bind", &addr.to_string(), "--step", "100ms"])
            .args(["--seed", "11", "--markets", "3"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pqap sim"),
    );
    wait_for(addr);
    let config = common::repo().join("configs/dev.yaml");
    let paper = |duration: Option<&str>| {
        let mut c = Command::new(bin);
        c.arg("paper")
            .arg(&mm)
            .arg(&arb)
            .arg("--config")
            .arg(&config)
            .arg("--db")
            .arg(&db)
            .arg("--quiet")
            .env("PQAP_VENUE_CLOB_URL", format!("http://{addr}"))
            .env("PQAP_VENUE_GAMMA_URL", format!("http://{addr}/gamma"))
            .env("PQAP_VENUE_WS_URL", format!("ws://{addr}/ws/market"))
            .env("PQAP_COMPILED_CACHE", &cache)
            .env("PQAP_MARK_EVERY_MS", "300")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(d) = duration {
            c.args(["--duration", d]);
        }
        c
    };
    // A first clean run fills the compiled cache and starts the journal.
    let out = paper(Some("3s")).output().expect("run pqap paper");
    assert!(
        out.status.success(),
        "first paper run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rng = Rng(0x5EED_CAFE_F00D_0001);
    let mut restored = 0;
    for round in 0..KILLS {
        let child = paper(None).spawn().expect("spawn pqap paper");
        let mut child = Killed(child);
        // Anywhere from mid start-up to a few seconds of trading.
        std::thread::sleep(Duration::from_millis(50 + rng.below(2_500)));
        if let Ok(Some(status)) = child.0.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.0.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            panic!("round {round}: pqap paper exited on its own ({status}): {err}");
        }
        child.0.kill().expect("SIGKILL");
        let _ = child.0.wait();
        rt.block_on(async {
            let journal = Journal::open(Path::new(&db)).await.expect("open journal");
            let report = journal.verify().await.expect("verify");
            assert!(report.broken.is_none(), "round {round}: {report:?}");
            let entries = journal.read_from(1).await.expect("read");
            restored += entries
                .iter()
                .filter(|e| matches!(e.entry, Entry::Restored { .. }))
                .count();
            check(&entries, round);
        });
    }
    // And it still runs to a clean stop afterwards.
    let out = paper(Some("3s")).output().expect("final paper run");
    assert!(
        out.status.success(),
        "final paper run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (fills, marks, reconciled) = rt.block_on(async {
        let journal = Journal::open(Path::new(&db)).await.expect("open journal");
        assert!(journal.verify().await.expect("verify").broken.is_none());
        let entries = journal.read_from(1).await.expect("read");
        let reconciled = entries
            .iter()
            .filter(|e| matches!(e.entry, Entry::Reconciled { .. }))
            .count();
        let (fills, marks) = check(&entries, KILLS);
        (fills, marks, reconciled)
    });
    assert!(fills > 0, "the strategies never traded");
    assert!(marks > 0, "no equity mark to compare with replay");
    assert!(restored > 0, "no restart restored a strategy snapshot");
    assert!(reconciled > 0, "no restart had open orders to reconcile");
    eprintln!(
        "{KILLS} kills: {fills} fills, {marks} marks checked against replay, {reconciled} orders reconciled"
    );
}
