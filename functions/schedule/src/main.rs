//! The schedule Lambda function: configuration and clients once per cold start, then one sweep
//! per scheduled event. Everything else is in the library.

use std::sync::Arc;
use std::time::SystemTime;

use aftercare_adapters::clock::SystemClock;
use aftercare_adapters::deadline::invocation_deadline;
use aftercare_adapters::startup::{cold_start, LinkKeys};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use schedule::ScheduleFunction;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (config, clients) = cold_start(LinkKeys::Load).await?;
    let function = ScheduleFunction::new(&clients, &config, Arc::new(SystemClock))?;
    let function = &function;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
            let deadline = invocation_deadline(event.context.deadline(), SystemTime::now());
            let report = function
                .handle(event.payload, &event.context.request_id, deadline)
                .await?;
            Ok::<serde_json::Value, Error>(serde_json::json!({
                "due": report.due,
                "sent": report.sent,
                "deferred": report.deferred,
                "withheld": report.withheld,
                "cancelled": report.cancelled,
                "relayed": report.relayed,
                "left_for_next_run": report.left_for_next_run,
            }))
        },
    ))
    .await
}
