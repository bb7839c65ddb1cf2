//! The SES events function on the in-memory twin (built with `from_parts`), with the sample
//! events: the sample bounce (`infra/events/ses-bounce.json`) is about the sample order's
//! confirmation, so it suppresses that customer's address, and a complaint about the same
//! message pauses promotions. The emulator suite (`tests/deliverability.rs`) keeps the rest.

use aftercare_adapters::memory::{MemoryBus, MemoryMailer, MemoryStore};
use aftercare_adapters::outbox::Outbox;
use aftercare_adapters::sweep::SweepDecision;
use aftercare_journey::message::MessageKind;
use aftercare_twin_fixtures::{at, sample_detail, Twin, SCHEDULE_RULE_ARN};
use aws_lambda_events::event::sqs::SqsEvent;
use chrono::Duration;
use schedule::ScheduleFunction;
use serde_json::{json, Value};
use ses_events::{Outcome, SesEventsFunction};

/// The sample customer.
const CUSTOMER: &str = "cus-1001";

fn function(twin: &Twin) -> SesEventsFunction<MemoryStore> {
    SesEventsFunction::from_parts(twin.store.clone(), twin.parts())
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

/// Applies the sample order event of `status` and sends its message, as order-events does.
async fn sample_order_event(twin: &Twin, status: &str) {
    let message = twin
        .apply_then_crash(&sample_detail(status), "inv")
        .await
        .expect("the sample decides a message");
    Outbox::new(
        &twin.store,
        &twin.mailer,
        &twin.config.settings,
        &twin.clock,
        twin.config.outbox_lease,
    )
    .deliver_held(&message, "inv")
    .await
    .unwrap();
}

/// The sample bounce's SQS event, as SES publishes it.
fn sample_bounce() -> SqsEvent {
    serde_json::from_str(include_str!("../../../infra/events/ses-bounce.json")).unwrap()
}

/// The sample bounce's message made into a complaint about the same message.
fn sample_complaint() -> String {
    let event = sample_bounce();
    let mut body: Value = serde_json::from_str(event.records[0].body.as_deref().unwrap()).unwrap();
    body["detail-type"] = json!("Email Complaint Received");
    let detail = body["detail"].as_object_mut().unwrap();
    detail.remove("bounce");
    detail.insert("eventType".into(), json!("Complaint"));
    detail.insert(
        "complaint".into(),
        json!({
            "complainedRecipients": [{"emailAddress": "emily.carter@example.com"}],
            "timestamp": "2026-10-20T20:00:00.000Z", "feedbackId": "cf-1",
            "complaintFeedbackType": "abuse", "userAgent": "Mail",
            "arrivalDate": "2026-10-20T19:59:00.000Z"
        }),
    );
    body.to_string()
}

/// Sweeps every six hours from the sample delivery until the review request has been decided
/// (it falls due three days later); the decisions made.
async fn sweep_past_the_review_request(twin: &Twin) -> Vec<SweepDecision> {
    let schedule = schedule(twin);
    let mut decisions = Vec::new();
    let mut now = at("2026-10-28T18:05:00Z");
    while now < at("2026-11-03T00:00:00Z") {
        twin.clock.set(now);
        let report = schedule.run(now, "sched", None).await.unwrap();
        decisions.extend(report.decisions);
        now += Duration::hours(6);
    }
    decisions
}

fn review_decision(decisions: &[SweepDecision]) -> &SweepDecision {
    decisions
        .iter()
        .find(|d| d.key == "review#1042")
        .unwrap_or_else(|| panic!("the review request was decided: {decisions:?}"))
}

fn sent(twin: &Twin, kind: MessageKind) -> usize {
    twin.mailer
        .sent()
        .iter()
        .filter(|m| m.message.kind == kind)
        .count()
}

#[tokio::test]
async fn a_hard_bounce_suppresses_the_address_and_a_later_promotion_is_withheld() {
    // GIVEN the sample order's confirmation was sent
    let twin = Twin::new();
    sample_order_event(&twin, "placed").await;

    // WHEN SES reports the sample bounce about it, and reports it again
    twin.clock.set(at("2026-10-20T18:04:10Z"));
    let report = function(&twin).handle_batch(sample_bounce()).await;
    let again = function(&twin).handle_batch(sample_bounce()).await;

    // THEN the address is suppressed, the bounce recorded on the message, once
    assert!(report.response.batch_item_failures.is_empty(), "{report:?}");
    assert_eq!(
        report.records[0].result.as_ref().ok(),
        Some(&Outcome::Suppressed)
    );
    assert_eq!(
        again.records[0].result.as_ref().ok(),
        Some(&Outcome::Unchanged)
    );
    let profile = twin.profile(CUSTOMER).await.value;
    let suppression = profile.suppression.expect("suppressed");
    assert_eq!(suppression.address.as_str(), "emily.carter@example.com");
    let confirmation = &twin.messages(CUSTOMER).await[0];
    assert!(confirmation.mail.bounced_at.is_some());

    // WHEN the order is delivered and its review request falls due
    twin.apply_then_crash(&sample_detail("delivered"), "inv")
        .await;
    let decisions = sweep_past_the_review_request(&twin).await;

    // THEN the review request is withheld, saying why, and nothing more went to the address
    let review = review_decision(&decisions);
    assert_eq!(review.decision, "withheld", "{review:?}");
    assert!(review.detail.contains("suppressed"), "{review:?}");
    assert_eq!(sent(&twin, MessageKind::ReviewRequest), 0);
    assert_eq!(twin.mailer.sent().len(), 1, "the confirmation only");
}

#[tokio::test]
async fn a_complaint_pauses_promotions_while_order_news_continues() {
    // GIVEN the sample order's confirmation was sent
    let twin = Twin::new();
    sample_order_event(&twin, "placed").await;

    // WHEN the customer marks it as spam, and SES reports it twice
    twin.clock.set(at("2026-10-20T20:00:10Z"));
    let complaint = sample_complaint();
    let outcome = function(&twin).process_body(&complaint).await.unwrap();
    let again = function(&twin).process_body(&complaint).await.unwrap();

    // THEN the customer is unsubscribed from every promotion, once, and it is recorded
    assert_eq!(
        (outcome, again),
        (Outcome::Unsubscribed, Outcome::Unchanged)
    );
    let profile = twin.profile(CUSTOMER).await.value;
    let off: Vec<&str> = profile.unsubscribed.keys().map(|t| t.as_str()).collect();
    assert_eq!(off, ["review_requests", "reminders", "offers"]);
    assert_eq!(profile.complaints.len(), 1);
    assert!(twin.messages(CUSTOMER).await[0]
        .mail
        .complained_at
        .is_some());

    // WHEN the order is delivered and its review request falls due
    sample_order_event(&twin, "delivered").await;
    let decisions = sweep_past_the_review_request(&twin).await;

    // THEN the delivery news went out, and the review request is withheld, saying why
    assert_eq!(sent(&twin, MessageKind::OrderDelivered), 1);
    let review = review_decision(&decisions);
    assert_eq!(review.decision, "withheld", "{review:?}");
    assert!(
        review.detail.contains("by marking a message as spam"),
        "{review:?}"
    );
    assert_eq!(sent(&twin, MessageKind::ReviewRequest), 0);
}
