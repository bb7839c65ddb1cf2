//! The last marketing touch of each kind a customer had: the message sent, or the holdout
//! decision that withheld it at the instant it would have gone. An order placed soon after is
//! attributed to it (see `insight::attribution`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::message::MessageId;

/// One touch: when, and by what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Touch {
    /// When the message went, or would have gone had the customer not been held out.
    pub at: DateTime<Utc>,
    /// What touched them.
    pub by: TouchBy,
}

/// What a touch was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "group", rename_all = "snake_case")]
pub enum TouchBy {
    /// The treated group: the message was sent.
    Treated {
        /// The message.
        message_id: MessageId,
    },
    /// The holdout group: the message was withheld on purpose, to measure its uplift.
    Holdout {
        /// The follow-up it was decided for, with its attempt: `<key>#<attempt>`.
        decision: String,
    },
}
