//! No log line holds what a sender wrote. Every field of every event the functions take (an
//! order event bare and in its EventBridge envelope, an SES event in its three shapes, an
//! `IssueResolved` event, the scheduled event) is given a planted secret (an email address, a
//! phone number, a street address) in every wrong shape: as a string where a number or an
//! object is expected, as a number, inside quotes within a string, as an unknown enum value, as
//! an object key and an unknown field, inside an array, as an over-long value. Each goes through
//! the functions' own handlers against the emulator, while every log line of the process, at
//! every level and in both the Lambda (JSON) and the local format, is captured; then none may
//! hold any part of a secret. The customer id is planted too, as a valid email address: lines
//! name that customer by their log id only.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use aftercare_adapters::log_ids::{self, CustomerNaming, LogIdKey};
use aftercare_integration_tests::{at, envelope, sample_detail, ses_event_body, sqs_event, World};
use aftercare_journey::ids::{EventId, OrderId, Sku};
use serde_json::{json, Value};
use tracing_subscriber::layer::SubscriberExt;

const EMAIL: &str = "olivia.planted@example.net";
const PHONE: &str = "+44 20 7946 0958";
const PHONE_DIGITS: u64 = 442_079_460_958;
const STREET: &str = "221B Baker Street";

/// Parts of the secrets, any of which in a log line is a leak (none can occur in the hex of
/// ids and digests the lines hold).
const MARKS: [&str; 7] = [
    "olivia",
    "planted@",
    "442079460958",
    "79460958",
    "7946 0958",
    "221B",
    "Baker Street",
];

/// The key this process names customers with.
const LOG_ID_KEY: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

/// Every log line of this test process from now on: through the functions' own filter at its
/// most verbose (`RUST_LOG=trace`), written as Lambda writes it (JSON) and as local runs do.
fn captured() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let json = captured.clone();
        let compact = captured.clone();
        let subscriber = tracing_subscriber::registry()
            .with(aftercare_adapters::logging::filter("trace"))
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(true)
                    .with_writer(move || json.clone()),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .compact()
                    .with_writer(move || compact.clone()),
            );
        tracing::subscriber::set_global_default(subscriber)
            .unwrap_or_else(|e| panic!("the capturing subscriber: {e}"));
        let key = LogIdKey::from_hex(LOG_ID_KEY).unwrap_or_else(|e| panic!("{e}"));
        log_ids::install(CustomerNaming::Hashed(key)).unwrap_or_else(|e| panic!("{e}"));
        captured
    })
}

/// Fails the test, quoting the lines at fault, if any captured line holds part of a secret.
fn assert_no_secret_logged() {
    let text = captured().text();
    let leaks: Vec<&str> = text
        .lines()
        .filter(|line| MARKS.iter().any(|mark| line.contains(mark)))
        .collect();
    assert!(
        leaks.is_empty(),
        "{} log lines hold a planted secret, for example:\n{}",
        leaks.len(),
        leaks
            .iter()
            .take(12)
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// One step of a path into a JSON value.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// Every path in `value` below its root, parents before children.
fn paths(value: &Value) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    let mut stack = vec![(Vec::new(), value)];
    while let Some((path, value)) = stack.pop() {
        let children: Vec<(Step, &Value)> = match value {
            Value::Object(map) => map.iter().map(|(k, v)| (Step::Key(k.clone()), v)).collect(),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (Step::Index(i), v))
                .collect(),
            _ => Vec::new(),
        };
        for (step, child) in children {
            let mut child_path = path.clone();
            child_path.push(step);
            out.push(child_path.clone());
            stack.push((child_path, child));
        }
    }
    out
}

fn at_path<'a>(value: &'a mut Value, path: &[Step]) -> &'a mut Value {
    path.iter().fold(value, |value, step| match step {
        Step::Key(key) => &mut value[key.as_str()],
        Step::Index(index) => &mut value[*index],
    })
}

fn path_text(path: &[Step]) -> String {
    path.iter()
        .map(|step| match step {
            Step::Key(key) => format!(".{key}"),
            Step::Index(index) => format!("[{index}]"),
        })
        .collect()
}

/// Every wrong shape of every secret.
fn planted() -> Vec<Value> {
    let mut values = Vec::new();
    for secret in [EMAIL, PHONE, STREET] {
        values.extend([
            json!(secret),
            json!(format!("x\"{secret}\"x")),
            json!({ secret: 1 }),
            json!({ "value": secret }),
            json!([secret]),
            json!(secret.repeat(60)),
        ]);
    }
    values.extend([
        json!(format!("\"{EMAIL}")),
        json!(PHONE_DIGITS),
        json!(-(PHONE_DIGITS as i64)),
        json!(PHONE_DIGITS as f64 + 0.5),
        json!([PHONE_DIGITS]),
        json!({ "442079460958": PHONE_DIGITS }),
    ]);
    values
}

/// `base` with a secret planted at every path in every shape, and as an unknown field in every
/// object; `keep` says which to run (the rest are valid values by contract, see its callers).
fn variants(base: &Value, keep: impl Fn(&str, &Value) -> bool) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let planted = planted();
    for path in paths(base) {
        let name = path_text(&path);
        for value in &planted {
            if !keep(&name, value) {
                continue;
            }
            let mut variant = base.clone();
            *at_path(&mut variant, &path) = value.clone();
            out.push((name.clone(), variant));
        }
    }
    for path in std::iter::once(Vec::new()).chain(paths(base)) {
        let mut variant = base.clone();
        if let Value::Object(map) = at_path(&mut variant, &path) {
            map.insert(EMAIL.to_owned(), json!(STREET));
            map.insert(STREET.to_owned(), json!(PHONE_DIGITS));
            out.push((format!("{} unknown fields", path_text(&path)), variant));
        }
    }
    out
}

/// An order event with every field the schema has.
fn full_order_event(world: &World) -> Value {
    let mut event = sample_detail("delayed");
    event["customer"]["id"] = json!("cus-1");
    event["customer"]["email"] = json!(world.email(1));
    event["customer"]["name"] = json!("Anna Field");
    event["delivery"] = json!({"eta": "2026-10-27", "carrier": "UPS", "tracking_url": "https://tracking.example/1"});
    event["cancellation"] =
        json!({"reason": "out of stock", "refund": {"amount": "12.50", "currency": "USD"}});
    event
}

/// Whether `value` at `path` is a valid event id, order id or SKU: those are the shop's own
/// references, logged as they are by contract (README, "What the logs hold"), so a secret
/// planted there in a valid shape is not a leak of ours.
fn is_a_valid_shop_reference(path: &str, value: &Value) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    let field = path.rsplit('.').next().unwrap_or_default();
    match field {
        "event_id" => EventId::parse(text).is_ok(),
        "order_id" => OrderId::parse(text).is_ok(),
        "sku" => Sku::parse(text).is_ok(),
        _ => false,
    }
}

/// Runs `bodies` through order-events in batches of ten, each with an event id and an order of
/// its own (unless the secret is planted there), so that valid ones are applied, not taken for
/// redeliveries.
async fn run_order_events(world: &World, bodies: Vec<String>) -> usize {
    let mut rejected = 0;
    for (batch, chunk) in bodies.chunks(10).enumerate() {
        let records: Vec<(String, String)> = chunk
            .iter()
            .enumerate()
            .map(|(i, body)| (format!("m{batch}-{i}"), body.clone()))
            .collect();
        let records: Vec<(&str, String)> = records
            .iter()
            .map(|(id, body)| (id.as_str(), body.clone()))
            .collect();
        let report = world
            .function
            .handle_batch(sqs_event(&records), "planted")
            .await;
        rejected += report.records.iter().filter(|r| r.result.is_err()).count();
    }
    rejected
}

#[tokio::test]
async fn no_secret_planted_in_an_order_event_reaches_a_log_line() {
    let captured = captured();
    let world = World::new("planted-orders").await;
    let base = full_order_event(&world);
    world
        .clock
        .set(at(base["occurred_at"].as_str().unwrap_or_default()));
    let mut bodies = Vec::new();
    for (n, (path, mut detail)) in
        variants(&base, |path, value| !is_a_valid_shop_reference(path, value))
            .into_iter()
            .enumerate()
    {
        if detail.is_object() {
            if !path.starts_with(".event_id") {
                detail["event_id"] = json!(format!("planted-{n}"));
            }
            if !path.starts_with(".order_id") {
                detail["order_id"] = json!(format!("P-{n}"));
            }
        }
        // Bare and in its envelope in turn: both reach the same parser, under another prefix.
        bodies.push(if n % 2 == 0 {
            detail.to_string()
        } else {
            envelope(&detail)
        });
    }
    // The envelope's own fields, and the customer id as a valid email address.
    let detail = base.clone();
    let mut wrapped: Value = serde_json::from_str(&envelope(&detail)).unwrap_or_default();
    wrapped["detail"]["event_id"] = json!("planted-envelope");
    for (n, (_, mut variant)) in variants(&wrapped, |path, _| {
        path != ".detail" && !path.starts_with(".detail.") && !path.starts_with(".detail[")
    })
    .into_iter()
    .enumerate()
    {
        variant["detail"]["event_id"] = json!(format!("planted-envelope-{n}"));
        bodies.push(variant.to_string());
    }
    let mut hashed = base.clone();
    hashed["event_id"] = json!("planted-customer-id");
    hashed["customer"]["id"] = json!(EMAIL);
    bodies.push(hashed.to_string());
    bodies.push(format!("{{\"event_id\": \"{EMAIL}"));
    bodies.push(format!("{{\"pad\": \"{}\"}}", STREET.repeat(5_000)));

    let total = bodies.len();
    let rejected = run_order_events(&world, bodies).await;
    assert_no_secret_logged();
    assert!(
        rejected > total / 2 && rejected < total,
        "most variants are refused, the valid ones applied: {rejected} of {total}"
    );
    let text = captured.text();
    assert!(
        text.contains(
            "order-events: order event rejected: field `items[0].quantity` must be a whole number"
        ),
        "the refusals are captured"
    );
    let log_id = LogIdKey::from_hex(LOG_ID_KEY)
        .map(|key| key.log_id(EMAIL))
        .unwrap_or_default();
    assert!(
        text.contains(&log_id),
        "the customer whose id is an address is named by their log id {log_id}"
    );
}

#[tokio::test]
async fn no_secret_planted_in_an_ses_event_reaches_a_log_line() {
    let captured = captured();
    let world = World::new("planted-ses").await;
    world
        .replay(&[world.event("placed", 1, "S-1", "s1-placed", "2026-11-01T09:00:00Z")])
        .await;
    let mail = world
        .sent()
        .pop()
        .unwrap_or_else(|| panic!("the order confirmation"));
    let to = world.email(1);
    let reports = [
        (
            "Bounce",
            json!({"bounceType": "Permanent", "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": to, "action": "failed", "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                "timestamp": "2026-11-01T09:00:05Z", "feedbackId": "fb-1", "reportingMTA": "dsn; mx.example.com"}),
        ),
        (
            "Complaint",
            json!({"complainedRecipients": [{"emailAddress": to}], "timestamp": "2026-11-01T10:00:00Z",
                "feedbackId": "fb-2", "complaintFeedbackType": "abuse"}),
        ),
        (
            "Click",
            json!({"timestamp": "2026-11-01T11:00:00Z", "link": "https://leafandkettle.example/rate?token=t"}),
        ),
        ("Open", json!({"timestamp": "2026-11-01T11:00:00Z"})),
    ];
    let mut bodies = Vec::new();
    for (event_type, report) in reports {
        let body = ses_event_body(&mail, event_type, report).unwrap_or_default();
        let base: Value = serde_json::from_str(&body).unwrap_or_default();
        // In each of the three shapes in turn: an EventBridge envelope, the bare record, an
        // SNS notification.
        for (n, (_, variant)) in variants(&base, |_, _| true).into_iter().enumerate() {
            let record = &variant["detail"];
            bodies.push(match n % 3 {
                1 if record.is_object() => record.to_string(),
                2 if record.is_object() => {
                    json!({"Type": "Notification", "Message": record.to_string()}).to_string()
                }
                _ => variant.to_string(),
            });
        }
    }
    bodies.push(format!(
        "{{\"Type\": \"Notification\", \"Message\": \"{{\\\"{EMAIL}\"}}"
    ));
    let total = bodies.len();
    let mut rejected = 0;
    for (batch, chunk) in bodies.chunks(10).enumerate() {
        let records: Vec<(String, String)> = chunk
            .iter()
            .enumerate()
            .map(|(i, body)| (format!("s{batch}-{i}"), body.clone()))
            .collect();
        let records: Vec<(&str, String)> = records
            .iter()
            .map(|(id, body)| (id.as_str(), body.clone()))
            .collect();
        let report = world.ses_events.handle_batch(sqs_event(&records)).await;
        rejected += report.records.iter().filter(|r| r.result.is_err()).count();
    }
    assert_no_secret_logged();
    assert!(
        rejected > total / 3 && rejected < total,
        "many variants are refused, the valid ones applied: {rejected} of {total}"
    );
    assert!(
        captured
            .text()
            .contains("ses-events: SES event rejected: field `detail.bounce.bouncedRecipients` must be an array"),
        "the refusals are captured"
    );
}

#[tokio::test]
async fn no_secret_planted_in_an_issue_resolved_event_reaches_a_log_line() {
    let captured = captured();
    let world = World::new("planted-helpdesk").await;
    let base = json!({
        "version": "0", "id": "hd-1", "detail-type": "IssueResolved", "source": "helpdesk.zendesk",
        "account": "123456789012", "time": "2026-11-08T16:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/helpdesk"],
        "detail": {"customer_id": "cus-1", "resolved_at": "2026-11-08T15:59:00Z", "ticket": "ZD-77"}
    });
    let mut events: Vec<(String, Value)> = variants(&base, |_, _| true);
    events.extend(planted().into_iter().map(|value| (String::new(), value)));
    let mut hashed = base.clone();
    hashed["detail"]["customer_id"] = json!(EMAIL);
    events.push((".detail.customer_id as an address".into(), hashed));
    for (path, event) in &events {
        let resolution = world
            .helpdesk
            .resolve(event)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // serde reads an array in an object's place as its fields in order: a detail of
        // `[address]` names a customer by that id, which is then logged by its log id only.
        let must_refuse = path.is_empty()
            || path == ".detail-type"
            || (path == ".detail" && !event["detail"].is_array())
            || path == ".detail.resolved_at";
        if must_refuse {
            assert!(
                matches!(resolution, helpdesk_events::Resolution::Refused(_)),
                "{path}: {event} was not refused"
            );
        }
    }
    assert_no_secret_logged();
    assert!(
        captured.text().contains(
            "helpdesk-events: event rejected: field `detail.customer_id` must be a string"
        ),
        "the refusals are captured"
    );
}

#[tokio::test]
async fn no_secret_planted_in_a_scheduled_event_reaches_a_log_line() {
    let _ = captured();
    let world = World::new("planted-schedule").await;
    let base: Value = serde_json::from_str(
        &std::fs::read_to_string(
            aftercare_localstack::repository_root().join("infra/events/schedule.json"),
        )
        .unwrap_or_default(),
    )
    .unwrap_or_default();
    world
        .clock
        .set(at(base["time"].as_str().unwrap_or_default()));
    for (_, variant) in variants(&base, |_, _| true) {
        // The function takes any JSON and refuses what is not its own rule's scheduled event.
        let _ = world.schedule.handle(variant, "planted", None).await;
    }
    assert_no_secret_logged();
}
