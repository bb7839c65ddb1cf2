//! The follow-up emails: the delivery reminder, the review request with its one-click rating
//! links, the repurchase reminder, reactivation, and the watchdog's honest update.

use chrono::{DateTime, Utc};

use crate::copy::follow_ups as words;
use crate::copy::shared::LABELS;
use crate::format;
use crate::frame::{greeting, lay_out};
use crate::message::{Draft, Envelope, MessageId, OutgoingMessage};
use crate::order::Order;
use crate::profile::{FollowUpKind, Profile};
use crate::render::{fact, Action, Copy, RenderError};
use crate::settings::Settings;
use crate::status::OrderStatus;
use crate::time_shift::between;

use super::types::FollowUp;

/// Composes the message of a due follow-up.
pub fn compose(
    task: &FollowUp,
    profile: &Profile,
    order: Option<&Order>,
    now: DateTime<Utc>,
    settings: &Settings,
) -> Result<OutgoingMessage, RenderError> {
    let language = profile.locale.language();
    let labels = LABELS.pick(language);
    let brand = &settings.brand;
    let shop = brand.shop_name.as_str();
    let id = order
        .map(|o| o.order_id.as_str().to_owned())
        .unwrap_or_default();
    let mut facts = Vec::new();
    let mut action = None;
    let mut rating_labels = Vec::new();
    let mut lines = Vec::new();
    let kind = task.kind.message_kind();

    let words = match task.kind {
        FollowUpKind::DeliveryReminder => {
            let eta = order
                .and_then(Order::expected_on)
                .map(|d| format::date(d, language))
                .unwrap_or_default();
            let carrier = order
                .and_then(|o| o.delivery.as_ref())
                .and_then(|d| d.carrier.as_ref())
                .map(|c| c.as_str().to_owned());
            facts.push(fact(labels.order, id.clone()));
            facts.push(fact(labels.expected_delivery, eta.clone()));
            if let Some(carrier) = &carrier {
                facts.push(fact(labels.carrier, carrier.clone()));
            }
            if let Some(url) = order
                .and_then(|o| o.delivery.as_ref())
                .and_then(|d| d.tracking_url.as_ref())
            {
                action = Some(Action {
                    label: labels.track_parcel.into(),
                    url: url.as_str().into(),
                });
            }
            words::delivery_reminder(&id, &eta).pick(language)
        }
        FollowUpKind::ReviewRequest => {
            // The row's links are signed when the message is laid out (`lay_out`).
            let one_click = settings
                .links
                .as_ref()
                .is_some_and(|links| links.base_url.is_some() && links.signing_key().is_some())
                && order.is_some();
            let words = words::review_request(shop, &id, one_click).pick(language);
            if one_click {
                rating_labels = Vec::from(words.choices);
            }
            if let Some(order) = order {
                lines = order.item_lines(language);
            }
            words.message
        }
        FollowUpKind::Repurchase => {
            let name = task
                .item_name
                .as_ref()
                .map(|n| n.as_str().to_owned())
                .unwrap_or_default();
            let run_out = task
                .run_out_on
                .map(|d| format::date(d, language))
                .unwrap_or_default();
            if let Some(url) = &brand.shop_url {
                action = Some(Action {
                    label: labels.order_again.into(),
                    url: url.as_str().into(),
                });
            }
            words::repurchase(&name, &run_out).pick(language)
        }
        FollowUpKind::Reactivation => {
            let days = profile
                .order_times
                .last()
                .map(|last| between(*last, now).num_days().max(0) as u64)
                .unwrap_or(0);
            let bought: Vec<String> = profile
                .recent_items
                .iter()
                .rev()
                .take(2)
                .map(|t| t.as_str().to_owned())
                .collect();
            if let Some(category) = profile.favourite_category() {
                facts.push(fact(labels.favourite, category));
            }
            let bought = (!bought.is_empty()).then(|| bought.join(", "));
            words::reactivation(
                shop,
                &format::count_days(days, language),
                task.attempt <= 1,
                bought.as_deref(),
            )
            .pick(language)
        }
        FollowUpKind::Watchdog => {
            let status = order.map(|o| o.status).unwrap_or(OrderStatus::Placed);
            let since = order
                .map(|o| format::local_time(o.updated_at, profile.time_zone, language))
                .unwrap_or_default();
            facts.push(fact(labels.order, id.clone()));
            facts.push(fact(labels.last_update, since.clone()));
            if let Some(eta) = order.and_then(Order::expected_on) {
                facts.push(fact(labels.expected_delivery, format::date(eta, language)));
            }
            words::watchdog(&id, status, &since).pick(language)
        }
    };

    let copy = Copy {
        subject: words.subject,
        preheader: words.preheader,
        greeting: greeting(profile, language),
        paragraphs: words.paragraphs,
        facts,
        items: lines,
        action,
        choices: Vec::new(),
    };
    let envelope = Envelope {
        id: follow_up_message_id(task),
        kind,
        customer_id: profile.customer_id.clone(),
        order_id: task.order_id.clone(),
        to: profile.email.clone(),
        to_name: profile.name.clone(),
        language,
        trigger: follow_up_trigger(task),
        decided_at: now,
        reason: format!("{} due {}", task.key, task.due_at.to_rfc3339()),
    };
    lay_out(
        envelope,
        Draft {
            copy,
            rating_labels,
        },
        settings,
    )
}

/// What a follow-up's message names as its cause: `follow-up:<key>#<attempt>`.
pub fn follow_up_trigger(task: &FollowUp) -> String {
    format!("{TRIGGER_PREFIX}{}#{}", task.key, task.attempt)
}

/// The key of the follow-up a message's `trigger` names, if it names one (see
/// [`follow_up_trigger`]).
pub fn follow_up_key_of(trigger: &str) -> Option<&str> {
    trigger
        .strip_prefix(TRIGGER_PREFIX)
        .and_then(|rest| rest.rsplit_once('#'))
        .map(|(key, _attempt)| key)
}

const TRIGGER_PREFIX: &str = "follow-up:";

/// The message id of a follow-up's message: one per key and attempt.
pub fn follow_up_message_id(task: &FollowUp) -> MessageId {
    MessageId::derive(
        &task.customer_id,
        &format!("{}#{}", task.key, task.attempt),
        task.kind.message_kind(),
    )
}
