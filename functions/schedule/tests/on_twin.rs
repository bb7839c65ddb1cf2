//! The schedule function on the in-memory twin (built with `from_parts`): a scheduled run sends
//! the follow-ups that fell due, once. The emulator suite (`tests/schedule.rs`) keeps the rest.

use aftercare_adapters::memory::{MemoryBus, MemoryMailer, MemoryStore};
use aftercare_journey::message::MessageKind;
use aftercare_twin_fixtures::{at, delivered_order, Twin, SCHEDULE_RULE_ARN};
use schedule::{ScheduleFunction, ScheduleOutcome};
use serde_json::Value;

fn function(twin: &Twin) -> ScheduleFunction<MemoryStore, MemoryMailer, MemoryBus> {
    ScheduleFunction::from_parts(
        twin.store.clone(),
        twin.mailer.clone(),
        twin.bus.clone(),
        SCHEDULE_RULE_ARN.to_owned(),
        twin.parts(),
    )
}

/// The sample scheduled event of `infra/events/schedule.json`, stamped `time`, arriving a few
/// seconds after it.
fn scheduled_event(twin: &Twin, time: &str) -> Value {
    let mut event: Value =
        serde_json::from_str(include_str!("../../../infra/events/schedule.json")).unwrap();
    event["time"] = Value::from(time);
    twin.clock.set(at(time) + chrono::Duration::seconds(3));
    event
}

fn reviews_sent(twin: &Twin) -> usize {
    twin.mailer
        .sent()
        .iter()
        .filter(|m| m.message.kind == MessageKind::ReviewRequest)
        .count()
}

fn swept(outcome: ScheduleOutcome) -> aftercare_adapters::sweep::SweepReport {
    match outcome {
        ScheduleOutcome::Swept(report) => report,
        refused => panic!("the scheduled event was refused: {refused:?}"),
    }
}

#[tokio::test]
async fn a_scheduled_run_sends_the_follow_ups_that_fell_due_once() {
    // GIVEN three customers whose orders were delivered on 3 November
    let twin = Twin::new();
    for n in 1..=3 {
        for event in delivered_order(
            &format!("cus-{n}"),
            &format!("O-{n}"),
            "2026-11-01T09:00:00Z",
            "2026-11-03T15:00:00Z",
        ) {
            twin.apply_then_crash(&event, "inv").await;
        }
    }
    let schedule = function(&twin);

    // WHEN the schedule runs the day before the review requests are due
    let early = schedule
        .handle(
            scheduled_event(&twin, "2026-11-05T18:05:00Z"),
            "sched-0",
            None,
        )
        .await
        .unwrap();

    // THEN none goes
    assert_eq!(swept(early).due, 0);
    assert_eq!(reviews_sent(&twin), 0);

    // WHEN it runs once they are due (10:00 in Los Angeles), the same event is delivered
    // again, and it runs five minutes later
    let due = scheduled_event(&twin, "2026-11-06T18:05:00Z");
    let first = swept(schedule.handle(due.clone(), "sched-1", None).await.unwrap());
    let repeat = swept(schedule.handle(due, "sched-2", None).await.unwrap());
    let later = swept(
        schedule
            .handle(
                scheduled_event(&twin, "2026-11-06T18:10:00Z"),
                "sched-3",
                None,
            )
            .await
            .unwrap(),
    );

    // THEN each went out once, by the first run
    assert_eq!((first.due, first.sent), (3, 3), "{first:?}");
    assert_eq!((repeat.sent, later.sent), (0, 0), "{repeat:?} {later:?}");
    assert_eq!(reviews_sent(&twin), 3);
    for n in 1..=3 {
        let reviews = twin
            .messages(&format!("cus-{n}"))
            .await
            .into_iter()
            .filter(|m| m.kind == MessageKind::ReviewRequest)
            .count();
        assert_eq!(reviews, 1);
    }
}
