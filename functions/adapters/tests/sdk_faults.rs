//! How the store meets DynamoDB faults, driven by aws-smithy-mocks: throttling and 5xx are
//! retried by the SDK with aftercare's retry settings, client errors are not, and what is left
//! after the retries reaches the caller classified.

use aftercare_adapters::aws::{retry_config, MAX_ATTEMPTS};
use aftercare_adapters::error::Retry;
use aftercare_adapters::store::JourneyStore;
use aftercare_journey::ids::{CustomerId, EventId, OrderId};
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
const INVALID: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"One or more parameter values were invalid"}"#;

fn store(rule: &Rule) -> JourneyStore {
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::Sequential, [rule], |config| {
        config.retry_config(retry_config())
    });
    JourneyStore::new(client, "journeys")
}

async fn load(store: &JourneyStore) -> Result<(), aftercare_adapters::store::StoreError> {
    let customer = CustomerId::parse("c-1").unwrap();
    let order = OrderId::parse("o-1").unwrap();
    let event = EventId::parse("e-1").unwrap();
    store
        .load_for_event(&customer, &order, &event)
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
