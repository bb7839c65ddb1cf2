//! The read, decide, commit loop every writer of a journey shares: read what the decision
//! needs, decide, write it conditionally at the versions read, and when another writer got
//! there first (a lost race), read and decide again, with exponential backoff and jitter
//! between rounds, a bounded number of times. A caller says what each round came to
//! ([`Round`]); the loop gives up with one error, [`Contended`], naming whose journey kept
//! changing.

use std::future::Future;
use std::time::Duration;

use aftercare_journey::ids::CustomerId;

use crate::log_ids::{self, CustomerLogId};

/// What one round of a read-decide-commit loop came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Round<T> {
    /// Finished (written, or nothing to write): the loop's answer.
    Done(T),
    /// What was read changed before the write landed: read and decide again.
    Changed,
}

/// A read-decide-commit loop gave up: the journey it read kept changing under it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the journey of customer {customer} kept changing; gave up after {attempts} attempts")]
pub struct Contended {
    /// Whose journey kept changing, as logs name them.
    pub customer: CustomerLogId,
    /// How many rounds were tried.
    pub attempts: u32,
}

/// Runs `round(attempt)` (the attempt counted from 0) over the journey of `customer` until it
/// is [`Round::Done`] or fails, at most `attempts` times, sleeping [`backoff`] before every
/// round but the first. When every round found what it read changed, fails with
/// [`Contended`] naming the customer.
pub async fn read_decide_commit<T, E, F, Fut>(
    attempts: u32,
    customer: &CustomerId,
    mut round: F,
) -> Result<T, E>
where
    E: From<Contended>,
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<Round<T>, E>>,
{
    for attempt in 0..attempts {
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt)).await;
        }
        match round(attempt).await? {
            Round::Done(value) => return Ok(value),
            Round::Changed => tracing::debug!(attempt, "changed while deciding; deciding again"),
        }
    }
    Err(Contended {
        customer: log_ids::customer(customer),
        attempts,
    }
    .into())
}

/// Exponential backoff with jitter before round `attempt` (from 1): about 40, 80, 160, 320, 640
/// ms, then 1,280 ms from the sixth on, each between half and one and a half of that.
pub fn backoff(attempt: u32) -> Duration {
    let base = 20u64 << attempt.min(6);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos()),
    ) % base;
    Duration::from_millis(base / 2 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer() -> CustomerId {
        CustomerId::parse("c-1").unwrap()
    }

    #[tokio::test]
    async fn a_round_that_finishes_is_the_answer_and_no_further_round_runs() {
        let mut rounds = 0;
        let answer: Result<&str, Contended> = read_decide_commit(5, &customer(), |attempt| {
            rounds += 1;
            async move {
                Ok(if attempt < 2 {
                    Round::Changed
                } else {
                    Round::Done("written")
                })
            }
        })
        .await;
        assert_eq!(answer, Ok("written"));
        assert_eq!(rounds, 3);
    }

    #[tokio::test]
    async fn a_journey_that_keeps_changing_gives_up_naming_it_after_the_attempts() {
        let answer: Result<(), Contended> =
            read_decide_commit(3, &customer(), |_| async { Ok(Round::Changed) }).await;
        let error = answer.unwrap_err();
        assert_eq!(error.attempts, 3);
        assert_eq!(
            error.to_string(),
            format!(
                "the journey of customer {} kept changing; gave up after 3 attempts",
                log_ids::customer(&customer())
            )
        );
    }

    #[tokio::test]
    async fn a_failing_round_ends_the_loop_with_its_error() {
        #[derive(Debug, PartialEq)]
        enum Failure {
            Store,
            Contended,
        }
        impl From<Contended> for Failure {
            fn from(_: Contended) -> Self {
                Failure::Contended
            }
        }
        let mut rounds = 0;
        let answer: Result<(), Failure> = read_decide_commit(3, &customer(), |_| {
            rounds += 1;
            async { Err(Failure::Store) }
        })
        .await;
        assert_eq!(answer, Err(Failure::Store));
        assert_eq!(rounds, 1);
    }

    #[test]
    fn backoff_doubles_within_its_jitter() {
        for attempt in 1..5 {
            let base = 20u64 << attempt;
            let delay = backoff(attempt).as_millis() as u64;
            assert!((base / 2..base + base / 2).contains(&delay), "{delay}");
        }
    }
}
