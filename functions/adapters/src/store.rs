//! The DynamoDB journey store: one table, single-table design.
//!
//! | item | `pk` | `sk` | what it holds |
//! |---|---|---|---|
//! | profile | `CUSTOMER#<id>` | `PROFILE` | contact, consent, counters, `version` |
//! | order | `CUSTOMER#<id>` | `ORDER#<order id>` | status, timeline, `version` |
//! | message | `CUSTOMER#<id>` | `MSG#<decided at>#<message id>` | the outbox entry, then the log of what was sent |
//! | event marker | `CUSTOMER#<id>` | `EVENT#<event id>` | the idempotency marker; expires after 35 days |
//!
//! A pending message also carries `due_bucket` (`<yyyy-mm-ddThh>#<shard>`) and `due_at`, the
//! keys of the sparse `due` index, so the relay finds messages whose lease ran out without a
//! scan; both are removed once the message is sent or failed. The access patterns are in
//! `infra/README.md`.

use aftercare_journey::time_shift::Shift;
use std::collections::HashMap;
use std::time::Duration as StdDuration;

use aftercare_journey::event::OrderEvent;
use aftercare_journey::followups::{FollowUp, FollowUpChanges};
use aftercare_journey::ids::{CustomerId, EventId, OrderId};
use aftercare_journey::journey::{Order, Profile};
use aftercare_journey::message::{MessageKind, OutgoingMessage};
use aftercare_journey::order_events::{OrderEventDecision, OrderJourney};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{classify, describe, Retry};

/// The name of the sparse index of due work.
pub const DUE_INDEX: &str = "due";
/// How many partitions each hour of due work is spread over, so no partition is hot.
pub const DUE_SHARDS: u32 = 4;
/// How long an event's idempotency marker is kept: longer than SQS keeps a message (14 days)
/// and EventBridge retries one (24 hours).
pub const EVENT_MARKER_TTL: Duration = Duration::days(35);
/// How long the log of a sent message is kept.
pub const MESSAGE_LOG_TTL: Duration = Duration::days(400);
/// How many times a transaction whose outcome is unknown is sent again with its token, after
/// the SDK's own attempts.
pub const UNCERTAIN_RESENDS: u32 = 1;

/// A DynamoDB failure, with whether it may heal.
#[derive(Debug, thiserror::Error)]
#[error("DynamoDB {operation} failed ({retry:?}): {detail}")]
pub struct StoreError {
    /// The operation that failed.
    pub operation: &'static str,
    /// Whether trying again later may help.
    pub retry: Retry,
    /// The service's code and message, or the cause chain.
    pub detail: String,
}

impl StoreError {
    pub(crate) fn sdk_error<E>(
        operation: &'static str,
        error: &SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    ) -> Self
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        Self {
            operation,
            retry: classify(error),
            detail: describe(error),
        }
    }

    pub(crate) fn corrupt(operation: &'static str, detail: impl Into<String>) -> Self {
        Self {
            operation,
            retry: Retry::Permanent,
            detail: detail.into(),
        }
    }
}

/// A stored value with the version its optimistic lock expects.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// Its version: 1 after the first write, one more after each.
    pub version: u64,
}

/// What a processed event left behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMarker {
    /// The event.
    pub event_id: EventId,
    /// Whether it changed the order.
    pub applied: bool,
    /// What came of it.
    pub note: String,
    /// The sort key of the message it queued, if any.
    pub message_sk: Option<String>,
    /// When it was processed (wall clock).
    pub processed_at: DateTime<Utc>,
    /// The invocation that applied it (the lease owner of its message). It also makes the
    /// transaction of every invocation its own: two invocations deciding one event alike at
    /// the same instant still write, and are told, apart.
    #[serde(default)]
    pub processed_by: Option<String>,
}

/// What an order event needs to be decided, read in one round trip.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadedJourney {
    /// The profile, if the customer is known.
    pub profile: Option<Versioned<Profile>>,
    /// The order, if known.
    pub order: Option<Versioned<Order>>,
    /// The event's marker, if it was processed before.
    pub marker: Option<EventMarker>,
}

impl LoadedJourney {
    /// The journey as the domain sees it.
    pub fn journey(&self) -> OrderJourney {
        OrderJourney {
            profile: self.profile.as_ref().map(|p| p.value.clone()),
            order: self.order.as_ref().map(|o| o.value.clone()),
        }
    }
}

/// Where a message is in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Decided, not yet accepted by SES.
    Pending,
    /// Accepted by SES.
    Sent,
    /// Refused by SES for good.
    Failed,
}

/// Who holds a pending message, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The invocation holding it.
    pub owner: String,
    /// When the relay may take it over.
    pub until: DateTime<Utc>,
}

/// A message item: the outbox entry while pending, the log of what was sent afterwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageItem {
    /// `CUSTOMER#<id>`.
    pub pk: String,
    /// `MSG#<decided at>#<message id>`.
    pub sk: String,
    /// Always `message`.
    pub entity: String,
    /// The message id.
    pub message_id: String,
    /// Its kind.
    pub kind: MessageKind,
    /// The customer.
    pub customer_id: CustomerId,
    /// The order it is about.
    pub order_id: Option<OrderId>,
    /// Its subject.
    pub subject: String,
    /// What caused it (`event:<event id>`).
    pub trigger: String,
    /// Why it was sent.
    pub reason: String,
    /// When it was decided.
    pub decided_at: DateTime<Utc>,
    /// Where it is.
    pub status: MessageStatus,
    /// How many times a sender took it.
    pub attempts: u32,
    /// The current holder, while pending.
    pub lease_owner: Option<String>,
    /// Until when the holder has it (fixed-width UTC text, so it compares as it sorts).
    pub lease_until: Option<String>,
    /// Due-index partition, while pending.
    pub due_bucket: Option<String>,
    /// Due-index sort key, while pending.
    pub due_at: Option<String>,
    /// When SES accepted it.
    pub sent_at: Option<DateTime<Utc>>,
    /// SES's message id.
    pub ses_message_id: Option<String>,
    /// Why SES refused it, or why the last attempt failed.
    pub last_error: Option<String>,
    /// The rendered message, kept until it is sent.
    pub content: Option<OutgoingMessage>,
    /// A call for a person that goes out with this message (the watchdog's).
    #[serde(default)]
    pub handoff: Option<aftercare_journey::followups::Handoff>,
    /// Whether that call has been published.
    #[serde(default)]
    pub handoff_published: bool,
    /// When DynamoDB may delete the log entry (epoch seconds).
    pub expires_at: Option<i64>,
    /// What SES reported after sending, each at its first report.
    #[serde(flatten)]
    pub delivery: DeliveryReport,
}

/// What SES reported about a sent message: for each event, the time of the first report
/// processed. A repeated event leaves it in place; one processed out of order records the time
/// of the report processed first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryReport {
    /// The receiving server accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Delivery is delayed (SES keeps trying).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delayed_at: Option<DateTime<Utc>>,
    /// It bounced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounced_at: Option<DateTime<Utc>>,
    /// The recipient marked it as spam.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complained_at: Option<DateTime<Utc>>,
    /// SES rejected it (a virus found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_at: Option<DateTime<Utc>>,
    /// It was opened (as far as a tracking pixel can tell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<DateTime<Utc>>,
    /// A link in it was followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clicked_at: Option<DateTime<Utc>>,
    /// The customer answered it: followed one of its rating links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responded_at: Option<DateTime<Utc>>,
}

/// One thing SES reported about a message, for [`JourneyStore::record_delivery`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryEvent {
    /// Accepted by the receiving server.
    Delivered,
    /// Delayed.
    Delayed,
    /// Bounced.
    Bounced,
    /// Marked as spam.
    Complained,
    /// Rejected by SES.
    Rejected,
    /// Opened.
    Opened,
    /// A link followed.
    Clicked,
    /// A rating link followed: clicked, and answered.
    Responded,
}

impl DeliveryEvent {
    /// In words, for reports (`delivered`, `responded`).
    pub fn name(self) -> &'static str {
        match self {
            DeliveryEvent::Delivered => "delivered",
            DeliveryEvent::Delayed => "delayed",
            DeliveryEvent::Bounced => "bounced",
            DeliveryEvent::Complained => "complained",
            DeliveryEvent::Rejected => "rejected",
            DeliveryEvent::Opened => "opened",
            DeliveryEvent::Clicked => "clicked",
            DeliveryEvent::Responded => "responded",
        }
    }

    fn attributes(self) -> &'static [&'static str] {
        match self {
            DeliveryEvent::Delivered => &["delivered_at"],
            DeliveryEvent::Delayed => &["delayed_at"],
            DeliveryEvent::Bounced => &["bounced_at"],
            DeliveryEvent::Complained => &["complained_at"],
            DeliveryEvent::Rejected => &["rejected_at"],
            DeliveryEvent::Opened => &["opened_at"],
            DeliveryEvent::Clicked => &["clicked_at"],
            DeliveryEvent::Responded => &["clicked_at", "responded_at"],
        }
    }
}

/// A fixed-width UTC timestamp (`2026-11-23T10:05:00.000Z`) that sorts as it compares.
pub fn sortable_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The due-index partition for work due at `at`, spread by `seed` over [`DUE_SHARDS`].
pub fn due_bucket(at: DateTime<Utc>, seed: &str) -> String {
    let shard = seed.bytes().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    }) % DUE_SHARDS;
    format!("{}#{shard}", at.format("%Y-%m-%dT%H"))
}

/// The stored form of a profile written over the version `read_version` it was read at (it
/// becomes `read_version + 1`).
pub(crate) fn profile_item(
    profile: &Profile,
    read_version: u64,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    to_item(&ProfileItem {
        pk: customer_pk(&profile.customer_id),
        sk: "PROFILE".into(),
        entity: "profile".into(),
        version: read_version + 1,
        profile: profile.clone(),
    })
}

/// The partition key of a customer.
pub fn customer_pk(customer: &CustomerId) -> String {
    format!("CUSTOMER#{customer}")
}

/// The sort key of a message.
pub fn message_sk(message: &OutgoingMessage) -> String {
    crate::reference::MessageReference::of(message).sort_key()
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

#[derive(Serialize, Deserialize)]
struct ProfileItem {
    pk: String,
    sk: String,
    entity: String,
    version: u64,
    profile: Profile,
}

#[derive(Serialize, Deserialize)]
struct OrderItem {
    pk: String,
    sk: String,
    entity: String,
    version: u64,
    order: Order,
}

#[derive(Serialize, Deserialize)]
struct EventItem {
    pk: String,
    sk: String,
    entity: String,
    #[serde(flatten)]
    marker: EventMarker,
    expires_at: i64,
}

/// Where a follow-up is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpStatus {
    /// Waiting to fall due.
    Scheduled,
    /// Taken by a sweep, until `claim_until`.
    Claimed,
    /// Set aside after a failure that will not heal (see `last_error`); out of the due index.
    Failed,
}

/// A planned follow-up as stored: `FOLLOWUP#<key>` in the customer's partition, in the due
/// index while it waits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUpItem {
    /// `CUSTOMER#<id>`.
    pub pk: String,
    /// `FOLLOWUP#<key>`.
    pub sk: String,
    /// Always `followup`.
    pub entity: String,
    /// Waiting or taken.
    pub status: FollowUpStatus,
    /// The plan.
    pub follow_up: FollowUp,
    /// Due-index partition, while it waits.
    pub due_bucket: Option<String>,
    /// Due-index sort key: when it falls due, while it waits.
    pub due_at: Option<String>,
    /// The sweep holding it, while claimed.
    pub claimed_by: Option<String>,
    /// Until when that sweep holds it.
    pub claim_until: Option<String>,
    /// Why it failed, if it did.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// The sort key of a follow-up.
pub fn follow_up_sk(key: &str) -> String {
    format!("FOLLOWUP#{key}")
}

/// The stored form of a plan written at `written_at` (wall clock). Its due-index partition is
/// never earlier than the hour it is written in, so a follow-up planned for a time already
/// past (an old event arriving late) is still in a partition the sweep has yet to read.
pub fn follow_up_item(follow_up: &FollowUp, written_at: DateTime<Utc>) -> FollowUpItem {
    FollowUpItem {
        pk: customer_pk(&follow_up.customer_id),
        sk: follow_up_sk(&follow_up.key),
        entity: "followup".into(),
        status: FollowUpStatus::Scheduled,
        follow_up: follow_up.clone(),
        due_bucket: Some(due_bucket(
            follow_up.due_at.max(written_at),
            follow_up.customer_id.as_str(),
        )),
        due_at: Some(sortable_time(follow_up.due_at)),
        claimed_by: None,
        claim_until: None,
        last_error: None,
    }
}

/// A decision not to send now (or a record of a send), kept on the journey with its reason:
/// `LOG#<when>#<follow-up key>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// `CUSTOMER#<id>`.
    pub pk: String,
    /// `LOG#<when>#<key>`.
    pub sk: String,
    /// Always `decision`.
    pub entity: String,
    /// When it was decided.
    pub at: DateTime<Utc>,
    /// The message kind concerned.
    pub kind: MessageKind,
    /// The follow-up's key.
    pub key: String,
    /// `sent`, `deferred`, `withheld` or `cancelled`.
    pub decision: String,
    /// Why.
    pub reason: String,
    /// The message sent, if one was.
    pub message_id: Option<String>,
    /// When it goes instead, if deferred.
    pub until: Option<DateTime<Utc>>,
    /// When DynamoDB may delete the record (epoch seconds).
    pub expires_at: i64,
}

/// The sort key of a decision record.
pub fn decision_sk(at: DateTime<Utc>, key: &str) -> String {
    format!("LOG#{}#{key}", at.format("%Y%m%dT%H%M%S%.3fZ"))
}

/// Why an order event's decision was not written.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The event was already applied (its marker exists).
    #[error("the event was already applied")]
    Duplicate,
    /// The profile or order changed since they were read; read again and decide again.
    #[error("the journey changed since it was read")]
    Conflict,
    /// DynamoDB failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One item of a customer's journey, as [`JourneyStore::journey`] returns it.
// A read model for tests, the demo and operators: one profile per journey, so the profile
// variant's size costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum JourneyItem {
    /// The profile.
    Profile(Versioned<Profile>),
    /// An order.
    Order(Versioned<Order>),
    /// A message (pending, sent or failed).
    Message(Box<MessageItem>),
    /// A processed event.
    Event(EventMarker),
    /// A planned follow-up.
    FollowUp(Box<FollowUpItem>),
    /// A recorded decision.
    Decision(Box<DecisionRecord>),
}

/// The journey table.
#[derive(Debug, Clone)]
pub struct JourneyStore {
    client: Client,
    table: String,
    reads: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl JourneyStore {
    /// A store over `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            reads: Default::default(),
        }
    }

    /// How many read requests (GetItem, BatchGetItem, Query pages) this store has made: what
    /// the sweep's cost is measured in.
    pub fn read_requests(&self) -> usize {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn count_read(&self) {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The DynamoDB client.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Reads the profile, the order and the event's marker in one strongly consistent
    /// BatchGetItem (keys the service leaves unprocessed under throttling are asked again).
    pub async fn load_for_event(
        &self,
        customer: &CustomerId,
        order: &OrderId,
        event: &EventId,
    ) -> Result<LoadedJourney, StoreError> {
        let pk = customer_pk(customer);
        self.batch_load(vec![
            key(&pk, "PROFILE"),
            key(&pk, &format!("ORDER#{order}")),
            key(&pk, &format!("EVENT#{event}")),
        ])
        .await
    }

    /// Reads the profile and, if given, the order, in one strongly consistent BatchGetItem.
    pub async fn load_profile_and_order(
        &self,
        customer: &CustomerId,
        order: Option<&OrderId>,
    ) -> Result<LoadedJourney, StoreError> {
        let pk = customer_pk(customer);
        let mut keys = vec![key(&pk, "PROFILE")];
        if let Some(order) = order {
            keys.push(key(&pk, &format!("ORDER#{order}")));
        }
        self.batch_load(keys).await
    }

    /// One strongly consistent BatchGetItem of profile, order and marker keys, asking again
    /// for keys the service leaves unprocessed.
    async fn batch_load(
        &self,
        mut keys: Vec<HashMap<String, AttributeValue>>,
    ) -> Result<LoadedJourney, StoreError> {
        let mut loaded = LoadedJourney::default();
        for round in 0..6u32 {
            if keys.is_empty() {
                return Ok(loaded);
            }
            if round > 0 {
                tokio::time::sleep(StdDuration::from_millis(25 << round)).await;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut keys)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::corrupt("BatchGetItem", e.to_string()))?;
            self.count_read();
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| StoreError::sdk_error("BatchGetItem", &e))?;
            for item in output
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
                match item
                    .get("entity")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                {
                    Some("profile") => {
                        let record: ProfileItem = from_item("BatchGetItem", item)?;
                        loaded.profile = Some(Versioned {
                            value: record.profile,
                            version: record.version,
                        });
                    }
                    Some("order") => {
                        let record: OrderItem = from_item("BatchGetItem", item)?;
                        loaded.order = Some(Versioned {
                            value: record.order,
                            version: record.version,
                        });
                    }
                    Some("event") => {
                        let record: EventItem = from_item("BatchGetItem", item)?;
                        loaded.marker = Some(record.marker);
                    }
                    other => {
                        return Err(StoreError::corrupt(
                            "BatchGetItem",
                            format!("unexpected entity {other:?}"),
                        ))
                    }
                }
            }
            if let Some(unprocessed) = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
            {
                keys = unprocessed.keys;
            }
        }
        Err(StoreError {
            operation: "BatchGetItem",
            retry: Retry::Transient,
            detail: "keys left unprocessed after 6 rounds".into(),
        })
    }

    /// Writes an order event's decision, made by invocation `owner`, in one TransactWriteItems:
    /// the event marker (only if absent), the profile and the order (only if still at the
    /// versions read), and the message as a pending outbox entry held by `lease` (which is
    /// `owner`'s, or the scheduled holder's for a message that waits). Returns the entry
    /// written, if any.
    #[allow(clippy::too_many_arguments)]
    pub async fn commit_order_event(
        &self,
        loaded: &LoadedJourney,
        event: &OrderEvent,
        decision: &OrderEventDecision,
        lease: &Lease,
        owner: &str,
        processed_at: DateTime<Utc>,
    ) -> Result<Option<MessageItem>, CommitError> {
        let pk = customer_pk(&event.customer.id);
        let message_item = decision
            .message
            .as_ref()
            .map(|m| pending_message_item(m, lease));
        let marker = EventItem {
            pk: pk.clone(),
            sk: format!("EVENT#{}", event.event_id),
            entity: "event".into(),
            marker: EventMarker {
                event_id: event.event_id.clone(),
                applied: decision.applied,
                note: decision.note.clone(),
                message_sk: message_item.as_ref().map(|m| m.sk.clone()),
                processed_at,
                processed_by: Some(owner.to_owned()),
            },
            expires_at: processed_at.plus(EVENT_MARKER_TTL).timestamp(),
        };
        let profile = ProfileItem {
            pk: pk.clone(),
            sk: "PROFILE".into(),
            entity: "profile".into(),
            version: loaded.profile.as_ref().map_or(1, |p| p.version + 1),
            profile: decision.profile.clone(),
        };
        let order = OrderItem {
            pk: pk.clone(),
            sk: format!("ORDER#{}", event.order_id),
            entity: "order".into(),
            version: loaded.order.as_ref().map_or(1, |o| o.version + 1),
            order: decision.order.clone(),
        };
        let mut items = vec![
            self.put(to_item(&marker)?, "attribute_not_exists(pk)", None)?,
            self.put(
                to_item(&profile)?,
                version_condition(&loaded.profile),
                loaded.profile.as_ref().map(|p| p.version),
            )?,
            self.put(
                to_item(&order)?,
                version_condition(&loaded.order),
                loaded.order.as_ref().map(|o| o.version),
            )?,
        ];
        if let Some(message) = &message_item {
            items.push(self.put(to_item(message)?, "attribute_not_exists(pk)", None)?);
        }
        items.extend(self.follow_up_writes(&pk, &decision.follow_ups, processed_at)?);
        match self.transact(items).await {
            Ok(()) => Ok(message_item),
            // The event's marker exists: it was applied before.
            Err(Refused::Condition(0)) => Err(CommitError::Duplicate),
            Err(Refused::Condition(_)) => Err(CommitError::Conflict),
            Err(Refused::Other(error)) => Err(error),
        }
    }

    /// Applies `writes` in one TransactWriteItems carrying a `ClientRequestToken` derived from
    /// them ([`crate::request_token`]). When the outcome is unknown (the SDK's attempts timed
    /// out, the connection dropped, or DynamoDB answered 5xx), the same transaction is sent
    /// again once with the same token: DynamoDB then applies it if the first did not land, and
    /// answers success without applying it again if it did, so a lost answer is never taken
    /// for a conflict with what this very call wrote. A cancelled transaction is told apart by
    /// its reasons: the first write whose condition failed, or else a conflict with another
    /// transaction (retry at once), throttling (transient) or anything else (permanent).
    pub(crate) async fn transact(&self, writes: Vec<TransactWriteItem>) -> Result<(), Refused> {
        let token = crate::request_token::transaction_token(&writes);
        let mut resends_left = UNCERTAIN_RESENDS;
        let error = loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .client_request_token(&token)
                .send()
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(error) if resends_left > 0 && outcome_unknown(&error) => {
                    resends_left -= 1;
                    tracing::info!(error = %describe(&error), "transaction outcome unknown; sending it again with its token");
                    tokio::time::sleep(StdDuration::from_millis(100)).await;
                }
                Err(error) => break error,
            }
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            error.as_service_error()
        else {
            return Err(Refused::Other(CommitError::Store(StoreError::sdk_error(
                "TransactWriteItems",
                &error,
            ))));
        };
        let codes: Vec<&str> = cancelled
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None"))
            .collect();
        if let Some(position) = codes.iter().position(|c| *c == "ConditionalCheckFailed") {
            return Err(Refused::Condition(position));
        }
        if codes.is_empty() || codes.contains(&"TransactionConflict") {
            return Err(Refused::Other(CommitError::Conflict));
        }
        let transient = codes.iter().any(|c| {
            matches!(
                *c,
                "ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded"
            )
        });
        Err(Refused::Other(CommitError::Store(StoreError {
            operation: "TransactWriteItems",
            retry: if transient {
                Retry::Transient
            } else {
                Retry::Permanent
            },
            detail: format!("transaction cancelled: {codes:?}"),
        })))
    }

    pub(crate) fn put(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: &str,
        expected_version: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some(version) = expected_version {
            put =
                put.expression_attribute_values(":version", AttributeValue::N(version.to_string()));
        }
        let put = put
            .build()
            .map_err(|e| StoreError::corrupt("TransactWriteItems", e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The writes that carry out a decision's follow-up changes: each plan is put (replacing an
    /// earlier plan of the same key), each cancellation deletes the plan and records why.
    pub(crate) fn follow_up_writes(
        &self,
        pk: &str,
        changes: &FollowUpChanges,
        written_at: DateTime<Utc>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut writes = Vec::new();
        for follow_up in &changes.planned {
            writes.push(self.put_plain(to_item(&follow_up_item(follow_up, written_at))?)?);
        }
        for cancelled in &changes.cancelled {
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(pk, &follow_up_sk(&cancelled.key))))
                .build()
                .map_err(|e| StoreError::corrupt("TransactWriteItems", e.to_string()))?;
            writes.push(TransactWriteItem::builder().delete(delete).build());
            let record = DecisionRecord {
                pk: pk.to_owned(),
                sk: decision_sk(written_at, &cancelled.key),
                entity: "decision".into(),
                at: written_at,
                kind: cancelled.kind.message_kind(),
                key: cancelled.key.clone(),
                decision: "cancelled".into(),
                reason: cancelled.reason.clone(),
                message_id: None,
                until: None,
                expires_at: written_at.plus(MESSAGE_LOG_TTL).timestamp(),
            };
            writes.push(self.put_plain(to_item(&record)?)?);
        }
        Ok(writes)
    }

    pub(crate) fn put_plain(
        &self,
        item: HashMap<String, AttributeValue>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| StoreError::corrupt("TransactWriteItems", e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Reads one message item, strongly consistent.
    pub async fn message(
        &self,
        customer: &CustomerId,
        sk: &str,
    ) -> Result<Option<MessageItem>, StoreError> {
        self.count_read();
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(&customer_pk(customer), sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::sdk_error("GetItem", &e))?;
        output
            .item
            .map(|item| from_item("GetItem", item))
            .transpose()
    }

    /// Takes a pending message whose lease has run out (or that has none) for `lease`.
    /// Returns the item as now held, or `None` if it is not pending or someone holds it. A
    /// claim that finds the message already held by this very lease (its first attempt
    /// landed, and the SDK sent it again after the answer was lost) returns it as held: the
    /// retry changes nothing, so `attempts` counts the claim once.
    pub async fn claim_message(
        &self,
        item: &MessageItem,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Option<MessageItem>, StoreError> {
        let until = sortable_time(lease.until);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&item.pk, &item.sk)))
            .update_expression("SET lease_owner = :owner, lease_until = :until, due_bucket = :bucket, due_at = :until, attempts = attempts + :one")
            .condition_expression("#status = :pending AND (attribute_not_exists(lease_until) OR lease_until < :now)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":owner", s(&lease.owner))
            .expression_attribute_values(":until", s(&until))
            .expression_attribute_values(":bucket", s(due_bucket(lease.until, &item.message_id)))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", s(sortable_time(now)))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => output
                .attributes
                .map(|a| from_item("UpdateItem", a))
                .transpose(),
            Err(e) => match refused_update(&e) {
                // An old item that does not read is nobody's claim of ours.
                Some(current) => Ok(current
                    .and_then(|a| from_item::<MessageItem>("UpdateItem", a).ok())
                    .filter(|m| {
                        m.status == MessageStatus::Pending
                            && m.lease_owner.as_deref() == Some(lease.owner.as_str())
                            && m.lease_until.as_deref() == Some(until.as_str())
                    })),
                None => Err(StoreError::sdk_error("UpdateItem", &e)),
            },
        }
    }

    /// Records that SES accepted a message held by `owner`. Returns `false` if the lease was
    /// lost meanwhile (another sender took it over), which is logged by the caller.
    pub async fn mark_sent(
        &self,
        item: &MessageItem,
        owner: &str,
        ses_message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.finish(item, owner, "sent", "SET #status = :status, sent_at = :now, ses_message_id = :detail, finished_by = :owner, expires_at = :expires REMOVE lease_owner, lease_until, due_bucket, due_at, content", ses_message_id, now).await
    }

    /// Records that SES refused a message held by `owner` for good.
    pub async fn mark_failed(
        &self,
        item: &MessageItem,
        owner: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.finish(item, owner, "failed", "SET #status = :status, last_error = :detail, failed_at = :now, finished_by = :owner, expires_at = :expires REMOVE lease_owner, lease_until, due_bucket, due_at, content", reason, now).await
    }

    /// Notes why an attempt to send failed transiently; the message stays pending and the
    /// relay takes it once the lease runs out.
    pub async fn note_attempt_failed(
        &self,
        item: &MessageItem,
        owner: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&item.pk, &item.sk)))
            .update_expression("SET last_error = :reason")
            .condition_expression("lease_owner = :owner")
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(StoreError::sdk_error("UpdateItem", &e)),
        }
    }

    /// Moves a message held by `owner` from pending to `status`, with `detail` as its SES id
    /// (sent) or its reason (failed), and `owner` as `finished_by`. Returns `false` if another
    /// sender took it over meanwhile; `true` also when the message already stands as this very
    /// call leaves it, finished by `owner` with the same detail (the retry of a write whose
    /// answer was lost).
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        item: &MessageItem,
        owner: &str,
        status: &str,
        update: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&item.pk, &item.sk)))
            .update_expression(update)
            .condition_expression("#status = :pending AND lease_owner = :owner")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status))
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .expression_attribute_values(":detail", s(detail))
            .expression_attribute_values(
                ":expires",
                AttributeValue::N(now.plus(MESSAGE_LOG_TTL).timestamp().to_string()),
            )
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":owner", s(owner))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match refused_update(&e) {
                Some(current) => {
                    let text = |name: &str| {
                        current
                            .as_ref()
                            .and_then(|a| a.get(name))
                            .and_then(|v| v.as_s().ok())
                            .map(String::as_str)
                    };
                    let recorded = if status == "sent" {
                        text("ses_message_id")
                    } else {
                        text("last_error")
                    };
                    Ok(text("status") == Some(status)
                        && text("finished_by") == Some(owner)
                        && recorded == Some(detail))
                }
                None => Err(StoreError::sdk_error("UpdateItem", &e)),
            },
        }
    }

    /// Records what SES reported about the message at `sort_key` of `customer`: one UpdateItem
    /// that keeps the time of the first report of each event processed, so redelivered events
    /// are harmless. Returns `false` when there is no such message (never ours, or expired).
    pub async fn record_delivery(
        &self,
        customer: &CustomerId,
        sort_key: &str,
        event: DeliveryEvent,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update = event
            .attributes()
            .iter()
            .map(|name| format!("{name} = if_not_exists({name}, :at)"))
            .collect::<Vec<_>>()
            .join(", ");
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&customer_pk(customer), sort_key)))
            .update_expression(format!("SET {update}"))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", s(at.to_rfc3339()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(StoreError::sdk_error("UpdateItem", &e)),
        }
    }

    /// A customer's whole journey in one (paginated) Query: profile, orders, messages, events.
    pub async fn journey(&self, customer: &CustomerId) -> Result<Vec<JourneyItem>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            self.count_read();
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(customer_pk(customer)))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::sdk_error("Query", &e))?;
            for item in output.items.unwrap_or_default() {
                let entity = item
                    .get("entity")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                items.push(match entity.as_str() {
                    "profile" => {
                        let r: ProfileItem = from_item("Query", item)?;
                        JourneyItem::Profile(Versioned {
                            value: r.profile,
                            version: r.version,
                        })
                    }
                    "order" => {
                        let r: OrderItem = from_item("Query", item)?;
                        JourneyItem::Order(Versioned {
                            value: r.order,
                            version: r.version,
                        })
                    }
                    "message" => JourneyItem::Message(Box::new(from_item("Query", item)?)),
                    "event" => JourneyItem::Event(from_item::<EventItem>("Query", item)?.marker),
                    "followup" => JourneyItem::FollowUp(Box::new(from_item("Query", item)?)),
                    "decision" => JourneyItem::Decision(Box::new(from_item("Query", item)?)),
                    other => {
                        return Err(StoreError::corrupt(
                            "Query",
                            format!("unexpected entity {other:?}"),
                        ))
                    }
                });
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}

/// The outbox entry of a newly decided message, held by `lease` (its sender).
pub fn pending_message_item(message: &OutgoingMessage, lease: &Lease) -> MessageItem {
    let until = sortable_time(lease.until);
    MessageItem {
        pk: customer_pk(&message.customer_id),
        sk: message_sk(message),
        entity: "message".into(),
        message_id: message.id.to_string(),
        kind: message.kind,
        customer_id: message.customer_id.clone(),
        order_id: message.order_id.clone(),
        subject: message.subject.clone(),
        trigger: message.trigger.clone(),
        reason: message.reason.clone(),
        decided_at: message.decided_at,
        status: MessageStatus::Pending,
        attempts: 1,
        lease_owner: Some(lease.owner.clone()),
        lease_until: Some(until.clone()),
        due_bucket: Some(due_bucket(lease.until, message.id.as_str())),
        due_at: Some(until),
        sent_at: None,
        ses_message_id: None,
        last_error: None,
        content: Some(message.clone()),
        handoff: None,
        handoff_published: false,
        expires_at: None,
        delivery: Default::default(),
    }
}

/// The reason code of each item of a cancelled transaction, in the order the items were
/// written (`"None"` for items that did not fail).
/// Why [`JourneyStore::transact`] did not apply a transaction.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The condition of the write at this position (the first that failed) did not hold.
    Condition(usize),
    /// Anything else, as the caller reports it.
    Other(CommitError),
}

pub(crate) fn version_condition<T>(loaded: &Option<Versioned<T>>) -> &'static str {
    if loaded.is_some() {
        "version = :version"
    } else {
        "attribute_not_exists(pk)"
    }
}

/// Whether a failed call may still have been applied: its answer timed out or was lost, or
/// the service failed on its side (5xx), or the same request is still being applied.
pub(crate) fn outcome_unknown<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    error: &SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            service.raw().status().as_u16() >= 500
                || service.err().code() == Some("TransactionInProgressException")
        }
        _ => false,
    }
}

/// The item as it stood when an UpdateItem's condition failed (asked for with
/// `ReturnValuesOnConditionCheckFailure = ALL_OLD`; `Some(None)` when there was no item), or
/// `None` when the call failed otherwise.
pub(crate) fn refused_update(
    error: &SdkError<UpdateItemError, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> Option<Option<HashMap<String, AttributeValue>>> {
    match error.as_service_error() {
        Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
            Some(refused.item().cloned())
        }
        _ => None,
    }
}

pub(crate) fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    error: &SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool {
    error.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

pub(crate) fn to_item<T: Serialize>(
    value: &T,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::corrupt("serialize", e.to_string()))
}

pub(crate) fn from_item<T: for<'de> Deserialize<'de>>(
    operation: &'static str,
    item: HashMap<String, AttributeValue>,
) -> Result<T, StoreError> {
    // The item's values came from senders once: the error is named by its kind only.
    serde_dynamo::from_item(item).map_err(|e| {
        let problem = aftercare_journey::rejection::Problem::of_serde_message(&e.to_string());
        StoreError::corrupt(operation, format!("unreadable item: a value {problem}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_times_compare_as_instants() {
        let a: DateTime<Utc> = "2026-11-23T09:59:59.5Z".parse().unwrap();
        let b: DateTime<Utc> = "2026-11-23T10:00:00Z".parse().unwrap();
        assert!(sortable_time(a) < sortable_time(b));
        assert_eq!(sortable_time(b), "2026-11-23T10:00:00.000Z");
    }

    #[test]
    fn due_buckets_are_hourly_and_sharded() {
        let at: DateTime<Utc> = "2026-11-23T10:42:00Z".parse().unwrap();
        let bucket = due_bucket(at, "abc");
        assert!(bucket.starts_with("2026-11-23T10#"));
        let shards: std::collections::BTreeSet<String> =
            (0..100).map(|i| due_bucket(at, &format!("m{i}"))).collect();
        assert_eq!(shards.len(), DUE_SHARDS as usize);
    }
}
