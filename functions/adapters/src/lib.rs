//! AWS adapters for aftercare: the DynamoDB journey store, the SES v2 mailer, the outbox that
//! sends each message exactly once, configuration from the environment, and the plumbing every
//! function shares (SDK clients built once per cold start, logging, clocks).

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod aws;
pub mod clock;
pub mod config;
pub mod deadline;
pub mod dynamo;
pub mod error;
pub mod events;
pub mod items;
pub mod log_ids;
pub mod logging;
pub mod mailer;
pub mod mime_header;
pub mod outbox;
pub mod panics;
pub mod ports;
pub mod reference;
pub mod request_token;
pub mod retry;
pub mod secrets;
pub mod sqs_batch;
pub mod startup;
pub mod sweep;
