//! What happens when an order event arrives; [`decide`] is the one file to read it in.
//!
//! What the store held before the event (profile and order, if known) and the event go in; the
//! profile and order after it and the message to send, if any, come out. The event's
//! `occurred_at` is `now`.
//!
//! - A new order counts towards the customer's orders and amount spent, and its sequence
//!   number sets the tone of every message about it (first, returning, loyal).
//! - A status moves the order forward or is refused: once delivered or cancelled, nothing more
//!   is applied; a step the order already reached is late news; a delay or cancellation older
//!   than the last applied event is stale. A refused event is recorded in the order's timeline
//!   with the reason, and sends nothing.
//! - An applied event sends the message of its status, unless that kind is switched off or
//!   [`crate::consent::held_back`] holds it back; the timeline says which.
//! - An applied event plans and cancels follow-ups (see [`crate::follow_ups`]): the watchdog's
//!   check of the new status, the delivery reminder, the review request and repurchase
//!   reminders on delivery, the reactivation check on a new order.
//!
//! [`decide`] holds the rules; [`message`] assembles the status email, whose words are in
//! [`crate::copy::order_status`].

pub mod decide;
pub mod message;

pub use decide::{decide_order_event, BeforeEvent, OrderEventDecision};
