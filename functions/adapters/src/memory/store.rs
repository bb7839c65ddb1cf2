//! The journey table in memory, with the DynamoDB store's semantics.
//!
//! Items are kept in their stored form: the attribute maps the DynamoDB store writes (the same
//! structs serialized with `serde_dynamo`), keyed by `pk` and `sk`. Every write is the
//! DynamoDB call's own, condition and update alike, evaluated over those maps as DynamoDB
//! evaluates them: `attribute_not_exists` sees an attribute stored as NULL as present, and a
//! comparison of values of different types is false. So a commit, a claim or a mark succeeds,
//! is refused, or finds its own effect exactly when the DynamoDB store's does.
//!
//! A transaction is checked whole before anything of it is applied, and answers as
//! TransactWriteItems does: the first write whose condition fails decides the refusal, two
//! writes of one item are refused as invalid, and a repeat of a successful transaction (the
//! same writes, so the same `ClientRequestToken`) within 10 minutes is answered as done without
//! applying anything again (`table.rs`). The due index is the sparse `due` GSI: the items that
//! carry `due_bucket` and `due_at`, read in `due_at` order (ties, which DynamoDB leaves in no
//! promised order, in key order); as in DynamoDB (not moto), an item whose index key is NULL or
//! empty text is refused. Every read sees every write before it: unlike DynamoDB's GSI and its
//! eventually consistent Query of a partition, nothing here lags. Read requests are counted as
//! DynamoDB would bill them: one per GetItem and BatchGetItem, one per 1 MB page of a Query,
//! failed requests included.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aftercare_journey::event::OrderEvent;
use aftercare_journey::follow_ups::FollowUpOutcome;
use aftercare_journey::ids::{CustomerId, OrderId};
use aftercare_journey::order::Order;
use aftercare_journey::order_status::OrderEventDecision;
use aftercare_journey::profile::Profile;
use aftercare_journey::time_shift::Shift;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::faults::Faults;
use super::table::{query_pages, s, text, Condition, Item, Refused, Table, Write};
use crate::error::Retry;
use crate::items::DueItem;
use crate::items::{
    customer_pk, due_bucket, follow_up_item, from_item, order_item, profile_item, sortable_time,
    to_item, CommitError, EventItem, FollowUpItem, FollowUpWrites, JourneyItem, Lease, MailEvent,
    MessageItem, MessageStatus, OrderEventWrites, OrderItem, ProfileAndOrder, ProfileItem,
    StoreError, Versioned, CHECKPOINT_PK, CHECKPOINT_SK, MESSAGE_LOG_TTL,
};
use crate::ports::JourneyStore;

/// A call of the store, to inject a failure into ([`MemoryStore::fail_next`]): one per method
/// of [`JourneyStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// [`JourneyStore::load_profile_and_order`].
    LoadProfileAndOrder,
    /// [`JourneyStore::commit_order_event`].
    CommitOrderEvent,
    /// [`JourneyStore::commit_profile_with_messages`].
    CommitProfileWithMessages,
    /// [`JourneyStore::message`].
    Message,
    /// [`JourneyStore::claim_message`].
    ClaimMessage,
    /// [`JourneyStore::mark_sent`].
    MarkSent,
    /// [`JourneyStore::mark_failed`].
    MarkFailed,
    /// [`JourneyStore::note_attempt_failed`].
    NoteAttemptFailed,
    /// [`JourneyStore::mark_handoff_published`].
    MarkHandoffPublished,
    /// [`JourneyStore::record_mail_event`].
    RecordMailEvent,
    /// [`JourneyStore::due_items`].
    DueItems,
    /// [`JourneyStore::claim_follow_up`].
    ClaimFollowUp,
    /// [`JourneyStore::commit_follow_up`].
    CommitFollowUp,
    /// [`JourneyStore::set_aside`].
    SetAside,
    /// [`JourneyStore::sweep_checkpoint`].
    SweepCheckpoint,
    /// [`JourneyStore::save_sweep_checkpoint`].
    SaveSweepCheckpoint,
    /// [`JourneyStore::customer_items`].
    CustomerItems,
}

/// A failure [`MemoryStore`] injects into a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The call fails without effect and answers a [`Retry::Transient`] error (throttling, a
    /// 5xx, a timeout before the request landed).
    Transient,
    /// The call fails without effect and answers a [`Retry::Permanent`] error (a request the
    /// service refuses).
    Permanent,
    /// The call takes effect, then answers a [`Retry::Transient`] error, as when the connection
    /// drops after DynamoDB applied it. For a transaction this is what the caller sees when
    /// every attempt's answer was lost (the DynamoDB store first sends it once more with its
    /// token itself); sending the same transaction again is answered as done.
    LostAnswer,
}

/// The store's state, behind its one lock.
#[derive(Debug, Default)]
struct State {
    table: Table,
    faults: Faults<Operation, Fault>,
}

/// [`JourneyStore`] in memory, with the DynamoDB store's semantics (see the module's docs),
/// and failures injectable per [`Operation`]. Thread-safe: one lock, never held across an
/// await, so every call is atomic as a DynamoDB call is. Clones share the table, its faults
/// and its read count, as clients of one DynamoDB table do: hand one to each function under
/// test and keep one to look.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    reads: Arc<AtomicUsize>,
    /// How long each call takes, in nanoseconds (0: no time at all).
    latency: Arc<std::sync::atomic::AtomicU64>,
}

impl MemoryStore {
    /// An empty table that injects no failure.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next call of `operation` fails with `fault` (after the faults queued before it for
    /// that operation).
    pub fn fail_next(&self, operation: Operation, fault: Fault) {
        self.state().faults.push_next(operation, fault);
    }

    /// Every call of `operation` fails with `fault` until [`MemoryStore::clear_faults`] (faults
    /// queued with [`MemoryStore::fail_next`] come first).
    pub fn fail_every(&self, operation: Operation, fault: Fault) {
        self.state().faults.set_every(operation, fault);
    }

    /// Forgets every fault injected into `operation`, queued or standing.
    pub fn clear_faults(&self, operation: Operation) {
        self.state().faults.clear(&operation);
    }

    /// Every item of `customer`'s partition as stored (the attribute maps DynamoDB would hold),
    /// in sort-key order: to copy a journey the twin built quickly into a real table, or to
    /// look at the stored sizes.
    pub fn stored_items(&self, customer: &CustomerId) -> Vec<Item> {
        let pk = customer_pk(customer);
        let mut items: Vec<_> = self.state().table.partition(&pk).cloned().collect();
        items.sort_by(|a, b| text(Some(a), "sk").cmp(&text(Some(b), "sk")));
        items
    }

    /// Makes every call take `per_call` before it answers, as a round trip to DynamoDB does
    /// (shared by clones). Under a paused test clock the time is virtual: a test can measure
    /// how long work takes at AWS's latency, whatever the machine is doing.
    pub fn set_latency(&self, per_call: std::time::Duration) {
        let nanos = u64::try_from(per_call.as_nanos()).unwrap_or(u64::MAX);
        self.latency.store(nanos, Ordering::Relaxed);
    }

    /// Waits out the latency of one call, if one is set.
    async fn round_trip(&self) {
        let nanos = self.latency.load(Ordering::Relaxed);
        if nanos > 0 {
            tokio::time::sleep(std::time::Duration::from_nanos(nanos)).await;
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn count_reads(&self, requests: usize) {
        self.reads.fetch_add(requests, Ordering::Relaxed);
    }

    /// Runs `call` (DynamoDB request `request`) under the lock, meeting the fault injected into
    /// `operation`, if any.
    fn run<T, E: From<StoreError>>(
        &self,
        operation: Operation,
        request: &'static str,
        call: impl FnOnce(&mut State) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut state = self.state();
        let read = matches!(request, "GetItem" | "BatchGetItem" | "Query");
        let injected = |retry, detail: &str| StoreError {
            operation: request,
            retry,
            detail: format!("injected: {detail}"),
        };
        let fault = state.faults.take(&operation);
        if read && matches!(fault, Some(Fault::Transient | Fault::Permanent)) {
            // The request was made, and counts, even though it failed.
            self.count_reads(1);
        }
        match fault {
            None => call(&mut state),
            Some(Fault::Transient) => Err(injected(
                Retry::Transient,
                "ThrottlingException: the call was not applied",
            )
            .into()),
            Some(Fault::Permanent) => Err(injected(
                Retry::Permanent,
                "ValidationException: the call was refused",
            )
            .into()),
            Some(Fault::LostAnswer) => {
                // Whatever the call did stands; its answer never arrives.
                let _ = call(&mut state);
                Err(injected(
                    Retry::Transient,
                    "the call was applied and its answer was lost",
                )
                .into())
            }
        }
    }

    /// BatchGetItem of the profile, and of the order if given.
    fn load(
        &self,
        operation: Operation,
        customer: &CustomerId,
        keys: Vec<String>,
    ) -> Result<ProfileAndOrder, StoreError> {
        let pk = customer_pk(customer);
        self.run(operation, "BatchGetItem", |state| {
            self.count_reads(1);
            let mut loaded = ProfileAndOrder::default();
            for sk in keys {
                let Some(item) = state.table.get(&pk, &sk) else {
                    continue;
                };
                match text(Some(item), "entity") {
                    Some("profile") => {
                        let record: ProfileItem = from_item("BatchGetItem", item.clone())?;
                        loaded.profile = Some(Versioned {
                            value: record.profile,
                            version: record.version,
                        });
                    }
                    Some("order") => {
                        let record: OrderItem = from_item("BatchGetItem", item.clone())?;
                        loaded.order = Some(Versioned {
                            value: record.order,
                            version: record.version,
                        });
                    }
                    other => {
                        return Err(StoreError::corrupt(
                            "BatchGetItem",
                            format!("unexpected entity {other:?}"),
                        ))
                    }
                }
            }
            Ok(loaded)
        })
    }

    /// UpdateItem `SET status = :status, ... REMOVE lease_owner, ...` of a message held by
    /// `owner`; see the DynamoDB store's `finish`.
    fn finish(
        &self,
        operation: Operation,
        item: &MessageItem,
        owner: &str,
        status: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.run(operation, "UpdateItem", |state| {
            let current = state.table.get(&item.pk, &item.sk);
            let held = text(current, "status") == Some("pending")
                && text(current, "lease_owner") == Some(owner);
            if !held {
                let recorded = if status == "sent" {
                    text(current, "ses_message_id")
                } else {
                    text(current, "last_error")
                };
                return Ok(text(current, "status") == Some(status)
                    && text(current, "finished_by") == Some(owner)
                    && recorded == Some(detail));
            }
            let Some(stored) = state.table.get_mut(&item.pk, &item.sk) else {
                return Ok(false);
            };
            stored.insert("status".into(), s(status));
            if status == "sent" {
                stored.insert("sent_at".into(), s(now.to_rfc3339()));
                stored.insert("ses_message_id".into(), s(detail));
            } else {
                stored.insert("last_error".into(), s(detail));
                stored.insert("failed_at".into(), s(now.to_rfc3339()));
            }
            stored.insert("finished_by".into(), s(owner));
            stored.insert(
                "expires_at".into(),
                AttributeValue::N(now.plus(MESSAGE_LOG_TTL).timestamp().to_string()),
            );
            for name in [
                "lease_owner",
                "lease_until",
                "due_bucket",
                "due_at",
                "content",
            ] {
                stored.remove(name);
            }
            Ok(true)
        })
    }

    /// UpdateItem `SET <name> = :value`, condition `lease_owner = :owner`; a refusal is no error.
    fn set_if_held(
        &self,
        operation: Operation,
        item: &MessageItem,
        owner: &str,
        name: &str,
        value: AttributeValue,
    ) -> Result<(), StoreError> {
        self.run(operation, "UpdateItem", |state| {
            if let Some(stored) = state.table.get_mut(&item.pk, &item.sk) {
                if text(Some(stored), "lease_owner") == Some(owner) {
                    stored.insert(name.to_owned(), value);
                }
            }
            Ok(())
        })
    }
}

/// The version a write over `loaded` expects: `version = :version`, or no item yet.
fn version_condition<T>(loaded: &Option<Versioned<T>>) -> Condition {
    loaded
        .as_ref()
        .map_or(Condition::Absent, |v| Condition::Version(v.version))
}

/// An item of the due index as the sweep reads it, or `None` for an entity it skips.
/// What the due index keeps of `item`: its keys and the index's.
fn index_entry(item: &Item) -> Item {
    item.iter()
        .filter(|(name, _)| ["pk", "sk", "due_bucket", "due_at"].contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

fn due_item(item: &Item) -> Result<Option<DueItem>, StoreError> {
    match text(Some(item), "entity") {
        Some("followup") => {
            from_item("Query", item.clone()).map(|f| Some(DueItem::FollowUp(Box::new(f))))
        }
        Some("message") => {
            from_item("Query", item.clone()).map(|m| Some(DueItem::Message(Box::new(m))))
        }
        _ => Ok(None),
    }
}

/// An item of a customer's partition as [`JourneyStore::customer_items`] returns it.
fn journey_item(item: &Item) -> Result<JourneyItem, StoreError> {
    Ok(match text(Some(item), "entity").unwrap_or_default() {
        "profile" => {
            let r: ProfileItem = from_item("Query", item.clone())?;
            JourneyItem::Profile(Versioned {
                value: r.profile,
                version: r.version,
            })
        }
        "order" => {
            let r: OrderItem = from_item("Query", item.clone())?;
            JourneyItem::Order(Versioned {
                value: r.order,
                version: r.version,
            })
        }
        "message" => JourneyItem::Message(Box::new(from_item("Query", item.clone())?)),
        "event" => JourneyItem::Event(from_item::<EventItem>("Query", item.clone())?.marker),
        "followup" => JourneyItem::FollowUp(Box::new(from_item("Query", item.clone())?)),
        "decision" => JourneyItem::Decision(Box::new(from_item("Query", item.clone())?)),
        other => {
            return Err(StoreError::corrupt(
                "Query",
                format!("unexpected entity {other:?}"),
            ))
        }
    })
}

/// UpdateItem `SET status = :failed, last_error = :reason REMOVE due_bucket, due_at` if the
/// item exists.
fn set_aside_in(state: &mut State, pk: &str, sk: &str, reason: &str) {
    if let Some(stored) = state.table.get_mut(pk, sk) {
        stored.insert("status".into(), s("failed"));
        stored.insert("last_error".into(), s(reason));
        stored.remove("due_bucket");
        stored.remove("due_at");
    }
}

impl JourneyStore for MemoryStore {
    async fn load_profile_and_order(
        &self,
        customer: &CustomerId,
        order: Option<&OrderId>,
    ) -> Result<ProfileAndOrder, StoreError> {
        self.round_trip().await;
        let mut keys = vec!["PROFILE".to_owned()];
        if let Some(order) = order {
            keys.push(format!("ORDER#{order}"));
        }
        self.load(Operation::LoadProfileAndOrder, customer, keys)
    }

    async fn commit_order_event(
        &self,
        loaded: &ProfileAndOrder,
        event: &OrderEvent,
        decision: &OrderEventDecision,
        lease: &Lease,
        owner: &str,
        processed_at: DateTime<Utc>,
    ) -> Result<Option<MessageItem>, CommitError> {
        self.round_trip().await;
        let OrderEventWrites {
            profile,
            order,
            message,
            planned,
            cancelled,
        } = OrderEventWrites::of(loaded, event, decision, lease, owner, processed_at);
        let pk = order.pk.clone();
        let mut writes = vec![
            Write::put(to_item(&order)?, version_condition(&loaded.order)),
            Write::put(to_item(&profile)?, version_condition(&loaded.profile)),
        ];
        let versioned = writes.len();
        if let Some(message) = &message {
            writes.push(Write::put(to_item(message)?, Condition::Absent));
        }
        for follow_up in &planned {
            writes.push(Write::put(to_item(follow_up)?, Condition::Always));
        }
        for follow_up_sk in cancelled {
            writes.push(Write::Delete {
                pk: pk.clone(),
                sk: follow_up_sk,
                condition: Condition::Always,
            });
        }
        self.run(Operation::CommitOrderEvent, "TransactWriteItems", |state| {
            match state.table.transact(writes) {
                Ok(()) => Ok(message),
                // The order or the profile moved (another event was applied, or this one was).
                Err(Refused::Condition(at)) if at < versioned => Err(CommitError::Conflict),
                // The message exists: this decision was written before.
                Err(Refused::Condition(_)) => Err(CommitError::Duplicate),
                Err(Refused::Invalid(error)) => Err(error.into()),
            }
        })
    }

    async fn commit_profile_with_messages(
        &self,
        profile: &Profile,
        read_version: u64,
        order: Option<(&Order, u64)>,
        messages: &[MessageItem],
    ) -> Result<(), CommitError> {
        self.round_trip().await;
        let mut writes = vec![Write::put(
            profile_item(profile, read_version)?,
            Condition::Version(read_version),
        )];
        if let Some((order, version)) = order {
            writes.push(Write::put(
                order_item(&profile.customer_id, order, version)?,
                Condition::Version(version),
            ));
        }
        let versioned = writes.len();
        for message in messages {
            writes.push(Write::put(to_item(message)?, Condition::Absent));
        }
        self.run(
            Operation::CommitProfileWithMessages,
            "TransactWriteItems",
            |state| match state.table.transact(writes) {
                Ok(()) => Ok(()),
                // The profile or the order changed since it was read.
                Err(Refused::Condition(at)) if at < versioned => Err(CommitError::Conflict),
                // A message with the same id exists: this was written before.
                Err(Refused::Condition(_)) => Err(CommitError::Duplicate),
                Err(Refused::Invalid(error)) => Err(error.into()),
            },
        )
    }

    async fn message(
        &self,
        customer: &CustomerId,
        sk: &str,
    ) -> Result<Option<MessageItem>, StoreError> {
        self.round_trip().await;
        let pk = customer_pk(customer);
        self.run(Operation::Message, "GetItem", |state| {
            self.count_reads(1);
            state
                .table
                .get(&pk, sk)
                .map(|item| from_item("GetItem", item.clone()))
                .transpose()
        })
    }

    async fn claim_message(
        &self,
        item: &MessageItem,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Option<MessageItem>, StoreError> {
        self.round_trip().await;
        let until = sortable_time(lease.until);
        let now = sortable_time(now);
        self.run(Operation::ClaimMessage, "UpdateItem", |state| {
            let current = state.table.get(&item.pk, &item.sk);
            let lease_ran_out = match current.and_then(|c| c.get("lease_until")) {
                None => true,
                Some(AttributeValue::S(lease_until)) => lease_until.as_str() < now.as_str(),
                Some(_) => false,
            };
            let claimable = text(current, "status") == Some("pending") && lease_ran_out;
            if !claimable {
                // An old item that does not read is nobody's claim of ours.
                return Ok(current
                    .and_then(|c| from_item::<MessageItem>("UpdateItem", c.clone()).ok())
                    .filter(|m| {
                        m.status == MessageStatus::Pending
                            && m.lease_owner.as_deref() == Some(lease.owner.as_str())
                            && m.lease_until.as_deref() == Some(until.as_str())
                    }));
            }
            let Some(stored) = state.table.get_mut(&item.pk, &item.sk) else {
                return Ok(None);
            };
            let attempts = match stored.get("attempts") {
                Some(AttributeValue::N(n)) => n.parse::<u64>().ok(),
                _ => None,
            }
            .ok_or_else(|| {
                StoreError::corrupt(
                    "UpdateItem",
                    "ValidationException: An operand in the update expression has an incorrect data type",
                )
            })?;
            stored.insert("lease_owner".into(), s(&lease.owner));
            stored.insert("lease_until".into(), s(&until));
            stored.insert(
                "due_bucket".into(),
                s(due_bucket(lease.until, &item.message_id)),
            );
            stored.insert("due_at".into(), s(&until));
            stored.insert(
                "attempts".into(),
                AttributeValue::N(attempts.saturating_add(1).to_string()),
            );
            from_item("UpdateItem", stored.clone()).map(Some)
        })
    }

    async fn mark_sent(
        &self,
        item: &MessageItem,
        owner: &str,
        ses_message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.round_trip().await;
        self.finish(
            Operation::MarkSent,
            item,
            owner,
            "sent",
            ses_message_id,
            now,
        )
    }

    async fn mark_failed(
        &self,
        item: &MessageItem,
        owner: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.round_trip().await;
        self.finish(Operation::MarkFailed, item, owner, "failed", reason, now)
    }

    async fn note_attempt_failed(
        &self,
        item: &MessageItem,
        owner: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.round_trip().await;
        self.set_if_held(
            Operation::NoteAttemptFailed,
            item,
            owner,
            "last_error",
            s(reason),
        )
    }

    async fn mark_handoff_published(
        &self,
        item: &MessageItem,
        owner: &str,
    ) -> Result<(), StoreError> {
        self.round_trip().await;
        self.set_if_held(
            Operation::MarkHandoffPublished,
            item,
            owner,
            "handoff_published",
            AttributeValue::Bool(true),
        )
    }

    async fn record_mail_event(
        &self,
        customer: &CustomerId,
        sort_key: &str,
        event: MailEvent,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.round_trip().await;
        let pk = customer_pk(customer);
        self.run(Operation::RecordMailEvent, "UpdateItem", |state| {
            let Some(stored) = state.table.get_mut(&pk, sort_key) else {
                return Ok(false);
            };
            for name in event.attributes() {
                stored
                    .entry((*name).to_owned())
                    .or_insert_with(|| s(at.to_rfc3339()));
            }
            Ok(true)
        })
    }

    async fn due_items(
        &self,
        bucket: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<DueItem>, StoreError> {
        self.round_trip().await;
        let now = sortable_time(now);
        self.run(Operation::DueItems, "Query", |state| {
            let mut matching: Vec<(String, String, String, Item)> = state
                .table
                .in_due_bucket(bucket)
                .into_iter()
                .filter_map(|item| {
                    let due_at = text(Some(item), "due_at")?;
                    (due_at <= now.as_str()).then(|| {
                        (
                            due_at.to_owned(),
                            text(Some(item), "pk").unwrap_or_default().to_owned(),
                            text(Some(item), "sk").unwrap_or_default().to_owned(),
                            item.clone(),
                        )
                    })
                })
                .collect();
            matching.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
            // The index holds keys only, as DynamoDB's does: one Query of the entries, then
            // the items themselves in BatchGetItems of at most 100 keys.
            let entries: Vec<Item> = matching
                .iter()
                .map(|(_, _, _, item)| index_entry(item))
                .collect();
            self.count_reads(query_pages(entries.iter()));
            self.count_reads(matching.len().div_ceil(100));
            let mut items = Vec::new();
            for (_, pk, sk, item) in matching {
                match due_item(&item) {
                    Ok(Some(due)) => items.push(due),
                    Ok(None) => {}
                    Err(error) => {
                        // One unreadable item must not stop every sweep: set it aside, loudly.
                        let customer_id = crate::log_ids::customer_of_partition(&pk)
                            .map_or_else(|| "none".to_owned(), |id| id.to_string());
                        tracing::error!(%customer_id, %sk, %error, "unreadable item in the due index; set aside");
                        set_aside_in(state, &pk, &sk, &error.to_string());
                    }
                }
            }
            Ok(items)
        })
    }

    async fn claim_follow_up(
        &self,
        item: &FollowUpItem,
        owner: &str,
        until: DateTime<Utc>,
        wall_now: DateTime<Utc>,
    ) -> Result<Option<FollowUpItem>, StoreError> {
        self.round_trip().await;
        // Filed under the hour the claim runs out, as the DynamoDB store files it.
        let bucket = due_bucket(until, item.follow_up.customer_id.as_str());
        let until = sortable_time(until);
        let wall = sortable_time(wall_now);
        let due = item.due_at.clone().unwrap_or_default();
        self.run(Operation::ClaimFollowUp, "UpdateItem", |state| {
            let current = state.table.get(&item.pk, &item.sk);
            let status = text(current, "status");
            let scheduled_as_seen =
                status == Some("scheduled") && text(current, "due_at") == Some(due.as_str());
            let claim_ran_out = status == Some("claimed")
                && text(current, "claim_until").is_some_and(|c| c < wall.as_str());
            if !(scheduled_as_seen || claim_ran_out) {
                // An old item that does not read is nobody's claim of ours.
                return Ok(current
                    .and_then(|c| from_item::<FollowUpItem>("UpdateItem", c.clone()).ok())
                    .filter(|f| {
                        f.status == crate::items::FollowUpStatus::Claimed
                            && f.claimed_by.as_deref() == Some(owner)
                            && f.claim_until.as_deref() == Some(until.as_str())
                    }));
            }
            let Some(stored) = state.table.get_mut(&item.pk, &item.sk) else {
                return Ok(None);
            };
            stored.insert("status".into(), s("claimed"));
            stored.insert("claimed_by".into(), s(owner));
            stored.insert("claim_until".into(), s(&until));
            stored.insert("due_bucket".into(), s(&bucket));
            from_item("UpdateItem", stored.clone()).map(Some)
        })
    }

    async fn commit_follow_up(
        &self,
        profile_version: u64,
        held: &FollowUpItem,
        outcome: &FollowUpOutcome,
        now: DateTime<Utc>,
        lease: &Lease,
        written_at: DateTime<Utc>,
    ) -> Result<Option<MessageItem>, CommitError> {
        self.round_trip().await;
        let owner = lease.owner.as_str();
        let mut writes = vec![Write::put(
            profile_item(&outcome.profile, profile_version)?,
            Condition::Version(profile_version),
        )];
        let FollowUpWrites {
            replacement,
            planned_elsewhere,
            record,
            message,
        } = FollowUpWrites::of(held, outcome, now, lease, written_at);
        let claimed = Condition::ClaimedBy(owner.to_owned());
        writes.push(match &replacement {
            Some(follow_up) => {
                Write::put(to_item(&follow_up_item(follow_up, written_at))?, claimed)
            }
            None => Write::Delete {
                pk: held.pk.clone(),
                sk: held.sk.clone(),
                condition: claimed,
            },
        });
        if let Some(next) = &planned_elsewhere {
            writes.push(Write::put(
                to_item(&follow_up_item(next, written_at))?,
                Condition::Always,
            ));
        }
        if let Some(record) = &record {
            writes.push(Write::put(to_item(record)?, Condition::Always));
        }
        if let Some(message) = &message {
            writes.push(Write::put(to_item(message)?, Condition::Absent));
        }
        let last = writes.len().saturating_sub(1);
        self.run(Operation::CommitFollowUp, "TransactWriteItems", |state| {
            match state.table.transact(writes) {
                Ok(()) => Ok(message),
                // Someone else took the follow-up meanwhile, or the message exists.
                Err(Refused::Condition(1)) => Err(CommitError::Duplicate),
                Err(Refused::Condition(i)) if message.is_some() && i == last => {
                    Err(CommitError::Duplicate)
                }
                Err(Refused::Condition(_)) => Err(CommitError::Conflict),
                Err(Refused::Invalid(error)) => Err(error.into()),
            }
        })
    }

    async fn set_aside(&self, pk: &str, sk: &str, reason: &str) -> Result<(), StoreError> {
        self.round_trip().await;
        self.run(Operation::SetAside, "UpdateItem", |state| {
            set_aside_in(state, pk, sk, reason);
            Ok(())
        })
    }

    async fn sweep_checkpoint(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.round_trip().await;
        self.run(Operation::SweepCheckpoint, "GetItem", |state| {
            self.count_reads(1);
            Ok(text(state.table.get(CHECKPOINT_PK, CHECKPOINT_SK), "hour")
                .and_then(|hour| DateTime::parse_from_rfc3339(hour).ok())
                .map(|hour| hour.with_timezone(&Utc)))
        })
    }

    async fn save_sweep_checkpoint(&self, hour: DateTime<Utc>) -> Result<(), StoreError> {
        self.round_trip().await;
        self.run(Operation::SaveSweepCheckpoint, "PutItem", |state| {
            state.table.put(Item::from([
                ("pk".to_owned(), s(CHECKPOINT_PK)),
                ("sk".to_owned(), s(CHECKPOINT_SK)),
                ("entity".to_owned(), s("checkpoint")),
                ("hour".to_owned(), s(hour.to_rfc3339())),
            ]));
            Ok(())
        })
    }

    async fn customer_items(&self, customer: &CustomerId) -> Result<Vec<JourneyItem>, StoreError> {
        self.round_trip().await;
        let pk = customer_pk(customer);
        self.run(Operation::CustomerItems, "Query", |state| {
            self.count_reads(query_pages(state.table.partition(&pk)));
            state.table.partition(&pk).map(journey_item).collect()
        })
    }

    fn read_requests(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// A store holding one pending message, held by `inv-a` until 10:02.
    fn store_with_held_message() -> (MemoryStore, MessageItem) {
        let customer = CustomerId::parse("cus-1").unwrap();
        let message = MessageItem {
            pk: customer_pk(&customer),
            sk: "MSG#20261102T100000Z#m-1".into(),
            entity: "message".into(),
            message_id: "m-1".into(),
            kind: aftercare_journey::message::MessageKind::OrderPlaced,
            customer_id: customer,
            order_id: None,
            subject: "Your order".into(),
            trigger: "event:e-1".into(),
            reason: "placed".into(),
            decided_at: at("2026-11-02T10:00:00Z"),
            status: MessageStatus::Pending,
            attempts: 1,
            lease_owner: Some("inv-a".into()),
            lease_until: Some(sortable_time(at("2026-11-02T10:02:00Z"))),
            due_bucket: Some(due_bucket(at("2026-11-02T10:02:00Z"), "m-1")),
            due_at: Some(sortable_time(at("2026-11-02T10:02:00Z"))),
            sent_at: None,
            ses_message_id: None,
            last_error: None,
            content: None,
            handoff: None,
            handoff_published: false,
            expires_at: None,
            mail: Default::default(),
        };
        let store = MemoryStore::new();
        store.state().table.put(to_item(&message).unwrap());
        (store, message)
    }

    async fn stored(store: &MemoryStore, message: &MessageItem) -> MessageItem {
        store
            .message(&message.customer_id, &message.sk)
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn a_transient_fault_fails_the_next_call_without_effect_and_only_that_one() {
        let (store, message) = store_with_held_message();
        let now = at("2026-11-02T10:00:01Z");
        store.fail_next(Operation::MarkSent, Fault::Transient);

        let failed = store.mark_sent(&message, "inv-a", "ses-1", now).await;

        assert!(matches!(
            failed,
            Err(StoreError {
                retry: Retry::Transient,
                ..
            })
        ));
        assert_eq!(
            stored(&store, &message).await.status,
            MessageStatus::Pending
        );
        assert!(store
            .mark_sent(&message, "inv-a", "ses-1", now)
            .await
            .unwrap());
        assert_eq!(stored(&store, &message).await.status, MessageStatus::Sent);
    }

    #[tokio::test]
    async fn a_lost_answer_takes_effect_and_the_retry_finds_it() {
        let (store, message) = store_with_held_message();
        let now = at("2026-11-02T10:00:01Z");
        store.fail_next(Operation::MarkSent, Fault::LostAnswer);

        let lost = store.mark_sent(&message, "inv-a", "ses-1", now).await;

        assert!(matches!(
            lost,
            Err(StoreError {
                retry: Retry::Transient,
                ..
            })
        ));
        let after = stored(&store, &message).await;
        assert_eq!(after.status, MessageStatus::Sent);
        assert_eq!(after.ses_message_id.as_deref(), Some("ses-1"));
        assert!(store
            .mark_sent(&message, "inv-a", "ses-1", now)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_standing_fault_fails_every_call_until_cleared() {
        let (store, message) = store_with_held_message();
        store.fail_every(Operation::Message, Fault::Permanent);
        for _ in 0..3 {
            let failed = store.message(&message.customer_id, &message.sk).await;
            assert!(matches!(
                failed,
                Err(StoreError {
                    retry: Retry::Permanent,
                    ..
                })
            ));
        }
        // Other operations are not touched.
        assert!(store.customer_items(&message.customer_id).await.is_ok());
        store.clear_faults(Operation::Message);
        assert_eq!(stored(&store, &message).await, message);
    }

    #[tokio::test]
    async fn a_failed_read_still_counts_as_a_request() {
        let (store, message) = store_with_held_message();
        store.fail_next(Operation::Message, Fault::Transient);
        let _ = store.message(&message.customer_id, &message.sk).await;
        let _ = store.message(&message.customer_id, &message.sk).await;
        assert_eq!(store.read_requests(), 2);
    }

    #[tokio::test]
    async fn a_claim_whose_answer_was_lost_is_held_by_its_lease_and_counted_once() {
        let (store, message) = store_with_held_message();
        let now = at("2026-11-02T10:05:00Z");
        let lease = Lease {
            owner: "relay".into(),
            until: at("2026-11-02T10:07:00Z"),
        };
        store.fail_next(Operation::ClaimMessage, Fault::LostAnswer);
        assert!(store.claim_message(&message, &lease, now).await.is_err());
        let held = store
            .claim_message(&message, &lease, now)
            .await
            .unwrap()
            .expect("held by the relay");
        assert_eq!(held.lease_owner.as_deref(), Some("relay"));
        assert_eq!(held.attempts, 2);
    }

    #[tokio::test]
    async fn clones_share_the_table_its_faults_and_its_read_count() {
        let (store, message) = store_with_held_message();
        let clone = store.clone();
        clone.fail_next(Operation::MarkSent, Fault::Transient);
        let now = at("2026-11-02T10:00:01Z");
        assert!(store
            .mark_sent(&message, "inv-a", "ses-1", now)
            .await
            .is_err());
        assert!(clone
            .mark_sent(&message, "inv-a", "ses-1", now)
            .await
            .unwrap());
        assert_eq!(stored(&store, &message).await.status, MessageStatus::Sent);
        assert_eq!(clone.read_requests(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_many_relays_claiming_one_message_at_once_exactly_one_holds_it() {
        let (store, message) = store_with_held_message();
        let now = at("2026-11-02T10:05:00Z");
        let claims: Vec<_> = (0..16)
            .map(|n| {
                let (store, message) = (store.clone(), message.clone());
                tokio::spawn(async move {
                    let lease = Lease {
                        owner: format!("relay-{n}"),
                        until: at("2026-11-02T10:07:00Z"),
                    };
                    store.claim_message(&message, &lease, now).await.unwrap()
                })
            })
            .collect();
        let mut held = 0;
        for claim in claims {
            held += usize::from(claim.await.unwrap().is_some());
        }
        assert_eq!(held, 1);
        assert_eq!(stored(&store, &message).await.attempts, 2);
    }
}
