//! The keys kept in Secrets Manager secrets that template.yaml creates (never in code or in
//! plain environment variables), each read once per cold start.
//!
//! The link-signing secret is JSON: `{"key_id": "k2", "secret": "<64 hex digits>",
//! "previous": [{"key_id": "k1", "secret": "..."}]}`. New links are signed with the current
//! key; links signed with a previous one keep working while it is listed, which is how keys
//! are rotated.
//!
//! The log-id secret is JSON too: `{"key": "<64 hex digits>"}`, the key customers' log ids are
//! made with (see `crate::log_ids`). Changing it changes every log id from then on.

use aftercare_journey::event::{deserialize_at, parse_json};
use aftercare_journey::signing::SigningKey;
use serde::Deserialize;

use crate::error::describe;
use crate::log_ids::LogIdKey;

/// Why the keys could not be read. It never holds the secret's value.
#[derive(Debug, thiserror::Error)]
#[error("{what} from secret {secret}: {problem}")]
pub struct SecretError {
    /// What was read: `rating-link keys` or `the log-id key`.
    pub what: &'static str,
    /// The secret.
    pub secret: String,
    /// What went wrong.
    pub problem: String,
}

const LINK_KEYS: &str = "rating-link keys";
const LOG_ID_KEY: &str = "the log-id key";

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
        what: LINK_KEYS,
        secret: secret.to_owned(),
        problem,
    };
    let stored: StoredKeys = parse_json(json, "secret")
        .and_then(|value| deserialize_at(value, "", &["key_id", "secret", "previous"]))
        .map_err(|e| fail(format!("not the expected JSON: {e}")))?;
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

#[derive(Deserialize)]
struct StoredLogIdKey {
    key: String,
}

/// Parses the log-id secret's JSON (`{"key": "<64 hex digits>"}`).
pub fn parse_log_id_key(secret: &str, json: &str) -> Result<LogIdKey, SecretError> {
    let fail = |problem: String| SecretError {
        what: LOG_ID_KEY,
        secret: secret.to_owned(),
        problem,
    };
    let stored: StoredLogIdKey = parse_json(json, "secret")
        .and_then(|value| deserialize_at(value, "", &["key"]))
        .map_err(|e| fail(format!("not the expected JSON: {e}")))?;
    LogIdKey::from_hex(&stored.key).map_err(|e| fail(format!("the key {e}")))
}

/// Reads the string value of the secret `secret_id`.
async fn secret_string(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
    what: &'static str,
) -> Result<String, SecretError> {
    let fail = |problem: String| SecretError {
        what,
        secret: secret_id.to_owned(),
        problem,
    };
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| fail(describe(&e)))?;
    output
        .secret_string()
        .map(str::to_owned)
        .ok_or_else(|| fail("the secret has no string value".into()))
}

/// Reads the link-signing keys from the secret `secret_id`.
pub async fn load_keys(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<Vec<SigningKey>, SecretError> {
    let json = secret_string(client, secret_id, LINK_KEYS).await?;
    parse_keys(secret_id, &json)
}

/// Reads the log-id key from the secret `secret_id`.
pub async fn load_log_id_key(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<LogIdKey, SecretError> {
    let json = secret_string(client, secret_id, LOG_ID_KEY).await?;
    parse_log_id_key(secret_id, &json)
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

    #[test]
    fn a_malformed_secret_is_refused_without_quoting_it() {
        let leaky = r#"{"key_id": "k1", "secret": "abcd", "previous": "c0ffee-secret-material"}"#;
        let error = parse_keys("s", leaky).unwrap_err();
        assert!(!error.to_string().contains("c0ffee"), "{error}");
        assert!(error.problem.contains("previous"), "{error}");
        let error = parse_log_id_key("s", r#"{"key": ["c0ffee-secret-material"]}"#).unwrap_err();
        assert!(!error.to_string().contains("c0ffee"), "{error}");
    }

    #[test]
    fn the_log_id_key_is_64_hex_digits_under_key() {
        let key = parse_log_id_key("s", &format!(r#"{{"key": "{}"}}"#, "0b".repeat(32))).unwrap();
        assert_eq!(key.log_id("cus-1001"), "cust_95e1935f28a1ab11");
        let error = parse_log_id_key("s", r#"{"key": "abcd"}"#).unwrap_err();
        assert!(error.to_string().contains("32 bytes"), "{error}");
        assert!(
            error
                .to_string()
                .starts_with("the log-id key from secret s"),
            "{error}"
        );
    }
}
