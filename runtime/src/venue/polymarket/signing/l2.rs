//! L2 authentication: HMAC-SHA256 request signatures and their headers, and the server-side check.

use std::fmt;

use alloy_primitives::Address;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::secrets::ApiCredentials;

/// URL-safe alphabet; padding written, and optional when reading secrets, which are
/// handed out padded but may be pasted without it.
pub(crate) const SECRET_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum L2Error {
    #[error("POLY_SIGNATURE `{0}` is not URL-safe base64")]
    Encoding(String),
    #[error("POLY_SIGNATURE does not match the request (timestamp {timestamp}, {method} {path})")]
    Mismatch {
        timestamp: String,
        method: String,
        path: String,
    },
}

/// Signs requests for one set of credentials. The HMAC key schedule is computed once
/// and cloned per request.
#[derive(Clone)]
pub struct L2Signer {
    mac: Hmac<Sha256>,
    address: String,
    api_key: String,
    passphrase: String,
}

/// The five L2 headers. `Debug` hides the passphrase.
#[derive(Clone, PartialEq, Eq)]
pub struct L2Headers {
    pub address: String,
    pub signature: String,
    pub timestamp: String,
    pub api_key: String,
    pub passphrase: String,
}

impl L2Headers {
    /// `(header name, value)` pairs, ready for an HTTP client.
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("POLY_ADDRESS", &self.address),
            ("POLY_SIGNATURE", &self.signature),
            ("POLY_TIMESTAMP", &self.timestamp),
            ("POLY_API_KEY", &self.api_key),
            ("POLY_PASSPHRASE", &self.passphrase),
        ]
    }
}

impl fmt::Debug for L2Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("L2Headers")
            .field("address", &self.address)
            .field("signature", &self.signature)
            .field("timestamp", &self.timestamp)
            .field("api_key", &self.api_key)
            .field("passphrase", &"<redacted>")
            .finish()
    }
}

impl fmt::Debug for L2Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "L2Signer({}, {}, <redacted>)",
            self.address, self.api_key
        )
    }
}

impl L2Signer {
    /// `address` is the EOA that owns the key (not a proxy or deposit wallet).
    pub fn new(credentials: &ApiCredentials, address: Address) -> L2Signer {
        L2Signer {
            mac: keyed(credentials.secret_bytes()),
            address: address.to_checksum(None),
            api_key: credentials.api_key.clone(),
            passphrase: credentials.passphrase().to_string(),
        }
    }

    /// URL-safe base64 (padded) HMAC of `timestamp ‖ method ‖ path ‖ body`. `method` is signed
    /// as given (the HTTP method, uppercase, as sent); `path` excludes host and query; `body`
    /// must be the exact bytes sent.
    pub fn signature(&self, timestamp: u64, method: &str, path: &str, body: &[u8]) -> String {
        let mac = digest(self.mac.clone(), &timestamp.to_string(), method, path, body);
        SECRET_ENGINE.encode(mac.finalize().into_bytes())
    }

    pub fn headers(&self, timestamp: u64, method: &str, path: &str, body: &[u8]) -> L2Headers {
        L2Headers {
            address: self.address.clone(),
            signature: self.signature(timestamp, method, path, body),
            timestamp: timestamp.to_string(),
            api_key: self.api_key.clone(),
            passphrase: self.passphrase.clone(),
        }
    }
}

fn keyed(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: longer ones are hashed, shorter ones padded.
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 accepts every key length"),
    }
}

fn digest(
    mut mac: Hmac<Sha256>,
    timestamp: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> Hmac<Sha256> {
    mac.update(timestamp.as_bytes());
    mac.update(method.as_bytes());
    mac.update(path.as_bytes());
    mac.update(body);
    mac
}

/// The server's check of `POLY_SIGNATURE` for a request, in constant time.
/// `timestamp` is the `POLY_TIMESTAMP` header as received; freshness is the caller's rule.
pub fn verify_l2_signature(
    credentials: &ApiCredentials,
    timestamp: &str,
    method: &str,
    path: &str,
    body: &[u8],
    signature: &str,
) -> Result<(), L2Error> {
    let presented = SECRET_ENGINE
        .decode(signature)
        .map_err(|_| L2Error::Encoding(signature.chars().take(100).collect()))?;
    digest(
        keyed(credentials.secret_bytes()),
        timestamp,
        method,
        path,
        body,
    )
    .verify_slice(&presented)
    .map_err(|_| L2Error::Mismatch {
        timestamp: timestamp.chars().take(40).collect(),
        method: method.chars().take(10).collect(),
        path: path.chars().take(200).collect(),
    })
}

#[cfg(test)]
mod tests {
    use alloy_primitives::address;

    use super::*;

    const ZERO_SECRET: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    fn signer() -> (L2Signer, ApiCredentials) {
        let creds = ApiCredentials::new("key-uuid", ZERO_SECRET, "pp", "test").unwrap();
        let addr = address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        (L2Signer::new(&creds, addr), creds)
    }

    #[test]
    fn reference_hmac_vectors() {
        let (s, _) = signer();
        assert_eq!(
            s.signature(1000000, "test-sign", "/orders", br#"{"hash":"0x123"}"#),
            "4gJVbox-R6XlDK4nlaicig0_ANVL1qdcahiL8CXfXLM="
        );
        assert_eq!(
            s.signature(1000000, "test-sign", "/orders", br#"{"hash": "0x123"}"#),
            "ZwAdJKvoYRlEKDkNMwd5BuwNNtg93kNaR_oU2HrfVvc="
        );
        assert_eq!(
            s.signature(1, "GET", "/", b""),
            "eHaylCwqRSOa2LFD77Nt_SaTpbsxzN8eTEI3LryhEj4="
        );
    }

    #[test]
    fn headers_carry_the_checksummed_owner_and_hide_the_passphrase() {
        let (s, _) = signer();
        let h = s.headers(1, "GET", "/", b"");
        assert_eq!(h.signature, "eHaylCwqRSOa2LFD77Nt_SaTpbsxzN8eTEI3LryhEj4=");
        let pairs = h.pairs();
        assert_eq!(
            pairs[0],
            ("POLY_ADDRESS", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        assert_eq!(pairs[2], ("POLY_TIMESTAMP", "1"));
        assert_eq!(pairs[3], ("POLY_API_KEY", "key-uuid"));
        assert_eq!(pairs[4], ("POLY_PASSPHRASE", "pp"));
        let shown = format!("{h:?} {s:?}");
        assert!(!shown.contains("\"pp\""), "{shown}");
    }

    #[test]
    fn server_side_verification() {
        let (s, creds) = signer();
        let body = br#"{"hash":"0x123"}"#;
        let sig = s.signature(1000000, "POST", "/order", body);
        assert_eq!(
            verify_l2_signature(&creds, "1000000", "POST", "/order", body, &sig),
            Ok(())
        );
        let err = verify_l2_signature(&creds, "1000001", "POST", "/order", body, &sig).unwrap_err();
        assert!(matches!(err, L2Error::Mismatch { .. }), "{err}");
        assert!(verify_l2_signature(&creds, "1000000", "POST", "/order", b"{}", &sig).is_err());
        assert!(matches!(
            verify_l2_signature(&creds, "1", "GET", "/", b"", "not base64!"),
            Err(L2Error::Encoding(_))
        ));
    }
}
