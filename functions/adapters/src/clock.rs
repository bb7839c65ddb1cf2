//! Wall-clock time for the adapters' own bookkeeping: outbox leases and item expiry.
//!
//! Business time never comes from here: decisions take `now` from the event they handle. Leases
//! are about how long a running process may hold a message, which is wall-clock time.

use aftercare_journey::time_shift::Shift;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved: for tests and the demo, to let a lease expire
/// without waiting for it.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    /// Sets the clock to `at` (a replay follows the time of the events it replays).
    pub fn set(&self, at: DateTime<Utc>) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = at;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = now.plus(by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The environment variable that, in local runs only, names a file holding the functions'
/// clock: an RFC 3339 instant, or nothing for the system clock. The local runner writes the
/// instant a call replays (`make invoke … AT=<time>`) there, so that a function checking an
/// event's time against its own clock (the schedule) agrees with the replay. The template never
/// sets it.
pub const LOCAL_CLOCK_FILE: &str = "AFTERCARE_LOCAL_CLOCK_FILE";

/// The clock a function runs on: the system clock, or in local runs the one named by
/// [`LOCAL_CLOCK_FILE`].
pub fn from_environment() -> Arc<dyn Clock> {
    match std::env::var_os(LOCAL_CLOCK_FILE) {
        Some(path) if !path.is_empty() => {
            tracing::warn!(
                variable = LOCAL_CLOCK_FILE,
                "the clock is read from a file (a local run)"
            );
            Arc::new(FileClock { path: path.into() })
        }
        _ => Arc::new(SystemClock),
    }
}

/// A clock read from a file at every call: the instant it holds, or the system clock when it
/// is missing, empty or not an RFC 3339 instant. For local runs (see [`LOCAL_CLOCK_FILE`]).
#[derive(Debug, Clone)]
pub struct FileClock {
    path: std::path::PathBuf,
}

impl FileClock {
    /// A clock read from `path`.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl Clock for FileClock {
    fn now(&self) -> DateTime<Utc> {
        std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|text| DateTime::parse_from_rfc3339(text.trim()).ok())
            .map_or_else(Utc::now, |at| at.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_clock_shows_the_instant_in_its_file_or_the_system_clock_without_one() {
        let dir = std::env::temp_dir().join(format!("aftercare-clock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("clock");
        let clock = FileClock::new(&path);
        let before = Utc::now();
        assert!(clock.now() >= before, "no file: the system clock");
        std::fs::write(&path, "2026-11-06T18:05:00Z\n").unwrap();
        assert_eq!(clock.now().to_rfc3339(), "2026-11-06T18:05:00+00:00");
        std::fs::write(&path, "").unwrap();
        assert!(clock.now() >= before, "empty: the system clock");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
