//! The schedule Lambda function: configuration and clients once per cold start, then one sweep
//! per scheduled event. Everything else is in the library.

use std::time::SystemTime;

use aftercare_adapters::clock;
use aftercare_adapters::deadline::invocation_deadline;
use aftercare_adapters::startup::{cold_start, LinkKeys};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use schedule::ScheduleFunction;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (config, clients) = cold_start(LinkKeys::Load).await?;
    let function = ScheduleFunction::new(&clients, &config, clock::from_environment())?;
    let function = &function;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let deadline = invocation_deadline(event.context.deadline(), SystemTime::now());
            let outcome = function
                .handle(event.payload, &event.context.request_id, deadline)
                .await?;
            // Nothing was swept either way; these fail the invocation so the alarm fires.
            if outcome.needs_attention() {
                return Err(Error::from(outcome.answer().to_string()));
            }
            Ok::<serde_json::Value, Error>(outcome.answer())
        },
    ))
    .await
}
