//! The records of what a customer chose to receive and what their mailbox told us: topics
//! switched off and how, suppressed addresses, transient bounces and complaints. The `consent`
//! stage fills them.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::EmailAddress;
use crate::message::MessageKind;

/// A topic a customer can switch off on the preferences page. Each message kind a customer
/// can do without belongs to one; answers to the customer's own actions, the cancellation of
/// an order (it concerns their money) and alerts to the shop belong to none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailTopic {
    /// News about an order: status changes, the delivery reminder, the watchdog's update.
    OrderUpdates,
    /// Requests to rate an order.
    ReviewRequests,
    /// Reminders to reorder what runs out.
    Reminders,
    /// Offers: reactivation, referral invitations.
    Offers,
}

/// Why a string names no topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown topic {0:?}; topics are order_updates, review_requests, reminders, offers")]
pub struct UnknownTopic(pub String);

impl MailTopic {
    /// Every topic, in the order the preferences page shows them.
    pub const ALL: [MailTopic; 4] = [
        MailTopic::OrderUpdates,
        MailTopic::ReviewRequests,
        MailTopic::Reminders,
        MailTopic::Offers,
    ];

    /// The topics a complaint unsubscribes from: everything that is not news about an order.
    pub const MARKETING: [MailTopic; 3] = [
        MailTopic::ReviewRequests,
        MailTopic::Reminders,
        MailTopic::Offers,
    ];

    /// The topic of a message kind, if a customer can switch it off.
    pub fn of(kind: MessageKind) -> Option<MailTopic> {
        match kind {
            MessageKind::OrderCancelled
            | MessageKind::ReviewThanks
            | MessageKind::ReviewApology
            | MessageKind::SupportAlert => None,
            k if k.is_order_status() => Some(MailTopic::OrderUpdates),
            MessageKind::DeliveryReminder | MessageKind::WatchdogUpdate => {
                Some(MailTopic::OrderUpdates)
            }
            MessageKind::ReviewRequest => Some(MailTopic::ReviewRequests),
            MessageKind::RepurchaseReminder => Some(MailTopic::Reminders),
            MessageKind::Reactivation | MessageKind::ReferralInvitation => Some(MailTopic::Offers),
            _ => None,
        }
    }

    /// The name used in links, forms and records (`review_requests`).
    pub fn as_str(self) -> &'static str {
        match self {
            MailTopic::OrderUpdates => "order_updates",
            MailTopic::ReviewRequests => "review_requests",
            MailTopic::Reminders => "reminders",
            MailTopic::Offers => "offers",
        }
    }

    /// Parses a name as written by [`MailTopic::as_str`].
    pub fn parse(value: &str) -> Result<Self, UnknownTopic> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == value)
            .ok_or_else(|| UnknownTopic(value.chars().take(40).collect()))
    }
}

impl fmt::Display for MailTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a customer came to be unsubscribed from a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptOutSource {
    /// The mailbox's one-click unsubscribe (RFC 8058).
    OneClick,
    /// The preferences page.
    PreferencesPage,
    /// They marked a message as spam.
    Complaint,
}

impl OptOutSource {
    /// In words, for reasons recorded on the journey.
    pub fn describe(self) -> &'static str {
        match self {
            OptOutSource::OneClick => "with one click",
            OptOutSource::PreferencesPage => "on the preferences page",
            OptOutSource::Complaint => "by marking a message as spam",
        }
    }
}

/// A topic a customer switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOut {
    /// When.
    pub at: DateTime<Utc>,
    /// How.
    pub via: OptOutSource,
}

/// Why an address receives nothing any more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SuppressionReason {
    /// The receiving server said the address does not exist or will never accept mail.
    PermanentBounce {
        /// SES's bounce subtype (`General`, `NoEmail`, `Suppressed`, ...).
        subtype: String,
    },
    /// Mail kept bouncing for a while ([`SOFT_BOUNCE_LIMIT`] times in [`SOFT_BOUNCE_WINDOW_DAYS`]).
    RepeatedTransientBounces {
        /// How many.
        count: u32,
    },
}

/// An address we stopped sending to. It holds for that address only: when the shop sends a new
/// address for the customer, mail goes to it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// The address.
    pub address: EmailAddress,
    /// Since when.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: SuppressionReason,
}

/// A transient bounce, counted once per feedback id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftBounce {
    /// When it bounced.
    pub at: DateTime<Utc>,
    /// SES's id for the bounce, so a redelivered event is not counted twice.
    pub feedback_id: String,
}

/// A customer marking a message as spam.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintRecord {
    /// When it was reported.
    pub at: DateTime<Utc>,
    /// SES's id for the complaint.
    pub feedback_id: String,
    /// The kind of message complained about, when known.
    pub kind: Option<MessageKind>,
    /// What the mailbox provider called it (`abuse`, `not-spam`, ...), when it said.
    pub feedback_type: Option<String>,
}

/// How many transient bounces within [`SOFT_BOUNCE_WINDOW_DAYS`] suppress an address.
pub const SOFT_BOUNCE_LIMIT: usize = 3;
/// The window transient bounces are counted in.
pub const SOFT_BOUNCE_WINDOW_DAYS: i64 = 30;
