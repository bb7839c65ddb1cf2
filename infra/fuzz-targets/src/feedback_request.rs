//! HTTP API requests to the feedback function: any method, path, query string, body and
//! headers, with no token, a forged one, or one signed with the function's own key.

use std::sync::{Arc, OnceLock};

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::clock::ManualClock;
use aftercare_journey::ids::{CustomerId, OrderId};
use aftercare_journey::links::{sign, sign_preferences, LinkClaims, PreferenceClaims};
use aftercare_journey::message::MessageKind;
use arbitrary::{Arbitrary, Unstructured};
use feedback::FeedbackFunction;
use serde_json::json;

use crate::{fuzz_key, fuzz_now};

/// A request drawn from fuzz input.
#[derive(Debug, Arbitrary)]
struct FuzzRequest {
    method: u8,
    path: u8,
    other_path: String,
    query: Vec<(String, String)>,
    raw_query_extra: String,
    body: String,
    encoding: BodyEncoding,
    headers: Vec<(String, String)>,
    accept_russian: bool,
    token: TokenChoice,
    score: String,
    customer: String,
    order: String,
}

/// How the body travels: as text, as base64, or flagged as base64 while it is not.
#[derive(Debug, Arbitrary, Clone, Copy, PartialEq, Eq)]
enum BodyEncoding {
    Plain,
    Base64,
    ClaimedBase64,
}

#[derive(Debug, Arbitrary)]
enum TokenChoice {
    None,
    Forged(String),
    Rating,
    Preferences,
}

/// The function under test, and the runtime it runs on. Its AWS clients point at a closed
/// port with no retries: a request that gets as far as the journey fails at once, with a page.
fn function() -> &'static (tokio::runtime::Runtime, FeedbackFunction) {
    static FUNCTION: OnceLock<(tokio::runtime::Runtime, FeedbackFunction)> = OnceLock::new();
    FUNCTION.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("a runtime: {e}"));
        let config = aftercare_adapters::config::Config::from_lookup(|name| {
            let value = match name {
                "JOURNEY_TABLE" => "fuzz",
                "SENDER_EMAIL" => "orders@shop.example",
                "SHOP_NAME" => "Leaf & Kettle",
                "SUPPORT_EMAIL" => "help@shop.example",
                "LINK_SIGNING_KEYS" => {
                    "fuzz-1:66757a7a696e672d6f6e6c792d6b65792d66757a7a696e672d6f6e6c792d6b6579"
                }
                _ => return None,
            };
            Some(value.to_owned())
        })
        .unwrap_or_else(|e| panic!("the fuzz configuration: {e}"));
        let sdk = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("us-east-1"))
                .endpoint_url("http://127.0.0.1:1")
                .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                    "fuzz", "fuzz", None, None, "fuzz",
                ))
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .timeout_config(
                    aws_config::timeout::TimeoutConfig::builder()
                        .connect_timeout(std::time::Duration::from_millis(200))
                        .operation_timeout(std::time::Duration::from_millis(500))
                        .build(),
                )
                .load(),
        );
        let clients = AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            sesv2: aws_sdk_sesv2::Client::new(&sdk),
            eventbridge: aws_sdk_eventbridge::Client::new(&sdk),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
        };
        let function =
            FeedbackFunction::new(&clients, &config, Arc::new(ManualClock::new(fuzz_now())));
        (runtime, function)
    })
}

/// Builds an HTTP API (v2) event from fuzz input and hands it to the function. Whatever comes
/// in, the answer is a page; a request without a valid token is refused with a 4xx and never
/// reaches the journey.
pub fn feedback_request(data: &[u8]) {
    let Ok(request) = FuzzRequest::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    let method =
        ["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS"][usize::from(request.method) % 6];
    let path = match request.path % 6 {
        0 => "/rate".to_owned(),
        1 => "/rate/comment".to_owned(),
        2 => "/unsubscribe".to_owned(),
        3 => "/preferences".to_owned(),
        4 => format!("/{}", request.other_path),
        _ => request.other_path.clone(),
    };
    let key = fuzz_key();
    let customer = CustomerId::parse(request.customer.clone())
        .unwrap_or_else(|_| CustomerId::parse("cus-1").unwrap_or_else(|e| panic!("{e}")));
    let order = OrderId::parse(request.order.clone())
        .unwrap_or_else(|_| OrderId::parse("1").unwrap_or_else(|e| panic!("{e}")));
    let (token, signed) = match &request.token {
        TokenChoice::None => (None, false),
        TokenChoice::Forged(token) => (Some(token.clone()), false),
        TokenChoice::Rating => (
            Some(sign(
                &key,
                &LinkClaims {
                    customer,
                    order,
                    kind: MessageKind::ReviewRequest,
                    expires_at: fuzz_now() + chrono::Duration::days(10),
                },
            )),
            true,
        ),
        TokenChoice::Preferences => (
            Some(sign_preferences(
                &key,
                &PreferenceClaims {
                    customer,
                    topic: None,
                },
            )),
            true,
        ),
    };
    let mut query: Vec<(String, String)> = request.query.clone();
    if let Some(token) = &token {
        query.push(("token".into(), token.clone()));
    }
    query.push(("score".into(), request.score.clone()));
    let mut raw_query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&query)
        .finish();
    raw_query.push_str(&request.raw_query_extra);
    let mut headers = serde_json::Map::new();
    for (name, value) in &request.headers {
        headers.insert(name.to_ascii_lowercase(), json!(value));
    }
    headers.insert("host".into(), json!("feedback.shop.example"));
    if request.accept_russian {
        headers.insert("accept-language".into(), json!("ru-RU,ru;q=0.9"));
    }
    let body = if request.encoding == BodyEncoding::Base64 {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&request.body)
    } else {
        request.body.clone()
    };
    let event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "fuzz", "domainName": "feedback.shop.example",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "fuzz"},
            "requestId": "fuzz", "routeKey": format!("{method} {path}"), "stage": "$default",
            "time": "01/Dec/2026:12:00:00 +0000", "timeEpoch": 1_796_126_400_000u64
        },
        "body": body,
        "isBase64Encoded": request.encoding != BodyEncoding::Plain,
    });
    // As the function's main does: the event mended, then converted by lambda_http.
    let Ok(event) = serde_json::from_value::<lambda_http::request::LambdaRequest>(event) else {
        return;
    };
    let http = feedback::http_event::http_request(event);
    let (runtime, function) = function();
    let response = runtime.block_on(function.handle(http));
    let status = response.status().as_u16();
    assert!((200..600).contains(&status), "an HTTP status, not {status}");
    if !signed {
        assert!(
            status < 500,
            "a request without a valid token got {status} (it reached the journey?)"
        );
    }
}
