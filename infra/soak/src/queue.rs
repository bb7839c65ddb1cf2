//! A stand-in for the order-events queue: at-least-once, a message hidden for the visibility
//! timeout after each receive and deleted only when its record succeeded, moved to the
//! dead-letter queue after `maxReceiveCount` receives, and delivered out of order.

use aftercare_fault_proxy::Rng;
use chrono::{DateTime, Duration, Utc};

/// `maxReceiveCount` of the order-events queue in `template.yaml`.
pub const MAX_RECEIVE_COUNT: u32 = 5;

/// One SQS message.
#[derive(Debug, Clone)]
pub struct QueueMessage {
    /// The SQS message id (one per copy: a redelivered duplicate is a message of its own).
    pub message_id: String,
    /// The body.
    pub body: String,
    /// The order event it carries.
    pub event_id: String,
    /// When it can be received next.
    pub visible_at: DateTime<Utc>,
    /// How many times it was received.
    pub receives: u32,
    /// What came of each receive, for the report of a message that reached the DLQ.
    pub history: Vec<String>,
}

/// The queue.
#[derive(Debug, Default)]
pub struct Queue {
    waiting: Vec<QueueMessage>,
    /// Messages that reached `maxReceiveCount`.
    pub dead_letters: Vec<QueueMessage>,
    /// Messages deleted after their record succeeded.
    pub deleted: usize,
}

impl Queue {
    /// Sends a message that becomes visible at `at`.
    pub fn send(&mut self, message_id: String, event_id: String, body: String, at: DateTime<Utc>) {
        self.waiting.push(QueueMessage {
            message_id,
            body,
            event_id,
            visible_at: at,
            receives: 0,
            history: Vec::new(),
        });
    }

    /// Whether nothing is left to deliver.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// How many messages wait (visible or not).
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    /// When the next message becomes visible.
    pub fn next_visible(&self) -> Option<DateTime<Utc>> {
        self.waiting.iter().map(|m| m.visible_at).min()
    }

    /// Receives up to `count` of the visible messages at `now`, picked at random among the
    /// `window` that became visible first (so neighbours arrive out of order), each hidden for
    /// `visibility` from now.
    pub fn receive(
        &mut self,
        now: DateTime<Utc>,
        count: usize,
        window: usize,
        visibility: Duration,
        rng: &mut Rng,
    ) -> Vec<QueueMessage> {
        let mut visible: Vec<usize> = (0..self.waiting.len())
            .filter(|&i| self.waiting[i].visible_at <= now)
            .collect();
        visible.sort_by_key(|&i| (self.waiting[i].visible_at, i));
        visible.truncate(window.max(count));
        let mut taken = Vec::new();
        while taken.len() < count && !visible.is_empty() {
            let pick = visible.swap_remove(rng.below(visible.len() as u64) as usize);
            taken.push(pick);
        }
        taken
            .into_iter()
            .map(|i| {
                let message = &mut self.waiting[i];
                message.receives += 1;
                message.visible_at = now + visibility;
                message.clone()
            })
            .collect()
    }

    /// Deletes a message whose record succeeded.
    pub fn delete(&mut self, message_id: &str) {
        if let Some(i) = self.waiting.iter().position(|m| m.message_id == message_id) {
            self.waiting.swap_remove(i);
            self.deleted += 1;
        }
    }

    /// A message whose record failed (or whose invocation died) stays hidden until its
    /// visibility timeout; after `maxReceiveCount` receives SQS moves it to the dead-letter
    /// queue instead of offering it again.
    pub fn release(&mut self, message_id: &str, why: &str) {
        if let Some(i) = self.waiting.iter().position(|m| m.message_id == message_id) {
            self.waiting[i].history.push(why.to_owned());
            if self.waiting[i].receives >= MAX_RECEIVE_COUNT {
                let dead = self.waiting.swap_remove(i);
                self.dead_letters.push(dead);
            }
        }
    }
}
