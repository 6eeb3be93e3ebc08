//! The order body's exact shape, round trips, and refusal of malformed bodies without panics.

use alloy_primitives::{Address, B256, U256};
use proptest::prelude::*;

use super::order::tests::vector_order;
use super::order::{Order, SignatureType};
use super::salt::{MAX_SALT, Salt};
use super::sign::tests::key;
use super::sign::{SignedOrder, sign_order};
use super::wire::*;
use super::{Exchange, POLYGON};
use crate::model::Side;

fn request() -> OrderRequest {
    let order = vector_order(123456789, Side::Buy, 50_000_000, 100_000_000, 1713398400000);
    OrderRequest {
        order: sign_order(&key(), &order, &Exchange::for_market(POLYGON, false)).unwrap(),
        owner: "f4f247b7-4ac7-ff29-a152-04fda0a8755a".into(),
        order_type: OrderType::Gtc,
        defer_exec: false,
        post_only: false,
    }
}

#[test]
fn body_has_the_reference_shape() {
    let json = request().to_json().unwrap();
    let zero = format!("0x{}", "0".repeat(64));
    let expected_head = format!(
        concat!(
            r#"{{"order":{{"salt":123456789,"maker":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","#,
            r#""signer":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","#,
            r#""tokenId":"71321045679252212594626385532706912750332728571942532289631379312455583992563","#,
            r#""makerAmount":"50000000","takerAmount":"100000000","side":"BUY","expiration":"0","#,
            r#""signatureType":0,"timestamp":"1713398400000","metadata":"{z}","builder":"{z}","signature":"0x"#
        ),
        z = zero
    );
    assert!(json.starts_with(&expected_head), "{json}");
    assert!(
        json.ends_with(r#""},"owner":"f4f247b7-4ac7-ff29-a152-04fda0a8755a","orderType":"GTC","deferExec":false,"postOnly":false}"#),
        "{json}"
    );
    assert_eq!(OrderRequest::from_json(&json).unwrap(), request());
}

#[test]
fn batches_roundtrip_and_are_capped() {
    let one = request();
    let json = OrderRequest::batch_to_json(&[one.clone(), one.clone()]).unwrap();
    assert!(json.starts_with("[{") && json.ends_with("}]"));
    assert_eq!(OrderRequest::batch_from_json(&json).unwrap().len(), 2);
    let many = vec![one; MAX_BATCH + 1];
    assert_eq!(
        OrderRequest::batch_to_json(&many),
        Err(WireError::BatchTooLarge(16))
    );
}

#[test]
fn malformed_fields_are_named() {
    let good = request().to_json().unwrap();
    let cases = [
        (r#""side":"BUY""#, r#""side":"buy""#, "side"),
        (
            r#""makerAmount":"50000000""#,
            r#""makerAmount":"+5""#,
            "makerAmount",
        ),
        (
            r#""makerAmount":"50000000""#,
            r#""makerAmount":"99999999999999999999""#,
            "makerAmount",
        ),
        (
            r#""timestamp":"1713398400000""#,
            r#""timestamp":"1.5""#,
            "timestamp",
        ),
        (r#""expiration":"0""#, r#""expiration":"""#, "expiration"),
        (
            r#""signatureType":0"#,
            r#""signatureType":7"#,
            "signatureType",
        ),
        (r#""signatureType":0"#, r#""signatureType":3"#, "signature"),
        (r#""salt":123456789"#, r#""salt":9007199254740992"#, "salt"),
        (r#""maker":"0xf39F"#, r#""maker":"0x0f39F"#, "maker"),
        (r#""signer":"0x"#, r#""signer":""#, "signer"),
        (r#""tokenId":"7"#, r#""tokenId":"x7"#, "tokenId"),
        (r#""metadata":"0x"#, r#""metadata":"0x00"#, "metadata"),
        (r#""builder":"0x"#, r#""builder":"0xzz"#, "builder"),
    ];
    for (from, to, field) in cases {
        assert!(good.contains(from), "{from}");
        let text = good.replacen(from, to, 1);
        match OrderRequest::from_json(&text) {
            Err(WireError::Field { field: f, .. }) => assert_eq!(f, field, "{to}"),
            other => panic!("{to}: {other:?}"),
        }
    }
    for text in [
        "",
        "[]",
        "{}",
        r#"{"order":{}}"#,
        &good.replace(r#""salt":123456789"#, r#""salt":-1"#),
        &good.replace(r#""orderType":"GTC""#, r#""orderType":"IOC""#),
    ] {
        assert!(
            matches!(OrderRequest::from_json(text), Err(WireError::Json(_))),
            "{text}"
        );
    }
    // Flags default to false when omitted.
    let short = good.replace(r#","deferExec":false,"postOnly":false"#, "");
    assert_eq!(OrderRequest::from_json(&short).unwrap(), request());
}

fn arb_request() -> impl Strategy<Value = OrderRequest> {
    (
        (
            0..=MAX_SALT,
            any::<[u8; 20]>(),
            any::<[u8; 20]>(),
            any::<[u8; 32]>(),
        ),
        (
            any::<u64>(),
            any::<u64>(),
            any::<bool>(),
            0u8..4,
            any::<u64>(),
            any::<u64>(),
        ),
        (any::<[u8; 32]>(), any::<[u8; 32]>(), any::<Vec<u8>>()),
        ("[a-z0-9-]{0,40}", 0usize..4, any::<bool>(), any::<bool>()),
    )
        .prop_map(|(a, b, c, d)| {
            let signature_type = SignatureType::from_code(b.3).unwrap();
            let len = if signature_type == SignatureType::Poly1271 {
                317
            } else {
                65
            };
            let mut signature = c.2;
            signature.resize(len, 1);
            OrderRequest {
                order: SignedOrder {
                    order: Order {
                        salt: Salt::new(a.0).unwrap(),
                        maker: Address::from(a.1),
                        signer: Address::from(a.2),
                        token_id: U256::from_be_bytes(a.3),
                        maker_amount: b.0,
                        taker_amount: b.1,
                        side: if b.2 { Side::Buy } else { Side::Sell },
                        signature_type,
                        timestamp_ms: b.4,
                        metadata: B256::from(c.0),
                        builder: B256::from(c.1),
                    },
                    expiration: b.5,
                    signature,
                },
                owner: d.0,
                order_type: [
                    OrderType::Gtc,
                    OrderType::Gtd,
                    OrderType::Fok,
                    OrderType::Fak,
                ][d.1],
                defer_exec: d.2,
                post_only: d.3,
            }
        })
}

proptest! {
    #[test]
    fn any_order_roundtrips(req in arb_request()) {
        let json = req.to_json().unwrap();
        prop_assert_eq!(OrderRequest::from_json(&json).unwrap(), req);
    }

    #[test]
    fn corrupted_bodies_error_instead_of_panicking(
        req in arb_request(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<bool>()
    ) {
        let mut json = req.to_json().unwrap().into_bytes();
        let i = at.index(json.len());
        if cut { json.truncate(i) } else { json[i] = byte }
        if let Ok(text) = String::from_utf8(json) {
            let _ = OrderRequest::from_json(&text);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        let _ = OrderRequest::from_json(&text);
        let _ = OrderRequest::batch_from_json(&text);
    }
}
