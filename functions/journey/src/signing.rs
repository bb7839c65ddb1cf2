//! The keys that sign one-click links (rating, preferences, unsubscribe): a core type, so the
//! settings that hold them depend on no rule.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// A signing key and its id.
#[derive(Clone)]
pub struct SigningKey {
    /// Names the key in tokens: letters, digits, `-` and `_`.
    pub id: String,
    /// The HMAC keyed with the secret (at least 32 bytes), ready to be cloned per use.
    keyed: HmacSha256,
}

impl Eq for SigningKey {}

impl PartialEq for SigningKey {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why a key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The id is empty or holds other characters than letters, digits, `-` and `_`.
    #[error("a key id must be 1 to 32 letters, digits, '-' or '_'")]
    Id,
    /// The secret is shorter than 32 bytes.
    #[error("a signing secret must be at least 32 bytes")]
    Short,
}

impl SigningKey {
    /// A key from its id and secret.
    pub fn new(id: impl Into<String>, secret: impl Into<Vec<u8>>) -> Result<Self, KeyError> {
        let id = id.into();
        if id.is_empty()
            || id.len() > 32
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(KeyError::Id);
        }
        let secret = secret.into();
        if secret.len() < 32 {
            return Err(KeyError::Short);
        }
        let keyed = <HmacSha256 as Mac>::new_from_slice(&secret).map_err(|_| KeyError::Short)?;
        Ok(Self { id, keyed })
    }

    /// The HMAC-SHA256 of `signed` under this key, ready to finalize or verify.
    pub(crate) fn mac(&self, signed: &str) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(signed.as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_and_odd_key_ids_are_refused() {
        assert_eq!(
            SigningKey::new("k1", vec![0u8; 31]).unwrap_err(),
            KeyError::Short
        );
        assert_eq!(
            SigningKey::new("k 1", vec![0u8; 32]).unwrap_err(),
            KeyError::Id
        );
    }
}
