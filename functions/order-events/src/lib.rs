//! The order-events function: takes SQS batches of order events (EventBridge envelopes or bare
//! bodies), applies each to its customer's journey exactly once, and sends the order-status
//! message through the outbox.
//!
//! Per record: parse → read the profile and the order (one BatchGetItem; an event the order's
//! timeline records was applied before) → decide (pure) → write (one conditional
//! TransactWriteItems) → send → mark sent. A record that
//! fails is reported alone in the batch response, so SQS retries only it and, after
//! `maxReceiveCount`, moves it to the dead-letter queue.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::sync::Arc;

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::clock::Clock;
use aftercare_adapters::config::{Config, FunctionParts};
use aftercare_adapters::deadline::Budget;
use aftercare_adapters::dynamo::DynamoStore;
use aftercare_adapters::items::{queued_message_sk, CommitError, Lease, MessageItem, StoreError};
use aftercare_adapters::log_ids;
use aftercare_adapters::mailer::SesMailer;
use aftercare_adapters::outbox::{Outbox, SendOutcome};
use aftercare_adapters::panics::Panicked;
use aftercare_adapters::ports::{JourneyStore, Mailer};
use aftercare_adapters::retry::{self, Contended, Round};
use aftercare_adapters::sqs_batch::{self, RecordFailure};
use aftercare_journey::event::{parse_order_event, InvalidEvent, OrderEvent};
use aftercare_journey::order_status::decide_order_event;
use aftercare_journey::rejection::Problem;
use aftercare_journey::render::RenderError;
use aftercare_journey::time_shift::Shift;
use aws_lambda_events::event::sqs::SqsEvent;

/// How many times a record is decided again when its journey changed under it (another event
/// of the same customer was applied meanwhile) before it is handed back to the queue.
///
/// An attempt fails only when another writer's commit lands between its read and its write, and
/// each commit lands inside at most one attempt of a given record, so `N` order events of one
/// customer arriving at once, with no other writer of that customer meanwhile, all land within
/// `N` attempts whatever the timing: with 8, such a burst of up to 8 (a shop importing a
/// customer's orders, redeliveries after an outage) never falls back to the queue's retry.
/// Other writers (a rating, an SES report, the sweep) or a cancelled transaction can still
/// use up attempts; the record then goes back to the queue and is retried, nothing is lost.
/// Backoff and jitter between attempts make collisions rarer.
pub const MAX_DECISION_ATTEMPTS: u32 = 8;

/// How far ahead of this function's clock an event's `occurred_at` may be. An event dated
/// further ahead is refused: applied, it would make every genuine later event look stale.
pub const MAX_CLOCK_SKEW: chrono::Duration = chrono::Duration::hours(24);

/// The time one record may need in the worst ordinary case, which must be left before the
/// invocation's deadline for a new record to be started: a read, a write, a send and a mark,
/// and under contention [`MAX_DECISION_ATTEMPTS`] reads and writes with up to about 6 s of
/// backoff between them ([`aftercare_adapters::retry::backoff`]). A record whose calls time
/// out again and again (a transaction sent once more with its token, a mark of an accepted
/// send tried three times) can take longer; if Lambda then ends the invocation, that is a crash
/// the outbox is built for. The function's timeout is 30 s.
pub const RECORD_TIME_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// How this function's log lines begin: its name and what a record holds.
pub const LOG_NAME: &str = "order-events: order event";

/// Everything the function needs, built once per cold start: a journey store `S` and a mailer
/// `M` (DynamoDB and SES in Lambda; any implementation of the ports in tests and dry runs).
pub struct OrderEventsFunction<S = DynamoStore, M = SesMailer> {
    store: S,
    mailer: M,
    parts: FunctionParts,
}

/// What came of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The event was applied or refused (see `note`), and its message, if any, delivered.
    Processed {
        /// The customer.
        customer_id: String,
        /// The event.
        event_id: String,
        /// Whether it changed the order.
        applied: bool,
        /// What came of it.
        note: String,
        /// The message's subject and what SES did with it.
        message: Option<(String, SendOutcome)>,
    },
    /// The event had been applied before; nothing changed. `resent` says what became of a
    /// message it left pending: sent now, held by another sender, or left for the relay.
    Duplicate {
        /// The customer.
        customer_id: String,
        /// The event.
        event_id: String,
        /// What happened to a message the first delivery left pending.
        resent: Option<SendOutcome>,
    },
}

/// The outcome as log lines say it: the customer by their log id, the event, what came of it
/// (our words), and the kind of message and what became of it; never its subject, which may
/// name the customer or what they bought.
impl std::fmt::Display for RecordOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordOutcome::Processed {
                customer_id,
                event_id,
                note,
                message,
                ..
            } => {
                let customer = log_ids::customer_str(customer_id);
                write!(f, "customer {customer}, event {event_id}: {note}")?;
                if let Some((_, delivery)) = message {
                    write!(f, "; message {delivery}")?;
                }
                Ok(())
            }
            RecordOutcome::Duplicate {
                customer_id,
                event_id,
                resent,
            } => {
                let customer = log_ids::customer_str(customer_id);
                write!(f, "customer {customer}, event {event_id}: applied before")?;
                if let Some(delivery) = resent {
                    write!(f, "; its message {delivery}")?;
                }
                Ok(())
            }
        }
    }
}

/// Why a record failed. It is reported in the batch response and retried by SQS.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The body is not a valid order event: it will go to the DLQ after its retries.
    #[error(transparent)]
    Invalid(#[from] InvalidEvent),
    /// DynamoDB failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The journey kept changing under us.
    #[error(transparent)]
    Contention(#[from] Contended),
    /// A message template failed (a bug; the tests render every kind).
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Not started: too little of the invocation's time was left. SQS delivers it again.
    #[error("not started: too little of the invocation's time was left")]
    OutOfTime,
    /// Processing panicked: a bug. The rest of the batch goes on; SQS retries this record and
    /// in the end dead-letters it.
    #[error("{0}")]
    Bug(Panicked),
}

/// One record's SQS message id and result.
pub type RecordReport = sqs_batch::RecordReport<RecordOutcome, RecordError>;

/// A batch's results and the response for Lambda.
pub type BatchReport = sqs_batch::BatchReport<RecordOutcome, RecordError>;

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

impl OrderEventsFunction {
    /// Wires the function from its clients and configuration.
    pub fn new(clients: &AwsClients, config: &Config, clock: Arc<dyn Clock>) -> Self {
        Self::from_parts(
            DynamoStore::new(clients.dynamodb.clone(), &config.table_name),
            SesMailer::new(clients.sesv2.clone(), config),
            FunctionParts::of(config, clock),
        )
    }
}

impl<S: JourneyStore, M: Mailer> OrderEventsFunction<S, M> {
    /// The function over `store` and `mailer` (the in-memory twin in tests and dry runs).
    pub fn from_parts(store: S, mailer: M, parts: FunctionParts) -> Self {
        Self {
            store,
            mailer,
            parts,
        }
    }

    /// The store, for callers that read journeys.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The outbox this function sends through.
    pub fn outbox(&self) -> Outbox<'_, S, M> {
        Outbox::new(
            &self.store,
            &self.mailer,
            &self.parts.settings,
            self.parts.clock.as_ref(),
            self.parts.outbox_lease,
        )
    }

    /// Handles one SQS batch with no deadline (tests, the demo, local runs).
    pub async fn handle_batch(&self, event: SqsEvent, invocation: &str) -> BatchReport {
        self.handle_batch_until(event, invocation, None).await
    }

    /// Handles one SQS batch. `invocation` names this invocation (the Lambda request id) and
    /// becomes the owner of the leases it takes. Records are taken in order, one at a time, so
    /// events of one customer in one batch apply in the order they were queued. Once less than
    /// [`RECORD_TIME_BUDGET`] is left before `deadline`, no new record is started: the rest are
    /// reported as failures and SQS delivers them again, rather than the invocation timing out
    /// in the middle of a send.
    pub async fn handle_batch_until(
        &self,
        event: SqsEvent,
        invocation: &str,
        deadline: Option<std::time::SystemTime>,
    ) -> BatchReport {
        let budget = Budget::new(deadline, RECORD_TIME_BUDGET);
        sqs_batch::process_batch(event, budget, LOG_NAME, |message_id, body| {
            let owner = format!("{invocation}/{message_id}");
            // Boxed: the record's future is deep (SDK calls in a retry loop), and a caller that
            // nests the batch in its own futures would otherwise exceed the layout depth limit.
            async move { Box::pin(self.process_body(&body, &owner)).await }
        })
        .await
    }

    /// Applies one message body and sends what it decided.
    pub async fn process_body(
        &self,
        body: &str,
        owner: &str,
    ) -> Result<RecordOutcome, RecordError> {
        let event = parse_order_event(body, &self.parts.accepted_years)?;
        let latest_accepted = self.parts.clock.now().plus(MAX_CLOCK_SKEW);
        if event.occurred_at > latest_accepted {
            return Err(RecordError::Invalid(InvalidEvent::new(
                "occurred_at",
                Problem::AheadOfClock {
                    hours: MAX_CLOCK_SKEW.num_hours(),
                },
            )));
        }
        match self.apply(&event, owner).await? {
            Applied::Duplicate { message_sk } => {
                // The message the first delivery queued is sent now if its sender is gone; if
                // another sender holds it, or it cannot go now, the outbox keeps it and the relay
                // sends it: either way this record has nothing left to do.
                let resent = match message_sk {
                    Some(sk) => Some(
                        match self
                            .outbox()
                            .redeliver(&event.customer.id, &sk, owner)
                            .await
                        {
                            Ok(delivery) => delivery,
                            Err(error) => {
                                tracing::warn!(customer_id = %log_ids::customer(&event.customer.id), message_sk = %sk, %error,
                                    "redelivered event's message not sent now; it stays in the outbox for the relay");
                                SendOutcome::LeftForRelay {
                                    reason: error.to_string(),
                                }
                            }
                        },
                    ),
                    None => None,
                };
                Ok(RecordOutcome::Duplicate {
                    customer_id: event.customer.id.to_string(),
                    event_id: event.event_id.to_string(),
                    resent: resent.filter(|d| *d != SendOutcome::NotOurs),
                })
            }
            Applied::Committed {
                applied,
                note,
                message,
            } => {
                let message = match message {
                    Some(item) => {
                        // A message that waits on purpose is the relay's to send when it may
                        // (one whose stored time does not read, too: never sent now).
                        let delivery = if item.lease_owner.as_deref()
                            == Some(Lease::SCHEDULED_HOLDER)
                        {
                            SendOutcome::Waiting {
                                until: Lease::of(&item).map(|wait| wait.until).unwrap_or_default(),
                            }
                        } else {
                            match self.outbox().deliver_held(&item, owner).await {
                                Ok(delivery) => delivery,
                                Err(error) => SendOutcome::left_for_relay(&item, &error),
                            }
                        };
                        Some((item.subject.clone(), delivery))
                    }
                    None => None,
                };
                Ok(RecordOutcome::Processed {
                    customer_id: event.customer.id.to_string(),
                    event_id: event.event_id.to_string(),
                    applied,
                    note,
                    message,
                })
            }
        }
    }

    /// Reads, decides and writes one event, deciding again (up to [`MAX_DECISION_ATTEMPTS`]
    /// times) if the journey changed meanwhile. Sends nothing: the message, if any, is left
    /// pending and held by `owner`.
    pub async fn apply(&self, event: &OrderEvent, owner: &str) -> Result<Applied, RecordError> {
        let customer = &event.customer.id;
        retry::read_decide_commit(MAX_DECISION_ATTEMPTS, customer, |_| async move {
            let loaded = self
                .store
                .load_profile_and_order(customer, Some(&event.order_id))
                .await?;
            if let Some(entry) = loaded.decided_before(&event.event_id) {
                return Ok(Round::Done(Applied::Duplicate {
                    message_sk: queued_message_sk(customer, entry),
                }));
            }
            let decision = decide_order_event(&loaded.before_event(), event, &self.parts.settings)?;
            let lease = match decision.deliver_at {
                Some(until) => Lease::scheduled(until),
                None => self.outbox().lease_for(owner),
            };
            match self
                .store
                .commit_order_event(
                    &loaded,
                    event,
                    &decision,
                    &lease,
                    owner,
                    self.parts.clock.now(),
                )
                .await
            {
                Ok(message) => Ok(Round::Done(Applied::Committed {
                    applied: decision.applied,
                    note: decision.note,
                    message: message.map(Box::new),
                })),
                // Another event of the customer was applied meanwhile, or this one was.
                Err(CommitError::Conflict | CommitError::Duplicate) => Ok(Round::Changed),
                Err(CommitError::Store(error)) => Err(error.into()),
            }
        })
        .await
    }
}

/// What writing one event did.
#[derive(Debug)]
pub enum Applied {
    /// It had been applied before.
    Duplicate {
        /// The message the first application queued, if any.
        message_sk: Option<String>,
    },
    /// It was written now.
    Committed {
        /// Whether it changed the order.
        applied: bool,
        /// What came of it.
        note: String,
        /// The pending message written with it, held by the caller.
        message: Option<Box<MessageItem>>,
    },
}
