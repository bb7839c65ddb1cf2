//! Which follow-ups an applied order event plans and cancels: the delivery reminder, the
//! watchdog's check, the review request and repurchase reminders, the reactivation check.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::contact::CustomerTimeZone;
use crate::event::{LineItem, OrderEvent};
use crate::guardrails::local_instant;
use crate::ids::Sku;
use crate::order::Order;
use crate::profile::{FollowUpKind, Profile};
use crate::settings::Policy;
use crate::status::OrderStatus;
use crate::text::Text;
use crate::time_shift::{between, days, midpoint, scaled, Shift};

use super::types::{FollowUp, FollowUpChanges, MAX_REPURCHASE_PER_ORDER};

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

/// The calendar date of `at` in `zone`.
pub(crate) fn local_date(at: DateTime<Utc>, zone: CustomerTimeZone) -> NaiveDate {
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
