//! The invocation's deadline, as the handlers budget their time by it.

use std::time::SystemTime;

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
