//! The handoff bus's twin: EventBridge in memory.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aftercare_journey::handoff::Handoff;

use super::faults::Faults;
use crate::error::Retry;
use crate::events::HANDOFF_REQUESTED;
use crate::ports::HandoffBus;
use crate::ports::PublishError;

/// A failure [`MemoryBus`] injects into a publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusFault {
    /// EventBridge could not take the event now: nothing is published, and the call answers a
    /// [`Retry::Transient`] error.
    Transient,
    /// EventBridge refuses the event for good: nothing is published, [`Retry::Permanent`].
    Permanent,
    /// The event is published and the answer is lost: the call answers a
    /// [`Retry::Transient`] error.
    LostAnswer,
}

/// A handoff [`MemoryBus`] published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedHandoff {
    /// The id consumers drop repeats by (the message it rides with).
    pub handoff_id: String,
    /// What was published.
    pub handoff: Handoff,
}

#[derive(Debug, Default)]
struct State {
    published: Vec<PublishedHandoff>,
    faults: Faults<(), BusFault>,
}

/// [`HandoffBus`] in memory: publishes every handoff (recording it; a repeat is recorded
/// again, as EventBridge delivers it again) unless a failure was injected. Thread-safe; clones
/// share what was published and the faults.
#[derive(Debug, Clone, Default)]
pub struct MemoryBus {
    state: Arc<Mutex<State>>,
}

impl MemoryBus {
    /// A bus that has published nothing and injects no failure.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every handoff published so far, in order (lost answers included).
    pub fn published(&self) -> Vec<PublishedHandoff> {
        self.state().published.clone()
    }

    /// The next publish fails with `fault` (after the faults queued before it).
    pub fn fail_next(&self, fault: BusFault) {
        self.state().faults.push_next((), fault);
    }

    /// Every publish fails with `fault` until [`MemoryBus::clear_faults`].
    pub fn fail_every(&self, fault: BusFault) {
        self.state().faults.set_every((), fault);
    }

    /// Forgets every injected failure, queued or standing.
    pub fn clear_faults(&self) {
        self.state().faults.clear(&());
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn injected(retry: Retry, detail: &str) -> PublishError {
    PublishError {
        detail_type: HANDOFF_REQUESTED,
        retry,
        detail: format!("injected: {detail}"),
    }
}

impl HandoffBus for MemoryBus {
    async fn publish_handoff(
        &self,
        handoff: &Handoff,
        message_id: &str,
    ) -> Result<(), PublishError> {
        let mut state = self.state();
        let fault = state.faults.take(&());
        match fault {
            Some(BusFault::Transient) => {
                return Err(injected(Retry::Transient, "EventBridge throttled the call"))
            }
            Some(BusFault::Permanent) => {
                return Err(injected(Retry::Permanent, "EventBridge refused the event"))
            }
            Some(BusFault::LostAnswer) | None => {}
        }
        state.published.push(PublishedHandoff {
            handoff_id: message_id.to_owned(),
            handoff: handoff.clone(),
        });
        match fault {
            Some(BusFault::LostAnswer) => Err(injected(
                Retry::Transient,
                "the event was published and the answer was lost",
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftercare_journey::ids::{CustomerId, OrderId};
    use aftercare_journey::status::OrderStatus;

    fn handoff() -> Handoff {
        Handoff {
            customer_id: CustomerId::parse("cus-1").unwrap(),
            order_id: OrderId::parse("1042").unwrap(),
            status: OrderStatus::Packed,
            since: "2026-11-02T10:00:00Z".parse().unwrap(),
            reason: "stuck".into(),
        }
    }

    #[tokio::test]
    async fn a_published_handoff_is_recorded_with_its_id() {
        let bus = MemoryBus::new();
        bus.publish_handoff(&handoff(), "m-1").await.unwrap();
        assert_eq!(
            bus.published(),
            [PublishedHandoff {
                handoff_id: "m-1".into(),
                handoff: handoff()
            }]
        );
    }

    #[tokio::test]
    async fn injected_failures_publish_nothing_except_a_lost_answer() {
        let bus = MemoryBus::new();
        bus.fail_next(BusFault::Transient);
        bus.fail_next(BusFault::Permanent);
        bus.fail_next(BusFault::LostAnswer);
        let mut answers = Vec::new();
        for _ in 0..3 {
            answers.push(
                bus.publish_handoff(&handoff(), "m-1")
                    .await
                    .map_err(|e| e.retry),
            );
        }
        assert_eq!(
            answers,
            [
                Err(Retry::Transient),
                Err(Retry::Permanent),
                Err(Retry::Transient)
            ]
        );
        assert_eq!(bus.published().len(), 1);
    }

    #[tokio::test]
    async fn a_standing_fault_fails_every_publish_until_cleared() {
        let bus = MemoryBus::new();
        bus.fail_every(BusFault::Transient);
        assert!(bus.publish_handoff(&handoff(), "m-1").await.is_err());
        assert!(bus.publish_handoff(&handoff(), "m-1").await.is_err());
        bus.clear_faults();
        assert!(bus.publish_handoff(&handoff(), "m-1").await.is_ok());
        assert_eq!(bus.published().len(), 1);
    }
}
