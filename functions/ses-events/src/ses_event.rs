//! The SES sending event as it arrives: an EventBridge envelope (the configuration set's
//! EventBridge destination), an SNS notification (an SNS destination subscribed by SQS), or
//! the bare event record. Parsed once, naming the field at fault; anything else (an order
//! event sent to the wrong queue, an envelope from another source) is refused the same way.
//! A refusal names fields of [`SES_EVENT_FIELDS`] only and never repeats a value.

use std::collections::HashMap;

use aftercare_adapters::reference::{
    MessageReference, CUSTOMER_TAG, MESSAGE_TAG, REFERENCE_HEADER,
};
use aftercare_journey::contact::EmailAddress;
use aftercare_journey::event::{deserialize_at, parse_json, AcceptedYears, InvalidEvent};
use aftercare_journey::message::MessageKind;
use aftercare_journey::rejection::{join_path, KnownFields, Problem};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// What SES reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SesReport {
    /// SES accepted the message for sending.
    Send,
    /// The receiving server accepted it.
    Delivery,
    /// Delivery is delayed; SES keeps trying.
    DeliveryDelay,
    /// SES refused it (a virus).
    Reject,
    /// It bounced.
    Bounce {
        /// `Permanent`: never again. `Transient` and `Undetermined` are counted.
        permanent: bool,
        /// SES's subtype, one of [`BOUNCE_SUBTYPES`] (`Other` for any other word).
        subtype: String,
        /// The addresses that bounced (those that parse).
        recipients: Vec<EmailAddress>,
        /// SES's id for the bounce.
        feedback_id: String,
    },
    /// The recipient marked it as spam.
    Complaint {
        /// The addresses that complained (those that parse).
        recipients: Vec<EmailAddress>,
        /// SES's id for the complaint.
        feedback_id: String,
        /// What the mailbox provider called it, if it said.
        feedback_type: Option<String>,
    },
    /// It was opened.
    Open,
    /// A link in it was followed.
    Click {
        /// The link, as written in the message.
        link: String,
    },
    /// Anything else SES publishes (rendering failures, subscriptions): recorded nowhere.
    Other,
}

/// The EventBridge `source` of SES's events; an envelope from any other source is refused.
pub const SES_SOURCE: &str = "aws.ses";

/// The bounce subtypes SES documents. A subtype is kept on the journey and written into the
/// reasons decisions give, so any other word becomes `Other`: the words are ours.
pub const BOUNCE_SUBTYPES: [&str; 10] = [
    "Undetermined",
    "General",
    "NoEmail",
    "Suppressed",
    "OnAccountSuppressionList",
    "MailboxFull",
    "MessageTooLarge",
    "ContentRejected",
    "AttachmentRejected",
    "Other",
];

/// Every field name of an SES event and of the envelopes around it: the only names a
/// refusal's path may hold.
pub const SES_EVENT_FIELDS: KnownFields = &[
    "detail",
    "detail-type",
    "source",
    "Type",
    "Message",
    "eventType",
    "notificationType",
    "mail",
    "timestamp",
    "messageId",
    "headers",
    "name",
    "value",
    "tags",
    "bounce",
    "bounceType",
    "bounceSubType",
    "bouncedRecipients",
    "feedbackId",
    "complaint",
    "complainedRecipients",
    "complaintFeedbackType",
    "emailAddress",
    "delivery",
    "open",
    "click",
    "link",
    "deliveryDelay",
];

/// One SES event about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesEvent {
    /// What happened.
    pub report: SesReport,
    /// When it happened (the report's own time, or the send time if it has none).
    pub at: DateTime<Utc>,
    /// Which of our messages it is about; `None` for mail aftercare did not send.
    pub reference: Option<MessageReference>,
    /// The kind of that message, from its tag.
    pub kind: Option<MessageKind>,
    /// SES's message id.
    pub ses_message_id: String,
}

impl SesEvent {
    /// The event's type in SES's words (`Bounce`), or `Other` for a type aftercare does not
    /// read, for logs.
    pub fn type_name(&self) -> &str {
        match &self.report {
            SesReport::Send => "Send",
            SesReport::Delivery => "Delivery",
            SesReport::DeliveryDelay => "DeliveryDelay",
            SesReport::Reject => "Reject",
            SesReport::Bounce { .. } => "Bounce",
            SesReport::Complaint { .. } => "Complaint",
            SesReport::Open => "Open",
            SesReport::Click { .. } => "Click",
            SesReport::Other => "Other",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    #[serde(alias = "notificationType")]
    event_type: String,
    mail: Mail,
    bounce: Option<Bounce>,
    complaint: Option<Complaint>,
    delivery: Option<Stamped>,
    open: Option<Stamped>,
    click: Option<Click>,
    delivery_delay: Option<Stamped>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    timestamp: DateTime<Utc>,
    message_id: String,
    #[serde(default)]
    headers: Vec<Header>,
    #[serde(default)]
    tags: HashMap<String, Vec<String>>,
}

#[derive(Deserialize)]
struct Header {
    name: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    #[serde(default)]
    bounce_sub_type: String,
    bounced_recipients: Vec<Recipient>,
    timestamp: Option<DateTime<Utc>>,
    feedback_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    complained_recipients: Vec<Recipient>,
    timestamp: Option<DateTime<Utc>>,
    feedback_id: String,
    complaint_feedback_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
}

#[derive(Deserialize)]
struct Stamped {
    timestamp: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Click {
    timestamp: Option<DateTime<Utc>>,
    link: String,
}

/// Parses an SQS message body holding an SES event, in any of the three shapes.
pub fn parse_ses_event(body: &str, years: &AcceptedYears) -> Result<SesEvent, InvalidEvent> {
    let value = parse_json(body, "body")?;
    if !value.is_object() {
        return Err(InvalidEvent::new(
            "body",
            Problem::WrongType {
                expected: Some(aftercare_journey::rejection::Expected::Object),
            },
        ));
    }
    let (record, prefix) = if value.get("detail-type").is_some() {
        if let Some(source) = value.get("source") {
            if source.as_str() != Some(SES_SOURCE) {
                return Err(InvalidEvent::new("source", Problem::MustBe(SES_SOURCE)));
            }
        }
        let detail = value
            .get("detail")
            .cloned()
            .ok_or_else(|| InvalidEvent::new("detail", Problem::Missing))?;
        (detail, "detail")
    } else if value.get("Type").and_then(|t| t.as_str()) == Some("Notification") {
        let message = match value.get("Message") {
            None => return Err(InvalidEvent::new("Message", Problem::Missing)),
            Some(message) => message.as_str().ok_or_else(|| {
                InvalidEvent::new(
                    "Message",
                    Problem::WrongType {
                        expected: Some(aftercare_journey::rejection::Expected::String),
                    },
                )
            })?,
        };
        (parse_json(message, "Message")?, "Message")
    } else {
        (value, "")
    };
    let record: Record = deserialize_at(record, prefix, SES_EVENT_FIELDS)?;
    check_timestamps(&record, years)
        .map_err(|e| InvalidEvent::new(join_path(prefix, &e.field), e.problem))?;
    let tag = |name: &str| {
        record
            .mail
            .tags
            .get(name)
            .and_then(|values| values.first())
            .map(String::as_str)
    };
    let header = record
        .mail
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(REFERENCE_HEADER))
        .map(|h| h.value.as_str());
    let reference = MessageReference::parse(tag(MESSAGE_TAG), tag(CUSTOMER_TAG), header);
    let kind = tag("kind").and_then(|k| MessageKind::parse(k).ok());
    let sent = record.mail.timestamp;
    let addresses = |recipients: &[Recipient]| {
        recipients
            .iter()
            .filter_map(|r| EmailAddress::parse(&r.email_address).ok())
            .collect::<Vec<_>>()
    };
    let missing = |what: &str, rule: &'static str| InvalidEvent::new(join_path(prefix, what), rule);
    let (report, at) = match record.event_type.as_str() {
        "Send" => (SesReport::Send, sent),
        "Delivery" => (
            SesReport::Delivery,
            record.delivery.and_then(|d| d.timestamp).unwrap_or(sent),
        ),
        "DeliveryDelay" => (
            SesReport::DeliveryDelay,
            record
                .delivery_delay
                .and_then(|d| d.timestamp)
                .unwrap_or(sent),
        ),
        "Reject" => (SesReport::Reject, sent),
        "Open" => (
            SesReport::Open,
            record.open.and_then(|o| o.timestamp).unwrap_or(sent),
        ),
        "Click" => {
            let click = record
                .click
                .ok_or_else(|| missing("click", "is required in a Click event"))?;
            (
                SesReport::Click { link: click.link },
                click.timestamp.unwrap_or(sent),
            )
        }
        "Bounce" => {
            let bounce = record
                .bounce
                .ok_or_else(|| missing("bounce", "is required in a Bounce event"))?;
            (
                SesReport::Bounce {
                    permanent: bounce.bounce_type == "Permanent",
                    subtype: known_subtype(&bounce.bounce_sub_type).to_owned(),
                    recipients: addresses(&bounce.bounced_recipients),
                    feedback_id: bounce.feedback_id,
                },
                bounce.timestamp.unwrap_or(sent),
            )
        }
        "Complaint" => {
            let complaint = record
                .complaint
                .ok_or_else(|| missing("complaint", "is required in a Complaint event"))?;
            (
                SesReport::Complaint {
                    recipients: addresses(&complaint.complained_recipients),
                    feedback_id: complaint.feedback_id,
                    feedback_type: complaint.complaint_feedback_type,
                },
                complaint.timestamp.unwrap_or(sent),
            )
        }
        _ => (SesReport::Other, sent),
    };
    Ok(SesEvent {
        report,
        at,
        reference,
        kind,
        ses_message_id: record.mail.message_id,
    })
}

/// Refuses a record with a timestamp outside `years`, naming it.
fn check_timestamps(record: &Record, years: &AcceptedYears) -> Result<(), InvalidEvent> {
    years.check("mail.timestamp", record.mail.timestamp)?;
    let stamps = [
        (
            "bounce.timestamp",
            record.bounce.as_ref().and_then(|b| b.timestamp),
        ),
        (
            "complaint.timestamp",
            record.complaint.as_ref().and_then(|c| c.timestamp),
        ),
        (
            "delivery.timestamp",
            record.delivery.as_ref().and_then(|d| d.timestamp),
        ),
        (
            "open.timestamp",
            record.open.as_ref().and_then(|o| o.timestamp),
        ),
        (
            "click.timestamp",
            record.click.as_ref().and_then(|c| c.timestamp),
        ),
        (
            "deliveryDelay.timestamp",
            record.delivery_delay.as_ref().and_then(|d| d.timestamp),
        ),
    ];
    for (field, stamp) in stamps {
        if let Some(stamp) = stamp {
            years.check(field, stamp)?;
        }
    }
    Ok(())
}

/// `subtype` if SES documents it, else `Other`.
fn known_subtype(subtype: &str) -> &'static str {
    BOUNCE_SUBTYPES
        .into_iter()
        .find(|known| *known == subtype)
        .unwrap_or("Other")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(event_type: &str, extra: serde_json::Value) -> serde_json::Value {
        let mut record = json!({
            "eventType": event_type,
            "mail": {
                "timestamp": "2026-11-06T18:05:00.000Z",
                "messageId": "0100-ses-1",
                "destination": ["anna@example.com"],
                "headers": [{"name": "X-Aftercare-Ref", "value": "Y3VzLTE.20261106T180500Z-0123456789abcdef0123456789abcdef"}],
                "tags": {"kind": ["review_request"], "message": ["20261106T180500Z-0123456789abcdef0123456789abcdef"], "customer": ["Y3VzLTE"], "ses:configuration-set": ["aftercare"]}
            }
        });
        for (k, v) in extra.as_object().unwrap() {
            record[k] = v.clone();
        }
        record
    }

    #[test]
    fn a_permanent_bounce_in_an_eventbridge_envelope_names_our_message() {
        let detail = record(
            "Bounce",
            json!({"bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": "anna@example.com"}],
                "timestamp": "2026-11-06T18:05:02.000Z", "feedbackId": "fb-1"}}),
        );
        let body = json!({"version": "0", "source": "aws.ses", "detail-type": "Email Bounced", "detail": detail});
        let event = parse_ses_event(&body.to_string(), &AcceptedYears::default()).unwrap();
        let reference = event.reference.unwrap();
        assert_eq!(reference.customer.as_str(), "cus-1");
        assert_eq!(event.kind, Some(MessageKind::ReviewRequest));
        assert_eq!(event.at.to_rfc3339(), "2026-11-06T18:05:02+00:00");
        assert!(matches!(
            event.report,
            SesReport::Bounce { permanent: true, ref recipients, .. } if recipients.len() == 1
        ));
    }

    #[test]
    fn an_sns_notification_and_a_bare_record_parse_the_same() {
        let detail = record(
            "Open",
            json!({"open": {"timestamp": "2026-11-07T08:00:00Z"}}),
        );
        let sns = json!({"Type": "Notification", "Message": detail.to_string()});
        let a = parse_ses_event(&sns.to_string(), &AcceptedYears::default()).unwrap();
        let b = parse_ses_event(&detail.to_string(), &AcceptedYears::default()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.report, SesReport::Open);
    }

    #[test]
    fn mail_we_did_not_send_has_no_reference() {
        let mut detail = record("Delivery", json!({}));
        detail["mail"]["tags"] = json!({});
        detail["mail"]["headers"] = json!([]);
        let event = parse_ses_event(&detail.to_string(), &AcceptedYears::default()).unwrap();
        assert_eq!(event.reference, None);
    }

    #[test]
    fn bad_input_names_the_field_at_fault() {
        let error = parse_ses_event("{", &AcceptedYears::default()).unwrap_err();
        assert_eq!(error.field, "body");
        let no_mail = json!({"detail-type": "Email Bounced", "detail": {"eventType": "Bounce"}});
        let error = parse_ses_event(&no_mail.to_string(), &AcceptedYears::default()).unwrap_err();
        assert_eq!(error.field, "detail.mail", "{error:?}");
        assert_eq!(error.problem, Problem::Missing, "{error:?}");
        let bad_address = record("Open", json!({"open": "x\"anna@example.com\"x"}));
        let error =
            parse_ses_event(&bad_address.to_string(), &AcceptedYears::default()).unwrap_err();
        assert_eq!(error.to_string(), "field `open` must be an object");
        let no_bounce =
            json!({"detail-type": "Email Bounced", "detail": record("Bounce", json!({}))});
        let error = parse_ses_event(&no_bounce.to_string(), &AcceptedYears::default()).unwrap_err();
        assert_eq!(error.field, "detail.bounce");
        let bad_time = record(
            "Click",
            json!({"click": {"link": "https://x", "timestamp": "yesterday"}}),
        );
        let error = parse_ses_event(&bad_time.to_string(), &AcceptedYears::default()).unwrap_err();
        assert_eq!(error.field, "click.timestamp", "{error:?}");
    }

    #[test]
    fn a_foreign_record_is_refused_by_field_without_repeating_it() {
        let order = json!({"event_id": "e", "order_id": "o", "status": "placed",
            "customer": {"email": "anna@example.com"}});
        assert_eq!(
            parse_ses_event(&order.to_string(), &AcceptedYears::default())
                .unwrap_err()
                .to_string(),
            "field `eventType` is required"
        );
        let scheduled =
            json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        assert_eq!(
            parse_ses_event(&scheduled.to_string(), &AcceptedYears::default())
                .unwrap_err()
                .to_string(),
            "field `source` must be \"aws.ses\""
        );
        let mut tagged = record("Open", json!({}));
        tagged["mail"]["tags"] = json!({"anna@example.com": "not a list"});
        let error = parse_ses_event(&tagged.to_string(), &AcceptedYears::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "field `mail.tags.<key>` must be an array"
        );
        let sns = json!({"Type": "Notification", "Message": "{\"anna@example.com"});
        let error = parse_ses_event(&sns.to_string(), &AcceptedYears::default()).unwrap_err();
        assert_eq!(error.field, "Message");
        assert!(!error.to_string().contains("anna"), "{error}");
    }

    #[test]
    fn an_unknown_event_type_or_bounce_subtype_is_kept_in_our_words() {
        let event = parse_ses_event(
            &record("anna@example.com", json!({})).to_string(),
            &AcceptedYears::default(),
        )
        .unwrap();
        assert_eq!(event.report, SesReport::Other);
        assert_eq!(event.type_name(), "Other");
        let bounce = record(
            "Bounce",
            json!({"bounce": {"bounceType": "Permanent", "bounceSubType": "anna@example.com",
                "bouncedRecipients": [], "feedbackId": "fb-1"}}),
        );
        let event = parse_ses_event(&bounce.to_string(), &AcceptedYears::default()).unwrap();
        assert!(
            matches!(event.report, SesReport::Bounce { ref subtype, .. } if subtype == "Other")
        );
    }

    #[test]
    fn a_timestamp_outside_the_accepted_years_is_refused_with_its_field_named() {
        let mut ancient = record(
            "Bounce",
            json!({"bounce": {"bounceType": "Transient", "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": "anna@example.com"}],
                "timestamp": "-262143-01-01T00:00:00Z", "feedbackId": "f-1"}}),
        );
        let error = parse_ses_event(&ancient.to_string(), &AcceptedYears::default()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "field `bounce.timestamp` is outside the accepted years 2000 to 2100"
        );
        ancient["mail"]["timestamp"] = json!("1970-01-01T00:00:00Z");
        let wrapped =
            json!({"detail-type": "Email Bounced", "source": "aws.ses", "detail": ancient});
        let error = parse_ses_event(&wrapped.to_string(), &AcceptedYears::default()).unwrap_err();
        assert_eq!(error.field, "detail.mail.timestamp", "{error:?}");
        let wide = AcceptedYears::new(1970, 2100).unwrap();
        let mut old_mail = record("Delivery", json!({}));
        old_mail["mail"]["timestamp"] = json!("1970-01-01T00:00:00Z");
        assert!(parse_ses_event(&old_mail.to_string(), &wide).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn a_bounce_dated_anywhere_in_chronos_range_is_read_or_refused_naming_its_timestamp(
            sent in chrono::DateTime::<Utc>::MIN_UTC.timestamp()..=chrono::DateTime::<Utc>::MAX_UTC.timestamp(),
            bounced in chrono::DateTime::<Utc>::MIN_UTC.timestamp()..=chrono::DateTime::<Utc>::MAX_UTC.timestamp(),
        ) {
            let instant = |s: i64| DateTime::from_timestamp(s, 0).unwrap().to_rfc3339();
            let mut body = record(
                "Bounce",
                json!({"bounce": {"bounceType": "Transient", "bounceSubType": "General",
                    "bouncedRecipients": [{"emailAddress": "anna@example.com"}],
                    "timestamp": instant(bounced), "feedbackId": "f-1"}}),
            );
            body["mail"]["timestamp"] = json!(instant(sent));
            let years = AcceptedYears::default();
            match parse_ses_event(&body.to_string(), &years) {
                Ok(event) => proptest::prop_assert!(years.contains(event.at)),
                Err(refused) => proptest::prop_assert!(
                    ["mail.timestamp", "bounce.timestamp"].contains(&refused.field.as_str()),
                    "{refused}"
                ),
            }
        }
    }
}
