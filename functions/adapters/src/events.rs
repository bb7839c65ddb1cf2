//! Events aftercare publishes on its EventBridge bus for people and other systems:
//! `HandoffRequested` when a person on the shop's side should look at an order.
//!
//! Publishing is at least once: an event is published before the message that goes with it is
//! marked sent, so a crash in between publishes it again. Every event carries a stable
//! `handoff_id` for consumers (a helpdesk) to drop repeats.

use aftercare_journey::handoff::Handoff;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::json;

use crate::error::{classify, describe, Retry};
use crate::ports::{HandoffBus, PublishError};

/// The `source` of every event aftercare publishes.
pub const EVENT_SOURCE: &str = "aftercare";
/// The `detail-type` of a call for a person.
pub const HANDOFF_REQUESTED: &str = "HandoffRequested";

/// The bus events go to.
#[derive(Debug, Clone)]
pub struct EventBus {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

impl EventBus {
    /// A publisher to `bus_name`.
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }
}

/// Publishes on EventBridge, one `PutEvents` entry per handoff.
impl HandoffBus for EventBus {
    /// Publishes a `HandoffRequested` event; `handoff_id` identifies it across repeats.
    async fn publish_handoff(
        &self,
        handoff: &Handoff,
        handoff_id: &str,
    ) -> Result<(), PublishError> {
        let detail = json!({
            "handoff_id": handoff_id,
            "customer_id": handoff.customer_id,
            "order_id": handoff.order_id,
            "status": handoff.status,
            "since": handoff.since,
            "reason": handoff.reason,
        });
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(EVENT_SOURCE)
            .detail_type(HANDOFF_REQUESTED)
            .detail(detail.to_string())
            .build();
        let failed = |retry, detail| PublishError {
            detail_type: HANDOFF_REQUESTED,
            retry,
            detail,
        };
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| failed(classify(&e), describe(&e)))?;
        if output.failed_entry_count() > 0 {
            let reason = output
                .entries()
                .iter()
                .filter_map(|e| e.error_message())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(failed(Retry::Transient, reason));
        }
        Ok(())
    }
}
