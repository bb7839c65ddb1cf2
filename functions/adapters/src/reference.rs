//! How an SES event finds the message it is about: every message we send carries a
//! [`MessageReference`] (as message tags, and as a header for ids too long for a tag), and SES
//! returns both in every event it publishes.

use aftercare_journey::ids::CustomerId;
use aftercare_journey::message::{MessageId, OutgoingMessage};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// The message tag naming our message: `<decided at>-<message id>`.
pub const MESSAGE_TAG: &str = "message";
/// The message tag naming the customer, base64url-encoded (when it fits in a tag).
pub const CUSTOMER_TAG: &str = "customer";
/// The header carrying the same reference as the tags, for ids too long for a tag:
/// `<base64url customer id>.<decided at>-<message id>`.
pub const REFERENCE_HEADER: &str = "X-Aftercare-Ref";

/// Which of our messages an SES event is about: enough to find its outbox entry (the customer's
/// partition and the message's sort key) without a lookup. It rides on every message we send,
/// as tags and as a header, and comes back in every SES event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageReference {
    /// The customer.
    pub customer: CustomerId,
    /// When the message was decided, as in its sort key (`20261023T101500Z`).
    pub decided: String,
    /// The message.
    pub message_id: MessageId,
}

impl MessageReference {
    /// The reference of `message`.
    pub fn of(message: &OutgoingMessage) -> Self {
        Self {
            customer: message.customer_id.clone(),
            decided: Self::decided_text(message.decided_at),
            message_id: message.id.clone(),
        }
    }

    /// How a reference (and a message's sort key) writes the instant a message was decided:
    /// `20261023T101500Z`.
    pub fn decided_text(decided_at: chrono::DateTime<chrono::Utc>) -> String {
        decided_at.format("%Y%m%dT%H%M%SZ").to_string()
    }

    /// The value of [`MESSAGE_TAG`].
    pub fn message_tag(&self) -> String {
        format!("{}-{}", self.decided, self.message_id)
    }

    /// The value of [`CUSTOMER_TAG`], unless the encoded id is longer than a tag allows.
    pub fn customer_tag(&self) -> Option<String> {
        let encoded = URL_SAFE_NO_PAD.encode(self.customer.as_str());
        (encoded.len() <= 256).then_some(encoded)
    }

    /// The value of [`REFERENCE_HEADER`].
    pub fn header_value(&self) -> String {
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(self.customer.as_str()),
            self.message_tag()
        )
    }

    /// Reads a reference from the tags' values, falling back to the header's value. `None` if
    /// neither names one of our messages.
    pub fn parse(
        message_tag: Option<&str>,
        customer_tag: Option<&str>,
        header: Option<&str>,
    ) -> Option<Self> {
        let (customer, message) = match (customer_tag, message_tag) {
            (Some(customer), Some(message)) => (customer, message),
            _ => header?.trim().split_once('.')?,
        };
        let customer = String::from_utf8(URL_SAFE_NO_PAD.decode(customer).ok()?).ok()?;
        let (decided, id) = message.split_once('-')?;
        let well_formed = decided.len() == 16
            && decided
                .chars()
                .all(|c| c.is_ascii_digit() || c == 'T' || c == 'Z')
            && id.len() == 32
            && id.chars().all(|c| c.is_ascii_hexdigit());
        if !well_formed {
            return None;
        }
        Some(Self {
            customer: CustomerId::parse(customer).ok()?,
            decided: decided.to_owned(),
            message_id: MessageId::from_hex(id)?,
        })
    }

    /// The sort key of the message's outbox entry.
    pub fn sort_key(&self) -> String {
        format!("MSG#{}#{}", self.decided, self.message_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(customer: &str) -> MessageReference {
        MessageReference {
            customer: CustomerId::parse(customer).unwrap(),
            decided: "20261023T101500Z".into(),
            message_id: MessageId::from_hex("0123456789abcdef0123456789abcdef").unwrap(),
        }
    }

    #[test]
    fn a_reference_round_trips_through_the_tags_and_through_the_header() {
        let r = reference("c-1/ä");
        let tag = r.message_tag();
        let customer = r.customer_tag().unwrap();
        assert!(customer
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(
            MessageReference::parse(Some(&tag), Some(&customer), None),
            Some(r.clone())
        );
        assert_eq!(
            MessageReference::parse(None, None, Some(&r.header_value())),
            Some(r.clone())
        );
        assert_eq!(
            r.sort_key(),
            "MSG#20261023T101500Z#0123456789abcdef0123456789abcdef"
        );
    }

    #[test]
    fn a_customer_id_too_long_for_a_tag_travels_in_the_header_only() {
        let r = reference(&"ж".repeat(128));
        assert_eq!(r.customer_tag(), None);
        assert_eq!(
            MessageReference::parse(Some(&r.message_tag()), None, Some(&r.header_value())),
            Some(r)
        );
    }

    #[test]
    fn foreign_or_garbled_references_are_not_ours() {
        for (message, customer, header) in [
            (None, None, None),
            (Some("x"), Some("YQ"), None),
            (Some("20261023T101500Z-zz"), Some("YQ"), None),
            (None, None, Some("no-dot")),
            (
                Some("20261023T101500Z-0123456789abcdef0123456789abcdef"),
                Some("%%%"),
                None,
            ),
        ] {
            assert_eq!(MessageReference::parse(message, customer, header), None);
        }
    }
}
