//! Follow-ups: messages planned for later, and what happens when one falls due.
//!
//! Order decisions plan them in the same write that applies the event: an expected date plans
//! the delivery reminder, every status plans the watchdog's check, a delivery plans the review
//! request and repurchase reminders, a new order plans the reactivation check (and cancels
//! repurchase reminders it made pointless). The schedule function hands each due follow-up to
//! [`decide_follow_up`], which sends it, defers it (quiet hours, frequency cap), withholds it
//! (switched off, no consent, holdout) or cancels it (no longer useful), always with a reason.

use std::collections::BTreeSet;

use crate::time_shift::{between, days, midpoint, scaled, Shift};
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

/// The most repurchase reminders one delivery plans (keeps a decision's write well inside
/// DynamoDB's 100 items per transaction).
pub const MAX_REPURCHASE_PER_ORDER: usize = 20;

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
    /// For the watchdog: the status it watches.
    #[serde(default)]
    pub watch_status: Option<OrderStatus>,
    /// The attempt.
    #[serde(default)]
    pub attempt: u32,
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
    /// For the watchdog: whether its call for a person has gone out already (a deferred
    /// update does not call twice).
    #[serde(default)]
    pub handoff_raised: bool,
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
            handoff_raised: false,
        }
    }

    /// Its entry in the profile's index.
    pub fn pending(&self) -> PendingFollowUp {
        PendingFollowUp {
            kind: self.kind,
            due_at: self.due_at,
            sku: self.sku.clone(),
            category: self.category.clone(),
            watch_status: self.watch_status,
            attempt: self.attempt,
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
    let mut gaps: Vec<Duration> = times.windows(2).map(|w| between(w[0], w[1])).collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_unstable();
    let middle = gaps.len() / 2;
    Some(if gaps.len() % 2 == 1 {
        gaps[middle]
    } else {
        midpoint(gaps[middle - 1], gaps[middle])
    })
}

/// How long without an order makes this customer dormant: the policy's minimum, or its factor
/// times their median interval between orders if that is longer.
pub fn dormant_after(profile: &Profile, policy: &Policy) -> Duration {
    let minimum = days(policy.dormant_min_days);
    match median_interval(&profile.order_times) {
        Some(median) => minimum.max(scaled(median, policy.dormant_median_factor as i32)),
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
    zone.local(at).date_naive()
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
        // Timed from the latest order, which may be newer than this event if events arrive
        // out of order.
        let last_order = profile.order_times.last().copied().unwrap_or(now);
        let due = last_order.plus(dormant_after(profile, policy));
        let mut check = FollowUp::new(
            "reactivation".into(),
            FollowUpKind::Reactivation,
            &customer,
            None,
            due,
            now,
        );
        check.planned_at = last_order;
        changes.plan(profile, check);
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
            // What the order showed when planned: an out-of-order event may be older.
            check.planned_at = order.updated_at;
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
            let due = local_instant(zone, eta.minus(days(1)), policy.reminder_time);
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
            let day = local_date(now, zone).plus(days(policy.review_after_days));
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
            let consumables: Vec<(&LineItem, i64)> = order
                .items
                .iter()
                .filter_map(|item| consumption_days(profile, item, policy).map(|days| (item, days)))
                .take(MAX_REPURCHASE_PER_ORDER)
                .collect();
            for (item, lasts) in consumables {
                let run_out = local_date(now, zone).plus(days(lasts));
                let due = local_instant(
                    zone,
                    run_out.minus(days(policy.repurchase_lead_days)),
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
        OrderStatus::Placed | OrderStatus::Confirmed => Some(since.plus(limits.awaiting_packing)),
        OrderStatus::Packed => Some(since.plus(limits.packed)),
        OrderStatus::OutForDelivery => Some(since.plus(limits.out_for_delivery)),
        OrderStatus::Shipped | OrderStatus::Delayed => order
            .expected_on()
            .map(|eta| local_instant(zone, eta.plus(limits.past_eta), policy.send_time))
            .or(Some(since.plus(limits.shipped_without_eta))),
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
    /// Send the message now; plan `next` (another reactivation attempt).
    Send {
        /// The message.
        message: Box<OutgoingMessage>,
        /// The follow-up that comes after this one.
        next: Option<Box<FollowUp>>,
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
    /// A person should look: raised by the watchdog once per stuck status, whatever happens to
    /// its email (sent, deferred by quiet hours, withheld), because the email's guardrails
    /// protect the customer's inbox, not the shop's attention.
    pub handoff: Option<Handoff>,
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
    let handoff = match (task.kind, order, task.handoff_raised) {
        (FollowUpKind::Watchdog, Some(order), false) => Some(Handoff {
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
    let finish = |profile: &mut Profile| {
        profile.follow_ups.remove(&task.key);
    };

    if let Some(reason) = pointless(task, &profile, order, now) {
        finish(&mut profile);
        return Ok(FollowUpOutcome {
            decision: FollowUpDecision::Cancel { reason },
            profile,
            handoff: None,
        });
    }
    let withheld = if !settings.is_enabled(kind) {
        Some(format!("{kind} is switched off"))
    } else if let Some(reason) = crate::preferences::held_back(&profile, kind) {
        Some(reason)
    } else if kind.is_marketing() && !policy.consent.allows_marketing(profile.marketing_consent) {
        Some("the customer has not agreed to marketing".to_owned())
    } else if let (true, Some(issue)) = (kind.is_marketing(), &profile.open_issue) {
        Some(format!(
            "the customer has an open complaint about order {} that a person has not resolved",
            issue.order_id
        ))
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
            handoff,
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
            handoff,
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
            next.due_at = now.plus(days(policy.reactivation_gap_days));
            next.planned_at = now;
            next
        });
    if let Some(next) = &next {
        profile.follow_ups.insert(next.key.clone(), next.pending());
    }
    Ok(FollowUpOutcome {
        decision: FollowUpDecision::Send {
            message: Box::new(message),
            next: next.map(Box::new),
        },
        profile,
        handoff,
    })
}

/// Why a due follow-up is no longer useful, if it is not.
fn pointless(
    task: &FollowUp,
    profile: &Profile,
    order: Option<&Order>,
    now: DateTime<Utc>,
) -> Option<String> {
    let ordered_since = profile
        .order_times
        .last()
        .is_some_and(|last| *last > task.planned_at);
    match task.kind {
        FollowUpKind::DeliveryReminder => match order {
            None => Some("the order is unknown".into()),
            Some(o)
                if o.expected_on()
                    .is_some_and(|eta| local_date(now, profile.time_zone) >= eta) =>
            {
                Some(format!(
                    "the expected date of order {} has come",
                    o.order_id
                ))
            }
            Some(o) if o.status.is_final() || o.status == OrderStatus::OutForDelivery => {
                Some(format!("order {} is already {}", o.order_id, o.status))
            }
            _ => None,
        },
        FollowUpKind::ReviewRequest => match order {
            Some(o) if profile.ratings.contains_key(&o.order_id) => {
                Some(format!("the customer rated order {} already", o.order_id))
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::parse_order_event;
    use crate::links::verify;
    use crate::order_events::{decide_order_event, OrderJourney};
    use serde_json::json;

    fn settings() -> Settings {
        crate::fixtures::settings()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    struct Shop {
        journey: OrderJourney,
        settings: Settings,
        zone: &'static str,
        consent: Option<bool>,
    }

    impl Shop {
        fn new(zone: &'static str) -> Self {
            Self {
                journey: OrderJourney::default(),
                settings: settings(),
                zone,
                consent: None,
            }
        }

        /// Applies an event of `order` and returns the decision's follow-up changes.
        fn event(
            &mut self,
            order: &str,
            status: &str,
            when: &str,
            extra: serde_json::Value,
        ) -> FollowUpChanges {
            let mut body = json!({
                "event_id": format!("{order}-{status}-{when}"), "order_id": order, "status": status, "occurred_at": when,
                "customer": {"id": "c-1", "email": "anna@example.com", "name": "Anna", "locale": "en", "time_zone": self.zone},
                "items": [{"sku": "TEA-1", "name": "Assam", "category": "tea", "quantity": 2, "replenish_every_days": 30},
                          {"sku": "MUG-1", "name": "Mug", "category": "tableware", "quantity": 1}],
            });
            if let Some(consent) = self.consent {
                body["customer"]["marketing_consent"] = json!(consent);
            }
            for (k, v) in extra.as_object().cloned().unwrap_or_default() {
                body[k] = v;
            }
            let event =
                parse_order_event(&body.to_string(), &crate::event::AcceptedYears::default())
                    .unwrap();
            let order_now = self
                .journey
                .order
                .as_ref()
                .filter(|o| o.order_id.as_str() == order)
                .cloned();
            let journey = OrderJourney {
                profile: self.journey.profile.clone(),
                order: order_now,
            };
            let decision = decide_order_event(&journey, &event, &self.settings).unwrap();
            self.journey = OrderJourney {
                profile: Some(decision.profile),
                order: Some(decision.order),
            };
            decision.follow_ups
        }

        fn profile(&self) -> &Profile {
            self.journey.profile.as_ref().unwrap()
        }

        fn order(&self) -> &Order {
            self.journey.order.as_ref().unwrap()
        }

        fn decide(&self, task: &FollowUp, now: &str) -> FollowUpOutcome {
            decide_follow_up(
                task,
                self.profile(),
                self.journey.order.as_ref(),
                at(now),
                &self.settings,
            )
            .unwrap()
        }
    }

    fn planned<'a>(changes: &'a FollowUpChanges, key: &str) -> &'a FollowUp {
        changes
            .planned
            .iter()
            .find(|f| f.key == key)
            .unwrap_or_else(|| panic!("{key} not planned: {changes:?}"))
    }

    #[test]
    fn delivery_plans_a_review_request_three_days_later_at_ten_local_time() {
        let mut shop = Shop::new("Europe/Moscow");
        shop.event("1042", "placed", "2026-11-18T09:00:00Z", json!({}));
        // 23:00 in Moscow on the 20th.
        let changes = shop.event("1042", "delivered", "2026-11-20T20:00:00Z", json!({}));
        assert_eq!(
            planned(&changes, "review#1042").due_at,
            at("2026-11-23T07:00:00Z")
        );
    }

    #[test]
    fn an_expected_date_plans_the_delivery_reminder_the_evening_before_in_the_customers_zone() {
        let mut shop = Shop::new("America/Los_Angeles");
        let changes = shop.event(
            "1042",
            "shipped",
            "2026-11-20T18:00:00Z",
            json!({"delivery": {"eta": "2026-11-24", "carrier": "UPS"}}),
        );
        // 17:00 PST on the 23rd.
        assert_eq!(
            planned(&changes, "delivery_reminder#1042").due_at,
            at("2026-11-24T01:00:00Z")
        );
        let changes = shop.event("1042", "delivered", "2026-11-24T18:00:00Z", json!({}));
        let cancelled: Vec<&str> = changes.cancelled.iter().map(|c| c.key.as_str()).collect();
        assert!(
            cancelled.contains(&"delivery_reminder#1042") && cancelled.contains(&"watchdog#1042"),
            "{cancelled:?}"
        );
    }

    #[test]
    fn an_expected_date_too_close_plans_no_reminder() {
        let mut shop = Shop::new("Europe/Berlin");
        let changes = shop.event(
            "1042",
            "shipped",
            "2026-11-23T18:00:00Z",
            json!({"delivery": {"eta": "2026-11-24", "carrier": "DHL"}}),
        );
        assert!(changes
            .planned
            .iter()
            .all(|f| f.kind != FollowUpKind::DeliveryReminder));
    }

    #[test]
    fn the_watchdog_follows_each_status_with_its_own_limit() {
        let mut shop = Shop::new("Europe/Berlin");
        let changes = shop.event("1042", "placed", "2026-11-20T10:00:00Z", json!({}));
        assert_eq!(
            planned(&changes, "watchdog#1042").due_at,
            at("2026-11-21T10:00:00Z")
        );
        let changes = shop.event("1042", "packed", "2026-11-20T15:00:00Z", json!({}));
        let check = planned(&changes, "watchdog#1042");
        assert_eq!(
            (check.due_at, check.watch_status),
            (at("2026-11-22T15:00:00Z"), Some(OrderStatus::Packed))
        );
        // Shipped with an ETA: one day past it, at 10:00 local (09:00 UTC in Berlin in winter).
        let changes = shop.event(
            "1042",
            "shipped",
            "2026-11-21T10:00:00Z",
            json!({"delivery": {"eta": "2026-11-25", "carrier": "DHL"}}),
        );
        assert_eq!(
            planned(&changes, "watchdog#1042").due_at,
            at("2026-11-26T09:00:00Z")
        );
    }

    #[test]
    fn a_forward_step_with_an_older_timestamp_still_gets_a_working_watchdog() {
        let mut shop = Shop::new("UTC");
        shop.event("1042", "placed", "2026-11-20T10:00:00Z", json!({}));
        let changes = shop.event("1042", "confirmed", "2026-11-20T09:00:00Z", json!({}));
        let check = planned(&changes, "watchdog#1042").clone();
        let outcome = shop.decide(&check, "2026-11-21T12:00:00Z");
        assert!(
            matches!(outcome.decision, FollowUpDecision::Send { .. }),
            "{:?}",
            outcome.decision
        );
    }

    #[test]
    fn a_status_change_at_the_same_instant_moves_the_watchdog_to_the_new_status() {
        let mut shop = Shop::new("UTC");
        shop.event("1042", "placed", "2026-11-20T10:00:00Z", json!({}));
        let changes = shop.event("1042", "confirmed", "2026-11-20T10:00:00Z", json!({}));
        assert_eq!(
            planned(&changes, "watchdog#1042").watch_status,
            Some(OrderStatus::Confirmed)
        );
    }

    #[test]
    fn a_late_event_of_an_older_order_does_not_bring_reactivation_forward() {
        let mut shop = Shop::new("UTC");
        shop.event("B", "placed", "2026-03-01T10:00:00Z", json!({}));
        shop.journey.order = None;
        let changes = shop.event("A", "placed", "2026-01-01T10:00:00Z", json!({}));
        let check = planned(&changes, "reactivation");
        assert_eq!(check.planned_at, at("2026-03-01T10:00:00Z"));
        assert!(
            check.due_at >= at("2026-05-30T10:00:00Z"),
            "{}",
            check.due_at
        );
    }

    #[test]
    fn a_stuck_order_gets_an_honest_update_and_a_person_is_asked_to_look() {
        let mut shop = Shop::new("Europe/Berlin");
        let changes = shop.event("1042", "placed", "2026-11-20T10:00:00Z", json!({}));
        let check = planned(&changes, "watchdog#1042").clone();
        let outcome = shop.decide(&check, "2026-11-21T10:00:00Z");
        let handoff = outcome.handoff.clone();
        let FollowUpDecision::Send { message, .. } = outcome.decision else {
            panic!("{:?}", outcome.decision)
        };
        assert_eq!(message.kind, MessageKind::WatchdogUpdate);
        assert!(
            message.text.contains("have not forgotten you"),
            "{}",
            message.text
        );
        let handoff = handoff.unwrap();
        assert_eq!(
            (handoff.order_id.as_str(), handoff.status),
            ("1042", OrderStatus::Placed)
        );
        assert!(!outcome.profile.follow_ups.contains_key("watchdog#1042"));
    }

    #[test]
    fn the_watchdog_stands_down_when_the_order_moved_on() {
        let mut shop = Shop::new("Europe/Berlin");
        let first = shop.event("1042", "placed", "2026-11-20T10:00:00Z", json!({}));
        let stale = planned(&first, "watchdog#1042").clone();
        shop.event("1042", "packed", "2026-11-20T20:00:00Z", json!({}));
        let outcome = shop.decide(&stale, "2026-11-21T10:00:00Z");
        assert!(
            matches!(outcome.decision, FollowUpDecision::Cancel { ref reason } if reason.contains("moved on")),
            "{:?}",
            outcome.decision
        );
    }

    #[test]
    fn a_reminder_for_an_order_already_delivered_is_cancelled_with_the_reason() {
        let mut shop = Shop::new("Europe/Berlin");
        let changes = shop.event(
            "1042",
            "shipped",
            "2026-11-20T10:00:00Z",
            json!({"delivery": {"eta": "2026-11-25", "carrier": "DHL"}}),
        );
        let reminder = planned(&changes, "delivery_reminder#1042").clone();
        shop.event("1042", "delivered", "2026-11-22T10:00:00Z", json!({}));
        let outcome = shop.decide(&reminder, "2026-11-24T16:00:00Z");
        assert!(
            matches!(outcome.decision, FollowUpDecision::Cancel { ref reason } if reason.contains("delivered"))
        );
    }

    #[test]
    fn repurchase_is_timed_to_the_items_cycle_times_quantity_less_the_lead_time() {
        let mut shop = Shop::new("Europe/Berlin");
        shop.event("1042", "placed", "2026-11-01T10:00:00Z", json!({}));
        let changes = shop.event("1042", "delivered", "2026-11-03T12:00:00Z", json!({}));
        // 2 × 30 days from 3 November is 2 January; 7 days earlier at 10:00 Berlin time.
        let reminder = planned(&changes, "repurchase#TEA-1");
        assert_eq!(reminder.run_out_on, NaiveDate::from_ymd_opt(2027, 1, 2));
        assert_eq!(reminder.due_at, at("2026-12-26T09:00:00Z"));
        assert!(
            changes.planned.iter().all(|f| f.key != "repurchase#MUG-1"),
            "mugs are not consumed"
        );
    }

    #[test]
    fn after_three_purchases_the_customers_own_median_interval_wins() {
        let mut shop = Shop::new("UTC");
        shop.event("A", "placed", "2026-08-01T10:00:00Z", json!({}));
        shop.journey.order = None;
        shop.event("B", "placed", "2026-08-21T10:00:00Z", json!({}));
        shop.journey.order = None;
        shop.event("C", "placed", "2026-09-10T10:00:00Z", json!({}));
        let changes = shop.event("C", "delivered", "2026-09-12T10:00:00Z", json!({}));
        // Intervals of 20 days beat 2 × 30.
        assert_eq!(
            planned(&changes, "repurchase#TEA-1").run_out_on,
            NaiveDate::from_ymd_opt(2026, 10, 2)
        );
    }

    #[test]
    fn a_new_order_of_the_same_product_or_category_cancels_the_repurchase_reminder() {
        let mut shop = Shop::new("UTC");
        shop.event("A", "placed", "2026-10-01T10:00:00Z", json!({}));
        let delivered = shop.event("A", "delivered", "2026-10-03T10:00:00Z", json!({}));
        let reminder = planned(&delivered, "repurchase#TEA-1").clone();
        shop.journey.order = None;
        let reorder = json!({"items": [{"sku": "TEA-2", "name": "Darjeeling", "category": "tea", "quantity": 1}]});
        let changes = shop.event("B", "placed", "2026-10-20T10:00:00Z", reorder);
        let cancelled = changes
            .cancelled
            .iter()
            .find(|c| c.key == "repurchase#TEA-1")
            .expect("cancelled");
        assert!(
            cancelled.reason.contains("same category"),
            "{}",
            cancelled.reason
        );
        // Had the reminder been claimed anyway, the decision cancels it too.
        let mut profile_bought_again = shop.profile().clone();
        profile_bought_again
            .sku_purchases
            .get_mut(&Sku::parse("TEA-1").unwrap())
            .unwrap()
            .push(at("2026-10-21T10:00:00Z"));
        let outcome = decide_follow_up(
            &reminder,
            &profile_bought_again,
            None,
            at("2026-10-25T10:00:00Z"),
            &shop.settings,
        )
        .unwrap();
        assert!(matches!(outcome.decision, FollowUpDecision::Cancel { .. }));
    }

    #[test]
    fn the_median_interval_works_with_two_three_and_many_orders() {
        let days = |list: &[i64]| {
            list.iter()
                .map(|d| at("2026-01-01T00:00:00Z") + Duration::days(*d))
                .collect::<Vec<_>>()
        };
        assert_eq!(median_interval(&days(&[0])), None);
        assert_eq!(median_interval(&days(&[0, 10])), Some(Duration::days(10)));
        assert_eq!(
            median_interval(&days(&[0, 10, 40])),
            Some(Duration::days(20))
        );
        assert_eq!(
            median_interval(&days(&[0, 5, 15, 30, 100])),
            Some(Duration::days(12) + Duration::hours(12))
        );
    }

    #[test]
    fn dormancy_is_ninety_days_or_three_median_intervals_whichever_is_longer() {
        let policy = Policy::default();
        let mut shop = Shop::new("UTC");
        shop.event("A", "placed", "2026-01-01T00:00:00Z", json!({}));
        assert_eq!(dormant_after(shop.profile(), &policy), Duration::days(90));
        shop.journey.order = None;
        shop.event("B", "placed", "2026-03-02T00:00:00Z", json!({}));
        // One interval of 60 days: 3 × 60 = 180 days.
        assert_eq!(dormant_after(shop.profile(), &policy), Duration::days(180));
    }

    #[test]
    fn reactivation_makes_two_attempts_fourteen_days_apart_then_stops() {
        let mut shop = Shop::new("UTC");
        let changes = shop.event("A", "placed", "2026-01-01T10:00:00Z", json!({}));
        let first = planned(&changes, "reactivation").clone();
        assert_eq!(first.due_at, at("2026-04-01T10:00:00Z"));
        let outcome = shop.decide(&first, "2026-04-01T10:00:00Z");
        let FollowUpDecision::Send { message, next, .. } = outcome.decision else {
            panic!()
        };
        assert!(
            message.subject.contains("We miss you"),
            "{}",
            message.subject
        );
        let second = *next.unwrap();
        assert_eq!(
            (second.attempt, second.due_at),
            (2, at("2026-04-15T10:00:00Z"))
        );
        let mut shop = Shop {
            journey: OrderJourney {
                profile: Some(outcome.profile),
                order: None,
            },
            ..Shop::new("UTC")
        };
        shop.settings = settings();
        let outcome = shop.decide(&second, "2026-04-15T10:00:00Z");
        let FollowUpDecision::Send { message, next, .. } = outcome.decision else {
            panic!()
        };
        assert!(message.subject.contains("One last hello"));
        assert!(next.is_none(), "no third attempt");
    }

    #[test]
    fn a_new_order_ends_the_reactivation_journey() {
        let mut shop = Shop::new("UTC");
        let changes = shop.event("A", "placed", "2026-01-01T10:00:00Z", json!({}));
        let first = planned(&changes, "reactivation").clone();
        shop.journey.order = None;
        shop.event("B", "placed", "2026-03-01T10:00:00Z", json!({}));
        let outcome = shop.decide(&first, "2026-04-01T10:00:00Z");
        assert!(
            matches!(outcome.decision, FollowUpDecision::Cancel { ref reason } if reason.contains("ordered again"))
        );
    }

    fn delivered_review(shop: &mut Shop) -> FollowUp {
        shop.event("1042", "placed", "2026-11-18T09:00:00Z", json!({}));
        let changes = shop.event("1042", "delivered", "2026-11-20T10:00:00Z", json!({}));
        planned(&changes, "review#1042").clone()
    }

    #[test]
    fn a_review_request_for_an_order_the_customer_rated_already_is_cancelled() {
        let mut shop = Shop::new("UTC");
        let review = delivered_review(&mut shop);
        let mut profile = shop.profile().clone();
        profile.ratings.insert(
            OrderId::parse("1042").unwrap(),
            crate::feedback::Rating {
                score: crate::feedback::Score::new(2).unwrap(),
                comment: None,
                first_at: at("2026-11-21T08:00:00Z"),
                updated_at: at("2026-11-21T08:00:00Z"),
            },
        );
        shop.journey.profile = Some(profile);
        let outcome = shop.decide(&review, "2026-11-23T10:00:00Z");
        assert_eq!(
            outcome.decision,
            FollowUpDecision::Cancel {
                reason: "the customer rated order 1042 already".into()
            }
        );
    }

    #[test]
    fn a_review_request_due_in_quiet_hours_waits_until_morning() {
        let mut shop = Shop::new("America/Los_Angeles");
        let review = delivered_review(&mut shop);
        // 22:30 in Los Angeles.
        let outcome = shop.decide(&review, "2026-11-24T06:30:00Z");
        assert_eq!(
            outcome.decision,
            FollowUpDecision::Defer {
                until: at("2026-11-24T17:00:00Z"),
                reason: "quiet hours in the customer's time zone".into()
            }
        );
        assert_eq!(
            outcome.profile.follow_ups["review#1042"].due_at,
            at("2026-11-24T17:00:00Z")
        );
    }

    #[test]
    fn the_frequency_cap_holds_a_second_message_within_a_day() {
        let mut shop = Shop::new("UTC");
        let review = delivered_review(&mut shop);
        let mut profile = shop.profile().clone();
        profile.engagement_sent.push(at("2026-11-23T09:00:00Z"));
        let outcome = decide_follow_up(
            &review,
            &profile,
            shop.journey.order.as_ref(),
            at("2026-11-23T12:00:00Z"),
            &shop.settings,
        )
        .unwrap();
        assert_eq!(
            outcome.decision,
            FollowUpDecision::Defer {
                until: at("2026-11-24T09:00:00Z"),
                reason: "frequency cap".into()
            }
        );
    }

    #[test]
    fn marketing_needs_consent_but_a_review_request_does_not() {
        let mut shop = Shop::new("UTC");
        shop.consent = Some(false);
        let review = delivered_review(&mut shop);
        let changes_repurchase = shop.profile().follow_ups.get("repurchase#TEA-1").cloned();
        assert!(changes_repurchase.is_some());
        assert!(matches!(
            shop.decide(&review, "2026-11-23T12:00:00Z").decision,
            FollowUpDecision::Send { .. }
        ));
        let mut reminder = review.clone();
        reminder.kind = FollowUpKind::Repurchase;
        reminder.key = "repurchase#TEA-1".into();
        let outcome = shop.decide(&reminder, "2026-12-10T12:00:00Z");
        assert!(
            matches!(outcome.decision, FollowUpDecision::Withhold { ref reason } if reason.contains("marketing"))
        );
    }

    #[test]
    fn a_switched_off_kind_and_a_holdout_customer_are_withheld_with_the_reason() {
        let mut shop = Shop::new("UTC");
        let review = delivered_review(&mut shop);
        shop.settings
            .disabled_kinds
            .insert(MessageKind::ReviewRequest);
        assert!(
            matches!(shop.decide(&review, "2026-11-23T12:00:00Z").decision, FollowUpDecision::Withhold { ref reason } if reason.contains("switched off"))
        );
        shop.settings.disabled_kinds.clear();
        shop.settings
            .policy
            .holdout_percent
            .insert(MessageKind::ReviewRequest, 100);
        assert!(
            matches!(shop.decide(&review, "2026-11-23T12:00:00Z").decision, FollowUpDecision::Withhold { ref reason } if reason.contains("holdout"))
        );
    }

    #[test]
    fn a_review_request_carries_five_signed_links_for_this_customer_and_order() {
        let mut shop = Shop::new("UTC");
        let review = delivered_review(&mut shop);
        let outcome = shop.decide(&review, "2026-11-23T12:00:00Z");
        let FollowUpDecision::Send { message, .. } = outcome.decision else {
            panic!()
        };
        let links: Vec<&str> = message
            .text
            .lines()
            .filter(|l| l.contains("/rate?token="))
            .collect();
        assert_eq!(links.len(), 5, "{}", message.text);
        let token = links[4]
            .split("token=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let keys = &shop.settings.links.as_ref().unwrap().keys;
        let claims = verify(keys, token, at("2026-11-24T00:00:00Z")).unwrap();
        assert_eq!(
            (claims.customer.as_str(), claims.order.as_str()),
            ("c-1", "1042")
        );
        assert!(links[4].ends_with("score=5"));
        assert!(
            message
                .text
                .contains("Unsubscribe or choose which emails you get: https://feedback.leafandkettle.example/unsubscribe?token=p1."),
            "a way out in non-transactional mail"
        );
        let headers = message.list_unsubscribe.as_ref().unwrap();
        assert!(message.text.contains(&headers.https));
        let mut unsigned = shop.settings.clone();
        unsigned.links = None;
        shop.settings = unsigned;
        let FollowUpDecision::Send { message, .. } =
            shop.decide(&review, "2026-11-23T12:00:00Z").decision
        else {
            panic!()
        };
        assert!(
            message.text.contains("take you off the list") && message.list_unsubscribe.is_none(),
            "without signed links a reply to a person is the way out"
        );
    }

    #[test]
    fn an_unsubscribed_or_suppressed_customer_gets_no_follow_up_and_the_reason_is_recorded() {
        let mut shop = Shop::new("UTC");
        let review = delivered_review(&mut shop);
        let profile = shop.journey.profile.clone().unwrap();
        let (unsubscribed, _) = crate::preferences::unsubscribe(
            &profile,
            &[crate::preferences::MailTopic::ReviewRequests],
            crate::preferences::OptOutSource::OneClick,
            at("2026-11-21T08:00:00Z"),
        );
        shop.journey.profile = Some(unsubscribed);
        let outcome = shop.decide(&review, "2026-11-23T12:00:00Z");
        assert!(
            matches!(outcome.decision, FollowUpDecision::Withhold { ref reason } if reason.contains("unsubscribed from review_requests with one click")),
            "{:?}",
            outcome.decision
        );
        let (suppressed, _) = crate::preferences::apply_bounce(
            &profile,
            &crate::preferences::Bounce {
                address: profile.email.clone(),
                permanent: true,
                subtype: "NoEmail".into(),
                feedback_id: "f-1".into(),
                at: at("2026-11-21T08:00:00Z"),
            },
        );
        shop.journey.profile = Some(suppressed);
        let outcome = shop.decide(&review, "2026-11-23T12:00:00Z");
        assert!(
            matches!(outcome.decision, FollowUpDecision::Withhold { ref reason } if reason.contains("suppressed")),
            "{:?}",
            outcome.decision
        );
    }

    #[test]
    fn every_follow_up_renders_in_both_languages() {
        for locale in ["en", "ru"] {
            let mut shop = Shop::new("Europe/Moscow");
            shop.event(
                "1042",
                "shipped",
                "2026-11-18T09:00:00Z",
                json!({"delivery": {"eta": "2026-11-25", "carrier": "DHL"}}),
            );
            let mut profile = shop.profile().clone();
            profile.locale = crate::contact::Locale::parse(locale).unwrap();
            for kind in [
                FollowUpKind::DeliveryReminder,
                FollowUpKind::ReviewRequest,
                FollowUpKind::Repurchase,
                FollowUpKind::Reactivation,
                FollowUpKind::Watchdog,
            ] {
                let mut task = FollowUp::new(
                    format!("{kind:?}"),
                    kind,
                    &profile.customer_id,
                    Some(&shop.order().order_id),
                    at("2026-11-20T09:00:00Z"),
                    at("2026-11-18T09:00:00Z"),
                );
                task.watch_status = Some(OrderStatus::Shipped);
                task.item_name = Some(Text::parse("Assam").unwrap());
                task.run_out_on = NaiveDate::from_ymd_opt(2026, 12, 1);
                let message = crate::followup_copy::compose(
                    &task,
                    &profile,
                    shop.journey.order.as_ref(),
                    at("2026-11-20T09:00:00Z"),
                    &shop.settings,
                )
                .unwrap();
                assert!(
                    !message.subject.is_empty()
                        && message.html.contains("help@leafandkettle.example"),
                    "{kind:?} {locale}"
                );
                if locale == "ru" {
                    assert!(
                        message.subject.chars().any(|c| ('а'..='я').contains(&c)),
                        "{kind:?}: {}",
                        message.subject
                    );
                }
            }
        }
    }
}
