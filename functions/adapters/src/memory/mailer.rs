//! The mailer's twin: SES v2 in memory.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aftercare_journey::message::OutgoingMessage;

use super::faults::Faults;
use crate::ports::Mailer;
use crate::ports::SendError;

/// A failure [`MemoryMailer`] injects into a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailFault {
    /// SES could not take the message now (throttled, unreachable): nothing is sent, and the
    /// send answers [`SendError::Transient`].
    Transient,
    /// SES refuses the message for good: nothing is sent, and the send answers
    /// [`SendError::Rejected`].
    Rejected,
    /// SES accepts the message (it is recorded as sent, with an id) and the answer is lost:
    /// the send answers [`SendError::Transient`]. SES has no idempotency key, so sending it
    /// again sends it twice.
    LostAnswer,
}

/// A message [`MemoryMailer`] accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    /// The id the mailer gave it (`memory-1`, `memory-2`, ... in the order accepted).
    pub id: String,
    /// What was sent.
    pub message: OutgoingMessage,
}

#[derive(Debug, Default)]
struct State {
    sent: Vec<SentMessage>,
    faults: Faults<(), MailFault>,
}

/// [`Mailer`] in memory: accepts every message (recording it with a generated id) unless a
/// failure was injected. Thread-safe; clones share what was sent and the faults.
#[derive(Debug, Clone, Default)]
pub struct MemoryMailer {
    state: Arc<Mutex<State>>,
    /// How long each send takes, in nanoseconds (0: no time at all).
    latency: Arc<std::sync::atomic::AtomicU64>,
}

impl MemoryMailer {
    /// Makes every send take `per_send` before it answers, as a call to SES does (shared by
    /// clones); in virtual time under a paused test clock.
    pub fn set_latency(&self, per_send: std::time::Duration) {
        let nanos = u64::try_from(per_send.as_nanos()).unwrap_or(u64::MAX);
        self.latency
            .store(nanos, std::sync::atomic::Ordering::Relaxed);
    }

    /// A mailer that has sent nothing and injects no failure.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message accepted so far, in the order accepted (lost answers included).
    pub fn sent(&self) -> Vec<SentMessage> {
        self.state().sent.clone()
    }

    /// The next send fails with `fault` (after the faults queued before it).
    pub fn fail_next(&self, fault: MailFault) {
        self.state().faults.push_next((), fault);
    }

    /// Every send fails with `fault` until [`MemoryMailer::clear_faults`].
    pub fn fail_every(&self, fault: MailFault) {
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

impl Mailer for MemoryMailer {
    async fn send(&self, message: &OutgoingMessage) -> Result<String, SendError> {
        let nanos = self.latency.load(std::sync::atomic::Ordering::Relaxed);
        if nanos > 0 {
            tokio::time::sleep(std::time::Duration::from_nanos(nanos)).await;
        }
        let mut state = self.state();
        let fault = state.faults.take(&());
        match fault {
            Some(MailFault::Transient) => {
                return Err(SendError::Transient(
                    "injected: SES throttled the send".into(),
                ))
            }
            Some(MailFault::Rejected) => {
                return Err(SendError::Rejected(
                    "injected: SES refused the message".into(),
                ))
            }
            Some(MailFault::LostAnswer) | None => {}
        }
        let id = format!("memory-{}", state.sent.len().saturating_add(1));
        state.sent.push(SentMessage {
            id: id.clone(),
            message: message.clone(),
        });
        match fault {
            Some(MailFault::LostAnswer) => Err(SendError::Transient(
                "injected: SES accepted the message and the answer was lost".into(),
            )),
            _ => Ok(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftercare_journey::contact::{EmailAddress, Language};
    use aftercare_journey::ids::CustomerId;
    use aftercare_journey::ids::OrderId;
    use aftercare_journey::message::{Draft, MessageId, MessageKind};

    fn message() -> OutgoingMessage {
        let customer = CustomerId::parse("cus-1").unwrap();
        let id = MessageId::derive(&customer, "evt-1", MessageKind::OrderPlaced);
        laid_out_message(id, customer, None, "emily@example.com")
    }
    /// A short message laid out from a draft of its own, as decisions make them.
    fn laid_out_message(
        id: MessageId,
        customer: CustomerId,
        order_id: Option<OrderId>,
        to: &str,
    ) -> OutgoingMessage {
        use aftercare_journey::render::{Action, Copy, Frame, Support};
        let draft = Draft::of(Copy {
            subject: "Your order".into(),
            preheader: "Thank you".into(),
            greeting: "Hi,".into(),
            paragraphs: vec!["Thank you for your order.".into()],
            facts: Vec::new(),
            items: Vec::new(),
            action: None,
            choices: Vec::new(),
        });
        let frame = Frame {
            shop: "Example Shop".into(),
            support: Support {
                text: "Reply to this email to reach a person.".into(),
                email: "help@example.com".into(),
                url: None,
                url_label: "Help".into(),
            },
            footer: "You ordered from Example Shop.".into(),
            preferences: Some(Action {
                label: "Choose which emails you get".into(),
                url: "https://example.com/unsubscribe?token=t".into(),
            }),
        };
        let laid_out = draft.render(&frame, Language::En, Vec::new()).unwrap();
        OutgoingMessage {
            id,
            kind: MessageKind::OrderPlaced,
            customer_id: customer,
            order_id,
            to: EmailAddress::parse(to).unwrap(),
            to_name: None,
            language: Language::En,
            subject: laid_out.subject,
            text: laid_out.text,
            html: laid_out.html,
            draft,
            trigger: "event:evt-1".into(),
            decided_at: "2026-11-02T10:00:00Z".parse().unwrap(),
            reason: "placed".into(),
            list_unsubscribe: None,
        }
    }

    #[tokio::test]
    async fn every_accepted_message_is_recorded_with_an_id_of_its_own() {
        let mailer = MemoryMailer::new();
        assert_eq!(mailer.send(&message()).await.unwrap(), "memory-1");
        assert_eq!(mailer.send(&message()).await.unwrap(), "memory-2");
        let ids: Vec<_> = mailer.sent().into_iter().map(|s| s.id).collect();
        assert_eq!(ids, ["memory-1", "memory-2"]);
    }

    #[tokio::test]
    async fn a_transient_or_rejected_send_sends_nothing() {
        let mailer = MemoryMailer::new();
        mailer.fail_next(MailFault::Transient);
        mailer.fail_next(MailFault::Rejected);
        assert!(matches!(
            mailer.send(&message()).await,
            Err(SendError::Transient(_))
        ));
        assert!(matches!(
            mailer.send(&message()).await,
            Err(SendError::Rejected(_))
        ));
        assert!(mailer.sent().is_empty());
        assert_eq!(mailer.send(&message()).await.unwrap(), "memory-1");
    }

    #[tokio::test]
    async fn a_lost_answer_is_a_send_the_sender_never_learns_of() {
        let mailer = MemoryMailer::new();
        mailer.fail_next(MailFault::LostAnswer);
        assert!(matches!(
            mailer.send(&message()).await,
            Err(SendError::Transient(_))
        ));
        // SES has no idempotency key: the retry is a second send.
        assert_eq!(mailer.send(&message()).await.unwrap(), "memory-2");
        assert_eq!(mailer.sent().len(), 2);
    }

    #[tokio::test]
    async fn a_standing_fault_fails_every_send_until_cleared() {
        let mailer = MemoryMailer::new();
        mailer.fail_every(MailFault::Transient);
        for _ in 0..3 {
            assert!(mailer.send(&message()).await.is_err());
        }
        mailer.clear_faults();
        assert!(mailer.send(&message()).await.is_ok());
    }
}
