//! The heartbeat dead-man switch: each key chains heartbeat ids; once it has
//! sent one, silence longer than the timeout cancels its open orders.

use std::collections::BTreeMap;

use alloy_primitives::keccak256;

use super::keys::uuid_of;

#[derive(Debug, Clone)]
struct Session {
    id: String,
    last_ms: u64,
}

/// Heartbeat sessions per API key.
#[derive(Debug, Default)]
pub struct Heartbeats {
    sessions: BTreeMap<String, Session>,
    issued: u64,
}

/// A heartbeat whose id is not the one last issued to the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid Heartbeat ID: `{0}` is not the id last issued to this API key")]
pub struct HeartbeatError(pub String);

impl Heartbeats {
    /// Takes a heartbeat of `key` carrying `id` (`None` starts a new chain, as
    /// does any id when the key has no running session); returns the next id.
    pub fn beat(
        &mut self,
        key: &str,
        id: Option<&str>,
        now_ms: u64,
    ) -> Result<String, HeartbeatError> {
        if let (Some(given), Some(s)) = (id, self.sessions.get(key))
            && given != s.id
        {
            return Err(HeartbeatError(given.chars().take(64).collect()));
        }
        self.issued += 1;
        let next = uuid_of(keccak256(format!("hb|{key}|{}|{now_ms}", self.issued)).as_slice());
        self.sessions.insert(
            key.to_string(),
            Session {
                id: next.clone(),
                last_ms: now_ms,
            },
        );
        Ok(next)
    }

    /// Keys silent for longer than `timeout_ms`; their sessions end.
    pub fn expired(&mut self, now_ms: u64, timeout_ms: u64) -> Vec<String> {
        let gone: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| now_ms.saturating_sub(s.last_ms) > timeout_ms)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &gone {
            self.sessions.remove(k);
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_and_expiry() {
        let mut h = Heartbeats::default();
        let a = h.beat("k", None, 0).unwrap();
        let b = h.beat("k", Some(&a), 1_000).unwrap();
        assert!(h.beat("k", Some(&a), 2_000).is_err());
        assert!(h.expired(5_000, 10_000).is_empty());
        let _ = b;
        assert_eq!(h.expired(11_001, 10_000), vec!["k".to_string()]);
        assert!(h.expired(30_000, 10_000).is_empty());
    }
}
