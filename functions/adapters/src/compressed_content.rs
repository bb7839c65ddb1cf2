//! How a pending message's [`PendingContent`] (its recipient and its draft) is stored: its
//! JSON, DEFLATE-compressed, as one binary attribute. It takes about three fifths of the map of
//! attributes it would be: a pending order-status message is under 0.9 KB (one write unit), where
//! with its laid-out bodies it was 4 to 7 KB. Content stored by earlier releases as a map of
//! attributes still reads.
//!
//! Used as `#[serde(default, with = "crate::compressed_content")]` on an
//! `Option<PendingContent>` field: `None` is stored as no value.

use serde::{Deserialize, Deserializer, Serializer};

use crate::items::PendingContent;

/// The most stored content may inflate to: far above any real draft (a few KB), far below what
/// could exhaust a function's memory if an item were tampered with. Content larger than this is
/// refused when it is written, so nothing is stored that would not read back.
const MAX_INFLATED_BYTES: usize = 256 * 1024;

/// How hard DEFLATE works (0 to 10): drafts are small, the best ratio costs microseconds.
const LEVEL: u8 = 9;

/// Writes `content` as the DEFLATE of its JSON, or no value for `None`.
pub(crate) fn serialize<S: Serializer>(
    content: &Option<PendingContent>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match content {
        None => serializer.serialize_none(),
        Some(content) => {
            let json = serde_json::to_vec(content).map_err(serde::ser::Error::custom)?;
            if json.len() > MAX_INFLATED_BYTES {
                return Err(serde::ser::Error::custom(format!(
                    "a message's content of {} bytes is over the {MAX_INFLATED_BYTES} kept",
                    json.len()
                )));
            }
            serializer.serialize_bytes(&miniz_oxide::deflate::compress_to_vec(&json, LEVEL))
        }
    }
}

/// Reads content written by [`serialize`], or the map of attributes earlier releases wrote.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<PendingContent>, D::Error> {
    match Option::<Stored>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Stored::Compressed(bytes)) => {
            inflate(&bytes).map(Some).map_err(serde::de::Error::custom)
        }
        Some(Stored::Plain(content)) => Ok(Some(*content)),
    }
}

/// Content as stored, in either form.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    /// DEFLATE of the JSON.
    Compressed(#[serde(with = "serde_bytes")] Vec<u8>),
    /// A map of attributes.
    Plain(Box<PendingContent>),
}

/// Why compressed content did not read.
#[derive(Debug, thiserror::Error)]
enum InflateError {
    /// The bytes are not DEFLATE, or inflate beyond [`MAX_INFLATED_BYTES`].
    #[error("the compressed content does not inflate: {0}")]
    Inflate(String),
    /// The inflated bytes are not a message's content.
    #[error("the compressed content is not a message's content: {0}")]
    Json(#[from] serde_json::Error),
}

fn inflate(bytes: &[u8]) -> Result<PendingContent, InflateError> {
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

    fn content() -> PendingContent {
        serde_json::from_value(serde_json::json!({
            "to": "emily.carter@example.com", "to_name": "Emily Carter", "language": "en",
            "draft": serde_json::to_value(a_draft()).unwrap()
        }))
        .unwrap()
    }

    /// An item holding `content` the way a message item does.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(default, skip_serializing_if = "Option::is_none", with = "super")]
        content: Option<PendingContent>,
    }

    fn stored(content: Option<PendingContent>) -> HashMap<String, AttributeValue> {
        serde_dynamo::to_item(Holder { content }).unwrap()
    }

    /// Content as earlier releases stored it: a map of attributes.
    #[derive(Serialize)]
    struct PlainHolder {
        content: PendingContent,
    }

    fn plain_item() -> HashMap<String, AttributeValue> {
        serde_dynamo::to_item(PlainHolder { content: content() }).unwrap()
    }

    #[test]
    fn pending_content_is_stored_as_one_compressed_binary_and_reads_back_the_same() {
        let item = stored(Some(content()));
        assert!(
            matches!(item.get("content"), Some(AttributeValue::B(_))),
            "{item:?}"
        );
        let read: Holder = serde_dynamo::from_item(item).unwrap();
        assert_eq!(read.content, Some(content()));
    }

    #[test]
    fn no_content_is_stored_as_no_attribute_and_reads_back_as_none() {
        let item = stored(None);
        assert!(item.is_empty(), "{item:?}");
        let read: Holder = serde_dynamo::from_item(item).unwrap();
        assert_eq!(read.content, None);
        let null: HashMap<String, AttributeValue> =
            [("content".to_owned(), AttributeValue::Null(true))].into();
        let read: Holder = serde_dynamo::from_item(null).unwrap();
        assert_eq!(read.content, None);
    }

    #[test]
    fn the_compressed_content_takes_under_two_thirds_of_the_map_earlier_releases_stored() {
        let compressed = crate::memory::item_size(&stored(Some(content())));
        let plain = crate::memory::item_size(&plain_item());
        assert!(
            compressed * 3 < plain * 2,
            "{compressed} bytes against {plain}"
        );
    }

    #[test]
    fn content_stored_as_a_map_by_an_earlier_release_still_reads() {
        let read: Holder = serde_dynamo::from_item(plain_item()).unwrap();
        assert_eq!(read.content, Some(content()));
    }

    #[test]
    fn content_too_large_to_read_back_is_refused_when_it_is_written() {
        let mut draft = serde_json::to_value(a_draft()).unwrap();
        draft["copy"]["paragraphs"] = serde_json::json!(["tea ".repeat(70_000)]);
        let mut large = content();
        large.draft = serde_json::from_value(draft).unwrap();
        let written = serde_dynamo::to_item::<_, HashMap<String, AttributeValue>>(Holder {
            content: Some(large),
        });
        assert!(written.is_err());
    }

    #[test]
    fn bytes_that_are_not_compressed_content_are_refused_with_an_error() {
        for bytes in [
            b"not deflate at all".to_vec(),
            miniz_oxide::deflate::compress_to_vec(b"{\"to\": 1}", 9),
        ] {
            let item: HashMap<String, AttributeValue> =
                [("content".to_owned(), AttributeValue::B(bytes.into()))].into();
            let read: Result<Holder, _> = serde_dynamo::from_item(item);
            assert!(read.is_err());
        }
    }
}
