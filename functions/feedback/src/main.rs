//! The feedback Lambda function: configuration and clients once per cold start, then one page
//! per HTTP request. Everything else is in the library.

use std::sync::Arc;

use aftercare_adapters::clock::SystemClock;
use aftercare_adapters::startup::{cold_start, LinkKeys};
use feedback::FeedbackFunction;
use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (config, clients) = cold_start(LinkKeys::Load).await?;
    let function = FeedbackFunction::new(&clients, &config, Arc::new(SystemClock));
    let function = &function;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(function.handle(request).await)
    }))
    .await
}
