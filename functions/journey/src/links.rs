//! Signed one-click links: a review request carries five rating links (1–5) whose token says,
//! unforgeably, which customer, order and message kind they belong to and until when they work.
//!
//! A token is `v1.<key id>.<payload>.<mac>`: the payload (base64url) is
//! `customer \n order \n kind \n expiry`, and the mac is HMAC-SHA256 over `v1.<key id>.<payload>`
//! with the key named by the key id, so keys can be rotated: new links are signed with the
//! newest key while links signed with an older one keep working as long as it is kept.
//!
//! The same keys sign preferences links (`p1.<key id>.<payload>.<mac>`, the payload
//! `customer \n topic`), which the unsubscribe headers and footers of messages carry.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::Mac;

use crate::ids::{CustomerId, OrderId};
use crate::message::MessageKind;
use crate::profile::MailTopic;
use crate::signing::SigningKey;

/// What a valid token vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaims {
    /// The customer.
    pub customer: CustomerId,
    /// The order.
    pub order: OrderId,
    /// The kind of message the link was in.
    pub kind: MessageKind,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not of the token's shape, or its payload does not decode.
    #[error("the link is malformed")]
    Malformed,
    /// Signed with a key we do not have (never had, or retired).
    #[error("the link was signed with an unknown key")]
    UnknownKey,
    /// The signature does not match: forged or altered.
    #[error("the link's signature does not match")]
    BadSignature,
    /// Past its expiry.
    #[error("the link has expired")]
    Expired,
}

/// Signs a link for `claims` with `key`.
pub fn sign(key: &SigningKey, claims: &LinkClaims) -> String {
    let payload = format!(
        "{}\n{}\n{}\n{}",
        claims.customer,
        claims.order,
        claims.kind.as_str(),
        claims.expires_at.timestamp()
    );
    seal(key, RATING_VERSION, &payload)
}

/// Verifies a token against the keys kept (any of them may have signed it) at `now`. The
/// signature is compared in constant time, before anything in the payload is trusted.
pub fn verify(
    keys: &[SigningKey],
    token: &str,
    now: DateTime<Utc>,
) -> Result<LinkClaims, TokenError> {
    let payload = open(keys, RATING_VERSION, token)?;
    let fields: Vec<&str> = payload.split('\n').collect();
    let [customer, order, kind, expiry] = fields[..] else {
        return Err(TokenError::Malformed);
    };
    let expires_at = expiry
        .parse::<i64>()
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or(TokenError::Malformed)?;
    if now >= expires_at {
        return Err(TokenError::Expired);
    }
    Ok(LinkClaims {
        customer: CustomerId::parse(customer).map_err(|_| TokenError::Malformed)?,
        order: OrderId::parse(order).map_err(|_| TokenError::Malformed)?,
        kind: MessageKind::parse(kind).map_err(|_| TokenError::Malformed)?,
        expires_at,
    })
}

/// What a preferences link vouches for: whose preferences, and the topic of the message it
/// came in (the one a one-click unsubscribe switches off). Preference links do not expire: an
/// unsubscribe link must work for as long as the message can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreferenceClaims {
    /// The customer.
    pub customer: CustomerId,
    /// The topic of the message, if it has one.
    pub topic: Option<MailTopic>,
}

/// Signs a preferences link. Its tokens start `p1.`, so a rating token can never pass for one
/// (the version is part of what is signed).
pub fn sign_preferences(key: &SigningKey, claims: &PreferenceClaims) -> String {
    let topic = claims.topic.map(MailTopic::as_str).unwrap_or_default();
    seal(
        key,
        PREFERENCES_VERSION,
        &format!("{}\n{topic}", claims.customer),
    )
}

/// Verifies a preferences link against the keys kept.
pub fn verify_preferences(
    keys: &[SigningKey],
    token: &str,
) -> Result<PreferenceClaims, TokenError> {
    let payload = open(keys, PREFERENCES_VERSION, token)?;
    let Some((customer, topic)) = payload.split_once('\n') else {
        return Err(TokenError::Malformed);
    };
    Ok(PreferenceClaims {
        customer: CustomerId::parse(customer).map_err(|_| TokenError::Malformed)?,
        topic: match topic {
            "" => None,
            name => Some(MailTopic::parse(name).map_err(|_| TokenError::Malformed)?),
        },
    })
}

const RATING_VERSION: &str = "v1";
const PREFERENCES_VERSION: &str = "p1";

/// `<version>.<key id>.<payload>.<mac>`.
fn seal(key: &SigningKey, version: &str, payload: &str) -> String {
    let signed = format!("{version}.{}.{}", key.id, URL_SAFE_NO_PAD.encode(payload));
    let tag = URL_SAFE_NO_PAD.encode(key.mac(&signed).finalize().into_bytes());
    format!("{signed}.{tag}")
}

/// The payload of a token of `version`, once its signature checks out.
fn open(keys: &[SigningKey], version: &str, token: &str) -> Result<String, TokenError> {
    let mut parts = token.split('.');
    let (Some(got), Some(key_id), Some(payload), Some(tag), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(TokenError::Malformed);
    };
    if got != version {
        return Err(TokenError::Malformed);
    }
    let key = keys
        .iter()
        .find(|k| k.id == key_id)
        .ok_or(TokenError::UnknownKey)?;
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| TokenError::Malformed)?;
    key.mac(&format!("{version}.{key_id}.{payload}"))
        .verify_slice(&tag)
        .map_err(|_| TokenError::BadSignature)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed)?;
    String::from_utf8(payload).map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> SigningKey {
        SigningKey::new(id, vec![byte; 32]).unwrap()
    }

    fn claims() -> LinkClaims {
        LinkClaims {
            customer: CustomerId::parse("c-1").unwrap(),
            order: OrderId::parse("1042").unwrap(),
            kind: MessageKind::OrderDelivered,
            expires_at: "2026-12-20T00:00:00Z".parse().unwrap(),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-11-20T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_signed_link_verifies_to_its_claims() {
        let token = sign(&key("k1", 1), &claims());
        assert_eq!(verify(&[key("k1", 1)], &token, now()), Ok(claims()));
    }

    #[test]
    fn a_forged_signature_is_refused() {
        let token = sign(&key("k1", 2), &claims());
        assert_eq!(
            verify(&[key("k1", 1)], &token, now()),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_tampered_payload_for_another_customer_or_order_is_refused() {
        let token = sign(&key("k1", 1), &claims());
        let mut other = claims();
        other.customer = CustomerId::parse("c-2").unwrap();
        let other_payload = sign(&key("k1", 9), &other)
            .split('.')
            .nth(2)
            .unwrap()
            .to_owned();
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!("{}.{}.{}.{}", parts[0], parts[1], other_payload, parts[3]);
        assert_eq!(
            verify(&[key("k1", 1)], &tampered, now()),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn an_expired_link_is_refused() {
        let token = sign(&key("k1", 1), &claims());
        let later = "2026-12-20T00:00:00Z".parse().unwrap();
        assert_eq!(
            verify(&[key("k1", 1)], &token, later),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_wrong_key_id_is_refused_and_a_rotated_key_still_verifies() {
        let old = sign(&key("k1", 1), &claims());
        assert_eq!(
            verify(&[key("k2", 2)], &old, now()),
            Err(TokenError::UnknownKey)
        );
        // During rotation both keys are kept: old links still work, new ones use k2.
        let keys = [key("k2", 2), key("k1", 1)];
        assert!(verify(&keys, &old, now()).is_ok());
        assert!(verify(&keys, &sign(&keys[0], &claims()), now()).is_ok());
    }

    #[test]
    fn malformed_tokens_are_refused_without_panicking() {
        for token in [
            "",
            "v1",
            "v1.k1.x",
            "v2.k1.a.b",
            "v1.k1.%%%.b",
            "v1.k1.a.b.c",
        ] {
            assert!(verify(&[key("k1", 1)], token, now()).is_err(), "{token}");
        }
    }

    #[test]
    fn a_preferences_link_verifies_and_cannot_be_swapped_with_a_rating_link() {
        let offers = PreferenceClaims {
            customer: CustomerId::parse("c-1").unwrap(),
            topic: Some(MailTopic::Offers),
        };
        let token = sign_preferences(&key("k1", 1), &offers);
        assert!(token.starts_with("p1.k1."));
        assert_eq!(verify_preferences(&[key("k1", 1)], &token), Ok(offers));
        let page_only = PreferenceClaims {
            customer: CustomerId::parse("c-1").unwrap(),
            topic: None,
        };
        let token2 = sign_preferences(&key("k1", 1), &page_only);
        assert_eq!(verify_preferences(&[key("k1", 1)], &token2), Ok(page_only));
        let rating = sign(&key("k1", 1), &claims());
        assert_eq!(
            verify_preferences(&[key("k1", 1)], &rating),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            verify(&[key("k1", 1)], &token, now()),
            Err(TokenError::Malformed)
        );
        let relabelled = token.replacen("p1.", "v1.", 1);
        assert_eq!(
            verify(&[key("k1", 1)], &relabelled, now()),
            Err(TokenError::BadSignature),
            "the version is signed"
        );
        assert_eq!(
            verify_preferences(&[key("k1", 2)], &token),
            Err(TokenError::BadSignature)
        );
    }
}
