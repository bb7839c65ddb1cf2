//! Rendering and MIME for any customer, items and shop: every message renders, and its raw MIME
//! reads back (with mail-parser) to the name, address and subject that were written, with no
//! header line longer than the limits allow.

use std::sync::OnceLock;

use aftercare_adapters::mailer::SesMailer;
use aftercare_journey::order_status::{decide_order_event, BeforeEvent};
use arbitrary::{Arbitrary, Unstructured};
use serde_json::json;

#[derive(Debug, Arbitrary)]
struct Item {
    sku: String,
    name: String,
    category: Option<String>,
    quantity: u8,
    cents: u32,
    replenish_every_days: Option<u8>,
}

#[derive(Debug, Arbitrary)]
struct RenderInput {
    name: Option<String>,
    locale: String,
    zone: u8,
    status: u8,
    items: Vec<Item>,
    carrier: String,
    reason: String,
    shop_name: String,
    order_id: String,
}

const ZONES: [&str; 6] = [
    "UTC",
    "America/Los_Angeles",
    "Europe/Moscow",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/St_Johns",
];

fn client() -> &'static aws_sdk_sesv2::Client {
    static CLIENT: OnceLock<aws_sdk_sesv2::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        aws_sdk_sesv2::Client::from_conf(
            aws_sdk_sesv2::Config::builder()
                .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
                .region(aws_sdk_sesv2::config::Region::new("us-east-1"))
                .build(),
        )
    })
}

/// One order event of any customer, items and shop, decided on a new journey; its message
/// rendered and built as MIME, and the MIME read back.
pub fn render_mime(data: &[u8]) {
    let Ok(input) = RenderInput::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    let statuses = aftercare_journey::status::OrderStatus::ALL;
    let status = statuses[usize::from(input.status) % statuses.len()].as_str();
    let items: Vec<serde_json::Value> = input
        .items
        .iter()
        .take(12)
        .map(|item| {
            json!({"sku": item.sku, "name": item.name, "category": item.category,
                   "quantity": item.quantity, "unit_price": format!("{}.{:02}", item.cents / 100, item.cents % 100),
                   "replenish_every_days": item.replenish_every_days})
        })
        .collect();
    let event = json!({
        "event_id": "fuzz-1",
        "order_id": input.order_id,
        "status": status,
        "occurred_at": "2026-12-01T12:30:00Z",
        "customer": {"id": "cus-fuzz", "email": "someone@example.com", "name": input.name,
                     "locale": input.locale, "time_zone": ZONES[usize::from(input.zone) % ZONES.len()],
                     "marketing_consent": true},
        "items": items,
        "total": {"amount": "10.00", "currency": "EUR"},
        "delivery": {"eta": "2026-12-05", "carrier": input.carrier, "tracking_url": "https://tracking.example/1"},
        "delay": {"reason": input.reason, "new_eta": "2026-12-09"},
        "cancellation": {"reason": input.reason, "refund": {"amount": "10.00", "currency": "EUR"}},
    });
    let Ok(event) = aftercare_journey::event::parse_order_event(
        &event.to_string(),
        &aftercare_journey::event::AcceptedYears::default(),
    ) else {
        return;
    };
    let Ok(config) = aftercare_adapters::config::Config::from_lookup(|name| {
        let value = match name {
            "JOURNEY_TABLE" => "fuzz".to_owned(),
            "SENDER_EMAIL" => "orders@shop.example".to_owned(),
            "SHOP_NAME" => input.shop_name.clone(),
            "SUPPORT_EMAIL" => "help@shop.example".to_owned(),
            _ => return None,
        };
        Some(value)
    }) else {
        return;
    };
    let decision = decide_order_event(&BeforeEvent::default(), &event, &config.settings)
        .unwrap_or_else(|e| panic!("a message failed to render: {e}"));
    let Some(message) = decision.message else {
        return;
    };
    let mailer = SesMailer::new(client().clone(), &config);
    let raw = mailer
        .mime(&message)
        .unwrap_or_else(|e| panic!("MIME failed to build: {e}"));
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of the header block"));
    for line in raw[..head_end].split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        assert!(line.is_ascii(), "a header line that is not ASCII");
        assert!(line.len() <= 998, "a header line of {} octets", line.len());
        if line.windows(2).any(|w| w == b"=?") {
            assert!(
                line.len() <= 76,
                "an encoded-word line of {} octets",
                line.len()
            );
        }
    }
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let parsed = mail_parser::MessageParser::default()
        .parse(&raw)
        .unwrap_or_else(|| panic!("the MIME does not parse"));
    assert_eq!(
        parsed.subject(),
        Some(message.subject.as_str()),
        "the subject"
    );
    let to = parsed
        .to()
        .and_then(|a| a.first())
        .unwrap_or_else(|| panic!("no To address"));
    assert_eq!(to.address(), Some(message.to.as_str()), "the To address");
    if let Some(name) = &message.to_name {
        assert_eq!(to.name(), Some(name.as_str()), "the To name, from:\n{head}");
    }
    let from = parsed
        .from()
        .and_then(|a| a.first())
        .unwrap_or_else(|| panic!("no From address"));
    assert_eq!(
        from.name(),
        Some(config.settings.brand.shop_name.as_str()),
        "the From name, from:\n{head}"
    );
}
