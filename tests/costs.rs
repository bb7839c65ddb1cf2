//! What an order event costs does not grow with the customer's history: the write units of
//! each event of a regular customer's 1,000th order, billed from the real items on the
//! emulator, are within a fifth of their 10th order's (by the 10th, every product of theirs
//! has been bought again, so both orders do the same work). The history is replayed on the twin (which keeps items
//! exactly as DynamoDB stores them) and its profile and planned follow-ups copied into the
//! emulator's table with plain writes; the next order then goes through the real handler.

use std::sync::Arc;

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::clock::ManualClock;
use aftercare_bench::meter::{table_shape, Meter};
use aftercare_integration_tests::{envelope, stack};
use aftercare_journey::ids::CustomerId;
use aftercare_localstack::SENDER_DOMAIN;
use aftercare_twin_fixtures::{order_event, order_history, regular_basket, Twin};
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use order_events::OrderEventsFunction;
use serde_json::json;

const CUSTOMER: &str = "cus-history";

/// The write units and the largest item written of each event of the order after `history`
/// orders.
async fn next_order_costs(history: u32) -> Vec<(&'static str, u64, u64)> {
    let twin = Twin::new();
    let end = order_history(&twin, CUSTOMER, history, &regular_basket).await;
    let stack = stack();
    let clients = AwsClients::from_config(&stack.sdk_config().await);
    let table = format!("journeys-costs-{history}");
    stack.create_table(&clients.dynamodb, &table).await.unwrap();
    let _ = stack.verify_identity(&clients.sesv2, SENDER_DOMAIN).await;
    let copies: Vec<WriteRequest> = twin
        .store
        .stored_items(&CustomerId::parse(CUSTOMER).unwrap())
        .into_iter()
        .filter(|item| {
            let sk = item["sk"].as_s().unwrap();
            sk == "PROFILE" || sk.starts_with("FOLLOWUP#")
        })
        .map(|item| {
            let put = PutRequest::builder().set_item(Some(item)).build().unwrap();
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    for chunk in copies.chunks(25) {
        clients
            .dynamodb
            .batch_write_item()
            .request_items(&table, chunk.to_vec())
            .send()
            .await
            .unwrap();
    }
    let meter = Meter::start(
        stack.endpoint(),
        table_shape(&clients.dynamodb, &table).await.unwrap(),
    )
    .unwrap();
    let metered =
        AwsClients::from_config(&aftercare_localstack::sdk_config_at(meter.endpoint()).await);
    let config = aftercare_localstack::local_shop_config(&table).unwrap();
    let clock = ManualClock::new(end);
    let function = OrderEventsFunction::new(&metered, &config, Arc::new(clock.clone()));
    let order = format!("H-{history}");
    let mut costs = Vec::new();
    for (status, after_days) in [("placed", 0), ("shipped", 1), ("delivered", 2)] {
        let when = end + chrono::Duration::days(after_days);
        clock.set(when);
        let mut event = order_event(
            status,
            CUSTOMER,
            &order,
            &format!("{order}-{status}"),
            &when.to_rfc3339(),
        );
        event["items"] = regular_basket(history);
        event["total"] = json!({"amount": "19.00", "currency": "EUR"});
        meter.take();
        function
            .process_body(&envelope(&event), &format!("costs-{status}"))
            .await
            .unwrap();
        let calls = meter.take();
        let units: u64 = calls.iter().map(|c| c.write.total()).sum();
        let largest = calls
            .iter()
            .flat_map(|c| c.items.iter().map(|(_, size)| *size))
            .max()
            .unwrap_or_default();
        costs.push((status, units, largest));
    }
    costs
}

#[tokio::test]
async fn each_event_of_the_thousandth_order_costs_within_a_fifth_of_the_tenths() {
    let tenth = next_order_costs(9).await;
    let thousandth = next_order_costs(999).await;
    for ((status, early, early_item), (_, late, late_item)) in tenth.iter().zip(&thousandth) {
        eprintln!(
            "{status}: {early} write units at the 10th order, {late} at the 1,000th \
             (largest item {early_item} and {late_item} bytes)"
        );
        assert!(
            *late * 5 <= *early * 6 && *late * 5 >= *early * 4,
            "{status}: {early} write units at the 10th order, {late} at the 1,000th"
        );
        assert!(
            *late_item < 64 * 1024,
            "{status}: an item of {late_item} bytes"
        );
    }
}
