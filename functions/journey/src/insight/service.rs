//! The shop's service metrics, from counts that can be kept as sums (so an aggregate item holds
//! them at a fixed size, however many customers there are):
//!
//! - the ratings histogram (how many answers gave 1 to 5);
//! - CSAT: the share of ratings that are 4 or 5;
//! - an NPS-style score from the 5-point scale: 5 is a promoter, 4 passive, 1 to 3 a detractor;
//!   the score is the percentage of promoters minus the percentage of detractors (−100 to 100);
//! - time to resolution, counted in [`RESOLUTION_BUCKETS`], with its median and 90th
//!   percentile read as the bucket they fall in ("resolved within 8 hours");
//! - the first-contact-resolution proxy: the share of resolved issues with no second complaint
//!   from the customer within [`FCR_WINDOW_DAYS`] days of the resolution.

use chrono::Duration;
use serde::Serialize;

/// Days after a resolution in which a second complaint means it was not resolved at the first
/// contact.
pub const FCR_WINDOW_DAYS: i64 = 14;

/// The upper ends of the time-to-resolution buckets, in hours; a last, open bucket takes what
/// is longer than the last of them.
pub const RESOLUTION_BUCKETS: [i64; 10] = [1, 2, 4, 8, 24, 48, 72, 168, 336, 720];

/// How many ratings gave each score: `counts[0]` are the 1s, `counts[4]` the 5s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RatingsHistogram {
    /// Answers per score, 1 to 5.
    pub counts: [u64; 5],
}

impl RatingsHistogram {
    /// All answers.
    pub fn total(&self) -> u64 {
        self.counts.iter().fold(0, |sum, n| sum.saturating_add(*n))
    }

    /// The share of 4s and 5s, `None` with no answers.
    pub fn csat(&self) -> Option<f64> {
        let happy = self.counts[3].saturating_add(self.counts[4]);
        share(happy, self.total())
    }

    /// The percentage of 5s minus the percentage of 1s to 3s, `None` with no answers.
    pub fn nps(&self) -> Option<f64> {
        let detractors = self.counts[..3]
            .iter()
            .fold(0u64, |sum, n| sum.saturating_add(*n));
        let promoters = share(self.counts[4], self.total())?;
        let detractors = share(detractors, self.total())?;
        Some((promoters - detractors) * 100.0)
    }
}

/// Times to resolution, counted per bucket of [`RESOLUTION_BUCKETS`] (and one more for longer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ResolutionTimes {
    /// Issues resolved per bucket.
    pub counts: [u64; RESOLUTION_BUCKETS.len() + 1],
}

/// Where a percentile of the times to resolution falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Within {
    /// Within this many hours.
    Hours(i64),
    /// Longer than the last bucket.
    Longer(i64),
}

impl ResolutionTimes {
    /// The bucket a resolution that took `took` falls in.
    pub fn bucket_of(took: Duration) -> usize {
        let hours = took.num_minutes().max(0).div_euclid(60);
        let exact = took.num_minutes().rem_euclid(60) == 0;
        RESOLUTION_BUCKETS
            .iter()
            .position(|limit| hours < *limit || (hours == *limit && exact))
            .unwrap_or(RESOLUTION_BUCKETS.len())
    }

    /// Counts one resolution that took `took`.
    pub fn record(&mut self, took: Duration) {
        let bucket = Self::bucket_of(took);
        if let Some(count) = self.counts.get_mut(bucket) {
            *count = count.saturating_add(1);
        }
    }

    /// The bucket the `percent`th percentile (1 to 100) falls in, `None` with no resolutions:
    /// the smallest bucket holding at least `percent` % of them.
    pub fn percentile(&self, percent: u8) -> Option<Within> {
        let total = self
            .counts
            .iter()
            .fold(0u64, |sum, n| sum.saturating_add(*n));
        if total == 0 {
            return None;
        }
        // The rank of the percentile: ceil(total × percent / 100), at least 1.
        let rank = total
            .saturating_mul(u64::from(percent.clamp(1, 100)))
            .div_ceil(100)
            .max(1);
        let mut seen = 0u64;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen = seen.saturating_add(*count);
            if seen >= rank {
                return Some(match RESOLUTION_BUCKETS.get(bucket) {
                    Some(hours) => Within::Hours(*hours),
                    None => Within::Longer(RESOLUTION_BUCKETS[RESOLUTION_BUCKETS.len() - 1]),
                });
            }
        }
        None
    }

    /// The median's bucket.
    pub fn median(&self) -> Option<Within> {
        self.percentile(50)
    }

    /// The 90th percentile's bucket.
    pub fn p90(&self) -> Option<Within> {
        self.percentile(90)
    }
}

/// Resolved issues, and how many of them had no second complaint within [`FCR_WINDOW_DAYS`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FirstContactResolution {
    /// Issues resolved whose window has passed.
    pub resolved: u64,
    /// Of them, those the customer did not complain about again within the window.
    pub held: u64,
}

impl FirstContactResolution {
    /// The share that held, `None` with no resolved issues.
    pub fn rate(&self) -> Option<f64> {
        share(self.held, self.resolved)
    }
}

/// `part` of `whole` as a fraction, `None` when `whole` is 0.
fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csat_is_the_share_of_fours_and_fives() {
        let ratings = RatingsHistogram {
            counts: [1, 1, 2, 3, 3],
        };
        assert_eq!(ratings.total(), 10);
        assert_eq!(ratings.csat(), Some(0.6));
    }

    #[test]
    fn the_nps_style_score_counts_fives_as_promoters_and_ones_to_threes_as_detractors() {
        let ratings = RatingsHistogram {
            counts: [1, 1, 2, 3, 3],
        };
        // 30 % promoters, 40 % detractors; the 4s are passive.
        let nps = ratings.nps().unwrap();
        assert!((nps - -10.0).abs() < 1e-9, "{nps}");
        let all_fives = RatingsHistogram {
            counts: [0, 0, 0, 0, 7],
        };
        assert_eq!(all_fives.nps(), Some(100.0));
    }

    #[test]
    fn no_answers_give_no_score_rather_than_zero() {
        let none = RatingsHistogram::default();
        assert_eq!((none.csat(), none.nps()), (None, None));
        assert_eq!(FirstContactResolution::default().rate(), None);
        assert_eq!(ResolutionTimes::default().median(), None);
    }

    #[test]
    fn a_resolution_on_a_buckets_upper_end_falls_in_that_bucket() {
        assert_eq!(ResolutionTimes::bucket_of(Duration::minutes(30)), 0);
        assert_eq!(ResolutionTimes::bucket_of(Duration::hours(1)), 0);
        assert_eq!(
            ResolutionTimes::bucket_of(Duration::hours(1) + Duration::minutes(1)),
            1
        );
        assert_eq!(ResolutionTimes::bucket_of(Duration::hours(24)), 4);
        assert_eq!(
            ResolutionTimes::bucket_of(Duration::days(31)),
            RESOLUTION_BUCKETS.len()
        );
    }

    #[test]
    fn the_median_and_p90_are_read_as_the_bucket_they_fall_in() {
        let mut times = ResolutionTimes::default();
        for hours in [1, 3, 3, 5, 6, 7, 20, 30, 50, 400] {
            times.record(Duration::hours(hours));
        }
        // Ranks 5 (of 10) and 9: the 5th is 6 hours (within 8), the 9th 50 hours (within 72).
        assert_eq!(times.median(), Some(Within::Hours(8)));
        assert_eq!(times.p90(), Some(Within::Hours(72)));
        assert_eq!(times.percentile(100), Some(Within::Hours(720)));
        times.record(Duration::days(40));
        assert_eq!(times.percentile(100), Some(Within::Longer(720)));
    }

    #[test]
    fn the_first_contact_resolution_rate_is_the_share_of_resolutions_that_held() {
        let fcr = FirstContactResolution {
            resolved: 8,
            held: 6,
        };
        assert_eq!(fcr.rate(), Some(0.75));
    }
}
