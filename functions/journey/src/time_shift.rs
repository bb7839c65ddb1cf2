//! Date and time arithmetic that cannot panic.
//!
//! chrono's operators (`instant + duration`, `date - duration`, `duration * n`,
//! `Duration::days(n)`) panic when a result leaves chrono's range. Dates that reach the domain
//! are checked at parsing (see [`crate::event::AcceptedYears`]), but a rule must stay total over
//! every value it can be handed, so the domain and the adapters shift times only through this
//! module: every result saturates at the edge of chrono's range instead of panicking. A follow-up
//! due at the end of time is never due, which is the right reading of a date nobody can reach.
//!
//! The crates deny `clippy::arithmetic_side_effects` for chrono and decimal types (primitive
//! integers are allowed in `clippy.toml`), so a new operator on a time does not compile past CI.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

/// A point in time that can be moved by a [`Duration`] without panicking.
pub trait Shift: Sized {
    /// `self` moved forward by `by` (backward if `by` is negative), or the latest (earliest)
    /// representable value if that lies beyond chrono's range.
    fn plus(self, by: Duration) -> Self;

    /// `self` moved backward by `by`, saturating like [`Shift::plus`].
    fn minus(self, by: Duration) -> Self {
        self.plus(negated(by))
    }
}

impl Shift for DateTime<Utc> {
    fn plus(self, by: Duration) -> Self {
        self.checked_add_signed(by)
            .unwrap_or(if by < Duration::zero() {
                DateTime::<Utc>::MIN_UTC
            } else {
                DateTime::<Utc>::MAX_UTC
            })
    }
}

impl Shift for NaiveDate {
    fn plus(self, by: Duration) -> Self {
        self.checked_add_signed(by)
            .unwrap_or(if by < Duration::zero() {
                NaiveDate::MIN
            } else {
                NaiveDate::MAX
            })
    }
}

impl Shift for NaiveDateTime {
    fn plus(self, by: Duration) -> Self {
        self.checked_add_signed(by)
            .unwrap_or(if by < Duration::zero() {
                NaiveDateTime::MIN
            } else {
                NaiveDateTime::MAX
            })
    }
}

/// `n` days, saturating at the longest duration chrono holds.
pub fn days(n: i64) -> Duration {
    Duration::try_days(n).unwrap_or(if n < 0 { Duration::MIN } else { Duration::MAX })
}

/// `n` hours, saturating like [`days`].
pub fn hours(n: i64) -> Duration {
    Duration::try_hours(n).unwrap_or(if n < 0 { Duration::MIN } else { Duration::MAX })
}

/// `n` minutes, saturating like [`days`].
pub fn minutes(n: i64) -> Duration {
    Duration::try_minutes(n).unwrap_or(if n < 0 { Duration::MIN } else { Duration::MAX })
}

/// `n` seconds, saturating like [`days`].
pub fn seconds(n: i64) -> Duration {
    Duration::try_seconds(n).unwrap_or(if n < 0 { Duration::MIN } else { Duration::MAX })
}

/// `a + b`, saturating like [`days`].
pub fn sum(a: Duration, b: Duration) -> Duration {
    a.checked_add(&b).unwrap_or(if b < Duration::zero() {
        Duration::MIN
    } else {
        Duration::MAX
    })
}

/// `d` times `factor`, to the millisecond, saturating like [`days`]. (chrono's own
/// `checked_mul` lets a product past `Duration::MAX` through.)
pub fn scaled(d: Duration, factor: i32) -> Duration {
    let limit = i128::from(i64::MAX);
    let product = i128::from(d.num_milliseconds()) * i128::from(factor);
    let clamped = i64::try_from(product.clamp(-limit, limit)).unwrap_or(i64::MAX);
    Duration::try_milliseconds(clamped).unwrap_or(Duration::MAX)
}

/// The mean of `a` and `b`, to the nanosecond, never overflowing.
pub fn midpoint(a: Duration, b: Duration) -> Duration {
    let half = |d: Duration| d.checked_div(2).unwrap_or(d);
    sum(half(a), half(b))
}

/// How long from `earlier` to `later` (negative if `later` comes first). Total: the span of
/// chrono's whole range fits a [`Duration`].
pub fn between(earlier: DateTime<Utc>, later: DateTime<Utc>) -> Duration {
    later.signed_duration_since(earlier)
}

fn negated(d: Duration) -> Duration {
    Duration::zero().checked_sub(&d).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn instant(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn shifting_within_range_is_ordinary_arithmetic() {
        let t = instant("2026-12-01T12:00:00Z");
        assert_eq!(t.plus(days(1)), instant("2026-12-02T12:00:00Z"));
        assert_eq!(t.minus(hours(13)), instant("2026-11-30T23:00:00Z"));
        let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(
            d.minus(days(1)),
            NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        );
    }

    #[test]
    fn shifting_past_the_edge_of_time_stops_at_the_edge() {
        assert_eq!(NaiveDate::MIN.minus(days(1)), NaiveDate::MIN);
        assert_eq!(NaiveDate::MAX.plus(days(1)), NaiveDate::MAX);
        assert_eq!(
            DateTime::<Utc>::MIN_UTC.minus(days(400)),
            DateTime::<Utc>::MIN_UTC
        );
        assert_eq!(
            DateTime::<Utc>::MAX_UTC.plus(Duration::MAX),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(NaiveDateTime::MAX.plus(minutes(1)), NaiveDateTime::MAX);
        assert_eq!(NaiveDateTime::MIN.minus(hours(1)), NaiveDateTime::MIN);
    }

    #[test]
    fn durations_too_long_for_chrono_saturate() {
        assert_eq!(days(i64::MAX), Duration::MAX);
        assert_eq!(days(i64::MIN), Duration::MIN);
        assert_eq!(scaled(Duration::MAX, 2), Duration::MAX);
        assert_eq!(scaled(Duration::MAX, -2), Duration::MIN);
        assert_eq!(sum(Duration::MAX, days(1)), Duration::MAX);
        assert_eq!(midpoint(Duration::MAX, Duration::MAX), Duration::MAX);
        assert_eq!(midpoint(days(10), days(15)), Duration::hours(300));
        assert_eq!(
            midpoint(Duration::milliseconds(1), Duration::milliseconds(1)),
            Duration::milliseconds(1)
        );
        assert_eq!(
            midpoint(Duration::milliseconds(3), Duration::milliseconds(5)),
            Duration::milliseconds(4)
        );
    }

    proptest! {
        #[test]
        fn no_shift_of_any_instant_by_any_duration_panics(
            secs in i64::MIN..i64::MAX,
            by in i64::MIN..i64::MAX,
        ) {
            let t = DateTime::<Utc>::from_timestamp(secs % 8_000_000_000_000, 0)
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            let by = Duration::milliseconds(by / 2);
            let _ = t.plus(by).minus(by);
            let _ = t.date_naive().plus(by).minus(by);
            let _ = t.naive_utc().plus(by).minus(by);
            let _ = (scaled(by, 3), sum(by, by), midpoint(by, by), between(t, t.plus(by)));
        }
    }
}
