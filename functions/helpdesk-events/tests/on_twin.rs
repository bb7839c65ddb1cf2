//! The helpdesk-events function on the in-memory twin (built with `from_parts`): an
//! `IssueResolved` closes the issue an unhappy rating opened, once, however often and however
//! concurrently it arrives. The emulator suite (`tests/helpdesk.rs`) keeps the rest.

use std::sync::Arc;

use aftercare_journey::ids::{CustomerId, OrderId};
use aftercare_journey::links::{sign, LinkClaims};
use aftercare_journey::message::MessageKind;
use aftercare_twin_fixtures::{at, at_once, delivered_order, Twin};
use feedback::FeedbackFunction;
use helpdesk_events::{HelpdeskEventsFunction, Resolution};
use lambda_http::http::Request;
use lambda_http::Body;
use serde_json::{json, Value};

const CUSTOMER: &str = "cus-1";
const ORDER: &str = "R-1";

/// A customer whose delivered order they rated one star on 7 November: an issue is open.
async fn unhappy_customer(twin: &Twin) {
    for event in delivered_order(
        CUSTOMER,
        ORDER,
        "2026-11-01T09:00:00Z",
        "2026-11-03T15:00:00Z",
    ) {
        twin.apply_then_crash(&event, "inv").await;
    }
    twin.clock.set(at("2026-11-07T10:00:00Z"));
    let key = twin.config.settings.links.as_ref().unwrap().keys[0].clone();
    let token = sign(
        &key,
        &LinkClaims {
            customer: CustomerId::parse(CUSTOMER).unwrap(),
            order: OrderId::parse(ORDER).unwrap(),
            kind: MessageKind::ReviewRequest,
            expires_at: at("2026-12-31T00:00:00Z"),
        },
    );
    let feedback = FeedbackFunction::from_parts(
        twin.store.clone(),
        twin.mailer.clone(),
        Some(twin.bus.clone()),
        twin.parts(),
    );
    let request = Request::builder()
        .uri(format!("/rate?token={token}&score=1"))
        .body(Body::Empty)
        .unwrap();
    assert_eq!(feedback.handle(request).await.status().as_u16(), 200);
    assert!(twin.profile(CUSTOMER).await.value.open_issue.is_some());
}

fn function(twin: &Twin) -> HelpdeskEventsFunction<aftercare_adapters::memory::MemoryStore> {
    HelpdeskEventsFunction::from_parts(
        twin.store.clone(),
        Arc::new(twin.clock.clone()),
        twin.config.accepted_years,
    )
}

/// The helpdesk's event, sent on 8 November at 16:00, reaching the function seconds later.
fn issue_resolved(twin: &Twin) -> Value {
    twin.clock.set(at("2026-11-08T16:00:04Z"));
    json!({
        "version": "0", "id": "hd-1", "detail-type": "IssueResolved", "source": "helpdesk.zendesk",
        "account": "123456789012", "time": "2026-11-08T16:00:00Z", "region": "us-east-1",
        "resources": [], "detail": {"customer_id": CUSTOMER, "ticket": "ZD-77"}
    })
}

#[tokio::test]
async fn an_issue_resolved_closes_the_open_issue_once_and_a_repeat_changes_nothing() {
    // GIVEN an unhappy customer's open issue
    let twin = Twin::new();
    unhappy_customer(&twin).await;
    let event = issue_resolved(&twin);

    // WHEN the helpdesk's event arrives, and arrives again
    let first = function(&twin).resolve(&event).await.unwrap();
    let after_first = twin.profile(CUSTOMER).await;
    let again = function(&twin).resolve(&event).await.unwrap();

    // THEN the issue is closed once, with the time to resolution, and the repeat wrote nothing
    let Resolution::Resolved(resolved) = first else {
        panic!("an issue was open: {first:?}");
    };
    assert_eq!(resolved.seconds_to_resolution, 30 * 3600);
    assert_eq!(again, Resolution::NoOpenIssue);
    let profile = twin.profile(CUSTOMER).await;
    assert_eq!(profile, after_first);
    assert!(profile.value.open_issue.is_none());
    assert_eq!(profile.value.resolved_issues.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_issue_resolved_delivered_several_times_at_once_closes_the_issue_once() {
    // GIVEN an unhappy customer's open issue
    let twin = Twin::new();
    unhappy_customer(&twin).await;
    let event = issue_resolved(&twin);
    let function = Arc::new(function(&twin));

    // WHEN EventBridge delivers the event to four invocations at once
    let invocations = (0..4)
        .map(|_| {
            let (function, event) = (Arc::clone(&function), event.clone());
            async move { function.resolve(&event).await.unwrap() }
        })
        .collect();
    let resolutions = at_once(invocations).await;

    // THEN the issue is closed once: one resolution is recorded, and every invocation answers
    // with it or finds no issue open. (Two invocations that decided alike at the same instant
    // write the same transaction, and the second is answered as done, as DynamoDB answers a
    // repeated request token: both may say resolved; the journey holds it once.)
    let profile = twin.profile(CUSTOMER).await.value;
    assert!(profile.open_issue.is_none());
    assert_eq!(profile.resolved_issues.len(), 1);
    let recorded = &profile.resolved_issues[0];
    assert!(
        resolutions
            .iter()
            .any(|r| matches!(r, Resolution::Resolved(_))),
        "{resolutions:?}"
    );
    for resolution in &resolutions {
        match resolution {
            Resolution::Resolved(resolved) => assert_eq!(resolved, recorded),
            Resolution::NoOpenIssue => {}
            other => panic!("{other:?}"),
        }
    }
}
