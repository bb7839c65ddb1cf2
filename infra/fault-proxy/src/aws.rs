//! Which AWS call a request is, and the error answers each service gives.

use crate::http::{Request, Response};

/// The services the proxy tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// DynamoDB (`X-Amz-Target: DynamoDB_20120810.*`).
    DynamoDb,
    /// SES v2 (`/v2/email/…`).
    Ses,
    /// EventBridge (`X-Amz-Target: AWSEvents.*`).
    EventBridge,
    /// Anything else: Secrets Manager at cold start, the emulator's own API. Never faulted.
    Other,
}

impl Service {
    /// Its name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::DynamoDb => "dynamodb",
            Service::Ses => "ses",
            Service::EventBridge => "eventbridge",
            Service::Other => "other",
        }
    }
}

/// A request, as far as faults and crash points care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The service.
    pub service: Service,
    /// The operation (`TransactWriteItems`, `SendEmail`…).
    pub operation: String,
    /// What the call is about, for reports: the key of a DynamoDB item write (`pk`/`sk`
    /// values), the email tags of an SES send.
    pub subject: Option<String>,
    /// Whether it marks something sent: an UpdateItem setting `:status` to `sent`.
    pub marks_sent: bool,
}

/// Classifies a request.
pub fn classify(request: &Request) -> Call {
    let target = request.header("x-amz-target").unwrap_or_default();
    let json = || serde_json::from_slice::<serde_json::Value>(&request.body).ok();
    if let Some(operation) = target.strip_prefix("DynamoDB_20120810.") {
        let body = json();
        let subject = body.as_ref().and_then(|b| {
            let key = b.get("Key").or_else(|| b.get("Item"))?;
            let text = |name: &str| key.get(name)?.get("S")?.as_str().map(str::to_owned);
            Some(format!(
                "{} {}",
                text("pk")?,
                text("sk").unwrap_or_default()
            ))
        });
        let marks_sent = operation == "UpdateItem"
            && body
                .as_ref()
                .and_then(|b| b.pointer("/ExpressionAttributeValues/:status/S"))
                .and_then(|v| v.as_str())
                == Some("sent");
        return Call {
            service: Service::DynamoDb,
            operation: operation.to_owned(),
            subject,
            marks_sent,
        };
    }
    if let Some(operation) = target.strip_prefix("AWSEvents.") {
        return Call {
            service: Service::EventBridge,
            operation: operation.to_owned(),
            subject: None,
            marks_sent: false,
        };
    }
    let path = request.target.split('?').next().unwrap_or_default();
    if path.starts_with("/v2/email/") {
        let operation = if request.method == "POST" && path == "/v2/email/outbound-emails" {
            "SendEmail".to_owned()
        } else {
            format!("{} {path}", request.method)
        };
        let subject = json().and_then(|b| {
            let tags = b.get("EmailTags")?.as_array()?;
            Some(
                tags.iter()
                    .filter_map(|t| {
                        Some(format!(
                            "{}={}",
                            t.get("Name")?.as_str()?,
                            t.get("Value")?.as_str()?
                        ))
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        });
        return Call {
            service: Service::Ses,
            operation,
            subject,
            marks_sent: false,
        };
    }
    Call {
        service: Service::Other,
        operation: target.to_owned(),
        subject: None,
        marks_sent: false,
    }
}

/// The throttling answer of `service`. DynamoDB answers `ThrottlingException` or, when
/// `alternate`, `ProvisionedThroughputExceededException`.
pub fn throttled(service: Service, alternate: bool) -> Response {
    match service {
        Service::DynamoDb => {
            let code = if alternate {
                "ProvisionedThroughputExceededException"
            } else {
                "ThrottlingException"
            };
            dynamodb_error(
                400,
                "Bad Request",
                code,
                "Rate of requests exceeds the allowed throughput.",
            )
        }
        Service::Ses => Response::new(
            429,
            "Too Many Requests",
            &[
                ("Content-Type", "application/json"),
                ("x-amzn-ErrorType", "TooManyRequestsException"),
                ("x-amzn-RequestId", "fault-proxy"),
            ],
            br#"{"message":"Too many requests have been made to the operation."}"#,
        ),
        Service::EventBridge | Service::Other => Response::new(
            400,
            "Bad Request",
            &[
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-RequestId", "fault-proxy"),
            ],
            br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        ),
    }
}

/// A 500 answer of `service`.
pub fn internal_error(service: Service) -> Response {
    match service {
        Service::DynamoDb => dynamodb_error(
            500,
            "Internal Server Error",
            "InternalServerError",
            "Internal server error",
        ),
        Service::Ses => Response::new(
            500,
            "Internal Server Error",
            &[
                ("Content-Type", "application/json"),
                ("x-amzn-ErrorType", "InternalFailure"),
                ("x-amzn-RequestId", "fault-proxy"),
            ],
            br#"{"message":"An internal error occurred."}"#,
        ),
        Service::EventBridge | Service::Other => Response::new(
            500,
            "Internal Server Error",
            &[
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-RequestId", "fault-proxy"),
            ],
            br#"{"__type":"InternalException","message":"An internal error occurred."}"#,
        ),
    }
}

fn dynamodb_error(status: u16, reason: &str, code: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
        "message": message,
    })
    .to_string();
    Response::new(
        status,
        reason,
        &[
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-RequestId", "fault-proxy"),
        ],
        body.as_bytes(),
    )
}
