//! What a customer's answer does: a click on a rating link of a review request, a comment
//! added to it, and a helpdesk saying the issue is resolved.
//!
//! A rating is recorded once per order; a second click updates it and never sends a second
//! reply. Happy (4–5): thanks and, where marketing is allowed, a referral invitation with the
//! customer's own code. Neutral (3): thanks. Unhappy (1–2): an apology that promises a person,
//! an alert to the support inbox with the context, a `HandoffRequested` event, and an open
//! issue: while it is open nothing promotional goes out (order news keeps flowing). An
//! `IssueResolved` from the helpdesk closes it and records the time to resolution.
//!
//! - [`rating`]: what a rating click and a comment do.
//! - [`issues`]: the helpdesk's `IssueResolved` event, and closing the open issue.
//! - [`message`]: the replies and the alert to support, assembled from the words of
//!   [`crate::copy::answers`].
//!
//! The records (scores, comments, ratings, open and resolved issues) are core types of
//! [`crate::profile`].

pub mod issues;
pub mod message;
pub mod rating;

pub use crate::profile::{
    Comment, CommentError, OpenIssue, Rating, ResolvedIssue, Score, ScoreError, Sentiment,
};
pub use issues::{
    parse_issue_resolved, parse_issue_resolved_event, resolve_issue, IssueResolvedDetail,
    IssueResolvedEvent, ISSUE_RESOLVED, ISSUE_RESOLVED_FIELDS,
};
pub use message::referral_code;
pub use rating::{add_comment, decide_rating, AnswerError, AnswerPage, RatingDecision};

#[cfg(test)]
mod tests;
