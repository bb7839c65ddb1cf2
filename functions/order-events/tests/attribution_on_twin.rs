//! Attribution through the real functions on the in-memory twin: the order events function
//! records the orders, the schedule sends (or, for the holdout group, withholds) the repurchase
//! reminder, and the next order of each customer is attributed to that touch.

use aftercare_adapters::items::JourneyItem;
use aftercare_adapters::memory::{MemoryBus, MemoryMailer, MemoryStore};
use aftercare_journey::guardrails::is_held_out;
use aftercare_journey::ids::CustomerId;
use aftercare_journey::message::MessageKind;
use aftercare_journey::order::Order;
use aftercare_journey::profile::TouchBy;
use aftercare_twin_fixtures::{at, envelope, order_event, Twin, SCHEDULE_RULE_ARN};
use chrono::{DateTime, Duration, Utc};
use order_events::{OrderEventsFunction, RecordOutcome};
use schedule::{ScheduleFunction, ScheduleOutcome};
use serde_json::Value;

const REMINDER: &str = "repurchase#TEA-ASSAM-250";

fn function(twin: &Twin) -> OrderEventsFunction<MemoryStore, MemoryMailer> {
    OrderEventsFunction::from_parts(twin.store.clone(), twin.mailer.clone(), twin.parts())
}

fn schedule(twin: &Twin) -> ScheduleFunction<MemoryStore, MemoryMailer, MemoryBus> {
    ScheduleFunction::from_parts(
        twin.store.clone(),
        twin.mailer.clone(),
        twin.bus.clone(),
        SCHEDULE_RULE_ARN.to_owned(),
        twin.parts(),
    )
}

/// The first of `cus-1`, `cus-2`, … that is (or is not) in the repurchase reminder's 50 %
/// holdout group.
fn customer(held_out: bool) -> String {
    (1..)
        .map(|n| format!("cus-{n}"))
        .find(|id| {
            is_held_out(
                &CustomerId::parse(id).unwrap(),
                MessageKind::RepurchaseReminder,
                50,
            ) == held_out
        })
        .unwrap()
}

/// Handles the sample event of `status` for `customer`'s `order` at `when`, as SQS delivers it.
async fn order_step(twin: &Twin, customer: &str, order: &str, status: &str, when: DateTime<Utc>) {
    let detail = order_event(
        status,
        customer,
        order,
        &format!("{customer}-{order}-{status}"),
        &when.to_rfc3339(),
    );
    twin.clock.set(when + Duration::seconds(5));
    let outcome = function(twin)
        .process_body(
            &envelope(&detail),
            &format!("inv-{customer}-{order}-{status}"),
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, RecordOutcome::Processed { applied: true, .. }),
        "{outcome:?}"
    );
}

/// Runs the schedule as its rule would at `when`.
async fn scheduled_run(twin: &Twin, when: DateTime<Utc>) {
    let mut event: Value =
        serde_json::from_str(include_str!("../../../infra/events/schedule.json")).unwrap();
    event["time"] = Value::from(when.to_rfc3339());
    twin.clock.set(when + Duration::seconds(3));
    let outcome = schedule(twin).handle(event, "sched", None).await.unwrap();
    assert!(matches!(outcome, ScheduleOutcome::Swept(_)), "{outcome:?}");
}

async fn order(twin: &Twin, customer: &str, id: &str) -> Order {
    twin.journey(customer)
        .await
        .into_iter()
        .find_map(|item| match item {
            JourneyItem::Order(o) if o.value.order_id.as_str() == id => Some(o.value),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no order {id} of {customer}"))
}

#[tokio::test]
async fn the_next_order_is_attributed_to_the_repurchase_reminder_sent_or_to_the_holdout_decision_that_withheld_it(
) {
    // GIVEN two customers who bought tea that lasts, one of them in the reminder's holdout
    let twin = Twin::with(&[("HOLDOUT_PERCENT", "repurchase_reminder=50")]);
    let (treated, held) = (customer(false), customer(true));
    for who in [&treated, &held] {
        order_step(&twin, who, "A-1", "placed", at("2026-11-01T17:00:00Z")).await;
        order_step(&twin, who, "A-1", "delivered", at("2026-11-03T17:00:00Z")).await;
    }
    let due = twin.profile(&treated).await.value.follow_ups[REMINDER].due_at;
    assert_eq!(
        twin.profile(&held).await.value.follow_ups[REMINDER].due_at,
        due,
        "both reminders fall due together"
    );

    // WHEN the schedule runs once the reminders are due
    scheduled_run(&twin, due + Duration::minutes(5)).await;

    // THEN the treated customer got the reminder and the held-out one did not
    let reminders: Vec<_> = twin
        .mailer
        .sent()
        .into_iter()
        .filter(|m| m.message.kind == MessageKind::RepurchaseReminder)
        .collect();
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    assert_eq!(reminders[0].message.customer_id.as_str(), treated);
    let reminder_id = reminders[0].message.id.clone();

    // WHEN each orders again five days after the run
    let again = due + Duration::days(5) + Duration::minutes(10);
    for who in [&treated, &held] {
        order_step(&twin, who, "A-2", "placed", again).await;
    }

    // THEN the treated customer's order is attributed to the reminder sent
    let converted = order(&twin, &treated, "A-2").await;
    assert_eq!(
        converted.attribution.len(),
        1,
        "{:?}",
        converted.attribution
    );
    let attribution = &converted.attribution[0];
    assert_eq!(attribution.kind, MessageKind::RepurchaseReminder);
    assert_eq!(
        attribution.by,
        TouchBy::Treated {
            message_id: reminder_id
        }
    );
    assert_eq!(attribution.days_since, 5);

    // AND the held-out customer's to the decision that withheld it, dated when it would have gone
    let held_order = order(&twin, &held, "A-2").await;
    assert_eq!(
        held_order.attribution.len(),
        1,
        "{:?}",
        held_order.attribution
    );
    let attribution = &held_order.attribution[0];
    assert_eq!(attribution.kind, MessageKind::RepurchaseReminder);
    assert_eq!(
        attribution.by,
        TouchBy::Holdout {
            decision: format!("{REMINDER}#1")
        }
    );
    assert_eq!(attribution.days_since, 5);
    assert_eq!(held_order.conversions().len(), 1);

    // AND the first orders, placed before any touch, are attributed to nothing
    assert!(order(&twin, &treated, "A-1").await.attribution.is_empty());
}
