//! The schedule's sweep: finds due work through the sparse `due` index (never a scan), claims
//! each follow-up so overlapping runs never both act on it, decides it with the domain, writes
//! the decision in one transaction and sends what it decided; relays outbox messages whose
//! sender's lease ran out; and stops before the invocation's time runs out, leaving the rest
//! for the next run.
//!
//! It reads the due-index partitions from a checkpoint (the earliest hour that may still hold
//! work) to the hour of `now`, so missed runs are caught up and the cost of a run grows with the
//! due work and the hours since the checkpoint, never with the number of customers.

use std::cmp::Reverse;
use std::time::SystemTime;

use aftercare_journey::followups::{decide_follow_up, FollowUpDecision};
use aftercare_journey::render::RenderError;
use aftercare_journey::settings::Settings;
use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::clock::Clock;
use crate::follow_up_store::DueItem;
use crate::outbox::{Delivery, Outbox};
use crate::store::{CommitError, FollowUpItem, JourneyStore, StoreError, DUE_SHARDS};

/// How far back the very first sweep looks.
pub const FIRST_SWEEP_LOOKBACK: Duration = Duration::days(1);
/// How long a sweep holds a follow-up it claimed before another run may take it over.
pub const CLAIM_DURATION: Duration = Duration::minutes(5);
/// The time one follow-up may need (a claim, a read, a write, a send); a run that has less
/// than this left stops taking new work.
pub const TASK_TIME_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// One decision a run made, for logs and the demo's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepDecision {
    /// Whose.
    pub customer_id: String,
    /// Which follow-up.
    pub key: String,
    /// The message kind.
    pub kind: String,
    /// `sent`, `deferred`, `withheld` or `cancelled`.
    pub decision: String,
    /// Why, or the subject of what was sent.
    pub detail: String,
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Due-index partitions read.
    pub buckets_read: usize,
    /// DynamoDB read requests made.
    pub read_requests: usize,
    /// Follow-ups found due.
    pub due: usize,
    /// Messages sent.
    pub sent: usize,
    /// Follow-ups moved to later (quiet hours, frequency cap).
    pub deferred: usize,
    /// Follow-ups withheld on purpose (switched off, no consent, holdout).
    pub withheld: usize,
    /// Follow-ups no longer useful.
    pub cancelled: usize,
    /// Follow-ups another run held.
    pub skipped: usize,
    /// Follow-ups that failed and will be tried again.
    pub failed: usize,
    /// Outbox messages relayed after their sender's lease ran out.
    pub relayed: usize,
    /// Work left for the next run because time ran short.
    pub left_for_next_run: usize,
    /// The hour the next run starts reading at.
    pub checkpoint: Option<DateTime<Utc>>,
    /// The decisions made, in order.
    pub decisions: Vec<SweepDecision>,
}

/// Why a follow-up could not be handled.
#[derive(Debug, thiserror::Error)]
enum TaskError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("the journey kept changing while deciding")]
    Contention,
}

impl TaskError {
    /// Whether trying again later may succeed.
    fn heals(&self) -> bool {
        match self {
            TaskError::Store(error) => error.retry == crate::error::Retry::Transient,
            TaskError::Render(_) => false,
            TaskError::Contention => true,
        }
    }
}

/// Runs sweeps.
pub struct Sweeper<'a> {
    store: &'a JourneyStore,
    outbox: Outbox<'a>,
    settings: &'a Settings,
    clock: &'a dyn Clock,
}

impl<'a> Sweeper<'a> {
    /// A sweeper over `store`, sending through `outbox`, deciding with `settings`; `clock` is
    /// the wall clock claims and leases are measured by.
    pub fn new(
        store: &'a JourneyStore,
        outbox: Outbox<'a>,
        settings: &'a Settings,
        clock: &'a dyn Clock,
    ) -> Self {
        Self {
            store,
            outbox,
            settings,
            clock,
        }
    }

    /// One run at business time `now` (the schedule event's time) as `owner`. Reads the due
    /// index hour by hour from the checkpoint, handling each hour's work before reading the
    /// next, and stops taking work when less than [`TASK_TIME_BUDGET`] is left before
    /// `deadline`. The next run starts at the earliest hour with work left, and never later
    /// than the hour before `now` (an item written just before the hour turned may land after
    /// this run read it).
    pub async fn run(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        deadline: Option<SystemTime>,
    ) -> Result<SweepReport, StoreError> {
        self.run_until(now, owner, &|_: &SweepReport| out_of_time(deadline))
            .await
    }

    /// [`Sweeper::run`], stopping new work as soon as `stop` says so, given the progress so far.
    pub async fn run_until(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        stop: &(dyn Fn(&SweepReport) -> bool + Sync),
    ) -> Result<SweepReport, StoreError> {
        let reads_before = self.store.read_requests();
        let mut report = SweepReport::default();
        let hour_of = |t: DateTime<Utc>| t.duration_trunc(Duration::hours(1)).unwrap_or(t);
        let now_hour = hour_of(now);
        let first_hour = match self.store.sweep_checkpoint().await? {
            Some(hour) => hour.min(now_hour),
            None => hour_of(now - FIRST_SWEEP_LOOKBACK),
        };
        let mut unfinished: Option<DateTime<Utc>> = None;
        let mut hour = first_hour;
        while hour <= now_hour {
            if stop(&report) {
                unfinished.get_or_insert(hour);
                break;
            }
            if !self.sweep_hour(hour, now, owner, stop, &mut report).await? {
                unfinished.get_or_insert(hour);
            }
            hour += Duration::hours(1);
        }
        let checkpoint = unfinished
            .unwrap_or(now_hour)
            .min(now_hour - Duration::hours(1));
        self.store.save_sweep_checkpoint(checkpoint).await?;
        report.checkpoint = Some(checkpoint);
        report.read_requests = self.store.read_requests() - reads_before;
        Ok(report)
    }

    /// Reads and handles one hour of the due index. Returns whether all of it was done.
    async fn sweep_hour(
        &self,
        hour: DateTime<Utc>,
        now: DateTime<Utc>,
        owner: &str,
        stop: &(dyn Fn(&SweepReport) -> bool + Sync),
        report: &mut SweepReport,
    ) -> Result<bool, StoreError> {
        let mut follow_ups = Vec::new();
        let mut messages = Vec::new();
        for shard in 0..DUE_SHARDS {
            let bucket = format!("{}#{shard}", hour.format("%Y-%m-%dT%H"));
            report.buckets_read += 1;
            for item in self.store.due_items(&bucket, now).await? {
                match item {
                    DueItem::FollowUp(f) => follow_ups.push(*f),
                    DueItem::Message(m) => messages.push(*m),
                }
            }
        }
        report.due += follow_ups.len();
        // Urgent kinds first; among the rest the higher priority goes first, so that when the
        // frequency cap allows one message, it is the most useful one.
        follow_ups.sort_by_key(|item| {
            let kind = item.follow_up.kind.message_kind();
            (
                !kind.is_transactional(),
                Reverse(kind.priority()),
                item.due_at.clone(),
            )
        });
        let mut done = true;
        for item in follow_ups {
            if stop(report) {
                report.left_for_next_run += 1;
                done = false;
                continue;
            }
            match self.handle(&item, now, owner).await {
                Ok(Some(decision)) => {
                    match decision.decision.as_str() {
                        "sent" => report.sent += 1,
                        "deferred" => report.deferred += 1,
                        "withheld" => report.withheld += 1,
                        _ => report.cancelled += 1,
                    }
                    report.decisions.push(decision);
                }
                Ok(None) => {
                    report.skipped += 1;
                    done = false;
                }
                Err(error) if error.heals() => {
                    tracing::warn!(customer_id = %crate::log_ids::customer(&item.follow_up.customer_id), key = %item.follow_up.key, %error, "follow-up failed; the next run tries again");
                    report.failed += 1;
                    done = false;
                }
                Err(error) => {
                    tracing::error!(customer_id = %crate::log_ids::customer(&item.follow_up.customer_id), key = %item.follow_up.key, %error, "follow-up failed for good; set aside");
                    self.store
                        .set_aside(&item.pk, &item.sk, &error.to_string())
                        .await?;
                    report.failed += 1;
                }
            }
        }
        for message in messages {
            if stop(report) {
                report.left_for_next_run += 1;
                done = false;
                continue;
            }
            match self.outbox.claim_and_deliver(&message, owner).await {
                Ok(Delivery::Sent { .. }) => report.relayed += 1,
                Ok(Delivery::Rejected { .. } | Delivery::Withheld { .. } | Delivery::NotOurs) => {}
                Ok(
                    Delivery::HeldElsewhere
                    | Delivery::Waiting { .. }
                    | Delivery::LeftForRelay { .. },
                )
                | Err(_) => done = false,
            }
        }
        Ok(done)
    }

    /// Claims, decides, writes and sends one follow-up. `None` if another run holds it.
    async fn handle(
        &self,
        item: &FollowUpItem,
        now: DateTime<Utc>,
        owner: &str,
    ) -> Result<Option<SweepDecision>, TaskError> {
        let wall = self.clock.now();
        let Some(held) = self
            .store
            .claim_follow_up(item, owner, wall + CLAIM_DURATION, wall)
            .await?
        else {
            return Ok(None);
        };
        let task = &held.follow_up;
        for _ in 0..3 {
            let loaded = self
                .store
                .load_profile_and_order(&task.customer_id, task.order_id.as_ref())
                .await?;
            let Some(profile) = loaded.profile else {
                return Err(TaskError::Store(StoreError {
                    operation: "BatchGetItem",
                    retry: crate::error::Retry::Permanent,
                    detail: format!("follow-up {} of an unknown customer", task.key),
                }));
            };
            let outcome = decide_follow_up(
                task,
                &profile.value,
                loaded.order.as_ref().map(|o| &o.value),
                now,
                self.settings,
            )?;
            let lease = self.outbox.lease_for(owner);
            match self
                .store
                .commit_follow_up(
                    profile.version,
                    &held,
                    &outcome,
                    now,
                    &lease,
                    self.clock.now(),
                )
                .await
            {
                Ok(message) => {
                    let (decision, detail) = match &outcome.decision {
                        FollowUpDecision::Send { message, .. } => ("sent", message.subject.clone()),
                        FollowUpDecision::Defer { until, reason } => (
                            "deferred",
                            format!("{reason}; until {}", until.to_rfc3339()),
                        ),
                        FollowUpDecision::Withhold { reason } => ("withheld", reason.clone()),
                        FollowUpDecision::Cancel { reason } => ("cancelled", reason.clone()),
                    };
                    if let Some(message) = message {
                        if let Err(error) = self.outbox.deliver_held(&message, owner).await {
                            // Decided and written: the relay sends it once the lease runs out.
                            tracing::warn!(message_id = %message.message_id, %error, "send failed; kept in the outbox");
                        }
                    }
                    return Ok(Some(SweepDecision {
                        customer_id: task.customer_id.to_string(),
                        key: task.key.clone(),
                        kind: task.kind.message_kind().to_string(),
                        decision: decision.into(),
                        detail,
                    }));
                }
                Err(CommitError::Conflict) => continue,
                Err(CommitError::Duplicate) => return Ok(None),
                Err(CommitError::Store(error)) => return Err(error.into()),
            }
        }
        Err(TaskError::Contention)
    }
}

fn out_of_time(deadline: Option<SystemTime>) -> bool {
    deadline
        .is_some_and(|d| d.duration_since(SystemTime::now()).unwrap_or_default() < TASK_TIME_BUDGET)
}
