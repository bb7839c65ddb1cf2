//! The order event contract: what the shop's order system sends, and how a message body becomes
//! an [`OrderEvent`] or an [`InvalidEvent`] naming the field at fault.
//!
//! A body is either an EventBridge event whose `detail-type` is [`DETAIL_TYPE`] and whose
//! `detail` is the order event, or the order event itself (for shops that write straight to the
//! SQS queue). The JSON Schema of the detail is `infra/order-event.schema.json`.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::{CustomerTimeZone, EmailAddress, Locale};
use crate::ids::{CustomerId, EventId, OrderId, Sku};
use crate::money::{Amount, Money};
use crate::rejection::{field_path, join_path, KnownFields, Problem};
use crate::status::OrderStatus;
use crate::text::Text;

/// The EventBridge `detail-type` of order events.
pub const DETAIL_TYPE: &str = "Order Status Changed";

/// The largest message body accepted, in bytes. Real order events are a few kilobytes; anything
/// near this is a mistake upstream and goes to the dead-letter queue instead of into a journey.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The most line items an event may carry.
pub const MAX_ITEMS: usize = 100;

/// Every field name of an order event and of the EventBridge envelope around it, as written
/// on the wire: the only names a refusal's path may hold (see [`crate::rejection`]).
pub const ORDER_EVENT_FIELDS: KnownFields = &[
    "detail-type",
    "detail",
    "event_id",
    "order_id",
    "status",
    "occurred_at",
    "customer",
    "id",
    "email",
    "name",
    "locale",
    "time_zone",
    "marketing_consent",
    "items",
    "sku",
    "category",
    "quantity",
    "unit_price",
    "replenish_every_days",
    "total",
    "amount",
    "currency",
    "delivery",
    "eta",
    "carrier",
    "tracking_url",
    "delay",
    "reason",
    "new_eta",
    "cancellation",
    "refund",
];

/// One change of an order's status, validated: every field of it is usable as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEvent {
    /// The idempotency key: redeliveries carry the same id.
    pub event_id: EventId,
    /// The order this event is about.
    pub order_id: OrderId,
    /// The status the order has now.
    pub status: OrderStatus,
    /// When it happened at the shop. This is the decision's `now`.
    pub occurred_at: DateTime<Utc>,
    /// Who ordered.
    pub customer: CustomerDetails,
    /// What was ordered. May be left out on events after `placed`; what we know is kept.
    #[serde(default)]
    pub items: Vec<LineItem>,
    /// The order total. Required when items carry unit prices (it gives their currency).
    #[serde(default)]
    pub total: Option<Money>,
    /// Delivery details: required (with `carrier`) when the status is `shipped`.
    #[serde(default)]
    pub delivery: Option<Delivery>,
    /// Why the order is late and the new date: required when the status is `delayed`.
    #[serde(default)]
    pub delay: Option<Delay>,
    /// Why the order was cancelled and what is refunded, when the status is `cancelled`.
    #[serde(default)]
    pub cancellation: Option<Cancellation>,
}

/// The customer, as the shop knows them at the time of the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerDetails {
    /// The shop's customer id.
    pub id: CustomerId,
    /// Where messages go.
    pub email: EmailAddress,
    /// How to address them; messages fall back to a neutral greeting without it.
    #[serde(default)]
    pub name: Option<Text>,
    /// Their locale; decides the language of messages.
    pub locale: Locale,
    /// Their IANA time zone; decides every local date and hour.
    pub time_zone: CustomerTimeZone,
    /// Whether they agreed to marketing messages, when the shop knows.
    #[serde(default)]
    pub marketing_consent: Option<bool>,
}

/// A line of the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    /// The product.
    pub sku: Sku,
    /// Its name as the customer saw it.
    pub name: Text,
    /// The shop's category, used for repurchase defaults and personalisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Text>,
    /// How many.
    pub quantity: Quantity,
    /// Price of one, in the order's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Amount>,
    /// For consumables: how many days one unit lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replenish_every_days: Option<ReplenishDays>,
}

/// Why a number is out of its allowed range. It names the range, never the number given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be between {min} and {max}")]
pub struct RangeError {
    min: u32,
    max: u32,
}

macro_rules! bounded_count {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "u32", into = "u32")]
        pub struct $name(u32);

        impl $name {
            /// Checks the range.
            pub fn new(value: u32) -> Result<Self, RangeError> {
                if ($min..=$max).contains(&value) {
                    Ok(Self(value))
                } else {
                    Err(RangeError { min: $min, max: $max })
                }
            }

            /// The count.
            pub fn get(self) -> u32 {
                self.0
            }
        }

        impl TryFrom<u32> for $name {
            type Error = RangeError;
            fn try_from(value: u32) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for u32 {
            fn from(value: $name) -> u32 {
                value.0
            }
        }
    };
}

bounded_count!(
    /// A quantity of one line: 1 to 10,000.
    Quantity,
    1,
    10_000
);
bounded_count!(
    /// How many days one unit of a consumable lasts: 1 to 3,650.
    ReplenishDays,
    1,
    3_650
);

/// Why a string is not a link we put in front of a customer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebLinkError {
    /// Not a URL.
    #[error("is not an absolute URL")]
    NotUrl,
    /// A scheme other than http or https (`javascript:`, `data:`...).
    #[error("must be an http or https URL")]
    Scheme,
    /// Longer than 2,000 characters.
    #[error("is too long (at most 2000 characters)")]
    TooLong,
}

/// An absolute `http` or `https` URL of at most 2,000 characters: safe to put behind a button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebLink(String);

impl WebLink {
    /// Parses a link.
    pub fn parse(value: &str) -> Result<Self, WebLinkError> {
        if value.len() > 2_000 {
            return Err(WebLinkError::TooLong);
        }
        let url = url::Url::parse(value).map_err(|_| WebLinkError::NotUrl)?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(WebLinkError::Scheme);
        }
        Ok(Self(url.into()))
    }
    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for WebLink {
    type Error = WebLinkError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<WebLink> for String {
    fn from(value: WebLink) -> String {
        value.0
    }
}

/// How the order travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The expected delivery date, in the customer's calendar.
    #[serde(default)]
    pub eta: Option<NaiveDate>,
    /// Who carries it.
    #[serde(default)]
    pub carrier: Option<Text>,
    /// Where the customer can follow it.
    #[serde(default)]
    pub tracking_url: Option<WebLink>,
}

/// Why the order is late, and when it will come instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delay {
    /// The reason, in words the customer will read.
    pub reason: Text,
    /// The new expected delivery date.
    pub new_eta: NaiveDate,
}

/// Why the order was cancelled, and what happens to the money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancellation {
    /// The reason, in words the customer will read.
    #[serde(default)]
    pub reason: Option<Text>,
    /// The amount refunded to the original payment method, when already known.
    #[serde(default)]
    pub refund: Option<Money>,
}

/// A message body that is not a valid order event (or SES event, or `IssueResolved`: every
/// parser of what senders send refuses with it). `field` is the JSON path of the offending
/// value in our schema (`detail.customer.email`, `items[2].quantity`), or `body` when the whole
/// body is at fault; `problem` is what is wrong with it, in our words. Neither holds anything a
/// sender wrote (see [`crate::rejection`]): a refusal is safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}` {problem}")]
pub struct InvalidEvent {
    /// Where the problem is: a path of known field names and array indices.
    pub field: String,
    /// What is wrong with it.
    pub problem: Problem,
}

impl InvalidEvent {
    /// A refusal of the field at `field` (a path in our schema, never text from the input).
    pub fn new(field: impl Into<String>, problem: impl Into<Problem>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// The calendar years an event's dates may fall in: 2000 to 2100 unless the shop configures
/// another span. A date outside is a mistake upstream (a zero date, a sample event, a unit
/// error) and is refused at parsing with its field named, so no rule ever plans from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptedYears {
    first: i32,
    last: i32,
}

/// Why a span of years cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be two years `FIRST-LAST` with FIRST <= LAST, both between 1900 and 2999")]
pub struct AcceptedYearsError;

impl Default for AcceptedYears {
    /// 2000 to 2100.
    fn default() -> Self {
        Self {
            first: 2000,
            last: 2100,
        }
    }
}

impl AcceptedYears {
    /// The years `first` to `last`, both included; both must lie in 1900..=2999, so that every
    /// date a rule derives from an accepted one still has four digits.
    pub fn new(first: i32, last: i32) -> Result<Self, AcceptedYearsError> {
        let sane = 1900..=2999;
        if sane.contains(&first) && sane.contains(&last) && first <= last {
            Ok(Self { first, last })
        } else {
            Err(AcceptedYearsError)
        }
    }

    /// Parses `FIRST-LAST`, e.g. `2000-2100`.
    pub fn parse(value: &str) -> Result<Self, AcceptedYearsError> {
        let (first, last) = value.trim().split_once('-').ok_or(AcceptedYearsError)?;
        let year = |s: &str| s.trim().parse::<i32>().map_err(|_| AcceptedYearsError);
        Self::new(year(first)?, year(last)?)
    }

    /// The first year accepted.
    pub fn first(&self) -> i32 {
        self.first
    }

    /// The last year accepted.
    pub fn last(&self) -> i32 {
        self.last
    }

    /// Whether `date` falls in the accepted years.
    pub fn contains_date(&self, date: NaiveDate) -> bool {
        (self.first..=self.last).contains(&date.year())
    }

    /// Whether `instant` falls in the accepted years (read in UTC).
    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        self.contains_date(instant.date_naive())
    }

    /// `Ok` if `instant` is accepted, else the problem for the field `field`.
    pub fn check(&self, field: &str, instant: DateTime<Utc>) -> Result<(), InvalidEvent> {
        if self.contains(instant) {
            Ok(())
        } else {
            Err(self.refusal(field))
        }
    }

    /// `Ok` if `date` is accepted, else the problem for the field `field`.
    pub fn check_date(&self, field: &str, date: NaiveDate) -> Result<(), InvalidEvent> {
        if self.contains_date(date) {
            Ok(())
        } else {
            Err(self.refusal(field))
        }
    }

    fn refusal(&self, field: &str) -> InvalidEvent {
        InvalidEvent::new(
            field,
            Problem::OutsideYears {
                first: self.first,
                last: self.last,
            },
        )
    }
}

/// Parses a message body: an EventBridge envelope around an order event, or a bare order event.
/// Every date in it must fall in `years`.
pub fn parse_order_event(body: &str, years: &AcceptedYears) -> Result<OrderEvent, InvalidEvent> {
    if body.len() > MAX_BODY_BYTES {
        return Err(InvalidEvent::new(
            "body",
            Problem::MoreThan {
                limit: MAX_BODY_BYTES,
                what: "bytes",
            },
        ));
    }
    let value = parse_json(body, "body")?;
    let is_envelope = value.get("detail-type").is_some() && value.get("detail").is_some();
    let (detail, prefix) = if is_envelope {
        let detail_type = value.get("detail-type").and_then(|v| v.as_str());
        if detail_type != Some(DETAIL_TYPE) {
            return Err(InvalidEvent::new(
                "detail-type",
                Problem::MustBe(DETAIL_TYPE),
            ));
        }
        let mut value = value;
        (value["detail"].take(), "detail")
    } else {
        (value, "")
    };
    if !detail.is_object() {
        let field = if prefix.is_empty() { "body" } else { prefix };
        return Err(InvalidEvent::new(
            field,
            Problem::WrongType {
                expected: Some(crate::rejection::Expected::Object),
            },
        ));
    }
    let event: OrderEvent = deserialize_at(detail, prefix, ORDER_EVENT_FIELDS)?;
    check_event(&event, years)
        .map_err(|e| InvalidEvent::new(join_path(prefix, &e.field), e.problem))?;
    Ok(event)
}

/// Parses `text` (found at `field`) as JSON; a refusal says where the parser stopped, never
/// what it read.
pub fn parse_json(text: &str, field: &str) -> Result<serde_json::Value, InvalidEvent> {
    serde_json::from_str(text).map_err(|e| {
        InvalidEvent::new(
            field,
            Problem::MalformedJson {
                line: e.line(),
                column: e.column(),
            },
        )
    })
}

/// Deserializes `value`, found at `prefix` in the body (`"detail"`, or `""` for the body
/// itself), into `T`. A failure names the field at fault (a missing field by its own path),
/// spelt with the field names in `known` and array indices only, and the kind of problem: it
/// never echoes a value or a key the sender chose, which may be personal data (these
/// refusals are logged).
pub fn deserialize_at<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    prefix: &str,
    known: KnownFields,
) -> Result<T, InvalidEvent> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        let path = field_path(e.path(), &message, known);
        InvalidEvent::new(
            join_path(prefix, &path),
            Problem::of_serde_message(&message),
        )
    })
}

/// Rules that span fields.
fn check_event(event: &OrderEvent, years: &AcceptedYears) -> Result<(), InvalidEvent> {
    years.check("occurred_at", event.occurred_at)?;
    if let Some(eta) = event.delivery.as_ref().and_then(|d| d.eta) {
        years.check_date("delivery.eta", eta)?;
    }
    if let Some(delay) = &event.delay {
        years.check_date("delay.new_eta", delay.new_eta)?;
    }
    if event.items.len() > MAX_ITEMS {
        return Err(InvalidEvent::new(
            "items",
            Problem::MoreThan {
                limit: MAX_ITEMS,
                what: "lines",
            },
        ));
    }
    if event.total.is_none() && event.items.iter().any(|item| item.unit_price.is_some()) {
        return Err(InvalidEvent::new(
            "total",
            "is required when items carry unit_price: it gives the currency",
        ));
    }
    match event.status {
        OrderStatus::Shipped => {
            let carrier = event.delivery.as_ref().and_then(|d| d.carrier.as_ref());
            if carrier.is_none() {
                return Err(InvalidEvent::new(
                    "delivery.carrier",
                    "is required when status is shipped",
                ));
            }
        }
        OrderStatus::Delayed if event.delay.is_none() => {
            return Err(InvalidEvent::new(
                "delay",
                "is required when status is delayed (reason and new_eta)",
            ));
        }
        _ => {}
    }
    if let (Some(total), Some(refund)) = (
        event.total,
        event.cancellation.as_ref().and_then(|c| c.refund),
    ) {
        if total.currency != refund.currency {
            return Err(InvalidEvent::new(
                "cancellation.refund.currency",
                "must be the currency of the order total",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shipped() -> serde_json::Value {
        json!({
            "event_id": "evt-1", "order_id": "1042", "status": "shipped",
            "occurred_at": "2026-11-20T10:15:00+03:00",
            "customer": {"id": "c-1", "email": "anna@example.com", "name": "Anna",
                         "locale": "ru-RU", "time_zone": "Europe/Moscow"},
            "items": [{"sku": "TEA-1", "name": "Tea", "quantity": 2, "unit_price": "4.50"}],
            "total": {"amount": "9.00", "currency": "EUR"},
            "delivery": {"eta": "2026-11-22", "carrier": "DHL", "tracking_url": "https://dhl.example/t/1"}
        })
    }

    fn error_of(value: serde_json::Value) -> InvalidEvent {
        parse_order_event(&value.to_string(), &AcceptedYears::default()).unwrap_err()
    }

    #[test]
    fn a_bare_event_parses_and_times_are_kept_in_utc() {
        let event = parse_order_event(&shipped().to_string(), &AcceptedYears::default()).unwrap();
        assert_eq!(event.occurred_at.to_rfc3339(), "2026-11-20T07:15:00+00:00");
        assert_eq!(event.status, OrderStatus::Shipped);
    }

    #[test]
    fn an_eventbridge_envelope_is_unwrapped_and_errors_name_the_detail_path() {
        let mut envelope = json!({"version": "0", "id": "x", "source": "shop.orders",
            "detail-type": DETAIL_TYPE, "time": "2026-11-20T07:15:00Z", "detail": shipped()});
        assert!(parse_order_event(&envelope.to_string(), &AcceptedYears::default()).is_ok());
        envelope["detail"]["customer"]["email"] = json!("not-an-address");
        let err = error_of(envelope);
        assert_eq!(err.field, "detail.customer.email");
    }

    #[test]
    fn an_envelope_of_another_detail_type_is_refused() {
        let envelope = json!({"detail-type": "emily.carter@example.com", "detail": shipped()});
        let err = error_of(envelope);
        assert_eq!(err.field, "detail-type");
        assert_eq!(
            err.to_string(),
            "field `detail-type` must be \"Order Status Changed\""
        );
    }

    #[test]
    fn a_missing_field_is_named_with_its_full_path() {
        let mut event = shipped();
        event["customer"]
            .as_object_mut()
            .unwrap()
            .remove("time_zone");
        let err = error_of(event);
        assert_eq!(err.field, "customer.time_zone");
        assert_eq!(err.problem, Problem::Missing);
    }

    #[test]
    fn wrongly_typed_unknown_and_invalid_values_name_their_field() {
        let mut event = shipped();
        event["items"][0]["quantity"] = json!("x\"Anna Petrova\"x");
        let err = error_of(event);
        assert_eq!(
            err.to_string(),
            "field `items[0].quantity` must be a whole number"
        );

        let mut event = shipped();
        event["items"][0]["quantity"] = json!(4_155_550_123u64);
        assert_eq!(
            error_of(event).to_string(),
            "field `items[0].quantity` is not valid"
        );

        let mut event = shipped();
        event["status"] = json!("anna@example.com");
        let err = error_of(event);
        assert_eq!(err.field, "status");
        assert_eq!(err.problem, Problem::UnknownValue);

        let mut event = shipped();
        event["customer"]["time_zone"] = json!("Europe/Atlantis");
        assert_eq!(error_of(event).field, "customer.time_zone");

        let mut event = shipped();
        event["total"]["amount"] = json!(9.0);
        assert_eq!(error_of(event).field, "total.amount");

        let mut event = shipped();
        event["items"][0]["unit_price"] = json!("79228162514264337593543950335");
        assert_eq!(error_of(event).field, "items[0].unit_price");

        let mut event = shipped();
        event["customer"]["name"] = json!("x".repeat(501));
        assert_eq!(
            error_of(event).to_string(),
            "field `customer.name` is too long"
        );
    }

    #[test]
    fn a_key_the_schema_does_not_know_never_reaches_the_path() {
        let mut event = shipped();
        event["customer"] = json!([{"anna@example.com": 1}]);
        let err = error_of(event);
        assert_eq!(err.field, "customer[0]");
        assert!(!err.to_string().contains("anna"), "{err}");
    }

    #[test]
    fn every_field_of_the_json_schema_is_a_known_field() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../infra/order-event.schema.json")).unwrap();
        fn names(value: &serde_json::Value, out: &mut Vec<String>) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(serde_json::Value::Object(properties)) = map.get("properties") {
                        out.extend(properties.keys().cloned());
                    }
                    map.values().for_each(|v| names(v, out));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| names(v, out)),
                _ => {}
            }
        }
        let mut fields = Vec::new();
        names(&schema, &mut fields);
        assert!(fields.len() > 20, "{fields:?}");
        for field in fields {
            assert!(
                ORDER_EVENT_FIELDS.contains(&field.as_str()),
                "{field} is in the schema but not in ORDER_EVENT_FIELDS"
            );
        }
    }

    #[test]
    fn status_specific_fields_are_required() {
        let mut event = shipped();
        event["delivery"].as_object_mut().unwrap().remove("carrier");
        assert_eq!(error_of(event).field, "delivery.carrier");

        let mut event = shipped();
        event["status"] = json!("delayed");
        assert_eq!(error_of(event).field, "delay");
    }

    #[test]
    fn unit_prices_without_a_total_are_refused() {
        let mut event = shipped();
        event.as_object_mut().unwrap().remove("total");
        assert_eq!(error_of(event).field, "total");
    }

    #[test]
    fn bodies_that_are_not_json_or_too_large_are_refused_as_a_whole() {
        let err = parse_order_event("{not json", &AcceptedYears::default()).unwrap_err();
        assert_eq!(err.field, "body");
        assert_eq!(err.problem, Problem::MalformedJson { line: 1, column: 2 });
        assert_eq!(
            parse_order_event("[1,2]", &AcceptedYears::default())
                .unwrap_err()
                .field,
            "body"
        );
        let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        let err = parse_order_event(&huge, &AcceptedYears::default()).unwrap_err();
        assert_eq!(err.to_string(), "field `body` has more than 65536 bytes");
    }

    #[test]
    fn a_javascript_tracking_link_is_refused() {
        let mut event = shipped();
        event["delivery"]["tracking_url"] = json!("javascript:alert(1)");
        assert_eq!(error_of(event).field, "delivery.tracking_url");
    }
}
