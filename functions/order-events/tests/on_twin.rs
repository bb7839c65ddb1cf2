//! The order-events function on the in-memory twin (built with `from_parts`): an event
//! delivered twice is applied once, concurrent invocations for one customer all apply, and an
//! SES outage leaves the message to the schedule's relay. The emulator suite
//! (`tests/order_events.rs`) keeps what needs DynamoDB.

use std::sync::Arc;

use aftercare_adapters::clock::Clock;
use aftercare_adapters::items::{JourneyItem, MessageStatus};
use aftercare_adapters::memory::{MailFault, MemoryBus, MemoryMailer, MemoryStore};
use aftercare_adapters::outbox::SendOutcome;
use aftercare_journey::order::Order;
use aftercare_journey::status::OrderStatus;
use aftercare_twin_fixtures::{
    at, at_once, envelope, order_event, parse, sqs_event, Twin, ONLY_ORDER_STATUS,
    SCHEDULE_RULE_ARN,
};
use aws_lambda_events::event::sqs::SqsEvent;
use order_events::{OrderEventsFunction, RecordOutcome};
use schedule::ScheduleFunction;

fn function(twin: &Twin) -> OrderEventsFunction<MemoryStore, MemoryMailer> {
    OrderEventsFunction::from_parts(twin.store.clone(), twin.mailer.clone(), twin.parts())
}

fn schedule(twin: &Twin) -> ScheduleFunction<MemoryStore, MemoryMailer, MemoryBus> {
    ScheduleFunction::from_parts(
        twin.store.clone(),
        twin.mailer.clone(),
        twin.bus.clone(),
        SCHEDULE_RULE_ARN.to_owned(),
        twin.parts(),
    )
}

fn orders(items: &[JourneyItem]) -> Vec<(Order, u64)> {
    items
        .iter()
        .filter_map(|item| match item {
            JourneyItem::Order(o) => Some((o.value.clone(), o.version)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_batch_with_the_same_event_twice_applies_it_once_and_sends_one_message() {
    // GIVEN the sample placed event, queued twice in one batch
    let twin = Twin::new();
    let mut batch: SqsEvent =
        serde_json::from_str(include_str!("../../../infra/events/placed.json")).unwrap();
    let mut again = batch.records[0].clone();
    again.message_id = Some("the-same-event-again".into());
    batch.records.push(again);
    let customer = "cus-1001";

    // WHEN the function handles the batch
    twin.clock.set(at("2026-10-20T18:04:30Z"));
    let report = function(&twin).handle_batch(batch, "inv-1").await;

    // THEN the first record applied it, the second found it applied, and one message went out
    assert!(report.response.batch_item_failures.is_empty(), "{report:?}");
    assert!(
        matches!(
            &report.records[0].result,
            Ok(RecordOutcome::Processed {
                applied: true,
                message: Some((_, SendOutcome::Sent { .. })),
                ..
            })
        ),
        "{report:?}"
    );
    assert!(
        matches!(
            &report.records[1].result,
            Ok(RecordOutcome::Duplicate { resent: None, .. })
        ),
        "{report:?}"
    );
    assert_eq!(twin.mailer.sent().len(), 1);
    let journey = twin.journey(customer).await;
    let (order, version) = &orders(&journey)[0];
    assert_eq!((order.timeline.len(), *version), (1, 1));
    assert_eq!(twin.profile(customer).await.version, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn invocations_applying_events_of_one_customer_at_once_all_apply_with_consistent_versions() {
    // GIVEN eight orders of one customer, each in its own invocation
    let twin = Twin::with(&[ONLY_ORDER_STATUS]);
    twin.clock.set(at("2026-11-20T10:00:00Z"));
    let function = Arc::new(function(&twin));

    // WHEN they are handled at once
    let invocations = (0..8)
        .map(|i| {
            let function = Arc::clone(&function);
            let event = order_event(
                "placed",
                "cus-1",
                &format!("C-{i}"),
                &format!("evt-{i}"),
                "2026-11-20T10:00:00Z",
            );
            async move {
                function
                    .handle_batch(sqs_event(&[("m", envelope(&event))]), &format!("inv-{i}"))
                    .await
            }
        })
        .collect();
    let reports = at_once(invocations).await;

    // THEN every event applied: each order once, the profile written once per event, the
    // orders numbered 1 to 8, and one message each
    for report in &reports {
        assert!(
            matches!(
                &report.records[0].result,
                Ok(RecordOutcome::Processed { applied: true, .. })
            ),
            "{report:?}"
        );
    }
    let journey = twin.journey("cus-1").await;
    let orders = orders(&journey);
    assert_eq!(orders.len(), 8);
    assert!(orders.iter().all(|(_, version)| *version == 1));
    let mut sequences: Vec<u32> = orders.iter().map(|(o, _)| o.sequence).collect();
    sequences.sort_unstable();
    assert_eq!(sequences, (1..=8).collect::<Vec<_>>());
    let profile = twin.profile("cus-1").await;
    assert_eq!((profile.value.orders_count, profile.version), (8, 8));
    assert_eq!(twin.mailer.sent().len(), 8);
}

#[tokio::test]
async fn an_ses_outage_leaves_the_message_in_the_outbox_and_the_schedules_relay_sends_it_once() {
    // GIVEN SES cannot take any message
    let twin = Twin::with(&[ONLY_ORDER_STATUS]);
    let body = envelope(&order_event(
        "delivered",
        "cus-1",
        "A-1",
        "evt-1",
        "2026-11-23T10:00:00Z",
    ));
    twin.clock.set(at("2026-11-23T10:00:00Z"));
    twin.mailer.fail_every(MailFault::Transient);

    // WHEN the event arrives
    let report = function(&twin)
        .handle_batch(sqs_event(&[("m1", body.clone())]), "inv-1")
        .await;

    // THEN it is applied and the record done, the message kept pending with the reason
    assert!(report.response.batch_item_failures.is_empty(), "{report:?}");
    assert!(
        matches!(
            &report.records[0].result,
            Ok(RecordOutcome::Processed {
                message: Some((_, SendOutcome::LeftForRelay { .. })),
                ..
            })
        ),
        "{report:?}"
    );
    let journey = twin.journey("cus-1").await;
    assert_eq!(orders(&journey)[0].0.status, OrderStatus::Delivered);
    let pending = &twin.messages("cus-1").await[0];
    assert_eq!(pending.status, MessageStatus::Pending);
    assert!(pending.last_error.is_some());
    assert!(twin.mailer.sent().is_empty());

    // WHEN SES is back and the schedule runs after the lease ran out, twice
    twin.mailer.clear_faults();
    let relay = schedule(&twin);
    twin.let_leases_expire();
    let first = relay.run(twin.clock.now(), "sched-1", None).await.unwrap();
    twin.let_leases_expire();
    let second = relay.run(twin.clock.now(), "sched-2", None).await.unwrap();

    // THEN the message went out once
    assert_eq!((first.relayed, second.relayed), (1, 0));
    assert_eq!(twin.mailer.sent().len(), 1);
    assert_eq!(twin.messages("cus-1").await[0].status, MessageStatus::Sent);

    // AND a redelivery of the record sends nothing more
    let retry = function(&twin)
        .handle_batch(sqs_event(&[("m1", body)]), "inv-2")
        .await;
    assert!(
        matches!(
            &retry.records[0].result,
            Ok(RecordOutcome::Duplicate { resent: None, .. })
        ),
        "{retry:?}"
    );
    assert_eq!(twin.mailer.sent().len(), 1);
}

#[tokio::test]
async fn a_redelivered_event_whose_first_invocation_died_holding_the_message_sends_it_once_after_the_lease(
) {
    // GIVEN an event applied by an invocation that died before sending its message
    let twin = Twin::with(&[ONLY_ORDER_STATUS]);
    let detail = order_event("packed", "cus-1", "A-1", "evt-1", "2026-11-21T10:00:00Z");
    twin.clock.set(at("2026-11-21T10:00:00Z"));
    let function = function(&twin);
    let event = parse(&detail);
    function.apply(&event, "inv-crashed").await.unwrap();
    let body = envelope(&detail);

    // WHEN SQS redelivers the event while the dead invocation's lease still holds
    let early = function
        .handle_batch(sqs_event(&[("m1", body.clone())]), "inv-2")
        .await;

    // THEN nothing is sent and the record is done: the message stays in the outbox
    assert!(
        matches!(
            &early.records[0].result,
            Ok(RecordOutcome::Duplicate {
                resent: Some(SendOutcome::HeldElsewhere),
                ..
            })
        ),
        "{early:?}"
    );
    assert!(twin.mailer.sent().is_empty());

    // WHEN it is redelivered again after the lease ran out, and the schedule runs later
    twin.let_leases_expire();
    let late = function
        .handle_batch(sqs_event(&[("m1", body.clone())]), "inv-3")
        .await;
    twin.let_leases_expire();
    let relay = schedule(&twin)
        .run(twin.clock.now(), "sched", None)
        .await
        .unwrap();
    let last = function
        .handle_batch(sqs_event(&[("m1", body)]), "inv-4")
        .await;

    // THEN the late redelivery sent it, once; neither the relay nor another redelivery again
    assert!(
        matches!(
            &late.records[0].result,
            Ok(RecordOutcome::Duplicate {
                resent: Some(SendOutcome::Sent { .. }),
                ..
            })
        ),
        "{late:?}"
    );
    assert_eq!(relay.relayed, 0, "{relay:?}");
    assert!(
        matches!(
            &last.records[0].result,
            Ok(RecordOutcome::Duplicate { resent: None, .. })
        ),
        "{last:?}"
    );
    assert_eq!(twin.mailer.sent().len(), 1);
    assert_eq!(twin.messages("cus-1").await[0].status, MessageStatus::Sent);
}
