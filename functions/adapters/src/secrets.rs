//! The rating-link signing keys, kept in a Secrets Manager secret that template.yaml creates
//! (never in code or in plain environment variables) and read once per cold start.
//!
//! The secret is JSON: `{"key_id": "k2", "secret": "<64 hex digits>", "previous": [{"key_id":
//! "k1", "secret": "..."}]}`. New links are signed with the current key; links signed with a
//! previous one keep working while it is listed, which is how keys are rotated.

use aftercare_journey::links::SigningKey;
use serde::Deserialize;

use crate::error::describe;

/// Why the keys could not be read.
#[derive(Debug, thiserror::Error)]
#[error("rating-link keys from secret {secret}: {problem}")]
pub struct SecretError {
    /// The secret.
    pub secret: String,
    /// What went wrong.
    pub problem: String,
}

#[derive(Deserialize)]
struct StoredKey {
    key_id: String,
    secret: String,
}

#[derive(Deserialize)]
struct StoredKeys {
    key_id: String,
    secret: String,
    #[serde(default)]
    previous: Vec<StoredKey>,
}

/// Parses the secret's JSON into keys, the current one first.
pub fn parse_keys(secret: &str, json: &str) -> Result<Vec<SigningKey>, SecretError> {
    let fail = |problem: String| SecretError {
        secret: secret.to_owned(),
        problem,
    };
    let stored: StoredKeys =
        serde_json::from_str(json).map_err(|e| fail(format!("not the expected JSON: {e}")))?;
    std::iter::once(StoredKey {
        key_id: stored.key_id,
        secret: stored.secret,
    })
    .chain(stored.previous)
    .map(|key| {
        let bytes = hex::decode(&key.secret)
            .map_err(|_| fail(format!("the secret of key {:?} is not hex", key.key_id)))?;
        SigningKey::new(key.key_id.clone(), bytes)
            .map_err(|e| fail(format!("key {:?}: {e}", key.key_id)))
    })
    .collect()
}

/// Reads the keys from the secret `secret_id`.
pub async fn load_keys(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<Vec<SigningKey>, SecretError> {
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| SecretError {
            secret: secret_id.to_owned(),
            problem: describe(&e),
        })?;
    let json = output.secret_string().ok_or_else(|| SecretError {
        secret: secret_id.to_owned(),
        problem: "the secret has no string value".into(),
    })?;
    parse_keys(secret_id, json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_key_comes_first_and_previous_keys_still_verify() {
        let json = format!(
            r#"{{"key_id": "k2", "secret": "{}", "previous": [{{"key_id": "k1", "secret": "{}"}}]}}"#,
            "ab".repeat(32),
            "cd".repeat(32)
        );
        let keys = parse_keys("s", &json).unwrap();
        assert_eq!(
            keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
            ["k2", "k1"]
        );
    }

    #[test]
    fn a_malformed_secret_is_refused_with_the_reason() {
        assert!(parse_keys("s", "not json")
            .unwrap_err()
            .problem
            .contains("JSON"));
        let short = r#"{"key_id": "k1", "secret": "abcd"}"#;
        assert!(parse_keys("s", short)
            .unwrap_err()
            .problem
            .contains("32 bytes"));
    }
}
