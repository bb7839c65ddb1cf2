//! The SES events function: the configuration set publishes every sending event to
//! EventBridge, a rule queues them in SQS, and this function applies each to the journey of
//! the customer it is about.
//!
//! - A permanent bounce suppresses the address: nothing more is sent to it, and every decision
//!   that would have says why. Transient bounces are counted; several in a short time suppress
//!   it too.
//! - A complaint unsubscribes the customer from everything but order updates, and is recorded.
//! - Deliveries, delays, rejections, opens and clicks are recorded on the message; a click on a
//!   rating link records that the customer answered.
//!
//! Every update keeps the first record of each event, so redelivered and out-of-order events
//! are harmless. Per record: one UpdateItem for a status; a read, a conditional write and an
//! UpdateItem for a bounce or complaint.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod ses_event;

use std::sync::Arc;

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::clock::Clock;
use aftercare_adapters::config::{Config, FunctionParts};
use aftercare_adapters::deadline::Budget;
use aftercare_adapters::dynamo::DynamoStore;
use aftercare_adapters::items::{CommitError, MailEvent, StoreError};
use aftercare_adapters::log_ids;
use aftercare_adapters::panics::Panicked;
use aftercare_adapters::ports::JourneyStore;
use aftercare_adapters::reference::MessageReference;
use aftercare_adapters::retry::{self, Contended, Round};
use aftercare_adapters::sqs_batch::{self, RecordFailure};
use aftercare_journey::consent::{apply_bounce, apply_complaint, Bounce, BounceOutcome};
use aftercare_journey::event::InvalidEvent;
use aftercare_journey::message::MessageKind;
use aftercare_journey::profile::{ComplaintRecord, Profile};
use aws_lambda_events::event::sqs::SqsEvent;

pub use ses_event::{parse_ses_event, SesEvent, SesReport};

/// How this function's log lines begin: its name and what a record holds.
pub const LOG_NAME: &str = "ses-events: SES event";

/// How many times a bounce or complaint is applied again when the profile changed under it.
pub const MAX_ATTEMPTS: u32 = 5;

/// The time one SES event may need in the worst ordinary case (a read, a conditional write and
/// an update, each with its retries), which must be left before the invocation's deadline for
/// a new record to be started.
pub const RECORD_TIME_BUDGET: std::time::Duration = std::time::Duration::from_secs(8);

/// Everything the function needs, built once per cold start: a journey store `S` (DynamoDB in
/// Lambda; any implementation of the port in tests and dry runs).
pub struct SesEventsFunction<S = DynamoStore> {
    store: S,
    parts: FunctionParts,
}

/// What came of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// About mail aftercare did not send (no reference): nothing to do.
    NotOurs,
    /// About a message we no longer keep (or a customer we do not know): nothing to do.
    Unknown,
    /// An event SES publishes that the journey does not record (`Send`, rendering failures).
    Ignored,
    /// Recorded on the message.
    Recorded(&'static str),
    /// The address is suppressed now.
    Suppressed,
    /// A transient bounce counted; this many in the window.
    BounceCounted(usize),
    /// The customer is unsubscribed from all marketing.
    Unsubscribed,
    /// A bounce or complaint that changed nothing (a redelivery, an old address).
    Unchanged,
}

/// The outcome in log lines' words.
impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::NotOurs => f.write_str("not about mail aftercare sent"),
            Outcome::Unknown => f.write_str("about a message or customer no longer kept"),
            Outcome::Ignored => f.write_str("not recorded"),
            Outcome::Recorded(what) => write!(f, "recorded as {what}"),
            Outcome::Suppressed => f.write_str("address suppressed"),
            Outcome::BounceCounted(n) => write!(f, "transient bounce counted ({n} in the window)"),
            Outcome::Unsubscribed => f.write_str("unsubscribed from marketing"),
            Outcome::Unchanged => f.write_str("nothing changed"),
        }
    }
}

/// Why a record failed; SQS retries it, then moves it to the dead-letter queue.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not an SES event we can read.
    #[error(transparent)]
    Invalid(#[from] InvalidEvent),
    /// DynamoDB failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The profile kept changing.
    #[error(transparent)]
    Contention(#[from] Contended),
    /// Not started: too little of the invocation's time was left. SQS delivers it again.
    #[error("not started: too little of the invocation's time was left")]
    OutOfTime,
    /// Processing panicked: a bug. The rest of the batch goes on; SQS retries this record and
    /// in the end dead-letters it.
    #[error("{0}")]
    Bug(Panicked),
}

/// One record's SQS message id and result.
pub type RecordReport = sqs_batch::RecordReport<Outcome, RecordError>;

/// A batch's results, and the response that reports the failed records to SQS.
pub type BatchReport = sqs_batch::BatchReport<Outcome, RecordError>;

impl RecordFailure for RecordError {
    fn missing_body(missing: InvalidEvent) -> Self {
        RecordError::Invalid(missing)
    }

    fn out_of_time() -> Self {
        RecordError::OutOfTime
    }

    fn panicked(bug: Panicked) -> Self {
        RecordError::Bug(bug)
    }

    fn rejected_field(&self) -> Option<&str> {
        match self {
            RecordError::Invalid(invalid) => Some(&invalid.field),
            _ => None,
        }
    }
}

impl SesEventsFunction {
    /// Wires the function from its clients and configuration.
    pub fn new(clients: &AwsClients, config: &Config, clock: Arc<dyn Clock>) -> Self {
        Self::from_parts(
            DynamoStore::new(clients.dynamodb.clone(), &config.table_name),
            FunctionParts::of(config, clock),
        )
    }
}

impl<S: JourneyStore> SesEventsFunction<S> {
    /// The function over `store` (the in-memory twin in tests and dry runs).
    pub fn from_parts(store: S, parts: FunctionParts) -> Self {
        Self { store, parts }
    }

    /// Handles one SQS batch with no deadline (tests, the demo, local runs).
    pub async fn handle_batch(&self, event: SqsEvent) -> BatchReport {
        self.handle_batch_until(event, None).await
    }

    /// Handles one SQS batch, record by record; failures are reported alone. Once less than
    /// [`RECORD_TIME_BUDGET`] is left before `deadline`, no new record is started and the rest
    /// are handed back to SQS.
    pub async fn handle_batch_until(
        &self,
        event: SqsEvent,
        deadline: Option<std::time::SystemTime>,
    ) -> BatchReport {
        let budget = Budget::new(deadline, RECORD_TIME_BUDGET);
        sqs_batch::process_batch(event, budget, LOG_NAME, |_, body| async move {
            Box::pin(self.process_body(&body)).await
        })
        .await
    }

    /// Applies one SQS message body.
    pub async fn process_body(&self, body: &str) -> Result<Outcome, RecordError> {
        let event = parse_ses_event(body, &self.parts.accepted_years)?;
        self.apply(&event).await
    }

    /// Applies one parsed event.
    pub async fn apply(&self, event: &SesEvent) -> Result<Outcome, RecordError> {
        let Some(reference) = &event.reference else {
            return Ok(Outcome::NotOurs);
        };
        tracing::debug!(customer_id = %log_ids::customer(&reference.customer), ses_event = event.type_name(), "SES event");
        let (mail_event, outcome) = match &event.report {
            SesReport::Send | SesReport::Other => return Ok(Outcome::Ignored),
            SesReport::Delivery => (MailEvent::Delivered, None),
            SesReport::DeliveryDelay => (MailEvent::Delayed, None),
            SesReport::Reject => (MailEvent::Rejected, None),
            SesReport::Open => (MailEvent::Opened, None),
            SesReport::Click { link } if is_rating_link(link) => (MailEvent::Responded, None),
            SesReport::Click { .. } => (MailEvent::Clicked, None),
            SesReport::Bounce {
                permanent,
                subtype,
                recipients,
                feedback_id,
            } => {
                let outcome = self
                    .change_profile(reference, |profile| {
                        let mut profile = profile.clone();
                        let mut outcome = Outcome::Unchanged;
                        for address in recipients {
                            let (after, result) = apply_bounce(
                                &profile,
                                &Bounce {
                                    address: address.clone(),
                                    permanent: *permanent,
                                    subtype: subtype.clone(),
                                    feedback_id: feedback_id.clone(),
                                    at: event.at,
                                },
                            );
                            profile = after;
                            match result {
                                BounceOutcome::Suppressed => outcome = Outcome::Suppressed,
                                BounceOutcome::Counted(n) if outcome == Outcome::Unchanged => {
                                    outcome = Outcome::BounceCounted(n)
                                }
                                _ => {}
                            }
                        }
                        (profile, outcome)
                    })
                    .await?;
                (MailEvent::Bounced, Some(outcome))
            }
            SesReport::Complaint {
                feedback_id,
                feedback_type,
                ..
            } => {
                let outcome = self
                    .change_profile(reference, |profile| {
                        // A complaint is about the person, whichever of their addresses it
                        // came from; only one about the alert to the shop's own inbox is not.
                        if event.kind == Some(MessageKind::SupportAlert) {
                            return (profile.clone(), Outcome::Unchanged);
                        }
                        let (after, changed) = apply_complaint(
                            profile,
                            &ComplaintRecord {
                                at: event.at,
                                feedback_id: feedback_id.clone(),
                                kind: event.kind,
                                feedback_type: feedback_type.clone(),
                            },
                        );
                        let outcome = if changed {
                            Outcome::Unsubscribed
                        } else {
                            Outcome::Unchanged
                        };
                        (after, outcome)
                    })
                    .await?;
                (MailEvent::Complained, Some(outcome))
            }
        };
        let recorded = self
            .store
            .record_mail_event(
                &reference.customer,
                &reference.sort_key(),
                mail_event,
                event.at,
            )
            .await?;
        Ok(match outcome {
            Some(outcome) => outcome,
            None if recorded => Outcome::Recorded(mail_event.name()),
            None => Outcome::Unknown,
        })
    }

    /// Reads the profile, applies `change`, and writes it back if it changed, at the version
    /// read; tries again (up to [`MAX_ATTEMPTS`] times) when another writer got there first.
    async fn change_profile(
        &self,
        reference: &MessageReference,
        change: impl Fn(&Profile) -> (Profile, Outcome),
    ) -> Result<Outcome, RecordError> {
        let customer = &reference.customer;
        let change = &change;
        retry::read_decide_commit(
            MAX_ATTEMPTS,
            customer,
            |_| async move {
                let loaded = self.store.load_profile_and_order(customer, None).await?;
                let Some(profile) = loaded.profile else {
                    return Ok(Round::Done(Outcome::Unknown));
                };
                let (after, outcome) = change(&profile.value);
                if after == profile.value {
                    return Ok(Round::Done(outcome));
                }
                match self
                    .store
                    .commit_profile_with_messages(&after, profile.version, None, &[])
                    .await
                {
                    Ok(()) => {
                        tracing::info!(customer_id = %log_ids::customer(customer), %outcome, at = %self.parts.clock.now().to_rfc3339(), "deliverability changed the journey");
                        Ok(Round::Done(outcome))
                    }
                    Err(CommitError::Conflict | CommitError::Duplicate) => Ok(Round::Changed),
                    Err(CommitError::Store(error)) => Err(error.into()),
                }
            },
        )
        .await
    }
}

/// Whether a clicked link is one of a review request's rating links (`…/rate?token=…`).
fn is_rating_link(link: &str) -> bool {
    link.split('?')
        .next()
        .is_some_and(|path| path.ends_with("/rate"))
        && link.contains("token=")
}
