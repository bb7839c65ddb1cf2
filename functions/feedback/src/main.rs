//! The feedback Lambda function: configuration and clients once per cold start, then one page
//! per HTTP request. Everything else is in the library.

use aftercare_adapters::clock;
use aftercare_adapters::startup::{cold_start, LinkKeys};
use feedback::http_event::ConvertibleEvents;
use feedback::FeedbackFunction;
use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (config, clients) = cold_start(LinkKeys::Load).await?;
    let function = FeedbackFunction::new(&clients, &config, clock::from_environment());
    let function = &function;
    // lambda_http's adapter converts each event into a request; every event is mended first,
    // so that no request can make the conversion panic (see `http_event`).
    let handler = service_fn(move |request: Request| async move {
        Ok::<_, Error>(function.handle(request).await)
    });
    lambda_http::lambda_runtime::run(ConvertibleEvents(lambda_http::Adapter::from(handler))).await
}
