//! What a customer chose to receive, and what their mailbox told us: the topics they
//! unsubscribed from (one click, the preferences page, a complaint), and addresses that bounce.
//!
//! Every decision that would send a message to a customer asks [`held_back`] first; when it
//! answers, the message is not sent and the answer is recorded as the reason.
//!
//! - [`topics`]: what the customer switched off, and [`held_back`].
//! - [`bounces`]: bounces and complaints the mailbox reports.
//! - [`preference_links`]: the signed preferences link, unsubscribe headers and footer link
//!   every message that can carry one carries.
//!
//! The records (topics, opt-outs, suppression, bounces, complaints) are core types of
//! [`crate::profile`].

pub mod bounces;
pub mod preference_links;
pub mod topics;

pub use crate::message::ListUnsubscribe;
pub use crate::profile::{
    ComplaintRecord, MailTopic, OptOut, OptOutSource, SoftBounce, Suppression, SuppressionReason,
    UnknownTopic, SOFT_BOUNCE_LIMIT, SOFT_BOUNCE_WINDOW_DAYS,
};
pub use bounces::{apply_bounce, apply_complaint, Bounce, BounceOutcome};
pub use preference_links::{
    list_unsubscribe, preferences_action, preferences_link, UNSUBSCRIBE_PATH,
};
pub use topics::{active_suppression, choose_topics, held_back, is_subscribed, unsubscribe};

#[cfg(test)]
mod tests;
