//! AWS adapters for aftercare: the ports the services depend on and their AWS implementations
//! (the DynamoDB journey store, the SES v2 mailer, the EventBridge bus), the outbox that sends
//! each message exactly once, the sweep, configuration from the environment, and the plumbing
//! every function shares (SDK clients built once per cold start, logging, clocks).
//!
//! - [`ports`]: the journey store, mailer and handoff bus as traits;
//! - [`items`]: the table's item layout, shared by every store (records, keys, leases, errors);
//! - [`dynamo`]: the journey store on DynamoDB, by job; [`mailer`], [`events`]: SES and
//!   EventBridge;
//! - [`outbox`], [`sweep`]: sending exactly once, and the schedule's sweep, over any ports;
//! - [`retry`], [`deadline`], [`sqs_batch`]: the read-decide-commit loop, the time budget, the
//!   SQS batch loop every function shares.

#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod aws;
pub mod clock;
mod compressed_content;
pub mod config;
pub mod deadline;
pub mod dynamo;
pub mod error;
pub mod events;
pub mod items;
pub mod log_ids;
pub mod logging;
pub mod mailer;
pub mod memory;
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
