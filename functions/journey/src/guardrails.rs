//! The guardrails every non-urgent message passes: quiet hours in the customer's own time zone,
//! frequency caps, consent, and holdout groups. Each is a plain function of its inputs and
//! `now`; none of them drops a message: they say when it may go, or why it may not.

use crate::time_shift::{days, minutes, Shift};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::contact::CustomerTimeZone;
use crate::ids::CustomerId;
use crate::message::MessageKind;

/// Hours of the customer's day in which nothing but urgent news is sent. `start` may be later
/// than `end` (21:00–09:00 wraps midnight). Equal `start` and `end` mean no quiet hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// When quiet begins, local time.
    pub start: NaiveTime,
    /// When it ends, local time: the first allowed minute.
    pub end: NaiveTime,
}

impl Default for QuietHours {
    /// 21:00 to 09:00.
    fn default() -> Self {
        Self {
            start: hm(21, 0),
            end: hm(9, 0),
        }
    }
}

fn hm(hour: u32, minute: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN)
}

/// The instant a local wall-clock time happens in `zone`. A time skipped by a daylight-saving
/// change is moved forward to the first minute that exists; a repeated one takes its first
/// occurrence.
pub fn local_instant(zone: CustomerTimeZone, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let tz = zone.tz();
    let mut naive = date.and_time(time);
    for _ in 0..180 {
        if let Some(instant) = tz.from_local_datetime(&naive).earliest() {
            return instant.with_timezone(&Utc);
        }
        naive = naive.plus(minutes(1));
    }
    // No zone has a gap longer than three hours; fall back to reading the time as UTC.
    Utc.from_utc_datetime(&date.and_time(time))
}

impl QuietHours {
    /// Whether `now` falls in the quiet hours of `zone`.
    pub fn contains(&self, now: DateTime<Utc>, zone: CustomerTimeZone) -> bool {
        let local = zone.local(now).time();
        match self.start.cmp(&self.end) {
            std::cmp::Ordering::Equal => false,
            std::cmp::Ordering::Less => local >= self.start && local < self.end,
            std::cmp::Ordering::Greater => local >= self.start || local < self.end,
        }
    }

    /// `now` if it is outside the quiet hours, otherwise the next instant they end.
    pub fn next_allowed(&self, now: DateTime<Utc>, zone: CustomerTimeZone) -> DateTime<Utc> {
        if !self.contains(now, zone) {
            return now;
        }
        let today = zone.local(now).date_naive();
        [today, today.plus(days(1))]
            .into_iter()
            .map(|day| local_instant(zone, day, self.end))
            .find(|end| *end > now)
            .unwrap_or(now)
    }
}

/// How many non-transactional messages a customer may receive: at most `per_day` in any 24
/// hours and `per_week` in any 7 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrequencyCap {
    /// Messages in any rolling 24 hours.
    pub per_day: usize,
    /// Messages in any rolling 7 days.
    pub per_week: usize,
}

impl Default for FrequencyCap {
    /// One a day, two a week.
    fn default() -> Self {
        Self {
            per_day: 1,
            per_week: 2,
        }
    }
}

impl FrequencyCap {
    /// `None` if one more message may go at `now` given the send times in `sent`; otherwise the
    /// first instant it may.
    pub fn next_allowed(
        &self,
        sent: &[DateTime<Utc>],
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut earliest: Option<DateTime<Utc>> = None;
        for (limit, window) in [
            (self.per_day, Duration::days(1)),
            (self.per_week, Duration::days(7)),
        ] {
            // A cap of zero is read as one: the configuration refuses zero.
            let limit = limit.max(1);
            let mut inside: Vec<DateTime<Utc>> = sent
                .iter()
                .copied()
                .filter(|t| *t > now.minus(window) && *t <= now)
                .collect();
            if inside.len() < limit {
                continue;
            }
            inside.sort_unstable();
            // The window frees up when the oldest message that keeps it full leaves it.
            let frees_at = inside[inside.len() - limit].plus(window);
            earliest = Some(earliest.map_or(frees_at, |e| e.max(frees_at)));
        }
        earliest
    }
}

/// What a shop requires before sending marketing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentPolicy {
    /// Marketing goes to everyone who has not opted out.
    #[default]
    OptOut,
    /// Marketing goes only to those who opted in.
    OptIn,
}

impl ConsentPolicy {
    /// Whether marketing may go to a customer whose recorded consent is `consent`.
    pub fn allows_marketing(self, consent: Option<bool>) -> bool {
        match self {
            ConsentPolicy::OptOut => consent != Some(false),
            ConsentPolicy::OptIn => consent == Some(true),
        }
    }
}

/// Whether `customer` falls in the holdout group of `kind` at `percent` (0–100). The same
/// customer and kind always give the same answer, and the groups of different kinds are
/// independent.
pub fn is_held_out(customer: &CustomerId, kind: MessageKind, percent: u8) -> bool {
    if percent == 0 {
        return false;
    }
    let digest = Sha256::new()
        .chain_update(b"holdout\0")
        .chain_update(kind.as_str().as_bytes())
        .chain_update([0u8])
        .chain_update(customer.as_str().as_bytes())
        .finalize();
    let bucket = u16::from_be_bytes([digest[0], digest[1]]) % 100;
    bucket < u16::from(percent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> CustomerTimeZone {
        CustomerTimeZone::parse(name).unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn quiet_hours_that_wrap_midnight_defer_to_the_next_morning() {
        let quiet = QuietHours::default();
        let berlin = zone("Europe/Berlin");
        // 22:30 in Berlin (UTC+1 in November): wait until 09:00 the next day.
        assert_eq!(
            quiet.next_allowed(at("2026-11-20T21:30:00Z"), berlin),
            at("2026-11-21T08:00:00Z")
        );
        // 02:00 in Berlin: wait until 09:00 the same day.
        assert_eq!(
            quiet.next_allowed(at("2026-11-21T01:00:00Z"), berlin),
            at("2026-11-21T08:00:00Z")
        );
        // 08:59 is still quiet, 09:00 is not, 20:59 is not, 21:00 is.
        assert!(quiet.contains(at("2026-11-21T07:59:00Z"), berlin));
        assert!(!quiet.contains(at("2026-11-21T08:00:00Z"), berlin));
        assert!(!quiet.contains(at("2026-11-21T19:59:00Z"), berlin));
        assert!(quiet.contains(at("2026-11-21T20:00:00Z"), berlin));
    }

    #[test]
    fn the_same_instant_is_quiet_in_one_zone_and_not_in_another() {
        let quiet = QuietHours::default();
        let instant = at("2026-11-20T05:00:00Z");
        // UTC+5: 10:00, fine. UTC-8: 21:00 the evening before, quiet until 09:00 local.
        assert!(!quiet.contains(instant, zone("Asia/Yekaterinburg")));
        let los_angeles = zone("America/Los_Angeles");
        assert!(quiet.contains(instant, los_angeles));
        assert_eq!(
            quiet.next_allowed(instant, los_angeles),
            at("2026-11-20T17:00:00Z")
        );
    }

    #[test]
    fn quiet_hours_ending_on_a_daylight_saving_change_day_end_at_local_nine() {
        let quiet = QuietHours::default();
        let new_york = zone("America/New_York");
        // Clocks go back on 2026-11-01 at 02:00 EDT. 03:00 EST is quiet; 09:00 EST is 14:00 UTC.
        assert_eq!(
            quiet.next_allowed(at("2026-11-01T08:00:00Z"), new_york),
            at("2026-11-01T14:00:00Z")
        );
        // Clocks go forward on 2026-03-08. 09:00 EDT is 13:00 UTC.
        assert_eq!(
            quiet.next_allowed(at("2026-03-08T07:00:00Z"), new_york),
            at("2026-03-08T13:00:00Z")
        );
    }

    #[test]
    fn a_local_time_skipped_by_daylight_saving_moves_forward() {
        let berlin = zone("Europe/Berlin");
        let day = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        // 02:30 does not exist in Berlin that night; 03:00 CEST (01:00 UTC) does.
        assert_eq!(
            local_instant(berlin, day, hm(2, 30)),
            at("2026-03-29T01:00:00Z")
        );
    }

    #[test]
    fn the_frequency_cap_waits_for_the_day_and_the_week_window() {
        let cap = FrequencyCap::default();
        let now = at("2026-11-20T12:00:00Z");
        assert_eq!(cap.next_allowed(&[], now), None);
        // One 23 hours ago: the day is full until it is 24 hours old.
        let sent = [at("2026-11-19T13:00:00Z")];
        assert_eq!(
            cap.next_allowed(&sent, now),
            Some(at("2026-11-20T13:00:00Z"))
        );
        // Exactly 24 hours ago no longer counts.
        assert_eq!(cap.next_allowed(&[at("2026-11-19T12:00:00Z")], now), None);
        // Two this week (the newer two days ago): the week frees when the older is 7 days old.
        let sent = [at("2026-11-15T09:00:00Z"), at("2026-11-18T09:00:00Z")];
        assert_eq!(
            cap.next_allowed(&sent, now),
            Some(at("2026-11-22T09:00:00Z"))
        );
    }

    #[test]
    fn a_cap_of_zero_never_panics() {
        let cap = FrequencyCap {
            per_day: 0,
            per_week: 0,
        };
        assert_eq!(cap.next_allowed(&[], at("2026-11-20T12:00:00Z")), None);
    }

    #[test]
    fn consent_follows_the_shops_policy() {
        assert!(ConsentPolicy::OptOut.allows_marketing(None));
        assert!(!ConsentPolicy::OptOut.allows_marketing(Some(false)));
        assert!(!ConsentPolicy::OptIn.allows_marketing(None));
        assert!(ConsentPolicy::OptIn.allows_marketing(Some(true)));
    }

    #[test]
    fn holdout_is_deterministic_and_close_to_its_percentage() {
        let ids: Vec<CustomerId> = (0..10_000)
            .map(|i| CustomerId::parse(format!("c-{i}")).unwrap())
            .collect();
        let held = ids
            .iter()
            .filter(|c| is_held_out(c, MessageKind::OrderPlaced, 10))
            .count();
        assert!(
            (900..=1100).contains(&held),
            "{held} of 10000 held out at 10%"
        );
        assert!(ids
            .iter()
            .all(|c| !is_held_out(c, MessageKind::OrderPlaced, 0)));
        assert!(ids
            .iter()
            .all(|c| is_held_out(c, MessageKind::OrderPlaced, 100)));
        assert_eq!(
            is_held_out(&ids[7], MessageKind::OrderPlaced, 50),
            is_held_out(&ids[7], MessageKind::OrderPlaced, 50)
        );
    }
}
