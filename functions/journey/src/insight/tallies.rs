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

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::message::MessageKind;
use crate::money::{Currency, Money};
use crate::order::Order;
use crate::profile::TouchBy;

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
}

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

/// What `order`, as stored, contributes to the aggregates.
pub fn contribution(order: &Order) -> BTreeMap<(NaiveDate, Measure), i64> {
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
    let mut change = contribution(new);
    for (key, amount) in old.map(contribution).unwrap_or_default() {
        let sum = change.entry(key).or_default();
        *sum = sum.saturating_sub(amount);
    }
    change
        .into_iter()
        .filter(|(_, add)| *add != 0)
        .map(|((day, measure), add)| Tally { day, measure, add })
        .collect()
}

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
}
