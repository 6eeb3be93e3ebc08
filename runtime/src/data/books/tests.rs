//! Books fed with decoded venue messages: resync triggers and status changes.

use super::*;
use crate::data::quality::Untradeable;
use crate::venue::polymarket::websocket::decode::decode_message;

const T: &str = "48331043336612883890938759509493159234755048973500640148014422747788308965732";
const M: &str = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917";

fn ev(json: &str) -> MarketEvent {
    decode_message(json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn book_msg(ts: u64) -> MarketEvent {
    ev(&format!(
        r#"{{"event_type":"book","asset_id":"{T}","market":"{M}","timestamp":"{ts}","bids":[{{"price":"0.48","size":"10"}}],"asks":[{{"price":"0.52","size":"10"}}]}}"#
    ))
}

fn change(ts: u64, side: &str, price: &str, size: &str, bid: &str, ask: &str) -> MarketEvent {
    ev(&format!(
        r#"{{"event_type":"price_change","market":"{M}","timestamp":"{ts}","price_changes":[{{"asset_id":"{T}","price":"{price}","size":"{size}","side":"{side}","best_bid":"{bid}","best_ask":"{ask}"}}]}}"#
    ))
}

fn token() -> TokenId {
    TokenId::parse(T).unwrap()
}

#[test]
fn change_before_snapshot_asks_for_one() {
    let mut b = Books::default();
    let mut out = Vec::new();
    b.apply(&change(1, "BUY", "0.5", "1", "0.5", "0.52"), 0, &mut out);
    assert!(out.contains(&BookOutput::NeedsSnapshot(token())));
    assert_eq!(b.quality().counters()["change_before_snapshot"], 1);
}

#[test]
fn consistent_changes_update_and_inconsistent_ones_resync() {
    let mut b = Books::default();
    let mut out = Vec::new();
    b.apply(&book_msg(1), 0, &mut out);
    assert_eq!(
        out,
        vec![
            BookOutput::Updated(token()),
            BookOutput::Status(StatusChange {
                token: token(),
                untradeable: None
            })
        ]
    );
    out.clear();
    b.apply(&change(2, "BUY", "0.49", "5", "0.49", "0.52"), 1, &mut out);
    assert_eq!(out, vec![BookOutput::Updated(token())]);
    out.clear();
    // The venue says the best bid is 0.50, but we never saw that level: a gap.
    b.apply(&change(3, "SELL", "0.53", "5", "0.5", "0.52"), 2, &mut out);
    assert!(out.contains(&BookOutput::NeedsSnapshot(token())));
    assert_eq!(b.quality().counters()["best_price_mismatch"], 1);
}

#[test]
fn crossing_change_makes_the_token_untradeable() {
    let mut b = Books::default();
    let mut out = Vec::new();
    b.apply(&book_msg(1), 0, &mut out);
    out.clear();
    b.apply(&change(2, "BUY", "0.55", "5", "0.55", "0.52"), 1, &mut out);
    assert!(out.contains(&BookOutput::Status(StatusChange {
        token: token(),
        untradeable: Some(Untradeable::Crossed)
    })));
}

#[test]
fn tick_size_change_drops_the_book_until_a_snapshot() {
    let mut b = Books::default();
    let mut out = Vec::new();
    b.apply(&book_msg(1), 0, &mut out);
    out.clear();
    let tick = ev(&format!(
        r#"{{"event_type":"tick_size_change","asset_id":"{T}","market":"{M}","old_tick_size":"0.01","new_tick_size":"0.001","timestamp":"2"}}"#
    ));
    b.apply(&tick, 1, &mut out);
    assert!(out.contains(&BookOutput::NeedsSnapshot(token())));
    assert_eq!(
        b.quality().status(&token()),
        Some(Untradeable::AwaitingSnapshot)
    );
    assert_eq!(b.book(&token()).unwrap().epoch(), 1);
    out.clear();
    b.apply(&book_msg(3), 2, &mut out);
    assert_eq!(b.quality().status(&token()), None);
}

#[test]
fn stale_books_are_flagged_by_the_sweep() {
    let mut b = Books::new(QualityConfig {
        stale_after_ms: 100,
    });
    let mut out = Vec::new();
    b.apply(&book_msg(1), 0, &mut out);
    out.clear();
    b.sweep(150, &mut out);
    assert_eq!(
        out,
        vec![BookOutput::Status(StatusChange {
            token: token(),
            untradeable: Some(Untradeable::Stale)
        })]
    );
}
