//! Ratings, comments and issues, from a delivered order.

use super::*;
use chrono::{DateTime, Utc};

use crate::event::parse_order_event;
use crate::follow_ups::{decide_follow_up, FollowUp, FollowUpDecision, FollowUpKind};
use crate::ids::{CustomerId, OrderId};
use crate::links::LinkClaims;
use crate::message::{MessageKind, OutgoingMessage};
use crate::order::Order;
use crate::order_status::{decide_order_event, BeforeEvent};
use crate::profile::Profile;
use crate::settings::Settings;
use serde_json::json;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// A delivered order 1042 of customer c-1.
fn delivered(consent: Option<bool>) -> (Profile, Order, Settings) {
    let settings = crate::fixtures::settings();
    let mut before = BeforeEvent::default();
    for (status, when) in [
        ("placed", "2026-11-18T09:00:00Z"),
        ("delivered", "2026-11-20T09:00:00Z"),
    ] {
        let mut body = json!({
            "event_id": format!("e-{status}"), "order_id": "1042", "status": status, "occurred_at": when,
            "customer": {"id": "c-1", "email": "anna@example.com", "name": "Anna <i>P</i>", "locale": "en", "time_zone": "Europe/Berlin"},
            "items": [{"sku": "TEA-1", "name": "Assam", "category": "tea", "quantity": 1, "replenish_every_days": 30}],
        });
        if let Some(consent) = consent {
            body["customer"]["marketing_consent"] = json!(consent);
        }
        let d = decide_order_event(
            &before,
            &parse_order_event(&body.to_string(), &crate::event::AcceptedYears::default()).unwrap(),
            &settings,
        )
        .unwrap();
        before = BeforeEvent {
            profile: Some(d.profile),
            order: Some(d.order),
        };
    }
    (before.profile.unwrap(), before.order.unwrap(), settings)
}

/// The answer to the first rating of `score` for the delivered order, on 23 November.
fn first_rating(
    (profile, order, settings): (Profile, Order, Settings),
    score: u8,
) -> RatingDecision {
    decide_rating(
        &profile,
        &order,
        &claims(&order),
        Score::new(score).unwrap(),
        at("2026-11-23T10:00:00Z"),
        &settings,
    )
    .unwrap()
}

fn claims(order: &Order) -> LinkClaims {
    LinkClaims {
        customer: CustomerId::parse("c-1").unwrap(),
        order: order.order_id.clone(),
        kind: MessageKind::ReviewRequest,
        expires_at: at("2026-12-31T00:00:00Z"),
    }
}

fn kinds(messages: &[OutgoingMessage]) -> Vec<MessageKind> {
    messages.iter().map(|m| m.kind).collect()
}

#[test]
fn every_answer_in_both_languages_lays_out_again_from_its_draft() {
    let mut seen = std::collections::BTreeSet::new();
    for locale in ["en-US", "ru-RU"] {
        let (mut profile, order, settings) = delivered(Some(true));
        profile.locale = crate::contact::Locale::parse(locale).unwrap();
        for score in 1..=5 {
            let decision = decide_rating(
                &profile,
                &order,
                &claims(&order),
                Score::new(score).unwrap(),
                at("2026-11-23T10:00:00Z"),
                &settings,
            )
            .unwrap();
            for message in &decision.messages {
                crate::message::assert_draft_lays_out_again(message, &settings);
                seen.insert(message.kind);
            }
        }
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [
            MessageKind::ReviewThanks,
            MessageKind::ReferralInvitation,
            MessageKind::ReviewApology,
            MessageKind::SupportAlert
        ]
    );
}

#[test]
fn a_happy_first_answer_gets_thanks_with_a_referral_code_and_a_second_click_sends_nothing() {
    let (profile, order, settings) = delivered(None);
    let now = at("2026-11-23T10:00:00Z");
    let first = decide_rating(
        &profile,
        &order,
        &claims(&order),
        Score::new(5).unwrap(),
        now,
        &settings,
    )
    .unwrap();
    assert_eq!((first.first_answer, first.page), (true, AnswerPage::Thanks));
    assert_eq!(kinds(&first.messages), [MessageKind::ReferralInvitation]);
    let code = referral_code(&profile.customer_id);
    assert!(
        first.messages[0].text.contains(&code),
        "{}",
        first.messages[0].text
    );
    assert!(first.messages[0].text.contains("€10 off"));
    assert_eq!(
        first.profile.touches[&MessageKind::ReferralInvitation],
        crate::profile::Touch {
            at: now,
            by: crate::profile::TouchBy::Treated {
                message_id: first.messages[0].id.clone()
            }
        },
        "an order soon after the invitation is attributed to it"
    );

    let second = decide_rating(
        &first.profile,
        &first.order,
        &claims(&order),
        Score::new(4).unwrap(),
        now + chrono::Duration::minutes(1),
        &settings,
    )
    .unwrap();
    assert!(!second.first_answer && second.messages.is_empty());
    let rating = second.order.rating.as_ref().expect("rated");
    assert_eq!(rating.score.get(), 4, "the second click updates the score");
    assert_eq!(rating.first_at, now);
}

#[test]
fn a_referral_invitation_says_why_the_customer_gets_it_and_offers_to_unsubscribe_not_that_it_is_part_of_the_purchase(
) {
    let decision = first_rating(delivered(None), 5);
    let invitation = &decision.messages[0];
    assert_eq!(invitation.kind, MessageKind::ReferralInvitation);
    assert!(
        invitation
            .text
            .contains("You receive this because you bought from"),
        "{}",
        invitation.text
    );
    assert!(
        !invitation.text.contains("part of the purchase"),
        "{}",
        invitation.text
    );
    assert!(
        invitation.text.contains("Unsubscribe"),
        "{}",
        invitation.text
    );
    let headers = invitation
        .list_unsubscribe
        .as_ref()
        .expect("unsubscribe headers");
    assert!(
        invitation.text.contains(&headers.https),
        "{}",
        invitation.text
    );
}

#[test]
fn a_happy_customer_without_marketing_consent_gets_thanks_and_no_referral() {
    let d = first_rating(delivered(Some(false)), 5);
    assert_eq!(kinds(&d.messages), [MessageKind::ReviewThanks]);
}

#[test]
fn a_happy_customer_who_switched_off_offers_gets_thanks_and_a_bounced_one_gets_nothing() {
    let (profile, order, settings) = delivered(None);
    let (no_offers, _) = crate::consent::unsubscribe(
        &profile,
        &[crate::consent::MailTopic::Offers],
        crate::consent::OptOutSource::PreferencesPage,
        at("2026-11-21T10:00:00Z"),
    );
    let rate = |profile: &Profile, score: u8| {
        decide_rating(
            profile,
            &order,
            &claims(&order),
            Score::new(score).unwrap(),
            at("2026-11-23T10:00:00Z"),
            &settings,
        )
        .unwrap()
    };
    assert_eq!(
        kinds(&rate(&no_offers, 5).messages),
        [MessageKind::ReviewThanks]
    );
    let (bounced, _) = crate::consent::apply_bounce(
        &profile,
        &crate::consent::Bounce {
            address: profile.email.clone(),
            permanent: true,
            subtype: "General".into(),
            feedback_id: "f-1".into(),
            at: at("2026-11-21T10:00:00Z"),
        },
    );
    let silent = rate(&bounced, 5);
    assert!(silent.messages.is_empty());
    assert!(silent
        .reply_held_back
        .as_deref()
        .is_some_and(|r| r.contains("suppressed")));
    assert_eq!(
        kinds(&rate(&bounced, 1).messages),
        [MessageKind::SupportAlert],
        "support still hears of an unhappy customer"
    );
}

#[test]
fn a_neutral_answer_gets_thanks_that_asks_what_could_be_better() {
    let (profile, order, settings) = delivered(None);
    let d = decide_rating(
        &profile,
        &order,
        &claims(&order),
        Score::new(3).unwrap(),
        at("2026-11-23T10:00:00Z"),
        &settings,
    )
    .unwrap();
    assert_eq!(kinds(&d.messages), [MessageKind::ReviewThanks]);
    assert!(d.messages[0].text.contains("could have been better"));
    assert!(d.handoff.is_none() && d.profile.open_issue.is_none());
}

#[test]
fn an_unhappy_answer_apologises_calls_a_person_and_holds_promotions_until_resolved() {
    let (profile, order, settings) = delivered(None);
    let now = at("2026-11-23T10:00:00Z");
    let d = decide_rating(
        &profile,
        &order,
        &claims(&order),
        Score::new(1).unwrap(),
        now,
        &settings,
    )
    .unwrap();
    assert_eq!(d.page, AnswerPage::Apology);
    assert_eq!(
        kinds(&d.messages),
        [MessageKind::ReviewApology, MessageKind::SupportAlert]
    );
    assert!(d.messages[0]
        .text
        .contains("get in touch with you personally"));
    let alert = &d.messages[1];
    assert_eq!(alert.to.as_str(), "help@leafandkettle.example");
    assert!(alert.subject.contains("rated 1/5"));
    assert!(
        !alert.html.contains("<i>P</i>"),
        "the customer's name is escaped"
    );
    assert_eq!(d.handoff.as_ref().unwrap().order_id, order.order_id);
    assert!(d.profile.open_issue.is_some());

    // While the issue is open, a repurchase reminder is withheld...
    let reminder = FollowUp {
        key: "repurchase#TEA-1".into(),
        kind: FollowUpKind::Repurchase,
        customer_id: profile.customer_id.clone(),
        order_id: Some(order.order_id.clone()),
        due_at: at("2026-12-13T09:00:00Z"),
        planned_at: at("2026-11-20T09:00:00Z"),
        attempt: 1,
        watch_status: None,
        sku: Some(crate::ids::Sku::parse("TEA-1").unwrap()),
        item_name: Some(crate::text::Text::parse("Assam").unwrap()),
        category: None,
        run_out_on: None,
        handoff_raised: false,
    };
    let held = decide_follow_up(
        &reminder,
        &d.profile,
        Some(&order),
        at("2026-12-13T09:00:00Z"),
        &settings,
    )
    .unwrap();
    assert!(
        matches!(held.decision, FollowUpDecision::Withhold { ref reason } if reason.contains("open complaint")),
        "{:?}",
        held.decision
    );

    // ...and once a person resolved it, promotions resume.
    let (resolved_profile, resolved) =
        resolve_issue(&d.profile, at("2026-11-24T10:00:00Z")).unwrap();
    assert_eq!(resolved.seconds_to_resolution, 24 * 3600);
    assert!(resolved_profile.open_issue.is_none());
    let sent = decide_follow_up(
        &reminder,
        &resolved_profile,
        Some(&order),
        at("2026-12-13T09:00:00Z"),
        &settings,
    )
    .unwrap();
    assert!(
        matches!(sent.decision, FollowUpDecision::Send { .. }),
        "{:?}",
        sent.decision
    );
    assert!(
        resolve_issue(&resolved_profile, at("2026-11-25T10:00:00Z")).is_none(),
        "nothing left to resolve"
    );
}

#[test]
fn changing_a_happy_answer_to_an_unhappy_one_calls_a_person_but_sends_no_second_reply() {
    let (profile, order, settings) = delivered(None);
    let now = at("2026-11-23T10:00:00Z");
    let happy = decide_rating(
        &profile,
        &order,
        &claims(&order),
        Score::new(4).unwrap(),
        now,
        &settings,
    )
    .unwrap();
    let unhappy = decide_rating(
        &happy.profile,
        &happy.order,
        &claims(&order),
        Score::new(2).unwrap(),
        now,
        &settings,
    )
    .unwrap();
    assert_eq!(kinds(&unhappy.messages), [MessageKind::SupportAlert]);
    assert!(unhappy.handoff.is_some() && unhappy.profile.open_issue.is_some());
}

#[test]
fn a_link_for_another_customer_order_or_kind_is_refused() {
    let (profile, order, settings) = delivered(None);
    let now = at("2026-11-23T10:00:00Z");
    let five = Score::new(5).unwrap();
    let mut other = claims(&order);
    other.customer = CustomerId::parse("c-2").unwrap();
    assert!(matches!(
        decide_rating(&profile, &order, &other, five, now, &settings),
        Err(AnswerError::WrongCustomer)
    ));
    let mut other = claims(&order);
    other.order = OrderId::parse("9999").unwrap();
    assert!(matches!(
        decide_rating(&profile, &order, &other, five, now, &settings),
        Err(AnswerError::WrongOrder)
    ));
    let mut other = claims(&order);
    other.kind = MessageKind::OrderDelivered;
    assert!(matches!(
        decide_rating(&profile, &order, &other, five, now, &settings),
        Err(AnswerError::WrongKind)
    ));
}

#[test]
fn an_unhappy_customers_comment_reaches_support_and_the_open_issue() {
    let (profile, order, settings) = delivered(None);
    let now = at("2026-11-23T10:00:00Z");
    let d = decide_rating(
        &profile,
        &order,
        &claims(&order),
        Score::new(2).unwrap(),
        now,
        &settings,
    )
    .unwrap();
    let comment = Comment::parse("The tin arrived dented <b>and</b> half empty").unwrap();
    let (after, commented, messages) = add_comment(
        &d.profile,
        &d.order,
        &claims(&order),
        comment.clone(),
        now,
        &settings,
    )
    .unwrap();
    assert_eq!(
        after.open_issue.as_ref().unwrap().comment.as_ref(),
        Some(&comment)
    );
    assert_eq!(
        commented.rating.and_then(|r| r.comment),
        Some(comment),
        "the comment is kept with the order's rating"
    );
    assert_eq!(kinds(&messages), [MessageKind::SupportAlert]);
    assert!(messages[0].text.contains("half empty") && !messages[0].html.contains("<b>and</b>"));
}

#[test]
fn a_comment_in_the_same_second_as_its_rating_is_a_message_of_its_own() {
    let (profile, order, settings) = delivered(None);
    let now = at("2026-11-23T10:00:00Z");
    let rated = decide_rating(
        &profile,
        &order,
        &claims(&order),
        Score::new(1).unwrap(),
        now,
        &settings,
    )
    .unwrap();
    let (_, _, comment_alerts) = add_comment(
        &rated.profile,
        &rated.order,
        &claims(&order),
        Comment::parse("dented").unwrap(),
        now,
        &settings,
    )
    .unwrap();
    let rating_alert = rated
        .messages
        .iter()
        .find(|m| m.kind == MessageKind::SupportAlert)
        .unwrap();
    assert_ne!(rating_alert.id, comment_alerts[0].id);
}

#[test]
fn comments_and_scores_are_bounded() {
    assert!(Comment::parse("   ").is_err());
    assert!(Comment::parse(&"x".repeat(2_001)).is_err());
    assert!(Comment::parse("line one\nline two").is_ok());
    assert!(Comment::parse("bell\u{7}").is_err());
    assert!(
        Score::parse("0").is_err() && Score::parse("6").is_err() && Score::parse("five").is_err()
    );
    assert_eq!(Score::parse("4").unwrap().sentiment(), Sentiment::Happy);
}

#[test]
fn referral_codes_are_stable_readable_and_distinct() {
    let a = referral_code(&CustomerId::parse("c-1").unwrap());
    assert_eq!(a, referral_code(&CustomerId::parse("c-1").unwrap()));
    assert_ne!(a, referral_code(&CustomerId::parse("c-2").unwrap()));
    assert_eq!(a.len(), 8);
    assert!(
        a.chars()
            .all(|c| c.is_ascii_uppercase() && !"IO".contains(c) || ('2'..='9').contains(&c)),
        "{a}"
    );
}

#[test]
fn an_issue_resolved_event_is_read_whole_and_a_foreign_one_is_refused_by_field() {
    let event = parse_issue_resolved_event(
        &json!({
            "version": "0", "detail-type": ISSUE_RESOLVED, "source": "helpdesk.zendesk",
            "time": "2026-11-08T16:00:00Z", "detail": {"customer_id": "cus-1", "ticket": "ZD-77"}
        }),
        &crate::event::AcceptedYears::default(),
    )
    .unwrap();
    assert_eq!(event.detail.customer_id.as_str(), "cus-1");
    assert_eq!(event.resolved_at(), Some(at("2026-11-08T16:00:00Z")));

    let refusal = |value: serde_json::Value| {
        parse_issue_resolved_event(&value, &crate::event::AcceptedYears::default())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        refusal(json!({"detail-type": "emily.carter@example.com", "detail": {}})),
        "field `detail-type` must be \"IssueResolved\""
    );
    assert_eq!(
        refusal(
            json!({"detail-type": ISSUE_RESOLVED, "detail": {"customer_id": 4_155_550_123u64}})
        ),
        "field `detail.customer_id` must be a string"
    );
    assert_eq!(
        refusal(json!({"detail-type": ISSUE_RESOLVED, "detail": "{\"customer_id\": \"emily\"}"})),
        "field `detail` must be an object"
    );
    assert_eq!(
        refusal(json!({"Records": [{"body": "emily.carter@example.com"}]})),
        "field `detail-type` is required"
    );
    assert_eq!(refusal(json!("emily")), "field `body` must be an object");
    assert_eq!(
        refusal(
            json!({"detail-type": ISSUE_RESOLVED, "time": "1970-01-01T00:00:00Z",
                       "detail": {"customer_id": "cus-1"}})
        ),
        "field `time` is outside the accepted years 2000 to 2100"
    );
    assert_eq!(
        refusal(json!({"detail-type": ISSUE_RESOLVED,
                       "detail": {"customer_id": "cus-1", "resolved_at": "-262143-01-01T00:00:00Z"}})),
        "field `detail.resolved_at` is outside the accepted years 2000 to 2100"
    );
}
