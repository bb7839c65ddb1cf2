//! What a due follow-up does at `now`: send, defer (quiet hours, frequency cap), withhold
//! (switched off, unsubscribed, no consent, open complaint, holdout) or cancel (no longer
//! useful), always with a reason.

use chrono::{DateTime, Utc};

use crate::consent::held_back;
use crate::guardrails::is_held_out;
use crate::handoff::Handoff;
use crate::insight::attribution::record_touch;
use crate::message::OutgoingMessage;
use crate::order::Order;
use crate::profile::{push_bounded, FollowUpKind, Profile, Touch, TouchBy};
use crate::render::RenderError;
use crate::settings::Settings;
use crate::status::OrderStatus;
use crate::time_shift::{days, Shift};

use super::plan::local_date;
use super::types::FollowUp;

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

    if let Some(reason) = pointless(task, &profile, order, now, &settings.policy) {
        finish(&mut profile);
        return Ok(FollowUpOutcome {
            decision: FollowUpDecision::Cancel { reason },
            profile,
            handoff: None,
        });
    }
    let mut held_out = false;
    let withheld = if !settings.is_enabled(kind) {
        Some(format!("{kind} is switched off"))
    } else if let Some(reason) = held_back(&profile, kind) {
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
        held_out = is_held_out(&profile.customer_id, kind, percent);
        held_out.then(|| format!("held out: in the {percent}% holdout group of {kind}"))
    };
    if let Some(reason) = withheld {
        finish(&mut profile);
        if held_out {
            // Counted like a send, at the instant the message would have gone.
            let at = would_go_at(kind, &profile, now, policy);
            let decision = format!("{}#{}", task.key, task.attempt);
            let touch = Touch {
                at,
                by: TouchBy::Holdout { decision },
            };
            record_touch(&mut profile.touches, kind, touch, &policy.attribution_days);
        }
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

    let message = super::message::compose(task, &profile, order, now, settings)?;
    finish(&mut profile);
    let touch = Touch {
        at: now,
        by: TouchBy::Treated {
            message_id: message.id.clone(),
        },
    };
    record_touch(&mut profile.touches, kind, touch, &policy.attribution_days);
    if !kind.is_transactional() {
        push_bounded(&mut profile.engagement_sent, now, 10);
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

/// When a message of `kind` due at `now` would go if it were sent: after the customer's quiet
/// hours (where they apply to it) and, for a non-transactional kind, the frequency cap.
fn would_go_at(
    kind: crate::message::MessageKind,
    profile: &Profile,
    now: DateTime<Utc>,
    policy: &crate::settings::Policy,
) -> DateTime<Utc> {
    let quiet = !kind.is_order_status() || policy.quiet_hours_for_order_status;
    let mut at = if quiet {
        policy.quiet_hours.next_allowed(now, profile.time_zone)
    } else {
        now
    };
    if !kind.is_transactional() {
        if let Some(capped) = policy.cap.next_allowed(&profile.engagement_sent, at) {
            at = policy.quiet_hours.next_allowed(capped, profile.time_zone);
        }
    }
    at
}

/// Why a due follow-up is no longer useful, if it is not.
fn pointless(
    task: &FollowUp,
    profile: &Profile,
    order: Option<&Order>,
    now: DateTime<Utc>,
    policy: &crate::settings::Policy,
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
            Some(o) if o.rating.is_some() => {
                Some(format!("the customer rated order {} already", o.order_id))
            }
            Some(o)
                if o.status == OrderStatus::Delivered
                    && now > o.updated_at.plus(days(policy.review_stale_days)) =>
            {
                Some(format!(
                    "order {} was delivered more than {} days ago: too late to ask",
                    o.order_id, policy.review_stale_days
                ))
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
