//! Every rule is total over every date chrono can hold: parsing refuses dates outside the
//! accepted years with the field named, and the rules behind it, handed such dates anyway
//! (another shop's span of years, a profile written long ago, a clock gone wrong), decide
//! without panicking. proptest fails a case that panics.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use proptest::prelude::*;
use serde_json::json;

use crate::answers::{resolve_issue, OpenIssue, Score};
use crate::consent::{apply_bounce, apply_complaint, Bounce, ComplaintRecord};
use crate::contact::EmailAddress;
use crate::event::{parse_order_event, AcceptedYears, OrderEvent};
use crate::fixtures::settings;
use crate::follow_ups::decide_follow_up;
use crate::ids::OrderId;
use crate::order_status::{decide_order_event, BeforeEvent};
use crate::status::OrderStatus;

/// Any instant chrono holds, with its edges and the years around the accepted span favoured.
fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let lowest = DateTime::<Utc>::MIN_UTC.timestamp();
    let highest = DateTime::<Utc>::MAX_UTC.timestamp();
    prop_oneof![
        Just(DateTime::<Utc>::MIN_UTC),
        Just(DateTime::<Utc>::MAX_UTC),
        (lowest..=highest).prop_map(move |s| DateTime::from_timestamp(s, 0).unwrap()),
        (-2_208_988_800i64..=7_258_118_400i64)
            .prop_map(|s| DateTime::from_timestamp(s, 0).unwrap()),
    ]
}

/// Any date chrono holds, edges favoured.
fn any_date() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        Just(NaiveDate::MIN),
        Just(NaiveDate::MAX),
        (NaiveDate::MIN.num_days_from_ce()..=NaiveDate::MAX.num_days_from_ce())
            .prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap()),
    ]
}

fn any_status() -> impl Strategy<Value = OrderStatus> {
    proptest::sample::select(OrderStatus::ALL.to_vec())
}

/// An order event body of `status` with these dates, in the shape shops send.
fn body(status: OrderStatus, at: DateTime<Utc>, eta: NaiveDate, new_eta: NaiveDate) -> String {
    json!({
        "event_id": format!("e-{status}"), "order_id": "o-1", "status": status.as_str(),
        "occurred_at": at.to_rfc3339(),
        "customer": {"id": "c-1", "email": "anna@example.com", "locale": "en",
                     "time_zone": "Pacific/Kiritimati"},
        "items": [{"sku": "TEA-1", "name": "Assam", "quantity": 2, "replenish_every_days": 30}],
        "delivery": {"eta": eta.to_string(), "carrier": "DHL"},
        "delay": {"reason": "storm at the hub", "new_eta": new_eta.to_string()},
        "cancellation": {"reason": "out of stock"}
    })
    .to_string()
}

/// The same event, read without the years check, as a rule could be handed it.
fn unchecked(
    status: OrderStatus,
    at: DateTime<Utc>,
    eta: NaiveDate,
    new_eta: NaiveDate,
) -> OrderEvent {
    serde_json::from_str(&body(status, at, eta, new_eta)).expect("chrono writes what it reads")
}

/// Applies `event` to `before`, then decides every follow-up it planned at `now`.
fn apply(before: &BeforeEvent, event: &OrderEvent, now: DateTime<Utc>) -> BeforeEvent {
    let settings = settings();
    let decision = decide_order_event(before, event, &settings).expect("rendering works");
    for task in &decision.follow_ups.planned {
        for at in [now, task.due_at, event.occurred_at] {
            let _ = decide_follow_up(
                task,
                &decision.profile,
                Some(&decision.order),
                at,
                &settings,
            );
        }
    }
    BeforeEvent {
        profile: Some(decision.profile),
        order: Some(decision.order),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn an_order_event_with_any_dates_is_parsed_or_refused_naming_a_date_field(
        status in any_status(),
        at in any_instant(),
        eta in any_date(),
        new_eta in any_date(),
    ) {
        let years = AcceptedYears::default();
        match parse_order_event(&body(status, at, eta, new_eta), &years) {
            Ok(event) => {
                prop_assert!(years.contains(event.occurred_at));
                prop_assert!(years.contains_date(eta) && years.contains_date(new_eta));
            }
            Err(refused) => {
                prop_assert!(
                    ["occurred_at", "delivery.eta", "delay.new_eta"].contains(&refused.field.as_str()),
                    "{refused}"
                );
                prop_assert_eq!(refused.problem.to_string(), "is outside the accepted years 2000 to 2100");
            }
        }
    }

    #[test]
    fn order_rules_and_follow_ups_decide_without_panicking_at_any_date(
        first in any_status(),
        second in any_status(),
        at in any_instant(),
        later in any_instant(),
        eta in any_date(),
        new_eta in any_date(),
        now in any_instant(),
    ) {
        let before = apply(&BeforeEvent::default(), &unchecked(first, at, eta, new_eta), now);
        let before = apply(&before, &unchecked(second, later, new_eta, eta), now);
        prop_assert!(before.profile.is_some());
    }

    #[test]
    fn bounces_complaints_and_resolutions_apply_without_panicking_at_any_instant(
        at in any_instant(),
        bounced_at in any_instant(),
        opened_at in any_instant(),
        now in any_instant(),
        permanent in any::<bool>(),
    ) {
        let event = unchecked(OrderStatus::Delivered, at, at.date_naive(), at.date_naive());
        let mut profile = decide_order_event(&BeforeEvent::default(), &event, &settings())
            .expect("rendering works")
            .profile;
        for (i, when) in [bounced_at, now, opened_at].into_iter().enumerate() {
            let bounce = Bounce {
                address: EmailAddress::parse("anna@example.com").unwrap(),
                permanent: permanent && i == 2,
                subtype: "General".into(),
                feedback_id: format!("f-{i}"),
                at: when,
            };
            profile = apply_bounce(&profile, &bounce).0;
        }
        let complaint = ComplaintRecord { at: bounced_at, feedback_id: "c-1".into(), kind: None, feedback_type: None };
        profile = apply_complaint(&profile, &complaint).0;
        profile.open_issue = Some(OpenIssue {
            order_id: OrderId::parse("o-1").unwrap(),
            opened_at,
            score: Score::new(1).unwrap(),
            comment: None,
        });
        let resolved = resolve_issue(&profile, now);
        prop_assert!(resolved.is_some_and(|(_, issue)| issue.seconds_to_resolution >= 0));
    }
}

proptest! {
    #[test]
    fn an_issue_resolved_event_dated_anywhere_is_read_or_refused_naming_its_date(
        time in any_instant(),
        resolved in any_instant(),
    ) {
        let years = AcceptedYears::default();
        let event = json!({"detail-type": "IssueResolved", "time": time.to_rfc3339(),
                           "detail": {"customer_id": "cus-1", "resolved_at": resolved.to_rfc3339()}});
        match crate::answers::parse_issue_resolved_event(&event, &years) {
            Ok(parsed) => prop_assert!(parsed.resolved_at().is_some_and(|at| years.contains(at))),
            Err(refused) => prop_assert!(
                ["time", "detail.resolved_at"].contains(&refused.field.as_str()),
                "{refused}"
            ),
        }
    }
}

#[test]
fn the_reported_inputs_are_refused_at_parsing_with_their_field_named() {
    let years = AcceptedYears::default();
    let placed = r#"{"event_id":"e","order_id":"o","status":"placed","occurred_at":"2026-12-01T12:30:00Z","customer":{"id":"c","email":"a@b.co","locale":"en","time_zone":"UTC"},"delivery":{"eta":"-262143-01-01"}}"#;
    let refused = parse_order_event(placed, &years).unwrap_err();
    assert_eq!(refused.field, "delivery.eta");
    let ancient = placed.replace(
        r#""delivery":{"eta":"-262143-01-01"}"#,
        r#""delay":{"reason":"storm","new_eta":"-262143-01-01"}"#,
    );
    let refused = parse_order_event(&ancient.replace("placed", "delayed"), &years).unwrap_err();
    assert_eq!(refused.field, "delay.new_eta");
    let at_the_epoch = placed.replace("2026-12-01T12:30:00Z", "1970-01-01T00:00:00Z");
    assert_eq!(
        parse_order_event(&at_the_epoch, &years).unwrap_err().field,
        "occurred_at"
    );
}

#[test]
fn a_shop_may_accept_another_span_of_years() {
    let placed = body(
        OrderStatus::Placed,
        DateTime::parse_from_rfc3339("1999-12-31T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
        NaiveDate::from_ymd_opt(2000, 1, 3).unwrap(),
        NaiveDate::from_ymd_opt(2000, 1, 3).unwrap(),
    );
    assert!(parse_order_event(&placed, &AcceptedYears::default()).is_err());
    let wider = AcceptedYears::parse("1990-2100").unwrap();
    assert!(parse_order_event(&placed, &wider).is_ok());
    assert!(AcceptedYears::parse("2100-2000").is_err());
    assert!(AcceptedYears::parse("-262143-2100").is_err());
    assert!(AcceptedYears::parse("2000").is_err());
    assert_eq!(AcceptedYears::parse(" 2001 - 2099 ").unwrap().first(), 2001);
}
