//! The bodies of aftercare's fuzz targets, as plain functions of bytes.
//!
//! `fuzz/` (cargo-fuzz, outside the workspace) runs each under libFuzzer (`make fuzz`); the
//! tests of this crate run each over every input of its corpus in `fuzz/corpus/<target>/`, so
//! an input that once crashed a target stays in the corpus and in `make test`. A target fails
//! by panicking: on a panic of the code under test, or when a property it checks does not hold.
//!
//! | target | what it feeds |
//! |---|---|
//! | `order_event` | an SQS body to the order-event parser |
//! | `ses_event` | an SQS body to the SES event parser |
//! | `issue_resolved` | any JSON to the `IssueResolved` reader |
//! | `link_token` | a token to both link verifiers; claims to sign and verify back |
//! | `feedback_request` | an HTTP API request (method, path, query, body, headers, a token) to the feedback function |
//! | `render_mime` | a customer (name, locale, zone), items and a shop name to rendering and MIME, read back |

#![warn(missing_docs)]

mod feedback_request;
mod render_mime;

pub use feedback_request::feedback_request;
pub use render_mime::render_mime;

use aftercare_journey::ids::{CustomerId, OrderId};
use aftercare_journey::links::{
    sign, sign_preferences, verify, verify_preferences, LinkClaims, PreferenceClaims,
};
use aftercare_journey::message::MessageKind;
use aftercare_journey::profile::MailTopic;
use aftercare_journey::signing::SigningKey;
use arbitrary::{Arbitrary, Unstructured};
use chrono::{DateTime, Utc};

/// A target: bytes in, a panic when something is wrong.
pub type Target = fn(&[u8]);

/// Every target, by the name cargo-fuzz knows it by.
pub const TARGETS: [(&str, Target); 6] = [
    ("order_event", order_event),
    ("ses_event", ses_event),
    ("issue_resolved", issue_resolved),
    ("link_token", link_token),
    ("feedback_request", feedback_request),
    ("render_mime", render_mime),
];

/// An order event's SQS body (EventBridge envelope or bare detail) to the parser: it answers
/// an event or a refusal naming a field of the schema, and never panics.
pub fn order_event(data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(refused) = aftercare_journey::event::parse_order_event(
        body,
        &aftercare_journey::event::AcceptedYears::default(),
    ) {
        assert_known_path(&refused.field, aftercare_journey::event::ORDER_EVENT_FIELDS);
    }
}

/// An SES event's SQS body to the parser.
pub fn ses_event(data: &[u8]) {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(refused) =
        ses_events::parse_ses_event(body, &aftercare_journey::event::AcceptedYears::default())
    {
        assert_known_path(&refused.field, ses_events::ses_event::SES_EVENT_FIELDS);
    }
}

/// Any JSON to the `IssueResolved` reader, as helpdesk-events receives it, and to the detail's
/// own reader.
pub fn issue_resolved(data: &[u8]) {
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let known = aftercare_journey::answers::ISSUE_RESOLVED_FIELDS;
    if let Err(refused) = aftercare_journey::answers::parse_issue_resolved_event(
        &event,
        &aftercare_journey::event::AcceptedYears::default(),
    ) {
        assert_known_path(&refused.field, known);
    }
    if let Err(refused) = aftercare_journey::answers::parse_issue_resolved(
        &event,
        &aftercare_journey::event::AcceptedYears::default(),
    ) {
        assert_known_path(&refused.field, known);
    }
}

/// A refusal's field is a path of `known` names (or `body`, or the placeholder of a key the
/// sender chose) and array indices: nothing the input wrote.
fn assert_known_path(field: &str, known: &[&str]) {
    assert!(!field.is_empty(), "a refusal names its field");
    for part in field.split('.') {
        let name = part.split('[').next().unwrap_or_default();
        let indices = &part[name.len()..];
        assert!(
            name == "body"
                || name == aftercare_journey::rejection::UNKNOWN_KEY
                || (name.is_empty() && !indices.is_empty())
                || known.contains(&name),
            "{field}: {name:?} is not a field name of the schema"
        );
        assert!(
            indices.split_terminator(']').all(|index| index
                .strip_prefix('[')
                .is_some_and(|n| n.parse::<usize>().is_ok())),
            "{field}: {indices:?} is not a run of array indices"
        );
    }
}

/// The key the targets sign with.
pub fn fuzz_key() -> SigningKey {
    SigningKey::new("fuzz-1", b"fuzzing-only-key-fuzzing-only-key".to_vec())
        .unwrap_or_else(|e| panic!("the fuzz key: {e}"))
}

/// When the targets verify.
pub fn fuzz_now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default()
}

/// Claims drawn from fuzz input.
#[derive(Debug, Arbitrary)]
struct Claims {
    customer: String,
    order: String,
    kind: u8,
    expires_in: i32,
    topic: u8,
}

/// A token to both verifiers (nothing but a refusal or claims, never a panic); then claims
/// from the same bytes signed and verified back: a token says exactly what was signed.
pub fn link_token(data: &[u8]) {
    let keys = [fuzz_key()];
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = verify(&keys, token, fuzz_now());
        let _ = verify_preferences(&keys, token);
    }
    let Ok(claims) = Claims::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    let (Ok(customer), Ok(order)) = (
        CustomerId::parse(claims.customer),
        OrderId::parse(claims.order),
    ) else {
        return;
    };
    let kind = MessageKind::ALL[usize::from(claims.kind) % MessageKind::ALL.len()];
    let expires_at = fuzz_now() + chrono::Duration::seconds(i64::from(claims.expires_in));
    let rating = LinkClaims {
        customer: customer.clone(),
        order,
        kind,
        expires_at: DateTime::from_timestamp(expires_at.timestamp(), 0).unwrap_or_default(),
    };
    let token = sign(&keys[0], &rating);
    match verify(&keys, &token, fuzz_now()) {
        Ok(verified) => assert_eq!(verified, rating, "a rating token says what was signed"),
        Err(error) => assert!(
            rating.expires_at <= fuzz_now(),
            "a fresh token was refused: {error}"
        ),
    }
    let topic = MailTopic::ALL
        .get(usize::from(claims.topic) % (MailTopic::ALL.len() + 1))
        .copied();
    let preferences = PreferenceClaims { customer, topic };
    let token = sign_preferences(&keys[0], &preferences);
    assert_eq!(
        verify_preferences(&keys, &token).ok(),
        Some(preferences),
        "a preferences token says what was signed"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs every target over its seeds (`fuzz/corpus/<target>/seed-*`) and over every input
    /// that once crashed it (`fuzz/regressions/<target>/`): what the repository holds, not
    /// what a local fuzzing run grew.
    #[test]
    fn every_target_runs_clean_over_its_corpus() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
        for (name, target) in TARGETS {
            let mut inputs = 0;
            for folder in ["corpus", "regressions"] {
                let dir = root.join(folder).join(name);
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    assert!(folder != "corpus", "{} is missing", dir.display());
                    continue;
                };
                for entry in entries {
                    let path = entry.unwrap().path();
                    let name = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default();
                    if folder == "corpus" && !name.starts_with("seed-") {
                        continue;
                    }
                    // A fuzzer running meanwhile may have replaced an input by a smaller one.
                    let Ok(data) = std::fs::read(&path) else {
                        continue;
                    };
                    let outcome = std::panic::catch_unwind(|| target(&data));
                    assert!(outcome.is_ok(), "{name} panicked on {}", path.display());
                    inputs += 1;
                }
            }
            assert!(inputs > 0, "the corpus of {name} is empty");
        }
    }
}
