//! The sweep's exactly-once scenarios on the in-memory twin: overlapping runs, a run stopped by
//! its budget, a commit whose answer was lost, and what a run costs. The follow-ups are the
//! domain's own, planned by the sample order events; time is a `ManualClock`.

use aftercare_adapters::clock::Clock;
use aftercare_adapters::deadline::Budget;
use aftercare_adapters::items::follow_up_decisions;
use aftercare_adapters::memory::{Fault, MemoryBus, MemoryMailer, MemoryStore, Operation};
use aftercare_adapters::outbox::Outbox;
use aftercare_adapters::ports::JourneyStore;
use aftercare_adapters::sweep::{SweepReport, Sweeper, TASK_TIME_BUDGET};
use aftercare_journey::message::MessageKind;
use aftercare_twin_fixtures::{at, at_once, delivered_order, order_event, Twin};
use chrono::{DateTime, Utc};

/// When the review requests of [`delivered_orders`] fall due: three days after delivery, at
/// 10:00 in Los Angeles.
const REVIEWS_DUE: &str = "2026-11-06T18:05:00Z";

/// Customers `cus-<from>` to `cus-<to>`, each with an order delivered on 3 November.
async fn delivered_orders(twin: &Twin, customers: std::ops::RangeInclusive<u32>) {
    for n in customers {
        let customer = format!("cus-{n}");
        for event in delivered_order(
            &customer,
            &format!("O-{n}"),
            "2026-11-01T09:00:00Z",
            "2026-11-03T15:00:00Z",
        ) {
            twin.apply_then_crash(&event, "inv").await;
        }
    }
}

fn sweeper(twin: &Twin) -> Sweeper<'_, MemoryStore, MemoryMailer, MemoryBus> {
    let outbox = Outbox::new(
        &twin.store,
        &twin.mailer,
        &twin.config.settings,
        &twin.clock,
        twin.config.outbox_lease,
    )
    .with_bus(&twin.bus);
    Sweeper::new(&twin.store, outbox, &twin.config.settings, &twin.clock)
}

/// A run at `time` as `owner`, the clock set to it first.
async fn sweep(twin: &Twin, time: &str, owner: &str) -> SweepReport {
    twin.clock.set(at(time));
    sweeper(twin)
        .run(at(time), owner, Budget::UNLIMITED)
        .await
        .unwrap()
}

/// How many review requests the mailer accepted.
fn reviews_sent(twin: &Twin) -> usize {
    twin.mailer
        .sent()
        .iter()
        .filter(|m| m.message.kind == MessageKind::ReviewRequest)
        .count()
}

/// The decisions on `customer`'s journey about follow-up `key`.
async fn decisions(twin: &Twin, customer: &str, key: &str) -> Vec<String> {
    follow_up_decisions(&twin.journey(customer).await)
        .into_iter()
        .filter(|d| d.key == key)
        .map(|d| d.decision)
        .collect()
}

async fn checkpoint(twin: &Twin) -> DateTime<Utc> {
    twin.store
        .sweep_checkpoint()
        .await
        .unwrap()
        .expect("a checkpoint")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_sweeps_decide_each_follow_up_once_with_one_message_each() {
    // GIVEN twelve customers whose review requests are due
    let twin = Twin::new();
    delivered_orders(&twin, 1..=12).await;
    twin.clock.set(at(REVIEWS_DUE));

    // WHEN two sweeps run over them at once
    let runs = ["sweep-a", "sweep-b"]
        .into_iter()
        .map(|owner| {
            let twin = twin.clone();
            async move {
                sweeper(&twin)
                    .run(at(REVIEWS_DUE), owner, Budget::UNLIMITED)
                    .await
                    .unwrap()
            }
        })
        .collect();
    let reports = at_once(runs).await;

    // THEN each follow-up was decided by one of them, once, with one message each
    let decided: usize = reports.iter().map(|r| r.sent).sum();
    assert_eq!(decided, 12, "{reports:?}");
    assert_eq!(reviews_sent(&twin), 12);
    for n in 1..=12 {
        let customer = format!("cus-{n}");
        assert_eq!(
            decisions(&twin, &customer, &format!("review#O-{n}")).await,
            ["sent"]
        );
        let reviews = twin
            .messages(&customer)
            .await
            .into_iter()
            .filter(|m| m.kind == MessageKind::ReviewRequest)
            .count();
        assert_eq!(reviews, 1, "{customer}");
    }

    // AND a later run finds nothing left
    let after = sweep(&twin, "2026-11-06T18:10:00Z", "sweep-c").await;
    assert_eq!((after.due, after.sent), (0, 0), "{after:?}");
}

#[tokio::test]
async fn a_sweep_stopped_by_its_budget_leaves_the_rest_to_the_next_run_and_the_checkpoint_never_moves_back(
) {
    // GIVEN three review requests due
    let twin = Twin::new();
    delivered_orders(&twin, 1..=3).await;
    twin.clock.set(at(REVIEWS_DUE));

    // WHEN a run's time runs short after two sends
    let short = sweeper(&twin)
        .run_until(at(REVIEWS_DUE), "short", &|progress| progress.sent >= 2)
        .await
        .unwrap();
    let after_short = checkpoint(&twin).await;

    // THEN it leaves the third, and the checkpoint stays at or before the hour it came from
    assert_eq!((short.sent, short.left_for_next_run), (2, 1), "{short:?}");
    assert!(after_short <= at("2026-11-06T18:00:00Z"), "{after_short}");

    // WHEN the next run comes an hour later
    let next = sweep(&twin, "2026-11-06T19:05:00Z", "next").await;
    let after_next = checkpoint(&twin).await;

    // THEN it finishes the work, and the checkpoint moved forward to the hour before its own
    assert_eq!(next.sent, 1, "{next:?}");
    assert_eq!(reviews_sent(&twin), 3);
    assert_eq!(after_next, at("2026-11-06T18:00:00Z"));
    assert!(after_next > after_short, "{after_next} <= {after_short}");

    // AND a run told a time a little earlier (the skew the schedule tolerates) does not move
    // it back
    sweep(&twin, "2026-11-06T18:58:00Z", "earlier").await;
    assert_eq!(checkpoint(&twin).await, after_next);
    assert_eq!(reviews_sent(&twin), 3);
}

#[tokio::test]
async fn a_sweep_whose_invocation_is_about_to_time_out_reads_nothing_and_leaves_it_all_to_the_next_run(
) {
    // GIVEN three review requests due
    let twin = Twin::new();
    delivered_orders(&twin, 1..=3).await;
    twin.clock.set(at(REVIEWS_DUE));

    // WHEN a run starts with less than one task's time left before its deadline
    let deadline = std::time::SystemTime::now() + TASK_TIME_BUDGET / 2;
    let late = sweeper(&twin)
        .run(
            at(REVIEWS_DUE),
            "late",
            Budget::new(Some(deadline), TASK_TIME_BUDGET),
        )
        .await
        .unwrap();

    // THEN it reads no hour of the due index and sends nothing, and the next run sends each once
    assert_eq!((late.buckets_read, late.sent), (0, 0), "{late:?}");
    assert_eq!(reviews_sent(&twin), 0);
    let next = sweep(&twin, "2026-11-06T19:05:00Z", "next").await;
    assert_eq!(next.sent, 3, "{next:?}");
    assert_eq!(reviews_sent(&twin), 3);
}

#[tokio::test]
async fn a_follow_up_whose_commit_lost_its_answer_is_not_decided_twice() {
    // GIVEN a review request due, and a store that applies its commit and loses the answer
    let twin = Twin::new();
    delivered_orders(&twin, 1..=1).await;
    twin.store
        .fail_next(Operation::CommitFollowUp, Fault::LostAnswer);

    // WHEN the sweep runs, and runs again after the message's lease ran out, and once more
    let first = sweep(&twin, REVIEWS_DUE, "sweep-a").await;
    twin.let_leases_expire();
    let second = sweep(&twin, &twin.clock.now().to_rfc3339(), "sweep-b").await;
    twin.let_leases_expire();
    let third = sweep(&twin, &twin.clock.now().to_rfc3339(), "sweep-c").await;

    // THEN the first run counted it failed; the decision stands once, and its message went out
    // once, by the relay, without deciding again
    assert_eq!((first.failed, first.sent), (1, 0), "{first:?}");
    assert_eq!((second.due, second.relayed), (0, 1), "{second:?}");
    assert_eq!((third.due, third.relayed), (0, 0), "{third:?}");
    assert_eq!(decisions(&twin, "cus-1", "review#O-1").await, ["sent"]);
    assert_eq!(reviews_sent(&twin), 1);
}

/// A world of `idle` customers with nothing due (an order placed an hour before the sweep,
/// its confirmation sent) and ten whose review requests are due; the first sweep ran an hour
/// before. Returns the run at [`REVIEWS_DUE`].
async fn sweep_among_idle_customers(idle: u32) -> (SweepReport, SweepReport) {
    let twin = Twin::new();
    delivered_orders(&twin, 1..=10).await;
    let outbox = Outbox::new(
        &twin.store,
        &twin.mailer,
        &twin.config.settings,
        &twin.clock,
        twin.config.outbox_lease,
    );
    for n in 0..idle {
        let customer = format!("idle-{n}");
        let placed = order_event(
            "placed",
            &customer,
            &format!("I-{n}"),
            &format!("I-{n}-placed"),
            "2026-11-06T17:00:00Z",
        );
        let confirmation = twin
            .apply_then_crash(&placed, "inv")
            .await
            .expect("a confirmation");
        outbox.deliver_held(&confirmation, "inv").await.unwrap();
    }
    let quiet = sweep(&twin, "2026-11-06T17:30:00Z", "sweep-quiet").await;
    let due = sweep(&twin, REVIEWS_DUE, "sweep-due").await;
    (quiet, due)
}

#[tokio::test]
async fn the_cost_of_a_sweep_follows_the_due_work_and_not_the_number_of_customers() {
    // GIVEN 1,000 customers with nothing due, and ten whose review requests fall due
    let (quiet, due) = sweep_among_idle_customers(1_000).await;

    // THEN a run with nothing due reads the checkpoint and the due-index partitions only
    assert_eq!(
        (quiet.due, quiet.sent, quiet.relayed),
        (0, 0, 0),
        "{quiet:?}"
    );
    assert_eq!(quiet.read_requests, 1 + quiet.buckets_read, "{quiet:?}");

    // AND the run with due work adds, per partition holding due work (at most one per
    // shard of the hour), one BatchGetItem of the items the keys-only index names, and one
    // journey read per due follow-up
    assert_eq!(due.sent, 10, "{due:?}");
    let item_reads = due.read_requests - (1 + due.buckets_read + 10);
    assert!(
        (1..=aftercare_adapters::items::DUE_SHARDS as usize).contains(&item_reads),
        "{due:?}"
    );

    // AND it costs what the same run among ten idle customers costs
    let (quiet_few, due_few) = sweep_among_idle_customers(10).await;
    assert_eq!(quiet.read_requests, quiet_few.read_requests);
    assert_eq!(due.read_requests, due_few.read_requests);
}

/// A mailer that holds each send for a few turns of the scheduler, counting the sends in
/// flight at once, over all customers and per customer.
#[derive(Clone, Default)]
struct CountingMailer {
    inner: MemoryMailer,
    in_flight: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    most_at_once: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    most_for_one_customer: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl aftercare_adapters::ports::Mailer for CountingMailer {
    async fn send(
        &self,
        message: &aftercare_journey::message::OutgoingMessage,
    ) -> Result<String, aftercare_adapters::ports::SendError> {
        use std::sync::atomic::Ordering;
        let customer = message.customer_id.to_string();
        {
            let mut flying = self.in_flight.lock().unwrap();
            flying.push(customer.clone());
            self.most_at_once.fetch_max(flying.len(), Ordering::SeqCst);
            let same = flying.iter().filter(|c| **c == customer).count();
            self.most_for_one_customer.fetch_max(same, Ordering::SeqCst);
        }
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let answer = self.inner.send(message).await;
        let mut flying = self.in_flight.lock().unwrap();
        let at = flying.iter().position(|c| *c == customer).unwrap();
        flying.remove(at);
        answer
    }
}

/// Ten customers whose review requests are due, `cus-1` with two delivered orders, swept by a
/// run with `lanes` lanes sending through a [`CountingMailer`].
async fn sweep_with_lanes(lanes: usize) -> (Twin, CountingMailer, SweepReport) {
    let twin = Twin::new();
    delivered_orders(&twin, 1..=10).await;
    for event in delivered_order(
        "cus-1",
        "O-1b",
        "2026-11-01T09:00:00Z",
        "2026-11-03T15:00:00Z",
    ) {
        twin.apply_then_crash(&event, "inv").await;
    }
    twin.clock.set(at(REVIEWS_DUE));
    let mailer = CountingMailer::default();
    let outbox = Outbox::new(
        &twin.store,
        &mailer,
        &twin.config.settings,
        &twin.clock,
        twin.config.outbox_lease,
    )
    .with_bus(&twin.bus);
    let report = Sweeper::new(&twin.store, outbox, &twin.config.settings, &twin.clock)
        .with_lanes(lanes)
        .run(at(REVIEWS_DUE), "sweep-lanes", Budget::UNLIMITED)
        .await
        .unwrap();
    (twin, mailer, report)
}

#[tokio::test]
async fn a_run_sends_to_as_many_customers_at_once_as_it_has_lanes_and_to_each_one_at_a_time() {
    // GIVEN ten customers whose review requests are due, one of them with two delivered orders
    // WHEN a run with three lanes sweeps them
    let (twin, mailer, report) = sweep_with_lanes(3).await;

    // THEN three customers were being sent to at once, never one customer twice at once
    use std::sync::atomic::Ordering;
    assert_eq!(mailer.most_at_once.load(Ordering::SeqCst), 3);
    assert_eq!(mailer.most_for_one_customer.load(Ordering::SeqCst), 1);

    // AND every follow-up was decided once: the customer with two orders got one review
    // request, the frequency cap deferring the other
    assert_eq!((report.sent, report.deferred), (10, 1), "{report:?}");
    assert_eq!(mailer.inner.sent().len(), 10);
    let mut decided: Vec<String> = [
        decisions(&twin, "cus-1", "review#O-1").await,
        decisions(&twin, "cus-1", "review#O-1b").await,
    ]
    .concat();
    decided.sort();
    assert_eq!(decided, ["deferred", "sent"]);

    // AND it decided and reported as a one-lane run does, in the same order
    let (_, one_lane_mailer, one_lane) = sweep_with_lanes(1).await;
    assert_eq!(one_lane_mailer.most_at_once.load(Ordering::SeqCst), 1);
    assert_eq!(report.decisions, one_lane.decisions);
}

/// A round trip to DynamoDB within a region, and a little more.
const DYNAMODB_ROUND_TRIP: std::time::Duration = std::time::Duration::from_millis(12);
/// One SES send.
const SES_SEND: std::time::Duration = std::time::Duration::from_millis(50);
/// The schedule function's timeout (template.yaml), less the margin a run keeps: within the
/// five-minute interval between runs.
const RUN_TIME: std::time::Duration = std::time::Duration::from_secs(235);

#[tokio::test(start_paused = true)]
async fn two_thousand_review_requests_due_in_one_hour_are_swept_by_one_run_at_aws_latency() {
    // GIVEN 2,000 customers whose review requests fall due in the same hour
    let twin = Twin::new();
    delivered_orders(&twin, 1..=2_000).await;

    // WHEN one run with the default lanes sweeps them, every DynamoDB call taking a round trip
    // and every send an SES call (the test's clock is paused: the time is virtual, so the
    // measure is the same on an idle machine and a busy one)
    twin.store.set_latency(DYNAMODB_ROUND_TRIP);
    twin.mailer.set_latency(SES_SEND);
    twin.clock.set(at(REVIEWS_DUE));
    let started = tokio::time::Instant::now();
    let report = sweeper(&twin)
        .with_lanes(aftercare_adapters::sweep::DEFAULT_LANES)
        .run(at(REVIEWS_DUE), "sweep-2000", Budget::UNLIMITED)
        .await
        .unwrap();
    let took = started.elapsed();

    // THEN it sent every one of them once, in less than a run's time
    assert_eq!((report.due, report.sent, report.failed), (2_000, 2_000, 0));
    assert_eq!(reviews_sent(&twin), 2_000);
    assert!(took < RUN_TIME, "{took:?}");

    // AND one lane alone needs about four times as long (more than the two minutes a run
    // used to have)
    let twin_alone = Twin::new();
    delivered_orders(&twin_alone, 1..=2_000).await;
    twin_alone.store.set_latency(DYNAMODB_ROUND_TRIP);
    twin_alone.mailer.set_latency(SES_SEND);
    twin_alone.clock.set(at(REVIEWS_DUE));
    let started = tokio::time::Instant::now();
    let alone = sweeper(&twin_alone)
        .with_lanes(1)
        .run(at(REVIEWS_DUE), "sweep-alone", Budget::UNLIMITED)
        .await
        .unwrap();
    let took_alone = started.elapsed();
    assert_eq!(alone.sent, 2_000);
    assert!(
        took_alone >= took * 3 && took_alone > std::time::Duration::from_secs(120),
        "{took_alone:?} against {took:?}"
    );
}

#[tokio::test]
async fn a_run_that_leaves_the_checkpoint_where_it_was_does_not_write_it_again() {
    // GIVEN a run at 10:05 that saved its checkpoint
    let twin = Twin::new();
    sweep(&twin, "2026-11-06T10:05:00Z", "sweep-1").await;
    let saved = checkpoint(&twin).await;

    // WHEN the next run of the same hour finds it where it leaves it, while a write of the
    // checkpoint would fail
    twin.store
        .fail_next(Operation::SaveSweepCheckpoint, Fault::Transient);
    let next = sweep(&twin, "2026-11-06T10:10:00Z", "sweep-2").await;

    // THEN it runs without writing it; the first run of the next hour moves it, and writes it
    assert_eq!(next.checkpoint, Some(saved));
    assert_eq!(checkpoint(&twin).await, saved);
    let moving = sweeper(&twin)
        .run(at("2026-11-06T11:05:00Z"), "sweep-3", Budget::UNLIMITED)
        .await;
    assert!(
        moving.is_err(),
        "the pending fault meets the write that moves it"
    );
    sweep(&twin, "2026-11-06T11:06:00Z", "sweep-4").await;
    assert!(checkpoint(&twin).await > saved);
}
