//! `aftercare-bench-cpu <work> <times>`: does one piece of the domain's work `times` times
//! over, on the sample events of `infra/events/detail`, so that the instructions callgrind
//! counts for two different `times` give the instructions of one piece (set-up and process
//! start cancel out). The work:
//!
//! - `decide-placed`, `decide-shipped`, `decide-delivered`: deciding that order event of the
//!   sample order, for the journey as the events before it left it;
//! - `decide-review-request`: deciding the review request the delivery planned, when it falls due;
//! - `render-shipped`, `render-review-request`: laying out that message (subject, text, HTML)
//!   from its draft, as the outbox does before sending.
//!
//! Everything is pure and deterministic; nothing is read or written but standard output.

use std::hint::black_box;
use std::process::ExitCode;

use aftercare_journey::contact::EmailAddress;
use aftercare_journey::event::{parse_order_event, AcceptedYears, OrderEvent, WebLink};
use aftercare_journey::follow_ups::{decide_follow_up, FollowUp, FollowUpDecision, FollowUpKind};
use aftercare_journey::message::OutgoingMessage;
use aftercare_journey::order_status::{decide_order_event, BeforeEvent, OrderEventDecision};
use aftercare_journey::settings::{Brand, Policy, Settings, SignedLinks};
use aftercare_journey::signing::SigningKey;
use aftercare_journey::text::Text;

/// The sample order's events, in the order the shop sends them.
const PLACED: &str = include_str!("../../events/detail/placed.json");
const SHIPPED: &str = include_str!("../../events/detail/shipped.json");
const DELIVERED: &str = include_str!("../../events/detail/delivered.json");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(work), Some(times)) = (args.first(), args.get(1).and_then(|t| t.parse().ok())) else {
        eprintln!(
            "usage: aftercare-bench-cpu <{}> <times>",
            aftercare_bench_cpu::names("|")
        );
        return ExitCode::from(2);
    };
    match run(work, times) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("aftercare-bench-cpu: {problem}");
            ExitCode::FAILURE
        }
    }
}

/// Does `work` `times` times.
fn run(work: &str, times: u32) -> Result<(), String> {
    let settings = shop()?;
    let journey = Journey::of(&settings)?;
    let review_request = journey.review_request_message(&settings)?;
    for _ in 0..times {
        match work {
            "decide-placed" => {
                black_box(decide(&BeforeEvent::default(), &journey.placed, &settings)?);
            }
            "decide-shipped" => {
                black_box(decide(&journey.after_placed, &journey.shipped, &settings)?);
            }
            "decide-delivered" => {
                black_box(decide(
                    &journey.after_shipped,
                    &journey.delivered,
                    &settings,
                )?);
            }
            "decide-review-request" => {
                black_box(journey.review_request_decision(&settings)?);
            }
            "render-shipped" => {
                black_box(layout(&journey.shipped_message, &settings)?);
            }
            "render-review-request" => {
                black_box(layout(&review_request, &settings)?);
            }
            other => {
                return Err(format!(
                    "unknown work {other:?}; one of {}",
                    aftercare_bench_cpu::names(", ")
                ))
            }
        }
    }
    Ok(())
}

/// The sample order's journey: its events, and what it stood at before each.
struct Journey {
    placed: OrderEvent,
    shipped: OrderEvent,
    delivered: OrderEvent,
    after_placed: BeforeEvent,
    after_shipped: BeforeEvent,
    after_delivered: OrderEventDecision,
    shipped_message: OutgoingMessage,
}

impl Journey {
    fn of(settings: &Settings) -> Result<Self, String> {
        let years = AcceptedYears::default();
        let event = |body: &str| parse_order_event(body, &years).map_err(|e| e.to_string());
        let (placed, shipped, delivered) = (event(PLACED)?, event(SHIPPED)?, event(DELIVERED)?);
        let placed_decision = decide(&BeforeEvent::default(), &placed, settings)?;
        let after_placed = after(&placed_decision);
        let shipped_decision = decide(&after_placed, &shipped, settings)?;
        let after_shipped = after(&shipped_decision);
        let after_delivered = decide(&after_shipped, &delivered, settings)?;
        let shipped_message = shipped_decision
            .message
            .ok_or("the sample shipped event sends no message")?;
        Ok(Self {
            placed,
            shipped,
            delivered,
            after_placed,
            after_shipped,
            after_delivered,
            shipped_message,
        })
    }

    /// The review request the delivery planned.
    fn review_request(&self) -> Result<&FollowUp, String> {
        self.after_delivered
            .follow_ups
            .planned
            .iter()
            .find(|f| f.kind == FollowUpKind::ReviewRequest)
            .ok_or_else(|| "the sample delivery plans no review request".to_owned())
    }

    /// The review request decided when it falls due.
    fn review_request_decision(
        &self,
        settings: &Settings,
    ) -> Result<aftercare_journey::follow_ups::FollowUpOutcome, String> {
        let task = self.review_request()?;
        decide_follow_up(
            task,
            &self.after_delivered.profile,
            Some(&self.after_delivered.order),
            task.due_at,
            settings,
        )
        .map_err(|e| e.to_string())
    }

    /// The review request's message.
    fn review_request_message(&self, settings: &Settings) -> Result<OutgoingMessage, String> {
        match self.review_request_decision(settings)?.decision {
            FollowUpDecision::Send { message, .. } => Ok(*message),
            other => Err(format!("the sample review request is not sent: {other:?}")),
        }
    }
}

/// The journey as `decision` left it.
fn after(decision: &OrderEventDecision) -> BeforeEvent {
    BeforeEvent {
        profile: Some(decision.profile.clone()),
        order: Some(decision.order.clone()),
    }
}

fn decide(
    before: &BeforeEvent,
    event: &OrderEvent,
    settings: &Settings,
) -> Result<OrderEventDecision, String> {
    decide_order_event(before, event, settings).map_err(|e| e.to_string())
}

/// What the outbox does before it sends a kept message: frames its draft again and lays it out.
fn layout(message: &OutgoingMessage, settings: &Settings) -> Result<OutgoingMessage, String> {
    aftercare_journey::frame::lay_out(message.envelope(), message.draft.clone(), settings)
        .map_err(|e| e.to_string())
}

/// The sample shop, Leaf & Kettle, as the local stack configures it.
fn shop() -> Result<Settings, String> {
    let text = |value: &str| Text::parse(value).map_err(|e| format!("{value:?}: {e}"));
    let link = |value: &str| WebLink::parse(value).map_err(|e| format!("{value:?}: {e}"));
    Ok(Settings {
        brand: Brand {
            shop_name: text("Leaf & Kettle")?,
            support_email: EmailAddress::parse("help@leafandkettle.example")
                .map_err(|e| e.to_string())?,
            support_url: Some(link("https://leafandkettle.example/help")?),
            shop_url: Some(link("https://leafandkettle.example/")?),
        },
        disabled_kinds: Default::default(),
        policy: Policy {
            // The samples are dated in the past; the review request must not be stale.
            review_stale_days: 3650,
            ..Policy::default()
        },
        links: Some(SignedLinks {
            base_url: Some(link("https://feedback.leafandkettle.example/")?),
            keys: vec![SigningKey::new("bench-1", vec![7u8; 32]).map_err(|e| e.to_string())?],
            valid_for: chrono::Duration::days(30),
        }),
        referral_bonus: None,
    })
}
