//! An order as we keep it: what was ordered, how it travels, and its timeline of events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::Language;
use crate::event::{Cancellation, Delay, Delivery, LineItem};
use crate::format;
use crate::ids::{EventId, OrderId};
use crate::message::{MessageId, MessageKind};
use crate::money::{Amount, Money};
use crate::profile::{CancelledFollowUp, TouchBy};
use crate::render::ItemLine;
use crate::status::OrderStatus;

/// One event in an order's history, applied or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// The event.
    pub event_id: EventId,
    /// The status it reported.
    pub status: OrderStatus,
    /// When it happened at the shop.
    pub occurred_at: DateTime<Utc>,
    /// Whether it changed the order.
    pub applied: bool,
    /// What came of it, in words: the message sent, or why nothing was.
    pub note: String,
    /// The message it queued, if any: decided at `occurred_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageId>,
    /// The follow-ups it cancelled, each with the reason: the record of why they no longer go.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancelled: Vec<CancelledFollowUp>,
}

/// One order and everything that happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// The order.
    pub order_id: OrderId,
    /// Which of the customer's orders this is: 1 for the first.
    pub sequence: u32,
    /// What it shows now (`delayed` while late).
    pub status: OrderStatus,
    /// The furthest step reached.
    pub reached: OrderStatus,
    /// When we first heard of it (the placement time, when the first event was `placed`).
    pub placed_at: DateTime<Utc>,
    /// When the last applied event happened.
    pub updated_at: DateTime<Utc>,
    /// What was ordered.
    pub items: Vec<LineItem>,
    /// The total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<Money>,
    /// How it travels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    /// Why it is late, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Delay>,
    /// Why it was cancelled, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<Cancellation>,
    /// Every event for this order, newest last; at most [`Order::TIMELINE_LIMIT`] are kept.
    pub timeline: Vec<TimelineEntry>,
    /// The customer's rating of it, once they answered its review request. Kept on the order,
    /// so a customer's record grows by a fixed amount per order, never with their history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<crate::profile::Rating>,
    /// The touches it is attributed to, one per kind, decided when it was placed (see
    /// `insight::attribution`); a cancelled order keeps them but is no conversion.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attribution: Vec<Attribution>,
}

/// An order counted as a conversion of one kind's touch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    /// The kind of message.
    pub kind: MessageKind,
    /// The message sent (treated), or the decision that withheld it (holdout).
    pub by: TouchBy,
    /// When the touch was.
    pub touched_at: DateTime<Utc>,
    /// Whole days from the touch to the order.
    pub days_since: u32,
}

impl Order {
    /// The touches this order converts: its attribution, unless it was cancelled (a cancelled
    /// order is no conversion).
    pub fn conversions(&self) -> &[Attribution] {
        if self.status == OrderStatus::Cancelled {
            &[]
        } else {
            &self.attribution
        }
    }

    /// The most timeline entries kept per order; older ones are dropped first.
    pub const TIMELINE_LIMIT: usize = 50;

    /// The order's lines as a message shows them, each priced in `language` when the order
    /// has a total (which gives the currency).
    pub(crate) fn item_lines(&self, language: Language) -> Vec<ItemLine> {
        self.items
            .iter()
            .map(|item| ItemLine {
                name: item.name.as_str().to_owned(),
                quantity: item.quantity.get(),
                price: match (item.unit_price, self.total) {
                    (Some(unit), Some(total)) => unit
                        .value()
                        .checked_mul(rust_decimal::Decimal::from(item.quantity.get()))
                        .and_then(|line| Amount::from_decimal(line).ok())
                        .map(|amount| {
                            format::money(
                                Money {
                                    amount,
                                    currency: total.currency,
                                },
                                language,
                            )
                        }),
                    _ => None,
                },
            })
            .collect()
    }

    /// The timeline's entry for `event`: `Some` once the event was decided for this order
    /// (applied or not), while the entry is among the [`Order::TIMELINE_LIMIT`] kept.
    pub fn entry_of(&self, event: &EventId) -> Option<&TimelineEntry> {
        self.timeline
            .iter()
            .rev()
            .find(|entry| &entry.event_id == event)
    }

    /// Appends a timeline entry, dropping the oldest beyond the limit.
    pub fn record(&mut self, entry: TimelineEntry) {
        self.timeline.push(entry);
        if self.timeline.len() > Self::TIMELINE_LIMIT {
            let excess = self.timeline.len() - Self::TIMELINE_LIMIT;
            self.timeline.drain(..excess);
        }
    }

    /// The delivery date the customer should expect now: the delay's new date if late,
    /// otherwise the carrier's ETA.
    pub fn expected_on(&self) -> Option<chrono::NaiveDate> {
        self.delay
            .as_ref()
            .map(|d| d.new_eta)
            .or_else(|| self.delivery.as_ref().and_then(|d| d.eta))
    }
}
