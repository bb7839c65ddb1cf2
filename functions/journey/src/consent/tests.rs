//! Topics, bounces, complaints and the links to the preferences page.

use super::*;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::contact::EmailAddress;
use crate::event::parse_order_event;
use crate::ids::CustomerId;
use crate::message::MessageKind;
use crate::profile::Profile;
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
    let link =
        |settings: &crate::settings::Settings, kind| preferences_link(settings, &customer, kind);
    let reminder = link(&settings, MessageKind::RepurchaseReminder);
    let headers = list_unsubscribe(
        &settings,
        MessageKind::RepurchaseReminder,
        reminder.as_deref(),
    )
    .unwrap();
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
        crate::links::verify_preferences(&settings.links.as_ref().unwrap().keys, token).unwrap();
    assert_eq!(claims.topic, Some(MailTopic::Reminders));
    assert_eq!(
        list_unsubscribe(
            &settings,
            MessageKind::OrderShipped,
            link(&settings, MessageKind::OrderShipped).as_deref()
        ),
        None
    );
    assert!(link(&settings, MessageKind::OrderShipped).is_some());
    assert_eq!(
        preferences_link(&settings, &customer, MessageKind::SupportAlert),
        None
    );
    let mut unsigned = settings.clone();
    unsigned.links = None;
    assert_eq!(
        list_unsubscribe(
            &unsigned,
            MessageKind::Reactivation,
            link(&unsigned, MessageKind::Reactivation).as_deref()
        ),
        None
    );
}

#[test]
fn order_updates_switched_off_silence_status_news_but_never_a_cancellation() {
    use crate::order_status::{decide_order_event, BeforeEvent};
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
        &BeforeEvent::default(),
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
    let before = BeforeEvent {
        profile: Some(quiet),
        order: Some(placed.order),
    };
    let confirmed = decide_order_event(
        &before,
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
        &before,
        &event("cancelled", "e-3", "2026-11-01T12:00:00Z"),
        &settings,
    )
    .unwrap();
    let message = cancelled.message.expect("a cancellation always goes");
    assert!(message.text.contains("Choose which emails you get"));
    assert_eq!(message.list_unsubscribe, None, "transactional");
}
