//! The follow-ups' planning and decisions, through order events as they arrive.

use super::*;
use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::event::parse_order_event;
use crate::ids::Sku;
use crate::links::verify;
use crate::message::MessageKind;
use crate::order::Order;
use crate::order_status::{decide_order_event, BeforeEvent};
use crate::profile::Profile;
use crate::settings::{Policy, Settings};
use crate::status::OrderStatus;
use crate::text::Text;
use serde_json::json;

fn settings() -> Settings {
    crate::fixtures::settings()
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

struct Shop {
    before: BeforeEvent,
    settings: Settings,
    zone: &'static str,
    consent: Option<bool>,
}

impl Shop {
    fn new(zone: &'static str) -> Self {
        Self {
            before: BeforeEvent::default(),
            settings: settings(),
            zone,
            consent: None,
        }
    }

    /// Applies an event of `order` and returns the decision's follow-up changes.
    fn event(
        &mut self,
        order: &str,
        status: &str,
        when: &str,
        extra: serde_json::Value,
    ) -> FollowUpChanges {
        let mut body = json!({
            "event_id": format!("{order}-{status}-{when}"), "order_id": order, "status": status, "occurred_at": when,
            "customer": {"id": "c-1", "email": "anna@example.com", "name": "Anna", "locale": "en", "time_zone": self.zone},
            "items": [{"sku": "TEA-1", "name": "Assam", "category": "tea", "quantity": 2, "replenish_every_days": 30},
                      {"sku": "MUG-1", "name": "Mug", "category": "tableware", "quantity": 1}],
        });
        if let Some(consent) = self.consent {
            body["customer"]["marketing_consent"] = json!(consent);
        }
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            body[k] = v;
        }
        let event =
            parse_order_event(&body.to_string(), &crate::event::AcceptedYears::default()).unwrap();
        let order_now = self
            .before
            .order
            .as_ref()
            .filter(|o| o.order_id.as_str() == order)
            .cloned();
        let before = BeforeEvent {
            profile: self.before.profile.clone(),
            order: order_now,
        };
        let decision = decide_order_event(&before, &event, &self.settings).unwrap();
        self.before = BeforeEvent {
            profile: Some(decision.profile),
            order: Some(decision.order),
        };
        decision.follow_ups
    }

    fn profile(&self) -> &Profile {
        self.before.profile.as_ref().unwrap()
    }

    fn order(&self) -> &Order {
        self.before.order.as_ref().unwrap()
    }

    fn decide(&self, task: &FollowUp, now: &str) -> FollowUpOutcome {
        decide_follow_up(
            task,
            self.profile(),
            self.before.order.as_ref(),
            at(now),
            &self.settings,
        )
        .unwrap()
    }
}

fn planned<'a>(changes: &'a FollowUpChanges, key: &str) -> &'a FollowUp {
    changes
        .planned
        .iter()
        .find(|f| f.key == key)
        .unwrap_or_else(|| panic!("{key} not planned: {changes:?}"))
}

#[test]
fn delivery_plans_a_review_request_three_days_later_at_ten_local_time() {
    let mut shop = Shop::new("Europe/Moscow");
    shop.event("1042", "placed", "2026-11-18T09:00:00Z", json!({}));
    // 23:00 in Moscow on the 20th.
    let changes = shop.event("1042", "delivered", "2026-11-20T20:00:00Z", json!({}));
    assert_eq!(
        planned(&changes, "review#1042").due_at,
        at("2026-11-23T07:00:00Z")
    );
}

#[test]
fn an_expected_date_plans_the_delivery_reminder_the_evening_before_in_the_customers_zone() {
    let mut shop = Shop::new("America/Los_Angeles");
    let changes = shop.event(
        "1042",
        "shipped",
        "2026-11-20T18:00:00Z",
        json!({"delivery": {"eta": "2026-11-24", "carrier": "UPS"}}),
    );
    // 17:00 PST on the 23rd.
    assert_eq!(
        planned(&changes, "delivery_reminder#1042").due_at,
        at("2026-11-24T01:00:00Z")
    );
    let changes = shop.event("1042", "delivered", "2026-11-24T18:00:00Z", json!({}));
    let cancelled: Vec<&str> = changes.cancelled.iter().map(|c| c.key.as_str()).collect();
    assert!(
        cancelled.contains(&"delivery_reminder#1042") && cancelled.contains(&"watchdog#1042"),
        "{cancelled:?}"
    );
}

#[test]
fn an_expected_date_too_close_plans_no_reminder() {
    let mut shop = Shop::new("Europe/Berlin");
    let changes = shop.event(
        "1042",
        "shipped",
        "2026-11-23T18:00:00Z",
        json!({"delivery": {"eta": "2026-11-24", "carrier": "DHL"}}),
    );
    assert!(changes
        .planned
        .iter()
        .all(|f| f.kind != FollowUpKind::DeliveryReminder));
}

#[test]
fn the_watchdog_follows_each_status_with_its_own_limit() {
    let mut shop = Shop::new("Europe/Berlin");
    let changes = shop.event("1042", "placed", "2026-11-20T10:00:00Z", json!({}));
    assert_eq!(
        planned(&changes, "watchdog#1042").due_at,
        at("2026-11-21T10:00:00Z")
    );
    let changes = shop.event("1042", "packed", "2026-11-20T15:00:00Z", json!({}));
    let check = planned(&changes, "watchdog#1042");
    assert_eq!(
        (check.due_at, check.watch_status),
        (at("2026-11-22T15:00:00Z"), Some(OrderStatus::Packed))
    );
    // Shipped with an ETA: one day past it, at 10:00 local (09:00 UTC in Berlin in winter).
    let changes = shop.event(
        "1042",
        "shipped",
        "2026-11-21T10:00:00Z",
        json!({"delivery": {"eta": "2026-11-25", "carrier": "DHL"}}),
    );
    assert_eq!(
        planned(&changes, "watchdog#1042").due_at,
        at("2026-11-26T09:00:00Z")
    );
}

#[test]
fn a_forward_step_with_an_older_timestamp_still_gets_a_working_watchdog() {
    let mut shop = Shop::new("UTC");
    shop.event("1042", "placed", "2026-11-20T10:00:00Z", json!({}));
    let changes = shop.event("1042", "confirmed", "2026-11-20T09:00:00Z", json!({}));
    let check = planned(&changes, "watchdog#1042").clone();
    let outcome = shop.decide(&check, "2026-11-21T12:00:00Z");
    assert!(
        matches!(outcome.decision, FollowUpDecision::Send { .. }),
        "{:?}",
        outcome.decision
    );
}

#[test]
fn a_status_change_at_the_same_instant_moves_the_watchdog_to_the_new_status() {
    let mut shop = Shop::new("UTC");
    shop.event("1042", "placed", "2026-11-20T10:00:00Z", json!({}));
    let changes = shop.event("1042", "confirmed", "2026-11-20T10:00:00Z", json!({}));
    assert_eq!(
        planned(&changes, "watchdog#1042").watch_status,
        Some(OrderStatus::Confirmed)
    );
}

#[test]
fn a_late_event_of_an_older_order_does_not_bring_reactivation_forward() {
    let mut shop = Shop::new("UTC");
    shop.event("B", "placed", "2026-03-01T10:00:00Z", json!({}));
    shop.before.order = None;
    let changes = shop.event("A", "placed", "2026-01-01T10:00:00Z", json!({}));
    let check = planned(&changes, "reactivation");
    assert_eq!(check.planned_at, at("2026-03-01T10:00:00Z"));
    assert!(
        check.due_at >= at("2026-05-30T10:00:00Z"),
        "{}",
        check.due_at
    );
}

#[test]
fn a_stuck_order_gets_an_honest_update_and_a_person_is_asked_to_look() {
    let mut shop = Shop::new("Europe/Berlin");
    let changes = shop.event("1042", "placed", "2026-11-20T10:00:00Z", json!({}));
    let check = planned(&changes, "watchdog#1042").clone();
    let outcome = shop.decide(&check, "2026-11-21T10:00:00Z");
    let handoff = outcome.handoff.clone();
    let FollowUpDecision::Send { message, .. } = outcome.decision else {
        panic!("{:?}", outcome.decision)
    };
    assert_eq!(message.kind, MessageKind::WatchdogUpdate);
    assert!(
        message.text.contains("have not forgotten you"),
        "{}",
        message.text
    );
    let handoff = handoff.unwrap();
    assert_eq!(
        (handoff.order_id.as_str(), handoff.status),
        ("1042", OrderStatus::Placed)
    );
    assert!(!outcome.profile.follow_ups.contains_key("watchdog#1042"));
}

#[test]
fn the_watchdog_stands_down_when_the_order_moved_on() {
    let mut shop = Shop::new("Europe/Berlin");
    let first = shop.event("1042", "placed", "2026-11-20T10:00:00Z", json!({}));
    let stale = planned(&first, "watchdog#1042").clone();
    shop.event("1042", "packed", "2026-11-20T20:00:00Z", json!({}));
    let outcome = shop.decide(&stale, "2026-11-21T10:00:00Z");
    assert!(
        matches!(outcome.decision, FollowUpDecision::Cancel { ref reason } if reason.contains("moved on")),
        "{:?}",
        outcome.decision
    );
}

#[test]
fn a_reminder_for_an_order_already_delivered_is_cancelled_with_the_reason() {
    let mut shop = Shop::new("Europe/Berlin");
    let changes = shop.event(
        "1042",
        "shipped",
        "2026-11-20T10:00:00Z",
        json!({"delivery": {"eta": "2026-11-25", "carrier": "DHL"}}),
    );
    let reminder = planned(&changes, "delivery_reminder#1042").clone();
    shop.event("1042", "delivered", "2026-11-22T10:00:00Z", json!({}));
    let outcome = shop.decide(&reminder, "2026-11-24T16:00:00Z");
    assert!(
        matches!(outcome.decision, FollowUpDecision::Cancel { ref reason } if reason.contains("delivered"))
    );
}

#[test]
fn repurchase_is_timed_to_the_items_cycle_times_quantity_less_the_lead_time() {
    let mut shop = Shop::new("Europe/Berlin");
    shop.event("1042", "placed", "2026-11-01T10:00:00Z", json!({}));
    let changes = shop.event("1042", "delivered", "2026-11-03T12:00:00Z", json!({}));
    // 2 × 30 days from 3 November is 2 January; 7 days earlier at 10:00 Berlin time.
    let reminder = planned(&changes, "repurchase#TEA-1");
    assert_eq!(reminder.run_out_on, NaiveDate::from_ymd_opt(2027, 1, 2));
    assert_eq!(reminder.due_at, at("2026-12-26T09:00:00Z"));
    assert!(
        changes.planned.iter().all(|f| f.key != "repurchase#MUG-1"),
        "mugs are not consumed"
    );
}

#[test]
fn after_three_purchases_the_customers_own_median_interval_wins() {
    let mut shop = Shop::new("UTC");
    shop.event("A", "placed", "2026-08-01T10:00:00Z", json!({}));
    shop.before.order = None;
    shop.event("B", "placed", "2026-08-21T10:00:00Z", json!({}));
    shop.before.order = None;
    shop.event("C", "placed", "2026-09-10T10:00:00Z", json!({}));
    let changes = shop.event("C", "delivered", "2026-09-12T10:00:00Z", json!({}));
    // Intervals of 20 days beat 2 × 30.
    assert_eq!(
        planned(&changes, "repurchase#TEA-1").run_out_on,
        NaiveDate::from_ymd_opt(2026, 10, 2)
    );
}

#[test]
fn a_new_order_of_the_same_product_or_category_cancels_the_repurchase_reminder() {
    let mut shop = Shop::new("UTC");
    shop.event("A", "placed", "2026-10-01T10:00:00Z", json!({}));
    let delivered = shop.event("A", "delivered", "2026-10-03T10:00:00Z", json!({}));
    let reminder = planned(&delivered, "repurchase#TEA-1").clone();
    shop.before.order = None;
    let reorder = json!({"items": [{"sku": "TEA-2", "name": "Darjeeling", "category": "tea", "quantity": 1}]});
    let changes = shop.event("B", "placed", "2026-10-20T10:00:00Z", reorder);
    let cancelled = changes
        .cancelled
        .iter()
        .find(|c| c.key == "repurchase#TEA-1")
        .expect("cancelled");
    assert!(
        cancelled.reason.contains("same category"),
        "{}",
        cancelled.reason
    );
    // Had the reminder been claimed anyway, the decision cancels it too.
    let mut profile_bought_again = shop.profile().clone();
    profile_bought_again
        .sku_purchases
        .get_mut(&Sku::parse("TEA-1").unwrap())
        .unwrap()
        .push(at("2026-10-21T10:00:00Z"));
    let outcome = decide_follow_up(
        &reminder,
        &profile_bought_again,
        None,
        at("2026-10-25T10:00:00Z"),
        &shop.settings,
    )
    .unwrap();
    assert!(matches!(outcome.decision, FollowUpDecision::Cancel { .. }));
}

#[test]
fn the_median_interval_works_with_two_three_and_many_orders() {
    let days = |list: &[i64]| {
        list.iter()
            .map(|d| at("2026-01-01T00:00:00Z") + Duration::days(*d))
            .collect::<Vec<_>>()
    };
    assert_eq!(median_interval(&days(&[0])), None);
    assert_eq!(median_interval(&days(&[0, 10])), Some(Duration::days(10)));
    assert_eq!(
        median_interval(&days(&[0, 10, 40])),
        Some(Duration::days(20))
    );
    assert_eq!(
        median_interval(&days(&[0, 5, 15, 30, 100])),
        Some(Duration::days(12) + Duration::hours(12))
    );
}

#[test]
fn dormancy_is_ninety_days_or_three_median_intervals_whichever_is_longer() {
    let policy = Policy::default();
    let mut shop = Shop::new("UTC");
    shop.event("A", "placed", "2026-01-01T00:00:00Z", json!({}));
    assert_eq!(dormant_after(shop.profile(), &policy), Duration::days(90));
    shop.before.order = None;
    shop.event("B", "placed", "2026-03-02T00:00:00Z", json!({}));
    // One interval of 60 days: 3 × 60 = 180 days.
    assert_eq!(dormant_after(shop.profile(), &policy), Duration::days(180));
}

#[test]
fn reactivation_makes_two_attempts_fourteen_days_apart_then_stops() {
    let mut shop = Shop::new("UTC");
    let changes = shop.event("A", "placed", "2026-01-01T10:00:00Z", json!({}));
    let first = planned(&changes, "reactivation").clone();
    assert_eq!(first.due_at, at("2026-04-01T10:00:00Z"));
    let outcome = shop.decide(&first, "2026-04-01T10:00:00Z");
    let FollowUpDecision::Send { message, next, .. } = outcome.decision else {
        panic!()
    };
    assert!(
        message.subject.contains("We miss you"),
        "{}",
        message.subject
    );
    let second = *next.unwrap();
    assert_eq!(
        (second.attempt, second.due_at),
        (2, at("2026-04-15T10:00:00Z"))
    );
    let mut shop = Shop {
        before: BeforeEvent {
            profile: Some(outcome.profile),
            order: None,
        },
        ..Shop::new("UTC")
    };
    shop.settings = settings();
    let outcome = shop.decide(&second, "2026-04-15T10:00:00Z");
    let FollowUpDecision::Send { message, next, .. } = outcome.decision else {
        panic!()
    };
    assert!(message.subject.contains("One last hello"));
    assert!(next.is_none(), "no third attempt");
}

#[test]
fn a_new_order_ends_the_reactivation_journey() {
    let mut shop = Shop::new("UTC");
    let changes = shop.event("A", "placed", "2026-01-01T10:00:00Z", json!({}));
    let first = planned(&changes, "reactivation").clone();
    shop.before.order = None;
    shop.event("B", "placed", "2026-03-01T10:00:00Z", json!({}));
    let outcome = shop.decide(&first, "2026-04-01T10:00:00Z");
    assert!(
        matches!(outcome.decision, FollowUpDecision::Cancel { ref reason } if reason.contains("ordered again"))
    );
}

fn delivered_review(shop: &mut Shop) -> FollowUp {
    shop.event("1042", "placed", "2026-11-18T09:00:00Z", json!({}));
    let changes = shop.event("1042", "delivered", "2026-11-20T10:00:00Z", json!({}));
    planned(&changes, "review#1042").clone()
}

#[test]
fn a_review_request_for_an_order_the_customer_rated_already_is_cancelled() {
    let mut shop = Shop::new("UTC");
    let review = delivered_review(&mut shop);
    let mut order = shop.order().clone();
    order.rating = Some(crate::answers::Rating {
        score: crate::answers::Score::new(2).unwrap(),
        comment: None,
        first_at: at("2026-11-21T08:00:00Z"),
        updated_at: at("2026-11-21T08:00:00Z"),
    });
    shop.before.order = Some(order);
    let outcome = shop.decide(&review, "2026-11-23T10:00:00Z");
    assert_eq!(
        outcome.decision,
        FollowUpDecision::Cancel {
            reason: "the customer rated order 1042 already".into()
        }
    );
}

#[test]
fn a_review_request_due_in_quiet_hours_waits_until_morning() {
    let mut shop = Shop::new("America/Los_Angeles");
    let review = delivered_review(&mut shop);
    // 22:30 in Los Angeles.
    let outcome = shop.decide(&review, "2026-11-24T06:30:00Z");
    assert_eq!(
        outcome.decision,
        FollowUpDecision::Defer {
            until: at("2026-11-24T17:00:00Z"),
            reason: "quiet hours in the customer's time zone".into()
        }
    );
    assert_eq!(
        outcome.profile.follow_ups["review#1042"].due_at,
        at("2026-11-24T17:00:00Z")
    );
}

#[test]
fn the_frequency_cap_holds_a_second_message_within_a_day() {
    let mut shop = Shop::new("UTC");
    let review = delivered_review(&mut shop);
    let mut profile = shop.profile().clone();
    profile.engagement_sent.push(at("2026-11-23T09:00:00Z"));
    let outcome = decide_follow_up(
        &review,
        &profile,
        shop.before.order.as_ref(),
        at("2026-11-23T12:00:00Z"),
        &shop.settings,
    )
    .unwrap();
    assert_eq!(
        outcome.decision,
        FollowUpDecision::Defer {
            until: at("2026-11-24T09:00:00Z"),
            reason: "frequency cap".into()
        }
    );
}

#[test]
fn marketing_needs_consent_but_a_review_request_does_not() {
    let mut shop = Shop::new("UTC");
    shop.consent = Some(false);
    let review = delivered_review(&mut shop);
    let changes_repurchase = shop.profile().follow_ups.get("repurchase#TEA-1").cloned();
    assert!(changes_repurchase.is_some());
    assert!(matches!(
        shop.decide(&review, "2026-11-23T12:00:00Z").decision,
        FollowUpDecision::Send { .. }
    ));
    let mut reminder = review.clone();
    reminder.kind = FollowUpKind::Repurchase;
    reminder.key = "repurchase#TEA-1".into();
    let outcome = shop.decide(&reminder, "2026-12-10T12:00:00Z");
    assert!(
        matches!(outcome.decision, FollowUpDecision::Withhold { ref reason } if reason.contains("marketing"))
    );
}

#[test]
fn a_switched_off_kind_and_a_holdout_customer_are_withheld_with_the_reason() {
    let mut shop = Shop::new("UTC");
    let review = delivered_review(&mut shop);
    shop.settings
        .disabled_kinds
        .insert(MessageKind::ReviewRequest);
    assert!(
        matches!(shop.decide(&review, "2026-11-23T12:00:00Z").decision, FollowUpDecision::Withhold { ref reason } if reason.contains("switched off"))
    );
    shop.settings.disabled_kinds.clear();
    shop.settings
        .policy
        .holdout_percent
        .insert(MessageKind::ReviewRequest, 100);
    assert!(
        matches!(shop.decide(&review, "2026-11-23T12:00:00Z").decision, FollowUpDecision::Withhold { ref reason } if reason.contains("holdout"))
    );
}

#[test]
fn a_review_request_carries_five_signed_links_for_this_customer_and_order() {
    let mut shop = Shop::new("UTC");
    let review = delivered_review(&mut shop);
    let outcome = shop.decide(&review, "2026-11-23T12:00:00Z");
    let FollowUpDecision::Send { message, .. } = outcome.decision else {
        panic!()
    };
    let links: Vec<&str> = message
        .text
        .lines()
        .filter(|l| l.contains("/rate?token="))
        .collect();
    assert_eq!(links.len(), 5, "{}", message.text);
    let token = links[4]
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let keys = &shop.settings.links.as_ref().unwrap().keys;
    let claims = verify(keys, token, at("2026-11-24T00:00:00Z")).unwrap();
    assert_eq!(
        (claims.customer.as_str(), claims.order.as_str()),
        ("c-1", "1042")
    );
    assert!(links[4].ends_with("score=5"));
    // The outbox keeps the row's five words; the links are signed again at layout.
    let kept = serde_json::to_string(&message.draft).unwrap();
    assert!(!kept.contains("token="), "{kept}");
    assert_eq!(message.draft.rating_labels.len(), 5);
    assert!(
        message
            .text
            .contains("Unsubscribe or choose which emails you get: https://feedback.leafandkettle.example/unsubscribe?token=p1."),
        "a way out in non-transactional mail"
    );
    let headers = message.list_unsubscribe.as_ref().unwrap();
    assert!(message.text.contains(&headers.https));
    let mut unsigned = shop.settings.clone();
    unsigned.links = None;
    shop.settings = unsigned;
    let FollowUpDecision::Send { message, .. } =
        shop.decide(&review, "2026-11-23T12:00:00Z").decision
    else {
        panic!()
    };
    assert!(
        message.text.contains("take you off the list") && message.list_unsubscribe.is_none(),
        "without signed links a reply to a person is the way out"
    );
}

#[test]
fn an_unsubscribed_or_suppressed_customer_gets_no_follow_up_and_the_reason_is_recorded() {
    let mut shop = Shop::new("UTC");
    let review = delivered_review(&mut shop);
    let profile = shop.before.profile.clone().unwrap();
    let (unsubscribed, _) = crate::consent::unsubscribe(
        &profile,
        &[crate::consent::MailTopic::ReviewRequests],
        crate::consent::OptOutSource::OneClick,
        at("2026-11-21T08:00:00Z"),
    );
    shop.before.profile = Some(unsubscribed);
    let outcome = shop.decide(&review, "2026-11-23T12:00:00Z");
    assert!(
        matches!(outcome.decision, FollowUpDecision::Withhold { ref reason } if reason.contains("unsubscribed from review_requests with one click")),
        "{:?}",
        outcome.decision
    );
    let (suppressed, _) = crate::consent::apply_bounce(
        &profile,
        &crate::consent::Bounce {
            address: profile.email.clone(),
            permanent: true,
            subtype: "NoEmail".into(),
            feedback_id: "f-1".into(),
            at: at("2026-11-21T08:00:00Z"),
        },
    );
    shop.before.profile = Some(suppressed);
    let outcome = shop.decide(&review, "2026-11-23T12:00:00Z");
    assert!(
        matches!(outcome.decision, FollowUpDecision::Withhold { ref reason } if reason.contains("suppressed")),
        "{:?}",
        outcome.decision
    );
}

#[test]
fn every_follow_up_renders_in_both_languages_from_a_draft_that_lays_out_again() {
    for locale in ["en", "ru"] {
        let mut shop = Shop::new("Europe/Moscow");
        shop.event(
            "1042",
            "shipped",
            "2026-11-18T09:00:00Z",
            json!({"delivery": {"eta": "2026-11-25", "carrier": "DHL"}}),
        );
        let mut profile = shop.profile().clone();
        profile.locale = crate::contact::Locale::parse(locale).unwrap();
        for kind in [
            FollowUpKind::DeliveryReminder,
            FollowUpKind::ReviewRequest,
            FollowUpKind::Repurchase,
            FollowUpKind::Reactivation,
            FollowUpKind::Watchdog,
        ] {
            let mut task = FollowUp::new(
                format!("{kind:?}"),
                kind,
                &profile.customer_id,
                Some(&shop.order().order_id),
                at("2026-11-20T09:00:00Z"),
                at("2026-11-18T09:00:00Z"),
            );
            task.watch_status = Some(OrderStatus::Shipped);
            task.item_name = Some(Text::parse("Assam").unwrap());
            task.run_out_on = NaiveDate::from_ymd_opt(2026, 12, 1);
            let message = crate::follow_ups::message::compose(
                &task,
                &profile,
                shop.before.order.as_ref(),
                at("2026-11-20T09:00:00Z"),
                &shop.settings,
            )
            .unwrap();
            crate::message::assert_draft_lays_out_again(&message, &shop.settings);
            assert!(
                !message.subject.is_empty() && message.html.contains("help@leafandkettle.example"),
                "{kind:?} {locale}"
            );
            if locale == "ru" {
                assert!(
                    message.subject.chars().any(|c| ('а'..='я').contains(&c)),
                    "{kind:?}: {}",
                    message.subject
                );
            }
        }
    }
}

#[test]
fn a_customer_never_has_more_than_eight_repurchase_reminders_planned_the_latest_due_are_cancelled()
{
    let mut shop = Shop::new("UTC");
    let mut cancelled = Vec::new();
    // Twelve orders a day apart, each of one product that lasts longer than the one before,
    // in categories of their own.
    for n in 0..12u32 {
        let day = format!("2026-01-{:02}T10:00:00Z", n + 1);
        let items = json!({"items": [{"sku": format!("SOAP-{n}"), "name": format!("Soap {n}"),
            "category": format!("soap-{n}"), "quantity": 1, "replenish_every_days": 60 + n}]});
        shop.event(&format!("O-{n}"), "placed", &day, items.clone());
        let changes = shop.event(&format!("O-{n}"), "delivered", &day, items);
        cancelled.extend(changes.cancelled);
    }
    let planned: Vec<&String> = shop
        .profile()
        .follow_ups
        .iter()
        .filter(|(_, p)| p.kind == FollowUpKind::Repurchase)
        .map(|(key, _)| key)
        .collect();
    assert_eq!(planned.len(), super::types::MAX_PLANNED_REPURCHASES);
    assert!(planned.iter().all(|key| {
        let n: u32 = key.trim_start_matches("repurchase#SOAP-").parse().unwrap();
        n < 8
    }));
    let dropped: Vec<&str> = cancelled
        .iter()
        .filter(|c| c.kind == FollowUpKind::Repurchase)
        .map(|c| c.reason.as_str())
        .collect();
    assert_eq!(dropped.len(), 4, "{cancelled:?}");
    assert!(dropped
        .iter()
        .all(|reason| *reason == "the customer has 8 sooner repurchase reminders planned"));
}

#[test]
fn an_order_listing_one_product_on_two_lines_plans_one_repurchase_reminder_for_it() {
    let mut shop = Shop::new("UTC");
    let items = json!({"items": [
        {"sku": "TEA-1", "name": "Assam", "category": "tea", "quantity": 1, "replenish_every_days": 30},
        {"sku": "TEA-1", "name": "Assam (gift)", "category": "tea", "quantity": 2, "replenish_every_days": 30}]});
    shop.event("1042", "placed", "2026-11-18T09:00:00Z", items.clone());
    let changes = shop.event("1042", "delivered", "2026-11-20T10:00:00Z", items);
    let keys: Vec<&str> = changes.planned.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys.iter().filter(|k| **k == "repurchase#TEA-1").count(),
        1,
        "{keys:?}"
    );
}

#[test]
fn a_review_request_kept_waiting_a_month_after_delivery_is_cancelled_as_too_late() {
    let mut shop = Shop::new("UTC");
    let review = delivered_review(&mut shop);
    let outcome = shop.decide(&review, "2026-12-21T10:00:00Z");
    assert_eq!(
        outcome.decision,
        FollowUpDecision::Cancel {
            reason: "order 1042 was delivered more than 30 days ago: too late to ask".into()
        }
    );
    let in_time = shop.decide(&review, "2026-12-19T10:00:00Z");
    assert!(
        matches!(in_time.decision, FollowUpDecision::Send { .. }),
        "{:?}",
        in_time.decision
    );
}

/// The profile after `outcome`, kept as the shop's.
fn keep(shop: &mut Shop, outcome: FollowUpOutcome) {
    shop.before.profile = Some(outcome.profile);
}

#[test]
fn a_sent_review_request_is_the_touch_a_later_order_is_attributed_to() {
    let mut shop = Shop::new("UTC");
    let review = delivered_review(&mut shop);
    let outcome = shop.decide(&review, "2026-11-23T12:00:00Z");
    let FollowUpDecision::Send { message, .. } = &outcome.decision else {
        panic!("{:?}", outcome.decision)
    };
    let message_id = message.id.clone();
    keep(&mut shop, outcome);
    let touch = &shop.profile().touches[&MessageKind::ReviewRequest];
    assert_eq!(touch.at, at("2026-11-23T12:00:00Z"));

    shop.event("1043", "placed", "2026-11-30T12:00:00Z", json!({}));

    let attribution = &shop.order().attribution;
    assert_eq!(attribution.len(), 1, "{attribution:?}");
    assert_eq!(attribution[0].kind, MessageKind::ReviewRequest);
    assert_eq!(
        attribution[0].by,
        crate::profile::TouchBy::Treated { message_id }
    );
    assert_eq!(attribution[0].days_since, 7);
    assert_eq!(shop.order().conversions(), &attribution[..]);
}

#[test]
fn a_held_out_customer_is_touched_at_the_instant_the_message_would_have_gone() {
    let mut shop = Shop::new("UTC");
    let review = delivered_review(&mut shop);
    shop.settings
        .policy
        .holdout_percent
        .insert(MessageKind::ReviewRequest, 100);
    // 22:00 is within the quiet hours (21:00 to 09:00): a send would have waited until 09:00.
    let outcome = shop.decide(&review, "2026-11-23T22:00:00Z");
    assert!(matches!(
        outcome.decision,
        FollowUpDecision::Withhold { .. }
    ));
    keep(&mut shop, outcome);
    assert_eq!(
        shop.profile().touches[&MessageKind::ReviewRequest],
        crate::profile::Touch {
            at: at("2026-11-24T09:00:00Z"),
            by: crate::profile::TouchBy::Holdout {
                decision: "review#1042#1".into()
            }
        }
    );

    // An order before that instant was not brought by the message it was held out of.
    let mut early = Shop {
        before: shop.before.clone(),
        settings: shop.settings.clone(),
        zone: "UTC",
        consent: None,
    };
    early.event("1043", "placed", "2026-11-24T08:00:00Z", json!({}));
    assert!(early.order().attribution.is_empty());

    shop.event("1043", "placed", "2026-11-25T08:00:00Z", json!({}));
    let attribution = &shop.order().attribution;
    assert_eq!(attribution.len(), 1);
    assert!(matches!(
        attribution[0].by,
        crate::profile::TouchBy::Holdout { .. }
    ));
    assert_eq!(attribution[0].days_since, 0);
}

#[test]
fn a_cancelled_order_keeps_its_attribution_but_is_no_conversion() {
    let mut shop = Shop::new("UTC");
    let review = delivered_review(&mut shop);
    let outcome = shop.decide(&review, "2026-11-23T12:00:00Z");
    keep(&mut shop, outcome);
    shop.event("1043", "placed", "2026-11-25T12:00:00Z", json!({}));
    assert_eq!(shop.order().conversions().len(), 1);

    shop.event("1043", "cancelled", "2026-11-25T13:00:00Z", json!({}));

    assert_eq!(shop.order().attribution.len(), 1);
    assert!(shop.order().conversions().is_empty());
}

#[test]
fn the_second_order_is_the_second_earliest_seen_even_when_an_earlier_one_arrives_late() {
    let mut shop = Shop::new("UTC");
    shop.event("1", "placed", "2026-11-10T12:00:00Z", json!({}));
    assert_eq!(shop.profile().second_order_at, None);
    shop.event("2", "placed", "2026-11-20T12:00:00Z", json!({}));
    assert_eq!(
        shop.profile().second_order_at,
        Some(at("2026-11-20T12:00:00Z"))
    );
    shop.event("0", "placed", "2026-11-01T12:00:00Z", json!({}));
    assert_eq!(
        shop.profile().first_order_at,
        Some(at("2026-11-01T12:00:00Z"))
    );
    assert_eq!(
        shop.profile().second_order_at,
        Some(at("2026-11-10T12:00:00Z"))
    );
}
