//! What a customer chose to receive, and what their mailbox told us: the topics they
//! unsubscribed from (one click, the preferences page, a complaint), and addresses that bounce.
//!
//! Every decision that would send a message to a customer asks [`held_back`] first; when it
//! answers, the message is not sent and the answer is recorded as the reason.

use std::collections::BTreeSet;
use std::fmt;

use crate::time_shift::{days, Shift};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalogue::Action;
use crate::contact::{EmailAddress, Language};
use crate::ids::CustomerId;
use crate::journey::Profile;
use crate::links::{sign_preferences, PreferenceClaims};
use crate::message::MessageKind;
use crate::settings::Settings;

/// A topic a customer can switch off on the preferences page. Each message kind a customer
/// can do without belongs to one; answers to the customer's own actions, the cancellation of
/// an order (it concerns their money) and alerts to the shop belong to none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailTopic {
    /// News about an order: status changes, the delivery reminder, the watchdog's update.
    OrderUpdates,
    /// Requests to rate an order.
    ReviewRequests,
    /// Reminders to reorder what runs out.
    Reminders,
    /// Offers: reactivation, referral invitations.
    Offers,
}

/// Why a string names no topic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown topic {0:?}; topics are order_updates, review_requests, reminders, offers")]
pub struct UnknownTopic(pub String);

impl MailTopic {
    /// Every topic, in the order the preferences page shows them.
    pub const ALL: [MailTopic; 4] = [
        MailTopic::OrderUpdates,
        MailTopic::ReviewRequests,
        MailTopic::Reminders,
        MailTopic::Offers,
    ];

    /// The topics a complaint unsubscribes from: everything that is not news about an order.
    pub const MARKETING: [MailTopic; 3] = [
        MailTopic::ReviewRequests,
        MailTopic::Reminders,
        MailTopic::Offers,
    ];

    /// The topic of a message kind, if a customer can switch it off.
    pub fn of(kind: MessageKind) -> Option<MailTopic> {
        match kind {
            MessageKind::OrderCancelled
            | MessageKind::ReviewThanks
            | MessageKind::ReviewApology
            | MessageKind::SupportAlert => None,
            k if k.is_order_status() => Some(MailTopic::OrderUpdates),
            MessageKind::DeliveryReminder | MessageKind::WatchdogUpdate => {
                Some(MailTopic::OrderUpdates)
            }
            MessageKind::ReviewRequest => Some(MailTopic::ReviewRequests),
            MessageKind::RepurchaseReminder => Some(MailTopic::Reminders),
            MessageKind::Reactivation | MessageKind::ReferralInvitation => Some(MailTopic::Offers),
            _ => None,
        }
    }

    /// The name used in links, forms and records (`review_requests`).
    pub fn as_str(self) -> &'static str {
        match self {
            MailTopic::OrderUpdates => "order_updates",
            MailTopic::ReviewRequests => "review_requests",
            MailTopic::Reminders => "reminders",
            MailTopic::Offers => "offers",
        }
    }

    /// Parses a name as written by [`MailTopic::as_str`].
    pub fn parse(value: &str) -> Result<Self, UnknownTopic> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == value)
            .ok_or_else(|| UnknownTopic(value.chars().take(40).collect()))
    }

    /// What the preferences page calls it.
    pub fn label(self, language: Language) -> &'static str {
        match (self, language) {
            (MailTopic::OrderUpdates, Language::En) => "Order updates",
            (MailTopic::ReviewRequests, Language::En) => "Review requests",
            (MailTopic::Reminders, Language::En) => "Reorder reminders",
            (MailTopic::Offers, Language::En) => "Offers",
            (MailTopic::OrderUpdates, Language::Ru) => "Новости о заказах",
            (MailTopic::ReviewRequests, Language::Ru) => "Просьбы об отзыве",
            (MailTopic::Reminders, Language::Ru) => "Напоминания о повторном заказе",
            (MailTopic::Offers, Language::Ru) => "Предложения",
        }
    }

    /// One line on what the topic holds, for the preferences page.
    pub fn description(self, language: Language) -> &'static str {
        match (self, language) {
            (MailTopic::OrderUpdates, Language::En) => "Where your order is: confirmed, shipped, late, delivered. A cancellation always reaches you, because it concerns your money.",
            (MailTopic::ReviewRequests, Language::En) => "A few days after delivery, one question: how was it?",
            (MailTopic::Reminders, Language::En) => "A note before something you buy regularly runs out.",
            (MailTopic::Offers, Language::En) => "Now and then, after a long pause, and invitations to bring a friend.",
            (MailTopic::OrderUpdates, Language::Ru) => "Где ваш заказ: подтверждён, отправлен, задерживается, доставлен. Об отмене мы сообщим всегда — это касается ваших денег.",
            (MailTopic::ReviewRequests, Language::Ru) => "Через несколько дней после доставки — один вопрос: как всё прошло?",
            (MailTopic::Reminders, Language::Ru) => "Напоминание, пока то, что вы покупаете регулярно, не закончилось.",
            (MailTopic::Offers, Language::Ru) => "Изредка, после долгого перерыва, и приглашения для друзей.",
        }
    }
}

impl fmt::Display for MailTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a customer came to be unsubscribed from a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptOutSource {
    /// The mailbox's one-click unsubscribe (RFC 8058).
    OneClick,
    /// The preferences page.
    PreferencesPage,
    /// They marked a message as spam.
    Complaint,
}

impl OptOutSource {
    /// In words, for reasons recorded on the journey.
    pub fn describe(self) -> &'static str {
        match self {
            OptOutSource::OneClick => "with one click",
            OptOutSource::PreferencesPage => "on the preferences page",
            OptOutSource::Complaint => "by marking a message as spam",
        }
    }
}

/// A topic a customer switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOut {
    /// When.
    pub at: DateTime<Utc>,
    /// How.
    pub via: OptOutSource,
}

/// Why an address receives nothing any more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SuppressionReason {
    /// The receiving server said the address does not exist or will never accept mail.
    PermanentBounce {
        /// SES's bounce subtype (`General`, `NoEmail`, `Suppressed`, ...).
        subtype: String,
    },
    /// Mail kept bouncing for a while ([`SOFT_BOUNCE_LIMIT`] times in [`SOFT_BOUNCE_WINDOW_DAYS`]).
    RepeatedTransientBounces {
        /// How many.
        count: u32,
    },
}

/// An address we stopped sending to. It holds for that address only: when the shop sends a new
/// address for the customer, mail goes to it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// The address.
    pub address: EmailAddress,
    /// Since when.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: SuppressionReason,
}

/// A transient bounce, counted once per feedback id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftBounce {
    /// When it bounced.
    pub at: DateTime<Utc>,
    /// SES's id for the bounce, so a redelivered event is not counted twice.
    pub feedback_id: String,
}

/// A customer marking a message as spam.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintRecord {
    /// When it was reported.
    pub at: DateTime<Utc>,
    /// SES's id for the complaint.
    pub feedback_id: String,
    /// The kind of message complained about, when known.
    pub kind: Option<MessageKind>,
    /// What the mailbox provider called it (`abuse`, `not-spam`, ...), when it said.
    pub feedback_type: Option<String>,
}

/// How many transient bounces within [`SOFT_BOUNCE_WINDOW_DAYS`] suppress an address.
pub const SOFT_BOUNCE_LIMIT: usize = 3;
/// The window transient bounces are counted in.
pub const SOFT_BOUNCE_WINDOW_DAYS: i64 = 30;
/// How many transient bounces and complaints a profile keeps.
const KEPT: usize = 10;

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

/// Where a message's unsubscribe headers point: `List-Unsubscribe` (RFC 2369) with an https
/// link that also takes the one-click POST of RFC 8058, and a mailto to the support inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListUnsubscribe {
    /// The signed `…/unsubscribe?token=…` link: a GET shows the preferences page, a POST with
    /// `List-Unsubscribe=One-Click` unsubscribes from the message's topic.
    pub https: String,
    /// `mailto:<support inbox>?subject=…`: a person handles it.
    pub mailto: String,
}

/// The path of preferences links on the feedback endpoint.
pub const UNSUBSCRIBE_PATH: &str = "/unsubscribe";

/// The signed preferences link for a message of `kind` to `customer`, carrying the kind's topic;
/// `None` for the alert to support, or when links cannot be signed (no endpoint or key).
pub fn preferences_link(
    settings: &Settings,
    customer: &CustomerId,
    kind: MessageKind,
) -> Option<String> {
    if kind == MessageKind::SupportAlert {
        return None;
    }
    let links = settings.links.as_ref()?;
    let token = sign_preferences(
        links.signing_key()?,
        &PreferenceClaims {
            customer: customer.clone(),
            topic: MailTopic::of(kind),
        },
    );
    links.url(UNSUBSCRIBE_PATH, &[("token", token.as_str())])
}

/// The unsubscribe headers of a message of `kind`: every message that is not transactional
/// carries them; `None` for transactional ones, or when links cannot be signed.
pub fn list_unsubscribe(
    settings: &Settings,
    customer: &CustomerId,
    kind: MessageKind,
) -> Option<ListUnsubscribe> {
    if kind.is_transactional() {
        return None;
    }
    let topic = MailTopic::of(kind)?;
    Some(ListUnsubscribe {
        https: preferences_link(settings, customer, kind)?,
        mailto: format!(
            "mailto:{}?subject=unsubscribe%20{}",
            settings.brand.support_email, topic
        ),
    })
}

/// The footer's link to the preferences page, labelled for the message's kind.
pub fn preferences_action(
    settings: &Settings,
    customer: &CustomerId,
    kind: MessageKind,
    language: Language,
) -> Option<Action> {
    let url = preferences_link(settings, customer, kind)?;
    let label = match (kind.is_transactional(), language) {
        (false, Language::En) => "Unsubscribe or choose which emails you get",
        (false, Language::Ru) => "Отписаться или выбрать, какие письма получать",
        (true, Language::En) => "Choose which emails you get",
        (true, Language::Ru) => "Выбрать, какие письма получать",
    };
    Some(Action {
        label: label.to_owned(),
        url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::parse_order_event;
    use serde_json::json;

    fn profile() -> Profile {
        let event = parse_order_event(&json!({
            "event_id": "e-1", "order_id": "1042", "status": "placed",
            "occurred_at": "2026-11-01T10:00:00Z",
            "customer": {"id": "c-1", "email": "anna@example.com", "locale": "en", "time_zone": "Europe/Berlin"}
        }).to_string(), &crate::event::AcceptedYears::default())
        .unwrap();
        Profile::new(&event.customer, event.occurred_at)
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn bounce(permanent: bool, id: &str, when: &str) -> Bounce {
        Bounce {
            address: EmailAddress::parse("anna@example.com").unwrap(),
            permanent,
            subtype: if permanent { "General" } else { "MailboxFull" }.into(),
            feedback_id: id.into(),
            at: at(when),
        }
    }

    #[test]
    fn every_kind_a_customer_can_do_without_has_a_topic_and_answers_have_none() {
        assert_eq!(
            MailTopic::of(MessageKind::OrderShipped),
            Some(MailTopic::OrderUpdates)
        );
        assert_eq!(
            MailTopic::of(MessageKind::WatchdogUpdate),
            Some(MailTopic::OrderUpdates)
        );
        assert_eq!(
            MailTopic::of(MessageKind::ReviewRequest),
            Some(MailTopic::ReviewRequests)
        );
        assert_eq!(
            MailTopic::of(MessageKind::RepurchaseReminder),
            Some(MailTopic::Reminders)
        );
        assert_eq!(
            MailTopic::of(MessageKind::ReferralInvitation),
            Some(MailTopic::Offers)
        );
        for kind in [
            MessageKind::OrderCancelled,
            MessageKind::ReviewThanks,
            MessageKind::ReviewApology,
            MessageKind::SupportAlert,
        ] {
            assert_eq!(MailTopic::of(kind), None, "{kind}");
        }
        for kind in MessageKind::ALL {
            if !kind.is_transactional() {
                assert!(MailTopic::of(kind).is_some(), "{kind} can be switched off");
            }
        }
    }

    #[test]
    fn an_unsubscribed_topic_holds_back_its_kinds_and_only_those() {
        let (p, changed) = unsubscribe(
            &profile(),
            &[MailTopic::Reminders],
            OptOutSource::OneClick,
            at("2026-11-02T08:00:00Z"),
        );
        assert!(changed);
        let reason = held_back(&p, MessageKind::RepurchaseReminder).unwrap();
        assert!(
            reason.contains("reminders with one click on 2026-11-02"),
            "{reason}"
        );
        assert_eq!(held_back(&p, MessageKind::ReviewRequest), None);
        assert_eq!(held_back(&p, MessageKind::OrderShipped), None);
        let (again, changed) = unsubscribe(
            &p,
            &[MailTopic::Reminders],
            OptOutSource::PreferencesPage,
            at("2026-11-05T08:00:00Z"),
        );
        assert!(!changed, "the first record stays");
        assert_eq!(again, p);
    }

    #[test]
    fn the_preferences_page_switches_topics_off_and_back_on() {
        let now = at("2026-11-02T08:00:00Z");
        let wanted = BTreeSet::from([MailTopic::OrderUpdates, MailTopic::ReviewRequests]);
        let (p, changed) = choose_topics(&profile(), &wanted, now);
        assert!(changed);
        assert!(!is_subscribed(&p, MailTopic::Offers) && !is_subscribed(&p, MailTopic::Reminders));
        assert!(is_subscribed(&p, MailTopic::OrderUpdates));
        let (p, changed) = choose_topics(&p, &MailTopic::ALL.into_iter().collect(), now);
        assert!(changed);
        assert!(p.unsubscribed.is_empty());
        let (_, changed) = choose_topics(&p, &MailTopic::ALL.into_iter().collect(), now);
        assert!(!changed);
    }

    #[test]
    fn a_permanent_bounce_suppresses_the_address_for_everything_but_the_alert_to_support() {
        let (p, outcome) = apply_bounce(&profile(), &bounce(true, "f-1", "2026-11-03T09:00:00Z"));
        assert_eq!(outcome, BounceOutcome::Suppressed);
        for kind in MessageKind::ALL {
            assert_eq!(
                held_back(&p, kind).is_some(),
                kind != MessageKind::SupportAlert,
                "{kind}"
            );
        }
        assert!(held_back(&p, MessageKind::OrderCancelled)
            .unwrap()
            .contains("permanent bounce (General)"));
        let (_, outcome) = apply_bounce(&p, &bounce(true, "f-2", "2026-11-04T09:00:00Z"));
        assert_eq!(outcome, BounceOutcome::Unchanged);
    }

    #[test]
    fn an_address_spelt_in_other_case_is_the_same_mailbox() {
        let mut shouting = bounce(true, "f-1", "2026-11-03T09:00:00Z");
        shouting.address = EmailAddress::parse("Anna@EXAMPLE.com").unwrap();
        let (mut p, outcome) = apply_bounce(&profile(), &shouting);
        assert_eq!(outcome, BounceOutcome::Suppressed);
        p.email = EmailAddress::parse("ANNA@example.COM").unwrap();
        assert!(held_back(&p, MessageKind::OrderShipped).is_some());
    }

    #[test]
    fn a_new_address_is_not_suppressed_by_the_old_ones_bounce() {
        let (mut p, _) = apply_bounce(&profile(), &bounce(true, "f-1", "2026-11-03T09:00:00Z"));
        p.email = EmailAddress::parse("anna.new@example.com").unwrap();
        assert_eq!(held_back(&p, MessageKind::OrderShipped), None);
        let (_, outcome) = apply_bounce(&p, &bounce(true, "f-2", "2026-11-04T09:00:00Z"));
        assert_eq!(
            outcome,
            BounceOutcome::Unchanged,
            "a bounce of the old address"
        );
    }

    #[test]
    fn transient_bounces_are_counted_once_each_and_suppress_at_the_limit_within_the_window() {
        let p = profile();
        let (p, o) = apply_bounce(&p, &bounce(false, "f-1", "2026-10-01T09:00:00Z"));
        assert_eq!(o, BounceOutcome::Counted(1));
        let (p, o) = apply_bounce(&p, &bounce(false, "f-1", "2026-10-01T09:00:00Z"));
        assert_eq!(o, BounceOutcome::Unchanged, "a redelivery is not counted");
        let (p, o) = apply_bounce(&p, &bounce(false, "f-2", "2026-11-02T09:00:00Z"));
        assert_eq!(
            o,
            BounceOutcome::Counted(1),
            "the first fell out of the window"
        );
        let (p, o) = apply_bounce(&p, &bounce(false, "f-3", "2026-11-05T09:00:00Z"));
        assert_eq!(o, BounceOutcome::Counted(2));
        assert_eq!(held_back(&p, MessageKind::ReviewRequest), None);
        let (p, o) = apply_bounce(&p, &bounce(false, "f-4", "2026-11-09T09:00:00Z"));
        assert_eq!(o, BounceOutcome::Suppressed);
        assert!(held_back(&p, MessageKind::OrderShipped)
            .unwrap()
            .contains("3 transient bounces in 30 days"));
    }

    #[test]
    fn a_complaint_unsubscribes_from_all_marketing_but_not_order_updates_once() {
        let complaint = ComplaintRecord {
            at: at("2026-11-03T09:00:00Z"),
            feedback_id: "c-f-1".into(),
            kind: Some(MessageKind::Reactivation),
            feedback_type: Some("abuse".into()),
        };
        let (p, changed) = apply_complaint(&profile(), &complaint);
        assert!(changed);
        for topic in MailTopic::MARKETING {
            assert!(!is_subscribed(&p, topic), "{topic}");
        }
        assert!(is_subscribed(&p, MailTopic::OrderUpdates));
        assert!(held_back(&p, MessageKind::ReviewRequest)
            .unwrap()
            .contains("marking a message as spam"));
        assert_eq!(p.complaints.len(), 1);
        let (again, changed) = apply_complaint(&p, &complaint);
        assert!(!changed);
        assert_eq!(again, p);
    }

    #[test]
    fn topics_parse_from_their_names() {
        for topic in MailTopic::ALL {
            assert_eq!(MailTopic::parse(topic.as_str()), Ok(topic));
        }
        assert!(MailTopic::parse("spam").is_err());
    }

    #[test]
    fn marketing_carries_one_click_unsubscribe_headers_and_transactional_mail_a_preferences_link() {
        let settings = crate::fixtures::settings();
        let customer = CustomerId::parse("c-1").unwrap();
        let headers =
            list_unsubscribe(&settings, &customer, MessageKind::RepurchaseReminder).unwrap();
        assert!(
            headers
                .https
                .starts_with("https://feedback.leafandkettle.example/unsubscribe?token=p1.k1."),
            "{}",
            headers.https
        );
        assert_eq!(
            headers.mailto,
            "mailto:help@leafandkettle.example?subject=unsubscribe%20reminders"
        );
        let token = headers.https.split("token=").nth(1).unwrap();
        let claims =
            crate::links::verify_preferences(&settings.links.as_ref().unwrap().keys, token)
                .unwrap();
        assert_eq!(claims.topic, Some(MailTopic::Reminders));
        assert_eq!(
            list_unsubscribe(&settings, &customer, MessageKind::OrderShipped),
            None
        );
        assert!(preferences_action(
            &settings,
            &customer,
            MessageKind::OrderShipped,
            Language::En
        )
        .is_some());
        assert_eq!(
            preferences_link(&settings, &customer, MessageKind::SupportAlert),
            None
        );
        let mut unsigned = settings.clone();
        unsigned.links = None;
        assert_eq!(
            list_unsubscribe(&unsigned, &customer, MessageKind::Reactivation),
            None
        );
    }

    #[test]
    fn order_updates_switched_off_silence_status_news_but_never_a_cancellation() {
        use crate::order_events::{decide_order_event, OrderJourney};
        let settings = crate::fixtures::settings();
        let event = |status: &str, id: &str, when: &str| {
            parse_order_event(
                &json!({
                    "event_id": id, "order_id": "1042", "status": status, "occurred_at": when,
                    "customer": {"id": "c-1", "email": "anna@example.com", "locale": "en", "time_zone": "Europe/Berlin"},
                    "cancellation": {"reason": "out of stock"}
                })
                .to_string(), &crate::event::AcceptedYears::default(),
            )
            .unwrap()
        };
        let placed = decide_order_event(
            &OrderJourney::default(),
            &event("placed", "e-1", "2026-11-01T10:00:00Z"),
            &settings,
        )
        .unwrap();
        let (quiet, _) = unsubscribe(
            &placed.profile,
            &[MailTopic::OrderUpdates],
            OptOutSource::PreferencesPage,
            at("2026-11-01T11:00:00Z"),
        );
        let journey = OrderJourney {
            profile: Some(quiet),
            order: Some(placed.order),
        };
        let confirmed = decide_order_event(
            &journey,
            &event("confirmed", "e-2", "2026-11-01T12:00:00Z"),
            &settings,
        )
        .unwrap();
        assert!(confirmed.message.is_none());
        assert!(
            confirmed
                .note
                .contains("order_confirmed not sent: the customer unsubscribed from order_updates"),
            "{}",
            confirmed.note
        );
        let cancelled = decide_order_event(
            &journey,
            &event("cancelled", "e-3", "2026-11-01T12:00:00Z"),
            &settings,
        )
        .unwrap();
        let message = cancelled.message.expect("a cancellation always goes");
        assert!(message.text.contains("Choose which emails you get"));
        assert_eq!(message.list_unsubscribe, None, "transactional");
    }
}
