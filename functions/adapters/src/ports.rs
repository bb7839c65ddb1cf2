//! The ports the services depend on: the journey store, the mailer and the bus that carries
//! calls for a person. Each has two implementations with the same semantics: the AWS one
//! (DynamoDB, SES v2, EventBridge) and an in-memory twin for fast tests and dry runs. The
//! outbox, the sweep and every handler are generic over them (static dispatch).
//!
//! Every method returns a `Send` future, so a handler generic over these ports can run on the
//! Lambda runtime and on a multi-threaded Tokio runtime alike.

use std::future::Future;

use aftercare_journey::event::OrderEvent;
use aftercare_journey::follow_ups::FollowUpOutcome;
use aftercare_journey::handoff::Handoff;
use aftercare_journey::ids::{CustomerId, OrderId};
use aftercare_journey::message::OutgoingMessage;
use aftercare_journey::order::Order;
use aftercare_journey::order_status::OrderEventDecision;
use aftercare_journey::profile::Profile;
use chrono::{DateTime, Utc};

use crate::error::Retry;

use crate::items::{
    CommitError, DueItem, FollowUpItem, JourneyItem, Lease, MailEvent, MessageItem,
    ProfileAndOrder, StoreError,
};

/// What the functions and services need of the journey table: reads for a decision, the
/// conditional commit of a decision, the outbox's claims and marks, the due work of the
/// schedule, and SES's reports.
///
/// The contract every implementation keeps (checked by one suite run against both):
/// - a commit's conditions hold or nothing of it is written, and a lost race is reported as
///   [`CommitError::Conflict`] (read again, decide again) or [`CommitError::Duplicate`] (the
///   same work was written before);
/// - versions only grow, a sent or failed message never becomes pending again, and the
///   sweep's checkpoint is what was saved last;
/// - a claim (of a message or a follow-up) is exclusive until it runs out, and a claim or a
///   mark sent again by the same holder finds its own effect and reports success;
/// - the due index lists, per hour partition, what is due by the given instant.
pub trait JourneyStore: Send + Sync {
    /// The profile and, if given, the order, read together (strongly consistent).
    fn load_profile_and_order(
        &self,
        customer: &CustomerId,
        order: Option<&OrderId>,
    ) -> impl Future<Output = Result<ProfileAndOrder, StoreError>> + Send;

    /// Writes an order event's decision, made by invocation `owner`, all or nothing: the profile
    /// and the order (only if still at the versions in `loaded`; the order's timeline records
    /// the event, so a second commit of one event is refused as a conflict and the read after
    /// it finds the event decided), the follow-up changes, and the message as a pending outbox
    /// entry held by `lease`. Returns the entry written, if any. [`CommitError::Conflict`] when
    /// the profile or order moved; [`CommitError::Duplicate`] when the message exists.
    #[allow(clippy::too_many_arguments)]
    fn commit_order_event(
        &self,
        loaded: &ProfileAndOrder,
        event: &OrderEvent,
        decision: &OrderEventDecision,
        lease: &Lease,
        owner: &str,
        processed_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<MessageItem>, CommitError>> + Send;

    /// Writes a profile changed at `read_version`, the order the change was about (changed at
    /// the version given) if it changed, and each message as a new pending outbox entry, all or
    /// nothing. [`CommitError::Conflict`] when the profile or the order moved;
    /// [`CommitError::Duplicate`] when one of the messages exists already.
    fn commit_profile_with_messages(
        &self,
        profile: &Profile,
        read_version: u64,
        order: Option<(&Order, u64)>,
        messages: &[MessageItem],
    ) -> impl Future<Output = Result<(), CommitError>> + Send;

    /// One message item, strongly consistent.
    fn message(
        &self,
        customer: &CustomerId,
        sk: &str,
    ) -> impl Future<Output = Result<Option<MessageItem>, StoreError>> + Send;

    /// Takes a pending message whose lease ran out by `now` (or that has none) for `lease`.
    /// The item as now held, or `None` if it is not pending or someone holds it; the same
    /// claim sent again returns the item as held and counts one attempt.
    fn claim_message(
        &self,
        item: &MessageItem,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<MessageItem>, StoreError>> + Send;

    /// Records that the mailer accepted a message held by `owner`, with the mailer's id.
    /// `false` if another sender holds it now; `true` also when it already stands so.
    fn mark_sent(
        &self,
        item: &MessageItem,
        owner: &str,
        ses_message_id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records that the mailer refused a message held by `owner` for good, with the reason.
    /// `false` if another sender holds it now; `true` also when it already stands so.
    fn mark_failed(
        &self,
        item: &MessageItem,
        owner: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Notes why an attempt by `owner` failed for now; the message stays pending.
    fn note_attempt_failed(
        &self,
        item: &MessageItem,
        owner: &str,
        reason: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records that the handoff riding with a message held by `owner` was published.
    fn mark_handoff_published(
        &self,
        item: &MessageItem,
        owner: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records what SES reported about the message at `sort_key` of `customer`, keeping the
    /// time of the first report of each event. `false` when there is no such message.
    fn record_mail_event(
        &self,
        customer: &CustomerId,
        sort_key: &str,
        event: MailEvent,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Everything in one due-index partition (`<yyyy-mm-ddThh>#<shard>`) due by `now`.
    fn due_items(
        &self,
        bucket: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<DueItem>, StoreError>> + Send;

    /// Takes a due follow-up for `owner` until `until`, if it is still scheduled at the due
    /// time seen or its claim ran out by `wall_now`; files it under the hour `until` falls in.
    fn claim_follow_up(
        &self,
        item: &FollowUpItem,
        owner: &str,
        until: DateTime<Utc>,
        wall_now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<FollowUpItem>, StoreError>> + Send;

    /// Writes a follow-up decision all or nothing: the profile (at `profile_version`), the
    /// follow-up moved, replaced or removed (only while `lease.owner` holds it), and for a send
    /// the pending message (the send's record), for any other decision its record. Returns the
    /// message entry, if any.
    fn commit_follow_up(
        &self,
        profile_version: u64,
        held: &FollowUpItem,
        outcome: &FollowUpOutcome,
        now: DateTime<Utc>,
        lease: &Lease,
        written_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<MessageItem>, CommitError>> + Send;

    /// Marks an item of the due index failed with `reason` and takes it out of the index.
    fn set_aside(
        &self,
        pk: &str,
        sk: &str,
        reason: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The earliest hour the sweep still has to read, if a sweep has run.
    fn sweep_checkpoint(
        &self,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>, StoreError>> + Send;

    /// Records the earliest hour the next sweep has to read.
    fn save_sweep_checkpoint(
        &self,
        hour: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A customer's whole journey: profile, orders, messages, events, follow-ups, decisions.
    fn customer_items(
        &self,
        customer: &CustomerId,
    ) -> impl Future<Output = Result<Vec<JourneyItem>, StoreError>> + Send;

    /// How many read requests this store has made (what the sweep's cost is measured in).
    fn read_requests(&self) -> usize;
}

/// Sends one rendered message.
pub trait Mailer: Send + Sync {
    /// Sends `message`: the mailer's message id, or a failure classified as one that may heal
    /// ([`SendError::Transient`]) or not ([`SendError::Rejected`]).
    fn send(
        &self,
        message: &OutgoingMessage,
    ) -> impl Future<Output = Result<String, SendError>> + Send;
}

/// Publishes the calls for a person that ride with messages.
pub trait HandoffBus: Send + Sync {
    /// Publishes `handoff`, identified by the message it rides with (`message_id`), so a
    /// repeat is recognisable downstream.
    fn publish_handoff(
        &self,
        handoff: &Handoff,
        message_id: &str,
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}

/// Why a mailer did not take a message (SES's reasons, classified).
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// It may take it later: throttling, a 5xx, a timeout, a paused account, a missing
    /// configuration set. The message stays in the outbox.
    #[error("SES could not take the message now: {0}")]
    Transient(String),
    /// It will never take it (a rejected recipient or content). The message is marked failed.
    #[error("SES refused the message: {0}")]
    Rejected(String),
}

/// Why a handoff was not published.
#[derive(Debug, thiserror::Error)]
#[error("publishing {detail_type} failed ({retry:?}): {detail}")]
pub struct PublishError {
    /// The event's detail-type.
    pub detail_type: &'static str,
    /// Whether it may work later.
    pub retry: Retry,
    /// What went wrong.
    pub detail: String,
}
