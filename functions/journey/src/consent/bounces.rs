//! What the mailbox tells us: bounces (a permanent one suppresses the address, transient ones
//! are counted) and complaints (they unsubscribe from everything but order updates).

use chrono::{DateTime, Utc};

use crate::contact::EmailAddress;
use crate::profile::{
    ComplaintRecord, MailTopic, OptOutSource, Profile, SoftBounce, Suppression, SuppressionReason,
    SOFT_BOUNCE_LIMIT, SOFT_BOUNCE_WINDOW_DAYS,
};
use crate::time_shift::{days, Shift};

use super::topics::{active_suppression, unsubscribe};

/// How many transient bounces and complaints a profile keeps.
const KEPT: usize = 10;

/// A bounce reported for one of our messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// The address that bounced.
    pub address: EmailAddress,
    /// Whether it will never accept mail.
    pub permanent: bool,
    /// SES's subtype (`General`, `MailboxFull`, ...).
    pub subtype: String,
    /// SES's id for it.
    pub feedback_id: String,
    /// When it bounced.
    pub at: DateTime<Utc>,
}

/// What a bounce did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BounceOutcome {
    /// The address is suppressed now.
    Suppressed,
    /// A transient bounce was counted; this many in the window.
    Counted(usize),
    /// Nothing changed: a redelivered event, an address suppressed already, or an address the
    /// customer no longer uses.
    Unchanged,
}

/// Applies a bounce: a permanent one suppresses the address at once, transient ones are counted
/// and suppress it after [`SOFT_BOUNCE_LIMIT`] within [`SOFT_BOUNCE_WINDOW_DAYS`].
pub fn apply_bounce(profile: &Profile, bounce: &Bounce) -> (Profile, BounceOutcome) {
    let mut profile = profile.clone();
    if !bounce.address.same_mailbox(&profile.email) || active_suppression(&profile).is_some() {
        return (profile, BounceOutcome::Unchanged);
    }
    if bounce.permanent {
        profile.suppression = Some(Suppression {
            address: bounce.address.clone(),
            at: bounce.at,
            reason: SuppressionReason::PermanentBounce {
                subtype: bounce.subtype.clone(),
            },
        });
        return (profile, BounceOutcome::Suppressed);
    }
    if profile
        .soft_bounces
        .iter()
        .any(|b| b.feedback_id == bounce.feedback_id)
    {
        return (profile, BounceOutcome::Unchanged);
    }
    profile.soft_bounces.push(SoftBounce {
        at: bounce.at,
        feedback_id: bounce.feedback_id.clone(),
    });
    profile.soft_bounces.sort_by_key(|b| b.at);
    if profile.soft_bounces.len() > KEPT {
        profile.soft_bounces.remove(0);
    }
    let since = bounce.at.minus(days(SOFT_BOUNCE_WINDOW_DAYS));
    let recent = profile
        .soft_bounces
        .iter()
        .filter(|b| b.at > since && b.at <= bounce.at)
        .count();
    if recent >= SOFT_BOUNCE_LIMIT {
        profile.suppression = Some(Suppression {
            address: bounce.address.clone(),
            at: bounce.at,
            reason: SuppressionReason::RepeatedTransientBounces {
                count: u32::try_from(recent).unwrap_or(u32::MAX),
            },
        });
        return (profile, BounceOutcome::Suppressed);
    }
    (profile, BounceOutcome::Counted(recent))
}

/// Applies a complaint: the customer is unsubscribed from every topic but order updates, and
/// the complaint is recorded. Returns the profile and whether anything changed (a redelivered
/// complaint changes nothing).
pub fn apply_complaint(profile: &Profile, complaint: &ComplaintRecord) -> (Profile, bool) {
    if profile
        .complaints
        .iter()
        .any(|c| c.feedback_id == complaint.feedback_id)
    {
        return (profile.clone(), false);
    }
    let (mut profile, _) = unsubscribe(
        profile,
        &MailTopic::MARKETING,
        OptOutSource::Complaint,
        complaint.at,
    );
    profile.complaints.push(complaint.clone());
    if profile.complaints.len() > KEPT {
        profile.complaints.remove(0);
    }
    (profile, true)
}
