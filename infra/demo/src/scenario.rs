//! The demo's customers and what happens to their orders, in time order.

use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

const SAMPLES: [(&str, &str); 8] = [
    ("placed", include_str!("../../events/detail/placed.json")),
    (
        "confirmed",
        include_str!("../../events/detail/confirmed.json"),
    ),
    ("packed", include_str!("../../events/detail/packed.json")),
    ("shipped", include_str!("../../events/detail/shipped.json")),
    ("delayed", include_str!("../../events/detail/delayed.json")),
    (
        "out_for_delivery",
        include_str!("../../events/detail/out_for_delivery.json"),
    ),
    (
        "delivered",
        include_str!("../../events/detail/delivered.json"),
    ),
    (
        "cancelled",
        include_str!("../../events/detail/cancelled.json"),
    ),
];

/// One SQS record of the scenario.
pub struct Record {
    /// The SQS message id.
    pub message_id: String,
    /// The body, as the queue holds it.
    pub body: String,
    /// The timeline's left-hand columns.
    pub describe: String,
}

/// One step: a batch the function handles, or an invocation that dies after its write.
pub enum Step {
    /// An SQS batch, handled at `at`.
    Batch {
        /// When it arrives.
        at: DateTime<Utc>,
        /// What the step shows, if it needs a heading.
        title: Option<String>,
        /// Its records.
        records: Vec<Record>,
    },
    /// An event applied at `at` by an invocation that crashes before sending.
    Crash {
        /// When.
        at: DateTime<Utc>,
        /// What the step shows.
        title: String,
        /// The event.
        record: Record,
    },
    /// A customer clicks a rating link of their review request.
    Rate {
        /// When.
        at: DateTime<Utc>,
        /// Who.
        customer: &'static str,
        /// Which order.
        order: &'static str,
        /// The score clicked.
        score: u8,
        /// A comment they add on the page, if any.
        comment: Option<&'static str>,
    },
    /// A helpdesk sends `IssueResolved` for a customer.
    Resolve {
        /// When.
        at: DateTime<Utc>,
        /// Whose issue.
        customer: &'static str,
    },
    /// A customer presses their mail app's unsubscribe button on the last message of `kind`
    /// they got: the app makes the one-click POST of RFC 8058 to its `List-Unsubscribe` link.
    Unsubscribe {
        /// When.
        at: DateTime<Utc>,
        /// Who.
        customer: &'static str,
        /// Their address, to find the message.
        email: &'static str,
        /// The kind of message they unsubscribe from.
        kind: &'static str,
    },
    /// SES reports that the last message of `kind` to `email` bounced for good.
    Bounce {
        /// When.
        at: DateTime<Utc>,
        /// Whose address.
        customer: &'static str,
        /// The address.
        email: &'static str,
        /// The kind of message that bounced.
        kind: &'static str,
    },
}

impl Step {
    /// When the step happens.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Step::Batch { at, .. }
            | Step::Crash { at, .. }
            | Step::Rate { at, .. }
            | Step::Resolve { at, .. }
            | Step::Unsubscribe { at, .. }
            | Step::Bounce { at, .. } => *at,
        }
    }
}

/// The demo's customers: id and display name.
pub fn customers() -> [(&'static str, &'static str); 5] {
    [
        ("cus-1001", "Emily Carter"),
        ("cus-2001", "Анна Петрова"),
        ("cus-3001", "Дмитрий Соколов"),
        ("cus-4001", "Oliver Hughes"),
        ("cus-5001", "Майя Орлова"),
    ]
}

fn oliver_order(n: u32, status: &str, at: &str) -> Value {
    json!({
        "event_id": format!("evt-O-77-{n:02}-{status}"), "order_id": "O-77", "status": status, "occurred_at": at,
        "customer": {"id": "cus-4001", "email": "oliver.hughes@example.co.uk", "name": "Oliver Hughes",
                     "locale": "en-GB", "time_zone": "Europe/London", "marketing_consent": true},
        "items": [{"sku": "COFFEE-ESP-250", "name": "Espresso beans, 250 g", "category": "coffee", "quantity": 1,
                   "unit_price": "11.50", "replenish_every_days": 10}],
        "total": {"amount": "11.50", "currency": "GBP"},
        "delivery": {"eta": "2026-09-15", "carrier": "Royal Mail", "tracking_url": "https://tracking.example/rm/77"}
    })
}

fn maya_order(n: u32, status: &str, at: &str) -> Value {
    json!({
        "event_id": format!("evt-M-5-{n:02}-{status}"), "order_id": "M-5", "status": status, "occurred_at": at,
        "customer": {"id": "cus-5001", "email": "maya.orlova@example.ru", "name": "Майя Орлова",
                     "locale": "ru-RU", "time_zone": "Europe/Moscow", "marketing_consent": false},
        "items": [{"sku": "TEA-SENCHA-100", "name": "Сенча, 100 г", "category": "чай", "quantity": 1,
                   "unit_price": "640.00", "replenish_every_days": 30}],
        "total": {"amount": "640.00", "currency": "RUB"},
        "delivery": {"eta": "2026-11-12", "carrier": "Почта России"}
    })
}

fn sample(status: &str) -> Value {
    let text = SAMPLES
        .iter()
        .find(|(s, _)| *s == status)
        .map(|(_, t)| *t)
        .unwrap_or("{}");
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn anna() -> Value {
    json!({"id": "cus-2001", "email": "anna.petrova@example.ru", "name": "Анна Петрова",
           "locale": "ru-RU", "time_zone": "Europe/Moscow", "marketing_consent": true})
}

fn dmitry() -> Value {
    json!({"id": "cus-3001", "email": "d.sokolov@example.ru", "name": "Дмитрий Соколов",
           "locale": "ru", "time_zone": "Asia/Yekaterinburg"})
}

fn russian_order(customer: Value, order: &str, n: u32, status: &str, at: &str) -> Value {
    let mut event = json!({
        "event_id": format!("evt-{order}-{n:02}-{status}"), "order_id": order, "status": status, "occurred_at": at,
        "customer": customer,
        "items": [
            {"sku": "TEA-PUER-100", "name": "Пуэр «Старое дерево», 100 г", "category": "чай", "quantity": 2, "unit_price": "890.00", "replenish_every_days": 45},
            {"sku": "TEAPOT-GLASS", "name": "Стеклянный чайник 600 мл", "category": "посуда", "quantity": 1, "unit_price": "1450.00"}
        ],
        "total": {"amount": "3230.00", "currency": "RUB"},
        "delivery": {"eta": "2026-10-25", "carrier": "СДЭК", "tracking_url": "https://tracking.example/cdek/1042775"}
    });
    match status {
        "delayed" => {
            event["delay"] = json!({"reason": "сортировочный центр в Казани перегружен", "new_eta": "2026-10-27"})
        }
        "cancelled" => {
            event["cancellation"] = json!({"reason": "вы попросили отменить заказ", "refund": {"amount": "3230.00", "currency": "RUB"}})
        }
        _ => {}
    }
    event
}

fn envelope(detail: &Value) -> String {
    json!({"version": "0", "id": format!("eb-{}", detail["event_id"].as_str().unwrap_or_default()),
           "detail-type": "Order Status Changed", "source": "shop.orders", "time": detail["occurred_at"],
           "region": "us-east-1", "resources": [], "detail": detail})
    .to_string()
}

fn record(detail: &Value, bare: bool) -> Record {
    let name = detail["customer"]["name"].as_str().unwrap_or("?");
    let at = detail["occurred_at"]
        .as_str()
        .unwrap_or_default()
        .replace('T', " ");
    let describe = format!(
        "{:<17} {:<22} {:<40}",
        at.trim_end_matches('Z').get(..16).unwrap_or_default(),
        name,
        format!(
            "order {} {}{}",
            detail["order_id"].as_str().unwrap_or("?"),
            detail["status"].as_str().unwrap_or("?"),
            if bare { " (bare SQS)" } else { "" }
        )
    );
    Record {
        message_id: format!("sqs-{}", detail["event_id"].as_str().unwrap_or("?")),
        body: if bare {
            detail.to_string()
        } else {
            envelope(detail)
        },
        describe,
    }
}

fn time_of(record: &Record) -> DateTime<Utc> {
    let body: Value = serde_json::from_str(&record.body).unwrap_or(Value::Null);
    let detail = if body.get("detail").is_some() {
        &body["detail"]
    } else {
        &body
    };
    detail["occurred_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_default()
}

fn single(record: Record) -> Step {
    Step::Batch {
        at: time_of(&record),
        title: None,
        records: vec![record],
    }
}

/// The scenario, in time order: each event arrives at its own time, in a batch of its own,
/// except one batch that shows a duplicate and a malformed record beside a good one.
pub fn steps() -> Vec<Step> {
    let emily = |status: &str| record(&sample(status), false);
    let anna_order = |order: &str, n: u32, status: &str, at: &str| {
        record(&russian_order(anna(), order, n, status, at), false)
    };
    let dmitry_order = |n: u32, status: &str, at: &str| {
        record(&russian_order(dmitry(), "R-3001", n, status, at), true)
    };
    let oliver = |n: u32, status: &str, at: &str| record(&oliver_order(n, status, at), false);
    let maya = |n: u32, status: &str, at: &str| record(&maya_order(n, status, at), false);

    let mut malformed = sample("placed");
    malformed["event_id"] = json!("evt-bad-email");
    malformed["customer"]["email"] = json!("emily at example.com");
    let mut malformed = record(&malformed, false);
    malformed.message_id = "sqs-malformed".into();
    malformed.describe = format!(
        "{:<17} {:<22} {:<40}",
        "2026-10-21 16:20", "(unknown)", "malformed event"
    );

    let anna_shipped_in_september = || {
        let mut shipped = russian_order(anna(), "R-2001", 3, "shipped", "2026-09-10T15:00:00Z");
        shipped["delivery"]["eta"] = json!("2026-09-14");
        record(&shipped, false)
    };
    let mut late_shipped = russian_order(dmitry(), "R-3001", 9, "shipped", "2026-10-29T09:00:00Z");
    late_shipped["event_id"] = json!("evt-R-3001-09-shipped-again");

    let mut crash = sample("placed");
    crash["event_id"] = json!("evt-1050-01-placed");
    crash["order_id"] = json!("1050");
    crash["occurred_at"] = json!("2026-10-29T20:15:00Z");
    let crash_record = record(&crash, false);

    let mut steps: Vec<Step> = [
        anna_order("R-2001", 1, "placed", "2026-09-10T07:30:00Z"),
        oliver(1, "placed", "2026-09-12T08:40:00Z"),
        oliver(2, "shipped", "2026-09-12T15:00:00Z"),
        anna_shipped_in_september(),
        anna_order("R-2001", 2, "delivered", "2026-09-14T11:05:00Z"),
        oliver(3, "delivered", "2026-09-15T12:20:00Z"),
        dmitry_order(1, "placed", "2026-10-20T04:10:00Z"),
        dmitry_order(2, "confirmed", "2026-10-20T04:12:00Z"),
        dmitry_order(3, "packed", "2026-10-20T09:00:00Z"),
        dmitry_order(4, "shipped", "2026-10-20T13:30:00Z"),
        emily("placed"),
        emily("confirmed"),
        emily("packed"),
        emily("shipped"),
        anna_order("R-2002", 2, "confirmed", "2026-10-21T16:25:00Z"),
        anna_order("R-2002", 3, "cancelled", "2026-10-22T08:00:00Z"),
        emily("cancelled"),
        dmitry_order(5, "delayed", "2026-10-24T06:00:00Z"),
        emily("delayed"),
        dmitry_order(6, "out_for_delivery", "2026-10-27T07:15:00Z"),
        dmitry_order(7, "delivered", "2026-10-27T07:50:00Z"),
        emily("out_for_delivery"),
        emily("delivered"),
        record(&late_shipped, true),
        maya(1, "placed", "2026-11-03T10:00:00Z"),
        maya(2, "confirmed", "2026-11-03T10:05:00Z"),
        maya(3, "packed", "2026-11-05T19:00:00Z"),
        maya(4, "shipped", "2026-11-09T12:00:00Z"),
        maya(5, "delivered", "2026-11-11T09:30:00Z"),
    ]
    .into_iter()
    .map(single)
    .collect();
    steps.push(Step::Batch {
        at: "2026-10-21T16:20:00Z".parse().unwrap_or_default(),
        title: Some(
            "One SQS batch: a redelivered duplicate and a malformed event beside a good one".into(),
        ),
        records: vec![
            emily("shipped"),
            malformed,
            anna_order("R-2002", 1, "placed", "2026-10-21T16:20:00Z"),
        ],
    });
    steps.push(Step::Crash {
        at: time_of(&crash_record),
        title: "Emily's next order: the invocation dies between its write and its send".into(),
        record: crash_record,
    });
    let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap_or_default();
    // Oliver is unhappy with his beans; a person sorts it out two weeks later.
    steps.push(Step::Rate {
        at: at("2026-09-18T19:30:00Z"),
        customer: "cus-4001",
        order: "O-77",
        score: 2,
        comment: Some("The bag arrived torn and half the beans were stale."),
    });
    steps.push(Step::Resolve {
        at: at("2026-10-02T11:00:00Z"),
        customer: "cus-4001",
    });
    // Emily loves her tea.
    steps.push(Step::Rate {
        at: at("2026-10-31T20:10:00Z"),
        customer: "cus-1001",
        order: "1042",
        score: 5,
        comment: None,
    });
    // Anna's mailbox is closed: her order confirmation bounces, and nothing more is sent to it.
    steps.push(Step::Bounce {
        at: at("2026-10-21T16:22:00Z"),
        customer: "cus-2001",
        email: "anna.petrova@example.ru",
        kind: "order_placed",
    });
    // Oliver has had enough of "we miss you" and presses Unsubscribe in his mail app.
    steps.push(Step::Unsubscribe {
        at: at("2026-12-11T12:00:00Z"),
        customer: "cus-4001",
        email: "oliver.hughes@example.co.uk",
        kind: "reactivation",
    });
    steps.sort_by_key(Step::at);
    steps
}

/// An SQS event of `records`.
pub fn sqs_event(records: &[Record]) -> SqsEvent {
    let records: Vec<Value> = records
        .iter()
        .map(|r| json!({"messageId": r.message_id, "receiptHandle": "demo", "body": r.body, "eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {}}))
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap_or_default()
}
