//! The email telling a customer their order has a new status, assembled from the shared
//! layout and the words of [`crate::copy::order_status`].

use chrono::{DateTime, Utc};

use crate::contact::Language;
use crate::copy::order_status::{self as words, Tenure};
use crate::copy::shared::LABELS;
use crate::event::OrderEvent;
use crate::format;
use crate::frame::{greeting, lay_out};
use crate::message::{Draft, Envelope, MessageId, MessageKind, OutgoingMessage};
use crate::order::Order;
use crate::profile::Profile;
use crate::render::{fact, Action, Copy, RenderError};
use crate::settings::{Brand, Settings};
use crate::status::OrderStatus;

/// Composes the status message of `kind` for an applied `event`.
pub(crate) fn compose(
    kind: MessageKind,
    profile: &Profile,
    order: &Order,
    event: &OrderEvent,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<OutgoingMessage, RenderError> {
    let language = profile.locale.language();
    let ctx = OrderMessageContext {
        brand: &settings.brand,
        profile,
        order,
    };
    let copy = order_status_copy(event.status, &ctx, language);
    let envelope = Envelope {
        id: MessageId::derive(&profile.customer_id, event.event_id.as_str(), kind),
        kind,
        customer_id: profile.customer_id.clone(),
        order_id: Some(order.order_id.clone()),
        to: profile.email.clone(),
        to_name: profile.name.clone(),
        language,
        trigger: format!("event:{}", event.event_id),
        decided_at: now,
        reason: format!(
            "order {} is {} (event {})",
            order.order_id, event.status, event.event_id
        ),
    };
    lay_out(envelope, Draft::of(copy), settings)
}

/// What the copy of an order-status message is made from.
pub struct OrderMessageContext<'a> {
    /// The shop.
    pub brand: &'a Brand,
    /// The customer.
    pub profile: &'a Profile,
    /// The order, with the event already applied.
    pub order: &'a Order,
}

fn item_count(order: &Order) -> u64 {
    order
        .items
        .iter()
        .map(|i| u64::from(i.quantity.get()))
        .sum()
}

/// "3 items, €27.00", or what of it is known.
fn order_summary(order: &Order, language: Language) -> Option<String> {
    let count = item_count(order);
    let count = (count > 0).then(|| format::count_items(count, language));
    let total = order.total.map(|t| format::money(t, language));
    match (count, total) {
        (Some(c), Some(t)) => Some(format!("{c}, {t}")),
        (Some(c), None) => Some(c),
        (None, Some(t)) => Some(t),
        (None, None) => None,
    }
}

/// The copy of the message telling the customer their order now has `status`, in `language`.
pub fn order_status_copy(
    status: OrderStatus,
    ctx: &OrderMessageContext<'_>,
    language: Language,
) -> Copy {
    let OrderMessageContext {
        brand,
        profile,
        order,
    } = *ctx;
    let shop = brand.shop_name.as_str();
    let id = order.order_id.as_str();
    let tenure = Tenure::of_order(order.sequence);
    let summary = order_summary(order, language);
    let eta = order.expected_on().map(|d| format::date(d, language));
    let carrier = order
        .delivery
        .as_ref()
        .and_then(|d| d.carrier.as_ref())
        .map(|c| c.as_str().to_owned());
    let tracking = order
        .delivery
        .as_ref()
        .and_then(|d| d.tracking_url.as_ref())
        .map(|u| u.as_str().to_owned());
    let labels = LABELS.pick(language);
    let button = |label: &str, url: &String| Action {
        label: label.to_owned(),
        url: url.clone(),
    };

    let mut facts = vec![fact(labels.order, id)];
    if let Some(summary) = &summary {
        facts.push(fact(labels.contents, summary.clone()));
    }
    let mut action = None;
    let mut show_items = true;
    let words = match status {
        OrderStatus::Placed => {
            let placed = format::local_time(order.placed_at, profile.time_zone, language);
            facts.push(fact(labels.placed, placed));
            words::placed(shop, id, tenure, order.sequence)
        }
        OrderStatus::Confirmed => {
            if let Some(eta) = &eta {
                facts.push(fact(labels.expected_delivery, eta.clone()));
            }
            words::confirmed(id, eta.as_deref())
        }
        OrderStatus::Packed => words::packed(id),
        OrderStatus::Shipped => {
            if let Some(carrier) = &carrier {
                facts.push(fact(labels.carrier, carrier.clone()));
            }
            if let Some(eta) = &eta {
                facts.push(fact(labels.expected_delivery, eta.clone()));
            }
            action = tracking
                .as_ref()
                .map(|url| button(labels.track_parcel, url));
            words::shipped(
                id,
                carrier.as_deref().unwrap_or_default(),
                eta.as_deref(),
                tracking.is_some(),
            )
        }
        OrderStatus::OutForDelivery => {
            show_items = false;
            action = tracking
                .as_ref()
                .map(|url| button(labels.follow_courier, url));
            words::out_for_delivery(id)
        }
        OrderStatus::Delivered => {
            let at = format::local_time(order.updated_at, profile.time_zone, language);
            facts.push(fact(labels.delivered, at));
            words::delivered(shop, id, tenure)
        }
        OrderStatus::Delayed => {
            let delay = order.delay.as_ref();
            let reason = delay
                .map(|d| d.reason.as_str().to_owned())
                .unwrap_or_default();
            let new_date = delay
                .map(|d| format::date(d.new_eta, language))
                .unwrap_or_default();
            let old_date = order
                .delivery
                .as_ref()
                .and_then(|d| d.eta)
                .map(|d| format::date(d, language));
            facts.push(fact(labels.reason, reason.clone()));
            facts.push(fact(labels.new_delivery_date, new_date.clone()));
            if let Some(old) = &old_date {
                facts.push(fact(labels.previously_expected, old.clone()));
            }
            action = tracking
                .as_ref()
                .map(|url| button(labels.track_parcel, url));
            show_items = false;
            words::delayed(id, &reason, &new_date)
        }
        OrderStatus::Cancelled => {
            let cancellation = order.cancellation.as_ref();
            let reason = cancellation
                .and_then(|c| c.reason.as_ref())
                .map(|r| r.as_str().to_owned());
            let refund = cancellation
                .and_then(|c| c.refund)
                .map(|r| format::money(r, language));
            let total = order.total.map(|t| format::money(t, language));
            if let Some(reason) = &reason {
                facts.push(fact(labels.reason, reason.clone()));
            }
            words::cancelled(id, reason.as_deref(), refund.as_deref(), total.as_deref())
        }
    }
    .pick(language);

    Copy {
        subject: words.subject,
        preheader: words.preheader,
        greeting: greeting(profile, language),
        paragraphs: words.paragraphs,
        facts,
        items: if show_items {
            order.item_lines(language)
        } else {
            Vec::new()
        },
        action,
        choices: Vec::new(),
    }
}
