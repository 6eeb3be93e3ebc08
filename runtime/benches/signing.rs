//! CLOB V2 order signing: sign, hash, L2 headers and recovery. Results are recorded in docs/BENCHMARKS.md.
//!
//! Run: `cargo bench -p pqap --bench signing`
//!
//! Each case runs twice: `signing/*` in wall time and `signing_cpu/*` in the benchmark
//! thread's CPU time, which stays meaningful when other builds share the two cores.

use std::hint::black_box;

use alloy_primitives::{Address, B256, U256};
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pqap::model::Side;
use pqap::venue::polymarket::signing::{
    ApiCredentials, Exchange, L2Signer, Order, POLYGON, PrivateKey, Salt, SignatureType,
    recover_order_signer, sign_order,
};

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";

/// CPU time consumed by the calling thread (CLOCK_THREAD_CPUTIME_ID), in nanoseconds.
struct ThreadCpu;

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns() - start
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NanosFormatter
    }
}

struct NanosFormatter;

impl ValueFormatter for NanosFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical < 1e3 {
            (1.0, "ns")
        } else if typical < 1e6 {
            (1e-3, "µs")
        } else {
            (1e-6, "ms")
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }
    fn scale_throughputs(&self, _typical: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match *t {
            Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n) => n,
            Throughput::Bits(n) => n,
            Throughput::ElementsAndBytes { elements, .. } => elements,
        } as f64;
        values.iter_mut().for_each(|v| *v = n * 1e9 / *v);
        "/s"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn order(maker: Address) -> Order {
    Order {
        salt: Salt::new(123456789).unwrap(),
        maker,
        signer: maker,
        token_id: U256::from_str_radix(TOKEN, 10).unwrap(),
        maker_amount: 50_000_000,
        taker_amount: 100_000_000,
        side: Side::Buy,
        signature_type: SignatureType::Eoa,
        timestamp_ms: 1713398400000,
        metadata: B256::ZERO,
        builder: B256::ZERO,
    }
}

fn cases<M: Measurement>(c: &mut Criterion<M>, group: &str) {
    let key = PrivateKey::from_hex(KEY, "bench").unwrap();
    let exchange = Exchange::for_market(POLYGON, false);
    let order = order(key.address());
    let signed = sign_order(&key, &order, &exchange).unwrap();
    let creds = ApiCredentials::new(
        "key",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "pp",
        "bench",
    )
    .unwrap();
    let l2 = L2Signer::new(&creds, key.address());
    // A `POST /order` body of the reference shape (~880 bytes).
    let body = format!(
        r#"{{"order":{{"salt":123456789,"maker":"{a}","signer":"{a}","tokenId":"{TOKEN}","makerAmount":"50000000","takerAmount":"100000000","side":"BUY","expiration":"0","signatureType":0,"timestamp":"1713398400000","metadata":"{z}","builder":"{z}","signature":"0x{s}"}},"owner":"f4f247b7-4ac7-ff29-a152-04fda0a8755a","orderType":"GTC","deferExec":false,"postOnly":false}}"#,
        a = key.address(),
        z = B256::ZERO,
        s = "ab".repeat(65),
    );

    let mut g = c.benchmark_group(group);
    g.bench_function("sign_v2_eoa_order", |b| {
        b.iter(|| sign_order(&key, black_box(&order), &exchange).unwrap())
    });
    g.bench_function("order_signing_hash", |b| {
        b.iter(|| black_box(&order).signing_hash(&exchange))
    });
    g.bench_function("l2_headers", |b| {
        b.iter(|| {
            l2.headers(
                black_box(1713398400),
                "POST",
                "/order",
                black_box(body.as_bytes()),
            )
        })
    });
    g.bench_function("recover_order_signer", |b| {
        b.iter(|| recover_order_signer(&order, black_box(&signed.signature), &exchange).unwrap())
    });
    g.finish();
}

fn wall(c: &mut Criterion) {
    cases(c, "signing");
}

fn cpu(c: &mut Criterion<ThreadCpu>) {
    cases(c, "signing_cpu");
}

criterion_group!(wall_time, wall);
criterion_group! {
    name = cpu_time;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = cpu
}
criterion_main!(wall_time, cpu_time);
