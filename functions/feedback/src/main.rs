//! The feedback Lambda function: configuration and clients once per cold start, then one page
//! per HTTP request. Everything else is in the library.

use std::sync::Arc;

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::clock::SystemClock;
use aftercare_adapters::config::Config;
use feedback::FeedbackFunction;
use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    aftercare_adapters::logging::init();
    let mut config = Config::from_environment()?;
    let clients = AwsClients::from_environment().await;
    config.load_secrets(&clients).await?;
    let function = FeedbackFunction::new(&clients, &config, Arc::new(SystemClock));
    let function = &function;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(function.handle(request).await)
    }))
    .await
}
