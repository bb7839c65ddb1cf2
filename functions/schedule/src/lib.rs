//! The schedule function: an EventBridge schedule invokes it every few minutes; the event's
//! `time` is `now` when it is believable (see [`scheduled_event`]: the stack's own rule, within
//! minutes of the function's clock). Each run sweeps the due follow-ups and relays the outbox
//! (see `aftercare_adapters::sweep`). Tests, the demo and local replays call [`ScheduleFunction::run`]
//! with the instant they mean.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::sync::Arc;
use std::time::SystemTime;

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::clock::Clock;
use aftercare_adapters::config::{Config, FunctionParts};
use aftercare_adapters::deadline::Budget;
use aftercare_adapters::dynamo::DynamoStore;
use aftercare_adapters::events::EventBus;
use aftercare_adapters::items::StoreError;
use aftercare_adapters::mailer::SesMailer;
use aftercare_adapters::outbox::Outbox;
use aftercare_adapters::ports::{HandoffBus, JourneyStore, Mailer};
use aftercare_adapters::sweep::{SweepReport, Sweeper, TASK_TIME_BUDGET};
use chrono::{DateTime, Utc};

pub mod scheduled_event;

pub use scheduled_event::Refusal;

/// Everything the function needs, built once per cold start: a journey store `S`, a mailer `M`
/// and a bus `B` for handoffs (DynamoDB, SES and EventBridge in Lambda; any implementation of
/// the ports in tests and dry runs).
pub struct ScheduleFunction<S = DynamoStore, M = SesMailer, B = EventBus> {
    store: S,
    mailer: M,
    bus: B,
    parts: FunctionParts,
    rule_arn: String,
}

/// Why a run failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The configuration lacks the event bus.
    #[error("configuration variable EVENT_BUS_NAME is not set; the schedule function publishes handoffs there")]
    NoEventBus,
    /// The configuration lacks the schedule rule.
    #[error("configuration variable SCHEDULE_RULE_ARN is not set; the schedule function believes only that rule's events")]
    NoScheduleRule,
    /// DynamoDB failed while finding due work or saving the checkpoint.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ScheduleFunction {
    /// Wires the function from its clients and configuration.
    pub fn new(
        clients: &AwsClients,
        config: &Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ScheduleError> {
        let bus = config.event_bus.as_ref().ok_or(ScheduleError::NoEventBus)?;
        let rule_arn = config
            .schedule_rule_arn
            .clone()
            .ok_or(ScheduleError::NoScheduleRule)?;
        Ok(Self::from_parts(
            DynamoStore::new(clients.dynamodb.clone(), &config.table_name),
            SesMailer::new(clients.sesv2.clone(), config),
            EventBus::new(clients.eventbridge.clone(), bus),
            rule_arn,
            FunctionParts::of(config, clock),
        ))
    }
}

impl<S: JourneyStore, M: Mailer, B: HandoffBus> ScheduleFunction<S, M, B> {
    /// The function over `store`, `mailer` and `bus` (the in-memory twin in tests and dry
    /// runs), believing only scheduled events of the rule `rule_arn`.
    pub fn from_parts(store: S, mailer: M, bus: B, rule_arn: String, parts: FunctionParts) -> Self {
        Self {
            store,
            mailer,
            bus,
            parts,
            rule_arn,
        }
    }

    /// The store, for callers that read journeys.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// One run at `now` (the schedule event's time) as invocation `invocation`, taking no new
    /// work once less than the sweep's task budget ([`TASK_TIME_BUDGET`]) is left before
    /// `deadline`.
    pub async fn run(
        &self,
        now: DateTime<Utc>,
        invocation: &str,
        deadline: Option<SystemTime>,
    ) -> Result<SweepReport, ScheduleError> {
        let report = self
            .sweeper()
            .run(
                now,
                &sweep_owner(invocation),
                Budget::new(deadline, TASK_TIME_BUDGET),
            )
            .await?;
        log_sweep(now, &report);
        Ok(report)
    }

    /// One run that stops taking new work when `stop` says so, given the progress so far.
    pub async fn run_until(
        &self,
        now: DateTime<Utc>,
        invocation: &str,
        stop: &(dyn Fn(&SweepReport) -> bool + Sync),
    ) -> Result<SweepReport, ScheduleError> {
        let report = self
            .sweeper()
            .run_until(now, &sweep_owner(invocation), stop)
            .await?;
        log_sweep(now, &report);
        Ok(report)
    }

    /// The sweeper over this function's store, sending through its outbox with its bus.
    fn sweeper(&self) -> Sweeper<'_, S, M, B> {
        let outbox = Outbox::new(
            &self.store,
            &self.mailer,
            &self.parts.settings,
            self.parts.clock.as_ref(),
            self.parts.outbox_lease,
        )
        .with_bus(&self.bus);
        Sweeper::new(
            &self.store,
            outbox,
            &self.parts.settings,
            self.parts.clock.as_ref(),
        )
        .with_lanes(self.parts.sweep_lanes)
    }

    /// Handles one invocation: a scheduled event of the stack's own rule sweeps at its `time`
    /// (see [`scheduled_event::accept`]); any other payload changes nothing and is refused,
    /// with the reason logged and answered.
    pub async fn handle(
        &self,
        event: serde_json::Value,
        invocation: &str,
        deadline: Option<SystemTime>,
    ) -> Result<ScheduleOutcome, ScheduleError> {
        match scheduled_event::accept(&event, &self.rule_arn, self.parts.clock.now()) {
            Ok(now) => Ok(ScheduleOutcome::Swept(
                self.run(now, invocation, deadline).await?,
            )),
            Err(refusal) => {
                match refusal {
                    Refusal::TooOld { .. } => {
                        tracing::warn!(%refusal, "schedule: event refused; nothing swept")
                    }
                    _ => tracing::error!(%refusal, "schedule: event refused; nothing swept"),
                }
                Ok(ScheduleOutcome::Refused(refusal))
            }
        }
    }
}

/// The owner of the claims and leases a sweep of invocation `invocation` takes.
fn sweep_owner(invocation: &str) -> String {
    format!("sweep/{invocation}")
}

/// Logs what a sweep at `now` did, and warns while it catches up after an outage.
fn log_sweep(now: DateTime<Utc>, report: &SweepReport) {
    if report.hours_behind > 0 {
        tracing::warn!(
            hours_behind = report.hours_behind,
            checkpoint = ?report.checkpoint.map(|c| c.to_rfc3339()),
            "the sweep is catching up after an outage; the next runs read on from the checkpoint"
        );
    }
    tracing::info!(
        now = %now, buckets = report.buckets_read, reads = report.read_requests, due = report.due, hours_behind = report.hours_behind,
        sent = report.sent, deferred = report.deferred, withheld = report.withheld, cancelled = report.cancelled,
        skipped = report.skipped, failed = report.failed, relayed = report.relayed, left = report.left_for_next_run,
        "sweep done"
    );
}

/// What one invocation came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleOutcome {
    /// A sweep ran.
    Swept(SweepReport),
    /// The event was not believed: nothing was read, written or sent.
    Refused(Refusal),
}

impl ScheduleOutcome {
    /// Whether the function should fail the invocation, so that its errors alarm: a refusal
    /// that a person must look at (a scheduled event naming another rule, which is what a
    /// mismatched `SCHEDULE_RULE_ARN` would make of every sweep, or one dated ahead of the
    /// clock), as opposed to a late retry the next run covers.
    pub fn needs_attention(&self) -> bool {
        matches!(
            self,
            ScheduleOutcome::Refused(Refusal::ForeignRule | Refusal::Ahead { .. })
        )
    }

    /// The function's answer: the sweep's counts, or `{"refused": <why>}`.
    pub fn answer(&self) -> serde_json::Value {
        match self {
            ScheduleOutcome::Swept(report) => serde_json::json!({
                "due": report.due,
                "sent": report.sent,
                "deferred": report.deferred,
                "withheld": report.withheld,
                "cancelled": report.cancelled,
                "relayed": report.relayed,
                "left_for_next_run": report.left_for_next_run,
                "hours_behind": report.hours_behind,
            }),
            ScheduleOutcome::Refused(refusal) => {
                serde_json::json!({ "refused": refusal.to_string() })
            }
        }
    }
}
