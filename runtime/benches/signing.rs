//! CLOB V2 order signing: sign, hash, L2 headers and recovery. Results are recorded in docs/BENCHMARKS.md.
//!
//! Run: `cargo bench -p pqap --bench signing`

use std::hint::black_box;

use alloy_primitives::{Address, B256, U256};
use criterion::{Criterion, criterion_group, criterion_main};
use pqap::model::Side;
use pqap::venue::polymarket::signing::{
    ApiCredentials, Exchange, L2Signer, Order, POLYGON, PrivateKey, Salt, SignatureType,
    recover_order_signer, sign_order,
};

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";

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

fn signing(c: &mut Criterion) {
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
    let body = br#"{"order":{"salt":123456789,"maker":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","signer":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","tokenId":"71321045679252212594626385532706912750332728571942532289631379312455583992563","makerAmount":"50000000","takerAmount":"100000000","side":"BUY","expiration":"0","signatureType":0,"timestamp":"1713398400000","metadata":"0x0000000000000000000000000000000000000000000000000000000000000000","builder":"0x0000000000000000000000000000000000000000000000000000000000000000","signature":"0x89f178136333c8ebb32a19146cb891233e3202d474be6ef730c24dbc06ae4d2a0c99948a86d9b57de0f2c0bb8ec6964aa244ecf17cfa3a95b86878d0b64ad78a1b"},"owner":"f4f247b7-4ac7-ff29-a152-04fda0a8755a","orderType":"GTC","deferExec":false,"postOnly":false}"#;

    let mut g = c.benchmark_group("signing");
    g.bench_function("sign_v2_eoa_order", |b| {
        b.iter(|| sign_order(&key, black_box(&order), &exchange).unwrap())
    });
    g.bench_function("order_signing_hash", |b| {
        b.iter(|| black_box(&order).signing_hash(&exchange))
    });
    g.bench_function("l2_headers", |b| {
        b.iter(|| l2.headers(black_box(1713398400), "POST", "/order", black_box(body)))
    });
    g.bench_function("recover_order_signer", |b| {
        b.iter(|| recover_order_signer(&order, black_box(&signed.signature), &exchange).unwrap())
    });
    g.finish();
}

criterion_group!(benches, signing);
criterion_main!(benches);
