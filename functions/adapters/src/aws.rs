//! SDK clients, built once per cold start with explicit timeouts and retries.
//!
//! Building the SDK configuration is the expensive part (credentials, region, endpoint
//! resolution); clients made from it are cheap. A function builds [`AwsClients`] once in its
//! init phase and borrows it for every invocation.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// How long one attempt of an AWS call may take before it is abandoned and retried.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long an AWS call may take across all its attempts. Well below the functions' 30 s
/// timeout, so a stuck call fails the record instead of the whole batch.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per AWS call (the first one included), with exponential backoff and jitter.
pub const MAX_ATTEMPTS: u32 = 3;

/// The SDK clients a function uses.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// SES v2.
    pub sesv2: aws_sdk_sesv2::Client,
    /// EventBridge, for handoffs.
    pub eventbridge: aws_sdk_eventbridge::Client,
    /// Secrets Manager, for the rating-link keys.
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl AwsClients {
    /// Loads configuration the standard way (environment, profile, instance role) and builds
    /// the clients. `AWS_ENDPOINT_URL` points every client at a local emulator.
    pub async fn from_environment() -> Self {
        let config = base_loader().load().await;
        Self::from_config(&config)
    }

    /// Builds the clients from a loaded configuration. DynamoDB calls are retried by the SDK
    /// ([`retry_config`]); SES sends are not (see [`ses_config`]).
    pub fn from_config(config: &SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sesv2: aws_sdk_sesv2::Client::from_conf(ses_config(config)),
            eventbridge: aws_sdk_eventbridge::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
        }
    }
}

/// How long the cold start waits for the DynamoDB connection to open: one attempt, well
/// inside Lambda's 10 s init limit, so a slow network delays the start by at most this.
pub const OPEN_CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// Opens `dynamodb`'s connection (DNS, TCP and the TLS handshake, most of a cold invocation's
/// latency on AWS) with one `DescribeEndpoints` call, which reads no item and costs no
/// capacity; the SDK keeps the connection for the first invocation's calls. One attempt, at
/// most [`OPEN_CONNECTION_TIMEOUT`]. A failure only means the first call opens it instead: it
/// is logged as a warning (a refusal means the function's role lacks
/// `dynamodb:DescribeEndpoints`), never returned.
pub async fn open_dynamodb_connection(dynamodb: &aws_sdk_dynamodb::Client) {
    let once = aws_sdk_dynamodb::config::Builder::default()
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(OPEN_CONNECTION_TIMEOUT)
                .operation_timeout(OPEN_CONNECTION_TIMEOUT)
                .build(),
        );
    let call = dynamodb
        .describe_endpoints()
        .customize()
        .config_override(once);
    if let Err(error) = call.send().await {
        tracing::warn!(
            error = %crate::error::describe(&error),
            "the DynamoDB connection was not opened at cold start; the first call opens it"
        );
    }
}

/// How long one SES send may take. Longer than [`ATTEMPT_TIMEOUT`]: a send is attempted once.
pub const SES_SEND_TIMEOUT: Duration = Duration::from_secs(8);

/// The SES client's configuration: one attempt per send, no SDK retries. `SendEmail` has no
/// idempotency key, so retrying after a timeout or a 5xx could deliver a message SES had in
/// fact accepted a second time. A failed or throttled send is instead left in the outbox and
/// handed back: the SQS record is retried after its visibility timeout, or the relay takes the
/// message when its lease runs out.
pub fn ses_config(config: &SdkConfig) -> aws_sdk_sesv2::Config {
    aws_sdk_sesv2::config::Builder::from(config)
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(SES_SEND_TIMEOUT)
                .operation_timeout(SES_SEND_TIMEOUT)
                .build(),
        )
        .build()
}
/// The standard configuration loader with aftercare's timeouts and retries set.
pub fn base_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeout_config())
        .retry_config(retry_config())
}

/// Timeouts of every AWS call: 2 s to connect, [`ATTEMPT_TIMEOUT`] per attempt,
/// [`OPERATION_TIMEOUT`] in all.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// Retries of every AWS call: the SDK's standard mode (throttling, 5xx, timeouts and
/// transient network errors are retried with exponential backoff and jitter; client errors
/// are not), [`MAX_ATTEMPTS`] attempts, the first backoff 50 ms.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(50))
}
