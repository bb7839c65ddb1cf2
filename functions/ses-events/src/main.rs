//! The ses-events Lambda function: configuration and clients once per cold start, then one
//! SQS batch of SES sending events per invocation. Everything else is in the library.

use std::time::SystemTime;

use aftercare_adapters::clock;
use aftercare_adapters::deadline::invocation_deadline;
use aftercare_adapters::startup::{cold_start, LinkKeys};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use ses_events::SesEventsFunction;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (config, clients) = cold_start(LinkKeys::NotNeeded).await?;
    let function = SesEventsFunction::new(&clients, &config, clock::from_environment());
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let report = function
            .handle_batch_until(
                event.payload,
                invocation_deadline(event.context.deadline(), SystemTime::now()),
            )
            .await;
        Ok::<SqsBatchResponse, Error>(report.response)
    }))
    .await
}
