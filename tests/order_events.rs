//! The order-events function against the local emulator: exactly-once effects under
//! at-least-once delivery, the outbox, partial batch failures, and the sample events.

use aftercare_adapters::items::{follow_up_decisions, JourneyItem, MessageStatus};
use aftercare_adapters::outbox::SendOutcome;
use aftercare_adapters::ports::Mailer;
use aftercare_integration_tests::{envelope, sample_detail, sample_sqs_event, sqs_event, World};
use aftercare_journey::status::OrderStatus;
use order_events::{RecordError, RecordOutcome};
use serde_json::json;

/// Switches off every follow-up kind, for tests that run the schedule only as the outbox
/// relay and count the mail that goes out.
const ONLY_ORDER_STATUS: &[(&str, &str)] = &[(
    "DISABLED_MESSAGE_KINDS",
    "delivery_reminder,review_request,repurchase_reminder,reactivation,watchdog_update",
)];

fn orders(items: &[JourneyItem]) -> Vec<aftercare_journey::order::Order> {
    items
        .iter()
        .filter_map(|i| {
            if let JourneyItem::Order(o) = i {
                Some(o.value.clone())
            } else {
                None
            }
        })
        .collect()
}

fn profile(
    items: &[JourneyItem],
) -> aftercare_adapters::items::Versioned<aftercare_journey::profile::Profile> {
    items
        .iter()
        .find_map(|i| {
            if let JourneyItem::Profile(p) = i {
                Some(p.clone())
            } else {
                None
            }
        })
        .expect("a profile")
}

fn messages(items: &[JourneyItem]) -> Vec<aftercare_adapters::items::MessageItem> {
    items
        .iter()
        .filter_map(|i| {
            if let JourneyItem::Message(m) = i {
                Some((**m).clone())
            } else {
                None
            }
        })
        .collect()
}

#[tokio::test]
async fn a_redelivered_event_changes_nothing_and_sends_nothing() {
    // GIVEN an order event that was applied and its message sent
    let world = World::new("redelivered").await;
    let body = envelope(&world.event("placed", 1, "A-1", "evt-1", "2026-11-20T10:00:00Z"));
    let first = world
        .function
        .handle_batch(sqs_event(&[("m1", body.clone())]), "inv-1")
        .await;
    assert!(first.response.batch_item_failures.is_empty());
    let before = world.journey(1).await;

    // WHEN SQS delivers it again, once in a later batch and twice within one batch
    let again = world
        .function
        .handle_batch(sqs_event(&[("m1", body.clone())]), "inv-2")
        .await;
    let twice = world
        .function
        .handle_batch(sqs_event(&[("m2", body.clone()), ("m3", body)]), "inv-3")
        .await;

    // THEN nothing changes and exactly one message was sent
    for report in again.records.iter().chain(&twice.records) {
        assert!(
            matches!(
                report.result,
                Ok(RecordOutcome::Duplicate { resent: None, .. })
            ),
            "{report:?}"
        );
    }
    assert!(
        again.response.batch_item_failures.is_empty()
            && twice.response.batch_item_failures.is_empty()
    );
    assert_eq!(world.journey(1).await, before);
    assert_eq!(world.sent().len(), 1);
}

#[tokio::test]
async fn a_late_shipped_after_delivered_is_recorded_and_sends_nothing() {
    let world = World::new("late-shipped").await;
    let placed = world.event("placed", 1, "A-1", "evt-1", "2026-11-20T10:00:00Z");
    let delivered = world.event("delivered", 1, "A-1", "evt-2", "2026-11-23T10:00:00Z");
    let shipped = world.event("shipped", 1, "A-1", "evt-3", "2026-11-21T10:00:00Z");
    for (id, event) in [("m1", placed), ("m2", delivered), ("m3", shipped)] {
        let report = world
            .function
            .handle_batch(sqs_event(&[(id, envelope(&event))]), "inv")
            .await;
        assert!(report.response.batch_item_failures.is_empty(), "{report:?}");
    }
    let journey = world.journey(1).await;
    let order = &orders(&journey)[0];
    assert_eq!(order.status, OrderStatus::Delivered);
    let late = order
        .timeline
        .iter()
        .find(|e| e.event_id.as_str() == "evt-3")
        .expect("late event in the timeline");
    assert!(!late.applied);
    assert!(late.note.contains("already delivered"), "{}", late.note);
    let subjects: Vec<String> = world.sent().into_iter().map(|m| m.subject).collect();
    assert_eq!(subjects.len(), 2, "placed and delivered only: {subjects:?}");
    assert!(subjects.iter().all(|s| !s.contains("on its way")));
}

#[tokio::test]
async fn concurrent_events_for_one_customer_are_all_kept() {
    // GIVEN eight orders of the same customer arriving at the same moment in separate invocations
    let world = World::new("concurrent").await;
    let batches: Vec<_> = (0..8)
        .map(|i| {
            let event = world.event(
                "placed",
                1,
                &format!("C-{i}"),
                &format!("evt-{i}"),
                "2026-11-20T10:00:00Z",
            );
            sqs_event(&[("m", envelope(&event))])
        })
        .collect();

    // WHEN they are applied concurrently
    let reports = futures::future::join_all(batches.into_iter().enumerate().map(|(i, batch)| {
        let function = &world.function;
        async move { function.handle_batch(batch, &format!("inv-{i}")).await }
    }))
    .await;

    // THEN none is lost: every order is there, counted once, and each got its message
    for report in &reports {
        assert!(report.response.batch_item_failures.is_empty(), "{report:?}");
    }
    let journey = world.journey(1).await;
    assert_eq!(orders(&journey).len(), 8);
    let profile = profile(&journey);
    assert_eq!(profile.value.orders_count, 8);
    assert_eq!(profile.version, 8, "one profile write per event");
    let mut sequences: Vec<u32> = orders(&journey).iter().map(|o| o.sequence).collect();
    sequences.sort_unstable();
    assert_eq!(sequences, (1..=8).collect::<Vec<_>>());
    assert_eq!(world.sent().len(), 8);
}

#[tokio::test]
async fn a_crash_after_the_write_leaves_a_pending_message_that_the_relay_sends_once() {
    // GIVEN an event applied by an invocation that died before sending
    let world = World::with("crash-before-send", ONLY_ORDER_STATUS).await;
    let detail = world.event("shipped", 1, "A-1", "evt-1", "2026-11-21T10:00:00Z");
    world.apply_then_crash(&detail, "inv-crashed").await;
    let pending = messages(&world.journey(1).await);
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].status, MessageStatus::Pending);

    // WHEN the relay runs while the dead invocation's lease still holds, nothing is sent
    let report = world.relay("relay-early").await;
    assert_eq!(report.relayed, 0);
    assert!(world.sent().is_empty());

    // WHEN the lease has run out, two relays race for it
    world.let_leases_expire();
    let (a, b) = tokio::join!(world.relay("relay-a"), world.relay("relay-b"));

    // THEN exactly one of them sent it, and it is marked sent with SES's id
    assert_eq!(a.relayed + b.relayed, 1, "{a:?} {b:?}");
    let sent = world.sent();
    assert_eq!(sent.len(), 1);
    let stored = &messages(&world.journey(1).await)[0];
    assert_eq!(stored.status, MessageStatus::Sent);
    assert_eq!(stored.trigger, "event:evt-1");
    assert_eq!(
        stored.ses_message_id.as_deref(),
        Some(sent[0].ses_message_id.as_str())
    );
    assert!(
        stored.content.is_none() && stored.due_bucket.is_none(),
        "a sent message leaves the outbox"
    );

    // AND a later relay or a redelivery of the event sends nothing more
    world.let_leases_expire();
    assert_eq!(world.relay("relay-c").await.relayed, 0);
    let redelivered = world
        .function
        .process_body(
            &envelope(&world.event("shipped", 1, "A-1", "evt-1", "2026-11-21T10:00:00Z")),
            "inv-2",
        )
        .await
        .unwrap();
    assert!(
        matches!(redelivered, RecordOutcome::Duplicate { resent: None, .. }),
        "{redelivered:?}"
    );
    assert_eq!(world.sent().len(), 1);
}

#[tokio::test]
async fn a_redelivery_while_another_invocation_holds_the_message_sends_nothing_and_leaves_it_to_the_relay(
) {
    // GIVEN an event applied by an invocation that still holds its message
    let world = World::with("held-lease", ONLY_ORDER_STATUS).await;
    let detail = world.event("packed", 1, "A-1", "evt-1", "2026-11-21T10:00:00Z");
    world.apply_then_crash(&detail, "inv-slow").await;
    let body = envelope(&detail);

    // WHEN SQS redelivers the event before the lease runs out
    let early = world
        .function
        .handle_batch(sqs_event(&[("m1", body.clone())]), "inv-2")
        .await;

    // THEN nothing is sent, and the record is done: the message stays in the outbox
    assert!(early.response.batch_item_failures.is_empty(), "{early:?}");
    assert!(
        matches!(
            early.records[0].result,
            Ok(RecordOutcome::Duplicate {
                resent: Some(SendOutcome::HeldElsewhere),
                ..
            })
        ),
        "{early:?}"
    );
    assert!(world.sent().is_empty());
    assert_eq!(
        messages(&world.journey(1).await)[0].status,
        MessageStatus::Pending
    );

    // AND once the lease runs out, the relay sends it once, and a later redelivery nothing more
    world.let_leases_expire();
    assert_eq!(world.relay("relay").await.relayed, 1);
    let later = world
        .function
        .handle_batch(sqs_event(&[("m1", body)]), "inv-3")
        .await;
    assert!(later.response.batch_item_failures.is_empty(), "{later:?}");
    assert_eq!(world.sent().len(), 1);
}

#[tokio::test]
async fn a_crash_after_ses_accepted_but_before_marking_sends_the_message_once_more_then_marks_it() {
    // GIVEN an invocation whose send SES accepted, which died before marking the message sent:
    // the one window SES (which has no idempotency key) leaves open
    let world = World::with("crash-after-send", ONLY_ORDER_STATUS).await;
    let detail = world.event("shipped", 1, "A-1", "evt-1", "2026-11-21T10:00:00Z");
    world.apply_then_crash(&detail, "inv-crashed").await;
    let pending = messages(&world.journey(1).await).remove(0);
    let mailer =
        aftercare_adapters::mailer::SesMailer::new(world.clients.sesv2.clone(), &world.config);
    mailer
        .send(&pending.outgoing(&world.config.settings).unwrap().unwrap())
        .await
        .unwrap();
    assert_eq!(world.sent().len(), 1);

    // WHEN the lease runs out and the relay runs, twice
    world.let_leases_expire();
    let first = world.relay("relay-a").await;
    world.let_leases_expire();
    let second = world.relay("relay-b").await;

    // THEN the message went out exactly once more and is marked sent: never a third time
    assert_eq!((first.relayed, second.relayed), (1, 0));
    assert_eq!(world.sent().len(), 2);
    assert_eq!(
        messages(&world.journey(1).await)[0].status,
        MessageStatus::Sent
    );
}

#[tokio::test]
async fn an_ses_outage_keeps_the_message_in_the_outbox_and_the_relay_sends_it_once() {
    // GIVEN SES cannot be reached
    let world = World::with("ses-outage", ONLY_ORDER_STATUS).await;
    let body = envelope(&world.event("delivered", 1, "A-1", "evt-1", "2026-11-23T10:00:00Z"));
    let broken = world.with_unreachable_ses().await;
    let report = broken
        .handle_batch(sqs_event(&[("m1", body.clone())]), "inv-1")
        .await;

    // THEN the event is applied, the message is kept pending with the reason, and the record
    // is done (a retry of it would only wait for SES too; the relay sends the message)
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
    let journey = world.journey(1).await;
    assert_eq!(orders(&journey)[0].status, OrderStatus::Delivered);
    let pending = &messages(&journey)[0];
    assert_eq!(pending.status, MessageStatus::Pending);
    assert!(
        pending
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("SES"),
        "{:?}",
        pending.last_error
    );
    assert!(world.sent().is_empty());

    // WHEN SES is back and the relay runs after the lease ran out, twice
    world.let_leases_expire();
    let first = world.relay("relay-a").await;
    world.let_leases_expire();
    let second = world.relay("relay-b").await;

    // THEN the message went out once
    assert_eq!((first.relayed, second.relayed), (1, 0));
    assert_eq!(world.sent().len(), 1);
    assert_eq!(messages(&world.journey(1).await)[0].attempts, 2);

    // AND a redelivery of the record sends nothing more
    let retry = world
        .function
        .handle_batch(sqs_event(&[("m1", body)]), "inv-2")
        .await;
    assert!(retry.response.batch_item_failures.is_empty(), "{retry:?}");
    assert_eq!(world.sent().len(), 1);
}

#[tokio::test]
async fn bad_records_fail_alone_and_name_their_field() {
    let world = World::new("bad-records").await;
    let good = world.event("placed", 1, "A-1", "evt-good", "2026-11-20T10:00:00Z");
    let mut missing = good.clone();
    missing["customer"].as_object_mut().unwrap().remove("email");
    let mut wrong_type = good.clone();
    wrong_type["items"][0]["quantity"] = json!("two");
    let mut unknown_status = good.clone();
    unknown_status["status"] = json!("teleported");
    let mut bad_email = good.clone();
    bad_email["customer"]["email"] = json!("emily at example.com");
    let mut bad_zone = good.clone();
    bad_zone["customer"]["time_zone"] = json!("Europe/Atlantis");
    let mut huge = good.clone();
    huge["items"][0]["name"] = json!("x".repeat(70_000));
    let mut future = good.clone();
    future["event_id"] = json!("evt-future");
    future["occurred_at"] = json!("2099-01-01T00:00:00Z");

    let batch = sqs_event(&[
        ("bad-json", "{\"event_id\": ".to_owned()),
        ("missing", envelope(&missing)),
        ("good", envelope(&good)),
        ("wrong-type", envelope(&wrong_type)),
        ("unknown-status", envelope(&unknown_status)),
        ("bad-email", serde_json::to_string(&bad_email).unwrap()),
        ("bad-zone", envelope(&bad_zone)),
        ("huge", envelope(&huge)),
        ("future", envelope(&future)),
    ]);
    let report = world.function.handle_batch(batch, "inv").await;

    let failed: Vec<&str> = report
        .response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        failed,
        [
            "bad-json",
            "missing",
            "wrong-type",
            "unknown-status",
            "bad-email",
            "bad-zone",
            "huge",
            "future"
        ]
    );
    let fields: Vec<String> = report
        .records
        .iter()
        .filter_map(|r| match &r.result {
            Err(order_events::RecordError::Invalid(e)) => Some(e.field.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        fields,
        [
            "body",
            "detail.customer.email",
            "detail.items[0].quantity",
            "detail.status",
            "customer.email",
            "detail.customer.time_zone",
            "body",
            "occurred_at"
        ]
    );
    assert_eq!(world.sent().len(), 1, "the good record's message went out");
}

#[tokio::test]
async fn records_are_not_started_when_the_invocation_is_about_to_time_out() {
    let world = World::new("deadline").await;
    let body = envelope(&world.event("placed", 1, "A-1", "evt-1", "2026-11-20T10:00:00Z"));
    let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    let report = world
        .function
        .handle_batch_until(sqs_event(&[("m1", body)]), "inv", Some(deadline))
        .await;
    assert_eq!(report.response.batch_item_failures.len(), 1);
    assert!(matches!(
        report.records[0].result,
        Err(order_events::RecordError::OutOfTime)
    ));
    assert!(world.journey(1).await.is_empty(), "nothing was written");
}

#[tokio::test]
async fn a_delivery_plans_its_follow_ups_in_the_same_write_and_a_reorder_cancels_them_with_a_reason(
) {
    let world = World::new("follow-ups").await;
    let mut placed = world.event("placed", 1, "A-1", "evt-1", "2026-11-01T10:00:00Z");
    placed["items"] = json!([{"sku": "TEA-1", "name": "Assam", "category": "tea", "quantity": 1, "replenish_every_days": 30}]);
    placed.as_object_mut().unwrap().remove("total");
    let mut delivered = placed.clone();
    delivered["status"] = json!("delivered");
    delivered["event_id"] = json!("evt-2");
    delivered["occurred_at"] = json!("2026-11-03T10:00:00Z");
    for (id, event) in [("m1", &placed), ("m2", &delivered)] {
        let report = world
            .function
            .handle_batch(sqs_event(&[(id, envelope(event))]), "inv")
            .await;
        assert!(report.response.batch_item_failures.is_empty(), "{report:?}");
    }
    let keys = |items: &[JourneyItem]| -> Vec<String> {
        let mut keys: Vec<String> = items
            .iter()
            .filter_map(|i| {
                if let JourneyItem::FollowUp(f) = i {
                    Some(f.follow_up.key.clone())
                } else {
                    None
                }
            })
            .collect();
        keys.sort();
        keys
    };
    let journey = world.journey(1).await;
    assert_eq!(
        keys(&journey),
        ["reactivation", "repurchase#TEA-1", "review#A-1"]
    );
    let profile = profile(&journey);
    assert_eq!(
        profile.value.follow_ups.len(),
        3,
        "the profile indexes what is planned"
    );

    let mut reorder = placed.clone();
    reorder["order_id"] = json!("A-2");
    reorder["event_id"] = json!("evt-3");
    reorder["occurred_at"] = json!("2026-11-20T10:00:00Z");
    world
        .function
        .handle_batch(sqs_event(&[("m3", envelope(&reorder))]), "inv")
        .await;
    let journey = world.journey(1).await;
    assert!(!keys(&journey).contains(&"repurchase#TEA-1".to_owned()));
    let record = follow_up_decisions(&journey)
        .into_iter()
        .find(|d| d.key == "repurchase#TEA-1")
        .expect("the cancellation is recorded");
    assert_eq!(record.decision, "cancelled");
    assert!(record.reason.contains("A-2"), "{}", record.reason);
}

#[tokio::test]
async fn every_sample_event_runs_through_the_handler_and_sends_its_message() {
    let world = World::new("samples").await;
    for status in [
        "placed",
        "confirmed",
        "packed",
        "shipped",
        "delayed",
        "out_for_delivery",
        "delivered",
        "cancelled",
    ] {
        let mut event = sample_sqs_event(status);
        // Each sample goes to this test's own recipient.
        let record = &mut event.records[0];
        let mut body: serde_json::Value =
            serde_json::from_str(record.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body["detail"],
            sample_detail(status),
            "infra/events/{status}.json is stale: run `make events`"
        );
        body["detail"]["customer"]["email"] = json!(world.email(1));
        record.body = Some(body.to_string());
        let report = world.function.handle_batch(event, "inv").await;
        assert!(
            report.response.batch_item_failures.is_empty(),
            "{status}: {report:?}"
        );
    }
    let sent = world.sent();
    assert_eq!(sent.len(), 8);
    let mail = &sent[0];
    assert_eq!(mail.from, "orders@leafandkettle.example");
    assert_eq!(mail.reply_to, "help@leafandkettle.example");
    assert!(
        mail.message_id.ends_with("@leafandkettle.example"),
        "{}",
        mail.message_id
    );
    assert!(mail.raw.contains("multipart/alternative"));
    assert!(mail.html.contains("Emily") && mail.text.contains("Emily"));
    let delayed = sent
        .iter()
        .find(|m| m.subject.contains("delayed"))
        .expect("the delay message");
    assert!(delayed
        .text
        .contains("a winter storm closed the carrier's hub in Denver"));
    assert!(
        delayed.subject.contains("Wednesday, 28 October 2026"),
        "{}",
        delayed.subject
    );
    let cancelled = sent
        .iter()
        .find(|m| m.subject.contains("cancelled"))
        .expect("the cancellation message");
    assert!(
        cancelled.text.contains("We have refunded $27.00"),
        "{}",
        cancelled.text
    );
}

#[tokio::test]
async fn a_russian_customer_gets_russian_mail_with_plural_forms() {
    let world = World::new("russian").await;
    let mut event = world.event("placed", 1, "R-1", "evt-1", "2026-11-20T10:00:00Z");
    event["customer"]["locale"] = json!("ru-RU");
    event["customer"]["name"] = json!("Анна Петрова");
    event["customer"]["time_zone"] = json!("Europe/Moscow");
    event["items"] =
        json!([{"sku": "TEA-1", "name": "Чай Ассам", "quantity": 5, "unit_price": "300"}]);
    event["total"] = json!({"amount": "1500", "currency": "RUB"});
    let report = world
        .function
        .handle_batch(sqs_event(&[("m", envelope(&event))]), "inv")
        .await;
    assert!(report.response.batch_item_failures.is_empty());
    let mail = &world.sent()[0];
    assert_eq!(mail.subject, "Мы получили ваш заказ R-1");
    assert!(mail.text.contains("Здравствуйте, Анна!"), "{}", mail.text);
    assert!(
        mail.text.contains("5 товаров, 1\u{a0}500,00\u{a0}₽"),
        "{}",
        mail.text
    );
    assert!(
        mail.text.contains("20 ноября 2026, 13:00"),
        "Moscow time: {}",
        mail.text
    );
}

#[tokio::test]
async fn an_event_dated_at_the_edge_of_time_is_refused_alone_and_its_batch_sibling_is_applied() {
    // GIVEN the reported body: an expected delivery in the year -262143, which once panicked in
    // follow-up planning and took the whole batch down
    let world = World::new("edge-of-time").await;
    let mut edge = world.event("placed", 1, "E-1", "evt-edge", "2026-11-20T10:00:00Z");
    edge["delivery"] = json!({"eta": "-262143-01-01"});
    let mut late = world.event("delayed", 1, "E-1", "evt-edge-late", "2026-11-20T10:00:00Z");
    late["delay"] = json!({"reason": "storm", "new_eta": "-262143-01-01"});
    let sibling = world.event("placed", 1, "E-2", "evt-sibling", "2026-11-20T10:05:00Z");

    // WHEN they arrive in one batch with a valid event after them
    let report = world
        .function
        .handle_batch(
            sqs_event(&[
                ("m1", envelope(&edge)),
                ("m2", envelope(&late)),
                ("m3", envelope(&sibling)),
            ]),
            "inv-edge",
        )
        .await;

    // THEN each bad record is refused on its own, naming its field, and the sibling is applied
    let refused: Vec<_> = report.records[..2]
        .iter()
        .map(|r| match &r.result {
            Err(RecordError::Invalid(invalid)) => invalid.field.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(refused, ["detail.delivery.eta", "detail.delay.new_eta"]);
    assert!(
        matches!(
            report.records[2].result,
            Ok(RecordOutcome::Processed { applied: true, .. })
        ),
        "{:?}",
        report.records[2]
    );
    let failed: Vec<_> = report
        .response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m1", "m2"]);
    assert_eq!(world.sent().len(), 1, "the sibling's confirmation only");
}
