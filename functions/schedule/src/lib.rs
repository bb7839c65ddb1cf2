//! The schedule function: an EventBridge schedule invokes it every few minutes; the event's
//! `time` is `now`, so replaying past schedule events replays time. Each run sweeps the due
//! follow-ups and relays the outbox (see `aftercare_adapters::sweep`).

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::sync::Arc;
use std::time::SystemTime;

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::clock::Clock;
use aftercare_adapters::config::Config;
use aftercare_adapters::events::EventBus;
use aftercare_adapters::mailer::SesMailer;
use aftercare_adapters::outbox::Outbox;
use aftercare_adapters::store::{JourneyStore, StoreError};
use aftercare_adapters::sweep::{SweepReport, Sweeper};
use aftercare_journey::settings::Settings;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};

/// Everything the function needs, built once per cold start.
pub struct ScheduleFunction {
    store: JourneyStore,
    mailer: SesMailer,
    bus: EventBus,
    settings: Settings,
    clock: Arc<dyn Clock>,
    lease: chrono::Duration,
}

/// Why a run failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The configuration lacks the event bus.
    #[error("configuration variable EVENT_BUS_NAME is not set; the schedule function publishes handoffs there")]
    NoEventBus,
    /// The scheduled event carries no `time`, so there is no `now`.
    #[error("the scheduled event has no `time` field; it is the sweep's now")]
    NoTime,
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
        Ok(Self {
            store: JourneyStore::new(clients.dynamodb.clone(), &config.table_name),
            mailer: SesMailer::new(clients.sesv2.clone(), config),
            bus: EventBus::new(clients.eventbridge.clone(), bus),
            settings: config.settings.clone(),
            clock,
            lease: config.outbox_lease,
        })
    }

    /// The store, for callers that read journeys.
    pub fn store(&self) -> &JourneyStore {
        &self.store
    }

    /// One run at `now` (the schedule event's time) as invocation `invocation`, taking no new
    /// work once less than the sweep's task budget is left before `deadline`.
    pub async fn run(
        &self,
        now: DateTime<Utc>,
        invocation: &str,
        deadline: Option<SystemTime>,
    ) -> Result<SweepReport, ScheduleError> {
        let stop = move |_: &SweepReport| {
            deadline.is_some_and(|d| {
                d.duration_since(SystemTime::now()).unwrap_or_default()
                    < aftercare_adapters::sweep::TASK_TIME_BUDGET
            })
        };
        self.run_until(now, invocation, &stop).await
    }

    /// One run that stops taking new work when `stop` says so, given the progress so far.
    pub async fn run_until(
        &self,
        now: DateTime<Utc>,
        invocation: &str,
        stop: &(dyn Fn(&SweepReport) -> bool + Sync),
    ) -> Result<SweepReport, ScheduleError> {
        let outbox = Outbox::new(&self.store, &self.mailer, self.clock.as_ref(), self.lease)
            .with_bus(&self.bus);
        let sweeper = Sweeper::new(&self.store, outbox, &self.settings, self.clock.as_ref());
        let report = sweeper
            .run_until(now, &format!("sweep/{invocation}"), stop)
            .await?;
        tracing::info!(
            now = %now, buckets = report.buckets_read, reads = report.read_requests, due = report.due,
            sent = report.sent, deferred = report.deferred, withheld = report.withheld, cancelled = report.cancelled,
            skipped = report.skipped, failed = report.failed, relayed = report.relayed, left = report.left_for_next_run,
            "sweep done"
        );
        Ok(report)
    }

    /// Handles one scheduled event: its `time` is `now`.
    pub async fn handle(
        &self,
        event: EventBridgeEvent<serde_json::Value>,
        invocation: &str,
        deadline: Option<SystemTime>,
    ) -> Result<SweepReport, ScheduleError> {
        let now = event.time.ok_or(ScheduleError::NoTime)?;
        self.run(now, invocation, deadline).await
    }
}
