//! The outbox: every message is written as pending in the same transaction as the decision
//! that caused it, then sent, then marked sent with SES's id.
//!
//! A message is born held by the invocation that decided it (a lease until a wall-clock
//! instant). If that invocation dies before marking it, the lease runs out and the relay takes
//! it: a conditional claim lets exactly one sender hold a message at a time, so two relays, or
//! a relay and a redelivered event, never both send it. The one window left is a crash after
//! SES accepted a message and before it was marked sent: SES has no idempotency key, so that
//! message is sent again when the lease runs out. The SES client makes one attempt per send
//! for the same reason (see `aws::ses_config`).

use aftercare_journey::ids::CustomerId;
use aftercare_journey::settings::Settings;
use aftercare_journey::time_shift::Shift;
use chrono::Duration;

use crate::clock::Clock;
use crate::items::{Lease, MessageItem, MessageStatus, StoreError};
use crate::log_ids;
use crate::ports::PublishError;
use crate::ports::SendError;
use crate::ports::{HandoffBus, JourneyStore, Mailer};

/// How many times recording an accepted send is attempted (each with the SDK's own retries)
/// before the message is left to the relay, which would send it again.
pub const MARK_SENT_ATTEMPTS: u32 = 3;

/// What became of one attempt to deliver a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// SES accepted it.
    Sent {
        /// SES's message id.
        ses_message_id: String,
    },
    /// SES refused it for good; it is marked failed with the reason.
    Rejected {
        /// SES's reason.
        reason: String,
    },
    /// It is no longer pending (sent or failed already): nothing was done.
    NotOurs,
    /// It is pending but another sender holds it and its lease has not run out: nothing was
    /// done, and whoever wants it sent must try again later.
    HeldElsewhere,
    /// It waits on purpose until `until` (the end of the customer's quiet hours); the relay
    /// sends it then.
    Waiting {
        /// When it may go.
        until: chrono::DateTime<chrono::Utc>,
    },
    /// Not sent: while it waited, the customer unsubscribed from its topic or their address
    /// was suppressed. It is marked failed with the reason.
    Withheld {
        /// Why.
        reason: String,
    },
    /// Not sent now: SES could not take it (throttled, unreachable), or what was done could
    /// not be recorded. It stays pending in the outbox, and the relay takes it once its
    /// sender's lease runs out: the record that decided it has nothing left to retry.
    LeftForRelay {
        /// Why.
        reason: String,
    },
}

/// What became of the attempt, as log lines say it: our words, SES's message id, and the
/// reasons (ours, or SES's with addresses masked).
impl std::fmt::Display for SendOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendOutcome::Sent { ses_message_id } => write!(f, "sent ({ses_message_id})"),
            SendOutcome::Rejected { reason } => write!(f, "refused by SES: {reason}"),
            SendOutcome::NotOurs => f.write_str("already sent or failed"),
            SendOutcome::HeldElsewhere => f.write_str("held by another sender"),
            SendOutcome::Waiting { until } => write!(f, "waiting until {}", until.to_rfc3339()),
            SendOutcome::Withheld { reason } => write!(f, "withheld: {reason}"),
            SendOutcome::LeftForRelay { reason } => write!(f, "left for the relay: {reason}"),
        }
    }
}

impl SendOutcome {
    /// What became of an attempt that failed: left in the outbox for the relay, and logged.
    pub fn left_for_relay(item: &MessageItem, error: &DeliverError) -> Self {
        tracing::warn!(message_id = %item.message_id, customer_id = %log_ids::customer(&item.customer_id), %error,
            "message not sent now; it stays in the outbox for the relay");
        SendOutcome::LeftForRelay {
            reason: error.to_string(),
        }
    }
}

/// An attempt that may succeed later. The message stays pending.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// SES could not take it now.
    #[error(transparent)]
    Send(SendError),
    /// DynamoDB failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The handoff that goes with the message could not be published.
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// The bus of an outbox that has none: a message with a handoff waits in the outbox, its
/// attempt noted as failed, until an outbox with a bus takes it. It has no values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoBus {}

impl HandoffBus for NoBus {
    async fn publish_handoff(
        &self,
        _handoff: &aftercare_journey::handoff::Handoff,
        _message_id: &str,
    ) -> Result<(), PublishError> {
        match *self {}
    }
}

/// Sends outbox messages exactly once: held in `store`, laid out again in the frame of the
/// shop's `settings`, sent through `mailer`, their handoffs published on `bus` when there is one.
pub struct Outbox<'a, S, M, B = NoBus> {
    store: &'a S,
    mailer: &'a M,
    settings: &'a Settings,
    clock: &'a dyn Clock,
    lease: Duration,
    bus: Option<&'a B>,
}

impl<'a, S: JourneyStore, M: Mailer> Outbox<'a, S, M> {
    /// An outbox over `store` sending through `mailer` the messages of the shop `settings`
    /// describe, without a bus; a sender holds a message for `lease`.
    pub fn new(
        store: &'a S,
        mailer: &'a M,
        settings: &'a Settings,
        clock: &'a dyn Clock,
        lease: Duration,
    ) -> Self {
        Self {
            store,
            mailer,
            settings,
            clock,
            lease,
            bus: None,
        }
    }
}

impl<'a, S: JourneyStore, M: Mailer, B: HandoffBus> Outbox<'a, S, M, B> {
    /// The same outbox, publishing the handoffs that go with messages on `bus`.
    pub fn with_bus<To: HandoffBus>(self, bus: &'a To) -> Outbox<'a, S, M, To> {
        self.with_optional_bus(Some(bus))
    }

    /// The same outbox, publishing handoffs on `bus` if there is one (without one, a message
    /// with a handoff waits in the outbox).
    pub fn with_optional_bus<To: HandoffBus>(self, bus: Option<&'a To>) -> Outbox<'a, S, M, To> {
        Outbox {
            store: self.store,
            mailer: self.mailer,
            settings: self.settings,
            clock: self.clock,
            lease: self.lease,
            bus,
        }
    }

    /// A fresh lease for `owner`, starting now.
    pub fn lease_for(&self, owner: &str) -> Lease {
        Lease {
            owner: owner.to_owned(),
            until: self.clock.now().plus(self.lease),
        }
    }

    /// Sends a message `owner` already holds (it was just written with its lease), and marks it.
    pub async fn deliver_held(
        &self,
        item: &MessageItem,
        owner: &str,
    ) -> Result<SendOutcome, DeliverError> {
        if item.content.is_none() && item.handoff.is_none() {
            return Ok(SendOutcome::NotOurs);
        }
        self.publish_handoff(item, owner).await?;
        let message = match item.outgoing(self.settings) {
            Ok(Some(message)) => message,
            Ok(None) => {
                // A call for a person only: published, so done.
                let done = "handoff published; no email";
                self.store
                    .mark_sent(item, owner, done, self.clock.now())
                    .await?;
                return Ok(SendOutcome::Sent {
                    ses_message_id: done.into(),
                });
            }
            Err(error) => {
                // The kept draft cannot be laid out, and never will be: recorded, not sent.
                let reason = format!("not laid out: {error}");
                tracing::error!(message_id = %item.message_id, customer_id = %log_ids::customer(&item.customer_id), %reason, "message not sent");
                self.store
                    .mark_failed(item, owner, &reason, self.clock.now())
                    .await?;
                return Ok(SendOutcome::Rejected { reason });
            }
        };
        self.send_and_mark(item, &message, owner).await
    }

    /// Publishes the call for a person riding with `item`, unless it was published already.
    async fn publish_handoff(&self, item: &MessageItem, owner: &str) -> Result<(), DeliverError> {
        if let (Some(handoff), false) = (&item.handoff, item.handoff_published) {
            let published = match self.bus {
                Some(bus) => bus.publish_handoff(handoff, &item.message_id).await,
                None => Err(PublishError {
                    detail_type: crate::events::HANDOFF_REQUESTED,
                    retry: crate::error::Retry::Transient,
                    detail: "no event bus is configured for handoffs".into(),
                }),
            };
            if let Err(error) = published {
                self.store
                    .note_attempt_failed(item, owner, &error.to_string())
                    .await?;
                return Err(error.into());
            }
            self.store.mark_handoff_published(item, owner).await?;
        }
        Ok(())
    }

    /// Sends `message` (the content of `item`, held by `owner`) and marks the item.
    async fn send_and_mark(
        &self,
        item: &MessageItem,
        message: &aftercare_journey::message::OutgoingMessage,
        owner: &str,
    ) -> Result<SendOutcome, DeliverError> {
        match self.mailer.send(message).await {
            Ok(ses_message_id) => {
                if !self.record_sent(item, owner, &ses_message_id).await? {
                    tracing::warn!(message_id = %item.message_id, customer_id = %log_ids::customer(&item.customer_id),
                        "sent after the lease was taken over; the relay may send it again");
                }
                Ok(SendOutcome::Sent { ses_message_id })
            }
            Err(SendError::Rejected(reason)) => {
                tracing::error!(message_id = %item.message_id, customer_id = %log_ids::customer(&item.customer_id), %reason, "SES refused the message");
                self.store
                    .mark_failed(item, owner, &reason, self.clock.now())
                    .await?;
                Ok(SendOutcome::Rejected { reason })
            }
            Err(error) => {
                self.store
                    .note_attempt_failed(item, owner, &error.to_string())
                    .await?;
                Err(DeliverError::Send(error))
            }
        }
    }

    /// Records that SES accepted `item`. SES has no idempotency key, so this is the one write
    /// whose loss sends a message twice (the relay would send it again when the lease runs
    /// out): a transient failure is tried again [`MARK_SENT_ATTEMPTS`] times in all, which is
    /// safe because a mark that finds its own effect reports success.
    async fn record_sent(
        &self,
        item: &MessageItem,
        owner: &str,
        ses_message_id: &str,
    ) -> Result<bool, StoreError> {
        let mut attempt = 1;
        loop {
            match self
                .store
                .mark_sent(item, owner, ses_message_id, self.clock.now())
                .await
            {
                Err(error)
                    if error.retry == crate::error::Retry::Transient
                        && attempt < MARK_SENT_ATTEMPTS =>
                {
                    tracing::warn!(message_id = %item.message_id, %error, attempt, "recording a sent message failed; trying again");
                    tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// Takes a pending message whose lease ran out and sends it; does nothing if it is not
    /// pending or someone else holds it.
    pub async fn claim_and_deliver(
        &self,
        item: &MessageItem,
        owner: &str,
    ) -> Result<SendOutcome, DeliverError> {
        if item.status != MessageStatus::Pending {
            return Ok(SendOutcome::NotOurs);
        }
        if let Some(wait) = Lease::of(item).filter(Lease::is_scheduled) {
            if wait.until > self.clock.now() {
                return Ok(SendOutcome::Waiting { until: wait.until });
            }
        }
        let lease = self.lease_for(owner);
        match self
            .store
            .claim_message(item, &lease, self.clock.now())
            .await?
        {
            Some(held) => self.deliver_after_wait(&held, owner).await,
            None => Ok(SendOutcome::HeldElsewhere),
        }
    }

    /// Sends a message that waited (for quiet hours, or for the relay after a failed attempt),
    /// after asking the customer's profile again: an unsubscribe or a bounce that came in
    /// meanwhile holds it back, and the reason is recorded on it. One read more than a fresh
    /// send; a watchdog's call for a person still goes out.
    async fn deliver_after_wait(
        &self,
        item: &MessageItem,
        owner: &str,
    ) -> Result<SendOutcome, DeliverError> {
        if item.content.is_none() {
            return self.deliver_held(item, owner).await;
        }
        let profile = self
            .store
            .load_profile_and_order(&item.customer_id, None)
            .await?
            .profile;
        let reason =
            profile.and_then(|p| aftercare_journey::consent::held_back(&p.value, item.kind));
        let Some(reason) = reason else {
            return self.deliver_held(item, owner).await;
        };
        self.publish_handoff(item, owner).await?;
        let reason = format!("withheld at sending: {reason}");
        tracing::info!(message_id = %item.message_id, customer_id = %log_ids::customer(&item.customer_id), %reason, "message held back");
        self.store
            .mark_failed(item, owner, &reason, self.clock.now())
            .await?;
        Ok(SendOutcome::Withheld { reason })
    }

    /// Re-reads a message by key and, if it is still pending with its lease run out, sends it.
    pub async fn redeliver(
        &self,
        customer: &CustomerId,
        sk: &str,
        owner: &str,
    ) -> Result<SendOutcome, DeliverError> {
        match self.store.message(customer, sk).await? {
            Some(item) => self.claim_and_deliver(&item, owner).await,
            None => Ok(SendOutcome::NotOurs),
        }
    }
}
