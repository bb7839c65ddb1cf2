//! The outbox's exactly-once scenarios on the in-memory twin: redelivery, a crash before the
//! send, a crash after SES accepted, transient and permanent mailer failures, quiet hours,
//! consent that changed while a message waited, handoffs, and relays racing for one message.
//! The messages are the domain's own, decided from the sample order events; time is a
//! `ManualClock`. The DynamoDB side of the same guarantees stays in the emulator suites.

use aftercare_adapters::clock::{Clock, ManualClock};
use aftercare_adapters::deadline::Budget;
use aftercare_adapters::items::{MessageItem, MessageStatus};
use aftercare_adapters::memory::{
    BusFault, Fault, MailFault, MemoryMailer, MemoryStore, Operation,
};
use aftercare_adapters::outbox::{DeliverError, Outbox, SendOutcome};
use aftercare_adapters::ports::{JourneyStore, Mailer};
use aftercare_adapters::sweep::{SweepReport, Sweeper};
use aftercare_journey::consent::{apply_bounce, unsubscribe, Bounce};
use aftercare_journey::contact::EmailAddress;
use aftercare_journey::message::MessageKind;
use aftercare_journey::profile::{MailTopic, OptOutSource};
use aftercare_twin_fixtures::{at, at_once, delivered_order, order_event, Twin, ONLY_ORDER_STATUS};
use chrono::Duration;

const CUSTOMER: &str = "cus-1";

fn outbox(
    twin: &Twin,
) -> Outbox<'_, MemoryStore, MemoryMailer, aftercare_adapters::memory::MemoryBus> {
    Outbox::new(
        &twin.store,
        &twin.mailer,
        &twin.config.settings,
        &twin.clock,
        twin.config.outbox_lease,
    )
    .with_bus(&twin.bus)
}

/// A sweep at the clock's time, as the schedule's relay runs.
async fn sweep(twin: &Twin, owner: &str) -> SweepReport {
    Sweeper::new(
        &twin.store,
        outbox(twin),
        &twin.config.settings,
        &twin.clock,
    )
    .run(twin.clock.now(), owner, Budget::UNLIMITED)
    .await
    .unwrap()
}

/// The message as stored now.
async fn stored(twin: &Twin, item: &MessageItem) -> MessageItem {
    twin.store
        .message(&item.customer_id, &item.sk)
        .await
        .unwrap()
        .expect("the message is stored")
}

/// A shipped event of customer 1 applied by `owner`, which died right after its write.
async fn shipped_then_crash(twin: &Twin, owner: &str) -> MessageItem {
    let detail = order_event("shipped", CUSTOMER, "A-1", "evt-1", "2026-11-21T10:00:00Z");
    twin.apply_then_crash(&detail, owner)
        .await
        .expect("the shipped event decides a message")
}

#[tokio::test]
async fn a_message_delivered_by_its_holder_is_sent_once_and_a_redelivered_record_sends_nothing_more(
) {
    // GIVEN an event just written, its message held by the invocation that wrote it
    let twin = Twin::new();
    let item = shipped_then_crash(&twin, "inv-1").await;

    // WHEN that invocation delivers it
    let first = outbox(&twin).deliver_held(&item, "inv-1").await.unwrap();

    // THEN it is sent once and marked sent with the mailer's id
    let sent = twin.mailer.sent();
    assert_eq!(
        first,
        SendOutcome::Sent {
            ses_message_id: sent[0].id.clone()
        }
    );
    let after = stored(&twin, &item).await;
    assert_eq!(after.status, MessageStatus::Sent);
    assert_eq!(after.ses_message_id.as_deref(), Some(sent[0].id.as_str()));

    // AND a redelivered record, before and after the lease ran out, sends nothing more
    let again = outbox(&twin)
        .redeliver(&item.customer_id, &item.sk, "inv-2")
        .await
        .unwrap();
    twin.let_leases_expire();
    let later = outbox(&twin)
        .redeliver(&item.customer_id, &item.sk, "inv-3")
        .await
        .unwrap();
    let stale_copy = outbox(&twin)
        .claim_and_deliver(&item, "inv-4")
        .await
        .unwrap();
    assert_eq!((again, later), (SendOutcome::NotOurs, SendOutcome::NotOurs));
    assert_ne!(
        stale_copy,
        SendOutcome::Sent {
            ses_message_id: sent[0].id.clone()
        }
    );
    assert_eq!(twin.mailer.sent().len(), 1);
}

#[tokio::test]
async fn a_message_whose_holder_died_before_sending_is_sent_once_by_the_relay_after_the_lease_and_never_before(
) {
    // GIVEN an event applied by an invocation that died before sending
    let twin = Twin::with(&[ONLY_ORDER_STATUS]);
    let item = shipped_then_crash(&twin, "inv-crashed").await;

    // WHEN the relay runs while the dead invocation's lease still holds, up to its last second
    let early = outbox(&twin)
        .claim_and_deliver(&item, "relay-early")
        .await
        .unwrap();
    twin.clock
        .advance(twin.config.outbox_lease - Duration::seconds(1));
    let just_before = sweep(&twin, "relay-just-before").await;

    // THEN nothing is sent
    assert_eq!(early, SendOutcome::HeldElsewhere);
    assert_eq!(just_before.relayed, 0, "{just_before:?}");
    assert!(twin.mailer.sent().is_empty());

    // WHEN the lease has run out and the relay runs, then again later
    twin.clock.advance(Duration::seconds(2));
    let relayed = sweep(&twin, "relay-a").await;
    twin.let_leases_expire();
    let again = sweep(&twin, "relay-b").await;

    // THEN it went out once, is marked sent, and has left the outbox
    assert_eq!((relayed.relayed, again.relayed), (1, 0));
    let sent = twin.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message.trigger, "event:evt-1");
    let after = stored(&twin, &item).await;
    assert_eq!(after.status, MessageStatus::Sent);
    assert_eq!(after.attempts, 2);
    assert!(after.content.is_none() && after.due_bucket.is_none());
}

#[tokio::test]
async fn a_pending_order_status_message_fits_in_one_write_unit() {
    // GIVEN the sample's shipped email, written as pending: its draft without the frame the
    // outbox makes again from the settings
    let twin = Twin::new();
    let item = shipped_then_crash(&twin, "inv-1").await;

    // THEN the item, as DynamoDB sizes it, is under the 1 KB of one write unit
    let stored = serde_dynamo::to_item::<_, std::collections::HashMap<String, _>>(&item).unwrap();
    let size = aftercare_adapters::memory::item_size(&stored);
    assert!(size <= 1024, "{size} bytes");
}

#[tokio::test]
async fn a_message_an_earlier_release_kept_with_its_frame_is_sent_in_the_frame_of_todays_settings()
{
    // GIVEN a pending message as an earlier release kept it: the shop's name, how to reach a
    // person, the footer, the preferences link and the unsubscribe headers inside its draft,
    // from settings that have changed since
    let twin = Twin::with(&[ONLY_ORDER_STATUS]);
    let item = shipped_then_crash(&twin, "inv-1").await;
    let today = item.outgoing(&twin.config.settings).unwrap().unwrap();
    let mut kept = serde_json::to_value(item.content.as_ref().unwrap()).unwrap();
    kept["draft"]["shop"] = serde_json::json!("Leaf and Kettle Ltd");
    kept["draft"]["copy"]["support"] = serde_json::json!({
        "text": "Write to old-help@leafandkettle.example.", "email": "old-help@leafandkettle.example",
        "url": null, "url_label": "Help"
    });
    kept["draft"]["copy"]["footer"] = serde_json::json!("An old footer.");
    kept["draft"]["copy"]["preferences"] = serde_json::json!({
        "label": "Old link", "url": "https://old.example/unsubscribe?token=old"
    });
    kept["list_unsubscribe"] = serde_json::json!({
        "https": "https://old.example/unsubscribe?token=old", "mailto": "mailto:old@example.com"
    });
    let mut earlier = item.clone();
    earlier.content = Some(serde_json::from_value(kept).unwrap());

    // WHEN its holder delivers it
    let outcome = outbox(&twin).deliver_held(&earlier, "inv-1").await.unwrap();

    // THEN it goes out once, laid out in today's frame, exactly as a message kept today is
    assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    let sent = twin.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message, today);
    assert!(
        !sent[0].message.html.contains("old-help@")
            && !sent[0].message.html.contains("old.example")
    );
}

#[tokio::test]
async fn a_crash_after_ses_accepted_and_before_the_mark_sends_the_message_exactly_once_more() {
    // GIVEN an invocation whose send SES accepted, which died before marking it sent: the one
    // window the design admits (SES has no idempotency key)
    let twin = Twin::with(&[ONLY_ORDER_STATUS]);
    let item = shipped_then_crash(&twin, "inv-crashed").await;
    twin.mailer
        .send(&item.outgoing(&twin.config.settings).unwrap().unwrap())
        .await
        .unwrap();

    // WHEN the lease runs out and the relay runs, three times
    let mut relayed = Vec::new();
    for relay in ["relay-a", "relay-b", "relay-c"] {
        twin.let_leases_expire();
        relayed.push(sweep(&twin, relay).await.relayed);
    }

    // THEN it went out exactly twice, never a third time, and is marked sent
    assert_eq!(relayed, [1, 0, 0]);
    assert_eq!(twin.mailer.sent().len(), 2);
    assert_eq!(stored(&twin, &item).await.status, MessageStatus::Sent);
}

#[tokio::test]
async fn a_send_whose_acceptance_was_lost_is_sent_again_once_by_the_relay_and_no_more() {
    // GIVEN SES accepts the message and the answer is lost
    let twin = Twin::with(&[ONLY_ORDER_STATUS]);
    let item = shipped_then_crash(&twin, "inv-1").await;
    twin.mailer.fail_next(MailFault::LostAnswer);

    // WHEN its holder delivers it, and the relay runs after the lease, twice
    let delivered = outbox(&twin).deliver_held(&item, "inv-1").await;
    twin.let_leases_expire();
    let first = sweep(&twin, "relay-a").await;
    twin.let_leases_expire();
    let second = sweep(&twin, "relay-b").await;

    // THEN the holder left it pending, and the relay sent it once more: two sends in all
    assert!(
        matches!(delivered, Err(DeliverError::Send(_))),
        "{delivered:?}"
    );
    assert_eq!((first.relayed, second.relayed), (1, 0));
    assert_eq!(twin.mailer.sent().len(), 2);
    assert_eq!(stored(&twin, &item).await.status, MessageStatus::Sent);
}

#[tokio::test]
async fn a_mark_sent_whose_answer_was_lost_once_is_recorded_and_the_message_sent_once() {
    // GIVEN the store applies the mark and loses its answer, once
    let twin = Twin::with(&[ONLY_ORDER_STATUS]);
    let item = shipped_then_crash(&twin, "inv-1").await;
    twin.store.fail_next(Operation::MarkSent, Fault::LostAnswer);

    // WHEN its holder delivers it, and the relay runs after the lease
    let delivered = outbox(&twin).deliver_held(&item, "inv-1").await.unwrap();
    twin.let_leases_expire();
    let relay = sweep(&twin, "relay").await;

    // THEN the retried mark found its own effect: sent once, recorded, nothing left to relay
    let sent = twin.mailer.sent();
    assert_eq!(
        delivered,
        SendOutcome::Sent {
            ses_message_id: sent[0].id.clone()
        }
    );
    assert_eq!(relay.relayed, 0);
    assert_eq!(sent.len(), 1);
    let after = stored(&twin, &item).await;
    assert_eq!(after.status, MessageStatus::Sent);
    assert_eq!(after.ses_message_id.as_deref(), Some(sent[0].id.as_str()));
}

#[tokio::test]
async fn a_transient_mailer_failure_leaves_the_message_pending_for_the_relay_which_sends_it_once() {
    // GIVEN SES is throttling
    let twin = Twin::with(&[ONLY_ORDER_STATUS]);
    let item = shipped_then_crash(&twin, "inv-1").await;
    twin.mailer.fail_next(MailFault::Transient);

    // WHEN its holder delivers it
    let delivered = outbox(&twin).deliver_held(&item, "inv-1").await;

    // THEN nothing is sent, and it stays pending with the reason
    assert!(
        matches!(delivered, Err(DeliverError::Send(_))),
        "{delivered:?}"
    );
    assert!(twin.mailer.sent().is_empty());
    let pending = stored(&twin, &item).await;
    assert_eq!(pending.status, MessageStatus::Pending);
    assert!(
        pending
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("throttled"),
        "{:?}",
        pending.last_error
    );

    // AND the relay sends it once, after the lease and not before
    let early = sweep(&twin, "relay-early").await;
    twin.let_leases_expire();
    let first = sweep(&twin, "relay-a").await;
    twin.let_leases_expire();
    let second = sweep(&twin, "relay-b").await;
    assert_eq!((early.relayed, first.relayed, second.relayed), (0, 1, 0));
    assert_eq!(twin.mailer.sent().len(), 1);
}

#[tokio::test]
async fn a_rejected_message_is_marked_failed_with_the_reason_and_never_sent() {
    // GIVEN SES refuses the message for good
    let twin = Twin::with(&[ONLY_ORDER_STATUS]);
    let item = shipped_then_crash(&twin, "inv-1").await;
    twin.mailer.fail_next(MailFault::Rejected);

    // WHEN its holder delivers it, and the relay runs later
    let delivered = outbox(&twin).deliver_held(&item, "inv-1").await.unwrap();
    twin.let_leases_expire();
    let relay = sweep(&twin, "relay").await;
    let redelivered = outbox(&twin)
        .redeliver(&item.customer_id, &item.sk, "inv-2")
        .await
        .unwrap();

    // THEN it is failed with SES's reason, out of the outbox, and never sent
    assert!(
        matches!(delivered, SendOutcome::Rejected { .. }),
        "{delivered:?}"
    );
    let failed = stored(&twin, &item).await;
    assert_eq!(failed.status, MessageStatus::Failed);
    assert!(
        failed
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("refused"),
        "{:?}",
        failed.last_error
    );
    assert!(failed.due_bucket.is_none());
    assert_eq!((relay.relayed, redelivered), (0, SendOutcome::NotOurs));
    assert!(twin.mailer.sent().is_empty());
}

/// A shipped event at 23:00 in Los Angeles for a shop whose order news waits for the morning.
async fn shipped_at_night(twin: &Twin) -> MessageItem {
    let detail = order_event("shipped", CUSTOMER, "Q-1", "evt-q", "2026-11-02T07:00:00Z");
    twin.apply_then_crash(&detail, "inv-1")
        .await
        .expect("a message")
}

#[tokio::test]
async fn a_message_waiting_for_quiet_hours_is_not_sent_before_its_time_and_is_sent_once_after() {
    // GIVEN order news decided at night, waiting for the morning
    let twin = Twin::with(&[("QUIET_HOURS_FOR_ORDER_STATUS", "true"), ONLY_ORDER_STATUS]);
    let item = shipped_at_night(&twin).await;
    let SendOutcome::Waiting { until } = outbox(&twin)
        .claim_and_deliver(&item, "relay")
        .await
        .unwrap()
    else {
        panic!("a message decided at night waits");
    };
    assert!(until > at("2026-11-02T07:00:00Z"));

    // WHEN the relay runs a minute before its time
    twin.clock.set(until - Duration::minutes(1));
    let early = outbox(&twin)
        .claim_and_deliver(&item, "relay-early")
        .await
        .unwrap();
    let early_sweep = sweep(&twin, "sweep-early").await;

    // THEN nothing is sent
    assert_eq!(early, SendOutcome::Waiting { until });
    assert_eq!(early_sweep.relayed, 0);
    assert!(twin.mailer.sent().is_empty());

    // WHEN its time has come, the sweep runs twice
    twin.clock.set(until + Duration::minutes(5));
    let morning = sweep(&twin, "sweep-morning").await;
    twin.let_leases_expire();
    let later = sweep(&twin, "sweep-later").await;

    // THEN it went out once
    assert_eq!((morning.relayed, later.relayed), (1, 0));
    assert_eq!(twin.mailer.sent().len(), 1);
    assert_eq!(stored(&twin, &item).await.status, MessageStatus::Sent);
}

#[tokio::test]
async fn a_message_waiting_for_the_morning_is_withheld_when_the_address_was_suppressed_overnight() {
    // GIVEN order news waiting for the morning
    let twin = Twin::with(&[("QUIET_HOURS_FOR_ORDER_STATUS", "true")]);
    let item = shipped_at_night(&twin).await;
    let Some(until) = item
        .lease_until
        .as_deref()
        .and_then(aftercare_adapters::items::Lease::parse_until)
    else {
        panic!("a waiting message has a lease");
    };

    // AND the address bounced for good meanwhile
    let profile = twin.profile(CUSTOMER).await;
    let (bounced, _) = apply_bounce(
        &profile.value,
        &Bounce {
            address: EmailAddress::parse(format!("{CUSTOMER}@example.com")).unwrap(),
            permanent: true,
            subtype: "General".into(),
            feedback_id: "fb-1".into(),
            at: at("2026-11-02T08:00:00Z"),
        },
    );
    twin.store
        .commit_profile_with_messages(&bounced, profile.version, None, &[])
        .await
        .unwrap();

    // WHEN its time comes
    twin.clock.set(until + Duration::minutes(5));
    let outcome = outbox(&twin)
        .claim_and_deliver(&item, "relay")
        .await
        .unwrap();

    // THEN it is not sent, and the reason is recorded on it
    let SendOutcome::Withheld { reason } = outcome else {
        panic!("withheld: {outcome:?}");
    };
    assert!(reason.contains("suppressed"), "{reason}");
    let after = stored(&twin, &item).await;
    assert_eq!(after.status, MessageStatus::Failed);
    assert_eq!(after.last_error.as_deref(), Some(reason.as_str()));
    assert!(reason.starts_with("withheld at sending: "), "{reason}");
    assert!(twin.mailer.sent().is_empty());
}

#[tokio::test]
async fn a_review_request_left_for_the_relay_is_withheld_when_the_customer_unsubscribed_meanwhile()
{
    // GIVEN a review request decided by the sweep while SES was throttling, left pending
    let twin = Twin::new();
    for event in delivered_order(
        CUSTOMER,
        "R-1",
        "2026-11-01T09:00:00Z",
        "2026-11-03T15:00:00Z",
    ) {
        twin.apply_then_crash(&event, "inv").await;
    }
    twin.clock.set(at("2026-11-06T18:05:00Z"));
    twin.mailer.fail_every(MailFault::Transient);
    let report = sweep(&twin, "sweep-a").await;
    twin.mailer.clear_faults();
    assert_eq!(report.sent, 1, "decided and written: {report:?}");
    assert!(twin.mailer.sent().is_empty());

    // AND the customer unsubscribed from review requests meanwhile
    let profile = twin.profile(CUSTOMER).await;
    let (after, changed) = unsubscribe(
        &profile.value,
        &[MailTopic::ReviewRequests],
        OptOutSource::OneClick,
        at("2026-11-06T18:06:00Z"),
    );
    assert!(changed);
    twin.store
        .commit_profile_with_messages(&after, profile.version, None, &[])
        .await
        .unwrap();

    // WHEN the relay takes it after the lease
    twin.let_leases_expire();
    let relay = sweep(&twin, "sweep-b").await;

    // THEN it is held back, with the reason recorded, and never sent
    assert_eq!(relay.relayed, 0, "{relay:?}");
    assert!(twin.mailer.sent().is_empty());
    let review = twin
        .messages(CUSTOMER)
        .await
        .into_iter()
        .find(|m| m.kind == MessageKind::ReviewRequest)
        .expect("the review request");
    assert_eq!(review.status, MessageStatus::Failed);
    let reason = review.last_error.unwrap_or_default();
    assert!(
        reason.starts_with("withheld at sending: the customer unsubscribed from review_requests"),
        "{reason}"
    );
}

/// An order stuck in `placed` for a day (its confirmation sent): the watchdog's update falls
/// due, with a call for a person riding on it.
async fn stuck_order(twin: &Twin) {
    let placed = order_event(
        "placed",
        CUSTOMER,
        "W-1",
        "W-1-placed",
        "2026-11-01T18:00:00Z",
    );
    let confirmation = twin
        .apply_then_crash(&placed, "inv")
        .await
        .expect("a confirmation");
    outbox(twin)
        .deliver_held(&confirmation, "inv")
        .await
        .unwrap();
    twin.clock.set(at("2026-11-02T18:05:00Z"));
}

/// How many watchdog updates the mailer accepted.
fn updates(twin: &Twin) -> usize {
    twin.mailer
        .sent()
        .iter()
        .filter(|m| m.message.kind == MessageKind::WatchdogUpdate)
        .count()
}

#[tokio::test]
async fn a_handoff_riding_with_a_message_is_published_once_even_when_the_bus_fails_once() {
    // GIVEN the watchdog's update is due, and the bus fails the first publish
    let twin = Twin::new();
    stuck_order(&twin).await;
    twin.bus.fail_next(BusFault::Transient);

    // WHEN the sweep decides it, and relays run after the lease, twice
    let first = sweep(&twin, "sweep-a").await;
    twin.let_leases_expire();
    let second = sweep(&twin, "sweep-b").await;
    twin.let_leases_expire();
    let third = sweep(&twin, "sweep-c").await;

    // THEN the call for a person was published once, and the update sent once, by the relay
    assert_eq!(first.sent, 1, "decided: {first:?}");
    assert_eq!((second.relayed, third.relayed), (1, 0));
    let published = twin.bus.published();
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0].handoff.order_id.as_str(), "W-1");
    assert_eq!(updates(&twin), 1);
}

#[tokio::test]
async fn a_handoff_published_before_the_send_failed_is_not_published_again_by_the_relay() {
    // GIVEN the watchdog's update is due, and SES fails its send after the handoff went out
    let twin = Twin::new();
    stuck_order(&twin).await;
    twin.mailer.fail_next(MailFault::Transient);

    // WHEN the sweep decides it, and the relay sends it after the lease
    sweep(&twin, "sweep-a").await;
    let published_by_the_sweep = twin.bus.published().len();
    twin.let_leases_expire();
    let relay = sweep(&twin, "sweep-b").await;

    // THEN the call for a person was published once, and the update sent once
    assert_eq!(published_by_the_sweep, 1);
    assert_eq!(relay.relayed, 1, "{relay:?}");
    assert_eq!(twin.bus.published().len(), 1);
    assert_eq!(updates(&twin), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_many_relays_claiming_one_message_at_once_exactly_one_sends_it() {
    // GIVEN a message whose holder died, its lease run out
    let twin = Twin::with(&[ONLY_ORDER_STATUS]);
    let item = shipped_then_crash(&twin, "inv-crashed").await;
    twin.let_leases_expire();

    // WHEN sixteen relays claim and deliver it at once
    let relays = (0..16)
        .map(|n| {
            let (store, mailer, clock, item) = (
                twin.store.clone(),
                twin.mailer.clone(),
                twin.clock.clone(),
                item.clone(),
            );
            let lease = twin.config.outbox_lease;
            let settings = twin.config.settings.clone();
            async move {
                let clock: &ManualClock = &clock;
                Outbox::new(&store, &mailer, &settings, clock, lease)
                    .claim_and_deliver(&item, &format!("relay-{n}"))
                    .await
                    .unwrap()
            }
        })
        .collect();
    let outcomes = at_once(relays).await;

    // THEN exactly one sent it; every other found it held or done
    let sends = outcomes
        .iter()
        .filter(|o| matches!(o, SendOutcome::Sent { .. }))
        .count();
    assert_eq!(sends, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, SendOutcome::Sent { .. } | SendOutcome::HeldElsewhere)),
        "{outcomes:?}"
    );
    assert_eq!(twin.mailer.sent().len(), 1);
    assert_eq!(stored(&twin, &item).await.status, MessageStatus::Sent);
}
