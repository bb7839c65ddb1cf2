//! The journey table's item layout, shared by every store (DynamoDB and the in-memory twin):
//! the records, their keys, the due index's buckets, leases, and the errors of a store.
//!
//! | item | `pk` | `sk` | what it holds |
//! |---|---|---|---|
//! | profile | `CUSTOMER#<id>` | `PROFILE` | contact, consent, counters, `version` |
//! | order | `CUSTOMER#<id>` | `ORDER#<order id>` | status, timeline (every event decided for the order: the idempotency record), `version` |
//! | message | `CUSTOMER#<id>` | `MSG#<decided at>#<message id>` | the outbox entry, then the log of what was sent |
//! | follow-up | `CUSTOMER#<id>` | `FOLLOWUP#<key>` | a planned follow-up, in the due index while it waits |
//! | decision | `CUSTOMER#<id>` | `LOG#<when>#<key>` | a follow-up decision and its reason |
//!
//! Items of earlier releases still read: `EVENT#<event id>` markers (expiring within 35 days of
//! their event) and `LOG#` records of cancellations an order event made.
//!
//! A pending message also carries `due_bucket` (`<yyyy-mm-ddThh>#<shard>`) and `due_at`, the
//! keys of the sparse `due` index, so the relay finds messages whose lease ran out without a
//! scan; both are removed once the message is sent or failed. The access patterns are in
//! `infra/README.md`.

use aftercare_journey::contact::{EmailAddress, Language};
use aftercare_journey::event::OrderEvent;
use aftercare_journey::follow_ups::{
    follow_up_key_of, follow_up_trigger, FollowUp, FollowUpDecision, FollowUpOutcome,
};
use aftercare_journey::frame::lay_out;
use aftercare_journey::handoff::Handoff;
use aftercare_journey::ids::{CustomerId, EventId, OrderId};
use aftercare_journey::message::{Draft, Envelope, MessageId, MessageKind, OutgoingMessage};
use aftercare_journey::order::{Order, TimelineEntry};
use aftercare_journey::order_status::BeforeEvent;
use aftercare_journey::order_status::OrderEventDecision;
use aftercare_journey::profile::Profile;
use aftercare_journey::render::RenderError;
use aftercare_journey::settings::Settings;
use aftercare_journey::text::Text;
use aftercare_journey::time_shift::Shift;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::Retry;

/// The name of the sparse index of due work.
pub const DUE_INDEX: &str = "due_keys";
/// How many partitions each hour of due work is spread over, so no partition is hot.
pub const DUE_SHARDS: u32 = 4;
/// How long the log of a sent message is kept.
pub const MESSAGE_LOG_TTL: Duration = Duration::days(400);

/// A failure of the journey store, named by the DynamoDB operation that failed (or that the
/// twin stands in for), with whether it may heal.
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

/// What a processed event left behind, as releases before the order's timeline was the record
/// of applied events wrote it (`EVENT#<event id>`, expiring 35 days after it was processed).
/// Such markers still read; nothing writes them now.
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

/// The profile and the order as one strongly consistent read found them (with the versions a
/// commit expects): what an order event is decided from. The order is read only when asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileAndOrder {
    /// The profile, if the customer is known.
    pub profile: Option<Versioned<Profile>>,
    /// The order, if known.
    pub order: Option<Versioned<Order>>,
}

impl ProfileAndOrder {
    /// The order's timeline entry for `event`, if the event was decided for it before: the
    /// record that makes applying an event idempotent (see [`Order::entry_of`]).
    pub fn decided_before(&self, event: &EventId) -> Option<&TimelineEntry> {
        self.order.as_ref()?.value.entry_of(event)
    }

    /// What the store held before the event, as the domain's order rules take it: the profile
    /// and the order without their versions.
    pub fn before_event(&self) -> BeforeEvent {
        BeforeEvent {
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

/// Who holds a pending message, and until when. A message that waits on purpose (until the
/// end of the customer's quiet hours) is held by [`Lease::SCHEDULED_HOLDER`] until it may go.
/// A message item stores the lease as `lease_owner` and `lease_until`, the latter as
/// [`sortable_time`] text; [`Lease::of`] reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The invocation holding it.
    pub owner: String,
    /// When the relay may take it over.
    pub until: DateTime<Utc>,
}

impl Lease {
    /// The holder of a message that waits on purpose: its lease ends when it may be sent.
    pub const SCHEDULED_HOLDER: &'static str = "scheduled";

    /// The lease of a message that waits on purpose until `until`.
    pub fn scheduled(until: DateTime<Utc>) -> Self {
        Self {
            owner: Self::SCHEDULED_HOLDER.to_owned(),
            until,
        }
    }

    /// The lease `item` is held by, if it has one whose end reads.
    pub fn of(item: &MessageItem) -> Option<Self> {
        Some(Self {
            owner: item.lease_owner.clone()?,
            until: Self::parse_until(item.lease_until.as_deref()?)?,
        })
    }

    /// Whether the message waits on purpose rather than for a sender.
    pub fn is_scheduled(&self) -> bool {
        self.owner == Self::SCHEDULED_HOLDER
    }

    /// The stored form of its end: [`sortable_time`], so it compares as it sorts.
    pub fn stored_until(&self) -> String {
        sortable_time(self.until)
    }

    /// Reads the stored form of a lease's end; `None` if it does not read.
    pub fn parse_until(text: &str) -> Option<DateTime<Utc>> {
        text.parse().ok()
    }
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    /// SES's message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ses_message_id: Option<String>,
    /// Why SES refused it, or why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// What the message is laid out from, kept until it is sent: the recipient and the draft,
    /// not the laid-out bodies (see [`MessageItem::outgoing`]), stored compressed (see
    /// `compressed_content`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::compressed_content"
    )]
    pub content: Option<PendingContent>,
    /// A call for a person that goes out with this message (the watchdog's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<Handoff>,
    /// Whether that call has been published.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub handoff_published: bool,
    /// When DynamoDB may delete the log entry (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// What SES reported after sending, each at its first report.
    #[serde(flatten)]
    pub mail: MailReport,
}

/// What a pending message keeps to be sent: its recipient and its [`Draft`], from which the
/// subject, the text and the HTML are laid out again at sending in the frame the shop's
/// settings give it, byte for byte as decided while the settings are the same. The rest of the
/// message (its id, kind, cause and reason) is on the item itself; the frame (support, footer,
/// preferences link) and the unsubscribe headers are made again from the settings. A draft is a
/// fraction of the laid-out bodies, so the pending item stays within one write unit.
///
/// Items written before the frame was left out of the draft still read: the frame, the shop's
/// name and the unsubscribe headers they kept are ignored and made again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingContent {
    /// The recipient's address.
    pub to: EmailAddress,
    /// The recipient's name, for the `To` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_name: Option<Text>,
    /// The language it is written in.
    pub language: Language,
    /// What it is laid out from.
    pub draft: Draft,
}

impl PendingContent {
    /// What the outbox keeps of `message`.
    pub fn of(message: &OutgoingMessage) -> Self {
        Self {
            to: message.to.clone(),
            to_name: message.to_name.clone(),
            language: message.language,
            draft: message.draft.clone(),
        }
    }
}

/// Why a pending message could not be laid out again for sending.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// The item's message id is not one a decision makes.
    #[error("message {0:?} has no valid message id")]
    MessageId(String),
    /// The layout failed (a bug of the templates: tests lay out every kind).
    #[error(transparent)]
    Render(#[from] RenderError),
}

impl MessageItem {
    /// The message as decided, laid out again from its kept draft in the frame `settings` give
    /// it; `None` once sent or failed (the content is dropped then), or for an entry that only
    /// carries a call for a person.
    pub fn outgoing(&self, settings: &Settings) -> Result<Option<OutgoingMessage>, LayoutError> {
        let Some(content) = &self.content else {
            return Ok(None);
        };
        let id = MessageId::from_hex(&self.message_id)
            .ok_or_else(|| LayoutError::MessageId(self.message_id.clone()))?;
        let envelope = Envelope {
            id,
            kind: self.kind,
            customer_id: self.customer_id.clone(),
            order_id: self.order_id.clone(),
            to: content.to.clone(),
            to_name: content.to_name.clone(),
            language: content.language,
            trigger: self.trigger.clone(),
            decided_at: self.decided_at,
            reason: self.reason.clone(),
        };
        Ok(Some(lay_out(envelope, content.draft.clone(), settings)?))
    }
}

/// What SES reported about a sent message: for each event, the time of the first report
/// processed. A repeated event leaves it in place; one processed out of order records the time
/// of the report processed first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailReport {
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

/// One thing SES reported about a message, for [`crate::ports::JourneyStore::record_mail_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailEvent {
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

impl MailEvent {
    /// In words, for reports (`delivered`, `responded`).
    pub fn name(self) -> &'static str {
        match self {
            MailEvent::Delivered => "delivered",
            MailEvent::Delayed => "delayed",
            MailEvent::Bounced => "bounced",
            MailEvent::Complained => "complained",
            MailEvent::Rejected => "rejected",
            MailEvent::Opened => "opened",
            MailEvent::Clicked => "clicked",
            MailEvent::Responded => "responded",
        }
    }

    /// The fields of the report it sets (a rating link's click sets two), each at its first
    /// report.
    pub fn attributes(self) -> &'static [&'static str] {
        match self {
            MailEvent::Delivered => &["delivered_at"],
            MailEvent::Delayed => &["delayed_at"],
            MailEvent::Bounced => &["bounced_at"],
            MailEvent::Complained => &["complained_at"],
            MailEvent::Rejected => &["rejected_at"],
            MailEvent::Opened => &["opened_at"],
            MailEvent::Clicked => &["clicked_at"],
            MailEvent::Responded => &["clicked_at", "responded_at"],
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

/// The partition key of a customer.
pub fn customer_pk(customer: &CustomerId) -> String {
    format!("CUSTOMER#{customer}")
}

/// The sort key of a message.
pub fn message_sk(message: &OutgoingMessage) -> String {
    crate::reference::MessageReference::of(message).sort_key()
}

/// The sort key of the message an order event queued, from the event's entry in the order's
/// timeline (the message was decided at the entry's time); `None` if it queued none.
pub fn queued_message_sk(customer: &CustomerId, entry: &TimelineEntry) -> Option<String> {
    let id = entry.message.clone()?;
    Some(
        crate::reference::MessageReference {
            customer: customer.clone(),
            decided: crate::reference::MessageReference::decided_text(entry.occurred_at),
            message_id: id,
        }
        .sort_key(),
    )
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ProfileItem {
    pub(crate) pk: String,
    pub(crate) sk: String,
    pub(crate) entity: String,
    pub(crate) version: u64,
    pub(crate) profile: Profile,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct OrderItem {
    pub(crate) pk: String,
    pub(crate) sk: String,
    pub(crate) entity: String,
    pub(crate) version: u64,
    pub(crate) order: Order,
    /// The invocation that wrote this version of an order event's decision, as its
    /// [`writer_tag`]. It makes the commit of every invocation its own: two invocations deciding
    /// one event alike at the same instant still write (and are told) apart, since a
    /// transaction's token is a digest of what it writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) written_by: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct EventItem {
    pub(crate) pk: String,
    pub(crate) sk: String,
    pub(crate) entity: String,
    #[serde(flatten)]
    pub(crate) marker: EventMarker,
    pub(crate) expires_at: i64,
}

/// A short stand-in for the invocation `owner` on the items it writes: 16 hex digits of a
/// SHA-256 of its name, enough to tell any two invocations apart (an invocation's name is two
/// ids, some 70 bytes, on every order item otherwise).
pub(crate) fn writer_tag(owner: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(owner.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
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

/// A decision not to send now (deferred, withheld or cancelled; a send's record is its message
/// item, and records of sends written by earlier releases still read), kept on the journey with
/// its reason: `LOG#<when>#<follow-up key>`.
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
    /// `deferred`, `withheld` or `cancelled` (`sent` in records of earlier releases).
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

/// Why a decision was not written.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The same work was written before: a message the decision writes exists already (or,
    /// for a caller that checks first, the order's timeline records the event).
    #[error("the decision was written before")]
    Duplicate,
    /// The profile or order changed since they were read; read again and decide again.
    #[error("the journey changed since it was read")]
    Conflict,
    /// DynamoDB failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One item of a customer's journey, as [`crate::ports::JourneyStore::customer_items`] returns it.
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
    /// A processed event's marker, written by an earlier release.
    Event(EventMarker),
    /// A planned follow-up.
    FollowUp(Box<FollowUpItem>),
    /// A recorded decision.
    Decision(Box<DecisionRecord>),
}

/// One decision about a follow-up, as a journey shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpDecided {
    /// The follow-up's key.
    pub key: String,
    /// `sent`, `deferred`, `withheld` or `cancelled`.
    pub decision: String,
    /// Why.
    pub reason: String,
    /// When it was decided.
    pub at: DateTime<Utc>,
    /// The message it wrote: the email of a send, or the call for a person alone.
    pub message_id: Option<String>,
}

/// Every decision about a follow-up on a journey, oldest first: each decision record (deferred,
/// withheld, cancelled by the sweep, and what earlier releases recorded), each cancellation an
/// order event made (recorded in its entry of the order's timeline), and each send, whose
/// record is its message (one whose trigger names a follow-up and that no record names: a call
/// for a person that a deferred or withheld watchdog wrote alone is named by its decision's
/// record).
pub fn follow_up_decisions(items: &[JourneyItem]) -> Vec<FollowUpDecided> {
    let mut decided: Vec<FollowUpDecided> = items
        .iter()
        .filter_map(|item| match item {
            JourneyItem::Decision(record) => Some(FollowUpDecided {
                key: record.key.clone(),
                decision: record.decision.clone(),
                reason: record.reason.clone(),
                at: record.at,
                message_id: record.message_id.clone(),
            }),
            _ => None,
        })
        .collect();
    for item in items {
        if let JourneyItem::Order(order) = item {
            for entry in &order.value.timeline {
                decided.extend(entry.cancelled.iter().map(|cancelled| FollowUpDecided {
                    key: cancelled.key.clone(),
                    decision: "cancelled".into(),
                    reason: cancelled.reason.clone(),
                    at: entry.occurred_at,
                    message_id: None,
                }));
            }
        }
    }
    let recorded: std::collections::HashSet<String> = decided
        .iter()
        .filter_map(|d| d.message_id.clone())
        .collect();
    for item in items {
        if let JourneyItem::Message(message) = item {
            if let (Some(key), false) = (
                follow_up_key_of(&message.trigger),
                recorded.contains(&message.message_id),
            ) {
                decided.push(FollowUpDecided {
                    key: key.to_owned(),
                    decision: "sent".into(),
                    reason: message.reason.clone(),
                    at: message.decided_at,
                    message_id: Some(message.message_id.clone()),
                });
            }
        }
    }
    decided.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.key.cmp(&b.key)));
    decided
}

/// The outbox entry of a newly decided message, held by `lease` (its sender).
pub fn pending_message_item(message: &OutgoingMessage, lease: &Lease) -> MessageItem {
    let until = lease.stored_until();
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
        content: Some(PendingContent::of(message)),
        handoff: None,
        handoff_published: false,
        expires_at: None,
        mail: Default::default(),
    }
}

/// An outbox entry that carries only a call for a person (no email): the watchdog's email was
/// deferred or withheld, but a person should look now. Held by `lease`, decided at `now`.
pub fn handoff_only_item(
    handoff: &Handoff,
    held: &FollowUpItem,
    lease: &Lease,
    now: DateTime<Utc>,
) -> MessageItem {
    let task = &held.follow_up;
    let kind = task.kind.message_kind();
    let id = MessageId::derive(
        &task.customer_id,
        &format!("handoff#{}#{}", task.key, task.attempt),
        kind,
    );
    let until = lease.stored_until();
    MessageItem {
        pk: held.pk.clone(),
        sk: format!("MSG#{}#{id}", now.format("%Y%m%dT%H%M%SZ")),
        entity: "message".into(),
        message_id: id.to_string(),
        kind,
        customer_id: task.customer_id.clone(),
        order_id: task.order_id.clone(),
        subject: format!("HandoffRequested for order {}", handoff.order_id),
        trigger: follow_up_trigger(task),
        reason: handoff.reason.clone(),
        decided_at: now,
        status: MessageStatus::Pending,
        attempts: 1,
        lease_owner: Some(lease.owner.clone()),
        lease_until: Some(until.clone()),
        due_bucket: Some(due_bucket(lease.until, id.as_str())),
        due_at: Some(until),
        sent_at: None,
        ses_message_id: None,
        last_error: None,
        content: None,
        handoff: Some(handoff.clone()),
        handoff_published: false,
        expires_at: None,
        mail: Default::default(),
    }
}

/// What an order event's decision writes, the same for every store: the profile and the order
/// at their next versions (the order's timeline records the event, the message it queued and
/// the follow-ups it cancelled, with why), the message as a pending outbox entry held by the
/// lease, each planned follow-up, and the key of each cancelled one. Each store writes these in
/// one all-or-nothing commit with its own conditions (the profile and the order only at the
/// versions read, the message only if absent).
pub(crate) struct OrderEventWrites {
    /// The profile after the decision.
    pub(crate) profile: ProfileItem,
    /// The order after the decision.
    pub(crate) order: OrderItem,
    /// The message decided, pending.
    pub(crate) message: Option<MessageItem>,
    /// The follow-ups planned (each replaces an earlier plan of its key).
    pub(crate) planned: Vec<FollowUpItem>,
    /// The sort key of each cancelled follow-up.
    pub(crate) cancelled: Vec<String>,
}

impl OrderEventWrites {
    /// What `decision` about `event`, read as `loaded` and made by invocation `owner`, writes
    /// at `processed_at` (wall clock), its message held by `lease`.
    pub(crate) fn of(
        loaded: &ProfileAndOrder,
        event: &OrderEvent,
        decision: &OrderEventDecision,
        lease: &Lease,
        owner: &str,
        processed_at: DateTime<Utc>,
    ) -> Self {
        let pk = customer_pk(&event.customer.id);
        let message = decision
            .message
            .as_ref()
            .map(|m| pending_message_item(m, lease));
        let next_version = |read: Option<u64>| read.map_or(1, |version| version.saturating_add(1));
        let profile = ProfileItem {
            pk: pk.clone(),
            sk: "PROFILE".into(),
            entity: "profile".into(),
            version: next_version(loaded.profile.as_ref().map(|p| p.version)),
            profile: decision.profile.clone(),
        };
        let order = OrderItem {
            pk,
            sk: format!("ORDER#{}", event.order_id),
            entity: "order".into(),
            version: next_version(loaded.order.as_ref().map(|o| o.version)),
            order: decision.order.clone(),
            written_by: Some(writer_tag(owner)),
        };
        let changes = &decision.follow_ups;
        let planned = changes
            .planned
            .iter()
            .map(|follow_up| follow_up_item(follow_up, processed_at))
            .collect();
        let cancelled = changes
            .cancelled
            .iter()
            .map(|cancelled| follow_up_sk(&cancelled.key))
            .collect();
        Self {
            profile,
            order,
            message,
            planned,
            cancelled,
        }
    }
}

/// What a follow-up decision writes besides the profile, the same for every store: the
/// follow-up as it stands after the decision, a next follow-up under another key, the decision
/// record, and the message to write as pending. Each store writes these in one all-or-nothing
/// commit, with its own conditions (the follow-up only while its claim is held, the message
/// only if absent).
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUpWrites {
    /// The follow-up after the decision: moved to later (deferred), or replaced by its next
    /// attempt under the same key (sent); `None` removes it.
    pub replacement: Option<FollowUp>,
    /// A follow-up a send planned under another key.
    pub planned_elsewhere: Option<FollowUp>,
    /// The decision not to send now, with its reason, kept on the journey; `None` for a send,
    /// whose message item is its record (its kind, its trigger `follow-up:<key>#<attempt>`, its
    /// reason and when it was decided).
    pub record: Option<DecisionRecord>,
    /// The message written as pending and held by the lease: the email of a send (with the
    /// watchdog's handoff), or the handoff alone of a deferred or withheld watchdog.
    pub message: Option<MessageItem>,
}

impl FollowUpWrites {
    /// What `outcome`, decided at business time `now` for the follow-up `held`, writes at
    /// `written_at` (wall clock), its message held by `lease`.
    pub fn of(
        held: &FollowUpItem,
        outcome: &FollowUpOutcome,
        now: DateTime<Utc>,
        lease: &Lease,
        written_at: DateTime<Utc>,
    ) -> Self {
        let task = &held.follow_up;
        let (replacement, planned_elsewhere) = match &outcome.decision {
            FollowUpDecision::Defer { until, .. } => {
                let mut moved = task.clone();
                moved.due_at = *until;
                moved.handoff_raised |= outcome.handoff.is_some();
                (Some(moved), None)
            }
            FollowUpDecision::Send {
                next: Some(next), ..
            } if next.key == task.key => (Some((**next).clone()), None),
            FollowUpDecision::Send {
                next: Some(next), ..
            } => (None, Some((**next).clone())),
            _ => (None, None),
        };
        let handoff_only = || {
            outcome
                .handoff
                .as_ref()
                .map(|h| handoff_only_item(h, held, lease, now))
        };
        let (not_sent, message) = match &outcome.decision {
            FollowUpDecision::Send { message, .. } => {
                let mut item = pending_message_item(message, lease);
                item.handoff = outcome.handoff.clone();
                (None, Some(item))
            }
            FollowUpDecision::Defer { until, reason } => {
                (Some(("deferred", reason, Some(*until))), handoff_only())
            }
            FollowUpDecision::Withhold { reason } => {
                (Some(("withheld", reason, None)), handoff_only())
            }
            FollowUpDecision::Cancel { reason } => (Some(("cancelled", reason, None)), None),
        };
        let record = not_sent.map(|(decision, reason, until)| DecisionRecord {
            pk: held.pk.clone(),
            sk: decision_sk(now, &format!("{}#{}", task.key, task.attempt)),
            entity: "decision".into(),
            at: now,
            kind: task.kind.message_kind(),
            key: task.key.clone(),
            decision: decision.into(),
            reason: reason.clone(),
            message_id: message.as_ref().map(|m| m.message_id.clone()),
            until,
            expires_at: written_at.plus(MESSAGE_LOG_TTL).timestamp(),
        });
        Self {
            replacement,
            planned_elsewhere,
            record,
            message,
        }
    }
}

/// Something the due index says needs doing now.
#[derive(Debug, Clone, PartialEq)]
pub enum DueItem {
    /// A follow-up that fell due (or whose claim ran out).
    FollowUp(Box<FollowUpItem>),
    /// An outbox message waiting for a sender (a deferred send, or a lease run out).
    Message(Box<MessageItem>),
}

/// The key of the sweep's checkpoint item: the earliest hour the next sweep has to read.
pub(crate) const CHECKPOINT_PK: &str = "SWEEP";
/// See [`CHECKPOINT_PK`].
pub(crate) const CHECKPOINT_SK: &str = "CHECKPOINT";

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

/// The stored form of an order written over the version `read_version` it was read at (it
/// becomes `read_version + 1`).
pub(crate) fn order_item(
    customer: &CustomerId,
    order: &Order,
    read_version: u64,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    to_item(&OrderItem {
        pk: customer_pk(customer),
        sk: format!("ORDER#{}", order.order_id),
        entity: "order".into(),
        version: read_version + 1,
        order: order.clone(),
        written_by: None,
    })
}

/// The stored form of `value`: the attribute map every store keeps an item as.
pub(crate) fn to_item<T: Serialize>(
    value: &T,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::corrupt("serialize", e.to_string()))
}

/// `item` read back as a `T`; an item that does not read is corrupt (named by the problem's
/// kind only: its values came from senders once).
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
    fn a_writers_tag_is_short_stable_and_differs_between_invocations() {
        let a =
            writer_tag("0f6c1d2e-6a1b-4f0e-9d55-3b1f1f2c9a10/7b2e9a40-1c1d-4f2b-8f7e-9a6f1e0b3c21");
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            a,
            writer_tag("0f6c1d2e-6a1b-4f0e-9d55-3b1f1f2c9a10/7b2e9a40-1c1d-4f2b-8f7e-9a6f1e0b3c21")
        );
        assert_ne!(writer_tag("inv-a"), writer_tag("inv-b"));
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

    #[test]
    fn a_lease_reads_back_from_the_item_it_was_written_to() {
        let until: DateTime<Utc> = "2026-11-23T07:00:00Z".parse().unwrap();
        let mut item = a_message_item();
        item.lease_owner = Some(Lease::SCHEDULED_HOLDER.into());
        item.lease_until = Some(Lease::scheduled(until).stored_until());
        let lease = Lease::of(&item).unwrap();
        assert!(lease.is_scheduled());
        assert_eq!(lease, Lease::scheduled(until));
        item.lease_until = Some("not a time".into());
        assert_eq!(Lease::of(&item), None);
        item.lease_until = None;
        assert_eq!(Lease::of(&item), None);
    }

    #[test]
    fn a_senders_lease_is_not_scheduled() {
        let lease = Lease {
            owner: "inv-1".into(),
            until: "2026-11-23T07:00:00Z".parse().unwrap(),
        };
        assert!(!lease.is_scheduled());
        assert_eq!(lease.stored_until(), "2026-11-23T07:00:00.000Z");
        assert_eq!(Lease::parse_until(&lease.stored_until()), Some(lease.until));
    }

    fn a_follow_up_message(id: &str, key: &str, at: &str) -> JourneyItem {
        let mut item = a_message_item();
        item.message_id = id.into();
        item.trigger = format!("follow-up:{key}#1");
        item.reason = format!("{key} due");
        item.decided_at = at.parse().unwrap();
        JourneyItem::Message(Box::new(item))
    }

    fn a_record(key: &str, decision: &str, message_id: Option<&str>, at: &str) -> JourneyItem {
        JourneyItem::Decision(Box::new(DecisionRecord {
            pk: "CUSTOMER#c-1".into(),
            sk: decision_sk(at.parse().unwrap(), key),
            entity: "decision".into(),
            at: at.parse().unwrap(),
            kind: MessageKind::WatchdogUpdate,
            key: key.into(),
            decision: decision.into(),
            reason: format!("{decision} because"),
            message_id: message_id.map(Into::into),
            until: None,
            expires_at: 0,
        }))
    }

    #[test]
    fn a_journey_shows_each_follow_up_decision_once_whether_its_record_is_a_message_or_a_record() {
        let journey = [
            // A send: its message is its record.
            a_follow_up_message("m-review", "review#O-1", "2026-11-06T18:00:00Z"),
            // A deferred watchdog whose call for a person went out alone, named by the record.
            a_follow_up_message("m-handoff", "watchdog#O-1", "2026-11-05T09:00:00Z"),
            a_record(
                "watchdog#O-1",
                "deferred",
                Some("m-handoff"),
                "2026-11-05T09:00:00Z",
            ),
            // A send recorded by an earlier release: a record and the message it names.
            a_follow_up_message("m-old", "repurchase#TEA", "2026-11-01T09:00:00Z"),
            a_record(
                "repurchase#TEA",
                "sent",
                Some("m-old"),
                "2026-11-01T09:00:00Z",
            ),
            // A message no follow-up caused.
            JourneyItem::Message(Box::new(a_message_item())),
        ];
        let decided: Vec<(String, String, Option<String>)> = follow_up_decisions(&journey)
            .into_iter()
            .map(|d| (d.key, d.decision, d.message_id))
            .collect();
        let row = |key: &str, decision: &str, id: &str| {
            (key.to_owned(), decision.to_owned(), Some(id.to_owned()))
        };
        assert_eq!(
            decided,
            [
                row("repurchase#TEA", "sent", "m-old"),
                row("watchdog#O-1", "deferred", "m-handoff"),
                row("review#O-1", "sent", "m-review"),
            ]
        );
    }

    fn a_message_item() -> MessageItem {
        serde_json::from_value(serde_json::json!({
            "pk": "CUSTOMER#c-1", "sk": "MSG#1#m", "entity": "message", "message_id": "m",
            "kind": "order_placed", "customer_id": "c-1", "order_id": null, "subject": "s",
            "trigger": "t", "reason": "r", "decided_at": "2026-11-23T06:00:00Z",
            "status": "pending", "attempts": 1, "lease_owner": null, "lease_until": null,
            "due_bucket": null, "due_at": null, "sent_at": null, "ses_message_id": null,
            "last_error": null, "content": null, "expires_at": null
        }))
        .unwrap()
    }
}
