//! A planned follow-up, and the plans and cancellations a decision makes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, OrderId, Sku};
use crate::profile::{CancelledFollowUp, FollowUpKind, PendingFollowUp, Profile};
use crate::status::OrderStatus;
use crate::text::Text;

/// The most repurchase reminders one delivery plans (keeps a decision's write well inside
/// DynamoDB's 100 items per transaction).
pub const MAX_REPURCHASE_PER_ORDER: usize = 20;
/// The most repurchase reminders planned for one customer at once: beyond it, the one due
/// latest is cancelled, with the reason.
pub const MAX_PLANNED_REPURCHASES: usize = 8;
/// The most follow-ups planned for one customer at once (the profile's index of them stays
/// within a fixed size): beyond it, the one due latest is cancelled, with the reason.
pub const MAX_PLANNED_FOLLOW_UPS: usize = 48;

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    /// When it falls due.
    pub due_at: DateTime<Utc>,
    /// When it was planned: anything the customer did after this may make it pointless.
    pub planned_at: DateTime<Utc>,
    /// The attempt (reactivation sends up to the policy's number of attempts).
    pub attempt: u32,
    /// For the watchdog: the status the order was in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch_status: Option<OrderStatus>,
    /// For repurchase: the product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<Sku>,
    /// For repurchase: its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_name: Option<Text>,
    /// For repurchase: its category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Text>,
    /// For repurchase: when it is expected to run out, in the customer's calendar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_out_on: Option<NaiveDate>,
    /// For the watchdog: whether its call for a person has gone out already (a deferred
    /// update does not call twice).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub handoff_raised: bool,
}

impl FollowUp {
    /// A first attempt of `kind` under `key`, planned at `now` to fall due at `due_at`.
    pub(crate) fn new(
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

/// The follow-ups a decision plans and cancels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowUpChanges {
    /// New or moved plans (replacing any plan with the same key).
    pub planned: Vec<FollowUp>,
    /// Plans that no longer go.
    pub cancelled: Vec<CancelledFollowUp>,
}

impl FollowUpChanges {
    /// Plans `follow_up` (replacing a plan with its key), and records it in the profile's index.
    pub(crate) fn plan(&mut self, profile: &mut Profile, follow_up: FollowUp) {
        if profile.follow_ups.get(&follow_up.key) == Some(&follow_up.pending()) {
            return;
        }
        // One plan per key: a later plan in the same decision (an order listing one product on
        // two lines) replaces the earlier, as it does in the table.
        self.cancelled.retain(|c| c.key != follow_up.key);
        self.planned.retain(|p| p.key != follow_up.key);
        profile
            .follow_ups
            .insert(follow_up.key.clone(), follow_up.pending());
        self.planned.push(follow_up);
        self.keep_within_limits(profile);
    }

    /// Cancels the follow-ups due latest while the customer has more than
    /// [`MAX_PLANNED_REPURCHASES`] repurchase reminders or [`MAX_PLANNED_FOLLOW_UPS`] plans.
    fn keep_within_limits(&mut self, profile: &mut Profile) {
        loop {
            let repurchases = profile
                .follow_ups
                .values()
                .filter(|p| p.kind == FollowUpKind::Repurchase)
                .count();
            let (only_repurchases, reason) = if repurchases > MAX_PLANNED_REPURCHASES {
                (
                    true,
                    format!(
                        "the customer has {MAX_PLANNED_REPURCHASES} sooner repurchase reminders planned"
                    ),
                )
            } else if profile.follow_ups.len() > MAX_PLANNED_FOLLOW_UPS {
                (
                    false,
                    format!("the customer has {MAX_PLANNED_FOLLOW_UPS} sooner follow-ups planned"),
                )
            } else {
                return;
            };
            let latest = profile
                .follow_ups
                .iter()
                .filter(|(_, p)| !only_repurchases || p.kind == FollowUpKind::Repurchase)
                .max_by_key(|(key, p)| (p.due_at, (*key).clone()))
                .map(|(key, _)| key.clone());
            match latest {
                Some(key) => self.cancel(profile, &key, reason),
                None => return,
            }
        }
    }

    /// Cancels the plan under `key`, if there is one, with `reason`.
    pub(crate) fn cancel(&mut self, profile: &mut Profile, key: &str, reason: String) {
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
