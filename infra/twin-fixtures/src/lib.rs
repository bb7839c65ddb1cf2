//! What the tests on the twin share, in every crate: a [`Twin`] world (the in-memory store,
//! mailer and bus, and a clock moved by hand), the local shop's configuration, and order events
//! made from the samples in `infra/events/detail/` for a given customer, order and time, with
//! the SQS and EventBridge envelopes they arrive in.
//!
//! A crate of its own, a dev-dependency only: nothing in a function links it. The samples are
//! compiled in (`include_str!`), so a test needs no file system and no emulator.

#![warn(missing_docs)]

use std::sync::Arc;

use aftercare_journey::event::{parse_order_event, AcceptedYears, OrderEvent};
use aftercare_journey::ids::CustomerId;
use aftercare_journey::order_status::{decide_order_event, BeforeEvent};
use aftercare_journey::profile::Profile;
use aftercare_journey::time_shift::Shift;
use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use aftercare_adapters::clock::{Clock, ManualClock};
use aftercare_adapters::config::{Config, FunctionParts};
use aftercare_adapters::items::{CommitError, JourneyItem, Lease, MessageItem, Versioned};
use aftercare_adapters::memory::{MemoryBus, MemoryMailer, MemoryStore};
use aftercare_adapters::ports::JourneyStore;

/// The schedule rule the fixtures' shop believes (see [`shop_config`]).
pub const SCHEDULE_RULE_ARN: &str =
    "arn:aws:events:us-east-1:123456789012:rule/aftercare-ScheduleFunctionSweep";

/// Switches off every follow-up kind, for tests that count only order-status mail.
pub const ONLY_ORDER_STATUS: (&str, &str) = (
    "DISABLED_MESSAGE_KINDS",
    "delivery_reminder,review_request,repurchase_reminder,reactivation,watchdog_update",
);

/// The local shop's configuration ("Leaf & Kettle", a link key, a bus, the schedule rule
/// [`SCHEDULE_RULE_ARN`]), with some variables set otherwise (`("QUIET_HOURS", "off")`).
pub fn shop_config(overrides: &[(&str, &str)]) -> Config {
    let defaults = [
        ("JOURNEY_TABLE", "journeys"),
        ("SENDER_EMAIL", "orders@leafandkettle.example"),
        ("SHOP_NAME", "Leaf & Kettle"),
        ("SUPPORT_EMAIL", "help@leafandkettle.example"),
        ("SUPPORT_URL", "https://leafandkettle.example/help"),
        ("EVENT_BUS_NAME", "journeys-bus"),
        ("FEEDBACK_URL", "https://leafandkettle.example"),
        ("SCHEDULE_RULE_ARN", SCHEDULE_RULE_ARN),
        (
            "LINK_SIGNING_KEYS",
            "twin-1:0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f",
        ),
        ("LOG_RAW_CUSTOMER_IDS", "true"),
    ];
    Config::from_lookup(|name| {
        overrides
            .iter()
            .chain(defaults.iter())
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    })
    .unwrap_or_else(|error| panic!("the fixtures' shop configuration does not read: {error}"))
}

/// One test's world on the twin: a store, a mailer and a bus in memory, the clock leases and
/// claims are measured by, and the shop's configuration. Clones of the twins share their
/// state, so a test hands them to the functions under test and keeps these to look.
#[derive(Clone)]
pub struct Twin {
    /// The journey table.
    pub store: MemoryStore,
    /// SES.
    pub mailer: MemoryMailer,
    /// EventBridge.
    pub bus: MemoryBus,
    /// The wall clock, moved by hand.
    pub clock: ManualClock,
    /// The shop's configuration.
    pub config: Config,
}

impl Twin {
    /// An empty world of the local shop, its clock at 2026-11-01T00:00:00Z.
    pub fn new() -> Self {
        Self::with(&[])
    }

    /// An empty world whose shop sets some configuration variables otherwise.
    pub fn with(overrides: &[(&str, &str)]) -> Self {
        Self {
            store: MemoryStore::new(),
            mailer: MemoryMailer::new(),
            bus: MemoryBus::new(),
            clock: ManualClock::new(at("2026-11-01T00:00:00Z")),
            config: shop_config(overrides),
        }
    }

    /// The parts a function takes besides its ports, on this world's clock.
    pub fn parts(&self) -> FunctionParts {
        FunctionParts::of(&self.config, Arc::new(self.clock.clone()))
    }

    /// Moves the clock past every lease taken so far.
    pub fn let_leases_expire(&self) {
        self.clock.advance(self.config.outbox_lease);
        self.clock.advance(chrono::Duration::seconds(1));
    }

    /// Everything stored of `customer`'s journey.
    pub async fn journey(&self, customer: &str) -> Vec<JourneyItem> {
        let id = CustomerId::parse(customer).unwrap_or_else(|e| panic!("{customer}: {e}"));
        self.store
            .customer_items(&id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `customer`'s messages, in sort-key order.
    pub async fn messages(&self, customer: &str) -> Vec<MessageItem> {
        messages(&self.journey(customer).await)
    }

    /// `customer`'s profile and its version; fails the test if there is none.
    pub async fn profile(&self, customer: &str) -> Versioned<Profile> {
        self.journey(customer)
            .await
            .into_iter()
            .find_map(|item| match item {
                JourneyItem::Profile(profile) => Some(profile),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no profile of {customer}"))
    }

    /// Applies an order event as an invocation `owner` that dies right after its write: the
    /// event is decided and written, and its message (returned) left pending, held by `owner`
    /// for the configured lease (or waiting for the end of quiet hours). The clock is set to
    /// the event's time first, as a replay does.
    pub async fn apply_then_crash(&self, detail: &Value, owner: &str) -> Option<MessageItem> {
        let event = parse(detail);
        self.clock.set(event.occurred_at);
        let lease = Lease {
            owner: owner.to_owned(),
            until: self.clock.now().plus(self.config.outbox_lease),
        };
        apply_event(
            &self.store,
            &event,
            &lease,
            owner,
            &self.config,
            self.clock.now(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// What a customer buys in their `k`th order of an [`order_history`]: the `items` of an order
/// event.
pub type Basket<'a> = &'a dyn Fn(u32) -> Value;

/// A varied basket: one of 40 products in 12 categories (some consumable, lasting 20 to 50
/// days), one to three of it, and every fifth order a second product.
pub fn varied_basket(k: u32) -> Value {
    let line = |n: u32| {
        json!({"sku": format!("S-{}", n % 40), "name": format!("Product {} of the range", n % 40),
               "category": format!("c{}", n % 12), "quantity": 1 + n % 3, "unit_price": "9.50",
               "replenish_every_days": 20 + n % 30})
    };
    if k % 5 == 0 {
        json!([line(k), line(k + 17)])
    } else {
        json!([line(k)])
    }
}

/// A regular customer's basket: one of six products in three categories (each consumable,
/// lasting 20 to 45 days), one or two of it, and every third order a second product; by the
/// tenth order every product has been bought again.
pub fn regular_basket(k: u32) -> Value {
    let line = |n: u32| {
        json!({"sku": format!("R-{}", n % 6), "name": format!("Regular product {}", n % 6),
               "category": format!("r{}", n % 3), "quantity": 1 + n % 2, "unit_price": "12.00",
               "replenish_every_days": 20 + 5 * (n % 6)})
    };
    if k % 3 == 0 {
        json!([line(k), line(k + 3)])
    } else {
        json!([line(k)])
    }
}

/// Replays `orders` orders of `customer` on the twin as the shop and the schedule would make
/// them, one every three days from 2026-01-05: each placed, shipped the next day and delivered
/// the day after, what each event decided sent at once, and the schedule caught up (sending
/// what fell due) before each order. The items of order `k` are `basket(k)`. Returns when the history
/// ends: three days after the last order.
pub async fn order_history(
    twin: &Twin,
    customer: &str,
    orders: u32,
    basket: Basket<'_>,
) -> DateTime<Utc> {
    use aftercare_adapters::deadline::Budget;
    use aftercare_adapters::outbox::Outbox;
    use aftercare_adapters::sweep::Sweeper;
    let start = at("2026-01-05T10:00:00Z");
    let outbox = || {
        Outbox::new(
            &twin.store,
            &twin.mailer,
            &twin.config.settings,
            &twin.clock,
            twin.config.outbox_lease,
        )
        .with_bus(&twin.bus)
    };
    let mut day = start;
    for k in 0..orders {
        day = start + chrono::Duration::days(3 * i64::from(k));
        // The schedule runs every few minutes; here it catches up, in runs of a day or so, on
        // the days since the last order at 10:30 the evening before in Los Angeles (the
        // samples' zone), when follow-ups are not held for quiet hours.
        let sweep_at = day - chrono::Duration::minutes(15 * 60 + 30);
        twin.clock.set(sweep_at);
        for _ in 0..8 {
            let run = Sweeper::new(&twin.store, outbox(), &twin.config.settings, &twin.clock)
                .run(sweep_at, "history-sweep", Budget::UNLIMITED)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            if run.hours_behind == 0 {
                break;
            }
        }
        let order = format!("H-{k}");
        for (status, after_days) in [("placed", 0), ("shipped", 1), ("delivered", 2)] {
            let when = day + chrono::Duration::days(after_days);
            let mut event = order_event(
                status,
                customer,
                &order,
                &format!("{order}-{status}"),
                &when.to_rfc3339(),
            );
            event["items"] = basket(k);
            event["total"] = json!({"amount": "19.00", "currency": "EUR"});
            let message = twin.apply_then_crash(&event, "history").await;
            // A message that waits for the end of quiet hours is the schedule's to send.
            let now = message.filter(|m| !Lease::of(m).is_some_and(|l| l.is_scheduled()));
            if let Some(message) = now {
                outbox()
                    .deliver_held(&message, "history")
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
    day + chrono::Duration::days(3)
}

impl Default for Twin {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads, decides and writes one order event on `store` as invocation `owner`, the message
/// held by `lease` (or, when the decision says it waits for quiet hours, by a scheduled lease
/// until then). Returns the message written, if any, and [`CommitError::Duplicate`] if the
/// order's timeline records the event already. Sends nothing.
pub async fn apply_event<S: JourneyStore>(
    store: &S,
    event: &OrderEvent,
    lease: &Lease,
    owner: &str,
    config: &Config,
    written_at: DateTime<Utc>,
) -> Result<Option<MessageItem>, CommitError> {
    let loaded = store
        .load_profile_and_order(&event.customer.id, Some(&event.order_id))
        .await?;
    if loaded.decided_before(&event.event_id).is_some() {
        return Err(CommitError::Duplicate);
    }
    let before = BeforeEvent {
        profile: loaded.profile.as_ref().map(|p| p.value.clone()),
        order: loaded.order.as_ref().map(|o| o.value.clone()),
    };
    let decision = decide_order_event(&before, event, &config.settings)
        .unwrap_or_else(|e| panic!("the sample event does not render: {e}"));
    let lease = match decision.deliver_at {
        Some(until) => Lease::scheduled(until),
        None => lease.clone(),
    };
    store
        .commit_order_event(&loaded, event, &decision, &lease, owner, written_at)
        .await
}

/// The messages among `items`, in their order.
pub fn messages(items: &[JourneyItem]) -> Vec<MessageItem> {
    items
        .iter()
        .filter_map(|item| match item {
            JourneyItem::Message(message) => Some((**message).clone()),
            _ => None,
        })
        .collect()
}

/// The readable sample order event of `status` from `infra/events/detail/`.
pub fn sample_detail(status: &str) -> Value {
    let text = match status {
        "placed" => include_str!("../../events/detail/placed.json"),
        "confirmed" => include_str!("../../events/detail/confirmed.json"),
        "packed" => include_str!("../../events/detail/packed.json"),
        "shipped" => include_str!("../../events/detail/shipped.json"),
        "out_for_delivery" => {
            include_str!("../../events/detail/out_for_delivery.json")
        }
        "delayed" => include_str!("../../events/detail/delayed.json"),
        "delivered" => include_str!("../../events/detail/delivered.json"),
        "cancelled" => include_str!("../../events/detail/cancelled.json"),
        other => panic!("no sample order event of status {other}"),
    };
    serde_json::from_str(text).unwrap_or_else(|e| panic!("sample {status}: {e}"))
}

/// The sample order event of `status`, for `customer` (`cus-…`, mail to
/// `<customer>@example.com`), `order`, with id `event_id`, occurring `at`.
pub fn order_event(status: &str, customer: &str, order: &str, event_id: &str, at: &str) -> Value {
    let mut detail = sample_detail(status);
    detail["customer"]["id"] = json!(customer);
    detail["customer"]["email"] = json!(format!("{customer}@example.com"));
    detail["order_id"] = json!(order);
    detail["event_id"] = json!(event_id);
    detail["occurred_at"] = json!(at);
    detail
}

/// The placed and delivered events of `order` for `customer`: one tea, placed and delivered
/// at the given times. Its review request falls due three days after delivery at 10:00 in the
/// customer's zone (Los Angeles).
pub fn delivered_order(customer: &str, order: &str, placed: &str, delivered: &str) -> [Value; 2] {
    let mut placed_event = order_event(
        "placed",
        customer,
        order,
        &format!("{order}-placed"),
        placed,
    );
    placed_event["items"] = json!([{"sku": "TEA-1", "name": "Assam", "category": "tea", "quantity": 1, "unit_price": "9.00"}]);
    let mut delivered_event = placed_event.clone();
    delivered_event["status"] = json!("delivered");
    delivered_event["event_id"] = json!(format!("{order}-delivered"));
    delivered_event["occurred_at"] = json!(delivered);
    [placed_event, delivered_event]
}

/// An order event wrapped in the EventBridge envelope the rule forwards to SQS.
pub fn envelope(detail: &Value) -> String {
    json!({"version": "0", "id": "eb-1", "detail-type": "Order Status Changed", "source": "shop.orders",
           "time": detail["occurred_at"], "region": "us-east-1", "resources": [], "detail": detail})
    .to_string()
}

/// The order event `detail` as the functions parse it.
pub fn parse(detail: &Value) -> OrderEvent {
    parse_order_event(&envelope(detail), &AcceptedYears::default())
        .unwrap_or_else(|e| panic!("the event does not parse: {e}"))
}

/// An SQS event with one record per `(message id, body)`.
pub fn sqs_event(records: &[(&str, String)]) -> SqsEvent {
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| json!({"messageId": id, "receiptHandle": "r", "body": body, "eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {}}))
        .collect();
    serde_json::from_value(json!({ "Records": records }))
        .unwrap_or_else(|e| panic!("not an SQS event: {e}"))
}

/// Runs `futures` truly at the same time and returns their outputs in order: each on a thread
/// of its own from the current multi-threaded runtime's blocking pool, all released together.
/// The twins answer without yielding, so tasks spawned from one worker would mostly run one
/// after the other; here each call of the store is a step another future may interleave with.
/// Tests assert what holds for every interleaving.
pub async fn at_once<T, F>(futures: Vec<F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let runtime = tokio::runtime::Handle::current();
    let start = Arc::new(std::sync::Barrier::new(futures.len()));
    let running: Vec<_> = futures
        .into_iter()
        .map(|future| {
            let (runtime, start) = (runtime.clone(), Arc::clone(&start));
            tokio::task::spawn_blocking(move || {
                start.wait();
                runtime.block_on(future)
            })
        })
        .collect();
    let mut outputs = Vec::with_capacity(running.len());
    for future in running {
        outputs.push(future.await.unwrap_or_else(|e| panic!("{e}")));
    }
    outputs
}

/// A UTC instant from RFC 3339.
pub fn at(text: &str) -> DateTime<Utc> {
    text.parse()
        .unwrap_or_else(|e| panic!("{text} is not an RFC 3339 instant: {e}"))
}
