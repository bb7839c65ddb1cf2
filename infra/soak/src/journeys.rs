//! The soak's shop: customers, their orders, and every order event the shop publishes, drawn
//! from a seed so that a run can be repeated.

use aftercare_fault_proxy::Rng;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

/// One order event as the shop publishes it.
#[derive(Debug, Clone)]
pub struct PublishedEvent {
    /// Its id (the idempotency key).
    pub event_id: String,
    /// The customer.
    pub customer_id: String,
    /// The order.
    pub order_id: String,
    /// The event's detail (the order contract).
    pub detail: Value,
    /// When it happened, and when the shop publishes it.
    pub occurred_at: DateTime<Utc>,
}

/// How an order goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Course {
    /// Placed, confirmed, packed, shipped, out for delivery, delivered.
    Smooth,
    /// The same without the courier's "out for delivery".
    Direct,
    /// Delayed on the way, then delivered.
    Delayed,
    /// Cancelled after it was placed (with a refund).
    Cancelled,
}

const NAMES: [(&str, &str, &str); 6] = [
    ("Emily Carter", "en-US", "America/Los_Angeles"),
    ("Анна Петрова", "ru-RU", "Europe/Moscow"),
    ("Oliver Hughes", "en-GB", "Europe/London"),
    ("Дмитрий Соколов", "ru-RU", "Asia/Yekaterinburg"),
    ("Yuki Tanaka", "en-US", "Asia/Tokyo"),
    ("Zoë O'Brien", "en-GB", "Europe/Dublin"),
];

/// The sample of `status` from `infra/events/detail/`.
fn sample(status: &str) -> Result<Value, String> {
    let path =
        aftercare_localstack::repository_root().join(format!("infra/events/detail/{status}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Every event of `customers` customers, each with one to three orders placed at random times
/// over `span` from `start`; `run` goes into every address so mail can be told apart.
pub fn shop_events(
    customers: usize,
    start: DateTime<Utc>,
    span: Duration,
    run: &str,
    rng: &mut Rng,
) -> Result<Vec<PublishedEvent>, String> {
    let samples: Vec<(&str, Value)> = aftercare_journey::status::OrderStatus::ALL
        .iter()
        .map(|s| sample(s.as_str()).map(|v| (s.as_str(), v)))
        .collect::<Result<_, _>>()?;
    let sample_of = |status: &str| {
        samples
            .iter()
            .find(|(s, _)| *s == status)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut events = Vec::new();
    for c in 0..customers {
        let (name, locale, zone) = NAMES[c % NAMES.len()];
        let customer_id = format!("soak-{c}");
        let customer = json!({
            "id": customer_id,
            "email": format!("c{c}+{run}@example.com"),
            "name": name,
            "locale": locale,
            "time_zone": zone,
            "marketing_consent": rng.chance(0.8),
        });
        let orders = 1 + rng.below(3) as usize;
        for o in 0..orders {
            let order_id = format!("{c}-{o}");
            let placed =
                start + Duration::seconds(rng.below(span.num_seconds().max(1) as u64) as i64);
            let course = match rng.below(10) {
                0 => Course::Delayed,
                1 => Course::Cancelled,
                2 => Course::Direct,
                _ => Course::Smooth,
            };
            let eta = (placed + Duration::days(4)).date_naive().to_string();
            let later_eta = (placed + Duration::days(6)).date_naive().to_string();
            let steps: Vec<(&str, Duration)> = match course {
                Course::Smooth => vec![
                    ("placed", Duration::zero()),
                    ("confirmed", Duration::minutes(10)),
                    ("packed", Duration::hours(3)),
                    ("shipped", Duration::hours(6)),
                    ("out_for_delivery", Duration::hours(30)),
                    ("delivered", Duration::hours(31)),
                ],
                Course::Direct => vec![
                    ("placed", Duration::zero()),
                    ("confirmed", Duration::minutes(20)),
                    ("packed", Duration::hours(2)),
                    ("shipped", Duration::hours(4)),
                    ("delivered", Duration::hours(50)),
                ],
                Course::Delayed => vec![
                    ("placed", Duration::zero()),
                    ("confirmed", Duration::minutes(5)),
                    ("packed", Duration::hours(4)),
                    ("shipped", Duration::hours(8)),
                    ("delayed", Duration::hours(40)),
                    ("delivered", Duration::hours(100)),
                ],
                Course::Cancelled => vec![
                    ("placed", Duration::zero()),
                    ("confirmed", Duration::minutes(15)),
                    ("cancelled", Duration::hours(2)),
                ],
            };
            for (n, (status, after)) in steps.into_iter().enumerate() {
                let occurred_at = placed + after;
                let event_id = format!("soak-{order_id}-{n}-{status}");
                let mut detail = sample_of(status);
                detail["event_id"] = json!(event_id);
                detail["order_id"] = json!(order_id);
                detail["occurred_at"] = json!(occurred_at.to_rfc3339());
                detail["customer"] = customer.clone();
                if let Some(delivery) = detail.get_mut("delivery") {
                    delivery["eta"] = json!(eta);
                }
                if let Some(delay) = detail.get_mut("delay") {
                    delay["new_eta"] = json!(later_eta);
                }
                events.push(PublishedEvent {
                    event_id,
                    customer_id: customer_id.clone(),
                    order_id: order_id.clone(),
                    detail,
                    occurred_at,
                });
            }
        }
    }
    events.sort_by_key(|e| e.occurred_at);
    Ok(events)
}

/// The SQS body of an event: the EventBridge envelope the rule forwards, or (for shops that
/// write to the queue directly) the bare detail.
pub fn body(event: &PublishedEvent, wrapped: bool) -> String {
    if wrapped {
        json!({"version": "0", "id": format!("eb-{}", event.event_id), "detail-type": "Order Status Changed",
               "source": "shop.orders", "time": event.detail["occurred_at"], "region": "us-east-1",
               "resources": [], "detail": event.detail})
        .to_string()
    } else {
        event.detail.to_string()
    }
}
