//! The schedule's sweep: finds due work through the sparse `due_keys` index (never a scan), claims
//! each follow-up so overlapping runs never both act on it, decides it with the domain, writes
//! the decision in one transaction and sends what it decided; relays outbox messages whose
//! sender's lease ran out; and stops before the invocation's time runs out, leaving the rest
//! for the next run.
//!
//! It reads the due-index partitions from a checkpoint (the earliest hour that may still hold
//! work) to the hour of `now`, so missed runs are caught up and the cost of a run grows with the
//! due work and the hours since the checkpoint, never with the number of customers. The
//! checkpoint never moves backwards, and a catch-up after a long outage is bounded: a run reads
//! the last two hours first (today's work does not wait behind empty hours), then at most
//! [`MAX_CATCH_UP_HOURS`] of the backlog, and reports how far behind it still is.

use aftercare_journey::time_shift::{between, hours, Shift};
use std::cmp::Reverse;

use aftercare_journey::follow_ups::{decide_follow_up, FollowUpDecision};
use aftercare_journey::render::RenderError;
use aftercare_journey::settings::Settings;
use chrono::{DateTime, Duration, DurationRound, Utc};
use futures::StreamExt;
use std::sync::{Mutex, PoisonError};

use crate::clock::Clock;
use crate::deadline::Budget;
use crate::items::{CommitError, DueItem, FollowUpItem, StoreError, DUE_SHARDS};
use crate::outbox::{Outbox, SendOutcome};
use crate::panics;
use crate::ports::{HandoffBus, JourneyStore, Mailer};
use crate::retry::{self, Contended, Round};

/// How far back the very first sweep looks.
pub const FIRST_SWEEP_LOOKBACK: Duration = Duration::days(1);
/// The most hours of backlog one run reads after an outage, besides the last two hours.
pub const MAX_CATCH_UP_HOURS: i64 = 24;
/// How far back a sweep reads at most: a checkpoint older than this (left by a run that
/// believed a sample's time) is read from here instead. An outage this long is caught up in
/// 30 runs.
pub const MAX_CHECKPOINT_AGE: Duration = Duration::days(30);
/// How long a sweep holds a follow-up it claimed before another run may take it over.
pub const CLAIM_DURATION: Duration = Duration::minutes(5);
/// The time one follow-up may need (a claim, a read, a write, a send); a run that has less
/// than this left stops taking new work.
pub const TASK_TIME_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);
/// How many customers' due follow-ups a run handles at once unless told otherwise.
pub const DEFAULT_LANES: usize = 4;

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
    /// Hours of the due index before the last two that are still to be read (0 unless a
    /// catch-up after an outage is under way).
    pub hours_behind: i64,
    /// The decisions made, in order.
    pub decisions: Vec<SweepDecision>,
}

/// Why a follow-up could not be handled.
#[derive(Debug, thiserror::Error)]
enum TaskError {
    /// Claiming failed: the follow-up is still where it was filed.
    #[error(transparent)]
    Claim(StoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Contention(#[from] Contended),
}

impl TaskError {
    /// Whether trying again later may succeed.
    fn heals(&self) -> bool {
        match self {
            TaskError::Claim(error) | TaskError::Store(error) => {
                error.retry == crate::error::Retry::Transient
            }
            TaskError::Render(_) => false,
            TaskError::Contention(_) => true,
        }
    }
}

/// Runs sweeps over a store `S`, sending through an outbox with mailer `M` and bus `B`.
pub struct Sweeper<'a, S, M, B> {
    store: &'a S,
    outbox: Outbox<'a, S, M, B>,
    settings: &'a Settings,
    clock: &'a dyn Clock,
    lanes: usize,
}

/// One customer's due follow-ups of an hour, in the order they are to be handled, each with
/// its place in the hour's order.
type Lane = Vec<(usize, FollowUpItem)>;

impl<'a, S: JourneyStore, M: Mailer, B: HandoffBus> Sweeper<'a, S, M, B> {
    /// A sweeper over `store`, sending through `outbox`, deciding with `settings`; `clock` is
    /// the wall clock claims and leases are measured by.
    pub fn new(
        store: &'a S,
        outbox: Outbox<'a, S, M, B>,
        settings: &'a Settings,
        clock: &'a dyn Clock,
    ) -> Self {
        Self {
            store,
            outbox,
            settings,
            clock,
            lanes: DEFAULT_LANES,
        }
    }

    /// Handles up to `lanes` customers' follow-ups at once (at least one). One customer's
    /// follow-ups are always handled one after another, in priority order, so the frequency cap
    /// lets the most useful one go first. A run's throughput grows with its lanes: each follow-up
    /// takes four round trips and one send, about a tenth of a second on AWS, so a lane handles
    /// about ten a second, and `lanes` lanes send at most about ten times that many messages a
    /// second (keep it within the account's SES sending rate).
    pub fn with_lanes(mut self, lanes: usize) -> Self {
        self.lanes = lanes.max(1);
        self
    }

    /// One run at business time `now` (the schedule event's time) as `owner`. Reads the due
    /// index hour by hour from the checkpoint, handling each hour's work before reading the
    /// next, and stops taking work once `budget` allows no other task (the schedule gives
    /// each [`TASK_TIME_BUDGET`]). The next run starts at the earliest hour with work left, and never later
    /// than the hour before `now` (an item written just before the hour turned may land after
    /// this run read it); a believable checkpoint never moves back. One ahead of the hour of
    /// `now`, or older than [`MAX_CHECKPOINT_AGE`], is not believable and is put right.
    pub async fn run(
        &self,
        now: DateTime<Utc>,
        owner: &str,
        budget: Budget,
    ) -> Result<SweepReport, StoreError> {
        self.run_until(now, owner, &|_: &SweepReport| !budget.allows_another())
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
        let now_hour = hour_of(now);
        let saved = self.store.sweep_checkpoint().await?;
        let oldest = hour_of(now.minus(MAX_CHECKPOINT_AGE));
        let start = match saved {
            // Ahead of the hour of now: a run can only have written it after believing a time
            // ahead of its clock (before the schedule checked its event's time). Not
            // believable: this run reads from the hour before now and puts it right.
            Some(hour) if hour > now_hour => {
                tracing::warn!(checkpoint = %hour.to_rfc3339(), now = %now.to_rfc3339(), "the sweep checkpoint is ahead of now; reading from the hour before now");
                now_hour.minus(hours(1))
            }
            // Months or years back: written after believing a sample's time. Catching up from
            // there would take thousands of runs over hours that hold nothing.
            Some(hour) if hour < oldest => {
                tracing::error!(checkpoint = %hour.to_rfc3339(), from = %oldest.to_rfc3339(), "the sweep checkpoint is older than the oldest hour a sweep reads; reading from there");
                oldest
            }
            Some(hour) => hour,
            None => hour_of(now.minus(FIRST_SWEEP_LOOKBACK)),
        };
        let plan = HourPlan::new(start, now_hour);
        let mut unfinished: Option<DateTime<Utc>> = None;
        for hour in plan.hours() {
            let done =
                !stop(&report) && self.sweep_hour(hour, now, owner, stop, &mut report).await?;
            if !done {
                unfinished = Some(unfinished.map_or(hour, |u| u.min(hour)));
            }
        }
        let computed = [unfinished, plan.first_unread()]
            .into_iter()
            .flatten()
            .fold(now_hour.minus(hours(1)), DateTime::min);
        // Never backwards from a believable checkpoint.
        let checkpoint = match saved {
            Some(hour) if hour <= now_hour => computed.max(hour),
            _ => computed,
        };
        // Written only when it moves: most runs of an hour leave it where it was.
        if saved != Some(checkpoint) {
            self.store.save_sweep_checkpoint(checkpoint).await?;
        }
        report.checkpoint = Some(checkpoint);
        report.hours_behind = between(checkpoint, now_hour.minus(hours(1)))
            .num_hours()
            .max(0);
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
        // One lane per customer, in the order of each customer's first follow-up; lanes run
        // side by side, up to `self.lanes` at once.
        let mut lanes: Vec<Lane> = Vec::new();
        let mut lane_of = std::collections::HashMap::new();
        for (position, item) in follow_ups.into_iter().enumerate() {
            let lane = *lane_of
                .entry(item.follow_up.customer_id.clone())
                .or_insert_with(|| {
                    lanes.push(Vec::new());
                    lanes.len() - 1
                });
            lanes[lane].push((position, item));
        }
        let progress = Mutex::new(std::mem::take(report));
        let decided = Mutex::new(Vec::new());
        let outcomes: Vec<Result<bool, StoreError>> = futures::stream::iter(lanes)
            .map(|lane| self.sweep_lane(lane, now, owner, stop, &progress, &decided))
            .buffer_unordered(self.lanes)
            .collect()
            .await;
        *report = progress
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let mut decided = decided.into_inner().unwrap_or_else(PoisonError::into_inner);
        decided.sort_by_key(|(position, _)| *position);
        report
            .decisions
            .extend(decided.into_iter().map(|(_, decision)| decision));
        // Every lane ran to its end (none was dropped half way, with a send in flight); the
        // first error, if any, is the run's.
        let mut done = true;
        for outcome in outcomes {
            done &= outcome?;
        }
        for message in messages {
            if stop(report) {
                report.left_for_next_run += 1;
                done = false;
                continue;
            }
            match self.outbox.claim_and_deliver(&message, owner).await {
                Ok(SendOutcome::Sent { .. }) => report.relayed += 1,
                Ok(
                    SendOutcome::Rejected { .. }
                    | SendOutcome::Withheld { .. }
                    | SendOutcome::NotOurs,
                ) => {}
                Ok(
                    SendOutcome::HeldElsewhere
                    | SendOutcome::Waiting { .. }
                    | SendOutcome::LeftForRelay { .. },
                )
                | Err(_) => done = false,
            }
        }
        Ok(done)
    }

    /// Handles one customer's follow-ups of an hour one after another, counting what came of
    /// each in `progress` and recording each decision with its place in the hour's order.
    /// Returns whether all of them were done.
    async fn sweep_lane(
        &self,
        lane: Lane,
        now: DateTime<Utc>,
        owner: &str,
        stop: &(dyn Fn(&SweepReport) -> bool + Sync),
        progress: &Mutex<SweepReport>,
        decided: &Mutex<Vec<(usize, SweepDecision)>>,
    ) -> Result<bool, StoreError> {
        let count = |update: &dyn Fn(&mut SweepReport)| {
            update(&mut progress.lock().unwrap_or_else(PoisonError::into_inner));
        };
        let mut done = true;
        for (position, item) in lane {
            let stopping = stop(&progress.lock().unwrap_or_else(PoisonError::into_inner));
            if stopping {
                count(&|r| r.left_for_next_run += 1);
                done = false;
                continue;
            }
            // A claimed follow-up is filed under the hour its claim runs out (see
            // `claim_follow_up`), so one this run leaves unfinished is found again among the
            // last two hours: only work never claimed keeps this hour unfinished.
            let handled = match panics::catch(self.handle(&item, now, owner)).await {
                Ok(handled) => handled,
                Err(bug) => {
                    tracing::error!(customer_id = %crate::log_ids::customer(&item.follow_up.customer_id), key = %item.follow_up.key, %bug, "bug: deciding a follow-up panicked; set aside");
                    self.store
                        .set_aside(&item.pk, &item.sk, &bug.to_string())
                        .await?;
                    count(&|r| r.failed += 1);
                    continue;
                }
            };
            match handled {
                Ok(Some(decision)) => {
                    count(&|r| match decision.decision.as_str() {
                        "sent" => r.sent += 1,
                        "deferred" => r.deferred += 1,
                        "withheld" => r.withheld += 1,
                        _ => r.cancelled += 1,
                    });
                    decided
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push((position, decision));
                }
                Ok(None) => count(&|r| r.skipped += 1),
                Err(error) if error.heals() => {
                    tracing::warn!(customer_id = %crate::log_ids::customer(&item.follow_up.customer_id), key = %item.follow_up.key, %error, "follow-up failed; the next run tries again");
                    count(&|r| r.failed += 1);
                    if matches!(error, TaskError::Claim(_)) {
                        done = false;
                    }
                }
                Err(error) => {
                    tracing::error!(customer_id = %crate::log_ids::customer(&item.follow_up.customer_id), key = %item.follow_up.key, %error, "follow-up failed for good; set aside");
                    self.store
                        .set_aside(&item.pk, &item.sk, &error.to_string())
                        .await?;
                    count(&|r| r.failed += 1);
                }
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
            .claim_follow_up(item, owner, wall.plus(CLAIM_DURATION), wall)
            .await
            .map_err(TaskError::Claim)?
        else {
            return Ok(None);
        };
        let task = &held.follow_up;
        let held = &held;
        retry::read_decide_commit(
            3,
            &task.customer_id,
            |_| async move {
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
                        held,
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
                        Ok(Round::Done(Some(SweepDecision {
                            customer_id: task.customer_id.to_string(),
                            key: task.key.clone(),
                            kind: task.kind.message_kind().to_string(),
                            decision: decision.into(),
                            detail,
                        })))
                    }
                    Err(CommitError::Conflict) => Ok(Round::Changed),
                    Err(CommitError::Duplicate) => Ok(Round::Done(None)),
                    Err(CommitError::Store(error)) => Err(error.into()),
                }
            },
        )
        .await
    }
}

/// The start of the hour of `t`.
fn hour_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(hours(1)).unwrap_or(t)
}

/// Which hours of the due index one run reads, in order: from `start` to the hour of now when
/// that is at most [`MAX_CATCH_UP_HOURS`] plus two; otherwise the last two hours first, then
/// [`MAX_CATCH_UP_HOURS`] of the backlog from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HourPlan {
    start: DateTime<Utc>,
    now_hour: DateTime<Utc>,
}

impl HourPlan {
    fn new(start: DateTime<Utc>, now_hour: DateTime<Utc>) -> Self {
        Self {
            start: start.min(now_hour),
            now_hour,
        }
    }

    /// The last hour of the backlog this run reads, when it cannot read all of it.
    fn backlog_end(&self) -> Option<DateTime<Utc>> {
        let end = self.start.plus(hours(MAX_CATCH_UP_HOURS - 1));
        (end < self.now_hour.minus(hours(2))).then_some(end)
    }

    fn hours(&self) -> Vec<DateTime<Utc>> {
        let span = |from: DateTime<Utc>, to: DateTime<Utc>| {
            std::iter::successors(Some(from), move |h| {
                Some(h.plus(hours(1))).filter(|n| *n <= to)
            })
        };
        match self.backlog_end() {
            None => span(self.start, self.now_hour).collect(),
            Some(end) => span(self.now_hour.minus(hours(1)), self.now_hour)
                .chain(span(self.start, end))
                .collect(),
        }
    }

    /// The first hour this run leaves unread, when it cannot read the whole backlog.
    fn first_unread(&self) -> Option<DateTime<Utc>> {
        self.backlog_end().map(|end| end.plus(hours(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_run_on_time_reads_from_the_checkpoint_to_the_hour_of_now() {
        let plan = HourPlan::new(at("2026-12-01T09:00:00Z"), at("2026-12-01T11:00:00Z"));
        assert_eq!(
            plan.hours(),
            [
                at("2026-12-01T09:00:00Z"),
                at("2026-12-01T10:00:00Z"),
                at("2026-12-01T11:00:00Z")
            ]
        );
        assert_eq!(plan.first_unread(), None);
    }

    #[test]
    fn after_an_outage_a_run_reads_the_last_two_hours_first_then_a_bounded_backlog() {
        let plan = HourPlan::new(at("2026-11-20T00:00:00Z"), at("2026-12-01T11:00:00Z"));
        let hours = plan.hours();
        assert_eq!(hours.len(), 2 + MAX_CATCH_UP_HOURS as usize);
        assert_eq!(
            hours[..3],
            [
                at("2026-12-01T10:00:00Z"),
                at("2026-12-01T11:00:00Z"),
                at("2026-11-20T00:00:00Z")
            ]
        );
        assert_eq!(hours.last(), Some(&at("2026-11-20T23:00:00Z")));
        assert_eq!(plan.first_unread(), Some(at("2026-11-21T00:00:00Z")));
    }

    #[test]
    fn a_backlog_that_fits_one_run_is_read_in_order() {
        let start = at("2026-12-01T11:00:00Z").minus(hours(MAX_CATCH_UP_HOURS + 1));
        let plan = HourPlan::new(start, at("2026-12-01T11:00:00Z"));
        assert_eq!(plan.first_unread(), None);
        assert_eq!(plan.hours()[0], start);
        assert_eq!(plan.hours().len(), MAX_CATCH_UP_HOURS as usize + 2);
    }

    #[test]
    fn a_checkpoint_ahead_of_now_reads_only_the_hour_of_now() {
        let plan = HourPlan::new(at("2026-12-11T00:00:00Z"), at("2026-12-01T11:00:00Z"));
        assert_eq!(plan.hours(), [at("2026-12-01T11:00:00Z")]);
    }
}
