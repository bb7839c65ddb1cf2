//! The helpdesk-events Lambda function: an EventBridge rule delivers `IssueResolved` events from
//! a helpdesk; each closes the customer's open issue so promotions resume. It takes any JSON,
//! so that a foreign event is refused by the library (logged, answered) rather than failing in
//! the runtime and being tried again. It starts from the core configuration: the table, the
//! accepted years and the log-id key, never the link-signing keys.

use aftercare_adapters::clock;
use aftercare_adapters::startup::cold_start_core;
use helpdesk_events::HelpdeskEventsFunction;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (config, clients) = cold_start_core().await?;
    let function = HelpdeskEventsFunction::new(&clients, &config, clock::from_environment());
    let function = &function;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let resolution = function.resolve(&event.payload).await?;
            Ok::<serde_json::Value, Error>(resolution.answer())
        },
    ))
    .await
}
