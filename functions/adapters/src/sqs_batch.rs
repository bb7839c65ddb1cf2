//! The SQS batch loop every queue-fed function shares: records are taken in order, one at a
//! time, each record's result is logged, and the failed ones are listed in the batch response
//! (`ReportBatchItemFailures`), so SQS retries only those and, after `maxReceiveCount`, moves
//! them to the dead-letter queue.
//!
//! A record whose processing panics (a bug) fails alone: the panic is caught around that
//! record, logged as a bug, and the record is reported failed, so the rest of the batch is
//! processed and only the broken record is retried and, in the end, dead-lettered.
//!
//! Near the invocation's deadline no new record is started: the rest are reported as failures
//! and delivered again, instead of the invocation timing out halfway through one (a timed-out
//! invocation fails the whole batch, and a record caught mid-send may be sent twice).

use std::fmt::{Debug, Display};
use std::future::Future;

use aftercare_journey::event::InvalidEvent;
use aftercare_journey::rejection::Problem;

use crate::deadline::Budget;
use crate::panics::{self, Panicked};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

/// A function's per-record error, as the batch loop needs to see it. Its `Display` is
/// logged, so it holds nothing a sender wrote (see `crate::logging`).
pub trait RecordFailure: Display + Sized {
    /// The error for a record that has no body.
    fn missing_body(missing: InvalidEvent) -> Self;
    /// The error for a record not started because the invocation's time was running out.
    fn out_of_time() -> Self;
    /// The error for a record whose processing panicked: a bug, which SQS retries and in the
    /// end dead-letters like any failure.
    fn panicked(bug: Panicked) -> Self;
    /// The field that made the record invalid, if this is a rejection (bad input that no retry
    /// will mend), as opposed to a failure that a retry may heal.
    fn rejected_field(&self) -> Option<&str>;
}

/// One record's SQS message id and what came of it.
#[derive(Debug)]
pub struct RecordReport<T, E> {
    /// The SQS message id (or `record-<index>` when SQS gave none).
    pub message_id: String,
    /// What came of the record.
    pub result: Result<T, E>,
}

/// A batch's results, in batch order, and the response that reports the failed records.
#[derive(Debug)]
pub struct BatchReport<T, E> {
    /// Per record, in order.
    pub records: Vec<RecordReport<T, E>>,
    /// The failed records, for `ReportBatchItemFailures`.
    pub response: SqsBatchResponse,
}

/// Runs `process(message_id, body)` for each record of `event`, in order, one at a time, and
/// logs each result under `what`: the function's name and what a record holds (for example
/// "order-events: order event"), so each line says which function wrote it. An outcome is
/// logged by its `Display`, which holds nothing a sender wrote. A record is started only while
/// the `budget` allows another; the rest fail with [`RecordFailure::out_of_time`].
pub async fn process_batch<T, E, F, Fut>(
    event: SqsEvent,
    budget: Budget,
    what: &str,
    mut process: F,
) -> BatchReport<T, E>
where
    T: Debug + Display,
    E: RecordFailure,
    F: FnMut(String, String) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut records = Vec::with_capacity(event.records.len());
    let mut response = SqsBatchResponse::default();
    for (index, record) in event.records.into_iter().enumerate() {
        let message_id = record
            .message_id
            .unwrap_or_else(|| format!("record-{index}"));
        let result = match record.body {
            _ if !budget.allows_another() => Err(E::out_of_time()),
            Some(body) => match panics::catch(process(message_id.clone(), body)).await {
                Ok(result) => result,
                Err(bug) => {
                    tracing::error!(sqs_message_id = %message_id, %bug, "bug: {what} processing panicked; this record fails alone");
                    Err(E::panicked(bug))
                }
            },
            None => Err(E::missing_body(InvalidEvent::new("body", Problem::Missing))),
        };
        match &result {
            Ok(outcome) => {
                tracing::info!(sqs_message_id = %message_id, %outcome, "{what} processed")
            }
            Err(error) => match error.rejected_field() {
                Some(field) => {
                    tracing::error!(sqs_message_id = %message_id, %field, "{what} rejected: {error}")
                }
                None => {
                    tracing::warn!(sqs_message_id = %message_id, %error, "{what} failed; SQS will retry it")
                }
            },
        }
        if result.is_err() {
            response.add_failure(message_id.clone());
        }
        records.push(RecordReport { message_id, result });
    }
    BatchReport { records, response }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::sqs::SqsMessage;
    use std::time::{Duration, SystemTime};

    #[derive(Debug)]
    enum Failure {
        Invalid(InvalidEvent),
        Late,
        Flaky,
        Bug(Panicked),
    }

    impl Display for Failure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{self:?}")
        }
    }

    impl RecordFailure for Failure {
        fn missing_body(missing: InvalidEvent) -> Self {
            Failure::Invalid(missing)
        }
        fn out_of_time() -> Self {
            Failure::Late
        }
        fn panicked(bug: Panicked) -> Self {
            Failure::Bug(bug)
        }
        fn rejected_field(&self) -> Option<&str> {
            match self {
                Failure::Invalid(invalid) => Some(&invalid.field),
                _ => None,
            }
        }
    }

    fn batch(bodies: &[Option<&str>]) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                let mut message = SqsMessage::default();
                message.message_id = (i != 1).then(|| format!("m{i}"));
                message.body = body.map(str::to_owned);
                message
            })
            .collect();
        event
    }

    #[tokio::test]
    async fn only_the_failed_records_are_reported_and_in_batch_order() {
        let report = process_batch(
            batch(&[Some("ok"), None, Some("flaky"), Some("ok")]),
            Budget::UNLIMITED,
            "test record",
            |id, body| async move {
                match body.as_str() {
                    "ok" => Ok(id),
                    _ => Err(Failure::Flaky),
                }
            },
        )
        .await;
        let ids: Vec<_> = report
            .records
            .iter()
            .map(|r| r.message_id.as_str())
            .collect();
        assert_eq!(ids, ["m0", "record-1", "m2", "m3"]);
        let failed: Vec<_> = report
            .response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["record-1", "m2"]);
        assert!(matches!(&report.records[1].result, Err(Failure::Invalid(i)) if i.field == "body"));
    }

    #[tokio::test]
    async fn a_record_that_panics_fails_alone_and_the_rest_of_the_batch_is_processed() {
        crate::panics::install_hook();
        let report = process_batch(
            batch(&[Some("ok"), Some("boom"), Some("ok")]),
            Budget::UNLIMITED,
            "test record",
            |id, body| async move {
                if body == "boom" {
                    let edge = [chrono::NaiveDate::MIN];
                    let _ = edge[0] - chrono::Duration::days(1);
                }
                Ok::<_, Failure>(id)
            },
        )
        .await;
        assert!(matches!(&report.records[0].result, Ok(id) if id == "m0"));
        assert!(
            matches!(&report.records[1].result, Err(Failure::Bug(bug)) if bug.location.as_deref().is_some_and(|l| l.starts_with(file!())))
        );
        assert!(matches!(&report.records[2].result, Ok(id) if id == "m2"));
        let failed: Vec<_> = report
            .response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["record-1"]);
    }

    #[tokio::test]
    async fn no_record_is_started_once_the_deadline_is_too_close() {
        let mut started = 0;
        let budget = Budget::new(
            Some(SystemTime::now() + Duration::from_secs(5)),
            Duration::from_secs(10),
        );
        let report = process_batch(
            batch(&[Some("a"), Some("b")]),
            budget,
            "test record",
            |_, _| {
                started += 1;
                async { Ok::<_, Failure>(String::new()) }
            },
        )
        .await;
        assert_eq!(started, 0);
        assert!(report
            .records
            .iter()
            .all(|r| matches!(r.result, Err(Failure::Late))));
        assert_eq!(report.response.batch_item_failures.len(), 2);
    }

    #[tokio::test]
    async fn records_are_started_while_enough_time_is_left() {
        let budget = Budget::new(
            Some(SystemTime::now() + Duration::from_secs(60)),
            Duration::from_secs(10),
        );
        let report = process_batch(
            batch(&[Some("a")]),
            budget,
            "test record",
            |_, body| async move { Ok::<_, Failure>(body) },
        )
        .await;
        assert!(matches!(&report.records[0].result, Ok(body) if body == "a"));
        assert!(report.response.batch_item_failures.is_empty());
    }
}
