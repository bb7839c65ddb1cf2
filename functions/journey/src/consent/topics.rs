//! What a customer switched off, and whether a message may reach them at all.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::message::MessageKind;
use crate::profile::{
    MailTopic, OptOut, OptOutSource, Profile, Suppression, SuppressionReason,
    SOFT_BOUNCE_WINDOW_DAYS,
};

/// Why a message of `kind` must not go to this customer, if it must not: their address is
/// suppressed, or they unsubscribed from the kind's topic. An alert to the shop's own inbox is
/// never held back.
pub fn held_back(profile: &Profile, kind: MessageKind) -> Option<String> {
    if kind == MessageKind::SupportAlert {
        return None;
    }
    if let Some(suppression) = active_suppression(profile) {
        let why = match &suppression.reason {
            SuppressionReason::PermanentBounce { subtype } => {
                format!("a permanent bounce ({subtype})")
            }
            SuppressionReason::RepeatedTransientBounces { count } => {
                format!("{count} transient bounces in {SOFT_BOUNCE_WINDOW_DAYS} days")
            }
        };
        return Some(format!(
            "the customer's address is suppressed since {} after {why}",
            suppression.at.format("%Y-%m-%d")
        ));
    }
    let topic = MailTopic::of(kind)?;
    let opt_out = profile.unsubscribed.get(&topic)?;
    Some(format!(
        "the customer unsubscribed from {topic} {} on {}",
        opt_out.via.describe(),
        opt_out.at.format("%Y-%m-%d")
    ))
}

/// The suppression that applies to the customer's current address, if any.
pub fn active_suppression(profile: &Profile) -> Option<&Suppression> {
    profile
        .suppression
        .as_ref()
        .filter(|s| s.address.same_mailbox(&profile.email))
}

/// Whether the customer receives messages of `topic`.
pub fn is_subscribed(profile: &Profile, topic: MailTopic) -> bool {
    !profile.unsubscribed.contains_key(&topic)
}

/// Unsubscribes from `topics`; topics already off keep their first record. Returns the profile
/// and whether anything changed.
pub fn unsubscribe(
    profile: &Profile,
    topics: &[MailTopic],
    via: OptOutSource,
    now: DateTime<Utc>,
) -> (Profile, bool) {
    let mut profile = profile.clone();
    let mut changed = false;
    for topic in topics {
        if !profile.unsubscribed.contains_key(topic) {
            profile.unsubscribed.insert(*topic, OptOut { at: now, via });
            changed = true;
        }
    }
    (profile, changed)
}

/// Sets the topics the customer wants, as chosen on the preferences page: the others are
/// switched off. Returns the profile and whether anything changed.
pub fn choose_topics(
    profile: &Profile,
    wanted: &BTreeSet<MailTopic>,
    now: DateTime<Utc>,
) -> (Profile, bool) {
    let unwanted: Vec<MailTopic> = MailTopic::ALL
        .into_iter()
        .filter(|t| !wanted.contains(t))
        .collect();
    let (mut profile, mut changed) =
        unsubscribe(profile, &unwanted, OptOutSource::PreferencesPage, now);
    for topic in wanted {
        changed |= profile.unsubscribed.remove(topic).is_some();
    }
    (profile, changed)
}
