//! Which invocations the schedule believes. Only the scheduled event of the stack's own rule
//! starts a sweep: source `aws.events`, detail-type `Scheduled Event`, the rule's ARN in
//! `resources`; and its `time` is taken as the sweep's now only within [`MAX_SCHEDULE_SKEW`] of
//! the function's own clock, and never ahead of it. Anything else changes nothing and says why,
//! in words that quote nothing the sender wrote.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use aftercare_journey::time_shift::between;

/// How far a scheduled event's `time` may be from the function's clock. EventBridge invokes
/// the function within seconds of the time it stamps; an event further off is a sample, a
/// replay or a late retry, and believing it would move the sweep's checkpoint to its hour.
pub const MAX_SCHEDULE_SKEW: Duration = Duration::minutes(5);

/// The `source` of scheduled events.
pub const SCHEDULED_SOURCE: &str = "aws.events";

/// The `detail-type` of scheduled events.
pub const SCHEDULED_DETAIL_TYPE: &str = "Scheduled Event";

/// Why a scheduled event was not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The payload is not an EventBridge event the function can read.
    #[error("the payload is not an EventBridge event (field `{field}` is missing or not text)")]
    NotAnEvent {
        /// The field at fault.
        field: &'static str,
    },
    /// Its `time` is not an RFC 3339 instant with a four-digit year.
    #[error("its `time` is not an RFC 3339 instant")]
    BadTime,
    /// It was not sent by EventBridge's scheduler.
    #[error("its `source` is not {SCHEDULED_SOURCE:?}")]
    ForeignSource,
    /// It is some other kind of event.
    #[error("its `detail-type` is not {SCHEDULED_DETAIL_TYPE:?}")]
    ForeignDetailType,
    /// It did not come from this stack's schedule rule.
    #[error("its `resources` do not name this stack's schedule rule")]
    ForeignRule,
    /// Its time is too long ago: a late retry or a replayed sample. The next run sweeps from the
    /// checkpoint, so nothing is missed.
    #[error("its `time` is {minutes} minutes before this function's clock (at most {} are believed); the next scheduled run sweeps from the checkpoint", MAX_SCHEDULE_SKEW.num_minutes())]
    TooOld {
        /// How many whole minutes before the clock.
        minutes: i64,
    },
    /// Its time is ahead of the function's clock by more than the skew.
    #[error("its `time` is {minutes} minutes ahead of this function's clock (at most {} are tolerated, and never believed)", MAX_SCHEDULE_SKEW.num_minutes())]
    Ahead {
        /// How many whole minutes ahead.
        minutes: i64,
    },
}

/// The envelope's fields, each as whatever JSON the sender put there.
#[derive(Deserialize)]
struct Envelope {
    source: Option<serde_json::Value>,
    #[serde(rename = "detail-type")]
    detail_type: Option<serde_json::Value>,
    time: Option<serde_json::Value>,
    resources: Option<serde_json::Value>,
}

/// The text at `field`, or the refusal naming it.
fn text<'a>(value: &'a Option<serde_json::Value>, field: &'static str) -> Result<&'a str, Refusal> {
    value
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .ok_or(Refusal::NotAnEvent { field })
}

/// The sweep's now for `event`, given the stack's schedule rule `rule_arn` and the function's
/// own `clock_now`: the event's time, or the clock's if the event is ahead of it within the
/// skew. Refuses every other event.
pub fn accept(
    event: &serde_json::Value,
    rule_arn: &str,
    clock_now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Refusal> {
    let envelope =
        Envelope::deserialize(event).map_err(|_| Refusal::NotAnEvent { field: "body" })?;
    if text(&envelope.source, "source")? != SCHEDULED_SOURCE {
        return Err(Refusal::ForeignSource);
    }
    if text(&envelope.detail_type, "detail-type")? != SCHEDULED_DETAIL_TYPE {
        return Err(Refusal::ForeignDetailType);
    }
    let ours = envelope
        .resources
        .as_ref()
        .and_then(serde_json::Value::as_array)
        .is_some_and(|resources| resources.iter().any(|r| r.as_str() == Some(rule_arn)));
    if !ours {
        return Err(Refusal::ForeignRule);
    }
    let time = DateTime::parse_from_rfc3339(text(&envelope.time, "time")?)
        .map_err(|_| Refusal::BadTime)?
        .with_timezone(&Utc);
    let offset = between(clock_now, time);
    if offset > MAX_SCHEDULE_SKEW {
        return Err(Refusal::Ahead {
            minutes: offset.num_minutes(),
        });
    }
    let lag = between(time, clock_now);
    if lag > MAX_SCHEDULE_SKEW {
        return Err(Refusal::TooOld {
            minutes: lag.num_minutes(),
        });
    }
    Ok(time.min(clock_now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RULE: &str = "arn:aws:events:eu-west-1:111122223333:rule/sweep-4f1c2f3e";

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn scheduled(time: &str, rule: &str) -> serde_json::Value {
        json!({"version": "0", "id": "5d3b6c1e", "detail-type": "Scheduled Event",
               "source": "aws.events", "account": "111122223333", "time": time,
               "region": "eu-west-1", "resources": [rule], "detail": {}})
    }

    #[test]
    fn the_stacks_own_scheduled_event_is_believed_within_the_skew() {
        let clock = at("2026-12-01T12:00:30Z");
        let event = scheduled("2026-12-01T12:00:00Z", RULE);
        assert_eq!(accept(&event, RULE, clock), Ok(at("2026-12-01T12:00:00Z")));
    }

    #[test]
    fn a_time_slightly_ahead_of_the_clock_is_read_as_the_clock() {
        let clock = at("2026-12-01T12:00:00Z");
        let event = scheduled("2026-12-01T12:03:00Z", RULE);
        assert_eq!(accept(&event, RULE, clock), Ok(clock));
    }

    #[test]
    fn the_2015_sample_the_1970_console_template_and_a_time_ten_days_ahead_are_refused() {
        let clock = at("2026-12-01T12:00:00Z");
        // The AWS samples name other rules, and their times are years back.
        let sample = scheduled(
            "2015-10-08T16:53:06Z",
            "arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule",
        );
        assert_eq!(accept(&sample, RULE, clock), Err(Refusal::ForeignRule));
        let template = scheduled("1970-01-01T00:00:00Z", RULE);
        assert!(
            matches!(accept(&template, RULE, clock), Err(Refusal::TooOld { minutes }) if minutes > 29_000_000)
        );
        let sample_at_our_rule = scheduled("2015-10-08T16:53:06Z", RULE);
        assert!(matches!(
            accept(&sample_at_our_rule, RULE, clock),
            Err(Refusal::TooOld { .. })
        ));
        let ahead = scheduled("2026-12-11T12:00:00Z", RULE);
        assert_eq!(
            accept(&ahead, RULE, clock),
            Err(Refusal::Ahead { minutes: 14_400 })
        );
    }

    #[test]
    fn events_of_other_shapes_and_senders_are_refused_without_quoting_them() {
        let clock = at("2026-12-01T12:00:00Z");
        let mut foreign = scheduled("2026-12-01T12:00:00Z", RULE);
        foreign["source"] = json!("emily.carter@example.com");
        let refusal = accept(&foreign, RULE, clock).unwrap_err();
        assert_eq!(refusal, Refusal::ForeignSource);
        assert!(!refusal.to_string().contains("emily"));
        let mut other = scheduled("2026-12-01T12:00:00Z", RULE);
        other["detail-type"] = json!("Order Status Changed");
        assert_eq!(accept(&other, RULE, clock), Err(Refusal::ForeignDetailType));
        let mut no_time = scheduled("2026-12-01T12:00:00Z", RULE);
        no_time["time"] = json!(4155550123u64);
        assert_eq!(
            accept(&no_time, RULE, clock),
            Err(Refusal::NotAnEvent { field: "time" })
        );
        no_time.as_object_mut().unwrap().remove("time");
        assert_eq!(
            accept(&no_time, RULE, clock),
            Err(Refusal::NotAnEvent { field: "time" })
        );
        assert_eq!(
            accept(&json!([1, 2]), RULE, clock),
            Err(Refusal::NotAnEvent { field: "body" })
        );
        let mut extreme = scheduled("2026-12-01T12:00:00Z", RULE);
        extreme["time"] = json!("-262143-01-01T00:00:00Z");
        assert_eq!(accept(&extreme, RULE, clock), Err(Refusal::BadTime));
    }
}
