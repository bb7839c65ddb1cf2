//! The SES events function against the local emulator: a bounce suppresses the address and
//! every later decision says why, a complaint unsubscribes from marketing while order updates
//! continue, and deliveries, opens and clicks are recorded on the message once.

use aftercare_adapters::items::{JourneyItem, MessageItem};
use aftercare_integration_tests::{at, ses_event_body, sqs_event, World};
use aftercare_journey::order::Order;
use aftercare_localstack::SentMail;
use serde_json::{json, Value};
use ses_events::Outcome;

async fn order(world: &World, id: &str) -> Order {
    world
        .journey(1)
        .await
        .into_iter()
        .find_map(|i| match i {
            JourneyItem::Order(o) if o.value.order_id.as_str() == id => Some(o.value),
            _ => None,
        })
        .expect("the order")
}

async fn message(world: &World, mail: &SentMail) -> MessageItem {
    let id = mail.reference.rsplit('-').next().unwrap().to_owned();
    world
        .journey(1)
        .await
        .into_iter()
        .find_map(|i| match i {
            JourneyItem::Message(m) if m.message_id == id => Some(*m),
            _ => None,
        })
        .expect("the message item")
}

async fn apply(world: &World, mail: &SentMail, event_type: &str, report: Value) -> Outcome {
    world
        .ses_events
        .process_body(&ses_event_body(mail, event_type, report).unwrap())
        .await
        .unwrap()
}

fn bounce(permanent: bool, feedback_id: &str, to: &str, when: &str) -> Value {
    json!({
        "bounceType": if permanent { "Permanent" } else { "Transient" },
        "bounceSubType": if permanent { "General" } else { "MailboxFull" },
        "bouncedRecipients": [{"emailAddress": to, "action": "failed", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
        "timestamp": when, "feedbackId": feedback_id, "reportingMTA": "dsn; mx.example.com"
    })
}

#[tokio::test]
async fn a_permanent_bounce_suppresses_the_address_until_the_shop_sends_a_new_one() {
    let world = World::new("ses-bounce").await;
    world
        .replay(&[world.event("placed", 1, "B-1", "b1-placed", "2026-11-01T09:00:00Z")])
        .await;
    let placed = world.sent().pop().expect("the order confirmation");
    let to = world.email(1);

    let outcome = apply(
        &world,
        &placed,
        "Bounce",
        bounce(true, "fb-1", &to, "2026-11-01T09:00:05Z"),
    )
    .await;
    assert_eq!(outcome, Outcome::Suppressed);
    assert!(message(&world, &placed).await.mail.bounced_at.is_some());
    let suppression = world.profile(1).await.suppression.expect("suppressed");
    assert_eq!(suppression.address.as_str(), to);

    // Nothing more goes to the address; the timeline says why.
    let before = world.sent().len();
    world
        .replay(&[world.event("shipped", 1, "B-1", "b1-shipped", "2026-11-02T09:00:00Z")])
        .await;
    assert_eq!(
        world.sent().len(),
        before,
        "nothing sent to a suppressed address"
    );
    let timeline = order(&world, "B-1").await.timeline;
    let note = &timeline.last().unwrap().note;
    assert!(
        note.contains("not sent: the customer's address is suppressed since 2026-11-01 after a permanent bounce (General)"),
        "{note}"
    );

    // A redelivered bounce changes nothing.
    let again = apply(
        &world,
        &placed,
        "Bounce",
        bounce(true, "fb-1", &to, "2026-11-01T09:00:05Z"),
    )
    .await;
    assert_eq!(again, Outcome::Unchanged);

    // The shop sends a new address: mail flows to it.
    let mut moved = world.event(
        "delivered",
        1,
        "B-1",
        "b1-delivered",
        "2026-11-03T09:00:00Z",
    );
    let new_address = format!("customer1.new+{}@example.com", world.name);
    moved["customer"]["email"] = json!(new_address);
    world.replay(&[moved]).await;
    let delivered = world
        .sent()
        .into_iter()
        .find(|m| m.kind == "order_delivered")
        .expect("the delivery news reaches the new address");
    assert_eq!(delivered.to, new_address);
}

#[tokio::test]
async fn transient_bounces_are_counted_and_suppress_the_address_at_the_third() {
    let world = World::new("ses-soft").await;
    world
        .replay(&[world.event("placed", 1, "S-1", "s1-placed", "2026-11-01T09:00:00Z")])
        .await;
    let placed = world.sent().pop().unwrap();
    let to = world.email(1);
    let soft = |id: &str, when: &str| bounce(false, id, &to, when);
    assert_eq!(
        apply(
            &world,
            &placed,
            "Bounce",
            soft("s-1", "2026-11-01T10:00:00Z")
        )
        .await,
        Outcome::BounceCounted(1)
    );
    assert_eq!(
        apply(
            &world,
            &placed,
            "Bounce",
            soft("s-1", "2026-11-01T10:00:00Z")
        )
        .await,
        Outcome::Unchanged,
        "a redelivery is not counted twice"
    );
    assert_eq!(
        apply(
            &world,
            &placed,
            "Bounce",
            soft("s-2", "2026-11-03T10:00:00Z")
        )
        .await,
        Outcome::BounceCounted(2)
    );
    assert!(world.profile(1).await.suppression.is_none());
    assert_eq!(
        apply(
            &world,
            &placed,
            "Bounce",
            soft("s-3", "2026-11-05T10:00:00Z")
        )
        .await,
        Outcome::Suppressed
    );
}

#[tokio::test]
async fn a_complaint_unsubscribes_from_all_marketing_while_order_updates_continue() {
    let world = World::new("ses-complaint").await;
    let mut placed = world.event("placed", 1, "C-1", "c1-placed", "2026-11-01T09:00:00Z");
    placed["items"] = json!([{"sku": "TEA-1", "name": "Assam", "category": "tea", "quantity": 1}]);
    let mut delivered = placed.clone();
    delivered["status"] = json!("delivered");
    delivered["event_id"] = json!("c1-delivered");
    delivered["occurred_at"] = json!("2026-11-03T15:00:00Z");
    world.replay(&[placed, delivered]).await;
    world.sweep("2026-11-06T18:05:00Z").await;
    let review = world
        .sent()
        .into_iter()
        .find(|m| m.kind == "review_request")
        .expect("a review request");

    let complaint = json!({
        "complainedRecipients": [{"emailAddress": world.email(1)}],
        "timestamp": "2026-11-07T08:00:00Z", "feedbackId": "cf-1",
        "complaintFeedbackType": "abuse", "userAgent": "Mail", "arrivalDate": "2026-11-07T07:59:00Z"
    });
    assert_eq!(
        apply(&world, &review, "Complaint", complaint.clone()).await,
        Outcome::Unsubscribed
    );
    assert_eq!(
        apply(&world, &review, "Complaint", complaint).await,
        Outcome::Unchanged
    );
    let p = world.profile(1).await;
    let off: Vec<&str> = p.unsubscribed.keys().map(|t| t.as_str()).collect();
    assert_eq!(off, ["review_requests", "reminders", "offers"]);
    assert_eq!(p.complaints.len(), 1);
    assert_eq!(
        p.complaints[0].kind,
        Some(aftercare_journey::message::MessageKind::ReviewRequest)
    );
    assert!(message(&world, &review).await.mail.complained_at.is_some());

    // Order news still arrives; the next review request does not.
    let before = world.sent().len();
    let mut again = world.event("placed", 1, "C-2", "c2-placed", "2026-11-10T09:00:00Z");
    again["items"] = json!([{"sku": "TEA-2", "name": "Darjeeling", "quantity": 1}]);
    let mut arrived = again.clone();
    arrived["status"] = json!("delivered");
    arrived["event_id"] = json!("c2-delivered");
    arrived["occurred_at"] = json!("2026-11-12T15:00:00Z");
    world.replay(&[again, arrived]).await;
    assert_eq!(world.sent().len(), before + 2);
    let report = world.sweep("2026-11-15T18:05:00Z").await;
    let decision = report
        .decisions
        .iter()
        .find(|d| d.key == "review#C-2")
        .expect("decided");
    assert_eq!(decision.decision, "withheld");
    assert!(
        decision.detail.contains("by marking a message as spam"),
        "{decision:?}"
    );
}

#[tokio::test]
async fn deliveries_opens_and_clicks_are_recorded_on_the_message_once_and_a_rating_click_is_an_answer(
) {
    let world = World::new("ses-status").await;
    let mut placed = world.event("placed", 1, "D-1", "d1-placed", "2026-11-01T09:00:00Z");
    placed["items"] = json!([{"sku": "TEA-1", "name": "Assam", "quantity": 1}]);
    let mut delivered = placed.clone();
    delivered["status"] = json!("delivered");
    delivered["event_id"] = json!("d1-delivered");
    delivered["occurred_at"] = json!("2026-11-03T15:00:00Z");
    world.replay(&[placed, delivered]).await;
    world.sweep("2026-11-06T18:05:00Z").await;
    let review = world
        .sent()
        .into_iter()
        .find(|m| m.kind == "review_request")
        .unwrap();

    assert_eq!(
        apply(&world, &review, "Send", json!({})).await,
        Outcome::Ignored
    );
    assert_eq!(
        apply(
            &world,
            &review,
            "Delivery",
            json!({"timestamp": "2026-11-06T18:05:04Z", "recipients": [world.email(1)]})
        )
        .await,
        Outcome::Recorded("delivered")
    );
    // An open reported late, after a later one, keeps the first time each was recorded.
    apply(
        &world,
        &review,
        "Open",
        json!({"timestamp": "2026-11-07T08:00:00Z"}),
    )
    .await;
    apply(
        &world,
        &review,
        "Open",
        json!({"timestamp": "2026-11-07T09:00:00Z"}),
    )
    .await;
    let link = review
        .text
        .lines()
        .find(|l| l.contains("/rate?token="))
        .and_then(|l| l.split(": ").nth(1))
        .unwrap()
        .to_owned();
    assert_eq!(
        apply(
            &world,
            &review,
            "Click",
            json!({"timestamp": "2026-11-07T08:01:00Z", "link": link})
        )
        .await,
        Outcome::Recorded("responded")
    );
    let item = message(&world, &review).await;
    assert_eq!(item.mail.delivered_at, Some(at("2026-11-06T18:05:04Z")));
    assert_eq!(item.mail.opened_at, Some(at("2026-11-07T08:00:00Z")));
    assert_eq!(item.mail.clicked_at, Some(at("2026-11-07T08:01:00Z")));
    assert_eq!(item.mail.responded_at, Some(at("2026-11-07T08:01:00Z")));

    // An ordinary link is a click, not an answer.
    let confirmation = world
        .sent()
        .into_iter()
        .find(|m| m.kind == "order_placed")
        .unwrap();
    assert_eq!(
        apply(&world, &confirmation, "Click", json!({"timestamp": "2026-11-02T08:00:00Z", "link": "https://leafandkettle.example/help"})).await,
        Outcome::Recorded("clicked")
    );
    assert_eq!(message(&world, &confirmation).await.mail.responded_at, None);

    // Mail we did not send, a message we no longer keep, and bad input.
    let mut foreign: Value =
        serde_json::from_str(&ses_event_body(&review, "Delivery", json!({})).unwrap()).unwrap();
    foreign["detail"]["mail"]["tags"] = json!({});
    foreign["detail"]["mail"]["headers"] = json!([]);
    let mut gone = review.clone();
    gone.reference = gone.reference.replace(
        gone.reference.rsplit('-').next().unwrap(),
        "00000000000000000000000000000000",
    );
    let report = world
        .ses_events
        .handle_batch(sqs_event(&[
            ("foreign", foreign.to_string()),
            (
                "gone",
                ses_event_body(&gone, "Delivery", json!({})).unwrap(),
            ),
            (
                "broken",
                r#"{"detail-type": "Email Bounced", "detail": {"eventType": "Bounce"}}"#.to_owned(),
            ),
        ]))
        .await;
    let outcomes: Vec<String> = report
        .records
        .iter()
        .map(|r| match &r.result {
            Ok(outcome) => format!("{outcome:?}"),
            Err(error) => error.to_string(),
        })
        .collect();
    assert_eq!(outcomes[0], "NotOurs");
    assert_eq!(outcomes[1], "Unknown");
    assert!(
        outcomes[2].contains("detail") && outcomes[2].contains("mail"),
        "{outcomes:?}"
    );
    let failed: Vec<&str> = report
        .response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["broken"]);
}

#[tokio::test]
async fn a_message_waiting_for_the_morning_is_not_sent_after_its_address_bounced_overnight() {
    let world = World::with("ses-waiting", &[("QUIET_HOURS_FOR_ORDER_STATUS", "true")]).await;
    // 10:00 in Los Angeles: the confirmation goes at once.
    world
        .replay(&[world.event("placed", 1, "W-1", "w1-placed", "2026-11-01T18:00:00Z")])
        .await;
    let placed = world.sent().pop().expect("the order confirmation");
    // 23:00 in Los Angeles: the shipping news waits for the morning.
    world
        .replay(&[world.event("shipped", 1, "W-1", "w1-shipped", "2026-11-02T07:00:00Z")])
        .await;
    assert_eq!(world.sent().len(), 1);
    // Overnight, SES reports that the confirmation bounced for good.
    assert_eq!(
        apply(
            &world,
            &placed,
            "Bounce",
            bounce(true, "fb-w", &world.email(1), "2026-11-02T08:00:00Z")
        )
        .await,
        Outcome::Suppressed
    );
    // The morning relay asks again and holds the news back, with the reason on the message.
    let morning = world.sweep("2026-11-02T17:05:00Z").await;
    assert_eq!(morning.relayed, 0, "{morning:?}");
    assert_eq!(world.sent().len(), 1, "nothing more to a bounced address");
    let withheld = world
        .journey(1)
        .await
        .into_iter()
        .find_map(|i| match i {
            JourneyItem::Message(m)
                if m.kind == aftercare_journey::message::MessageKind::OrderShipped =>
            {
                Some(*m)
            }
            _ => None,
        })
        .expect("the shipping news");
    let reason = withheld.last_error.unwrap_or_default();
    assert!(
        reason.starts_with("withheld at sending: the customer's address is suppressed"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_bounce_dated_at_the_edge_of_time_is_refused_alone_and_its_batch_sibling_is_applied() {
    // GIVEN a message that was sent, and the reported transient bounce dated -262143-01-01,
    // which once panicked in counting soft bounces
    let world = World::new("ses-edge").await;
    world
        .replay(&[world.event("placed", 1, "X-1", "x1-placed", "2026-11-01T09:00:00Z")])
        .await;
    let placed = world.sent().pop().expect("the order confirmation");
    let to = world.email(1);
    let edge = ses_event_body(
        &placed,
        "Bounce",
        bounce(false, "fb-edge", &to, "-262143-01-01T00:00:00Z"),
    )
    .unwrap();
    let sibling = ses_event_body(
        &placed,
        "Bounce",
        bounce(false, "fb-sibling", &to, "2026-11-01T09:10:00Z"),
    )
    .unwrap();

    // WHEN both arrive in one batch
    let report = world
        .ses_events
        .handle_batch(sqs_event(&[("edge", edge), ("sibling", sibling)]))
        .await;

    // THEN the edge is refused naming its field and the sibling is counted
    match &report.records[0].result {
        Err(error) => assert!(
            error.to_string().contains("detail.bounce.timestamp"),
            "{error}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(report.records[1].result, Ok(Outcome::BounceCounted(1))),
        "{:?}",
        report.records[1]
    );
    let failed: Vec<&str> = report
        .response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["edge"]);
}
