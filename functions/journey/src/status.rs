//! Where an order is, and which moves between statuses are forward moves.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The status an order event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// The customer placed the order.
    Placed,
    /// The shop accepted it (payment cleared, stock reserved).
    Confirmed,
    /// Being assembled and packed.
    Packed,
    /// Handed to the carrier; comes with carrier and tracking link.
    Shipped,
    /// The courier is on the way and arrives within the hour.
    OutForDelivery,
    /// Delivered. Final.
    Delivered,
    /// Late: comes with the reason and the new ETA. Not a step of its own; the order stays at
    /// the step it had reached.
    Delayed,
    /// Cancelled. Final.
    Cancelled,
}

impl OrderStatus {
    /// Every status, in the order of the journey.
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::Placed,
        OrderStatus::Confirmed,
        OrderStatus::Packed,
        OrderStatus::Shipped,
        OrderStatus::OutForDelivery,
        OrderStatus::Delivered,
        OrderStatus::Delayed,
        OrderStatus::Cancelled,
    ];

    /// The wire name (`out_for_delivery`).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Packed => "packed",
            OrderStatus::Shipped => "shipped",
            OrderStatus::OutForDelivery => "out_for_delivery",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Delayed => "delayed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// The position of a step on the way to the customer; `None` for `delayed` and `cancelled`,
    /// which are not steps.
    pub fn step(self) -> Option<u8> {
        match self {
            OrderStatus::Placed => Some(0),
            OrderStatus::Confirmed => Some(1),
            OrderStatus::Packed => Some(2),
            OrderStatus::Shipped => Some(3),
            OrderStatus::OutForDelivery => Some(4),
            OrderStatus::Delivered => Some(5),
            OrderStatus::Delayed | OrderStatus::Cancelled => None,
        }
    }

    /// Whether nothing can follow: delivered or cancelled.
    pub fn is_final(self) -> bool {
        matches!(self, OrderStatus::Delivered | OrderStatus::Cancelled)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an incoming status means for an order that has reached `step` and now shows `current`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// A forward move: apply it and tell the customer.
    Forward,
    /// Not applied; the reason is recorded in the order's timeline.
    Refused(&'static str),
}

/// Decides whether `incoming` moves an order forward. `reached` is the furthest step the order
/// has reached and `current` what it shows now (`delayed` while late). Statuses never move
/// backwards: once final, an order takes nothing more; a step at or before the one reached is
/// late news; a delay or a cancellation is accepted any time before the order is final.
pub fn transition(reached: OrderStatus, current: OrderStatus, incoming: OrderStatus) -> Transition {
    if current.is_final() {
        return Transition::Refused(if current == OrderStatus::Delivered {
            "the order was already delivered"
        } else {
            "the order was already cancelled"
        });
    }
    match (incoming.step(), reached.step()) {
        (Some(new), Some(old)) if new <= old => {
            Transition::Refused("the order had already reached this step or a later one")
        }
        _ => Transition::Forward,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    #[test]
    fn a_later_step_moves_forward() {
        assert_eq!(transition(Placed, Placed, Shipped), Transition::Forward);
        assert_eq!(transition(Packed, Delayed, Shipped), Transition::Forward);
    }

    #[test]
    fn nothing_moves_a_delivered_or_cancelled_order() {
        for s in OrderStatus::ALL {
            assert!(matches!(
                transition(Delivered, Delivered, s),
                Transition::Refused(_)
            ));
            assert!(matches!(
                transition(Shipped, Cancelled, s),
                Transition::Refused(_)
            ));
        }
    }

    #[test]
    fn a_step_already_reached_is_late_news() {
        assert!(matches!(
            transition(Shipped, Shipped, Packed),
            Transition::Refused(_)
        ));
        assert!(matches!(
            transition(Shipped, Delayed, Shipped),
            Transition::Refused(_)
        ));
    }

    #[test]
    fn delays_and_cancellations_are_accepted_until_final() {
        assert_eq!(transition(Shipped, Delayed, Delayed), Transition::Forward);
        assert_eq!(
            transition(OutForDelivery, OutForDelivery, Cancelled),
            Transition::Forward
        );
    }
}
