//! Messages: their kinds, identities, and the rendered form that goes through the outbox.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::contact::{EmailAddress, Language};
use crate::ids::{CustomerId, OrderId};
use crate::render::{render, Action, Copy, Frame, RenderError, Rendered};
use crate::status::OrderStatus;
use crate::text::Text;

/// Every kind of message aftercare sends. Each can be switched off on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// We have the order.
    OrderPlaced,
    /// The shop accepted it.
    OrderConfirmed,
    /// Being packed.
    OrderPacked,
    /// On its way, with tracking.
    OrderShipped,
    /// Arriving within the hour.
    OrderOutForDelivery,
    /// Delivered.
    OrderDelivered,
    /// Late, with reason and new date.
    OrderDelayed,
    /// Cancelled, and what happens to the money.
    OrderCancelled,
    /// The day before the expected delivery.
    DeliveryReminder,
    /// Some days after delivery, with one-click rating links.
    ReviewRequest,
    /// Before a consumable is expected to run out.
    RepurchaseReminder,
    /// To a customer who has not ordered for a long time.
    Reactivation,
    /// An order stuck in one status for too long: what is known, and that a person is on it.
    WatchdogUpdate,
    /// Thanks for a neutral or positive rating.
    ReviewThanks,
    /// Thanks for a happy rating, with the customer's referral code and the bonus.
    ReferralInvitation,
    /// An apology for an unhappy rating, promising that a person will be in touch.
    ReviewApology,
    /// To the shop's support inbox: an unhappy customer, with the context.
    SupportAlert,
}

/// Why a string names no message kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown message kind {0:?}")]
pub struct UnknownMessageKind(pub String);

impl MessageKind {
    /// Every kind.
    pub const ALL: [MessageKind; 17] = [
        MessageKind::OrderPlaced,
        MessageKind::OrderConfirmed,
        MessageKind::OrderPacked,
        MessageKind::OrderShipped,
        MessageKind::OrderOutForDelivery,
        MessageKind::OrderDelivered,
        MessageKind::OrderDelayed,
        MessageKind::OrderCancelled,
        MessageKind::DeliveryReminder,
        MessageKind::ReviewRequest,
        MessageKind::RepurchaseReminder,
        MessageKind::Reactivation,
        MessageKind::WatchdogUpdate,
        MessageKind::ReviewThanks,
        MessageKind::ReferralInvitation,
        MessageKind::ReviewApology,
        MessageKind::SupportAlert,
    ];

    /// The kind that tells a customer their order has this status.
    pub fn for_status(status: OrderStatus) -> MessageKind {
        match status {
            OrderStatus::Placed => MessageKind::OrderPlaced,
            OrderStatus::Confirmed => MessageKind::OrderConfirmed,
            OrderStatus::Packed => MessageKind::OrderPacked,
            OrderStatus::Shipped => MessageKind::OrderShipped,
            OrderStatus::OutForDelivery => MessageKind::OrderOutForDelivery,
            OrderStatus::Delivered => MessageKind::OrderDelivered,
            OrderStatus::Delayed => MessageKind::OrderDelayed,
            OrderStatus::Cancelled => MessageKind::OrderCancelled,
        }
    }

    /// The name used in configuration, message tags and logs (`order_shipped`).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::OrderPlaced => "order_placed",
            MessageKind::OrderConfirmed => "order_confirmed",
            MessageKind::OrderPacked => "order_packed",
            MessageKind::OrderShipped => "order_shipped",
            MessageKind::OrderOutForDelivery => "order_out_for_delivery",
            MessageKind::OrderDelivered => "order_delivered",
            MessageKind::OrderDelayed => "order_delayed",
            MessageKind::OrderCancelled => "order_cancelled",
            MessageKind::DeliveryReminder => "delivery_reminder",
            MessageKind::ReviewRequest => "review_request",
            MessageKind::RepurchaseReminder => "repurchase_reminder",
            MessageKind::Reactivation => "reactivation",
            MessageKind::WatchdogUpdate => "watchdog_update",
            MessageKind::ReviewThanks => "review_thanks",
            MessageKind::ReferralInvitation => "referral_invitation",
            MessageKind::ReviewApology => "review_apology",
            MessageKind::SupportAlert => "support_alert",
        }
    }

    /// Parses a name as written by [`MessageKind::as_str`].
    pub fn parse(value: &str) -> Result<Self, UnknownMessageKind> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == value.trim())
            .ok_or_else(|| UnknownMessageKind(value.trim().to_owned()))
    }

    /// Whether the message reports an order's status change (exempt from quiet hours by
    /// default: news about a parcel is wanted when it happens).
    pub fn is_order_status(self) -> bool {
        matches!(
            self,
            MessageKind::OrderPlaced
                | MessageKind::OrderConfirmed
                | MessageKind::OrderPacked
                | MessageKind::OrderShipped
                | MessageKind::OrderOutForDelivery
                | MessageKind::OrderDelivered
                | MessageKind::OrderDelayed
                | MessageKind::OrderCancelled
        )
    }

    /// Whether the message is part of a purchase the customer made, or an answer to something
    /// they did: sent regardless of marketing consent and frequency caps. Order-status news, the
    /// delivery reminder, the watchdog's update, the answers to a rating and the alert to support
    /// are; review requests, repurchase reminders, reactivation and referral invitations are not.
    pub fn is_transactional(self) -> bool {
        self.is_order_status()
            || matches!(
                self,
                MessageKind::DeliveryReminder
                    | MessageKind::WatchdogUpdate
                    | MessageKind::ReviewThanks
                    | MessageKind::ReviewApology
                    | MessageKind::SupportAlert
            )
    }

    /// Whether the message promotes a purchase: needs marketing consent, and is withheld
    /// while the customer has an open complaint.
    pub fn is_marketing(self) -> bool {
        matches!(
            self,
            MessageKind::RepurchaseReminder
                | MessageKind::Reactivation
                | MessageKind::ReferralInvitation
        )
    }

    /// Which of several non-transactional messages due at once goes first: higher first.
    pub fn priority(self) -> u8 {
        match self {
            MessageKind::ReviewRequest => 3,
            MessageKind::RepurchaseReminder => 2,
            MessageKind::Reactivation => 1,
            _ => 4,
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identity of one message: the same decision always yields the same id, so a retried
/// decision cannot create a second message. 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(String);

impl MessageId {
    /// Derives the id from what caused the message: the customer, the cause (an event id or a
    /// follow-up's key) and the kind.
    pub fn derive(customer: &CustomerId, cause: &str, kind: MessageKind) -> Self {
        let mut hash = Sha256::new();
        for part in [customer.as_str(), cause, kind.as_str()] {
            hash.update(part.as_bytes());
            hash.update([0u8]);
        }
        Self(hex::encode(&hash.finalize()[..16]))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An id as written by [`MessageId::as_str`]: 32 hex digits, lowercased; `None` otherwise.
    pub fn from_hex(value: &str) -> Option<Self> {
        (value.len() == 32 && value.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| Self(value.to_ascii_lowercase()))
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who a message goes to and why: everything about it but its words and their layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Its identity.
    pub id: MessageId,
    /// Its kind.
    pub kind: MessageKind,
    /// To whom.
    pub customer_id: CustomerId,
    /// About which order, if any.
    pub order_id: Option<OrderId>,
    /// The recipient's address.
    pub to: EmailAddress,
    /// The recipient's name, for the `To` header.
    pub to_name: Option<Text>,
    /// The language it is written in.
    pub language: Language,
    /// What caused it: `event:<event id>` for an order event.
    pub trigger: String,
    /// When it was decided (the decision's `now`).
    pub decided_at: DateTime<Utc>,
    /// Why it is sent, in words, for the journey log.
    pub reason: String,
}

/// A message decided and laid out, ready for the outbox. Everything needed to send it is here,
/// so a relay can send it later without deciding anything again. Made by
/// [`crate::frame::lay_out`], at the decision and again at sending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    /// Its identity.
    pub id: MessageId,
    /// Its kind.
    pub kind: MessageKind,
    /// To whom.
    pub customer_id: CustomerId,
    /// About which order, if any.
    pub order_id: Option<OrderId>,
    /// The recipient's address.
    pub to: EmailAddress,
    /// The recipient's name, for the `To` header.
    pub to_name: Option<Text>,
    /// The language it is written in.
    pub language: Language,
    /// The subject line: one line, no control characters.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, every value in it escaped.
    pub html: String,
    /// What the subject and both bodies were laid out from, with the shop's frame: laid out
    /// again in the same frame, it gives them byte for byte. The outbox keeps this rather than
    /// the bodies.
    pub draft: Draft,
    /// What caused it: `event:<event id>` for an order event.
    pub trigger: String,
    /// When it was decided (the decision's `now`).
    pub decided_at: DateTime<Utc>,
    /// Why it is sent, in words, for the journey log.
    pub reason: String,
    /// The unsubscribe headers, on every message that is not transactional.
    #[serde(default)]
    pub list_unsubscribe: Option<ListUnsubscribe>,
}

impl OutgoingMessage {
    /// Who it goes to and why, as it was laid out for.
    pub fn envelope(&self) -> Envelope {
        Envelope {
            id: self.id.clone(),
            kind: self.kind,
            customer_id: self.customer_id.clone(),
            order_id: self.order_id.clone(),
            to: self.to.clone(),
            to_name: self.to_name.clone(),
            language: self.language,
            trigger: self.trigger.clone(),
            decided_at: self.decided_at,
            reason: self.reason.clone(),
        }
    }
}

/// A message's own words before layout: everything the subject, the text and the HTML are made
/// from but the shop's [`Frame`] around them, which is a function of the shop's settings and
/// the message's kind, customer and language. Layout is a pure function of the draft and the
/// frame, so a draft kept and laid out again later in the same frame gives the same bytes as
/// when it was decided (for the same templates: a release that changes them, or a shop that
/// changes its name or support inbox, changes the messages still waiting, too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// The words, facts and links.
    pub copy: Copy,
    /// The labels of a one-click rating row, for the scores 1 to 5 in order; empty for a
    /// message without one. They are linked when the draft is laid out, each to a signed rating
    /// link (see [`crate::frame::lay_out`]), so the outbox keeps five words, not five signed
    /// links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rating_labels: Vec<String>,
}

impl Draft {
    /// A draft of `copy` alone, with no rating row.
    pub fn of(copy: Copy) -> Self {
        Self {
            copy,
            rating_labels: Vec::new(),
        }
    }

    /// Lays the draft out in `frame`, in `language`, its rating row (if any) linked to
    /// `rating_links` (one per label, in order; their labels are the draft's).
    pub fn render(
        &self,
        frame: &Frame,
        language: Language,
        rating_links: Vec<Action>,
    ) -> Result<Rendered, RenderError> {
        if rating_links.is_empty() {
            return render(&self.copy, frame, language);
        }
        let mut copy = self.copy.clone();
        copy.choices.extend(rating_links);
        render(&copy, frame, language)
    }
}

/// Where a message's unsubscribe headers point: `List-Unsubscribe` (RFC 2369) with an https
/// link that also takes the one-click POST of RFC 8058, and a mailto to the support inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListUnsubscribe {
    /// The signed `…/unsubscribe?token=…` link: a GET shows the preferences page, a POST with
    /// `List-Unsubscribe=One-Click` unsubscribes from the message's topic.
    pub https: String,
    /// `mailto:<support inbox>?subject=…`: a person handles it.
    pub mailto: String,
}

/// Checks that `message`'s draft, kept as the outbox keeps it (JSON) and laid out again for its
/// envelope in the frame `settings` give it, gives its subject, text, HTML and unsubscribe
/// headers byte for byte (its rating links signed again alike).
#[cfg(test)]
pub(crate) fn assert_draft_lays_out_again(
    message: &OutgoingMessage,
    settings: &crate::settings::Settings,
) {
    let kept = serde_json::to_string(&message.draft).unwrap();
    let draft: Draft = serde_json::from_str(&kept).unwrap();
    let again = crate::frame::lay_out(message.envelope(), draft, settings).unwrap();
    assert_eq!(again.subject, message.subject, "{}", message.kind);
    assert_eq!(again.text, message.text, "{}", message.kind);
    assert_eq!(again.html, message.html, "{}", message.kind);
    assert_eq!(
        again.list_unsubscribe, message.list_unsubscribe,
        "{}",
        message.kind
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_stable_and_distinct_per_kind() {
        let customer = CustomerId::parse("c-1").unwrap();
        let a = MessageId::derive(&customer, "evt-1", MessageKind::OrderShipped);
        assert_eq!(
            a,
            MessageId::derive(&customer, "evt-1", MessageKind::OrderShipped)
        );
        assert_ne!(
            a,
            MessageId::derive(&customer, "evt-1", MessageKind::OrderPlaced)
        );
        assert_eq!(a.as_str().len(), 32);
    }

    #[test]
    fn kinds_parse_from_their_names() {
        for kind in MessageKind::ALL {
            assert_eq!(MessageKind::parse(kind.as_str()), Ok(kind));
        }
        assert!(MessageKind::parse("order_teleported").is_err());
    }
}
