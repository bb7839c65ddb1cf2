//! The integration-test harness: one moto server per test binary (started on first use,
//! stopped when the binary exits), a fresh table per test, and helpers to build events from the
//! sample files in `infra/events/` and to read what was sent.

use std::sync::{Arc, OnceLock};

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::clock::{Clock, ManualClock};
use aftercare_adapters::config::Config;
use aftercare_adapters::items::JourneyItem;
use aftercare_adapters::ports::JourneyStore;
use aftercare_journey::ids::CustomerId;
use aftercare_localstack::{LocalStack, SentMail};
use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{DateTime, Utc};
use order_events::OrderEventsFunction;
use serde_json::{json, Value};

pub use aftercare_localstack::SENDER_DOMAIN;

pub mod ratings;

/// The emulator shared by the tests of one binary. A missing emulator fails the test with the
/// command that installs it: it is never skipped.
pub fn stack() -> &'static LocalStack {
    static STACK: OnceLock<LocalStack> = OnceLock::new();
    STACK.get_or_init(|| LocalStack::start().unwrap_or_else(|error| panic!("{error}")))
}

pub use aftercare_localstack::ses_event_body;

/// One test's world: its own table, its own recipients, a clock it moves by hand.
pub struct World {
    /// The test's name; it is in every recipient address, so sent mail can be told apart.
    pub name: String,
    /// The function under test.
    pub function: OrderEventsFunction,
    /// The schedule function, over the same table.
    pub schedule: schedule::ScheduleFunction,
    /// The feedback function, over the same table.
    pub feedback: feedback::FeedbackFunction,
    /// The helpdesk-events function, over the same table.
    pub helpdesk: helpdesk_events::HelpdeskEventsFunction,
    /// The SES events function, over the same table.
    pub ses_events: ses_events::SesEventsFunction,
    /// The clock leases are measured by.
    pub clock: ManualClock,
    /// Clients for the emulator.
    pub clients: AwsClients,
    /// The configuration the function runs with.
    pub config: Config,
    start: DateTime<Utc>,
}

impl World {
    /// A world for the test `name` (letters, digits and `-` only).
    pub async fn new(name: &str) -> Self {
        Self::with(name, &[]).await
    }

    /// A world whose shop sets some configuration variables otherwise.
    pub async fn with(name: &str, overrides: &[(&str, &str)]) -> Self {
        let stack = stack();
        let sdk = stack.sdk_config().await;
        let clients = AwsClients::from_config(&sdk);
        let table = format!("journeys-{name}");
        stack
            .create_table(&clients.dynamodb, &table)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // Verifying twice is refused as already done; either way the domain is verified.
        let _ = stack.verify_identity(&clients.sesv2, SENDER_DOMAIN).await;
        let config = aftercare_localstack::local_shop_config_with(&table, overrides).unwrap();
        let start = Utc::now();
        let clock = ManualClock::new(start);
        let function = OrderEventsFunction::new(&clients, &config, Arc::new(clock.clone()));
        stack
            .route_handoffs(
                &clients.eventbridge,
                config.event_bus.as_deref().unwrap_or_default(),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let feedback = feedback::FeedbackFunction::new(&clients, &config, Arc::new(clock.clone()));
        let helpdesk = helpdesk_events::HelpdeskEventsFunction::new(
            &clients,
            &config.core(),
            Arc::new(clock.clone()),
        );
        let ses_events =
            ses_events::SesEventsFunction::new(&clients, &config, Arc::new(clock.clone()));
        let schedule = schedule::ScheduleFunction::new(&clients, &config, Arc::new(clock.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
        Self {
            name: name.to_owned(),
            function,
            schedule,
            feedback,
            helpdesk,
            ses_events,
            clock,
            clients,
            config,
            start,
        }
    }

    /// The same function wired to an SES endpoint that refuses connections: every send
    /// fails transiently.
    pub async fn with_unreachable_ses(&self) -> OrderEventsFunction {
        let sdk = aftercare_adapters::aws::base_loader()
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(stack().endpoint())
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local", "local", None, None, "test",
            ))
            .load()
            .await;
        let ses = aws_sdk_sesv2::config::Builder::from(&sdk)
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let clients = AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            sesv2: aws_sdk_sesv2::Client::from_conf(ses),
            eventbridge: aws_sdk_eventbridge::Client::new(&sdk),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
        };
        OrderEventsFunction::new(&clients, &self.config, Arc::new(self.clock.clone()))
    }

    /// The store under test.
    pub fn store(&self) -> &aftercare_adapters::dynamo::DynamoStore {
        self.function.store()
    }

    /// The recipient address of customer `n` in this test.
    pub fn email(&self, n: u32) -> String {
        format!("customer{n}+{}@example.com", self.name)
    }

    /// An order event body from the sample of `status`, for customer `n` of this test.
    pub fn event(
        &self,
        status: &str,
        customer: u32,
        order: &str,
        event_id: &str,
        at: &str,
    ) -> Value {
        let mut detail = sample_detail(status);
        detail["customer"]["id"] = json!(format!("cus-{customer}"));
        detail["customer"]["email"] = json!(self.email(customer));
        detail["order_id"] = json!(order);
        detail["event_id"] = json!(event_id);
        detail["occurred_at"] = json!(at);
        detail
    }

    /// Applies an order event the way an invocation does that dies right after its write: the
    /// event is applied and its message left pending, held by `owner` until the lease runs out.
    pub async fn apply_then_crash(&self, detail: &Value, owner: &str) {
        let event = aftercare_journey::event::parse_order_event(
            &envelope(detail),
            &aftercare_journey::event::AcceptedYears::default(),
        )
        .unwrap();
        self.function.apply(&event, owner).await.unwrap();
    }

    /// Every message sent to this test's recipients so far.
    pub fn sent(&self) -> Vec<SentMail> {
        let marker = format!("+{}@", self.name);
        stack()
            .sent_mail()
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .filter(|m| m.to.contains(&marker))
            .collect()
    }

    /// The journey of customer `n`.
    pub async fn journey(&self, customer: u32) -> Vec<JourneyItem> {
        let id = CustomerId::parse(format!("cus-{customer}")).unwrap();
        self.store().customer_items(&id).await.unwrap()
    }

    /// The profile of customer `n`; fails the test if there is none.
    pub async fn profile(&self, customer: u32) -> aftercare_journey::profile::Profile {
        self.journey(customer)
            .await
            .into_iter()
            .find_map(|i| match i {
                JourneyItem::Profile(p) => Some(p.value),
                _ => None,
            })
            .expect("a profile")
    }

    /// When the test began: the relay's watermark.
    pub fn clock_start(&self) -> DateTime<Utc> {
        self.start
    }

    /// Handles order events as the shop would send them at their own times: the wall clock
    /// follows each event, as it does in production.
    pub async fn replay(&self, events: &[Value]) {
        for (i, event) in events.iter().enumerate() {
            self.clock.set(at(event["occurred_at"].as_str().unwrap()));
            let report = self
                .function
                .handle_batch(sqs_event(&[(&format!("m{i}"), envelope(event))]), "inv")
                .await;
            assert!(report.response.batch_item_failures.is_empty(), "{report:?}");
        }
    }

    /// Runs the schedule at `time` (the clock is set to it first).
    pub async fn sweep(&self, time: &str) -> aftercare_adapters::sweep::SweepReport {
        self.clock.set(at(time));
        self.schedule
            .run(at(time), "test", None)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs the schedule at the clock's current time, as the outbox relay runs in production.
    pub async fn relay(&self, owner: &str) -> aftercare_adapters::sweep::SweepReport {
        self.schedule
            .run(self.clock.now(), owner, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Moves the lease clock past every lease taken so far.
    pub fn let_leases_expire(&self) {
        self.clock
            .advance(self.config.outbox_lease + chrono::Duration::seconds(1));
    }
}

/// The readable sample event of `status` from `infra/events/detail/`.
pub fn sample_detail(status: &str) -> Value {
    let path =
        aftercare_localstack::repository_root().join(format!("infra/events/detail/{status}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The Lambda payload of `status` from `infra/events/` (an SQS event).
pub fn sample_sqs_event(status: &str) -> SqsEvent {
    let path = aftercare_localstack::repository_root().join(format!("infra/events/{status}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// An SQS event with one record per `(message id, body)`.
pub fn sqs_event(records: &[(&str, String)]) -> SqsEvent {
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| json!({"messageId": id, "receiptHandle": "r", "body": body, "eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {}}))
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

/// Wraps an order event in the EventBridge envelope the rule forwards.
pub fn envelope(detail: &Value) -> String {
    json!({"version": "0", "id": "eb-1", "detail-type": "Order Status Changed", "source": "shop.orders",
           "time": detail["occurred_at"], "region": "us-east-1", "resources": [], "detail": detail})
    .to_string()
}

/// A UTC instant from RFC 3339.
pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}
