//! The order-events Lambda function: configuration and clients once per cold start, then one
//! batch per invocation. Everything else is in the library.

use std::time::SystemTime;

use aftercare_adapters::clock;
use aftercare_adapters::deadline::invocation_deadline;
use aftercare_adapters::startup::{cold_start, LinkKeys};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use order_events::OrderEventsFunction;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (config, clients) = cold_start(LinkKeys::Load).await?;
    let function = OrderEventsFunction::new(&clients, &config, clock::from_environment());
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = invocation_deadline(event.context.deadline(), SystemTime::now());
        let report = function
            .handle_batch_until(event.payload, &event.context.request_id, deadline)
            .await;
        Ok::<SqsBatchResponse, Error>(report.response)
    }))
    .await
}
