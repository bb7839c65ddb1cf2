//! Temporary: replaced by the DynamoDB store's own implementation of the port.
//!
//! The ports implemented by today's AWS adapters, each method delegating to the inherent one
//! of the same meaning, so the store's contract suite runs against DynamoDB before the store
//! implements [`ports::JourneyStore`] itself.

use aftercare_journey::event::OrderEvent;
use aftercare_journey::followups::{FollowUpOutcome, Handoff};
use aftercare_journey::ids::{CustomerId, EventId, OrderId};
use aftercare_journey::journey::Profile;
use aftercare_journey::message::OutgoingMessage;
use aftercare_journey::order_events::OrderEventDecision;
use chrono::{DateTime, Utc};

use crate::events::{EventBus, PublishError};
use crate::follow_up_store::DueItem;
use crate::mailer::{SendError, SesMailer};
use crate::ports;
use crate::store::{
    self, CommitError, DeliveryEvent, FollowUpItem, JourneyItem, Lease, LoadedJourney, MessageItem,
    StoreError,
};

impl ports::JourneyStore for store::JourneyStore {
    async fn load_for_event(
        &self,
        customer: &CustomerId,
        order: &OrderId,
        event: &EventId,
    ) -> Result<LoadedJourney, StoreError> {
        store::JourneyStore::load_for_event(self, customer, order, event).await
    }

    async fn load_profile_and_order(
        &self,
        customer: &CustomerId,
        order: Option<&OrderId>,
    ) -> Result<LoadedJourney, StoreError> {
        store::JourneyStore::load_profile_and_order(self, customer, order).await
    }

    async fn commit_order_event(
        &self,
        loaded: &LoadedJourney,
        event: &OrderEvent,
        decision: &OrderEventDecision,
        lease: &Lease,
        owner: &str,
        processed_at: DateTime<Utc>,
    ) -> Result<Option<MessageItem>, CommitError> {
        store::JourneyStore::commit_order_event(
            self,
            loaded,
            event,
            decision,
            lease,
            owner,
            processed_at,
        )
        .await
    }

    async fn commit_profile_with_messages(
        &self,
        profile: &Profile,
        read_version: u64,
        messages: &[MessageItem],
    ) -> Result<(), CommitError> {
        store::JourneyStore::commit_profile_with_messages(self, profile, read_version, messages)
            .await
    }

    async fn message(
        &self,
        customer: &CustomerId,
        sk: &str,
    ) -> Result<Option<MessageItem>, StoreError> {
        store::JourneyStore::message(self, customer, sk).await
    }

    async fn claim_message(
        &self,
        item: &MessageItem,
        lease: &Lease,
        now: DateTime<Utc>,
    ) -> Result<Option<MessageItem>, StoreError> {
        store::JourneyStore::claim_message(self, item, lease, now).await
    }

    async fn mark_sent(
        &self,
        item: &MessageItem,
        owner: &str,
        ses_message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        store::JourneyStore::mark_sent(self, item, owner, ses_message_id, now).await
    }

    async fn mark_failed(
        &self,
        item: &MessageItem,
        owner: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        store::JourneyStore::mark_failed(self, item, owner, reason, now).await
    }

    async fn note_attempt_failed(
        &self,
        item: &MessageItem,
        owner: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        store::JourneyStore::note_attempt_failed(self, item, owner, reason).await
    }

    async fn mark_handoff_published(
        &self,
        item: &MessageItem,
        owner: &str,
    ) -> Result<(), StoreError> {
        store::JourneyStore::mark_handoff_published(self, item, owner).await
    }

    async fn record_delivery(
        &self,
        customer: &CustomerId,
        sort_key: &str,
        event: DeliveryEvent,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        store::JourneyStore::record_delivery(self, customer, sort_key, event, at).await
    }

    async fn due_items(
        &self,
        bucket: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<DueItem>, StoreError> {
        store::JourneyStore::due_items(self, bucket, now).await
    }

    async fn claim_follow_up(
        &self,
        item: &FollowUpItem,
        owner: &str,
        until: DateTime<Utc>,
        wall_now: DateTime<Utc>,
    ) -> Result<Option<FollowUpItem>, StoreError> {
        store::JourneyStore::claim_follow_up(self, item, owner, until, wall_now).await
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
        store::JourneyStore::commit_follow_up(
            self,
            profile_version,
            held,
            outcome,
            now,
            lease,
            written_at,
        )
        .await
    }

    async fn set_aside(&self, pk: &str, sk: &str, reason: &str) -> Result<(), StoreError> {
        store::JourneyStore::set_aside(self, pk, sk, reason).await
    }

    async fn sweep_checkpoint(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        store::JourneyStore::sweep_checkpoint(self).await
    }

    async fn save_sweep_checkpoint(&self, hour: DateTime<Utc>) -> Result<(), StoreError> {
        store::JourneyStore::save_sweep_checkpoint(self, hour).await
    }

    async fn customer_items(&self, customer: &CustomerId) -> Result<Vec<JourneyItem>, StoreError> {
        store::JourneyStore::journey(self, customer).await
    }

    fn read_requests(&self) -> usize {
        store::JourneyStore::read_requests(self)
    }
}

impl ports::Mailer for SesMailer {
    async fn send(&self, message: &OutgoingMessage) -> Result<String, SendError> {
        SesMailer::send(self, message).await
    }
}

impl ports::HandoffBus for EventBus {
    async fn publish_handoff(
        &self,
        handoff: &Handoff,
        message_id: &str,
    ) -> Result<(), PublishError> {
        EventBus::publish_handoff(self, handoff, message_id).await
    }
}
