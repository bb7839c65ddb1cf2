//! How a pending message's [`Draft`] is stored: its JSON, DEFLATE-compressed, as one binary
//! attribute. The draft takes about three fifths of the map of attributes it would be, which keeps
//! a pending order-status message within one write unit (its laid-out bodies would take five). Drafts stored by
//! earlier releases as a map of attributes still read.
//!
//! Used as `#[serde(with = "crate::compressed_draft")]` on a `Draft` field.

use aftercare_journey::message::Draft;
use serde::{Deserialize, Deserializer, Serializer};

/// The most a stored draft may inflate to: far above any real draft (a few KB), far below what
/// could exhaust a function's memory if an item were tampered with.
const MAX_INFLATED_BYTES: usize = 256 * 1024;

/// How hard DEFLATE works (0 to 10): drafts are small, the best ratio costs microseconds.
const LEVEL: u8 = 9;

/// Writes `draft` as the DEFLATE of its JSON.
pub(crate) fn serialize<S: Serializer>(draft: &Draft, serializer: S) -> Result<S::Ok, S::Error> {
    let json = serde_json::to_vec(draft).map_err(serde::ser::Error::custom)?;
    serializer.serialize_bytes(&miniz_oxide::deflate::compress_to_vec(&json, LEVEL))
}

/// Reads a draft written by [`serialize`], or the map of attributes earlier releases wrote.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Draft, D::Error> {
    match Stored::deserialize(deserializer)? {
        Stored::Compressed(bytes) => inflate(&bytes).map_err(serde::de::Error::custom),
        Stored::Plain(draft) => Ok(*draft),
    }
}

/// A draft as stored, in either form.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    /// DEFLATE of the JSON.
    Compressed(#[serde(with = "serde_bytes")] Vec<u8>),
    /// A map of attributes.
    Plain(Box<Draft>),
}

/// Why a compressed draft did not read.
#[derive(Debug, thiserror::Error)]
enum InflateError {
    /// The bytes are not DEFLATE, or inflate beyond [`MAX_INFLATED_BYTES`].
    #[error("the compressed draft does not inflate: {0}")]
    Inflate(String),
    /// The inflated bytes are not a draft.
    #[error("the compressed draft is not a draft: {0}")]
    Json(#[from] serde_json::Error),
}

fn inflate(bytes: &[u8]) -> Result<Draft, InflateError> {
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(bytes, MAX_INFLATED_BYTES)
        .map_err(|e| InflateError::Inflate(format!("{:?}", e.status)))?;
    Ok(serde_json::from_slice(&json)?)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aftercare_journey::message::Draft;
    use aws_sdk_dynamodb::types::AttributeValue;
    use serde::{Deserialize, Serialize};

    use crate::items::PendingContent;

    /// The draft of a `shipped` email, as the domain writes it.
    fn a_draft() -> Draft {
        serde_json::from_str(DRAFT).unwrap()
    }

    const DRAFT: &str = r#"{"copy": {"subject": "Order B-1 is on its way", "preheader": "Expected Monday, 26 October 2026.", "greeting": "Hi Emily,", "paragraphs": ["Order B-1 has left us and is travelling with UPS. It should reach you on Monday, 26 October 2026."], "facts": [{"label": "Order", "value": "B-1"}, {"label": "Contents", "value": "3 items, $43.00"}, {"label": "Carrier", "value": "UPS"}, {"label": "Expected delivery", "value": "Monday, 26 October 2026"}], "items": [{"name": "Assam Breakfast Tea, 250 g", "quantity": 2, "price": "$25.00"}, {"name": "Stoneware Mug", "quantity": 1, "price": "$18.00"}], "action": {"label": "Track your parcel", "url": "https://tracking.example/ups/1Z999AA10123456784"}, "choices": [], "support": {"text": "Questions, or something not right? Just reply to this email: a person at Leaf & Kettle reads every reply. You can also write to help@leafandkettle.example.", "email": "help@leafandkettle.example", "url": "https://leafandkettle.example/help", "url_label": "Help centre"}, "preferences": {"label": "Choose which emails you get", "url": "https://leafandkettle.example/unsubscribe?token=p1.twin-1.Y3VzLWQKb3JkZXJfdXBkYXRlcw.2d8sKWylQxvA80xcmJZ_OMvMNEkcadqEc1MWjw088iM"}, "footer": "You receive this email because you ordered from Leaf & Kettle. Updates about your orders are part of the purchase and are always sent."}, "shop": "Leaf & Kettle"}"#;

    fn content(draft: Draft) -> PendingContent {
        serde_json::from_value(serde_json::json!({
            "to": "emily.carter@example.com", "to_name": "Emily Carter", "language": "en",
            "draft": serde_json::to_value(&draft).unwrap()
        }))
        .unwrap()
    }

    fn stored(content: &PendingContent) -> HashMap<String, AttributeValue> {
        serde_dynamo::to_item(content).unwrap()
    }

    #[test]
    fn a_pending_messages_draft_is_stored_as_one_compressed_binary_and_reads_back_the_same() {
        let content = content(a_draft());
        let item = stored(&content);
        assert!(
            matches!(item.get("draft"), Some(AttributeValue::B(_))),
            "{item:?}"
        );
        let read: PendingContent = serde_dynamo::from_item(item).unwrap();
        assert_eq!(read, content);
    }

    /// A draft as earlier releases stored it: a map of attributes.
    #[derive(Serialize, Deserialize)]
    struct PlainContent {
        to: String,
        language: String,
        draft: Draft,
    }

    fn plain_item(draft: Draft) -> HashMap<String, AttributeValue> {
        serde_dynamo::to_item(PlainContent {
            to: "emily.carter@example.com".into(),
            language: "en".into(),
            draft,
        })
        .unwrap()
    }

    #[test]
    fn the_compressed_draft_takes_under_two_thirds_of_the_map_earlier_releases_stored() {
        let compressed = crate::memory::item_size(&stored(&content(a_draft())));
        let plain = crate::memory::item_size(&plain_item(a_draft()));
        assert!(
            compressed * 3 < plain * 2,
            "{compressed} bytes against {plain}"
        );
    }

    #[test]
    fn a_draft_stored_as_a_map_by_an_earlier_release_still_reads() {
        let read: PendingContent = serde_dynamo::from_item(plain_item(a_draft())).unwrap();
        assert_eq!(read.draft, a_draft());
    }

    #[test]
    fn bytes_that_are_not_a_compressed_draft_are_refused_with_an_error() {
        for bytes in [
            b"not deflate at all".to_vec(),
            miniz_oxide::deflate::compress_to_vec(b"{\"copy\": 1}", 9),
        ] {
            let mut item = stored(&content(a_draft()));
            item.insert("draft".into(), AttributeValue::B(bytes.into()));
            let read: Result<PendingContent, _> = serde_dynamo::from_item(item);
            assert!(read.is_err());
        }
    }
}
