//! The sweep's throughput on the emulator: a morning's burst of review requests, all due in the
//! same hour, handled by one schedule run within the function's time (so within one schedule
//! interval), with a round trip's
//! latency added to every AWS call as on AWS. Its own test binary, so nothing else competes with
//! it for the emulator while it runs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::items::{due_bucket, JourneyItem};
use aftercare_adapters::ports::JourneyStore;
use aftercare_fault_proxy::{FaultPlan, FaultProxy};
use aftercare_integration_tests::{at, stack, World};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use serde_json::{json, Value};

/// How many customers have a review request due.
const CUSTOMERS: u32 = 2_000;
/// The customer whose journey the others copy.
const TEMPLATE: u32 = 999_999;
/// When the review requests fall due: three days after delivery, 10:00 in Los Angeles.
const DUE: &str = "2026-11-06T18:05:00Z";
/// The latency added to every call: a round trip within an AWS region, and more.
const LATENCY: &str = "latency=1:8-15ms";

type Item = HashMap<String, AttributeValue>;

/// The template customer's profile, order and review request, as stored.
async fn template_items(world: &World) -> Vec<Item> {
    let mut placed = world.event(
        "placed",
        TEMPLATE,
        "T-1",
        "T-1-placed",
        "2026-11-01T09:00:00Z",
    );
    placed["items"] = json!([{"sku": "TEA-1", "name": "Assam", "category": "tea", "quantity": 1, "unit_price": "9.00"}]);
    let mut delivered = placed.clone();
    delivered["status"] = json!("delivered");
    delivered["event_id"] = json!("T-1-delivered");
    delivered["occurred_at"] = json!("2026-11-03T15:00:00Z");
    world.replay(&[placed, delivered]).await;
    let output = world
        .clients
        .dynamodb
        .query()
        .table_name(&world.config.table_name)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("CUSTOMER#cus-{TEMPLATE}")))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let items: Vec<Item> = output
        .items
        .unwrap_or_default()
        .into_iter()
        .filter(|item| {
            let sk = item["sk"].as_s().unwrap();
            sk == "PROFILE" || sk.starts_with("ORDER#") || sk == "FOLLOWUP#review#T-1"
        })
        .collect();
    assert_eq!(
        items.len(),
        3,
        "the template's profile, order and review request"
    );
    items
}

/// `item` of the template customer, made customer `n`'s.
fn copied_for(item: &Item, n: u32) -> Item {
    let value: Value = serde_dynamo::from_item(item.clone()).unwrap();
    let text = value
        .to_string()
        .replace(&format!("cus-{TEMPLATE}"), &format!("cus-{n}"))
        .replace(&format!("customer{TEMPLATE}+"), &format!("customer{n}+"));
    let value: Value = serde_json::from_str(&text).unwrap();
    let mut copy: Item = serde_dynamo::to_item(value).unwrap();
    if let Some(AttributeValue::S(due)) = copy.get("due_at") {
        let due: chrono::DateTime<chrono::Utc> = due.parse().unwrap();
        copy.insert(
            "due_bucket".into(),
            AttributeValue::S(due_bucket(due, &format!("cus-{n}"))),
        );
    }
    copy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_follow_ups_due_in_one_hour_are_handled_by_one_run() {
    // GIVEN 2,000 customers whose review requests fall due in the same hour (one customer's
    // journey through the real handler, copied to the others with plain writes)
    let world = World::new("sweep-2000").await;
    let template = template_items(&world).await;
    let copies: Vec<WriteRequest> = (1..=CUSTOMERS)
        .flat_map(|n| template.iter().map(move |item| copied_for(item, n)))
        .map(|item| {
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                .build()
        })
        .collect();
    for chunk in copies.chunks(25) {
        world
            .clients
            .dynamodb
            .batch_write_item()
            .request_items(&world.config.table_name, chunk.to_vec())
            .send()
            .await
            .unwrap();
    }
    // The template's own review request is not one of them.
    let template_id = aftercare_journey::ids::CustomerId::parse(format!("cus-{TEMPLATE}")).unwrap();
    let template_review = world
        .store()
        .customer_items(&template_id)
        .await
        .unwrap()
        .into_iter()
        .find_map(|item| match item {
            JourneyItem::FollowUp(f) if f.follow_up.key == "review#T-1" => Some(f),
            _ => None,
        })
        .unwrap();
    world
        .clients
        .dynamodb
        .delete_item()
        .table_name(&world.config.table_name)
        .key("pk", AttributeValue::S(template_review.pk.clone()))
        .key("sk", AttributeValue::S(template_review.sk.clone()))
        .send()
        .await
        .unwrap();

    // WHEN the schedule runs once with its default lanes, its calls taking as long as a round
    // trip on AWS
    let proxy = FaultProxy::start(stack().endpoint(), FaultPlan::parse(LATENCY).unwrap()).unwrap();
    let clients =
        AwsClients::from_config(&aftercare_localstack::sdk_config_at(proxy.endpoint()).await);
    world.clock.set(at(DUE));
    let schedule =
        schedule::ScheduleFunction::new(&clients, &world.config, Arc::new(world.clock.clone()))
            .unwrap();
    let started = Instant::now();
    let report = schedule.run(at(DUE), "sweep-2000", None).await.unwrap();
    let took = started.elapsed();

    // THEN it sent every one of them, once, leaving nothing for the next run
    assert_eq!(
        (
            report.due,
            report.sent,
            report.left_for_next_run,
            report.failed
        ),
        (CUSTOMERS as usize, CUSTOMERS as usize, 0, 0),
        "in {took:?}: {:?}",
        SummaryOf(&report)
    );
    let reviews = world
        .sent()
        .into_iter()
        .filter(|mail| mail.kind == "review_request")
        .count();
    assert_eq!(reviews, CUSTOMERS as usize);
    eprintln!(
        "{CUSTOMERS} review requests swept in {took:.1?} with {} lanes, {LATENCY} on every call",
        world.config.sweep_lanes
    );
    let _ = stack();
}

/// A report without its 2,000 decisions.
struct SummaryOf<'a>(&'a aftercare_adapters::sweep::SweepReport);

impl std::fmt::Debug for SummaryOf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = self.0;
        write!(
            f,
            "due {} sent {} deferred {} withheld {} cancelled {} skipped {} failed {} left {}",
            r.due,
            r.sent,
            r.deferred,
            r.withheld,
            r.cancelled,
            r.skipped,
            r.failed,
            r.left_for_next_run
        )
    }
}
