//! Private keys and API credentials: loaded from the environment or an owner-only file, never printed.

use std::fmt;
use std::path::{Path, PathBuf};

use alloy_primitives::{Address, B256, Signature};
use alloy_signer::k256::ecdsa::SigningKey;
use alloy_signer::utils::secret_key_to_address;
use base64::Engine as _;

use super::l2::SECRET_ENGINE;

const REDACTED: &str = "<redacted>";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    #[error("environment variable {0} is not valid UTF-8")]
    EnvNotUnicode(String),
    #[error("cannot read secret file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "secret file {path} has mode {mode:04o}; it must not be readable or writable by group or others (chmod 600)"
    )]
    Permissions { path: PathBuf, mode: u32 },
    #[error("private key from {origin} is not 32 bytes of hex (64 hex digits, optional 0x)")]
    KeyFormat { origin: String },
    #[error("private key from {origin} is not a valid secp256k1 scalar")]
    KeyRange { origin: String },
    #[error("signing digest {0} failed (k256 refused it)")]
    Sign(B256),
    #[error("API credentials from {origin}: {reason}")]
    Credentials { origin: String, reason: String },
}

/// A secp256k1 signing key and its address. `Debug` and `Display` show only the address.
/// The underlying key zeroes its memory when dropped.
#[derive(Clone)]
pub struct PrivateKey {
    key: SigningKey,
    /// The same key for libsecp256k1, which signs (erased on drop).
    secret: secp256k1::SecretKey,
    address: Address,
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        self.secret.non_secure_erase();
    }
}

impl PrivateKey {
    /// Parses 64 hex digits (optionally 0x-prefixed); `origin` names the source in errors,
    /// which never contain the text itself.
    pub fn from_hex(text: &str, origin: &str) -> Result<PrivateKey, SecretError> {
        let t = text.trim();
        let t = t.strip_prefix("0x").unwrap_or(t);
        let mut bytes = [0u8; 32];
        if t.len() != 64 || hex::decode_to_slice(t, &mut bytes).is_err() {
            return Err(SecretError::KeyFormat {
                origin: origin.to_string(),
            });
        }
        let key = SigningKey::from_slice(&bytes);
        let secret = secp256k1::SecretKey::from_byte_array(bytes);
        bytes.fill(0);
        let range = || SecretError::KeyRange {
            origin: origin.to_string(),
        };
        let key = key.map_err(|_| range())?;
        let secret = secret.map_err(|_| range())?;
        let address = secret_key_to_address(&key);
        Ok(PrivateKey {
            key,
            secret,
            address,
        })
    }

    /// The key in environment variable `var`.
    pub fn from_env(var: &str) -> Result<PrivateKey, SecretError> {
        let text = env_secret(var)?;
        let key = PrivateKey::from_hex(&text, &format!("environment variable {var}"))?;
        tracing::debug!(address = %key.address, var, "private key loaded");
        Ok(key)
    }

    /// The key in a file readable by its owner only.
    pub fn from_file(path: &Path) -> Result<PrivateKey, SecretError> {
        let text = read_private_file(path)?;
        let key = PrivateKey::from_hex(&text, &path.display().to_string())?;
        tracing::debug!(address = %key.address, path = %path.display(), "private key loaded");
        Ok(key)
    }

    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs a 32-byte digest (RFC 6979 nonce, low-s); [`Signature::as_bytes`] gives
    /// r‖s‖v with v = 27/28.
    pub fn sign_hash(&self, digest: &B256) -> Result<Signature, SecretError> {
        let message = secp256k1::Message::from_digest(digest.0);
        let signed = secp256k1::SECP256K1.sign_ecdsa_recoverable(message, &self.secret);
        let (id, rs) = signed.serialize_compact();
        let parity = i32::from(id) == 1;
        let r = alloy_primitives::U256::from_be_slice(&rs[..32]);
        let s = alloy_primitives::U256::from_be_slice(&rs[32..]);
        Ok(Signature::new(r, s, parity))
    }

    /// The same signature through k256 (pure Rust): the reference the fast
    /// path is checked against.
    pub fn sign_hash_k256(&self, digest: &B256) -> Result<Signature, SecretError> {
        self.key
            .sign_prehash_recoverable(digest.as_slice())
            .map(Signature::from)
            .map_err(|_| SecretError::Sign(*digest))
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({}, {REDACTED})", self.address)
    }
}

impl fmt::Display for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "private key of {}", self.address)
    }
}

/// L2 API credentials. The secret is stored decoded; `Debug`/`Display` show only the key.
// No PartialEq: comparing secrets with `==` would not be constant-time.
#[derive(Clone)]
pub struct ApiCredentials {
    pub api_key: String,
    secret: Vec<u8>,
    passphrase: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialsFile {
    api_key: String,
    secret: String,
    passphrase: String,
}

impl ApiCredentials {
    /// From the three strings `POST /auth/api-key` returns; `secret` is URL-safe base64.
    pub fn new(
        api_key: &str,
        secret_b64: &str,
        passphrase: &str,
        origin: &str,
    ) -> Result<ApiCredentials, SecretError> {
        let bad = |reason: &str| SecretError::Credentials {
            origin: origin.to_string(),
            reason: reason.to_string(),
        };
        if api_key.is_empty() || passphrase.is_empty() {
            return Err(bad("apiKey and passphrase must not be empty"));
        }
        let secret = SECRET_ENGINE
            .decode(secret_b64.trim())
            .map_err(|_| bad("secret is not URL-safe base64"))?;
        if secret.is_empty() {
            return Err(bad("secret is empty"));
        }
        Ok(ApiCredentials {
            api_key: api_key.to_string(),
            secret,
            passphrase: passphrase.to_string(),
        })
    }

    /// From `{prefix}API_KEY`, `{prefix}SECRET` and `{prefix}PASSPHRASE`.
    pub fn from_env(prefix: &str) -> Result<ApiCredentials, SecretError> {
        let key = env_secret(&format!("{prefix}API_KEY"))?;
        let secret = env_secret(&format!("{prefix}SECRET"))?;
        let pass = env_secret(&format!("{prefix}PASSPHRASE"))?;
        ApiCredentials::new(&key, &secret, &pass, &format!("environment ({prefix}*)"))
    }

    /// From an owner-only JSON file `{"apiKey": …, "secret": …, "passphrase": …}`.
    pub fn from_file(path: &Path) -> Result<ApiCredentials, SecretError> {
        let text = read_private_file(path)?;
        let origin = path.display().to_string();
        // serde_json's message could quote the secret; report only the position.
        let file: CredentialsFile =
            serde_json::from_str(&text).map_err(|e| SecretError::Credentials {
                origin: origin.clone(),
                reason: format!(
                    "not a JSON object with apiKey, secret, passphrase (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            })?;
        ApiCredentials::new(&file.api_key, &file.secret, &file.passphrase, &origin)
    }

    /// The secret as the venue issued it (URL-safe base64): the user channel
    /// takes it in its subscribe message.
    pub(crate) fn secret_text(&self) -> String {
        SECRET_ENGINE.encode(&self.secret)
    }

    pub(crate) fn secret_bytes(&self) -> &[u8] {
        &self.secret
    }

    pub fn passphrase(&self) -> &str {
        &self.passphrase
    }
}

impl Drop for ApiCredentials {
    fn drop(&mut self) {
        self.secret.fill(0);
    }
}

impl fmt::Debug for ApiCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiCredentials")
            .field("api_key", &self.api_key)
            .field("secret", &REDACTED)
            .field("passphrase", &REDACTED)
            .finish()
    }
}

impl fmt::Display for ApiCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "API key {}", self.api_key)
    }
}

fn env_secret(var: &str) -> Result<String, SecretError> {
    match std::env::var(var) {
        Ok(v) => Ok(v),
        Err(std::env::VarError::NotPresent) => Err(SecretError::MissingEnv(var.to_string())),
        Err(std::env::VarError::NotUnicode(_)) => Err(SecretError::EnvNotUnicode(var.to_string())),
    }
}

/// Reads a file only if neither group nor others may read or write it. The mode is taken
/// from the opened handle, so the file checked is the file read.
fn read_private_file(path: &Path) -> Result<String, SecretError> {
    use std::io::Read as _;
    let read_err = |source| SecretError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(read_err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file.metadata().map_err(read_err)?.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(SecretError::Permissions {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(read_err)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const KEY: &str =
        "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    fn write_with_mode(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    proptest::proptest! {
        /// libsecp256k1 and k256 give the very same RFC 6979 signature
        /// (r, s, parity) for any key and digest.
        #[test]
        fn both_signers_agree(key in proptest::array::uniform32(1u8..), digest in proptest::array::uniform32(proptest::num::u8::ANY)) {
            let k = PrivateKey::from_hex(&hex::encode(key), "test").unwrap();
            let d = B256::from(digest);
            proptest::prop_assert_eq!(k.sign_hash(&d).unwrap(), k.sign_hash_k256(&d).unwrap());
        }
    }

    #[test]
    fn debug_and_display_never_show_the_key() {
        let k = PrivateKey::from_hex(KEY, "test").unwrap();
        let shown = format!("{k:?} {k} {k:#?}");
        assert!(
            shown.contains("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
            "{shown}"
        );
        assert!(!shown.contains("ac0974bec"), "{shown}");
        let c = ApiCredentials::new("uuid-1", &"A".repeat(43), "pass-xyz", "test").unwrap();
        let shown = format!("{c:?} {c} {c:#?}");
        assert!(
            shown.contains("uuid-1") && !shown.contains("pass-xyz"),
            "{shown}"
        );
        assert!(!shown.contains("AAAA"), "{shown}");
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        let err = PrivateKey::from_hex("0x1234zz", "env X")
            .unwrap_err()
            .to_string();
        assert!(err.contains("env X") && !err.contains("1234zz"), "{err}");
        let zero = format!("0x{}", "0".repeat(64));
        assert!(matches!(
            PrivateKey::from_hex(&zero, "t"),
            Err(SecretError::KeyRange { .. })
        ));
    }

    #[test]
    fn key_files_readable_by_others_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let loose = write_with_mode(dir.path(), "loose.key", KEY, 0o644);
        let err = PrivateKey::from_file(&loose).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, SecretError::Permissions { mode: 0o644, .. }),
            "{text}"
        );
        assert!(
            text.contains("loose.key") && text.contains("0644"),
            "{text}"
        );
        let group = write_with_mode(dir.path(), "group.key", KEY, 0o640);
        assert!(PrivateKey::from_file(&group).is_err());

        let tight = write_with_mode(dir.path(), "tight.key", &format!("{KEY}\n"), 0o600);
        let k = PrivateKey::from_file(&tight).unwrap();
        assert_eq!(
            k.address().to_string(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        let ro = write_with_mode(dir.path(), "ro.key", KEY, 0o400);
        assert!(PrivateKey::from_file(&ro).is_ok());
    }

    #[test]
    fn credential_files_follow_the_same_rule() {
        let dir = tempfile::tempdir().unwrap();
        let json = r#"{"apiKey":"k","secret":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","passphrase":"p"}"#;
        let loose = write_with_mode(dir.path(), "creds.json", json, 0o604);
        assert!(matches!(
            ApiCredentials::from_file(&loose),
            Err(SecretError::Permissions { .. })
        ));
        let tight = write_with_mode(dir.path(), "creds2.json", json, 0o600);
        let c = ApiCredentials::from_file(&tight).unwrap();
        assert_eq!(c.secret_bytes(), &[0u8; 32]);
        let broken = write_with_mode(dir.path(), "creds3.json", r#"{"secret":"s3cr3t"#, 0o600);
        let err = ApiCredentials::from_file(&broken).unwrap_err().to_string();
        assert!(
            err.contains("creds3.json") && !err.contains("s3cr3t"),
            "{err}"
        );
    }

    #[test]
    fn env_loader_names_the_missing_variable() {
        let err = PrivateKey::from_env("PQAP_TEST_SURELY_UNSET_KEY").unwrap_err();
        assert!(err.to_string().contains("PQAP_TEST_SURELY_UNSET_KEY"));
    }
}
