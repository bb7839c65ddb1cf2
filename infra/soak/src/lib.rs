//! The soak: aftercare's exactly-once promise under redelivery, reordering, concurrency,
//! faults and crashes, checked against the emulator at the end.
//!
//! A simulated shop publishes every status change of its customers' orders ([`journeys`]);
//! each event reaches the order-events queue one to three times ([`queue`]), and messages are
//! received out of order within a window. Several instances of the order-events function take
//! batches at once, each in its own SDK clients behind its own listener of the fault proxy,
//! while the schedule function sweeps on its own instance; every instance may be killed at a
//! chosen point (after a commit, after SES accepted, before mark-sent), after which the
//! queue offers its records again when their visibility timeout ends, as SQS does.
//!
//! Time is simulated in rounds: every invocation of a round starts at the same wall-clock
//! instant and the clock moves on only when all have ended, so a lease runs out only for
//! invocations that are over (as in production, where leases outlast invocations) and never
//! because the machine was slow. Once all is published and the queue is empty, the faults are
//! switched off and the schedule runs until the outbox is quiet; then [`check`] reads every
//! journey and every mail the emulator took.

#![warn(missing_docs)]

pub mod check;
pub mod journeys;
pub mod queue;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::clock::ManualClock;
use aftercare_adapters::config::Config;
use aftercare_adapters::outbox::SendOutcome;
use aftercare_fault_proxy::{CrashPoint, FaultPlan, FaultProxy, Instance, Rng};
use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{DateTime, Duration, Utc};
use order_events::{OrderEventsFunction, RecordError, RecordOutcome};
use schedule::ScheduleFunction;

pub use check::{Findings, SoakReport};
use queue::Queue;

/// How big a soak is and how hostile its world.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// Customers, each with one to three orders.
    pub customers: usize,
    /// Over how long orders are placed.
    pub span: Duration,
    /// How long the soak goes on after the last event, for follow-ups to fall due.
    pub tail: Duration,
    /// Instances of order-events at once.
    pub concurrency: usize,
    /// The most records in one batch.
    pub max_batch: usize,
    /// Among how many of the first visible messages each receive picks.
    pub shuffle_window: usize,
    /// The faults between the functions and the emulator.
    pub faults: FaultPlan,
    /// The chance that an invocation is armed to crash (at a point drawn at random).
    pub crash_rate: f64,
    /// How often the schedule runs.
    pub sweep_every: Duration,
    /// Crashes of each point that must happen (armed on purpose until they did), so that a
    /// short run is sure to meet them all.
    pub crashes_per_point: u64,
    /// Faults of each kind injected on purpose early on, whatever the rates draw.
    pub forced_faults_per_kind: usize,
    /// The seed of everything drawn.
    pub seed: u64,
}

/// A round: the wall-clock step between invocations, the schedule's rate in production.
pub const ROUND: Duration = Duration::minutes(5);
/// The order-events queue's visibility timeout in `template.yaml`.
pub const VISIBILITY: Duration = Duration::seconds(200);

impl SoakConfig {
    /// The realistic fault rates both sizes run with.
    pub fn realistic_faults(seed: u64) -> FaultPlan {
        FaultPlan {
            throttle: 0.02,
            error500: 0.005,
            reset: 0.005,
            lost_answer: 0.01,
            lost_call: 0.004,
            late_answer: 0.0005,
            latency: 0.05,
            latency_range: (
                std::time::Duration::from_millis(1),
                std::time::Duration::from_millis(25),
            ),
            seed,
            ..FaultPlan::default()
        }
    }

    /// The soak `make test` runs: small enough for a minute or two, hostile enough to fail
    /// when a guarantee breaks.
    pub fn small(seed: u64) -> Self {
        Self {
            customers: 40,
            span: Duration::days(3),
            tail: Duration::days(4),
            concurrency: 4,
            max_batch: 3,
            shuffle_window: 12,
            faults: Self::realistic_faults(seed),
            crash_rate: 0.03,
            sweep_every: Duration::hours(2),
            crashes_per_point: 2,
            forced_faults_per_kind: 2,
            seed,
        }
    }

    /// The soak `make soak` runs.
    pub fn large(seed: u64) -> Self {
        Self {
            customers: 400,
            span: Duration::days(6),
            tail: Duration::days(5),
            concurrency: 6,
            max_batch: 4,
            shuffle_window: 30,
            faults: Self::realistic_faults(seed),
            crash_rate: 0.03,
            sweep_every: Duration::minutes(30),
            crashes_per_point: 3,
            forced_faults_per_kind: 2,
            seed,
        }
    }
}

/// Why a soak could not run (not: what it found).
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    /// The emulator, the proxy or the configuration could not be set up.
    #[error("setting up the soak: {0}")]
    Setup(String),
    /// Reading the end state failed.
    #[error("reading the journeys back: {0}")]
    Check(String),
}

fn setup<E: std::fmt::Display>(error: E) -> SoakError {
    SoakError::Setup(error.to_string())
}

/// One order-events instance: its own listener of the proxy and its own clients.
struct OrderInstance {
    instance: Instance,
    function: OrderEventsFunction,
}

/// The schedule's instance.
struct SweepInstance {
    instance: Instance,
    function: ScheduleFunction,
}

/// A new function instance's cold start: a listener of its own on the proxy, and SDK clients
/// built behind it.
fn cold_start(
    proxy: &FaultProxy,
) -> impl std::future::Future<Output = Result<(Instance, AwsClients), SoakError>> {
    let instance = proxy.instance();
    async move {
        let instance = instance.map_err(setup)?;
        let sdk = aftercare_localstack::sdk_config_at(instance.endpoint()).await;
        Ok((instance, AwsClients::from_config(&sdk)))
    }
}

/// What the soak counted while it ran.
#[derive(Debug, Default, Clone)]
pub struct RunCounts {
    /// Events the shop published.
    pub events: usize,
    /// SQS messages sent (each event once to three times).
    pub deliveries: usize,
    /// Batches handed to order-events.
    pub invocations: usize,
    /// Records received (a message received again counts again).
    pub records: usize,
    /// Runs of the schedule.
    pub sweeps: usize,
    /// Invocations killed at a crash point.
    pub crashed_invocations: usize,
    /// Records done whose message was left in the outbox for the relay (SES could not take it,
    /// or another sender held it).
    pub left_for_relay: usize,
    /// Records that failed and were offered again, by reason.
    pub record_failures: HashMap<String, usize>,
    /// Records answered as already applied (or their message held elsewhere) on the first
    /// attempt any copy of their event ever had: a write that took its own effect for
    /// someone else's.
    pub self_misreads: Vec<String>,
    /// Runs of the schedule that failed (DynamoDB, after the SDK's retries); the next run
    /// starts from the same checkpoint.
    pub failed_sweeps: usize,
    /// Follow-ups the sweeps sent, deferred, withheld, cancelled, relayed.
    pub sweep_totals: [usize; 5],
    /// Rounds run.
    pub rounds: usize,
}

/// Runs a soak on a fresh emulator and checks its outcome.
pub async fn run(config: &SoakConfig) -> Result<SoakReport, SoakError> {
    run_reporting(config, &|_| {}).await
}

/// [`run`], telling `progress` a line about once every simulated day.
pub async fn run_reporting(
    config: &SoakConfig,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<SoakReport, SoakError> {
    let started = Instant::now();
    let stack = aftercare_localstack::LocalStack::start().map_err(setup)?;
    let direct = AwsClients::from_config(&stack.sdk_config().await);
    let run_name = format!("soak{}", config.seed);
    let table = format!("journeys-{run_name}");
    stack.provision(&direct, &table).await.map_err(setup)?;
    let proxy = FaultProxy::start(stack.endpoint(), config.faults.clone()).map_err(setup)?;
    let shop = aftercare_localstack::local_shop_config_with(
        &table,
        &[("EVENT_BUS_NAME", &format!("{table}-bus"))],
    )
    .map_err(setup)?;

    let start: DateTime<Utc> = "2026-11-02T08:00:00Z"
        .parse()
        .map_err(|e: chrono::ParseError| setup(e))?;
    let clock = ManualClock::new(start);
    let mut rng = Rng::new(config.seed);
    let events = journeys::shop_events(config.customers, start, config.span, &run_name, &mut rng)
        .map_err(SoakError::Setup)?;
    let mut counts = RunCounts {
        events: events.len(),
        ..RunCounts::default()
    };

    // Every event reaches the queue one to three times, the copies a few minutes apart.
    let mut publications: Vec<(DateTime<Utc>, String, String, String)> = Vec::new();
    for event in &events {
        let copies = match rng.below(20) {
            0..=11 => 1,
            12..=16 => 2,
            _ => 3,
        };
        for copy in 0..copies {
            let at = event.occurred_at
                + Duration::seconds(if copy == 0 { 0 } else { rng.below(900) as i64 });
            let wrapped = rng.chance(0.7);
            publications.push((
                at,
                format!("{}#{copy}", event.event_id),
                event.event_id.clone(),
                journeys::body(event, wrapped),
            ));
        }
    }
    publications.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    counts.deliveries = publications.len();
    let last_event = events.last().map_or(start, |e| e.occurred_at);
    let end = last_event + config.tail;

    let new_order_instance = |proxy: &FaultProxy, shop: &Config, clock: &ManualClock| {
        let started = cold_start(proxy);
        let (shop, clock) = (shop.clone(), clock.clone());
        async move {
            let (instance, clients) = started.await?;
            let function = OrderEventsFunction::new(&clients, &shop, Arc::new(clock));
            Ok::<_, SoakError>(OrderInstance { instance, function })
        }
    };
    let new_sweep_instance = |proxy: &FaultProxy, shop: &Config, clock: &ManualClock| {
        let started = cold_start(proxy);
        let (shop, clock) = (shop.clone(), clock.clone());
        async move {
            let (instance, clients) = started.await?;
            let function =
                ScheduleFunction::new(&clients, &shop, Arc::new(clock)).map_err(setup)?;
            Ok::<_, SoakError>(SweepInstance { instance, function })
        }
    };
    let mut instances = Vec::new();
    for _ in 0..config.concurrency {
        instances.push(new_order_instance(&proxy, &shop, &clock).await?);
    }
    let mut sweeper = new_sweep_instance(&proxy, &shop, &clock).await?;

    let mut queue = Queue::default();
    let mut published = 0;
    let mut attempts: HashMap<String, u32> = HashMap::new();
    let mut now = start;
    let mut next_sweep = start;
    let mut invocation_number = 0u64;
    let mut quiet_rounds = 0;
    let mut last_sweep = start;
    let mut next_progress = start + Duration::days(1);
    loop {
        clock.set(now);
        while published < publications.len() && publications[published].0 <= now {
            let (at, message_id, event_id, body) = publications[published].clone();
            queue.send(message_id, event_id, body, at);
            published += 1;
        }
        let quiet = published == publications.len() && queue.is_empty() && now >= end;
        if quiet {
            if quiet_rounds == 0 {
                // The world calms down: what is still pending must now go out.
                proxy.set_plan(FaultPlan::none());
            }
            quiet_rounds += 1;
            if quiet_rounds > 3 {
                break;
            }
        }
        let crash_rate = if quiet { 0.0 } else { config.crash_rate };
        // Each instance takes a batch of one to `max_batch` records, as the event source
        // mapping hands them out.
        let sizes: Vec<usize> = (0..config.concurrency)
            .map(|_| 1 + rng.below(config.max_batch as u64) as usize)
            .collect();
        let received = queue.receive(
            now,
            sizes.iter().sum(),
            config.shuffle_window,
            VISIBILITY,
            &mut rng,
        );
        counts.records += received.len();
        let mut in_round: HashMap<String, u32> = HashMap::new();
        for message in &received {
            *in_round.entry(message.event_id.clone()).or_default() += 1;
        }
        // A record is its event's first delivery when no copy of the event was ever received
        // before and no other copy is received in this round.
        let first_delivery: std::collections::HashSet<String> = received
            .iter()
            .filter(|m| {
                !attempts.contains_key(&m.event_id) && in_round.get(&m.event_id) == Some(&1)
            })
            .map(|m| m.message_id.clone())
            .collect();
        for (event_id, n) in &in_round {
            *attempts.entry(event_id.clone()).or_default() += n;
        }
        let mut batches: Vec<Vec<queue::QueueMessage>> = vec![Vec::new(); config.concurrency];
        let mut remaining = received.into_iter();
        for (slot, size) in sizes.iter().enumerate() {
            batches[slot].extend(remaining.by_ref().take(*size));
        }
        let sweep_now = quiet || now >= next_sweep;
        if sweep_now {
            last_sweep = now;
        }
        if sweep_now {
            next_sweep = now + config.sweep_every;
        }
        // Faults of every kind early on, and crashes at every point until each happened as
        // often as asked, whatever the draws: a short run meets them all.
        let forced = config.forced_faults_per_kind * aftercare_fault_proxy::FaultKind::ALL.len();
        if !quiet && counts.rounds % 5 == 2 && counts.rounds / 5 < forced {
            let kinds = aftercare_fault_proxy::FaultKind::ALL;
            proxy.force(kinds[(counts.rounds / 5) % kinds.len()]);
            // And the nastiest fault on the write that matters most: a transaction applied
            // whose every answer is lost, which only a repeat with its token can learn of.
            proxy.force_on(
                aftercare_fault_proxy::FaultKind::LostCall,
                "TransactWriteItems",
            );
        }
        let fired = proxy.stats().crashes;
        let mut owed: Vec<CrashPoint> = if quiet {
            Vec::new()
        } else {
            CrashPoint::ALL
                .into_iter()
                .filter(|p| fired.get(p).copied().unwrap_or(0) < config.crashes_per_point)
                .collect()
        };
        let mut plans = Vec::new();
        for (i, batch) in batches.iter().enumerate() {
            if batch.is_empty() {
                continue;
            }
            // A crash owed goes to a batch received for the first time, so no record is
            // crashed on purpose again and again into the dead-letter queue.
            let fresh = batch.iter().all(|m| m.receives == 1);
            if let Some(point) = owed.pop().filter(|_| fresh) {
                instances[i].instance.arm_crash(point);
            } else if rng.chance(crash_rate) {
                let point = CrashPoint::ALL[rng.below(3) as usize];
                instances[i].instance.arm_crash(point);
            }
            invocation_number += 1;
            plans.push((i, format!("inv-{invocation_number}")));
        }
        if sweep_now && rng.chance(crash_rate) {
            sweeper
                .instance
                .arm_crash(CrashPoint::ALL[rng.below(3) as usize]);
        }

        let order_runs = plans.iter().map(|(i, invocation)| {
            let instance = &instances[*i];
            let event = sqs_event(&batches[*i]);
            async move {
                let event = event?;
                Ok::<_, SoakError>(tokio::select! {
                    report = instance.function.handle_batch(event, invocation) => Some(report),
                    _ = instance.instance.crashed() => None,
                })
            }
        });
        let sweep_run = async {
            if !sweep_now {
                return None;
            }
            let owner = format!("sweep-{}", now.format("%Y%m%dT%H%M"));
            Some(tokio::select! {
                report = sweeper.function.run(now, &owner, None) => Some(report),
                _ = sweeper.instance.crashed() => None,
            })
        };
        let (order_results, sweep_result) =
            futures::future::join(futures::future::join_all(order_runs), sweep_run).await;

        for ((i, invocation), result) in plans.iter().zip(order_results) {
            counts.invocations += 1;
            let batch = &batches[*i];
            match result? {
                None => {
                    counts.crashed_invocations += 1;
                    for message in batch {
                        queue.release(&message.message_id, &format!("{invocation}: crashed"));
                    }
                }
                Some(report) => {
                    for message in batch {
                        let Some(record) = report
                            .records
                            .iter()
                            .find(|r| r.message_id == message.message_id)
                        else {
                            queue.release(
                                &message.message_id,
                                &format!("{invocation}: not reported"),
                            );
                            continue;
                        };
                        let first = first_delivery.contains(&message.message_id);
                        match &record.result {
                            Ok(outcome) => {
                                if first && matches!(outcome, RecordOutcome::Duplicate { .. }) {
                                    // Its own write taken for an earlier delivery's (or its own
                                    // message for another sender's).
                                    counts.self_misreads.push(format!(
                                        "{}: taken for a duplicate on its first delivery",
                                        message.event_id
                                    ));
                                }
                                let left = match outcome {
                                    RecordOutcome::Processed { message, .. } => {
                                        matches!(
                                            message,
                                            Some((_, SendOutcome::LeftForRelay { .. }))
                                        )
                                    }
                                    RecordOutcome::Duplicate { resent, .. } => matches!(
                                        resent,
                                        Some(
                                            SendOutcome::LeftForRelay { .. }
                                                | SendOutcome::HeldElsewhere
                                        )
                                    ),
                                };
                                if left {
                                    counts.left_for_relay += 1;
                                }
                                queue.delete(&message.message_id);
                            }
                            Err(error) => {
                                *counts
                                    .record_failures
                                    .entry(failure_name(error).to_owned())
                                    .or_default() += 1;
                                queue.release(
                                    &message.message_id,
                                    &format!("{invocation}: {error}"),
                                );
                            }
                        }
                    }
                }
            }
        }
        if let Some(result) = sweep_result {
            counts.sweeps += 1;
            match result {
                Some(Ok(report)) => {
                    counts.sweep_totals[0] += report.sent;
                    counts.sweep_totals[1] += report.deferred;
                    counts.sweep_totals[2] += report.withheld;
                    counts.sweep_totals[3] += report.cancelled;
                    counts.sweep_totals[4] += report.relayed;
                }
                Some(Err(_)) => counts.failed_sweeps += 1,
                None => counts.crashed_invocations += 1,
            }
        }
        // A killed instance is gone; a fresh one starts cold.
        for instance in instances.iter_mut() {
            if instance.instance.is_dead() {
                *instance = new_order_instance(&proxy, &shop, &clock).await?;
            }
            // A crash armed but not reached does not carry over to the next invocation.
            instance.instance.disarm();
        }
        if sweeper.instance.is_dead() {
            sweeper = new_sweep_instance(&proxy, &shop, &clock).await?;
        }
        sweeper.instance.disarm();
        counts.rounds += 1;
        if now >= next_progress {
            next_progress = now + Duration::days(1);
            progress(&format!(
                "  {} (simulated): {}/{} deliveries sent, {} waiting, {} invocations, {} sweeps, {} crashed, {:.0} s",
                now.format("%Y-%m-%d %H:%M"),
                published,
                publications.len(),
                queue.len(),
                counts.invocations,
                counts.sweeps,
                counts.crashed_invocations,
                started.elapsed().as_secs_f64()
            ));
        }

        // The next round: five minutes on while there is work, else straight to the next.
        let mut next = now + ROUND;
        if queue.next_visible().is_none_or(|at| at > next) && !quiet {
            let upcoming = [
                publications.get(published).map(|p| p.0),
                queue.next_visible(),
                Some(next_sweep),
            ];
            if let Some(at) = upcoming.into_iter().flatten().min() {
                next = next.max(at);
            }
        }
        now = next;
    }
    let stats = proxy.stats();
    let dead_letters: Vec<String> = queue
        .dead_letters
        .iter()
        .map(|m| {
            format!(
                "{} ({}): {}",
                m.message_id,
                m.event_id,
                m.history.join(" / ")
            )
        })
        .collect();
    drop(proxy);
    // What was due by the last sweep must have been decided.
    let findings = check::check(
        &stack, &direct, &shop, &events, &run_name, &stats, last_sweep,
    )
    .await
    .map_err(SoakError::Check)?;
    Ok(SoakReport {
        config: config.clone(),
        counts,
        dead_letters,
        faults: stats,
        findings,
        wall_time: started.elapsed(),
    })
}

fn failure_name(error: &RecordError) -> &'static str {
    match error {
        RecordError::Invalid(_) => "invalid event",
        RecordError::Store(_) => "DynamoDB failed",
        RecordError::Contention { .. } => "journey kept changing",
        RecordError::Render(_) => "rendering failed",
        RecordError::OutOfTime => "out of time",
        RecordError::Bug(_) => "a bug (panicked)",
    }
}

fn sqs_event(batch: &[queue::QueueMessage]) -> Result<SqsEvent, SoakError> {
    let records: Vec<serde_json::Value> = batch
        .iter()
        .map(|m| {
            serde_json::json!({"messageId": m.message_id, "receiptHandle": "r", "body": m.body,
                "eventSource": "aws:sqs", "attributes": {"ApproximateReceiveCount": m.receives.to_string()},
                "messageAttributes": {}})
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).map_err(setup)
}
