//! Writes sent again after their answer was lost, against the local emulator: each finds its
//! own effect and reports success, never a conflict, a duplicate or a message held by someone
//! else; and what another writer did is still told apart.

use aftercare_adapters::items::{CommitError, JourneyItem, Lease, MessageItem, MessageStatus};
use aftercare_adapters::ports::JourneyStore;
use aftercare_integration_tests::{at, envelope, World};
use aftercare_journey::event::parse_order_event;
use aftercare_journey::order_status::decide_order_event;
use chrono::Duration;

/// Decides the sample `placed` event of customer 1 and writes it once, as an invocation
/// `owner` would; returns what a second, identical write needs.
async fn placed_and_committed(
    world: &World,
    owner: &str,
) -> (
    aftercare_adapters::items::ProfileAndOrder,
    aftercare_journey::event::OrderEvent,
    aftercare_journey::order_status::OrderEventDecision,
    Lease,
    MessageItem,
) {
    let detail = world.event("placed", 1, "R-1", "R-1-placed", "2026-11-02T10:00:00Z");
    let event = parse_order_event(
        &envelope(&detail),
        &aftercare_journey::event::AcceptedYears::default(),
    )
    .unwrap();
    let loaded = world
        .store()
        .load_profile_and_order(&event.customer.id, Some(&event.order_id))
        .await
        .unwrap();
    let decision =
        decide_order_event(&loaded.before_event(), &event, &world.config.settings).unwrap();
    let lease = Lease {
        owner: owner.into(),
        until: at("2026-11-02T10:02:00Z"),
    };
    let message = world
        .store()
        .commit_order_event(
            &loaded,
            &event,
            &decision,
            &lease,
            &lease.owner,
            at("2026-11-02T10:00:01Z"),
        )
        .await
        .unwrap()
        .expect("a pending order confirmation");
    (loaded, event, decision, lease, message)
}

/// Checks that the order's timeline records `event` once, and that reading for it again finds
/// it decided.
async fn assert_event_decided_once(world: &World, event: &aftercare_journey::event::OrderEvent) {
    let loaded = world
        .store()
        .load_profile_and_order(&event.customer.id, Some(&event.order_id))
        .await
        .unwrap();
    assert!(loaded.decided_before(&event.event_id).is_some());
    let order = loaded.order.unwrap();
    assert_eq!(order.version, 1);
    let entries = order
        .value
        .timeline
        .iter()
        .filter(|e| e.event_id == event.event_id)
        .count();
    assert_eq!(entries, 1);
}

#[tokio::test]
async fn a_transaction_sent_again_after_its_answer_was_lost_is_taken_as_done() {
    // GIVEN an order event's decision, written once
    let world = World::new("retry-transaction").await;
    let (loaded, event, decision, lease, first) = placed_and_committed(&world, "inv-a").await;

    // WHEN the very same transaction is sent again (its token is the same)
    let again = world
        .store()
        .commit_order_event(
            &loaded,
            &event,
            &decision,
            &lease,
            &lease.owner,
            at("2026-11-02T10:00:01Z"),
        )
        .await;

    // THEN it is answered as done, not as a duplicate event, and nothing was written twice
    assert_eq!(again.unwrap(), Some(first));
    let items = world.journey(1).await;
    let versions: Vec<u64> = items
        .iter()
        .filter_map(|i| match i {
            JourneyItem::Profile(p) => Some(p.version),
            JourneyItem::Order(o) => Some(o.version),
            _ => None,
        })
        .collect();
    assert_eq!(versions, vec![1, 1]);
}

#[tokio::test]
async fn the_same_event_decided_again_by_another_invocation_is_still_a_duplicate() {
    // GIVEN an order event's decision, written by one invocation
    let world = World::new("retry-other-writer").await;
    let (loaded, event, decision, _, _) = placed_and_committed(&world, "inv-a").await;

    // WHEN another invocation writes its own decision of the same event (another owner, so
    // another transaction and another token)
    let lease = Lease {
        owner: "inv-b".into(),
        until: at("2026-11-02T10:02:05Z"),
    };
    let other = world
        .store()
        .commit_order_event(
            &loaded,
            &event,
            &decision,
            &lease,
            &lease.owner,
            at("2026-11-02T10:00:05Z"),
        )
        .await;

    // THEN the order's version refuses it, and the read after it finds the event decided
    assert!(matches!(other, Err(CommitError::Conflict)), "{other:?}");
    assert_event_decided_once(&world, &event).await;
}

#[tokio::test]
async fn two_invocations_deciding_an_event_alike_at_the_same_instant_are_told_apart() {
    // GIVEN an order event's decision, written by inv-a, with a message that waits (its
    // holder is not an invocation) at an instant both invocations share
    let world = World::new("retry-same-instant").await;
    let (loaded, event, decision, _, _) = placed_and_committed(&world, "inv-a").await;
    let lease = Lease {
        owner: "inv-a".into(),
        until: at("2026-11-02T10:02:00Z"),
    };

    // WHEN inv-b writes the very same decision with the same lease at the same instant
    let other = world
        .store()
        .commit_order_event(
            &loaded,
            &event,
            &decision,
            &lease,
            "inv-b",
            at("2026-11-02T10:00:01Z"),
        )
        .await;

    // THEN it is another transaction, and the order's version refuses it
    assert!(matches!(other, Err(CommitError::Conflict)), "{other:?}");
    assert_event_decided_once(&world, &event).await;
}

#[tokio::test]
async fn a_mark_by_another_sender_with_the_same_reason_is_not_taken_for_ours() {
    // GIVEN a pending message held by inv-a, marked failed by inv-a
    let world = World::new("retry-mark-failed").await;
    let (_, _, _, lease, message) = placed_and_committed(&world, "inv-a").await;
    let now = at("2026-11-02T10:00:02Z");
    let first = world
        .store()
        .mark_failed(&message, &lease.owner, "refused", now)
        .await
        .unwrap();
    // WHEN inv-a's mark is sent again, and inv-b marks it failed for the same reason
    let retried = world
        .store()
        .mark_failed(&message, &lease.owner, "refused", now)
        .await
        .unwrap();
    let other = world
        .store()
        .mark_failed(&message, "inv-b", "refused", now)
        .await
        .unwrap();
    // THEN only inv-a's marks are its own
    assert_eq!((first, retried, other), (true, true, false));
}

#[tokio::test]
async fn marking_a_message_sent_twice_succeeds_twice_and_another_senders_mark_fails() {
    // GIVEN a pending message held by inv-a, which SES accepted
    let world = World::new("retry-mark-sent").await;
    let (_, _, _, lease, message) = placed_and_committed(&world, "inv-a").await;
    let now = at("2026-11-02T10:00:02Z");

    // WHEN inv-a marks it sent, and the same mark is sent again after its answer was lost
    let first = world
        .store()
        .mark_sent(&message, &lease.owner, "ses-1", now)
        .await
        .unwrap();
    let retried = world
        .store()
        .mark_sent(&message, &lease.owner, "ses-1", now)
        .await
        .unwrap();
    // AND a sender that took it over marks its own send
    let other = world
        .store()
        .mark_sent(&message, "inv-b", "ses-2", now)
        .await
        .unwrap();

    // THEN both of inv-a's marks report success, the other sender learns it was not its own,
    // and the message records the first send
    assert_eq!((first, retried, other), (true, true, false));
    let stored = world
        .store()
        .message(&message.customer_id, &message.sk)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, MessageStatus::Sent);
    assert_eq!(stored.ses_message_id.as_deref(), Some("ses-1"));
}

#[tokio::test]
async fn a_claim_sent_again_holds_the_message_and_counts_one_attempt() {
    // GIVEN a pending message whose sender's lease ran out
    let world = World::new("retry-claim-message").await;
    let (_, _, _, _, message) = placed_and_committed(&world, "inv-a").await;
    let now = at("2026-11-02T10:05:00Z");
    let lease = Lease {
        owner: "relay-1".into(),
        until: now + Duration::minutes(2),
    };

    // WHEN the relay claims it, and the same claim is sent again
    let first = world
        .store()
        .claim_message(&message, &lease, now)
        .await
        .unwrap();
    let retried = world
        .store()
        .claim_message(&message, &lease, now)
        .await
        .unwrap();
    // AND another relay tries meanwhile
    let other_lease = Lease {
        owner: "relay-2".into(),
        until: now + Duration::minutes(2),
    };
    let other = world
        .store()
        .claim_message(&message, &other_lease, now)
        .await
        .unwrap();

    // THEN the retry holds it as the first did, the claim counted once, and the other relay
    // does not hold it
    let first = first.expect("claimed");
    assert_eq!(retried.as_ref(), Some(&first));
    assert_eq!(first.attempts, 2, "created by inv-a, then claimed once");
    assert!(other.is_none());
}
