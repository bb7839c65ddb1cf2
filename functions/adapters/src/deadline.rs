//! The invocation's deadline, as the handlers budget their time by it: [`Budget`] says whether
//! enough is left to start another task (a record of a batch, a follow-up of a sweep).

use std::time::{Duration, SystemTime};

/// The time an invocation has for its tasks: a task is started only while at least
/// `per_task` (the time one may need in the worst ordinary case) is left before `at`. Without
/// a deadline every task is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// When the invocation is cut off, if it is.
    pub at: Option<SystemTime>,
    /// The time one task may need; a task is only started while at least this much is left.
    pub per_task: Duration,
}

impl Budget {
    /// No deadline: every task is started (tests, the demo, local runs).
    pub const UNLIMITED: Budget = Budget {
        at: None,
        per_task: Duration::ZERO,
    };

    /// Tasks of `per_task` each before `at`, if there is a deadline.
    pub fn new(at: Option<SystemTime>, per_task: Duration) -> Self {
        Self { at, per_task }
    }

    /// Whether enough time is left now to start another task.
    pub fn allows_another(&self) -> bool {
        self.allows_another_at(SystemTime::now())
    }

    /// Whether enough time is left at `now` to start another task.
    pub fn allows_another_at(&self, now: SystemTime) -> bool {
        self.at
            .is_none_or(|at| at.duration_since(now).unwrap_or_default() >= self.per_task)
    }
}

/// The deadline Lambda gave this invocation, or `None` when the one given is already past as
/// the invocation starts. Lambda never does that; the local runtime emulator of `cargo lambda
/// watch` sends a fixed `Lambda-Runtime-Deadline-Ms: 600000` (ten minutes after 1970), which
/// would otherwise make every handler believe it had no time left and start nothing. Without a
/// deadline a handler works through all it was given.
pub fn invocation_deadline(given: SystemTime, now: SystemTime) -> Option<SystemTime> {
    (given > now).then_some(given)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_task_is_started_only_while_its_time_is_left() {
        let now = SystemTime::now();
        let budget = Budget::new(Some(now + Duration::from_secs(10)), Duration::from_secs(5));
        assert!(budget.allows_another_at(now));
        assert!(budget.allows_another_at(now + Duration::from_secs(5)));
        assert!(!budget.allows_another_at(now + Duration::from_secs(6)));
        assert!(!budget.allows_another_at(now + Duration::from_secs(60)));
    }

    #[test]
    fn without_a_deadline_every_task_is_started() {
        assert!(Budget::UNLIMITED.allows_another());
        assert!(Budget::new(None, Duration::from_secs(3600)).allows_another());
    }

    #[test]
    fn a_deadline_ahead_is_kept() {
        let now = SystemTime::now();
        let given = now + Duration::from_secs(30);
        assert_eq!(invocation_deadline(given, now), Some(given));
    }

    #[test]
    fn the_fixed_deadline_of_the_local_emulator_means_no_deadline() {
        let emulator = SystemTime::UNIX_EPOCH + Duration::from_millis(600_000);
        assert_eq!(invocation_deadline(emulator, SystemTime::now()), None);
    }
}
