//! A call for a person on the shop's side: raised by the watchdog for a stuck order and by an
//! unhappy answer, and sent on as a `HandoffRequested` event.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, OrderId};
use crate::status::OrderStatus;

/// What a person on the shop's side should look at, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// Whose order.
    pub customer_id: CustomerId,
    /// Which order.
    pub order_id: OrderId,
    /// The status it is stuck in.
    pub status: OrderStatus,
    /// Since when.
    pub since: DateTime<Utc>,
    /// Why a person should look, in words.
    pub reason: String,
}
