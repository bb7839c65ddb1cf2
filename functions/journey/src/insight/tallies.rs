//! What an order adds to the shop's aggregates, so that they can be kept up to date change by
//! change (from the table's stream) instead of by reading every customer.
//!
//! An order *contributes* a fixed set of tallies, a pure function of the order as stored: one
//! conversion and its revenue per attributed kind and group, on the day it was placed, unless
//! it is cancelled; and its rating's score, on the day of the first answer. A change of the
//! order adds the difference between what the new and the old image contribute, so a
//! cancellation takes its conversion back, a changed score moves from one bar of the
//! histogram to another, and a change that touches none of it adds nothing. Applied once per
//! change, in any order of customers, the sums are the contributions of every order as it
//! stands.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use chrono::{Datelike, Duration, NaiveDate};

use crate::message::MessageKind;
use crate::money::{Currency, Money};
use crate::order::Order;
use crate::profile::{Profile, TouchBy};

use super::service::{ResolutionTimes, FCR_WINDOW_DAYS, RESOLUTION_BUCKETS};

/// Which group of a kind an attributed order came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// The customer was sent the message.
    Treated,
    /// The customer was held out of it.
    Holdout,
}

impl Group {
    /// The group a touch belongs to.
    pub fn of(touch: &TouchBy) -> Self {
        match touch {
            TouchBy::Treated { .. } => Group::Treated,
            TouchBy::Holdout { .. } => Group::Holdout,
        }
    }
}

/// One measure the aggregates sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "measure", rename_all = "snake_case")]
pub enum Measure {
    /// Orders attributed to a kind's touch, per group.
    Conversions {
        /// The kind.
        kind: MessageKind,
        /// The group.
        group: Group,
    },
    /// Their totals in one currency, in its minor units (cents).
    Revenue {
        /// The kind.
        kind: MessageKind,
        /// The group.
        group: Group,
        /// The currency.
        currency: Currency,
    },
    /// Ratings of one score (1 to 5).
    Rating {
        /// The score.
        score: u8,
    },
    /// Issues opened (an unhappy answer), on the day they opened.
    IssuesOpened,
    /// Issues resolved, on the day they were resolved.
    IssuesResolved,
    /// Issues resolved within one bucket of [`RESOLUTION_BUCKETS`] (the index; one past the
    /// last for longer), on the day they were resolved.
    ResolutionTime {
        /// The bucket.
        bucket: u8,
    },
    /// Resolutions followed by another complaint of the customer within [`FCR_WINDOW_DAYS`],
    /// on the day of the resolution: the first-contact-resolution misses.
    Reopened,
    /// Customers whose first order fell in the month (the day is its first).
    CohortCustomers,
    /// Of them, those whose second order came within `days` of the first.
    CohortRepeat {
        /// 30, 90 or 180.
        days: u16,
    },
    /// Their orders (cancelled ones included).
    CohortOrders,
    /// What they spent in one currency (cancelled orders taken out), in its minor units.
    CohortRevenue {
        /// The currency.
        currency: Currency,
    },
}

/// The repeat windows of a cohort, in days.
pub const REPEAT_WINDOWS: [u16; 3] = [30, 90, 180];

/// An amount to add to one measure of one day (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// The day it counts on.
    pub day: NaiveDate,
    /// What it counts.
    pub measure: Measure,
    /// How much to add (negative to take back).
    pub add: i64,
}

/// Amounts per day and measure.
pub type Sums = BTreeMap<(NaiveDate, Measure), i64>;

/// What `order`, as stored, contributes to the aggregates.
pub fn contribution(order: &Order) -> Sums {
    let mut tallies = BTreeMap::new();
    let mut add = |day: NaiveDate, measure: Measure, amount: i64| {
        let sum: &mut i64 = tallies.entry((day, measure)).or_default();
        *sum = sum.saturating_add(amount);
    };
    let placed = order.placed_at.date_naive();
    for attribution in order.conversions() {
        let group = Group::of(&attribution.by);
        let kind = attribution.kind;
        add(placed, Measure::Conversions { kind, group }, 1);
        if let Some(total) = order.total {
            let currency = total.currency;
            add(
                placed,
                Measure::Revenue {
                    kind,
                    group,
                    currency,
                },
                minor_units(total),
            );
        }
    }
    if let Some(rating) = &order.rating {
        let score = rating.score.get();
        add(rating.first_at.date_naive(), Measure::Rating { score }, 1);
    }
    tallies
}

/// What a change of an order from `old` to `new` adds to the aggregates: `new`'s contribution
/// less `old`'s, without the measures it leaves alone. An order written for the first time has
/// no `old`; an order removed (`new` is `None`) takes nothing back, since what happened still
/// happened.
pub fn order_change(old: Option<&Order>, new: Option<&Order>) -> Vec<Tally> {
    let Some(new) = new else {
        return Vec::new();
    };
    tallies(difference(contribution(new), old.map(contribution)))
}

/// `new` less `old`, key by key.
fn difference(mut new: Sums, old: Option<Sums>) -> Sums {
    for (key, amount) in old.unwrap_or_default() {
        let sum = new.entry(key).or_default();
        *sum = sum.saturating_sub(amount);
    }
    new
}

/// The sums that are not zero, as tallies.
fn tallies(sums: Sums) -> Vec<Tally> {
    sums.into_iter()
        .filter(|(_, add)| *add != 0)
        .map(|((day, measure), add)| Tally { day, measure, add })
        .collect()
}

/// What a customer's profile, as stored, contributes to its cohort: the month of its first
/// order. Nothing before a first order.
pub fn cohort_contribution(profile: &Profile) -> Sums {
    let mut tallies = BTreeMap::new();
    let Some(first) = profile.first_order_at else {
        return tallies;
    };
    let month = first.date_naive().with_day(1).unwrap_or(first.date_naive());
    tallies.insert((month, Measure::CohortCustomers), 1);
    tallies.insert(
        (month, Measure::CohortOrders),
        i64::from(profile.orders_count),
    );
    for days in REPEAT_WINDOWS {
        let repeated = second_order_at(profile).is_some_and(|second| {
            second.signed_duration_since(first) <= Duration::days(i64::from(days))
        });
        if repeated {
            tallies.insert((month, Measure::CohortRepeat { days }), 1);
        }
    }
    for (currency, amount) in &profile.spent {
        let spent = minor_units(Money {
            amount: *amount,
            currency: *currency,
        });
        tallies.insert(
            (
                month,
                Measure::CohortRevenue {
                    currency: *currency,
                },
            ),
            spent,
        );
    }
    tallies
}

/// When the customer's second order was placed: as recorded, or for a record written before
/// it was, the second of the order times it keeps while it keeps them all.
fn second_order_at(profile: &Profile) -> Option<chrono::DateTime<chrono::Utc>> {
    let all_kept =
        usize::try_from(profile.orders_count).is_ok_and(|count| count <= Profile::ORDER_TIMES_KEPT);
    profile.second_order_at.or_else(|| {
        all_kept
            .then(|| profile.order_times.get(1).copied())
            .flatten()
    })
}

/// What a change of a profile from `old` to `new` adds to the aggregates: its cohort's
/// difference (as [`order_change`] does for orders), an issue newly opened, each issue newly
/// resolved with its time to resolution, and a first-contact-resolution miss when the issue
/// opened came within [`FCR_WINDOW_DAYS`] of the customer's last resolution. A profile removed
/// takes nothing back.
pub fn profile_change(old: Option<&Profile>, new: Option<&Profile>) -> Vec<Tally> {
    let Some(new) = new else {
        return Vec::new();
    };
    let mut change = difference(cohort_contribution(new), old.map(cohort_contribution));
    let mut add = |day: NaiveDate, measure: Measure| {
        let sum = change.entry((day, measure)).or_default();
        *sum = sum.saturating_add(1);
    };
    let was_open = old.and_then(|o| o.open_issue.as_ref());
    if let Some(issue) = &new.open_issue {
        if was_open.is_none_or(|before| before.opened_at != issue.opened_at) {
            add(issue.opened_at.date_naive(), Measure::IssuesOpened);
            let window = Duration::days(FCR_WINDOW_DAYS);
            let last = new.resolved_issues.iter().map(|r| r.resolved_at).max();
            if let Some(resolved) = last.filter(|at| {
                *at <= issue.opened_at && issue.opened_at.signed_duration_since(*at) <= window
            }) {
                add(resolved.date_naive(), Measure::Reopened);
            }
        }
    }
    let known = |r: &crate::profile::ResolvedIssue| {
        old.is_some_and(|o| {
            o.resolved_issues
                .iter()
                .any(|k| k.order_id == r.order_id && k.opened_at == r.opened_at)
        })
    };
    for resolved in new.resolved_issues.iter().filter(|r| !known(r)) {
        let day = resolved.resolved_at.date_naive();
        add(day, Measure::IssuesResolved);
        let took = Duration::seconds(resolved.seconds_to_resolution);
        let bucket = u8::try_from(ResolutionTimes::bucket_of(took)).unwrap_or(u8::MAX);
        add(day, Measure::ResolutionTime { bucket });
    }
    tallies(change)
}

/// The resolution-time buckets a [`Measure::ResolutionTime`] may name.
pub const RESOLUTION_TIME_BUCKETS: usize = RESOLUTION_BUCKETS.len() + 1;

/// `money` in its currency's minor units (12.50 USD is 1250), saturating at the ends of i64.
fn minor_units(money: Money) -> i64 {
    let scale = Decimal::from(10u64.saturating_pow(money.currency.minor_units()));
    money
        .amount
        .value()
        .checked_mul(scale)
        .map(|cents| cents.round())
        .and_then(|cents| i64::try_from(cents).ok())
        .unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CustomerId, OrderId};
    use crate::message::MessageId;
    use crate::money::Amount;
    use crate::order::Attribution;
    use crate::profile::{Rating, Score};
    use crate::status::OrderStatus;
    use chrono::{DateTime, Utc};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn attributed_order() -> Order {
        let customer = CustomerId::parse("cus-1").unwrap();
        Order {
            order_id: OrderId::parse("A-2").unwrap(),
            sequence: 2,
            status: OrderStatus::Placed,
            reached: OrderStatus::Placed,
            placed_at: at("2026-12-20T23:30:00Z"),
            updated_at: at("2026-12-20T23:30:00Z"),
            items: Vec::new(),
            total: Some(Money {
                amount: Amount::parse("43.50").unwrap(),
                currency: usd(),
            }),
            delivery: None,
            delay: None,
            cancellation: None,
            timeline: Vec::new(),
            rating: None,
            attribution: vec![
                Attribution {
                    kind: MessageKind::RepurchaseReminder,
                    by: TouchBy::Treated {
                        message_id: MessageId::derive(
                            &customer,
                            "x",
                            MessageKind::RepurchaseReminder,
                        ),
                    },
                    touched_at: at("2026-12-15T10:00:00Z"),
                    days_since: 5,
                },
                Attribution {
                    kind: MessageKind::Reactivation,
                    by: TouchBy::Holdout {
                        decision: "reactivation#1".into(),
                    },
                    touched_at: at("2026-12-01T10:00:00Z"),
                    days_since: 19,
                },
            ],
        }
    }

    fn tally(measure: Measure, add: i64) -> Tally {
        Tally {
            day: day("2026-12-20"),
            measure,
            add,
        }
    }

    #[test]
    fn a_new_attributed_order_adds_a_conversion_and_its_revenue_per_kind_and_group_on_its_day() {
        let order = attributed_order();
        let change = order_change(None, Some(&order));
        let repurchase = MessageKind::RepurchaseReminder;
        let reactivation = MessageKind::Reactivation;
        assert_eq!(
            change,
            [
                tally(
                    Measure::Conversions {
                        kind: repurchase,
                        group: Group::Treated
                    },
                    1
                ),
                tally(
                    Measure::Conversions {
                        kind: reactivation,
                        group: Group::Holdout
                    },
                    1
                ),
                tally(
                    Measure::Revenue {
                        kind: repurchase,
                        group: Group::Treated,
                        currency: usd()
                    },
                    4350
                ),
                tally(
                    Measure::Revenue {
                        kind: reactivation,
                        group: Group::Holdout,
                        currency: usd()
                    },
                    4350
                ),
            ]
        );
    }

    #[test]
    fn a_change_that_touches_no_measure_adds_nothing() {
        let old = attributed_order();
        let mut new = old.clone();
        new.status = OrderStatus::Shipped;
        new.updated_at = at("2026-12-22T10:00:00Z");
        assert!(order_change(Some(&old), Some(&new)).is_empty());
    }

    #[test]
    fn a_cancellation_takes_the_conversions_and_their_revenue_back() {
        let old = attributed_order();
        let mut new = old.clone();
        new.status = OrderStatus::Cancelled;
        let change = order_change(Some(&old), Some(&new));
        assert_eq!(change.len(), 4);
        assert!(change.iter().all(|t| t.add < 0), "{change:?}");
        let mut total = contribution(&old);
        for t in change {
            *total.entry((t.day, t.measure)).or_default() += t.add;
        }
        assert!(total.values().all(|sum| *sum == 0), "{total:?}");
    }

    #[test]
    fn a_changed_score_moves_from_one_bar_to_another_on_the_day_of_the_first_answer() {
        let mut old = attributed_order();
        old.attribution.clear();
        old.rating = Some(Rating {
            score: Score::new(2).unwrap(),
            comment: None,
            first_at: at("2026-12-24T08:00:00Z"),
            updated_at: at("2026-12-24T08:00:00Z"),
        });
        let first = order_change(None, Some(&old));
        assert_eq!(
            first,
            [Tally {
                day: day("2026-12-24"),
                measure: Measure::Rating { score: 2 },
                add: 1
            }]
        );
        let mut new = old.clone();
        if let Some(rating) = new.rating.as_mut() {
            rating.score = Score::new(5).unwrap();
            rating.updated_at = at("2026-12-26T08:00:00Z");
        }
        let moved = order_change(Some(&old), Some(&new));
        assert_eq!(
            moved.iter().map(|t| (t.measure, t.add)).collect::<Vec<_>>(),
            [
                (Measure::Rating { score: 2 }, -1),
                (Measure::Rating { score: 5 }, 1)
            ]
        );
        assert!(moved.iter().all(|t| t.day == day("2026-12-24")));
    }

    #[test]
    fn an_order_removed_takes_nothing_back() {
        let order = attributed_order();
        assert!(order_change(Some(&order), None).is_empty());
    }

    #[test]
    fn revenue_is_counted_in_the_currencys_minor_units() {
        let yen = Money {
            amount: Amount::parse("1200").unwrap(),
            currency: Currency::parse("JPY").unwrap(),
        };
        let dinar = Money {
            amount: Amount::parse("1.250").unwrap(),
            currency: Currency::parse("KWD").unwrap(),
        };
        assert_eq!((minor_units(yen), minor_units(dinar)), (1200, 1250));
    }

    fn customer() -> Profile {
        let details: crate::event::CustomerDetails = serde_json::from_value(serde_json::json!({
            "id": "cus-1", "email": "anna@example.com", "locale": "en-GB",
            "time_zone": "Europe/London"
        }))
        .unwrap();
        Profile::new(&details, at("2026-01-01T00:00:00Z"))
    }

    fn ordered(profile: &Profile, when: &str, total: &str) -> Profile {
        let mut next = profile.clone();
        let now = at(when);
        next.second_order_at = match next.first_order_at {
            None => None,
            Some(_) => Some(next.second_order_at.map_or(now, |s| s.min(now))),
        };
        next.first_order_at = Some(next.first_order_at.map_or(now, |f| f.min(now)));
        next.orders_count += 1;
        let spent = next
            .spent
            .entry(usd())
            .or_insert(Amount::parse("0").unwrap());
        *spent =
            Amount::from_decimal(spent.value() + Amount::parse(total).unwrap().value()).unwrap();
        next
    }

    fn measures(change: &[Tally]) -> Vec<(NaiveDate, Measure, i64)> {
        change.iter().map(|t| (t.day, t.measure, t.add)).collect()
    }

    #[test]
    fn a_first_order_puts_the_customer_in_the_cohort_of_its_month() {
        let first = ordered(&customer(), "2026-03-17T10:00:00Z", "40.00");
        let march = day("2026-03-01");
        assert_eq!(
            measures(&profile_change(Some(&customer()), Some(&first))),
            [
                (march, Measure::CohortCustomers, 1),
                (march, Measure::CohortOrders, 1),
                (march, Measure::CohortRevenue { currency: usd() }, 4000),
            ]
        );
    }

    #[test]
    fn a_second_order_within_thirty_days_counts_as_a_repeat_in_every_window() {
        let first = ordered(&customer(), "2026-03-17T10:00:00Z", "40.00");
        let second = ordered(&first, "2026-04-10T10:00:00Z", "10.00");
        let march = day("2026-03-01");
        assert_eq!(
            measures(&profile_change(Some(&first), Some(&second))),
            [
                (march, Measure::CohortRepeat { days: 30 }, 1),
                (march, Measure::CohortRepeat { days: 90 }, 1),
                (march, Measure::CohortRepeat { days: 180 }, 1),
                (march, Measure::CohortOrders, 1),
                (march, Measure::CohortRevenue { currency: usd() }, 1000),
            ]
        );
        let late = ordered(&first, "2026-06-30T10:00:00Z", "10.00");
        let windows: Vec<Measure> = profile_change(Some(&first), Some(&late))
            .iter()
            .map(|t| t.measure)
            .filter(|m| matches!(m, Measure::CohortRepeat { .. }))
            .collect();
        assert_eq!(windows, [Measure::CohortRepeat { days: 180 }]);
    }

    #[test]
    fn a_record_written_before_the_second_order_time_was_kept_reads_it_from_its_order_times() {
        let mut old_record = ordered(&customer(), "2026-03-17T10:00:00Z", "40.00");
        old_record.orders_count = 2;
        old_record.order_times = vec![at("2026-03-17T10:00:00Z"), at("2026-03-20T10:00:00Z")];
        let repeats = cohort_contribution(&old_record)
            .into_keys()
            .filter(|(_, m)| matches!(m, Measure::CohortRepeat { .. }))
            .count();
        assert_eq!(repeats, 3);
    }

    #[test]
    fn an_earlier_first_order_arriving_late_moves_the_customer_to_its_month() {
        let april = ordered(&customer(), "2026-04-10T10:00:00Z", "10.00");
        let march_too = ordered(&april, "2026-03-30T10:00:00Z", "10.00");
        let change = profile_change(Some(&april), Some(&march_too));
        assert!(change.contains(&Tally {
            day: day("2026-04-01"),
            measure: Measure::CohortCustomers,
            add: -1
        }));
        assert!(change.contains(&Tally {
            day: day("2026-03-01"),
            measure: Measure::CohortCustomers,
            add: 1
        }));
    }

    fn with_open_issue(profile: &Profile, opened: &str) -> Profile {
        let mut next = profile.clone();
        next.open_issue = Some(crate::profile::OpenIssue {
            order_id: OrderId::parse("A-1").unwrap(),
            opened_at: at(opened),
            score: Score::new(1).unwrap(),
            comment: None,
        });
        next
    }

    fn resolved(profile: &Profile, at_text: &str) -> Profile {
        let mut next = profile.clone();
        let issue = next.open_issue.take().unwrap();
        next.resolved_issues.push(crate::profile::ResolvedIssue {
            order_id: issue.order_id,
            opened_at: issue.opened_at,
            resolved_at: at(at_text),
            seconds_to_resolution: at(at_text)
                .signed_duration_since(issue.opened_at)
                .num_seconds(),
        });
        next
    }

    #[test]
    fn an_issue_counts_once_when_it_opens_and_once_with_its_time_when_it_is_resolved() {
        let base = ordered(&customer(), "2026-03-17T10:00:00Z", "40.00");
        let open = with_open_issue(&base, "2026-03-25T09:00:00Z");
        assert_eq!(
            measures(&profile_change(Some(&base), Some(&open))),
            [(day("2026-03-25"), Measure::IssuesOpened, 1)]
        );
        assert!(profile_change(Some(&open), Some(&open)).is_empty());
        let done = resolved(&open, "2026-03-25T14:30:00Z");
        assert_eq!(
            measures(&profile_change(Some(&open), Some(&done))),
            [
                (day("2026-03-25"), Measure::IssuesResolved, 1),
                (day("2026-03-25"), Measure::ResolutionTime { bucket: 3 }, 1),
            ],
            "five and a half hours is within 8"
        );
    }

    #[test]
    fn a_complaint_within_fourteen_days_of_a_resolution_is_a_miss_of_that_resolution() {
        let base = ordered(&customer(), "2026-03-17T10:00:00Z", "40.00");
        let done = resolved(
            &with_open_issue(&base, "2026-03-25T09:00:00Z"),
            "2026-03-26T09:00:00Z",
        );
        let again = with_open_issue(&done, "2026-04-08T09:00:00Z");
        assert!(
            measures(&profile_change(Some(&done), Some(&again))).contains(&(
                day("2026-03-26"),
                Measure::Reopened,
                1
            ))
        );
        let much_later = with_open_issue(&done, "2026-04-10T09:00:00Z");
        assert!(!profile_change(Some(&done), Some(&much_later))
            .iter()
            .any(|t| t.measure == Measure::Reopened));
    }

    #[test]
    fn a_profile_removed_takes_nothing_back() {
        let first = ordered(&customer(), "2026-03-17T10:00:00Z", "40.00");
        assert!(profile_change(Some(&first), None).is_empty());
    }
}
