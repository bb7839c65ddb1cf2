//! The schedule function against the local emulator: follow-ups sent when due, never twice
//! across overlapping sweeps, work left for the next run when time is short, reads that grow
//! with due work and not with customers, and the watchdog's handoff.

use aftercare_adapters::items::{follow_up_decisions, JourneyItem};
use aftercare_adapters::ports::JourneyStore;
use aftercare_integration_tests::{at, stack, World};
use serde_json::{json, Value};

fn delivered_order(
    world: &World,
    customer: u32,
    order: &str,
    placed: &str,
    delivered: &str,
) -> [Value; 2] {
    let mut placed_event = world.event(
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

fn decisions(items: &[JourneyItem]) -> Vec<(String, String, String)> {
    follow_up_decisions(items)
        .into_iter()
        .map(|d| (d.key, d.decision, d.reason))
        .collect()
}

#[tokio::test]
async fn a_review_request_goes_out_when_its_time_comes_and_only_once() {
    let world = World::new("sched-review").await;
    world
        .replay(&delivered_order(
            &world,
            1,
            "A-1",
            "2026-11-01T09:00:00Z",
            "2026-11-03T15:00:00Z",
        ))
        .await;
    let before = world.sent().len();

    // The day before it is due: nothing.
    let early = world.sweep("2026-11-05T12:00:00Z").await;
    assert_eq!((early.due, world.sent().len()), (0, before));

    // Due three days after delivery at 10:00 in the customer's zone (Los Angeles): 18:00 UTC.
    let report = world.sweep("2026-11-06T18:05:00Z").await;
    assert_eq!(report.sent, 1, "{report:?}");
    let review = world
        .sent()
        .into_iter()
        .find(|m| m.subject.contains("How is your order"))
        .expect("review request");
    assert_eq!(
        review.text.matches("/rate?token=").count(),
        5,
        "five rating links"
    );
    // Not transactional: the one-click unsubscribe headers of RFC 8058, and the link in the footer.
    let unsubscribe = review
        .list_unsubscribe
        .as_deref()
        .expect("List-Unsubscribe");
    assert!(
        unsubscribe.starts_with("<https://") && unsubscribe.contains("/unsubscribe?token=p1."),
        "{unsubscribe}"
    );
    assert!(unsubscribe
        .contains("<mailto:help@leafandkettle.example?subject=unsubscribe%20review_requests>"));
    assert_eq!(
        review.list_unsubscribe_post.as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(review
        .text
        .contains("Unsubscribe or choose which emails you get"));

    let again = world.sweep("2026-11-06T18:10:00Z").await;
    assert_eq!((again.due, again.sent), (0, 0));
    assert_eq!(
        world
            .sent()
            .iter()
            .filter(|m| m.subject.contains("How is your order"))
            .count(),
        1
    );
    let journey = world.journey(1).await;
    assert!(decisions(&journey)
        .iter()
        .any(|(key, decision, _)| key == "review#A-1" && decision == "sent"));
}

#[tokio::test]
async fn two_overlapping_sweeps_never_both_act_on_a_follow_up_and_lose_none() {
    let world = World::new("sched-overlap").await;
    for customer in 1..=12 {
        world
            .replay(&delivered_order(
                &world,
                customer,
                &format!("O-{customer}"),
                "2026-11-01T09:00:00Z",
                "2026-11-03T15:00:00Z",
            ))
            .await;
    }
    world.clock.set(at("2026-11-06T18:05:00Z"));
    let (a, b) = tokio::join!(
        world.schedule.run(at("2026-11-06T18:05:00Z"), "a", None),
        world.schedule.run(at("2026-11-06T18:05:00Z"), "b", None)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.sent + b.sent, 12, "{a:?} {b:?}");
    let reviews = world
        .sent()
        .into_iter()
        .filter(|m| m.subject.contains("How is your order"))
        .count();
    assert_eq!(reviews, 12);
    let after = world.sweep("2026-11-06T18:10:00Z").await;
    assert_eq!(after.sent, 0);
}

#[tokio::test]
async fn a_sweep_short_of_time_leaves_the_rest_and_the_next_run_finishes_it() {
    // One lane: the work in flight when time runs short is one follow-up.
    let world = World::with("sched-budget", &[("SWEEP_CONCURRENCY", "1")]).await;
    for customer in 1..=3 {
        world
            .replay(&delivered_order(
                &world,
                customer,
                &format!("B-{customer}"),
                "2026-11-01T09:00:00Z",
                "2026-11-03T15:00:00Z",
            ))
            .await;
    }
    world.clock.set(at("2026-11-06T18:05:00Z"));
    // Time runs short after two sends.
    let short = world
        .schedule
        .run_until(at("2026-11-06T18:05:00Z"), "short", &|progress| {
            progress.sent >= 2
        })
        .await
        .unwrap();
    assert_eq!((short.sent, short.left_for_next_run), (2, 1), "{short:?}");
    // The next run, an hour later, still finds the work of the earlier hour.
    let next = world.sweep("2026-11-06T19:05:00Z").await;
    assert_eq!(next.sent, 1, "{next:?}");
}

#[tokio::test]
async fn the_sweeps_reads_grow_with_due_work_and_not_with_idle_customers() {
    // GIVEN 5,000 customers with nothing due for months, and a sweep that has run before
    let world = World::new("sched-reads").await;
    let table = world.config.table_name.clone();
    let idle: Vec<_> = (0..5_000)
        .map(|i| {
            use aws_sdk_dynamodb::types::{AttributeValue as A, PutRequest, WriteRequest};
            let item = [
                ("pk", A::S(format!("CUSTOMER#idle-{i}"))),
                ("sk", A::S("FOLLOWUP#reactivation".into())),
                ("entity", A::S("followup".into())),
                ("due_bucket", A::S(format!("2027-03-01T10#{}", i % 4))),
                ("due_at", A::S("2027-03-01T10:00:00.000Z".into())),
            ];
            let put = PutRequest::builder()
                .set_item(Some(
                    item.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                ))
                .build()
                .unwrap();
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    for chunk in idle.chunks(25) {
        world
            .clients
            .dynamodb
            .batch_write_item()
            .request_items(&table, chunk.to_vec())
            .send()
            .await
            .unwrap();
    }
    world.sweep("2026-11-06T17:00:00Z").await;

    // AND 10 customers whose review requests fall due
    for customer in 1..=10 {
        world
            .replay(&delivered_order(
                &world,
                customer,
                &format!("R-{customer}"),
                "2026-11-01T09:00:00Z",
                "2026-11-03T15:00:00Z",
            ))
            .await;
    }

    // WHEN the sweep runs
    let report = world.sweep("2026-11-06T18:05:00Z").await;

    // THEN it read the checkpoint, three hours of due-index partitions (the hour before its
    // last run again, then two), the items the keys-only index named (one BatchGetItem per
    // partition holding due work, at most one per shard) and one journey per task
    assert_eq!(report.sent, 10, "{report:?}");
    assert_eq!(report.buckets_read, 12);
    assert!(
        report.read_requests <= 1 + 12 + aftercare_adapters::items::DUE_SHARDS as usize + 10,
        "{} reads for 10 due tasks among 5,010 customers",
        report.read_requests
    );
    let _ = stack();
}

#[tokio::test]
async fn an_order_stuck_in_one_status_gets_an_honest_update_and_a_person_is_called() {
    let world = World::new("sched-watchdog").await;
    let mut placed = world.event("placed", 1, "W-1", "W-1-placed", "2026-11-01T09:00:00Z");
    placed["order_id"] = json!("W-sched-watchdog");
    world.replay(&[placed]).await;

    // Due 24 hours after placing: 01:00 in Los Angeles, so it waits for the morning.
    let night = world.sweep("2026-11-02T09:05:00Z").await;
    assert_eq!((night.sent, night.deferred), (0, 1), "{night:?}");
    assert!(
        night.decisions[0].detail.contains("quiet hours"),
        "{:?}",
        night.decisions
    );
    let report = world.sweep("2026-11-02T17:05:00Z").await;
    assert_eq!(report.sent, 1, "{report:?}");
    let update = world
        .sent()
        .into_iter()
        .find(|m| m.subject.contains("we have not forgotten you"))
        .expect("watchdog update");
    assert!(update
        .text
        .contains("A person on our team is looking into it"));
    let handoffs: Vec<Value> = stack()
        .handoffs()
        .unwrap()
        .into_iter()
        .filter(|h| h["order_id"] == "W-sched-watchdog")
        .collect();
    assert_eq!(handoffs.len(), 1, "{handoffs:?}");
    assert_eq!(handoffs[0]["status"], "placed");

    // Once per stuck status.
    assert_eq!(world.sweep("2026-11-03T17:05:00Z").await.sent, 0);
}

#[tokio::test]
async fn two_messages_due_at_once_go_one_now_and_one_after_the_frequency_cap() {
    let world = World::new("sched-cap").await;
    world
        .replay(&delivered_order(
            &world,
            1,
            "C-1",
            "2026-11-01T09:00:00Z",
            "2026-11-03T15:00:00Z",
        ))
        .await;
    world
        .replay(&delivered_order(
            &world,
            1,
            "C-2",
            "2026-11-01T10:00:00Z",
            "2026-11-03T16:00:00Z",
        ))
        .await;
    let report = world.sweep("2026-11-06T18:05:00Z").await;
    assert_eq!((report.sent, report.deferred), (1, 1), "{report:?}");
    let journey = world.journey(1).await;
    let deferred: Vec<_> = decisions(&journey)
        .into_iter()
        .filter(|(_, d, _)| d == "deferred")
        .collect();
    assert_eq!(deferred.len(), 1);
    assert!(deferred[0].2.contains("frequency cap"), "{deferred:?}");
    // A day later the second goes.
    let later = world.sweep("2026-11-07T18:10:00Z").await;
    assert_eq!(later.sent, 1, "{later:?}");
}

#[tokio::test]
async fn order_status_news_in_quiet_hours_waits_for_the_morning_when_the_shop_asks_for_it() {
    let world = World::with(
        "sched-quiet-status",
        &[("QUIET_HOURS_FOR_ORDER_STATUS", "true")],
    )
    .await;
    // 23:00 in Los Angeles.
    let shipped = world.event("shipped", 1, "Q-1", "Q-1-shipped", "2026-11-02T07:00:00Z");
    world.replay(std::slice::from_ref(&shipped)).await;
    assert!(world.sent().is_empty(), "nothing at night");
    // A redelivery meanwhile neither sends it nor fails.
    let again = world
        .function
        .handle_batch(
            aftercare_integration_tests::sqs_event(&[(
                "m",
                aftercare_integration_tests::envelope(&shipped),
            )]),
            "inv",
        )
        .await;
    assert!(again.response.batch_item_failures.is_empty(), "{again:?}");
    assert!(world.sent().is_empty());
    // The sweep at 09:05 local sends it.
    let morning = world.sweep("2026-11-02T17:05:00Z").await;
    assert_eq!(morning.relayed, 1, "{morning:?}");
    let shipped_news = world
        .sent()
        .into_iter()
        .filter(|m| m.subject.contains("is on its way"))
        .count();
    assert_eq!(shipped_news, 1);
}

#[tokio::test]
async fn a_person_is_called_even_when_the_watchdogs_email_is_held_out() {
    let world = World::with(
        "sched-watchdog-holdout",
        &[("HOLDOUT_PERCENT", "watchdog_update=100")],
    )
    .await;
    let mut placed = world.event("placed", 1, "H-1", "H-1-placed", "2026-11-01T18:00:00Z");
    placed["order_id"] = json!("H-sched-holdout");
    world.replay(&[placed]).await;
    let report = world.sweep("2026-11-02T18:05:00Z").await;
    assert_eq!((report.sent, report.withheld), (0, 1), "{report:?}");
    assert!(world
        .sent()
        .iter()
        .all(|m| !m.subject.contains("not forgotten")));
    let handoffs: Vec<Value> = stack()
        .handoffs()
        .unwrap()
        .into_iter()
        .filter(|h| h["order_id"] == "H-sched-holdout")
        .collect();
    assert_eq!(handoffs.len(), 1, "{handoffs:?}");
}

#[tokio::test]
async fn a_retried_claim_finds_the_follow_up_already_its_own_and_no_one_elses() {
    // GIVEN a review request waiting to fall due
    let world = World::new("sched-claim-retry").await;
    world
        .replay(&delivered_order(
            &world,
            1,
            "C-1",
            "2026-11-01T09:00:00Z",
            "2026-11-03T15:00:00Z",
        ))
        .await;
    let item = world
        .journey(1)
        .await
        .into_iter()
        .find_map(|i| match i {
            JourneyItem::FollowUp(f) if f.sk == "FOLLOWUP#review#C-1" => Some(*f),
            _ => None,
        })
        .expect("the review request's follow-up");
    let wall = at("2026-11-06T18:05:00Z");
    let until = wall + chrono::Duration::minutes(5);

    // WHEN a sweep claims it, and the SDK sends the same claim again (the first answer timed
    // out after the write landed)
    let first = world
        .store()
        .claim_follow_up(&item, "sweep-a", until, wall)
        .await
        .unwrap();
    let retried = world
        .store()
        .claim_follow_up(&item, "sweep-a", until, wall)
        .await
        .unwrap();
    // AND another sweep tries to claim it meanwhile
    let other = world
        .store()
        .claim_follow_up(&item, "sweep-b", until, wall)
        .await
        .unwrap();

    // THEN the retry holds it, and the other sweep does not
    assert!(first.is_some());
    assert_eq!(
        retried.map(|held| held.claimed_by),
        Some(Some("sweep-a".into()))
    );
    assert!(other.is_none());
}

/// A scheduled event as EventBridge sends it, from `rule`, stamped `time`.
fn scheduled_event(time: &str, rule: &str) -> Value {
    json!({"version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
           "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
           "time": time, "region": "us-east-1", "resources": [rule], "detail": {}})
}

fn reviews(world: &World) -> usize {
    world
        .sent()
        .iter()
        .filter(|m| m.subject.contains("How is your order"))
        .count()
}

#[tokio::test]
async fn a_scheduled_event_from_1970_2015_or_ten_days_ahead_changes_nothing_and_says_why() {
    // GIVEN a review request due at 18:00 UTC and a sweep that ran at noon
    let world = World::new("sched-untrusted").await;
    world
        .replay(&delivered_order(
            &world,
            1,
            "U-1",
            "2026-11-01T09:00:00Z",
            "2026-11-03T15:00:00Z",
        ))
        .await;
    world.sweep("2026-11-06T12:05:00Z").await;
    let checkpoint = || async { world.schedule.store().sweep_checkpoint().await.unwrap() };
    let before = checkpoint().await;
    assert_eq!(before, Some(at("2026-11-06T11:00:00Z")));

    // WHEN, with the function's clock at the due time, it is handed events it must not believe
    world.clock.set(at("2026-11-06T18:05:00Z"));
    let ours = aftercare_localstack::LOCAL_SCHEDULE_RULE_ARN;
    let mut foreign_source = scheduled_event("2026-11-06T18:05:00Z", ours);
    foreign_source["source"] = json!("shop.orders");
    let mut foreign_type = scheduled_event("2026-11-06T18:05:00Z", ours);
    foreign_type["detail-type"] = json!("Order Status Changed");
    let untrusted = [
        // The AWS sample of a scheduled event, as the SDK's fixtures carry it.
        (
            scheduled_event(
                "2015-10-08T16:53:06Z",
                "arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule",
            ),
            "do not name this stack's schedule rule",
        ),
        // The console's test template, with this stack's rule pasted in.
        (
            scheduled_event("1970-01-01T00:00:00Z", ours),
            "minutes before this function's clock",
        ),
        (
            scheduled_event("2015-10-08T16:53:06Z", ours),
            "minutes before this function's clock",
        ),
        (
            scheduled_event("2026-11-16T18:05:00Z", ours),
            "14400 minutes ahead of this function's clock",
        ),
        (foreign_source, "`source` is not \"aws.events\""),
        (foreign_type, "`detail-type` is not \"Scheduled Event\""),
        (json!({"customer_id": "cus-1"}), "not an EventBridge event"),
        // The reported time at the edge of chrono's range, which once panicked in the sweep.
        (
            scheduled_event("-262143-01-01T00:00:00Z", ours),
            "`time` is not an RFC 3339 instant",
        ),
    ];
    for (event, why) in untrusted {
        let outcome = world
            .schedule
            .handle(event.clone(), "untrusted", None)
            .await
            .unwrap();
        // THEN nothing moves and nothing is sent, and the answer says why
        let answer = outcome.answer();
        let refused = answer["refused"].as_str().unwrap_or_default();
        assert!(refused.contains(why), "{event}: {answer}");
        assert_eq!(checkpoint().await, before, "{event}");
        assert_eq!(reviews(&world), 0, "{event}");
    }

    // AND the stack's own event at the clock's time sweeps as before
    let outcome = world
        .schedule
        .handle(scheduled_event("2026-11-06T18:05:00Z", ours), "ours", None)
        .await
        .unwrap();
    assert_eq!(outcome.answer()["sent"], 1, "{outcome:?}");
    assert_eq!(reviews(&world), 1);
    assert_eq!(checkpoint().await, Some(at("2026-11-06T17:00:00Z")));
}

#[tokio::test]
async fn the_checkpoint_never_moves_back_when_a_run_is_told_an_earlier_time() {
    // Two runs minutes apart across the hour, the second told a time a little earlier (the
    // skew the schedule tolerates): the checkpoint stays.
    let world = World::new("sched-monotonic").await;
    let report = world.sweep("2026-11-06T11:02:00Z").await;
    assert_eq!(report.checkpoint, Some(at("2026-11-06T10:00:00Z")));
    let earlier = world.sweep("2026-11-06T10:58:00Z").await;
    assert_eq!(earlier.checkpoint, Some(at("2026-11-06T10:00:00Z")));
    assert_eq!(
        world.schedule.store().sweep_checkpoint().await.unwrap(),
        Some(at("2026-11-06T10:00:00Z"))
    );
}

#[tokio::test]
async fn a_checkpoint_left_ten_days_ahead_or_decades_back_by_an_untrusted_event_is_put_right() {
    let world = World::new("sched-heal").await;
    let store = world.schedule.store();
    // GIVEN the checkpoint an event ten days ahead left (before the schedule checked times)
    store
        .save_sweep_checkpoint(at("2026-11-16T18:00:00Z"))
        .await
        .unwrap();
    let report = world.sweep("2026-11-06T18:05:00Z").await;
    assert_eq!(report.checkpoint, Some(at("2026-11-06T17:00:00Z")));
    // AND the one the console's 1970 template left
    store
        .save_sweep_checkpoint(at("1969-12-31T23:00:00Z"))
        .await
        .unwrap();
    let report = world.sweep("2026-11-06T18:10:00Z").await;
    assert_eq!(
        report.checkpoint,
        Some(at("2026-10-08T18:00:00Z")),
        "read from 30 days back, 24 hours a run: {report:?}"
    );
    assert!(report.buckets_read <= 26 * 4, "{report:?}");
}

#[tokio::test]
async fn after_an_outage_todays_work_goes_first_and_the_backlog_is_caught_up_in_bounded_runs() {
    // GIVEN a sweep that ran on 3 November, then a week in which the schedule was down while
    // orders went on: one review request fell due on the 6th, another falls due today
    let world = World::new("sched-outage").await;
    world
        .replay(&delivered_order(
            &world,
            1,
            "B-1",
            "2026-11-01T09:00:00Z",
            "2026-11-03T15:00:00Z",
        ))
        .await;
    world.sweep("2026-11-03T16:05:00Z").await;
    world
        .replay(&delivered_order(
            &world,
            2,
            "B-2",
            "2026-11-05T09:00:00Z",
            "2026-11-07T15:00:00Z",
        ))
        .await;

    // WHEN the schedule comes back
    let first = world.sweep("2026-11-10T18:05:00Z").await;

    // THEN its first run sends today's review and reads a bounded part of the backlog
    assert_eq!(reviews(&world), 1, "{first:?}");
    assert!(first.hours_behind > 0, "{first:?}");
    let bound = (2 + aftercare_adapters::sweep::MAX_CATCH_UP_HOURS as usize)
        * aftercare_adapters::items::DUE_SHARDS as usize;
    assert!(first.buckets_read <= bound, "{first:?}");

    // AND the following runs catch up, each bounded, until none is behind; the review that
    // fell due during the outage goes out once on the way
    let mut runs = 1;
    let mut behind = first.hours_behind;
    while behind > 0 {
        let run = world.sweep("2026-11-10T18:10:00Z").await;
        assert!(run.buckets_read <= bound, "{run:?}");
        assert!(run.hours_behind < behind, "{run:?}");
        behind = run.hours_behind;
        runs += 1;
        assert!(runs <= 10, "caught up in a few runs");
    }
    assert_eq!(reviews(&world), 2);
    assert_eq!(
        world.schedule.store().sweep_checkpoint().await.unwrap(),
        Some(at("2026-11-10T17:00:00Z"))
    );
}

#[tokio::test]
async fn a_follow_up_held_by_a_run_that_died_does_not_hold_the_checkpoint_back_and_goes_out_later()
{
    // GIVEN a review request due at 18:00 that another run claimed and then died holding
    let world = World::new("sched-held").await;
    world
        .replay(&delivered_order(
            &world,
            1,
            "H-1",
            "2026-11-01T09:00:00Z",
            "2026-11-03T15:00:00Z",
        ))
        .await;
    let store = world.schedule.store();
    let bucket = aftercare_adapters::items::due_bucket(at("2026-11-06T18:00:00Z"), "cus-1");
    let due = store
        .due_items(&bucket, at("2026-11-06T18:05:00Z"))
        .await
        .unwrap();
    let review = due
        .into_iter()
        .find_map(|item| match item {
            aftercare_adapters::items::DueItem::FollowUp(f) if f.follow_up.key == "review#H-1" => {
                Some(*f)
            }
            _ => None,
        })
        .expect("the review request is due");
    store
        .claim_follow_up(
            &review,
            "sweep/died",
            at("2026-11-07T18:05:00Z"),
            at("2026-11-07T18:00:00Z"),
        )
        .await
        .unwrap()
        .expect("claimed");

    // WHEN the sweep runs while the claim holds, and again once it has run out
    let held = world.sweep("2026-11-07T18:02:00Z").await;
    assert_eq!((held.sent, reviews(&world)), (0, 0), "{held:?}");
    // THEN the hour it was due in does not hold the checkpoint back
    assert_eq!(held.checkpoint, Some(at("2026-11-07T17:00:00Z")));
    let later = world.sweep("2026-11-07T18:10:00Z").await;
    assert_eq!(later.sent, 1, "{later:?}");
    assert_eq!(reviews(&world), 1);
}
