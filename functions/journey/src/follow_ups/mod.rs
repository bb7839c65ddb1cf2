//! Follow-ups: messages planned for later, and what happens when one falls due.
//!
//! Order decisions plan them in the same write that applies the event: an expected date plans
//! the delivery reminder, every status plans the watchdog's check, a delivery plans the review
//! request and repurchase reminders, a new order plans the reactivation check (and cancels
//! repurchase reminders it made pointless). The schedule function hands each due follow-up to
//! [`decide_follow_up`], which sends it, defers it (quiet hours, frequency cap), withholds it
//! (switched off, no consent, holdout) or cancels it (no longer useful), always with a reason.
//!
//! - [`plan`]: which follow-ups an order event plans and cancels.
//! - [`due`]: what a due follow-up does, through the guardrails of [`crate::guardrails`].
//! - [`message`]: the follow-up emails, assembled from the words of [`crate::copy::follow_ups`].
//!
//! The profile's index of planned follow-ups ([`crate::profile::PendingFollowUp`]) is a core
//! record and lives with the profile.

pub mod due;
pub mod message;
pub mod plan;
mod types;

pub use crate::handoff::Handoff;
pub use crate::profile::{CancelledFollowUp, FollowUpKind, PendingFollowUp};
pub use due::{decide_follow_up, FollowUpDecision, FollowUpOutcome};
pub use message::{follow_up_key_of, follow_up_message_id, follow_up_trigger};
pub use plan::{consumption_days, dormant_after, median_interval, plan_after_order_event};
pub use types::{FollowUp, FollowUpChanges, MAX_REPURCHASE_PER_ORDER};

#[cfg(test)]
mod tests;
