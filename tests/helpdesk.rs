//! The helpdesk-events function against the local emulator: a helpdesk's `IssueResolved`
//! closes the issue an unhappy rating opened and promotions resume, a foreign event is refused
//! and not failed, a resolution dated ahead is read as now, and the function starts and
//! resolves with no link-signing keys configured.

use std::sync::Arc;

use aftercare_adapters::config::CoreConfig;
use aftercare_integration_tests::ratings::{click, delivered, token};
use aftercare_integration_tests::{at, World};
use helpdesk_events::{HelpdeskEventsFunction, Resolution};
use serde_json::json;

#[tokio::test]
async fn issue_resolved_from_the_helpdesk_closes_the_issue_and_promotions_resume() {
    let world = World::new("fb-resolved").await;
    world.replay(&delivered(&world, "R-fb")).await;
    world.clock.set(at("2026-11-07T10:00:00Z"));
    assert_eq!(
        click(&world, &token(&world, "R-fb", None), "2").await.0,
        200
    );

    let event = json!({
        "version": "0", "id": "hd-1", "detail-type": "IssueResolved", "source": "helpdesk.zendesk",
        "account": "123456789012", "time": "2026-11-08T16:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"customer_id": "cus-1", "ticket": "ZD-77"}
    });
    // The helpdesk's event reaches the function a few seconds after it was sent.
    world.clock.set(at("2026-11-08T16:00:04Z"));
    let Resolution::Resolved(resolved) = world.helpdesk.resolve(&event).await.unwrap() else {
        panic!("an issue was open");
    };
    assert_eq!(resolved.seconds_to_resolution, 30 * 3600);
    assert_eq!(
        world.helpdesk.resolve(&event).await.unwrap(),
        Resolution::NoOpenIssue,
        "a repeat changes nothing"
    );

    // The repurchase reminder now goes out.
    let report = world.sweep("2026-11-26T18:05:00Z").await;
    let repurchase: Vec<_> = report
        .decisions
        .iter()
        .filter(|d| d.key == "repurchase#TEA-1")
        .collect();
    assert_eq!(
        repurchase.first().map(|d| d.decision.as_str()),
        Some("sent"),
        "{report:?}"
    );

    let bad = json!({
        "detail-type": "IssueResolved", "source": "helpdesk", "detail": {"ticket": "ZD-78"}
    });
    let refused = world.helpdesk.resolve(&bad).await.unwrap();
    assert_eq!(
        refused.answer(),
        json!({"resolved": false, "refused": {"field": "detail.customer_id", "problem": "is required"}})
    );
}

#[tokio::test]
async fn a_foreign_event_to_helpdesk_events_is_answered_as_refused_and_not_failed() {
    let world = World::new("fb-foreign").await;
    for (event, field) in [
        (json!({"Records": [{"body": "{}"}]}), "detail-type"),
        (
            json!({"detail-type": "Order Status Changed", "detail": {"customer_id": "cus-1"}}),
            "detail-type",
        ),
        (
            json!({"detail-type": "IssueResolved", "detail": "cus-1"}),
            "detail",
        ),
        (json!(["not", "an", "event"]), "body"),
    ] {
        match world.helpdesk.resolve(&event).await {
            Ok(Resolution::Refused(invalid)) => assert_eq!(invalid.field, field, "{event}"),
            other => panic!("{event}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_resolution_dated_ahead_of_the_functions_clock_is_read_as_now() {
    let world = World::new("fb-resolved-ahead").await;
    world.replay(&delivered(&world, "R-ahead")).await;
    world.clock.set(at("2026-11-07T10:00:00Z"));
    assert_eq!(
        click(&world, &token(&world, "R-ahead", None), "1").await.0,
        200
    );
    world.clock.set(at("2026-11-07T12:00:00Z"));
    let event = json!({
        "version": "0", "id": "hd-ahead", "detail-type": "IssueResolved", "source": "helpdesk.zendesk",
        "account": "123456789012", "time": "2026-11-07T12:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"customer_id": "cus-1", "resolved_at": "2026-11-17T12:00:00Z"}
    });
    let Resolution::Resolved(resolved) = world.helpdesk.resolve(&event).await.unwrap() else {
        panic!("an issue was open");
    };
    assert_eq!(resolved.seconds_to_resolution, 2 * 3600);
}

#[tokio::test]
async fn helpdesk_events_starts_without_link_keys_or_shop_settings_and_still_resolves_an_issue() {
    // GIVEN an issue opened by an unhappy rating
    let world = World::new("hd-no-link-keys").await;
    world.replay(&delivered(&world, "R-nokeys")).await;
    world.clock.set(at("2026-11-07T10:00:00Z"));
    assert_eq!(
        click(&world, &token(&world, "R-nokeys", None), "1").await.0,
        200
    );
    assert!(world.profile(1).await.open_issue.is_some());

    // AND an environment with the table and the log-id key only: no LINK_SIGNING_KEYS_SECRET
    // (nor LINK_SIGNING_KEYS or FEEDBACK_URL), no sender, no shop settings
    let table = world.config.table_name.clone();
    let environment = |name: &str| match name {
        "JOURNEY_TABLE" => Some(table.clone()),
        "LOG_ID_KEY" => Some(aftercare_localstack::LOCAL_LOG_ID_KEY.to_owned()),
        _ => None,
    };
    assert!(
        aftercare_adapters::config::Config::from_lookup(environment).is_err(),
        "the full configuration needs the shop's settings"
    );

    // WHEN helpdesk-events is built from it
    let config = CoreConfig::from_lookup(environment).unwrap_or_else(|e| panic!("{e}"));
    let function =
        HelpdeskEventsFunction::new(&world.clients, &config, Arc::new(world.clock.clone()));

    // THEN it resolves the issue
    world.clock.set(at("2026-11-07T12:00:00Z"));
    let event = json!({
        "version": "0", "id": "hd-nokeys", "detail-type": "IssueResolved", "source": "helpdesk.zendesk",
        "account": "123456789012", "time": "2026-11-07T12:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"customer_id": "cus-1"}
    });
    let Resolution::Resolved(resolved) = function.resolve(&event).await.unwrap() else {
        panic!("an issue was open");
    };
    assert_eq!(resolved.seconds_to_resolution, 2 * 3600);
    assert!(world.profile(1).await.open_issue.is_none());
}
