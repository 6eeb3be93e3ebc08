//! What can go wrong talking to the CLOB's trading API, classified by what it
//! means for an order: never sent (safe to retry), sent but the answer lost
//! (the order's fate is unknown), or refused by the venue (with its words).

use std::time::Duration;

use crate::model::VenueReject;

/// A failed trading request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClobError {
    /// Nothing reached the venue (no connection): the request had no effect.
    #[error("{route}: not sent: {message}")]
    NotSent { route: String, message: String },
    /// The request may have reached the venue, but no answer came back: what
    /// it did is unknown until reconciliation.
    #[error("{route}: sent, but the answer was lost: {message}")]
    AnswerLost { route: String, message: String },
    /// The venue answered with an error status and its message.
    #[error("{route}: HTTP {status}: {message}")]
    Status {
        route: String,
        status: u16,
        message: String,
        /// How long the venue asked to wait (`Retry-After`, seconds).
        retry_after: Option<Duration>,
    },
    /// The venue answered 2xx with something this client cannot read.
    #[error("{route}: unreadable answer: {message}")]
    Decode { route: String, message: String },
    /// The request could not be built or signed (a local problem).
    #[error("{route}: {message}")]
    Local { route: String, message: String },
}

impl ClobError {
    /// The venue refused without acting and asked to come back later (425
    /// matching engine restarting, 429 rate limited, 503 maintenance): the
    /// same request may be sent again after this long.
    pub fn retry_in(&self) -> Option<Duration> {
        match self {
            ClobError::Status {
                status: 425 | 429 | 503,
                retry_after,
                ..
            } => Some(retry_after.unwrap_or(Duration::from_millis(500))),
            ClobError::NotSent { .. } => Some(Duration::from_millis(250)),
            _ => None,
        }
    }

    /// Whether the venue may have acted on the request.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, ClobError::AnswerLost { .. })
    }

    /// The order rejection this error stands for, in the venue's words.
    pub fn reject(&self) -> (VenueReject, String) {
        match self {
            ClobError::Status { message, .. } => (reject_of(message), message.clone()),
            other => (
                VenueReject::Other {
                    message: other.to_string(),
                },
                other.to_string(),
            ),
        }
    }
}

/// Maps the venue's error text (§3.6) to a typed rejection; unknown texts are
/// kept as they are.
pub fn reject_of(message: &str) -> VenueReject {
    let m = message.to_ascii_lowercase();
    if m.contains("crosses book") {
        VenueReject::WouldCross
    } else if m.contains("minimum tick size") || m.contains("invalid price") {
        VenueReject::BadPrice
    } else if m.contains("lower than the minimum") {
        VenueReject::BadSize
    } else if m.contains("marketable buy order") {
        VenueReject::MinNotional
    } else if m.contains("fok orders are fully filled or killed")
        || m.contains("fak orders are partially filled or killed")
    {
        VenueReject::Unfillable
    } else if m.contains("invalid expiration") {
        VenueReject::BadExpiration
    } else if m.contains("not yet ready to process new orders")
        || m.contains("market not found")
        || m.contains("closed")
    {
        VenueReject::MarketClosed
    } else if m.contains("not enough balance") {
        VenueReject::InsufficientFunds
    } else if m.contains("invalid order payload") {
        VenueReject::InvalidPayload
    } else {
        VenueReject::Other {
            message: message.to_string(),
        }
    }
}

/// The message of a venue error body (`{"error": "..."}`), or the body itself.
pub fn error_text(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error")
                .or_else(|| v.get("errorMsg"))
                .and_then(|e| e.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.chars().take(500).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venue_texts_map_to_typed_rejections() {
        let cases = [
            (
                "invalid post-only order: order crosses book",
                VenueReject::WouldCross,
            ),
            (
                "order 0x1 is invalid. Price (0.505) breaks minimum tick size rule: 0.01",
                VenueReject::BadPrice,
            ),
            (
                "order 0x1 is invalid. Size (2) lower than the minimum: 5",
                VenueReject::BadSize,
            ),
            (
                "invalid amount for a marketable BUY order ($0.50), min size: 1",
                VenueReject::MinNotional,
            ),
            (
                "order couldn't be fully filled. FOK orders are fully filled or killed.",
                VenueReject::Unfillable,
            ),
            ("invalid expiration", VenueReject::BadExpiration),
            ("Invalid order payload", VenueReject::InvalidPayload),
        ];
        for (text, want) in cases {
            assert_eq!(reject_of(text), want, "{text}");
        }
        assert_eq!(
            reject_of("not enough balance / allowance"),
            VenueReject::InsufficientFunds
        );
    }

    #[test]
    fn only_refusals_without_effect_are_retried() {
        let status = |status| ClobError::Status {
            route: "POST /order".into(),
            status,
            message: String::new(),
            retry_after: Some(Duration::from_secs(2)),
        };
        assert_eq!(status(425).retry_in(), Some(Duration::from_secs(2)));
        assert_eq!(status(429).retry_in(), Some(Duration::from_secs(2)));
        assert_eq!(status(400).retry_in(), None);
        let lost = ClobError::AnswerLost {
            route: "POST /order".into(),
            message: "reset".into(),
        };
        assert_eq!(lost.retry_in(), None);
        assert!(lost.outcome_unknown());
    }

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(error_text(r#"{"error":"Duplicated"}"#), "Duplicated");
        assert_eq!(error_text("plain"), "plain");
    }
}
