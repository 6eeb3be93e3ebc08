//! API keys: derived deterministically from the address and nonce (so derive
//! always returns the same credentials), created at most once per pair.

use std::collections::BTreeMap;

use alloy_primitives::{Address, keccak256};
use base64::Engine as _;

use crate::venue::polymarket::signing::ApiCredentials;

/// One issued API key. `Debug` shows only the key.
#[derive(Clone)]
pub struct ApiKey {
    pub key: String,
    pub secret_b64: String,
    pub passphrase: String,
    pub address: Address,
    pub nonce: String,
    /// The decoded credentials, for HMAC checks.
    pub credentials: ApiCredentials,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey({} of {})", self.key, self.address)
    }
}

/// Why a key could not be issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("an API key for this address and nonce already exists")]
    Exists,
    #[error("derived credentials for {0} are unusable")]
    Unusable(Address),
}

/// A UUID-shaped string from 16 bytes of a hash.
pub fn uuid_of(bytes: &[u8]) -> String {
    let h = hex::encode(&bytes[..16]);
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// The keys the exchange has issued.
#[derive(Debug, Default)]
pub struct KeyStore {
    by_key: BTreeMap<String, ApiKey>,
}

fn derive(address: Address, nonce: &str) -> Result<ApiKey, KeyError> {
    let seed = |label: &str| {
        let mut buf = Vec::new();
        buf.extend_from_slice(b"pqap-sim-api-key|");
        buf.extend_from_slice(label.as_bytes());
        buf.extend_from_slice(address.as_slice());
        buf.extend_from_slice(nonce.as_bytes());
        keccak256(&buf)
    };
    let key = uuid_of(seed("key").as_slice());
    let secret_b64 = base64::engine::general_purpose::URL_SAFE.encode(seed("secret"));
    let passphrase = hex::encode(seed("passphrase"));
    let credentials = ApiCredentials::new(&key, &secret_b64, &passphrase, "sim exchange")
        .map_err(|_| KeyError::Unusable(address))?;
    Ok(ApiKey {
        key,
        secret_b64,
        passphrase,
        address,
        nonce: nonce.to_string(),
        credentials,
    })
}

impl KeyStore {
    /// `POST /auth/api-key`: a new key, refused when this address+nonce has one.
    pub fn create(&mut self, address: Address, nonce: &str) -> Result<ApiKey, KeyError> {
        let k = derive(address, nonce)?;
        if self.by_key.contains_key(&k.key) {
            return Err(KeyError::Exists);
        }
        self.by_key.insert(k.key.clone(), k.clone());
        Ok(k)
    }

    /// `GET /auth/derive-api-key`: the key of this address+nonce (registered if new).
    pub fn derive(&mut self, address: Address, nonce: &str) -> Result<ApiKey, KeyError> {
        let k = derive(address, nonce)?;
        Ok(self.by_key.entry(k.key.clone()).or_insert(k).clone())
    }

    pub fn get(&self, key: &str) -> Option<&ApiKey> {
        self.by_key.get(key)
    }

    /// The keys of an address.
    pub fn of(&self, address: Address) -> Vec<String> {
        self.by_key
            .values()
            .filter(|k| k.address == address)
            .map(|k| k.key.clone())
            .collect()
    }

    pub fn delete(&mut self, key: &str) -> bool {
        self.by_key.remove(key).is_some()
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::address;

    use super::*;

    #[test]
    fn create_once_derive_always() {
        let a = address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        let mut s = KeyStore::default();
        let k = s.create(a, "0").unwrap();
        assert_eq!(s.create(a, "0").unwrap_err(), KeyError::Exists);
        assert_eq!(s.derive(a, "0").unwrap().key, k.key);
        assert_ne!(s.derive(a, "1").unwrap().key, k.key);
        assert_eq!(s.of(a).len(), 2);
        assert!(s.delete(&k.key));
        assert!(s.get(&k.key).is_none());
        assert_eq!(k.key.len(), 36);
        assert!(!format!("{k:?}").contains(&k.passphrase));
    }
}
