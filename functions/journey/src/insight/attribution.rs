//! Which touches an order is attributed to: for each kind with an attribution window, the
//! customer's last touch of that kind (the message sent, or the holdout decision that withheld
//! it at the instant it would have gone) if it came before the order and no longer ago than
//! the window. A treated touch and a holdout touch count alike, so the two groups' conversion
//! rates compare like with like.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::message::MessageKind;
use crate::order::Attribution;
use crate::profile::Touch;
use crate::time_shift::{between, days};

/// The attribution of an order placed at `placed_at` by a customer whose last touches are
/// `touches`, with each kind's window in days (`windows`; a kind without one is never
/// attributed). A touch exactly `window` days before the order counts; one at or after the
/// order's instant does not.
pub fn attribute(
    touches: &BTreeMap<MessageKind, Touch>,
    placed_at: DateTime<Utc>,
    windows: &BTreeMap<MessageKind, u32>,
) -> Vec<Attribution> {
    touches
        .iter()
        .filter_map(|(kind, touch)| {
            let window = days(i64::from(*windows.get(kind)?));
            let since = between(touch.at, placed_at);
            (touch.at < placed_at && since <= window).then(|| Attribution {
                kind: *kind,
                by: touch.by.clone(),
                touched_at: touch.at,
                days_since: u32::try_from(since.num_days()).unwrap_or(u32::MAX),
            })
        })
        .collect()
}

/// Records `touch` as the customer's last of `kind` in `touches`, if `kind` has an attribution
/// window (only those are ever read) and the touch is not older than the one kept.
pub fn record_touch(
    touches: &mut BTreeMap<MessageKind, Touch>,
    kind: MessageKind,
    touch: Touch,
    windows: &BTreeMap<MessageKind, u32>,
) {
    if !windows.contains_key(&kind) {
        return;
    }
    if touches.get(&kind).is_some_and(|kept| kept.at > touch.at) {
        return;
    }
    touches.insert(kind, touch);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::CustomerId;
    use crate::message::MessageId;
    use crate::profile::TouchBy;
    use crate::settings::Policy;
    use crate::time_shift::{hours, Shift};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn treated(kind: MessageKind, when: DateTime<Utc>) -> Touch {
        let customer = CustomerId::parse("cus-1").unwrap();
        Touch {
            at: when,
            by: TouchBy::Treated {
                message_id: MessageId::derive(&customer, &format!("test#{when}"), kind),
            },
        }
    }

    fn held_out(when: DateTime<Utc>) -> Touch {
        Touch {
            at: when,
            by: TouchBy::Holdout {
                decision: "reactivation#1".into(),
            },
        }
    }

    fn default_windows() -> BTreeMap<MessageKind, u32> {
        Policy::default().attribution_days
    }

    const PLACED: &str = "2026-12-15T12:00:00Z";

    fn placed() -> DateTime<Utc> {
        at(PLACED)
    }

    #[test]
    fn an_order_exactly_a_window_after_the_touch_is_attributed_to_it() {
        let touch = treated(MessageKind::RepurchaseReminder, placed().minus(days(14)));
        let touches = BTreeMap::from([(MessageKind::RepurchaseReminder, touch.clone())]);
        let attribution = attribute(&touches, placed(), &default_windows());
        assert_eq!(
            attribution,
            [Attribution {
                kind: MessageKind::RepurchaseReminder,
                by: touch.by,
                touched_at: touch.at,
                days_since: 14
            }]
        );
    }

    #[test]
    fn an_order_a_second_past_the_window_is_not_attributed() {
        let touch = treated(
            MessageKind::RepurchaseReminder,
            placed().minus(days(14)).minus(chrono::Duration::seconds(1)),
        );
        let touches = BTreeMap::from([(MessageKind::RepurchaseReminder, touch)]);
        assert!(attribute(&touches, placed(), &default_windows()).is_empty());
    }

    #[test]
    fn a_touch_at_or_after_the_order_is_not_what_brought_it() {
        for when in [placed(), placed().plus(hours(1))] {
            let touches = BTreeMap::from([(
                MessageKind::RepurchaseReminder,
                treated(MessageKind::RepurchaseReminder, when),
            )]);
            assert!(attribute(&touches, placed(), &default_windows()).is_empty());
        }
    }

    #[test]
    fn each_kind_has_its_own_window() {
        let twenty_days_before = placed().minus(days(20));
        let touches = BTreeMap::from([
            (
                MessageKind::RepurchaseReminder,
                treated(MessageKind::RepurchaseReminder, twenty_days_before),
            ),
            (MessageKind::Reactivation, held_out(twenty_days_before)),
        ]);
        let attribution = attribute(&touches, placed(), &default_windows());
        assert_eq!(attribution.len(), 1);
        assert_eq!(attribution[0].kind, MessageKind::Reactivation);
        assert_eq!(attribution[0].days_since, 20);
    }

    #[test]
    fn a_customer_treated_for_one_kind_and_held_out_of_another_is_attributed_to_both() {
        let touches = BTreeMap::from([
            (
                MessageKind::RepurchaseReminder,
                treated(MessageKind::RepurchaseReminder, placed().minus(days(3))),
            ),
            (
                MessageKind::Reactivation,
                held_out(placed().minus(days(10))),
            ),
        ]);
        let attribution = attribute(&touches, placed(), &default_windows());
        let groups: Vec<(MessageKind, bool)> = attribution
            .iter()
            .map(|a| (a.kind, matches!(a.by, TouchBy::Holdout { .. })))
            .collect();
        assert_eq!(
            groups,
            [
                (MessageKind::RepurchaseReminder, false),
                (MessageKind::Reactivation, true)
            ]
        );
        assert_eq!(
            attribution.iter().map(|a| a.days_since).collect::<Vec<_>>(),
            [3, 10]
        );
    }

    #[test]
    fn a_kind_without_a_window_is_never_attributed_or_kept() {
        let windows = BTreeMap::from([(MessageKind::Reactivation, 30)]);
        let mut touches = BTreeMap::new();
        record_touch(
            &mut touches,
            MessageKind::RepurchaseReminder,
            treated(MessageKind::RepurchaseReminder, placed().minus(days(1))),
            &windows,
        );
        assert!(touches.is_empty());
        let kept = BTreeMap::from([(
            MessageKind::RepurchaseReminder,
            treated(MessageKind::RepurchaseReminder, placed().minus(days(1))),
        )]);
        assert!(attribute(&kept, placed(), &windows).is_empty());
    }

    #[test]
    fn the_last_touch_of_a_kind_replaces_an_earlier_one_but_never_a_later_one() {
        let windows = default_windows();
        let mut touches = BTreeMap::new();
        let early = held_out(placed().minus(days(12)));
        let late = treated(MessageKind::Reactivation, placed().minus(days(2)));
        record_touch(
            &mut touches,
            MessageKind::Reactivation,
            early.clone(),
            &windows,
        );
        record_touch(
            &mut touches,
            MessageKind::Reactivation,
            late.clone(),
            &windows,
        );
        record_touch(&mut touches, MessageKind::Reactivation, early, &windows);
        assert_eq!(touches[&MessageKind::Reactivation], late);
    }
}
