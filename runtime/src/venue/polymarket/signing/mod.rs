//! Polymarket CLOB V2 order signing, L1/L2 authentication, and the checks a simulated exchange runs on them.

pub mod amounts;
#[cfg(test)]
mod amounts_tests;
pub mod domain;
pub mod l1;
pub mod l2;
pub mod order;
pub mod poly1271;
pub mod salt;
pub mod secrets;
pub mod sign;
pub mod verify;
pub mod wire;
#[cfg(test)]
mod wire_tests;

pub use amounts::{
    AmountError, Amounts, TickSize, limit_amounts, limit_amounts_units, market_amounts,
};
pub use domain::{AMOY, CTF_EXCHANGE_V2, Exchange, NEG_RISK_CTF_EXCHANGE_V2, POLYGON};
pub use l1::{L1Error, L1Headers, clob_auth_signing_hash, l1_headers, recover_l1_signer};
pub use l2::{L2Error, L2Headers, L2Signer, verify_l2_signature};
pub use order::{Account, ORDER_TYPE_STRING, Order, OrderIdError, SignatureType};
pub use salt::{MAX_SALT, Salt, SaltError};
pub use secrets::{ApiCredentials, PrivateKey, SecretError};
pub use sign::{SignError, SignedOrder, sign_order};
pub use verify::{VerifyError, recover_order_signer, verify_order};
pub use wire::{MAX_BATCH, OrderRequest, OrderType, WireError};
