//! The journey store's contract, written once and run against both implementations: the
//! in-memory twin (`memory::…`) and DynamoDB on the local emulator (`dynamodb::…`, a fresh
//! table per test). Whatever one store does here, the other does too, so the twin cannot
//! drift from the table it stands in for.
//!
//! The fixtures are the domain's own: the sample order events of `infra/events/detail/`,
//! decided by `decide_order_event`, and due follow-ups decided by `decide_follow_up`. One more
//! test runs a scenario through every method on both stores side by side and compares what
//! they answered and the journeys they hold; the last ones drive the twin's injected faults.
//!
//! The twin's half needs no emulator: `cargo test --test store_contract memory::` runs it in
//! well under a second.

use aftercare_adapters::items::DueItem;
use aftercare_adapters::items::{
    due_bucket, follow_up_decisions, pending_message_item, sortable_time, CommitError,
    FollowUpItem, FollowUpStatus, JourneyItem, Lease, MailEvent, MessageItem, MessageStatus,
    ProfileAndOrder,
};
use aftercare_adapters::ports::JourneyStore;
use aftercare_integration_tests::{at, envelope, sample_detail};
use aftercare_journey::event::{parse_order_event, AcceptedYears, OrderEvent};
use aftercare_journey::follow_ups::{decide_follow_up, FollowUp};
use aftercare_journey::ids::{CustomerId, OrderId};
use aftercare_journey::order_status::{decide_order_event, OrderEventDecision};
use aftercare_journey::settings::Settings;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

/// Runs each contract function against both stores.
macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(&aftercare_adapters::memory::MemoryStore::new()).await;
                }
            )*
        }

        mod dynamodb {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(&super::dynamodb_store(stringify!($test)).await).await;
                }
            )*
        }
    };
}

contract!(
    a_second_commit_of_an_event_is_a_conflict_writes_nothing_and_the_read_after_finds_it,
    a_commit_at_a_stale_profile_or_order_version_is_a_conflict_and_writes_nothing,
    a_committed_order_event_leaves_profile_and_order_at_version_1_then_2,
    the_same_transaction_sent_again_is_answered_as_done,
    the_message_written_is_pending_and_held_by_its_lease,
    a_message_claim_is_exclusive_until_the_lease_runs_out_then_another_may_take_it,
    a_claim_sent_again_by_its_holder_counts_one_attempt,
    marks_by_the_holder_succeed_and_repeat_as_success_and_another_senders_mark_is_refused,
    a_failure_mark_by_the_holder_repeats_as_success_and_another_senders_is_refused,
    notes_and_handoff_marks_only_take_effect_for_the_holder,
    a_sent_message_never_becomes_pending_again_and_leaves_the_due_index,
    record_mail_event_keeps_the_first_time_and_answers_false_for_an_unknown_message,
    follow_ups_planned_by_a_commit_appear_in_their_hours_partition_only_once_due,
    a_follow_up_planned_for_a_time_already_past_is_filed_under_the_hour_it_was_written,
    a_later_plan_of_a_follow_up_replaces_the_earlier_one,
    a_cancelled_follow_up_is_deleted_and_the_reason_recorded,
    a_follow_up_claim_is_exclusive_refiles_it_under_the_claims_hour_and_can_be_taken_over_once_run_out,
    a_follow_up_claim_sent_again_by_its_holder_holds_it,
    commit_follow_up_by_a_non_holder_is_a_duplicate_and_by_the_holder_finishes_the_follow_up,
    set_aside_takes_an_item_out_of_the_due_index,
    the_checkpoint_reads_back_what_was_saved,
    a_profile_commit_with_messages_is_a_conflict_at_a_stale_version_and_a_duplicate_when_a_message_exists,
    a_profile_commit_with_its_order_is_a_conflict_when_the_order_moved_and_writes_both_at_their_versions,
    customer_items_lists_everything_in_sort_key_order,
    each_read_counts_as_the_requests_dynamodb_would_bill,
);

/// A DynamoDB store over a fresh table of the emulator, named after the test.
async fn dynamodb_store(test: &str) -> aftercare_adapters::dynamo::DynamoStore {
    let stack = aftercare_integration_tests::stack();
    let sdk = stack.sdk_config().await;
    let clients = aftercare_adapters::aws::AwsClients::from_config(&sdk);
    let table = format!("contract-{}", test.replace('_', "-"));
    stack
        .create_table(&clients.dynamodb, &table)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    aftercare_adapters::dynamo::DynamoStore::new(clients.dynamodb, table)
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const CUSTOMER: &str = "cus-1";
const ORDER: &str = "1042";

fn customer() -> CustomerId {
    CustomerId::parse(CUSTOMER).unwrap()
}

fn settings() -> Settings {
    aftercare_localstack::local_shop_config_with("contract", &[])
        .unwrap()
        .settings
}

/// The sample event of `status` for the contract's customer and order, with its own id and time.
fn event(status: &str, event_id: &str, occurred_at: &str) -> OrderEvent {
    let mut detail = sample_detail(status);
    detail["customer"]["id"] = json!(CUSTOMER);
    detail["customer"]["email"] = json!("customer1+contract@example.com");
    detail["order_id"] = json!(ORDER);
    detail["event_id"] = json!(event_id);
    detail["occurred_at"] = json!(occurred_at);
    parse_order_event(&envelope(&detail), &AcceptedYears::default()).unwrap()
}

/// An order event read and decided against the store, ready to commit.
struct Decided {
    loaded: ProfileAndOrder,
    event: OrderEvent,
    decision: OrderEventDecision,
}

async fn decide<S: JourneyStore>(store: &S, event: OrderEvent) -> Decided {
    let loaded = store
        .load_profile_and_order(&event.customer.id, Some(&event.order_id))
        .await
        .unwrap();
    let decision = decide_order_event(&loaded.before_event(), &event, &settings()).unwrap();
    Decided {
        loaded,
        event,
        decision,
    }
}

/// The lease of invocation `owner` over a message written at `processed_at`: two minutes.
fn lease(owner: &str, processed_at: DateTime<Utc>) -> Lease {
    Lease {
        owner: owner.into(),
        until: processed_at + Duration::minutes(2),
    }
}

/// Commits `decided` as invocation `owner` would, one second after the event.
async fn commit<S: JourneyStore>(
    store: &S,
    decided: &Decided,
    owner: &str,
) -> Result<Option<MessageItem>, CommitError> {
    let processed_at = decided.event.occurred_at + Duration::seconds(1);
    store
        .commit_order_event(
            &decided.loaded,
            &decided.event,
            &decided.decision,
            &lease(owner, processed_at),
            owner,
            processed_at,
        )
        .await
}

/// Reads, decides and commits an order event as invocation `owner`; panics unless it commits.
async fn apply<S: JourneyStore>(
    store: &S,
    status: &str,
    event_id: &str,
    occurred_at: &str,
    owner: &str,
) -> (Decided, Option<MessageItem>) {
    let decided = decide(store, event(status, event_id, occurred_at)).await;
    let message = commit(store, &decided, owner).await.unwrap();
    (decided, message)
}

/// The sample order placed at 10:00 by invocation `inv-a`: its pending confirmation, held by
/// `inv-a` until 10:02:01.
async fn placed<S: JourneyStore>(store: &S) -> MessageItem {
    apply(
        store,
        "placed",
        "evt-placed",
        "2026-11-02T10:00:00Z",
        "inv-a",
    )
    .await
    .1
    .expect("an order confirmation")
}

/// The sample order placed, then delivered; the first follow-up the delivery planned.
async fn delivered<S: JourneyStore>(store: &S) -> (Decided, FollowUp) {
    placed(store).await;
    let (decided, _) = apply(
        store,
        "delivered",
        "evt-delivered",
        "2026-11-05T17:41:00Z",
        "inv-b",
    )
    .await;
    let planned = decided
        .decision
        .follow_ups
        .planned
        .first()
        .cloned()
        .expect("a follow-up planned on delivery");
    (decided, planned)
}

/// The due-index partition of a follow-up written at `written_at`.
fn partition_of(follow_up: &FollowUp, written_at: DateTime<Utc>) -> String {
    due_bucket(follow_up.due_at.max(written_at), CUSTOMER)
}

async fn due_follow_ups<S: JourneyStore>(
    store: &S,
    bucket: &str,
    now: DateTime<Utc>,
) -> Vec<FollowUpItem> {
    store
        .due_items(bucket, now)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|item| match item {
            DueItem::FollowUp(f) => Some(*f),
            DueItem::Message(_) => None,
        })
        .collect()
}

async fn due_messages<S: JourneyStore>(
    store: &S,
    bucket: &str,
    now: DateTime<Utc>,
) -> Vec<MessageItem> {
    store
        .due_items(bucket, now)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|item| match item {
            DueItem::Message(m) => Some(*m),
            DueItem::FollowUp(_) => None,
        })
        .collect()
}

/// The delivered order's first follow-up, as the due index lists it once due.
async fn due_follow_up<S: JourneyStore>(store: &S) -> FollowUpItem {
    let (decided, planned) = delivered(store).await;
    let written_at = decided.event.occurred_at + Duration::seconds(1);
    let due = due_follow_ups(store, &partition_of(&planned, written_at), planned.due_at).await;
    due.into_iter()
        .find(|f| f.follow_up.key == planned.key)
        .expect("the follow-up, due")
}

async fn items<S: JourneyStore>(store: &S) -> Vec<JourneyItem> {
    store.customer_items(&customer()).await.unwrap()
}

async fn stored_message<S: JourneyStore>(store: &S, message: &MessageItem) -> MessageItem {
    store
        .message(&message.customer_id, &message.sk)
        .await
        .unwrap()
        .expect("the message")
}

fn versions(items: &[JourneyItem]) -> (Option<u64>, Option<u64>) {
    let profile = items.iter().find_map(|i| match i {
        JourneyItem::Profile(p) => Some(p.version),
        _ => None,
    });
    let order = items.iter().find_map(|i| match i {
        JourneyItem::Order(o) => Some(o.version),
        _ => None,
    });
    (profile, order)
}

/// The sort key of an item of the customer's partition.
fn sort_key(item: &JourneyItem) -> String {
    match item {
        JourneyItem::Profile(_) => "PROFILE".into(),
        JourneyItem::Order(o) => format!("ORDER#{}", o.value.order_id),
        JourneyItem::Message(m) => m.sk.clone(),
        JourneyItem::Event(e) => format!("EVENT#{}", e.event_id),
        JourneyItem::FollowUp(f) => f.sk.clone(),
        JourneyItem::Decision(d) => d.sk.clone(),
    }
}

/// A relay `owner`'s claim of `message` at `now`, for a lease of two minutes.
async fn claim<S: JourneyStore>(
    store: &S,
    message: &MessageItem,
    owner: &str,
    now: &str,
) -> Option<MessageItem> {
    let lease = Lease {
        owner: owner.into(),
        until: at(now) + Duration::minutes(2),
    };
    store.claim_message(message, &lease, at(now)).await.unwrap()
}

fn until(message: &MessageItem) -> DateTime<Utc> {
    at(message.lease_until.as_deref().expect("a lease"))
}

// ---------------------------------------------------------------------------------------------
// Commits of order events

async fn a_second_commit_of_an_event_is_a_conflict_writes_nothing_and_the_read_after_finds_it<
    S: JourneyStore,
>(
    store: &S,
) {
    // GIVEN an order event decided twice from the same read, and written by inv-a
    let decided = decide(store, event("placed", "evt-placed", "2026-11-02T10:00:00Z")).await;
    commit(store, &decided, "inv-a").await.unwrap();
    let before = items(store).await;

    // WHEN inv-b writes its own decision of the same event
    let again = commit(store, &decided, "inv-b").await;

    // THEN the order's version refuses it and nothing changed
    assert!(matches!(again, Err(CommitError::Conflict)), "{again:?}");
    assert_eq!(items(store).await, before);
    // AND the read its caller makes next finds the event in the order's timeline
    let reread = decide(store, decided.event.clone()).await;
    let entry = reread
        .loaded
        .decided_before(&decided.event.event_id)
        .expect("the event is recorded");
    assert_eq!(
        entry.message.as_ref(),
        decided.decision.message.as_ref().map(|m| &m.id)
    );
}

async fn a_commit_at_a_stale_profile_or_order_version_is_a_conflict_and_writes_nothing<
    S: JourneyStore,
>(
    store: &S,
) {
    // GIVEN a placed order, and two more events of it read before either is written
    placed(store).await;
    let confirmed = decide(store, event("confirmed", "evt-2", "2026-11-02T11:00:00Z")).await;
    let packed = decide(store, event("packed", "evt-3", "2026-11-02T12:00:00Z")).await;
    // AND a new customer's event decided before the profile existed
    let stale_first = Decided {
        loaded: ProfileAndOrder::default(),
        ..decide(store, event("shipped", "evt-4", "2026-11-03T09:00:00Z")).await
    };
    commit(store, &confirmed, "inv-b").await.unwrap();
    let before = items(store).await;

    // WHEN the one read before the other's write is written
    let stale = commit(store, &packed, "inv-c").await;
    let absent_expected = commit(store, &stale_first, "inv-d").await;

    // THEN both are conflicts and nothing changed
    assert!(matches!(stale, Err(CommitError::Conflict)), "{stale:?}");
    assert!(
        matches!(absent_expected, Err(CommitError::Conflict)),
        "{absent_expected:?}"
    );
    assert_eq!(items(store).await, before);
}

async fn a_committed_order_event_leaves_profile_and_order_at_version_1_then_2<S: JourneyStore>(
    store: &S,
) {
    placed(store).await;
    assert_eq!(versions(&items(store).await), (Some(1), Some(1)));
    apply(store, "confirmed", "evt-2", "2026-11-02T11:00:00Z", "inv-b").await;
    assert_eq!(versions(&items(store).await), (Some(2), Some(2)));
    let loaded = store
        .load_profile_and_order(
            &customer(),
            Some(&aftercare_journey::ids::OrderId::parse(ORDER).unwrap()),
        )
        .await
        .unwrap();
    let evt_2 = aftercare_journey::ids::EventId::parse("evt-2").unwrap();
    assert!(loaded.decided_before(&evt_2).is_some());
    assert_eq!(loaded.profile.map(|p| p.version), Some(2));
    assert_eq!(loaded.order.map(|o| o.version), Some(2));
}

async fn the_same_transaction_sent_again_is_answered_as_done<S: JourneyStore>(store: &S) {
    // GIVEN an order event's decision, written once
    let decided = decide(store, event("placed", "evt-placed", "2026-11-02T10:00:00Z")).await;
    let first = commit(store, &decided, "inv-a").await.unwrap();

    // WHEN the very same writes are sent again (their answer was lost)
    let again = commit(store, &decided, "inv-a").await;

    // THEN it is answered as done and nothing was written twice
    assert_eq!(again.unwrap(), first);
    assert_eq!(versions(&items(store).await), (Some(1), Some(1)));
}

// ---------------------------------------------------------------------------------------------
// The outbox's messages

async fn the_message_written_is_pending_and_held_by_its_lease<S: JourneyStore>(store: &S) {
    let message = placed(store).await;
    let stored = stored_message(store, &message).await;
    assert_eq!(stored, message);
    assert_eq!(stored.status, MessageStatus::Pending);
    assert_eq!(stored.lease_owner.as_deref(), Some("inv-a"));
    assert_eq!(
        stored.lease_until.as_deref(),
        Some(sortable_time(at("2026-11-02T10:02:01Z")).as_str())
    );
    assert_eq!(stored.attempts, 1);
    assert!(stored.content.is_some());
    // In the due index from the moment its lease runs out.
    let bucket = stored.due_bucket.clone().expect("a due partition");
    assert!(
        due_messages(store, &bucket, until(&stored) - Duration::seconds(1))
            .await
            .is_empty()
    );
    assert_eq!(
        due_messages(store, &bucket, until(&stored)).await,
        vec![stored]
    );
}

async fn a_message_claim_is_exclusive_until_the_lease_runs_out_then_another_may_take_it<
    S: JourneyStore,
>(
    store: &S,
) {
    // GIVEN a message held by inv-a until 10:02:01
    let message = placed(store).await;

    // WHEN relays try before and after the lease ran out
    let early = claim(store, &message, "relay-1", "2026-11-02T10:01:00Z").await;
    let at_the_instant = claim(store, &message, "relay-1", "2026-11-02T10:02:01Z").await;
    let taken = claim(store, &message, "relay-1", "2026-11-02T10:03:00Z")
        .await
        .expect("taken over once the lease ran out");
    let contended = claim(store, &message, "relay-2", "2026-11-02T10:03:00Z").await;
    let after_relay_1 = claim(store, &message, "relay-2", "2026-11-02T10:06:00Z")
        .await
        .expect("taken over from relay-1");

    // THEN only one holds it at a time, and each claim moves it in the due index
    assert_eq!((early, at_the_instant, contended), (None, None, None));
    assert_eq!(taken.lease_owner.as_deref(), Some("relay-1"));
    assert_eq!(taken.attempts, 2);
    assert_eq!(
        taken.due_bucket,
        Some(due_bucket(at("2026-11-02T10:05:00Z"), &message.message_id))
    );
    assert_eq!(taken.due_at, taken.lease_until);
    assert_eq!(after_relay_1.lease_owner.as_deref(), Some("relay-2"));
    assert_eq!(after_relay_1.attempts, 3);
    assert_eq!(stored_message(store, &message).await, after_relay_1);
}

async fn a_claim_sent_again_by_its_holder_counts_one_attempt<S: JourneyStore>(store: &S) {
    let message = placed(store).await;
    let now = at("2026-11-02T10:05:00Z");
    let lease = Lease {
        owner: "relay-1".into(),
        until: now + Duration::minutes(2),
    };
    let first = store.claim_message(&message, &lease, now).await.unwrap();
    let retried = store.claim_message(&message, &lease, now).await.unwrap();
    let first = first.expect("claimed");
    assert_eq!(retried.as_ref(), Some(&first));
    assert_eq!(first.attempts, 2, "written by inv-a, then claimed once");
    assert_eq!(stored_message(store, &message).await.attempts, 2);
}

async fn marks_by_the_holder_succeed_and_repeat_as_success_and_another_senders_mark_is_refused<
    S: JourneyStore,
>(
    store: &S,
) {
    let message = placed(store).await;
    let now = at("2026-11-02T10:00:02Z");
    let other_first = store
        .mark_sent(&message, "inv-b", "ses-0", now)
        .await
        .unwrap();
    let first = store
        .mark_sent(&message, "inv-a", "ses-1", now)
        .await
        .unwrap();
    let retried = store
        .mark_sent(&message, "inv-a", "ses-1", now)
        .await
        .unwrap();
    let other_id = store
        .mark_sent(&message, "inv-a", "ses-2", now)
        .await
        .unwrap();
    let other_after = store
        .mark_sent(&message, "inv-b", "ses-1", now)
        .await
        .unwrap();
    assert_eq!(
        (other_first, first, retried, other_id, other_after),
        (false, true, true, false, false)
    );
    let stored = stored_message(store, &message).await;
    assert_eq!(stored.status, MessageStatus::Sent);
    assert_eq!(stored.ses_message_id.as_deref(), Some("ses-1"));
    assert_eq!(stored.sent_at, Some(now));
    assert_eq!(stored.lease_owner, None);
    assert_eq!(stored.content, None);
    assert!(stored.expires_at.is_some());
    // Marking it failed now is refused: it stands sent.
    assert!(!store
        .mark_failed(&message, "inv-a", "refused", now)
        .await
        .unwrap());
}

async fn a_failure_mark_by_the_holder_repeats_as_success_and_another_senders_is_refused<
    S: JourneyStore,
>(
    store: &S,
) {
    let message = placed(store).await;
    let now = at("2026-11-02T10:00:02Z");
    let first = store
        .mark_failed(&message, "inv-a", "refused", now)
        .await
        .unwrap();
    let retried = store
        .mark_failed(&message, "inv-a", "refused", now)
        .await
        .unwrap();
    let other = store
        .mark_failed(&message, "inv-b", "refused", now)
        .await
        .unwrap();
    let another_reason = store
        .mark_failed(&message, "inv-a", "another reason", now)
        .await
        .unwrap();
    assert_eq!(
        (first, retried, other, another_reason),
        (true, true, false, false)
    );
    let stored = stored_message(store, &message).await;
    assert_eq!(stored.status, MessageStatus::Failed);
    assert_eq!(stored.last_error.as_deref(), Some("refused"));
    assert_eq!((stored.lease_owner, stored.due_bucket), (None, None));
}

async fn notes_and_handoff_marks_only_take_effect_for_the_holder<S: JourneyStore>(store: &S) {
    let message = placed(store).await;
    store
        .note_attempt_failed(&message, "inv-b", "not mine")
        .await
        .unwrap();
    store
        .mark_handoff_published(&message, "inv-b")
        .await
        .unwrap();
    let untouched = stored_message(store, &message).await;
    assert_eq!(untouched, message);

    store
        .note_attempt_failed(&message, "inv-a", "SES throttled")
        .await
        .unwrap();
    store
        .mark_handoff_published(&message, "inv-a")
        .await
        .unwrap();
    let noted = stored_message(store, &message).await;
    assert_eq!(noted.last_error.as_deref(), Some("SES throttled"));
    assert!(noted.handoff_published);
    assert_eq!(noted.status, MessageStatus::Pending);

    // The note stays on the message once it is sent.
    let now = at("2026-11-02T10:00:03Z");
    assert!(store
        .mark_sent(&message, "inv-a", "ses-1", now)
        .await
        .unwrap());
    assert_eq!(
        stored_message(store, &message).await.last_error.as_deref(),
        Some("SES throttled")
    );
}

async fn a_sent_message_never_becomes_pending_again_and_leaves_the_due_index<S: JourneyStore>(
    store: &S,
) {
    let message = placed(store).await;
    let bucket = message.due_bucket.clone().expect("a due partition");
    let later = at("2026-11-09T10:00:00Z");
    assert_eq!(due_messages(store, &bucket, later).await.len(), 1);

    assert!(store
        .mark_sent(&message, "inv-a", "ses-1", at("2026-11-02T10:00:02Z"))
        .await
        .unwrap());

    let lease = Lease {
        owner: "relay".into(),
        until: later + Duration::minutes(2),
    };
    assert_eq!(
        store.claim_message(&message, &lease, later).await.unwrap(),
        None
    );
    assert!(due_messages(store, &bucket, later).await.is_empty());
    let stored = stored_message(store, &message).await;
    assert_eq!(stored.status, MessageStatus::Sent);
    assert_eq!((stored.due_bucket, stored.due_at), (None, None));
}

async fn record_mail_event_keeps_the_first_time_and_answers_false_for_an_unknown_message<
    S: JourneyStore,
>(
    store: &S,
) {
    let message = placed(store).await;
    store
        .mark_sent(&message, "inv-a", "ses-1", at("2026-11-02T10:00:02Z"))
        .await
        .unwrap();
    let id = customer();
    let report = |event, when: &str| store.record_mail_event(&id, &message.sk, event, at(when));

    assert!(report(MailEvent::Delivered, "2026-11-02T10:00:05Z")
        .await
        .unwrap());
    assert!(report(MailEvent::Delivered, "2026-11-02T10:09:00Z")
        .await
        .unwrap());
    assert!(report(MailEvent::Responded, "2026-11-03T08:00:00Z")
        .await
        .unwrap());
    assert!(report(MailEvent::Clicked, "2026-11-03T09:00:00Z")
        .await
        .unwrap());
    assert!(report(MailEvent::Opened, "2026-11-03T07:00:00Z")
        .await
        .unwrap());

    let delivery = stored_message(store, &message).await.mail;
    assert_eq!(delivery.delivered_at, Some(at("2026-11-02T10:00:05Z")));
    assert_eq!(delivery.responded_at, Some(at("2026-11-03T08:00:00Z")));
    assert_eq!(delivery.clicked_at, Some(at("2026-11-03T08:00:00Z")));
    assert_eq!(delivery.opened_at, Some(at("2026-11-03T07:00:00Z")));
    assert_eq!(delivery.bounced_at, None);

    let unknown = store
        .record_mail_event(
            &customer(),
            "MSG#20261102T100000Z#nobody",
            MailEvent::Delivered,
            at("2026-11-02T10:00:05Z"),
        )
        .await
        .unwrap();
    assert!(!unknown);
    assert!(store
        .message(&customer(), "MSG#20261102T100000Z#nobody")
        .await
        .unwrap()
        .is_none());
}

// ---------------------------------------------------------------------------------------------
// Follow-ups and the due index

async fn follow_ups_planned_by_a_commit_appear_in_their_hours_partition_only_once_due<
    S: JourneyStore,
>(
    store: &S,
) {
    let (decided, planned) = delivered(store).await;
    let written_at = decided.event.occurred_at + Duration::seconds(1);
    let bucket = partition_of(&planned, written_at);
    let keys = |due: Vec<FollowUpItem>| -> Vec<String> {
        due.into_iter().map(|f| f.follow_up.key).collect()
    };

    let before = keys(due_follow_ups(store, &bucket, planned.due_at - Duration::seconds(1)).await);
    let due = due_follow_ups(store, &bucket, planned.due_at).await;
    let other_shard = format!(
        "{}#{}",
        &bucket[..13],
        (bucket[14..].parse::<u32>().unwrap() + 1) % aftercare_adapters::items::DUE_SHARDS
    );

    assert!(!before.contains(&planned.key), "{before:?}");
    let item = due
        .iter()
        .find(|f| f.follow_up.key == planned.key)
        .expect("due once its time came");
    assert_eq!(item.status, FollowUpStatus::Scheduled);
    assert_eq!(item.follow_up, planned);
    assert_eq!(item.due_at, Some(sortable_time(planned.due_at)));
    assert!(
        !keys(due_follow_ups(store, &other_shard, planned.due_at).await).contains(&planned.key)
    );
    // Sorted by when they fall due.
    let times: Vec<_> = due.iter().map(|f| f.due_at.clone()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
}

fn follow_ups(items: &[JourneyItem]) -> Vec<FollowUpItem> {
    items
        .iter()
        .filter_map(|i| match i {
            JourneyItem::FollowUp(f) => Some((**f).clone()),
            _ => None,
        })
        .collect()
}

async fn a_follow_up_planned_for_a_time_already_past_is_filed_under_the_hour_it_was_written<
    S: JourneyStore,
>(
    store: &S,
) {
    // GIVEN a shipped event whose watchdog falls due before the event was even written
    placed(store).await;
    let (decided, _) = apply(store, "shipped", "evt-2", "2026-11-03T10:00:00Z", "inv-b").await;
    let written_at = decided.event.occurred_at + Duration::seconds(1);
    let watchdog = decided
        .decision
        .follow_ups
        .planned
        .iter()
        .find(|f| f.due_at < written_at)
        .cloned()
        .expect("a follow-up planned for a time already past");

    // THEN it is in the partition of the hour it was written, due at its own time
    let bucket = due_bucket(written_at, CUSTOMER);
    let due = due_follow_ups(store, &bucket, written_at).await;
    let item = due
        .iter()
        .find(|f| f.follow_up.key == watchdog.key)
        .expect("listed under the hour it was written");
    assert_eq!(item.due_at, Some(sortable_time(watchdog.due_at)));
    assert!(
        due_follow_ups(store, &due_bucket(watchdog.due_at, CUSTOMER), written_at)
            .await
            .iter()
            .all(|f| f.follow_up.key != watchdog.key)
    );
}

async fn a_later_plan_of_a_follow_up_replaces_the_earlier_one<S: JourneyStore>(store: &S) {
    // GIVEN the watchdog planned when the order was placed
    let (placed_decided, _) = apply(
        store,
        "placed",
        "evt-placed",
        "2026-11-02T10:00:00Z",
        "inv-a",
    )
    .await;
    let (shipped, _) = apply(store, "shipped", "evt-2", "2026-11-03T10:00:00Z", "inv-b").await;
    let replanned = shipped
        .decision
        .follow_ups
        .planned
        .first()
        .cloned()
        .expect("a follow-up planned again");
    assert!(placed_decided
        .decision
        .follow_ups
        .planned
        .iter()
        .any(|f| f.key == replanned.key && f.due_at != replanned.due_at));

    // THEN one plan of that key is stored: the later one
    let stored: Vec<_> = follow_ups(&items(store).await)
        .into_iter()
        .filter(|f| f.follow_up.key == replanned.key)
        .collect();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].follow_up, replanned);
    assert_eq!(stored[0].status, FollowUpStatus::Scheduled);
}

async fn a_cancelled_follow_up_is_deleted_and_the_reason_recorded<S: JourneyStore>(store: &S) {
    // GIVEN follow-ups planned when the order was placed, and its delivery, which cancels one
    let (placed_decided, _) = apply(
        store,
        "placed",
        "evt-placed",
        "2026-11-02T10:00:00Z",
        "inv-a",
    )
    .await;
    let delivery = decide(
        store,
        event("delivered", "evt-delivered", "2026-11-05T17:41:00Z"),
    )
    .await;
    let written_at = delivery.event.occurred_at + Duration::seconds(1);
    let cancelled = delivery
        .decision
        .follow_ups
        .cancelled
        .first()
        .cloned()
        .expect("a follow-up cancelled on delivery");
    let plan = placed_decided
        .decision
        .follow_ups
        .planned
        .iter()
        .find(|f| f.key == cancelled.key)
        .cloned()
        .expect("planned when the order was placed");
    let partition = partition_of(&plan, at("2026-11-02T10:00:01Z"));
    assert!(due_follow_ups(store, &partition, written_at)
        .await
        .iter()
        .any(|f| f.follow_up.key == cancelled.key));
    commit(store, &delivery, "inv-b").await.unwrap();

    // THEN the plan is gone, from the journey and from its partition, and the order's timeline
    // says why, as the journey's decisions show it
    let journey = items(store).await;
    assert!(follow_ups(&journey)
        .iter()
        .all(|f| f.follow_up.key != cancelled.key));
    assert!(due_follow_ups(store, &partition, written_at)
        .await
        .iter()
        .all(|f| f.follow_up.key != cancelled.key));
    assert!(
        !journey
            .iter()
            .any(|i| matches!(i, JourneyItem::Decision(_))),
        "no record item beside the order"
    );
    let record = follow_up_decisions(&journey)
        .into_iter()
        .find(|d| d.key == cancelled.key)
        .expect("the cancellation among the journey's decisions");
    assert_eq!(record.decision, "cancelled");
    assert_eq!(record.reason, cancelled.reason);
    assert_eq!(record.at, delivery.event.occurred_at);
}

async fn a_follow_up_claim_is_exclusive_refiles_it_under_the_claims_hour_and_can_be_taken_over_once_run_out<
    S: JourneyStore,
>(
    store: &S,
) {
    // GIVEN a due follow-up
    let due = due_follow_up(store).await;
    let wall = due.follow_up.due_at + Duration::minutes(30);
    let claim_until = wall + Duration::minutes(5);

    // WHEN sweep-1 claims it, sweep-2 tries while the claim holds, and again once it ran out
    let held = store
        .claim_follow_up(&due, "sweep-1", claim_until, wall)
        .await
        .unwrap()
        .expect("claimed");
    let contended = store
        .claim_follow_up(&due, "sweep-2", claim_until, wall)
        .await
        .unwrap();
    let later = claim_until + Duration::seconds(1);
    let taken = store
        .claim_follow_up(&held, "sweep-2", later + Duration::minutes(5), later)
        .await
        .unwrap()
        .expect("taken over once the claim ran out");

    // THEN one sweep holds it at a time, each filed under the hour its claim runs out
    assert_eq!(held.status, FollowUpStatus::Claimed);
    assert_eq!(held.claimed_by.as_deref(), Some("sweep-1"));
    assert_eq!(held.claim_until, Some(sortable_time(claim_until)));
    assert_eq!(held.due_bucket, Some(due_bucket(claim_until, CUSTOMER)));
    assert_eq!(held.due_at, due.due_at);
    assert_eq!(contended, None);
    assert_eq!(taken.claimed_by.as_deref(), Some("sweep-2"));
    let refiled = due_bucket(later + Duration::minutes(5), CUSTOMER);
    assert_eq!(taken.due_bucket.as_deref(), Some(refiled.as_str()));
    let listed = due_follow_ups(store, &refiled, later).await;
    assert_eq!(listed, vec![taken]);
}

async fn a_follow_up_claim_sent_again_by_its_holder_holds_it<S: JourneyStore>(store: &S) {
    let due = due_follow_up(store).await;
    let wall = due.follow_up.due_at + Duration::minutes(1);
    let until = wall + Duration::minutes(5);
    let first = store
        .claim_follow_up(&due, "sweep-1", until, wall)
        .await
        .unwrap();
    let retried = store
        .claim_follow_up(&due, "sweep-1", until, wall)
        .await
        .unwrap();
    assert!(first.is_some());
    assert_eq!(retried, first);
}

async fn commit_follow_up_by_a_non_holder_is_a_duplicate_and_by_the_holder_finishes_the_follow_up<
    S: JourneyStore,
>(
    store: &S,
) {
    // GIVEN a due follow-up claimed by sweep-1, and its decision
    let due = due_follow_up(store).await;
    let now = due.follow_up.due_at + Duration::minutes(1);
    let until = now + Duration::minutes(5);
    let held = store
        .claim_follow_up(&due, "sweep-1", until, now)
        .await
        .unwrap()
        .expect("claimed");
    let loaded = store
        .load_profile_and_order(&customer(), held.follow_up.order_id.as_ref())
        .await
        .unwrap();
    let profile = loaded.profile.expect("a profile");
    let outcome = decide_follow_up(
        &held.follow_up,
        &profile.value,
        loaded.order.as_ref().map(|o| &o.value),
        now,
        &settings(),
    )
    .unwrap();
    let before = items(store).await;

    // WHEN sweep-2, which does not hold it, writes the decision
    let other = store
        .commit_follow_up(
            profile.version,
            &held,
            &outcome,
            now,
            &Lease {
                owner: "sweep-2".into(),
                until,
            },
            now,
        )
        .await;

    // THEN it is refused as a duplicate and nothing changed
    assert!(matches!(other, Err(CommitError::Duplicate)), "{other:?}");
    assert_eq!(items(store).await, before);

    // WHEN the holder writes it at a stale profile version, then at the version read
    let holder = Lease {
        owner: "sweep-1".into(),
        until,
    };
    let stale = store
        .commit_follow_up(profile.version - 1, &held, &outcome, now, &holder, now)
        .await;
    let written = store
        .commit_follow_up(profile.version, &held, &outcome, now, &holder, now)
        .await
        .unwrap();

    // THEN the stale one conflicts; the other moves the profile on, records the decision and
    // no longer leaves the follow-up claimed by sweep-1
    assert!(matches!(stale, Err(CommitError::Conflict)), "{stale:?}");
    let after = items(store).await;
    assert_eq!(versions(&after).0, Some(profile.version + 1));
    assert!(follow_up_decisions(&after)
        .iter()
        .any(|d| d.key == held.follow_up.key && d.at == now));
    assert!(!after.iter().any(|i| matches!(i,
        JourneyItem::FollowUp(f) if f.sk == held.sk && f.status == FollowUpStatus::Claimed)));
    if let Some(message) = written {
        assert_eq!(stored_message(store, &message).await, message);
        assert_eq!(message.lease_owner.as_deref(), Some("sweep-1"));
    }
}

async fn set_aside_takes_an_item_out_of_the_due_index<S: JourneyStore>(store: &S) {
    let due = due_follow_up(store).await;
    let bucket = due.due_bucket.clone().expect("a partition");
    let now = due.follow_up.due_at;

    store
        .set_aside(&due.pk, &due.sk, "its decision panicked")
        .await
        .unwrap();
    // Setting aside what does not exist changes nothing.
    store
        .set_aside(&due.pk, "FOLLOWUP#nothing", "nothing")
        .await
        .unwrap();

    assert!(!due_follow_ups(store, &bucket, now)
        .await
        .iter()
        .any(|f| f.sk == due.sk));
    let wall = now + Duration::minutes(1);
    let claim = store
        .claim_follow_up(&due, "sweep-1", wall + Duration::minutes(5), wall)
        .await
        .unwrap();
    assert_eq!(claim, None);
    let kept = items(store)
        .await
        .into_iter()
        .find_map(|i| match i {
            JourneyItem::FollowUp(f) if f.sk == due.sk => Some(*f),
            _ => None,
        })
        .expect("kept on the journey");
    assert_eq!(kept.status, FollowUpStatus::Failed);
    assert_eq!(kept.last_error.as_deref(), Some("its decision panicked"));
    assert_eq!((kept.due_bucket, kept.due_at), (None, None));
    assert!(!items(store)
        .await
        .iter()
        .any(|i| matches!(i, JourneyItem::FollowUp(f) if f.sk == "FOLLOWUP#nothing")));
}

async fn the_checkpoint_reads_back_what_was_saved<S: JourneyStore>(store: &S) {
    assert_eq!(store.sweep_checkpoint().await.unwrap(), None);
    store
        .save_sweep_checkpoint(at("2026-11-02T10:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        store.sweep_checkpoint().await.unwrap(),
        Some(at("2026-11-02T10:00:00Z"))
    );
    store
        .save_sweep_checkpoint(at("2026-11-02T13:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        store.sweep_checkpoint().await.unwrap(),
        Some(at("2026-11-02T13:00:00Z"))
    );
}

async fn a_profile_commit_with_messages_is_a_conflict_at_a_stale_version_and_a_duplicate_when_a_message_exists<
    S: JourneyStore,
>(
    store: &S,
) {
    // GIVEN a customer whose profile is at version 1 with a pending message
    let existing = placed(store).await;
    let profile = store
        .load_profile_and_order(&customer(), None)
        .await
        .unwrap()
        .profile
        .expect("a profile");
    assert_eq!(profile.version, 1);
    let mut content = existing.outgoing(&settings()).unwrap().expect("content");
    content.id =
        aftercare_journey::message::MessageId::derive(&customer(), "contract-answer", content.kind);
    let fresh = pending_message_item(&content, &lease("feedback-1", at("2026-11-02T10:30:00Z")));
    let before = items(store).await;

    // WHEN the profile is written over a stale version, or with a message that exists
    let stale = store
        .commit_profile_with_messages(&profile.value, 0, None, std::slice::from_ref(&fresh))
        .await;
    let duplicate = store
        .commit_profile_with_messages(&profile.value, 1, None, &[fresh.clone(), existing.clone()])
        .await;

    // THEN neither writes anything
    assert!(matches!(stale, Err(CommitError::Conflict)), "{stale:?}");
    assert!(
        matches!(duplicate, Err(CommitError::Duplicate)),
        "{duplicate:?}"
    );
    assert_eq!(items(store).await, before);

    // AND at the version read with a new message, both are written
    store
        .commit_profile_with_messages(&profile.value, 1, None, std::slice::from_ref(&fresh))
        .await
        .unwrap();
    assert_eq!(versions(&items(store).await).0, Some(2));
    assert_eq!(stored_message(store, &fresh).await, fresh);
}

async fn a_profile_commit_with_its_order_is_a_conflict_when_the_order_moved_and_writes_both_at_their_versions<
    S: JourneyStore,
>(
    store: &S,
) {
    // GIVEN a customer whose profile and order are at version 1
    placed(store).await;
    let loaded = store
        .load_profile_and_order(&customer(), Some(&OrderId::parse(ORDER).unwrap()))
        .await
        .unwrap();
    let (profile, order) = (loaded.profile.unwrap(), loaded.order.unwrap());
    assert_eq!((profile.version, order.version), (1, 1));
    let mut rated = order.value.clone();
    rated.rating = Some(aftercare_journey::profile::Rating {
        score: aftercare_journey::profile::Score::new(4).unwrap(),
        comment: None,
        first_at: at("2026-11-05T10:00:00Z"),
        updated_at: at("2026-11-05T10:00:00Z"),
    });
    let before = items(store).await;

    // WHEN the order is written over a stale version with the profile at its own
    let stale = store
        .commit_profile_with_messages(&profile.value, 1, Some((&rated, 0)), &[])
        .await;

    // THEN nothing is written
    assert!(matches!(stale, Err(CommitError::Conflict)), "{stale:?}");
    assert_eq!(items(store).await, before);

    // AND at the versions read, both are written, each one version on
    store
        .commit_profile_with_messages(&profile.value, 1, Some((&rated, 1)), &[])
        .await
        .unwrap();
    let after = items(store).await;
    assert_eq!(versions(&after), (Some(2), Some(2)));
    let stored = after.iter().find_map(|i| match i {
        JourneyItem::Order(o) => Some(o.value.clone()),
        _ => None,
    });
    assert_eq!(stored, Some(rated));
}

async fn customer_items_lists_everything_in_sort_key_order<S: JourneyStore>(store: &S) {
    assert!(items(store).await.is_empty());
    let due = due_follow_up(store).await;
    store
        .set_aside(&due.pk, &due.sk, "for the listing")
        .await
        .unwrap();
    let listed = items(store).await;
    let keys: Vec<String> = listed.iter().map(sort_key).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    for prefix in ["FOLLOWUP#", "MSG#", "ORDER#", "PROFILE"] {
        assert!(
            keys.iter().any(|k| k.starts_with(prefix)),
            "{prefix} in {keys:?}"
        );
    }
    // Nothing of another partition (the sweep's checkpoint) is listed.
    store
        .save_sweep_checkpoint(at("2026-11-02T10:00:00Z"))
        .await
        .unwrap();
    assert_eq!(items(store).await, listed);
}

async fn each_read_counts_as_the_requests_dynamodb_would_bill<S: JourneyStore>(store: &S) {
    let message = placed(store).await;
    let start = store.read_requests();
    store
        .load_profile_and_order(&customer(), None)
        .await
        .unwrap();
    store.message(&customer(), &message.sk).await.unwrap();
    store.customer_items(&customer()).await.unwrap();
    store
        .due_items(message.due_bucket.as_deref().unwrap(), until(&message))
        .await
        .unwrap();
    store.sweep_checkpoint().await.unwrap();
    // Writes are not reads.
    store
        .mark_sent(&message, "inv-a", "ses-1", at("2026-11-02T10:00:02Z"))
        .await
        .unwrap();
    // One each, but the due items: a Query of the keys-only index, then a BatchGetItem of
    // the items it names.
    assert_eq!(store.read_requests() - start, 6);
}

// ---------------------------------------------------------------------------------------------
// The two stores side by side

/// One call's answer, in words that do not depend on the store (a store's own error text does).
fn answer<T: std::fmt::Debug, E: std::fmt::Debug>(result: &Result<T, E>) -> String {
    match result {
        Ok(value) => format!("ok {value:?}"),
        Err(error) => {
            let text = format!("{error:?}");
            match text.split_once(['(', ' ', '{']) {
                Some((variant, _)) => format!("error {variant}"),
                None => format!("error {text}"),
            }
        }
    }
}

/// A whole journey through every method of the port, at fixed times: what each call answered,
/// and the journey it leaves.
async fn scenario<S: JourneyStore>(store: &S) -> (Vec<String>, Vec<JourneyItem>) {
    let mut answers = Vec::new();
    let message = placed(store).await;
    let stale = decide(store, event("placed", "evt-placed", "2026-11-02T10:00:00Z")).await;
    answers.push(answer(&commit(store, &stale, "inv-c").await));
    apply(store, "confirmed", "evt-2", "2026-11-02T11:00:00Z", "inv-b").await;

    let now = at("2026-11-02T10:05:00Z");
    let relay = Lease {
        owner: "relay-1".into(),
        until: now + Duration::minutes(2),
    };
    answers.push(answer(&store.claim_message(&message, &relay, now).await));
    answers.push(answer(
        &store
            .note_attempt_failed(&message, "relay-1", "SES throttled")
            .await,
    ));
    answers.push(answer(
        &store.mark_sent(&message, "relay-1", "ses-1", now).await,
    ));
    answers.push(answer(
        &store.mark_sent(&message, "inv-a", "ses-x", now).await,
    ));
    for (event, when) in [
        (MailEvent::Delivered, "2026-11-02T10:06:00Z"),
        (MailEvent::Responded, "2026-11-02T12:00:00Z"),
        (MailEvent::Delivered, "2026-11-02T13:00:00Z"),
    ] {
        answers.push(answer(
            &store
                .record_mail_event(&customer(), &message.sk, event, at(when))
                .await,
        ));
    }

    let (decided, _) = apply(
        store,
        "delivered",
        "evt-delivered",
        "2026-11-05T17:41:00Z",
        "inv-d",
    )
    .await;
    let written_at = decided.event.occurred_at + Duration::seconds(1);
    for (n, planned) in decided.decision.follow_ups.planned.iter().enumerate() {
        let bucket = partition_of(planned, written_at);
        let due = due_follow_ups(store, &bucket, planned.due_at).await;
        answers.push(format!("due {:?}", due));
        let Some(due) = due.into_iter().find(|f| f.follow_up.key == planned.key) else {
            continue;
        };
        let wall = planned.due_at + Duration::minutes(1);
        let lease = Lease {
            owner: "sweep-1".into(),
            until: wall + Duration::minutes(5),
        };
        let held = store
            .claim_follow_up(&due, "sweep-1", lease.until, wall)
            .await;
        answers.push(answer(&held));
        let Ok(Some(held)) = held else { continue };
        let loaded = store
            .load_profile_and_order(&customer(), held.follow_up.order_id.as_ref())
            .await
            .unwrap();
        let profile = loaded.profile.expect("a profile");
        let outcome = if n == 0 {
            decide_follow_up(
                &held.follow_up,
                &profile.value,
                loaded.order.as_ref().map(|o| &o.value),
                wall,
                &settings(),
            )
            .unwrap()
        } else {
            // A call for a person whose email is withheld: the handoff rides alone.
            aftercare_journey::follow_ups::FollowUpOutcome {
                decision: aftercare_journey::follow_ups::FollowUpDecision::Withhold {
                    reason: "switched off".into(),
                },
                profile: profile.value.clone(),
                handoff: Some(aftercare_journey::handoff::Handoff {
                    customer_id: customer(),
                    order_id: aftercare_journey::ids::OrderId::parse(ORDER).unwrap(),
                    status: aftercare_journey::status::OrderStatus::Delivered,
                    since: decided.event.occurred_at,
                    reason: "a person should look".into(),
                }),
            }
        };
        let written = store
            .commit_follow_up(profile.version, &held, &outcome, wall, &lease, wall)
            .await;
        answers.push(answer(&written));
        if let Ok(Some(message)) = written {
            answers.push(answer(
                &store.mark_handoff_published(&message, "sweep-1").await,
            ));
            answers.push(answer(
                &store
                    .mark_sent(&message, "sweep-1", "ses-follow-up", wall)
                    .await,
            ));
        }
    }

    let profile = store
        .load_profile_and_order(&customer(), None)
        .await
        .unwrap()
        .profile
        .expect("a profile");
    let mut content = message.outgoing(&settings()).unwrap().expect("content");
    content.id =
        aftercare_journey::message::MessageId::derive(&customer(), "scenario", content.kind);
    let fresh = pending_message_item(&content, &lease("feedback-1", at("2026-11-09T10:00:00Z")));
    answers.push(answer(
        &store
            .commit_profile_with_messages(
                &profile.value,
                profile.version,
                None,
                std::slice::from_ref(&fresh),
            )
            .await,
    ));
    answers.push(answer(
        &store
            .mark_failed(&fresh, "feedback-1", "refused", at("2026-11-09T10:00:01Z"))
            .await,
    ));
    answers.push(answer(&store.save_sweep_checkpoint(now).await));
    answers.push(answer(&store.sweep_checkpoint().await));
    (answers, items(store).await)
}

#[tokio::test]
async fn both_stores_answer_alike_and_leave_the_same_journey_after_the_same_calls() {
    let memory = aftercare_adapters::memory::MemoryStore::new();
    let dynamodb = dynamodb_store("both-stores-side-by-side").await;

    let (memory_answers, memory_journey) = scenario(&memory).await;
    let (dynamodb_answers, dynamodb_journey) = scenario(&dynamodb).await;

    assert_eq!(memory_answers, dynamodb_answers);
    assert_eq!(memory_journey, dynamodb_journey);
    assert_eq!(memory.read_requests(), dynamodb.read_requests());
    // The scenario reached what it is for: a handoff that rides alone, and a follow-up sent
    // or decided.
    assert!(memory_journey.iter().any(|i| matches!(i,
        JourneyItem::Message(m) if m.handoff.is_some() && m.content.is_none())));
    assert!(!follow_up_decisions(&memory_journey).is_empty());
}

// ---------------------------------------------------------------------------------------------
// What only the twin does: faults on demand

mod injected_faults {
    use super::*;
    use aftercare_adapters::error::Retry;
    use aftercare_adapters::memory::{Fault, MemoryStore, Operation};

    #[tokio::test]
    async fn a_commit_that_failed_transiently_wrote_nothing_and_can_be_sent_again() {
        let store = MemoryStore::new();
        let decided = decide(
            &store,
            event("placed", "evt-placed", "2026-11-02T10:00:00Z"),
        )
        .await;
        store.fail_next(Operation::CommitOrderEvent, Fault::Transient);

        let failed = commit(&store, &decided, "inv-a").await;

        assert!(
            matches!(&failed, Err(CommitError::Store(e)) if e.retry == Retry::Transient),
            "{failed:?}"
        );
        assert!(items(&store).await.is_empty());
        assert!(commit(&store, &decided, "inv-a").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_commit_whose_answer_was_lost_is_answered_as_done_when_sent_again() {
        let store = MemoryStore::new();
        let decided = decide(
            &store,
            event("placed", "evt-placed", "2026-11-02T10:00:00Z"),
        )
        .await;
        store.fail_next(Operation::CommitOrderEvent, Fault::LostAnswer);

        let lost = commit(&store, &decided, "inv-a").await;
        let written = items(&store).await;
        let again = commit(&store, &decided, "inv-a").await;
        let other = commit(&store, &decided, "inv-b").await;

        assert!(matches!(lost, Err(CommitError::Store(_))), "{lost:?}");
        assert_eq!(versions(&written), (Some(1), Some(1)));
        assert!(again.unwrap().is_some(), "the same writes: done");
        assert!(matches!(other, Err(CommitError::Conflict)), "{other:?}");
        assert_eq!(items(&store).await, written);
    }
}
