//! How log lines name a customer. Shops may use email addresses (or phone numbers) as customer
//! ids, so a line never carries the id itself but the customer's *log id*: `cust_` and the
//! first 16 hex digits of HMAC-SHA256 of the id under the stack's log-id key. It is stable (one
//! customer has one log id in every line of every function, across cold starts), so a support
//! engineer computes it once (`make log-id CUSTOMER=<id>`) and searches for it; without the key
//! it can neither be turned back nor found by hashing a list of addresses. A shop that wants
//! the ids themselves opts in with `LOG_RAW_CUSTOMER_IDS=true`.
//!
//! The naming is installed once per process by the cold start ([`install`]), as the logging
//! is. Until then (the tests, the demo) customers are named under a key drawn at random for the
//! process: stable within it, never the raw id.

use std::fmt;
use std::sync::OnceLock;

use aftercare_journey::ids::CustomerId;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What every log id begins with.
pub const LOG_ID_PREFIX: &str = "cust_";

/// How many hex digits of the HMAC a log id keeps: 64 bits, so two customers of one shop
/// share a log id with negligible odds, and looking for it finds one customer's lines.
pub const LOG_ID_HEX_DIGITS: usize = 16;

/// The length of a log-id key, in bytes.
pub const KEY_BYTES: usize = 32;

/// Why a string is not a log-id key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LogIdKeyError {
    /// Not hexadecimal.
    #[error("is not hex")]
    NotHex,
    /// Not [`KEY_BYTES`] bytes long.
    #[error("must be 32 bytes (64 hex digits)")]
    Length,
}

/// The secret key log ids are made with. Its `Debug` form never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct LogIdKey([u8; KEY_BYTES]);

impl LogIdKey {
    /// Reads a key written as 64 hex digits.
    pub fn from_hex(hex: &str) -> Result<Self, LogIdKeyError> {
        let bytes = hex::decode(hex.trim()).map_err(|_| LogIdKeyError::NotHex)?;
        let bytes: [u8; KEY_BYTES] = bytes.try_into().map_err(|_| LogIdKeyError::Length)?;
        Ok(Self(bytes))
    }

    /// The log id of `customer`: `cust_` and the first [`LOG_ID_HEX_DIGITS`] hex digits of
    /// HMAC-SHA256(key, customer id).
    pub fn log_id(&self, customer: &str) -> String {
        let mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            // HMAC takes keys of any length; a key of ours is 32 bytes.
            Err(_) => return format!("{LOG_ID_PREFIX}unkeyed"),
        };
        let digest = mac
            .chain_update(customer.as_bytes())
            .finalize()
            .into_bytes();
        let hex = hex::encode(digest);
        format!("{LOG_ID_PREFIX}{}", &hex[..LOG_ID_HEX_DIGITS])
    }

    /// A key no one knows, drawn for this process from the standard library's randomly
    /// seeded hasher keys: for processes that never installed a naming.
    fn random() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut bytes = [0u8; KEY_BYTES];
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_usize(i);
            chunk.copy_from_slice(&hasher.finish().to_le_bytes());
        }
        Self(bytes)
    }
}

impl fmt::Debug for LogIdKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LogIdKey(…)")
    }
}

/// How customers are named in this process's log lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerNaming {
    /// By their log id under this key (the default).
    Hashed(LogIdKey),
    /// By the shop's id itself (`LOG_RAW_CUSTOMER_IDS=true`).
    Raw,
}

impl CustomerNaming {
    /// How `customer` is named under this naming.
    pub fn name(&self, customer: &str) -> String {
        match self {
            CustomerNaming::Hashed(key) => key.log_id(customer),
            CustomerNaming::Raw => customer.to_owned(),
        }
    }
}

/// A second, different naming was installed in a process that has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("another way of naming customers in logs is installed already")]
pub struct AlreadyInstalled;

static INSTALLED: OnceLock<CustomerNaming> = OnceLock::new();
static FALLBACK: OnceLock<CustomerNaming> = OnceLock::new();

/// Installs how this process names customers in logs; once per process (the cold start).
/// Installing the same naming again is harmless; another one is refused.
pub fn install(naming: CustomerNaming) -> Result<(), AlreadyInstalled> {
    let installed = INSTALLED.get_or_init(|| naming.clone());
    if *installed == naming {
        Ok(())
    } else {
        Err(AlreadyInstalled)
    }
}

fn naming() -> &'static CustomerNaming {
    INSTALLED
        .get()
        .unwrap_or_else(|| FALLBACK.get_or_init(|| CustomerNaming::Hashed(LogIdKey::random())))
}

/// A customer as a log line names them. Its `Display` is the whole of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomerLogId(String);

impl CustomerLogId {
    /// The name, as written into log lines.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomerLogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How this process's log lines name `customer`.
pub fn customer(customer: &CustomerId) -> CustomerLogId {
    CustomerLogId(naming().name(customer.as_str()))
}

/// How this process's log lines name the customer whose id, as text, is `customer`.
pub fn customer_str(customer: &str) -> CustomerLogId {
    CustomerLogId(naming().name(customer))
}

/// How this process's log lines name the customer whose journey partition is `pk`
/// (`CUSTOMER#<id>`); `None` for a key that is not a customer's.
pub fn customer_of_partition(pk: &str) -> Option<CustomerLogId> {
    pk.strip_prefix("CUSTOMER#").map(customer_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LogIdKey {
        LogIdKey::from_hex(&"0f".repeat(32)).unwrap()
    }

    #[test]
    fn a_log_id_is_stable_keyed_and_recognisable() {
        let key = key();
        let id = key.log_id("emily.carter@example.com");
        assert_eq!(id, key.log_id("emily.carter@example.com"));
        assert!(id.starts_with("cust_"), "{id}");
        assert_eq!(id.len(), "cust_".len() + 16);
        assert!(id["cust_".len()..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(id, key.log_id("emily.carter@example.org"));
        let other = LogIdKey::from_hex(&"f0".repeat(32)).unwrap();
        assert_ne!(id, other.log_id("emily.carter@example.com"));
    }

    #[test]
    fn a_log_id_is_hmac_sha256_of_the_id_under_the_key() {
        // Computed independently: Python's hmac.new(bytes([0x0b] * 32), b"cus-1001",
        // hashlib.sha256).hexdigest()[:16].
        let key = LogIdKey::from_hex(&"0b".repeat(32)).unwrap();
        assert_eq!(key.log_id("cus-1001"), "cust_95e1935f28a1ab11");
    }

    #[test]
    fn a_key_must_be_32_bytes_of_hex_and_never_shows_itself() {
        assert_eq!(LogIdKey::from_hex("zz"), Err(LogIdKeyError::NotHex));
        assert_eq!(LogIdKey::from_hex("abcd"), Err(LogIdKeyError::Length));
        assert_eq!(format!("{:?}", key()), "LogIdKey(…)");
    }

    #[test]
    fn raw_naming_writes_the_id_itself() {
        assert_eq!(CustomerNaming::Raw.name("cus-1001"), "cus-1001");
    }

    #[test]
    fn without_an_installed_naming_customers_are_still_never_named_by_their_id() {
        let id = CustomerId::parse("emily.carter@example.com").unwrap();
        let named = customer(&id);
        assert!(named.as_str().starts_with("cust_"), "{named}");
        assert_eq!(customer(&id), named, "stable within the process");
        assert_eq!(
            customer_of_partition("CUSTOMER#emily.carter@example.com"),
            Some(named)
        );
        assert_eq!(customer_of_partition("SWEEP"), None);
    }
}
