//! Follow-ups: messages planned for later, and what happens when one falls due.
//!
//! Order decisions plan them in the same write that applies the event: an expected date plans
//! the delivery reminder, every status plans the watchdog's check, a delivery plans the review
//! request and repurchase reminders, a new order plans the reactivation check (and cancels
//! repurchase reminders it made pointless). The schedule function hands each due follow-up to
//! [`decide_follow_up`], which sends it, defers it (quiet hours, frequency cap), withholds it
//! (switched off, no consent, holdout) or cancels it (no longer useful), always with a reason.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::CustomerTimeZone;
use crate::event::{LineItem, OrderEvent};
use crate::guardrails::{is_held_out, local_instant};
use crate::ids::{CustomerId, OrderId, Sku};
use crate::journey::{Order, Profile};
use crate::message::{MessageId, MessageKind, OutgoingMessage};
use crate::render::{render, RenderError};
use crate::settings::{Policy, Settings};
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
    pub sku: Option<Sku>,
    /// The product's category, for repurchase reminders.
    pub category: Option<Text>,
}

/// A planned follow-up. Its `key` is unique per customer (`review#1042`, `repurchase#TEA-1`,
/// `reactivation`); planning the same key again replaces the earlier plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// Unique per customer.
    pub key: String,
    /// What for.
    pub kind: FollowUpKind,
    /// Whose.
    pub customer_id: CustomerId,
    /// About which order, if any.
    pub order_id: Option<OrderId>,
    /// When it falls due.
    pub due_at: DateTime<Utc>,
    /// When it was planned: anything the customer did after this may make it pointless.
    pub planned_at: DateTime<Utc>,
    /// The attempt (reactivation sends up to the policy's number of attempts).
    pub attempt: u32,
    /// For the watchdog: the status the order was in.
    pub watch_status: Option<OrderStatus>,
    /// For repurchase: the product.
    pub sku: Option<Sku>,
    /// For repurchase: its name.
    pub item_name: Option<Text>,
    /// For repurchase: its category.
    pub category: Option<Text>,
    /// For repurchase: when it is expected to run out, in the customer's calendar.
    pub run_out_on: Option<NaiveDate>,
}

impl FollowUp {
    fn new(
        key: String,
        kind: FollowUpKind,
        customer: &CustomerId,
        order: Option<&OrderId>,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            key,
            kind,
            customer_id: customer.clone(),
            order_id: order.cloned(),
            due_at,
            planned_at: now,
            attempt: 1,
            watch_status: None,
            sku: None,
            item_name: None,
            category: None,
            run_out_on: None,
        }
    }

    /// Its entry in the profile's index.
    pub fn pending(&self) -> PendingFollowUp {
        PendingFollowUp {
            kind: self.kind,
            due_at: self.due_at,
            sku: self.sku.clone(),
            category: self.category.clone(),
        }
    }
}

/// A follow-up cancelled by a decision, with the reason recorded on the journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelledFollowUp {
    /// Its key.
    pub key: String,
    /// What it was for.
    pub kind: FollowUpKind,
    /// Why it no longer goes.
    pub reason: String,
}

/// The follow-ups a decision plans and cancels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowUpChanges {
    /// New or moved plans (replacing any plan with the same key).
    pub planned: Vec<FollowUp>,
    /// Plans that no longer go.
    pub cancelled: Vec<CancelledFollowUp>,
}

impl FollowUpChanges {
    fn plan(&mut self, profile: &mut Profile, follow_up: FollowUp) {
        if profile.follow_ups.get(&follow_up.key) == Some(&follow_up.pending()) {
            return;
        }
        self.cancelled.retain(|c| c.key != follow_up.key);
        profile
            .follow_ups
            .insert(follow_up.key.clone(), follow_up.pending());
        self.planned.push(follow_up);
    }

    fn cancel(&mut self, profile: &mut Profile, key: &str, reason: String) {
        if let Some(pending) = profile.follow_ups.remove(key) {
            self.planned.retain(|p| p.key != key);
            self.cancelled.push(CancelledFollowUp {
                key: key.to_owned(),
                kind: pending.kind,
                reason,
            });
        }
    }
}

/// The median of the intervals between consecutive instants (which must be in order), or
/// `None` with fewer than two instants.
pub fn median_interval(times: &[DateTime<Utc>]) -> Option<Duration> {
    let mut gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_unstable();
    let middle = gaps.len() / 2;
    Some(if gaps.len() % 2 == 1 {
        gaps[middle]
    } else {
        (gaps[middle - 1] + gaps[middle]) / 2
    })
}

/// How long without an order makes this customer dormant: the policy's minimum, or its factor
/// times their median interval between orders if that is longer.
pub fn dormant_after(profile: &Profile, policy: &Policy) -> Duration {
    let minimum = Duration::days(policy.dormant_min_days);
    match median_interval(&profile.order_times) {
        Some(median) => minimum.max(median * policy.dormant_median_factor as i32),
        None => minimum,
    }
}

/// How many days one purchase of `item` lasts this customer: their own median interval once
/// they have bought it three times, else the item's cycle times the quantity, else the
/// category's default. `None` for products that are not consumed.
pub fn consumption_days(profile: &Profile, item: &LineItem, policy: &Policy) -> Option<i64> {
    if let Some(times) = profile
        .sku_purchases
        .get(&item.sku)
        .filter(|t| t.len() >= 3)
    {
        if let Some(median) = median_interval(times) {
            return Some(median.num_days().max(1));
        }
    }
    if let Some(days) = item.replenish_every_days {
        return Some(i64::from(days.get()) * i64::from(item.quantity.get()));
    }
    let category = item.category.as_ref()?;
    let days = policy.category_cycle_days.get(category.as_str())?;
    Some(i64::from(*days) * i64::from(item.quantity.get()))
}

fn local_date(at: DateTime<Utc>, zone: CustomerTimeZone) -> NaiveDate {
    at.with_timezone(&zone.tz()).date_naive()
}

/// Plans and cancels the follow-ups an applied order event calls for. `new_order` says the event
/// is the first of its order. Updates the profile's purchase history and follow-up index.
pub fn plan_after_order_event(
    profile: &mut Profile,
    order: &Order,
    event: &OrderEvent,
    new_order: bool,
    policy: &Policy,
) -> FollowUpChanges {
    let now = event.occurred_at;
    let zone = profile.time_zone;
    let customer = profile.customer_id.clone();
    let id = &order.order_id;
    let mut changes = FollowUpChanges::default();

    if new_order && order.status != OrderStatus::Cancelled {
        let skus: BTreeSet<&Sku> = order.items.iter().map(|i| &i.sku).collect();
        let categories: BTreeSet<&str> = order
            .items
            .iter()
            .filter_map(|i| i.category.as_ref().map(Text::as_str))
            .collect();
        let made_pointless: Vec<(String, String)> = profile
            .follow_ups
            .iter()
            .filter(|(_, p)| p.kind == FollowUpKind::Repurchase)
            .filter_map(|(key, p)| {
                let same_sku = p.sku.as_ref().is_some_and(|s| skus.contains(s));
                let same_category = p
                    .category
                    .as_ref()
                    .is_some_and(|c| categories.contains(c.as_str()));
                match (same_sku, same_category) {
                    (true, _) => Some((
                        key.clone(),
                        format!("order {id} bought the same product again"),
                    )),
                    (false, true) => Some((
                        key.clone(),
                        format!("order {id} bought from the same category"),
                    )),
                    _ => None,
                }
            })
            .collect();
        for (key, reason) in made_pointless {
            changes.cancel(profile, &key, reason);
        }
        profile.record_purchase(now, &order.items);
        let due = now + dormant_after(profile, policy);
        changes.plan(
            profile,
            FollowUp::new(
                "reactivation".into(),
                FollowUpKind::Reactivation,
                &customer,
                None,
                due,
                now,
            ),
        );
    }

    let watchdog_key = format!("watchdog#{id}");
    match watchdog_due(order, zone, policy) {
        Some(due) if !order.status.is_final() => {
            let mut check = FollowUp::new(
                watchdog_key,
                FollowUpKind::Watchdog,
                &customer,
                Some(id),
                due,
                now,
            );
            check.watch_status = Some(order.status);
            changes.plan(profile, check);
        }
        _ => changes.cancel(
            profile,
            &watchdog_key,
            format!("order {id} is {}", order.status),
        ),
    }

    let reminder_key = format!("delivery_reminder#{id}");
    let still_travelling = !order.status.is_final() && order.status != OrderStatus::OutForDelivery;
    match order.expected_on().filter(|_| still_travelling) {
        Some(eta) => {
            let due = local_instant(zone, eta - Duration::days(1), policy.reminder_time);
            if due > now {
                changes.plan(
                    profile,
                    FollowUp::new(
                        reminder_key,
                        FollowUpKind::DeliveryReminder,
                        &customer,
                        Some(id),
                        due,
                        now,
                    ),
                );
            } else {
                changes.cancel(
                    profile,
                    &reminder_key,
                    format!("the expected date of order {id} is too close for a reminder"),
                );
            }
        }
        None => changes.cancel(
            profile,
            &reminder_key,
            format!("order {id} is {}", order.status),
        ),
    }

    match order.status {
        OrderStatus::Delivered => {
            let day = local_date(now, zone) + Duration::days(policy.review_after_days);
            let due = local_instant(zone, day, policy.send_time);
            changes.plan(
                profile,
                FollowUp::new(
                    format!("review#{id}"),
                    FollowUpKind::ReviewRequest,
                    &customer,
                    Some(id),
                    due,
                    now,
                ),
            );
            for item in &order.items {
                let Some(days) = consumption_days(profile, item, policy) else {
                    continue;
                };
                let run_out = local_date(now, zone) + Duration::days(days);
                let due = local_instant(
                    zone,
                    run_out - Duration::days(policy.repurchase_lead_days),
                    policy.send_time,
                );
                if due <= now {
                    continue;
                }
                let mut reminder = FollowUp::new(
                    format!("repurchase#{}", item.sku),
                    FollowUpKind::Repurchase,
                    &customer,
                    Some(id),
                    due,
                    now,
                );
                reminder.sku = Some(item.sku.clone());
                reminder.item_name = Some(item.name.clone());
                reminder.category = item.category.clone();
                reminder.run_out_on = Some(run_out);
                changes.plan(profile, reminder);
            }
        }
        OrderStatus::Cancelled => changes.cancel(
            profile,
            &format!("review#{id}"),
            format!("order {id} was cancelled"),
        ),
        _ => {}
    }
    changes
}

/// When the watchdog looks at an order in its current status, if it should.
fn watchdog_due(order: &Order, zone: CustomerTimeZone, policy: &Policy) -> Option<DateTime<Utc>> {
    let limits = &policy.watchdog;
    let since = order.updated_at;
    match order.status {
        OrderStatus::Placed | OrderStatus::Confirmed => Some(since + limits.awaiting_packing),
        OrderStatus::Packed => Some(since + limits.packed),
        OrderStatus::OutForDelivery => Some(since + limits.out_for_delivery),
        OrderStatus::Shipped | OrderStatus::Delayed => order
            .expected_on()
            .map(|eta| local_instant(zone, eta + limits.past_eta, policy.send_time))
            .or(Some(since + limits.shipped_without_eta)),
        OrderStatus::Delivered | OrderStatus::Cancelled => None,
    }
}

/// What a person on the shop's side should look at: the watchdog's call for help.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// Whose order.
    pub customer_id: CustomerId,
    /// Which order.
    pub order_id: OrderId,
    /// The status it is stuck in.
    pub status: OrderStatus,
    /// Since when.
    pub since: DateTime<Utc>,
    /// Why a person should look, in words.
    pub reason: String,
}

/// What to do with a due follow-up.
#[derive(Debug, Clone, PartialEq)]
pub enum FollowUpDecision {
    /// Send the message now; plan `next` (another reactivation attempt) and raise `handoff`.
    Send {
        /// The message.
        message: Box<OutgoingMessage>,
        /// The follow-up that comes after this one.
        next: Option<Box<FollowUp>>,
        /// A person should look.
        handoff: Option<Box<Handoff>>,
    },
    /// Not now: due again at `until`.
    Defer {
        /// When it may go.
        until: DateTime<Utc>,
        /// Why it waits.
        reason: String,
    },
    /// Not sent, on purpose, and not tried again: switched off, no consent, held out.
    Withhold {
        /// Why.
        reason: String,
    },
    /// No longer useful (the order was delivered, the customer ordered again).
    Cancel {
        /// Why.
        reason: String,
    },
}

/// A decision and the profile after it.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUpOutcome {
    /// What to do.
    pub decision: FollowUpDecision,
    /// The profile after it: follow-up index and frequency-cap history updated.
    pub profile: Profile,
}

/// Decides what a due follow-up does at `now`. `order` is the follow-up's order, when it has
/// one. Pure: the same inputs give the same decision.
pub fn decide_follow_up(
    task: &FollowUp,
    profile: &Profile,
    order: Option<&Order>,
    now: DateTime<Utc>,
    settings: &Settings,
) -> Result<FollowUpOutcome, RenderError> {
    let mut profile = profile.clone();
    let policy = &settings.policy;
    let kind = task.kind.message_kind();
    let finish = |profile: &mut Profile| {
        profile.follow_ups.remove(&task.key);
    };

    if let Some(reason) = pointless(task, &profile, order) {
        finish(&mut profile);
        return Ok(FollowUpOutcome {
            decision: FollowUpDecision::Cancel { reason },
            profile,
        });
    }
    let withheld = if !settings.is_enabled(kind) {
        Some(format!("{kind} is switched off"))
    } else if kind.is_marketing() && !policy.consent.allows_marketing(profile.marketing_consent) {
        Some("the customer has not agreed to marketing".to_owned())
    } else {
        let percent = policy.holdout_percent.get(&kind).copied().unwrap_or(0);
        is_held_out(&profile.customer_id, kind, percent)
            .then(|| format!("held out: in the {percent}% holdout group of {kind}"))
    };
    if let Some(reason) = withheld {
        finish(&mut profile);
        return Ok(FollowUpOutcome {
            decision: FollowUpDecision::Withhold { reason },
            profile,
        });
    }
    let quiet = !kind.is_order_status() || policy.quiet_hours_for_order_status;
    let allowed = if quiet {
        policy.quiet_hours.next_allowed(now, profile.time_zone)
    } else {
        now
    };
    let defer = if allowed > now {
        Some((
            allowed,
            "quiet hours in the customer's time zone".to_owned(),
        ))
    } else if !kind.is_transactional() {
        policy
            .cap
            .next_allowed(&profile.engagement_sent, now)
            .map(|at| (at, "frequency cap".to_owned()))
    } else {
        None
    };
    if let Some((until, reason)) = defer {
        if let Some(pending) = profile.follow_ups.get_mut(&task.key) {
            pending.due_at = until;
        }
        return Ok(FollowUpOutcome {
            decision: FollowUpDecision::Defer { until, reason },
            profile,
        });
    }

    let message = crate::followup_copy::compose(task, &profile, order, now, settings)?;
    finish(&mut profile);
    if !kind.is_transactional() {
        crate::journey::push_bounded(&mut profile.engagement_sent, now, 10);
    }
    let next = (task.kind == FollowUpKind::Reactivation
        && task.attempt < policy.reactivation_attempts)
        .then(|| {
            let mut next = task.clone();
            next.attempt += 1;
            next.due_at = now + Duration::days(policy.reactivation_gap_days);
            next.planned_at = now;
            next
        });
    if let Some(next) = &next {
        profile.follow_ups.insert(next.key.clone(), next.pending());
    }
    let handoff = match (task.kind, order) {
        (FollowUpKind::Watchdog, Some(order)) => Some(Handoff {
            customer_id: profile.customer_id.clone(),
            order_id: order.order_id.clone(),
            status: order.status,
            since: order.updated_at,
            reason: format!(
                "order {} has been {} since {} with no news",
                order.order_id,
                order.status,
                order.updated_at.to_rfc3339()
            ),
        }),
        _ => None,
    };
    Ok(FollowUpOutcome {
        decision: FollowUpDecision::Send {
            message: Box::new(message),
            next: next.map(Box::new),
            handoff: handoff.map(Box::new),
        },
        profile,
    })
}

/// Why a due follow-up is no longer useful, if it is not.
fn pointless(task: &FollowUp, profile: &Profile, order: Option<&Order>) -> Option<String> {
    let ordered_since = profile
        .order_times
        .last()
        .is_some_and(|last| *last > task.planned_at);
    match task.kind {
        FollowUpKind::DeliveryReminder => match order {
            None => Some("the order is unknown".into()),
            Some(o) if o.status.is_final() || o.status == OrderStatus::OutForDelivery => {
                Some(format!("order {} is already {}", o.order_id, o.status))
            }
            _ => None,
        },
        FollowUpKind::ReviewRequest => match order {
            Some(o) if o.status == OrderStatus::Delivered => None,
            Some(o) => Some(format!("order {} is {}", o.order_id, o.status)),
            None => Some("the order is unknown".into()),
        },
        FollowUpKind::Repurchase => {
            let bought_again = task
                .sku
                .as_ref()
                .and_then(|sku| profile.sku_purchases.get(sku))
                .and_then(|times| times.last())
                .is_some_and(|last| *last > task.planned_at);
            bought_again.then(|| "the customer bought it again".into())
        }
        FollowUpKind::Reactivation => ordered_since.then(|| "the customer ordered again".into()),
        FollowUpKind::Watchdog => match order {
            Some(o) if Some(o.status) == task.watch_status && o.updated_at <= task.planned_at => {
                None
            }
            Some(o) => Some(format!("order {} moved on to {}", o.order_id, o.status)),
            None => Some("the order is unknown".into()),
        },
    }
}

/// The message id of a follow-up's message: one per key and attempt.
pub fn follow_up_message_id(task: &FollowUp) -> MessageId {
    MessageId::derive(
        &task.customer_id,
        &format!("{}#{}", task.key, task.attempt),
        task.kind.message_kind(),
    )
}

/// Renders through the shared layout.
pub(crate) fn rendered(
    copy: &crate::catalogue::Copy,
    settings: &Settings,
    language: crate::contact::Language,
) -> Result<crate::render::Rendered, RenderError> {
    render(copy, settings.brand.shop_name.as_str(), language)
}
