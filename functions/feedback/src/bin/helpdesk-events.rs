//! The helpdesk-events Lambda function: an EventBridge rule delivers `IssueResolved` events from
//! a helpdesk; each closes the customer's open issue so promotions resume.

use aftercare_adapters::clock;
use aftercare_adapters::startup::{cold_start, LinkKeys};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use feedback::FeedbackFunction;
use lambda_http::lambda_runtime::{self, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (config, clients) = cold_start(LinkKeys::Load).await?;
    let function = FeedbackFunction::new(&clients, &config, clock::from_environment());
    let function = &function;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
            let resolved = function.resolve(event.payload).await?;
            Ok::<serde_json::Value, Error>(serde_json::json!({ "resolved": resolved.is_some() }))
        },
    ))
    .await
}
