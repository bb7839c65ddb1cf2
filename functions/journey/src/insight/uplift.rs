//! Whether a kind of message helps: its treated group (sent the message) against its holdout
//! group (withheld from it on purpose), with honest intervals.
//!
//! - Each group's conversion rate with its 95 % Wilson score interval.
//! - The absolute difference (treated minus holdout) with Newcombe's hybrid score interval
//!   (his method 10, built from the two Wilson intervals), which keeps its coverage near 95 %
//!   for small groups and rates near 0 or 1, where the textbook Wald interval does not.
//! - The relative difference (treated rate over holdout rate, minus one) with the log (Katz)
//!   interval of the rate ratio; it cannot be estimated while either group has no conversion.
//! - Revenue per recipient of each group, per currency.
//!
//! Below [`MIN_RECIPIENTS_PER_GROUP`] recipients in either group the answer is
//! [`Uplift::NotEnoughData`]: an interval from a handful of customers says nothing a shop
//! should act on.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::money::{Amount, Currency};

/// The fewest recipients each group needs before an uplift is reported.
pub const MIN_RECIPIENTS_PER_GROUP: u64 = 100;

/// The standard normal quantile of a two-sided 95 % interval.
const Z_95: f64 = 1.959_963_984_540_054;

/// What one group of a kind's recipients did within the attribution window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroupOutcome {
    /// Customers in the group: sent the message (treated), or withheld from it (holdout).
    pub recipients: u64,
    /// Of them, how many placed an order attributed to it (never more than `recipients`).
    pub conversions: u64,
    /// The attributed orders' totals, per currency (cancelled orders taken out).
    pub revenue: BTreeMap<Currency, Amount>,
}

/// An estimate with its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The point estimate.
    pub value: f64,
    /// The interval's lower end.
    pub low: f64,
    /// The interval's upper end.
    pub high: f64,
}

/// What a kind's holdout shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Uplift {
    /// One group is still smaller than [`MIN_RECIPIENTS_PER_GROUP`].
    NotEnoughData {
        /// Recipients in the treated group so far.
        treated: u64,
        /// Recipients in the holdout group so far.
        holdout: u64,
        /// How many each group needs.
        needed: u64,
    },
    /// Both groups are large enough.
    Measured(Box<Measured>),
}

/// The comparison of a kind's two groups.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measured {
    /// The treated group's conversion rate (Wilson interval).
    pub treated_rate: Estimate,
    /// The holdout group's conversion rate (Wilson interval).
    pub holdout_rate: Estimate,
    /// Treated rate minus holdout rate (Newcombe's interval).
    pub difference: Estimate,
    /// Treated rate over holdout rate, minus one (log interval of the ratio); `None` while
    /// either group has no conversion.
    pub relative: Option<Estimate>,
    /// Revenue per recipient of each group, per currency: (treated, holdout), rounded to the
    /// currency's minor units.
    pub revenue_per_recipient: BTreeMap<Currency, (Decimal, Decimal)>,
}

/// Why an uplift cannot be computed from the counts given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a group counts {conversions} conversions among {recipients} recipients")]
pub struct ImpossibleCounts {
    /// The group's recipients.
    pub recipients: u64,
    /// The group's conversions.
    pub conversions: u64,
}

/// The uplift of a kind whose treated group did `treated` and whose holdout did `holdout`.
/// Fails only on counts that cannot be (more conversions than recipients).
pub fn uplift(treated: &GroupOutcome, holdout: &GroupOutcome) -> Result<Uplift, ImpossibleCounts> {
    for group in [treated, holdout] {
        if group.conversions > group.recipients {
            return Err(ImpossibleCounts {
                recipients: group.recipients,
                conversions: group.conversions,
            });
        }
    }
    if treated.recipients < MIN_RECIPIENTS_PER_GROUP
        || holdout.recipients < MIN_RECIPIENTS_PER_GROUP
    {
        return Ok(Uplift::NotEnoughData {
            treated: treated.recipients,
            holdout: holdout.recipients,
            needed: MIN_RECIPIENTS_PER_GROUP,
        });
    }
    let t = (treated.conversions, treated.recipients);
    let h = (holdout.conversions, holdout.recipients);
    Ok(Uplift::Measured(Box::new(Measured {
        treated_rate: wilson(t.0, t.1),
        holdout_rate: wilson(h.0, h.1),
        difference: newcombe_difference(t, h),
        relative: relative_difference(t, h),
        revenue_per_recipient: revenue_per_recipient(treated, holdout),
    })))
}

/// The Wilson score interval of `successes` out of `trials` (`trials > 0`).
pub fn wilson(successes: u64, trials: u64) -> Estimate {
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = Z_95 * Z_95;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = Z_95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    Estimate {
        value: p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
}

/// Newcombe's hybrid score interval (method 10) of the difference of two proportions, each
/// given as (successes, trials) with trials > 0.
pub fn newcombe_difference(first: (u64, u64), second: (u64, u64)) -> Estimate {
    let a = wilson(first.0, first.1);
    let b = wilson(second.0, second.1);
    let d = a.value - b.value;
    let below = ((a.value - a.low).powi(2) + (b.high - b.value).powi(2)).sqrt();
    let above = ((a.high - a.value).powi(2) + (b.value - b.low).powi(2)).sqrt();
    Estimate {
        value: d,
        low: (d - below).max(-1.0),
        high: (d + above).min(1.0),
    }
}

/// The first proportion over the second, minus one, with the log (Katz) interval of the
/// ratio; `None` when either has no successes.
pub fn relative_difference(first: (u64, u64), second: (u64, u64)) -> Option<Estimate> {
    if first.0 == 0 || second.0 == 0 {
        return None;
    }
    let (x1, n1) = (first.0 as f64, first.1 as f64);
    let (x2, n2) = (second.0 as f64, second.1 as f64);
    let ratio = (x1 / n1) / (x2 / n2);
    let se = (1.0 / x1 - 1.0 / n1 + 1.0 / x2 - 1.0 / n2).sqrt();
    let log = ratio.ln();
    Some(Estimate {
        value: ratio - 1.0,
        low: (log - Z_95 * se).exp() - 1.0,
        high: (log + Z_95 * se).exp() - 1.0,
    })
}

/// Each currency's revenue divided by each group's recipients (both groups non-empty).
fn revenue_per_recipient(
    treated: &GroupOutcome,
    holdout: &GroupOutcome,
) -> BTreeMap<Currency, (Decimal, Decimal)> {
    let per = |group: &GroupOutcome, currency: &Currency| {
        let total = group
            .revenue
            .get(currency)
            .map_or(Decimal::ZERO, |amount| amount.value());
        total
            .checked_div(Decimal::from(group.recipients))
            .unwrap_or(Decimal::ZERO)
            .round_dp(currency.minor_units())
    };
    treated
        .revenue
        .keys()
        .chain(holdout.revenue.keys())
        .map(|currency| (*currency, (per(treated, currency), per(holdout, currency))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 5e-5,
            "{actual} is not {expected} to four places"
        );
    }

    fn group(recipients: u64, conversions: u64) -> GroupOutcome {
        GroupOutcome {
            recipients,
            conversions,
            revenue: BTreeMap::new(),
        }
    }

    // Newcombe (1998), "Interval estimation for the difference between independent
    // proportions", Statistics in Medicine 17, table II, method 10.
    #[test]
    fn the_difference_interval_matches_newcombes_published_examples() {
        let cases = [
            ((56, 70), (48, 80), 0.0524, 0.3339),
            ((9, 10), (3, 10), 0.1705, 0.8090),
            ((5, 56), (0, 29), -0.0381, 0.1926),
        ];
        for (first, second, low, high) in cases {
            let d = newcombe_difference(first, second);
            close(d.low, low);
            close(d.high, high);
        }
    }

    #[test]
    fn the_difference_interval_stays_within_what_proportions_can_differ_by() {
        let all_against_none = newcombe_difference((10, 10), (0, 20));
        close(all_against_none.value, 1.0);
        close(all_against_none.low, 0.6791);
        assert!(all_against_none.high <= 1.0);
        let none_against_none = newcombe_difference((0, 10), (0, 20));
        close(none_against_none.low, -0.1611);
        close(none_against_none.high, 0.2775);
    }

    #[test]
    fn the_wilson_interval_matches_its_known_value() {
        let w = wilson(56, 70);
        close(w.value, 0.8);
        close(w.low, 0.6918);
        close(w.high, 0.8770);
    }

    #[test]
    fn the_relative_difference_uses_the_log_interval_of_the_ratio() {
        let r = relative_difference((56, 70), (48, 80)).expect("both groups converted");
        close(r.value, 1.0 / 3.0);
        close(r.low, 0.0766);
        close(r.high, 0.6512);
        let large = relative_difference((120, 1000), (90, 1000)).expect("both converted");
        close(large.low, 0.0292);
        close(large.high, 0.7273);
    }

    #[test]
    fn the_relative_difference_cannot_be_estimated_while_a_group_has_no_conversion() {
        assert_eq!(relative_difference((5, 56), (0, 29)), None);
        assert_eq!(relative_difference((0, 56), (4, 29)), None);
    }

    #[test]
    fn groups_below_the_minimum_are_not_enough_data_yet() {
        let verdict = uplift(&group(MIN_RECIPIENTS_PER_GROUP, 10), &group(99, 3)).unwrap();
        assert_eq!(
            verdict,
            Uplift::NotEnoughData {
                treated: MIN_RECIPIENTS_PER_GROUP,
                holdout: 99,
                needed: MIN_RECIPIENTS_PER_GROUP
            }
        );
    }

    #[test]
    fn groups_at_the_minimum_are_measured() {
        let Uplift::Measured(measured) =
            uplift(&group(1000, 120), &group(MIN_RECIPIENTS_PER_GROUP, 9)).unwrap()
        else {
            panic!("both groups reach the minimum");
        };
        close(measured.treated_rate.value, 0.12);
        close(measured.holdout_rate.value, 0.09);
        close(measured.difference.value, 0.03);
        close(measured.difference.low, -0.0446);
        close(measured.difference.high, 0.0772);
    }

    #[test]
    fn more_conversions_than_recipients_is_refused() {
        assert_eq!(
            uplift(&group(200, 201), &group(200, 3)),
            Err(ImpossibleCounts {
                recipients: 200,
                conversions: 201
            })
        );
    }

    #[test]
    fn revenue_per_recipient_is_per_currency_and_rounded_to_its_minor_units() {
        let usd = Currency::parse("USD").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        let mut treated = group(300, 30);
        treated
            .revenue
            .insert(usd, Amount::parse("1000.00").unwrap());
        treated.revenue.insert(jpy, Amount::parse("10000").unwrap());
        let mut holdout = group(150, 9);
        holdout
            .revenue
            .insert(usd, Amount::parse("250.00").unwrap());
        let Uplift::Measured(measured) = uplift(&treated, &holdout).unwrap() else {
            panic!("both groups reach the minimum");
        };
        assert_eq!(
            measured.revenue_per_recipient[&usd],
            (Decimal::new(333, 2), Decimal::new(167, 2))
        );
        assert_eq!(
            measured.revenue_per_recipient[&jpy],
            (Decimal::new(33, 0), Decimal::ZERO)
        );
    }
}
