//! The feedback function on the in-memory twin (built with `from_parts`), through its HTTP
//! handler: a rating submitted twice, one after the other or at once, is recorded once and
//! answered with one reply; an unhappy one calls a person once. The emulator suite
//! (`tests/feedback.rs`) keeps the rest.

use std::sync::Arc;

use aftercare_adapters::memory::{MemoryBus, MemoryMailer, MemoryStore};
use aftercare_journey::ids::{CustomerId, OrderId};
use aftercare_journey::links::{sign, LinkClaims};
use aftercare_journey::message::MessageKind;
use aftercare_twin_fixtures::{at, at_once, delivered_order, Twin};
use feedback::FeedbackFunction;
use lambda_http::http::Request;
use lambda_http::{Body, Context, RequestExt};

const CUSTOMER: &str = "cus-1";
const ORDER: &str = "F-1";

type Function = FeedbackFunction<MemoryStore, MemoryMailer, MemoryBus>;

/// A customer whose order was delivered on 3 November, and the feedback function, on 7
/// November.
async fn delivered(twin: &Twin) -> Function {
    for event in delivered_order(
        CUSTOMER,
        ORDER,
        "2026-11-01T09:00:00Z",
        "2026-11-03T15:00:00Z",
    ) {
        twin.apply_then_crash(&event, "inv").await;
    }
    twin.clock.set(at("2026-11-07T10:00:00Z"));
    FeedbackFunction::from_parts(
        twin.store.clone(),
        twin.mailer.clone(),
        Some(twin.bus.clone()),
        twin.parts(),
    )
}

/// The review request's rating link token for the order.
fn token(twin: &Twin) -> String {
    let key = twin.config.settings.links.as_ref().unwrap().keys[0].clone();
    sign(
        &key,
        &LinkClaims {
            customer: CustomerId::parse(CUSTOMER).unwrap(),
            order: OrderId::parse(ORDER).unwrap(),
            kind: MessageKind::ReviewRequest,
            expires_at: at("2026-12-31T00:00:00Z"),
        },
    )
}

/// A click on the rating link with `score`, arriving as the Lambda request `request_id`: the
/// status and the page answered.
async fn click(function: &Function, token: &str, score: u8, request_id: &str) -> (u16, String) {
    let mut context = Context::default();
    context.request_id = request_id.to_owned();
    let request = Request::builder()
        .method("GET")
        .uri(format!("/rate?token={token}&score={score}"))
        .body(Body::Empty)
        .unwrap()
        .with_lambda_context(context);
    let response = function.handle(request).await;
    let page = match response.body() {
        Body::Text(text) => text.clone(),
        _ => String::new(),
    };
    (response.status().as_u16(), page)
}

/// The kinds of what the mailer accepted after the first `skip`.
/// The rating kept on the order of [`delivered`].
async fn rating(twin: &Twin) -> Option<aftercare_journey::profile::Rating> {
    twin.journey(CUSTOMER)
        .await
        .into_iter()
        .find_map(|item| match item {
            aftercare_adapters::items::JourneyItem::Order(o)
                if o.value.order_id == OrderId::parse(ORDER).unwrap() =>
            {
                Some(o.value.rating)
            }
            _ => None,
        })
        .flatten()
}

fn sent_since(twin: &Twin, skip: usize) -> Vec<MessageKind> {
    twin.mailer
        .sent()
        .into_iter()
        .skip(skip)
        .map(|m| m.message.kind)
        .collect()
}

#[tokio::test]
async fn a_rating_submitted_twice_is_recorded_once_and_answered_with_one_reply() {
    // GIVEN a delivered order and its rating link
    let twin = Twin::new();
    let function = delivered(&twin).await;
    let token = token(&twin);
    let before = twin.mailer.sent().len();

    // WHEN the customer clicks five stars, twice
    let first = click(&function, &token, 5, "req-1").await;
    let after_first = twin.profile(CUSTOMER).await;
    let second = click(&function, &token, 5, "req-2").await;

    // THEN both are thanked, the rating is recorded once, and one reply went out
    for (status, page) in [&first, &second] {
        assert_eq!(*status, 200);
        assert!(page.contains("Thank you!"), "{page}");
    }
    let profile = twin.profile(CUSTOMER).await;
    assert_eq!(rating(&twin).await.map(|r| r.score.get()), Some(5));
    assert_eq!(
        profile.value, after_first.value,
        "the second click changed nothing"
    );
    assert_eq!(sent_since(&twin, before), [MessageKind::ReviewThanks]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unhappy_rating_submitted_twice_at_once_calls_a_person_once_and_alerts_support_once() {
    // GIVEN a delivered order and its rating link
    let twin = Twin::new();
    let function = Arc::new(delivered(&twin).await);
    let token = token(&twin);
    let before = twin.mailer.sent().len();

    // WHEN the customer clicks one star twice at once (two requests in flight)
    let clicks = (0..2)
        .map(|n| {
            let (function, token) = (Arc::clone(&function), token.clone());
            async move { click(&function, &token, 1, &format!("req-{n}")).await }
        })
        .collect();
    for (status, page) in at_once(clicks).await {
        assert_eq!(status, 200);
        assert!(page.contains("We are sorry"), "{page}");
    }

    // THEN one issue is open, a person was called once, and support and the customer got one
    // message each
    let profile = twin.profile(CUSTOMER).await.value;
    assert_eq!(rating(&twin).await.map(|r| r.score.get()), Some(1));
    assert!(profile.open_issue.is_some());
    assert_eq!(twin.bus.published().len(), 1, "{:?}", twin.bus.published());
    let mut sent = sent_since(&twin, before);
    sent.sort_by_key(|kind| kind.to_string());
    let alerts = sent
        .iter()
        .filter(|k| **k == MessageKind::SupportAlert)
        .count();
    assert_eq!(alerts, 1, "{sent:?}");
    assert_eq!(sent.len(), 2, "the apology and the alert: {sent:?}");
}
