//! The profile's index of planned follow-ups: what each is for and when it falls due, so a
//! decision can move or cancel one without reading it first. The `follow_ups` stage fills it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::Sku;
use crate::message::MessageKind;
use crate::status::OrderStatus;
use crate::text::Text;

/// What a follow-up is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpKind {
    /// The day before the expected delivery.
    DeliveryReminder,
    /// Some days after delivery.
    ReviewRequest,
    /// Before a product runs out.
    Repurchase,
    /// When the customer has gone quiet.
    Reactivation,
    /// When an order has stayed in one status too long.
    Watchdog,
}

impl FollowUpKind {
    /// The message it sends.
    pub fn message_kind(self) -> MessageKind {
        match self {
            FollowUpKind::DeliveryReminder => MessageKind::DeliveryReminder,
            FollowUpKind::ReviewRequest => MessageKind::ReviewRequest,
            FollowUpKind::Repurchase => MessageKind::RepurchaseReminder,
            FollowUpKind::Reactivation => MessageKind::Reactivation,
            FollowUpKind::Watchdog => MessageKind::WatchdogUpdate,
        }
    }
}

/// A follow-up as the profile's index records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFollowUp {
    /// What for.
    pub kind: FollowUpKind,
    /// When it falls due.
    pub due_at: DateTime<Utc>,
    /// The product, for repurchase reminders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    /// The product's category, for repurchase reminders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Text>,
    /// For the watchdog: the status it watches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch_status: Option<OrderStatus>,
    /// The attempt.
    #[serde(default)]
    pub attempt: u32,
}

/// A follow-up cancelled by a decision, with the reason recorded on the journey.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelledFollowUp {
    /// Its key.
    pub key: String,
    /// What it was for.
    pub kind: FollowUpKind,
    /// Why it no longer goes.
    pub reason: String,
}
