//! How the store meets DynamoDB faults, driven by aws-smithy-mocks: throttling and 5xx are
//! retried by the SDK with aftercare's retry settings, client errors are not, and what is left
//! after the retries reaches the caller classified.

use aftercare_adapters::aws::{retry_config, MAX_ATTEMPTS};
use aftercare_adapters::dynamo::DynamoStore;
use aftercare_adapters::error::Retry;
use aftercare_adapters::ports::{JourneyStore, Mailer};
use aftercare_journey::ids::{CustomerId, OrderId};
use aftercare_journey::message::OutgoingMessage;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
const INVALID: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"One or more parameter values were invalid"}"#;

/// A DynamoDB client answered by `rule`, with aftercare's retry settings.
fn dynamodb(rule: &Rule) -> Client {
    mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [rule], |config| {
        config.retry_config(retry_config())
    })
}

fn store(rule: &Rule) -> DynamoStore {
    DynamoStore::new(dynamodb(rule), "journeys")
}

async fn load(store: &DynamoStore) -> Result<(), aftercare_adapters::items::StoreError> {
    let customer = CustomerId::parse("c-1").unwrap();
    let order = OrderId::parse("o-1").unwrap();
    store
        .load_profile_and_order(&customer, Some(&order))
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_throttled_read_is_retried_and_then_succeeds() {
    let rule = mock!(Client::batch_get_item)
        .sequence()
        .http_status(400, Some(THROTTLED.to_owned()))
        .output(|| BatchGetItemOutput::builder().build())
        .build();
    let store = store(&rule);
    load(&store).await.expect("the retry succeeds");
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn a_persistent_5xx_is_retried_up_to_the_limit_and_reported_as_transient() {
    let rule = mock!(Client::batch_get_item)
        .sequence()
        .http_status(
            500,
            Some(r#"{"__type":"InternalServerError","message":"boom"}"#.to_owned()),
        )
        .repeatedly()
        .build();
    let store = store(&rule);
    let error = load(&store).await.unwrap_err();
    assert_eq!(error.retry, Retry::Transient, "{error}");
    assert_eq!(rule.num_calls(), MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn a_client_error_is_not_retried_and_reported_as_permanent() {
    let rule = mock!(Client::batch_get_item)
        .sequence()
        .http_status(400, Some(INVALID.to_owned()))
        .repeatedly()
        .build();
    let store = store(&rule);
    let error = load(&store).await.unwrap_err();
    assert_eq!(error.retry, Retry::Permanent, "{error}");
    assert!(
        error.detail.contains("ValidationException"),
        "{}",
        error.detail
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn an_ses_send_is_attempted_once_because_a_retry_could_deliver_it_twice() {
    use aftercare_adapters::mailer::SesMailer;
    use aftercare_adapters::ports::SendError;
    use aws_smithy_mocks::{create_mock_http_client, MockResponseInterceptor};

    let rule = mock!(aws_sdk_sesv2::Client::send_email)
        .sequence()
        .http_status(500, Some(r#"{"message":"internal failure"}"#.to_owned()))
        .repeatedly()
        .build();
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sesv2::config::SharedCredentialsProvider::new(
            aws_sdk_sesv2::config::Credentials::new("a", "b", None, None, "test"),
        ))
        .build();
    let config = aftercare_adapters::aws::ses_config(&sdk)
        .to_builder()
        .http_client(create_mock_http_client())
        .interceptor(MockResponseInterceptor::new().with_rule(&rule))
        .build();
    let lookup = |name: &str| {
        Some(
            match name {
                "JOURNEY_TABLE" => "journeys",
                "SENDER_EMAIL" => "orders@shop.example",
                "SHOP_NAME" => "Shop",
                "SUPPORT_EMAIL" => "help@shop.example",
                _ => return None,
            }
            .to_owned(),
        )
    };
    let mailer = SesMailer::new(
        aws_sdk_sesv2::Client::from_conf(config),
        &aftercare_adapters::config::Config::from_lookup(lookup).unwrap(),
    );
    let message = sample_message();
    let error = mailer.send(&message).await.unwrap_err();
    assert!(matches!(error, SendError::Transient(_)), "{error}");
    assert_eq!(rule.num_calls(), 1);
}

/// The sample order's confirmation, as the domain decides it.
fn sample_message() -> OutgoingMessage {
    use aftercare_journey::order_status::{decide_order_event, BeforeEvent};
    use aftercare_twin_fixtures::{order_event, parse, shop_config};
    let event = parse(&order_event(
        "placed",
        "c-1",
        "o-1",
        "e-1",
        "2026-11-20T10:00:00Z",
    ));
    decide_order_event(&BeforeEvent::default(), &event, &shop_config(&[]).settings)
        .unwrap()
        .message
        .expect("a confirmation")
}

#[tokio::test]
async fn the_cold_start_opens_the_dynamodb_connection_with_one_describe_endpoints_call() {
    let rule = mock!(Client::describe_endpoints)
        .sequence()
        .output(|| {
            aws_sdk_dynamodb::operation::describe_endpoints::DescribeEndpointsOutput::builder()
                .set_endpoints(Some(Vec::new()))
                .build()
                .unwrap()
        })
        .build();
    aftercare_adapters::aws::open_dynamodb_connection(&dynamodb(&rule)).await;
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_refused_describe_endpoints_does_not_stop_the_cold_start() {
    const DENIED: &str = r#"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"not authorized to perform: dynamodb:DescribeEndpoints"}"#;
    let rule = mock!(Client::describe_endpoints)
        .sequence()
        .http_status(400, Some(DENIED.to_owned()))
        .repeatedly()
        .build();
    // It returns, having tried once (a refusal is not retried), and the start goes on.
    aftercare_adapters::aws::open_dynamodb_connection(&dynamodb(&rule)).await;
    assert_eq!(rule.num_calls(), 1);
}
