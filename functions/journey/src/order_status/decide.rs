//! The decision for one order event: apply or refuse it, plan and cancel follow-ups, and pick
//! the status message to send.

use chrono::{DateTime, Utc};

use crate::consent::held_back;
use crate::event::OrderEvent;
use crate::follow_ups::{plan_after_order_event, FollowUpChanges};
use crate::insight::attribution::attribute;
use crate::message::{MessageKind, OutgoingMessage};
use crate::order::{Order, TimelineEntry};
use crate::profile::{FollowUpKind, Profile};
use crate::render::RenderError;
use crate::settings::Settings;
use crate::status::{transition, OrderStatus, Transition};

use super::message::compose;

/// What the store held before an order event, as far as deciding it needs: the customer's
/// profile and the order, each `None` when we have not seen it yet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BeforeEvent {
    /// The customer's profile, if we have seen them before.
    pub profile: Option<Profile>,
    /// The order, if we have seen it before.
    pub order: Option<Order>,
}

/// What to write and send for one order event.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderEventDecision {
    /// The profile after the event.
    pub profile: Profile,
    /// The order after the event (its timeline records the event either way).
    pub order: Order,
    /// Whether the event changed the order.
    pub applied: bool,
    /// What came of it, in words (also the timeline entry's note).
    pub note: String,
    /// The message to send, if any.
    pub message: Option<OutgoingMessage>,
    /// Follow-ups planned and cancelled by the event (none when it was refused).
    pub follow_ups: FollowUpChanges,
    /// When the message may go, if not now: the end of the customer's quiet hours, when the
    /// shop wants order-status news to wait for them too.
    pub deliver_at: Option<DateTime<Utc>>,
}

/// Decides what an order event does to the profile and order held `before` it. Pure: the same inputs give the same decision.
pub fn decide_order_event(
    before: &BeforeEvent,
    event: &OrderEvent,
    settings: &Settings,
) -> Result<OrderEventDecision, RenderError> {
    let now = event.occurred_at;
    let mut profile = before
        .profile
        .clone()
        .unwrap_or_else(|| Profile::new(&event.customer, now));
    profile.take_contact(&event.customer, now);

    let (mut order, refusal) = match &before.order {
        None => {
            let mut order = new_order(&mut profile, event);
            order.attribution = attribute(
                &profile.touches,
                order.placed_at,
                &settings.policy.attribution_days,
            );
            (order, None)
        }
        Some(existing) => {
            let mut order = existing.clone();
            match refusal(existing, event) {
                Some(reason) => {
                    fill_missing_facts(&mut order, &mut profile, event);
                    (order, Some(reason))
                }
                None => {
                    apply(&mut order, &mut profile, event);
                    (order, None)
                }
            }
        }
    };

    let follow_ups = match refusal {
        None => plan_after_order_event(
            &mut profile,
            &order,
            event,
            before.order.is_none(),
            &settings.policy,
        ),
        Some(_) => FollowUpChanges::default(),
    };
    let kind = MessageKind::for_status(event.status);
    let held_back = held_back(&profile, kind);
    let (applied, note, message) = match (refusal, held_back) {
        (Some(reason), _) => (false, format!("not applied: {reason}; nothing sent"), None),
        (None, _) if !settings.is_enabled(kind) => (
            true,
            format!("applied; {kind} not sent: switched off"),
            None,
        ),
        (None, Some(reason)) => (true, format!("applied; {kind} not sent: {reason}"), None),
        (None, None) => {
            let message = compose(kind, &profile, &order, event, settings, now)?;
            (true, format!("applied; {kind} queued"), Some(message))
        }
    };
    let policy = &settings.policy;
    let deliver_at = message
        .as_ref()
        .filter(|_| policy.quiet_hours_for_order_status)
        .map(|_| policy.quiet_hours.next_allowed(now, profile.time_zone))
        .filter(|at| *at > now);
    let mut note = note;
    if let Some(at) = deliver_at {
        note.push_str(&format!(
            " to go at {} (quiet hours in the customer's time zone)",
            at.to_rfc3339()
        ));
    }
    for cancelled in follow_ups.cancelled.iter().filter(|c| {
        matches!(
            c.kind,
            FollowUpKind::Repurchase | FollowUpKind::ReviewRequest
        )
    }) {
        note.push_str(&format!(
            "; cancelled {} ({})",
            cancelled.key, cancelled.reason
        ));
    }
    order.record(TimelineEntry {
        event_id: event.event_id.clone(),
        status: event.status,
        occurred_at: now,
        applied,
        note: note.clone(),
        message: message.as_ref().map(|m| m.id.clone()),
        cancelled: follow_ups.cancelled.clone(),
    });
    Ok(OrderEventDecision {
        profile,
        order,
        applied,
        note,
        message,
        follow_ups,
        deliver_at,
    })
}

/// The first event of an order creates it, whatever its status.
fn new_order(profile: &mut Profile, event: &OrderEvent) -> Order {
    profile.orders_count += 1;
    let now = event.occurred_at;
    profile.second_order_at = match profile.first_order_at {
        None => None,
        Some(first) if now < first => Some(first),
        Some(_) => Some(
            profile
                .second_order_at
                .map_or(now, |second| second.min(now)),
        ),
    };
    profile.first_order_at = Some(profile.first_order_at.map_or(now, |first| first.min(now)));
    profile.last_order_at = Some(profile.last_order_at.map_or(now, |last| last.max(now)));
    if let Some(total) = event.total {
        profile.count_spent(total, false);
    }
    let reached = if event.status.step().is_some() {
        event.status
    } else {
        OrderStatus::Placed
    };
    let mut order = Order {
        order_id: event.order_id.clone(),
        sequence: profile.orders_count,
        status: event.status,
        reached,
        placed_at: now,
        updated_at: now,
        items: event.items.clone(),
        total: event.total,
        delivery: event.delivery.clone(),
        delay: event.delay.clone(),
        cancellation: event.cancellation.clone(),
        timeline: Vec::new(),
        rating: None,
        attribution: Vec::new(),
    };
    if event.status == OrderStatus::Cancelled {
        if let Some(total) = order.total {
            profile.count_spent(total, true);
        }
        order.delay = None;
    }
    order
}

/// Why an event must not change an existing order, if it must not.
fn refusal(order: &Order, event: &OrderEvent) -> Option<&'static str> {
    if let Transition::Refused(reason) = transition(order.reached, order.status, event.status) {
        return Some(reason);
    }
    let is_step = event.status.step().is_some();
    if !is_step && event.occurred_at < order.updated_at {
        return Some("it is older than the last applied event");
    }
    None
}

/// Takes the items and total of an event where the order has none yet, even from an event
/// whose status is refused: a late `placed` may be the only one that carries them. A total
/// learned for an order that was cancelled is not counted as spent.
fn fill_missing_facts(order: &mut Order, profile: &mut Profile, event: &OrderEvent) {
    if order.items.is_empty() && !event.items.is_empty() {
        order.items = event.items.clone();
    }
    if let (None, Some(total)) = (order.total, event.total) {
        order.total = Some(total);
        if order.status != OrderStatus::Cancelled {
            profile.count_spent(total, false);
        }
    }
}

/// Applies a forward event to an existing order.
fn apply(order: &mut Order, profile: &mut Profile, event: &OrderEvent) {
    if !event.items.is_empty() {
        order.items = event.items.clone();
    }
    fill_missing_facts(order, profile, event);
    if let Some(delivery) = &event.delivery {
        let known = order.delivery.take().unwrap_or_else(|| delivery.clone());
        order.delivery = Some(crate::event::Delivery {
            eta: delivery.eta.or(known.eta),
            carrier: delivery.carrier.clone().or(known.carrier),
            tracking_url: delivery.tracking_url.clone().or(known.tracking_url),
        });
    }
    match event.status {
        OrderStatus::Delayed => order.delay = event.delay.clone(),
        OrderStatus::Cancelled => {
            order.cancellation = event.cancellation.clone();
            if let Some(total) = order.total {
                profile.count_spent(total, true);
            }
        }
        status => {
            order.reached = status;
            // A new carrier ETA replaces an earlier delay's date.
            if event.delivery.as_ref().and_then(|d| d.eta).is_some() {
                order.delay = None;
            }
        }
    }
    order.status = event.status;
    order.updated_at = order.updated_at.max(event.occurred_at);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::parse_order_event;
    use serde_json::json;

    fn settings() -> Settings {
        crate::fixtures::settings()
    }

    fn event(event_id: &str, status: &str, at: &str, locale: &str) -> OrderEvent {
        let mut body = json!({
            "event_id": event_id, "order_id": "1042", "status": status, "occurred_at": at,
            "customer": {"id": "c-1", "email": "anna@example.com", "name": "Anna <b>Petrova</b>",
                         "locale": locale, "time_zone": "Europe/Moscow"},
            "items": [{"sku": "TEA-1", "name": "Assam <script>", "quantity": 3, "unit_price": "4.50", "category": "tea"}],
            "total": {"amount": "13.50", "currency": "EUR"},
            "delivery": {"eta": "2026-11-24", "carrier": "DHL", "tracking_url": "https://dhl.example/t?id=1&x=\"2\""}
        });
        if status == "delayed" {
            body["delay"] = json!({"reason": "storm at the hub", "new_eta": "2026-11-27"});
        }
        if status == "cancelled" {
            body["cancellation"] = json!({"reason": "out of stock"});
        }
        parse_order_event(&body.to_string(), &crate::event::AcceptedYears::default()).unwrap()
    }

    fn step(before: &BeforeEvent, e: &OrderEvent) -> (BeforeEvent, OrderEventDecision) {
        let decision = decide_order_event(before, e, &settings()).unwrap();
        (
            BeforeEvent {
                profile: Some(decision.profile.clone()),
                order: Some(decision.order.clone()),
            },
            decision,
        )
    }

    #[test]
    fn a_first_placed_order_counts_and_queues_a_first_order_welcome() {
        let (_, d) = step(
            &BeforeEvent::default(),
            &event("e1", "placed", "2026-11-20T10:00:00Z", "en-GB"),
        );
        assert!(d.applied);
        assert_eq!(d.profile.orders_count, 1);
        let message = d.message.unwrap();
        assert_eq!(message.kind, MessageKind::OrderPlaced);
        assert!(message.text.contains("first order"), "{}", message.text);
        assert!(
            message.text.contains("20 November 2026, 13:00"),
            "Moscow local time: {}",
            message.text
        );
    }

    #[test]
    fn delivered_then_a_late_shipped_is_recorded_and_sends_nothing() {
        let (j, _) = step(
            &BeforeEvent::default(),
            &event("e1", "placed", "2026-11-20T10:00:00Z", "en"),
        );
        let (j, _) = step(&j, &event("e2", "delivered", "2026-11-22T10:00:00Z", "en"));
        let (_, d) = step(&j, &event("e3", "shipped", "2026-11-21T10:00:00Z", "en"));
        assert!(!d.applied);
        assert!(d.message.is_none());
        assert_eq!(d.order.status, OrderStatus::Delivered);
        let last = d.order.timeline.last().unwrap();
        assert_eq!(last.event_id.as_str(), "e3");
        assert!(last.note.contains("already delivered"), "{}", last.note);
    }

    #[test]
    fn an_events_timeline_entry_names_the_message_it_queued_and_the_follow_ups_it_cancelled() {
        let (j, _) = step(
            &BeforeEvent::default(),
            &event("e1", "placed", "2026-11-20T10:00:00Z", "en"),
        );
        let (_, d) = step(&j, &event("e2", "delivered", "2026-11-22T10:00:00Z", "en"));
        let message = d.message.as_ref().expect("delivered sends its message");
        let entry = d.order.entry_of(&d.order.timeline[1].event_id).unwrap();
        assert_eq!(entry.event_id.as_str(), "e2");
        assert_eq!(entry.message.as_ref(), Some(&message.id));
        // The entry's time is the message's decision time: the two name the message's key.
        assert_eq!(entry.occurred_at, message.decided_at);
        assert!(!d.follow_ups.cancelled.is_empty(), "{:?}", d.follow_ups);
        assert_eq!(entry.cancelled, d.follow_ups.cancelled);
        assert!(entry.cancelled.iter().all(|c| !c.reason.is_empty()));
        let placed = &d.order.timeline[0];
        assert!(placed.cancelled.is_empty());
        assert!(placed.message.is_some());
    }

    #[test]
    fn a_refused_late_placed_still_fills_in_the_items_and_total() {
        let mut shipped = event("e1", "shipped", "2026-11-21T10:00:00Z", "en");
        shipped.items.clear();
        shipped.total = None;
        let (j, first) = step(&BeforeEvent::default(), &shipped);
        assert!(first.order.items.is_empty() && first.profile.spent.is_empty());
        let (_, late) = step(&j, &event("e0", "placed", "2026-11-20T10:00:00Z", "en"));
        assert!(!late.applied && late.message.is_none());
        assert_eq!(late.order.items.len(), 1);
        assert_eq!(
            late.profile
                .spent
                .values()
                .next()
                .unwrap()
                .value()
                .to_string(),
            "13.50"
        );
    }

    #[test]
    fn a_delay_older_than_the_last_applied_event_is_stale() {
        let (j, _) = step(
            &BeforeEvent::default(),
            &event("e1", "shipped", "2026-11-21T10:00:00Z", "en"),
        );
        let (_, d) = step(&j, &event("e2", "delayed", "2026-11-21T09:00:00Z", "en"));
        assert!(!d.applied);
    }

    #[test]
    fn a_switched_off_kind_is_applied_but_not_sent() {
        let mut s = settings();
        s.disabled_kinds.insert(MessageKind::OrderPlaced);
        let d = decide_order_event(
            &BeforeEvent::default(),
            &event("e1", "placed", "2026-11-20T10:00:00Z", "en"),
            &s,
        )
        .unwrap();
        assert!(d.applied && d.message.is_none());
        assert!(d.note.contains("switched off"));
    }

    #[test]
    fn the_tenth_order_reads_differently_from_the_first() {
        let mut before = BeforeEvent::default();
        let (j, first) = step(
            &before,
            &event("e1", "placed", "2026-01-01T10:00:00Z", "en"),
        );
        before.profile = j.profile.map(|mut p| {
            p.orders_count = 9;
            p
        });
        let mut tenth = event("e10", "placed", "2026-11-20T10:00:00Z", "en");
        tenth.order_id = crate::ids::OrderId::parse("2000").unwrap();
        let (_, d) = step(&before, &tenth);
        let text = d.message.unwrap().text;
        assert!(text.contains("10th order"), "{text}");
        assert_ne!(first.message.unwrap().subject, "");
    }

    #[test]
    fn cancelling_takes_the_total_back_from_the_amount_spent() {
        let (j, d) = step(
            &BeforeEvent::default(),
            &event("e1", "placed", "2026-11-20T10:00:00Z", "en"),
        );
        assert_eq!(
            d.profile.spent.values().next().unwrap().value().to_string(),
            "13.50"
        );
        let (_, d) = step(&j, &event("e2", "cancelled", "2026-11-20T11:00:00Z", "en"));
        assert_eq!(
            d.profile.spent.values().next().unwrap().value().to_string(),
            "0.00"
        );
        let text = d.message.unwrap().text;
        assert!(
            text.contains("€13.50 goes back to your original payment method"),
            "{text}"
        );
    }

    #[test]
    fn every_status_renders_in_both_languages_with_escaped_values_a_way_to_a_person_and_a_draft_that_lays_out_again(
    ) {
        for locale in ["en-US", "ru-RU"] {
            for status in OrderStatus::ALL {
                let (_, d) = step(
                    &BeforeEvent::default(),
                    &event("e", status.as_str(), "2026-11-20T10:00:00Z", locale),
                );
                let m = d.message.unwrap();
                crate::message::assert_draft_lays_out_again(&m, &settings());
                assert!(!m.subject.is_empty() && !m.subject.contains('\n'));
                assert!(
                    !m.html.contains("<script>"),
                    "{status} {locale}: unescaped item name"
                );
                assert!(
                    !m.html.contains("<b>Petrova"),
                    "{status} {locale}: unescaped name"
                );
                assert!(
                    m.html.contains("help@leafandkettle.example"),
                    "{status} {locale}: no support contact"
                );
                assert!(m.text.contains("help@leafandkettle.example"));
                assert!(
                    m.html
                        .contains("href=\"https:&#x2f;&#x2f;leafandkettle.example&#x2f;help\""),
                    "{status} {locale}: no help link"
                );
            }
        }
    }

    #[test]
    fn russian_messages_use_plural_forms_for_item_counts() {
        let (_, d) = step(
            &BeforeEvent::default(),
            &event("e1", "placed", "2026-11-20T10:00:00Z", "ru-RU"),
        );
        let text = d.message.unwrap().text;
        assert!(text.contains("3 товара"), "{text}");
        assert!(text.contains("Здравствуйте, Anna"), "{text}");
    }

    #[test]
    fn the_delay_message_states_reason_and_new_date() {
        let (j, _) = step(
            &BeforeEvent::default(),
            &event("e1", "shipped", "2026-11-20T10:00:00Z", "en"),
        );
        let (_, d) = step(&j, &event("e2", "delayed", "2026-11-21T10:00:00Z", "en"));
        let m = d.message.unwrap();
        assert!(
            m.subject.contains("Friday, 27 November 2026"),
            "{}",
            m.subject
        );
        assert!(m.text.contains("storm at the hub"));
        assert!(
            m.text.contains("Tuesday, 24 November 2026"),
            "old date shown: {}",
            m.text
        );
    }

    #[test]
    fn tracking_links_are_attribute_escaped() {
        let (_, d) = step(
            &BeforeEvent::default(),
            &event("e1", "shipped", "2026-11-20T10:00:00Z", "en"),
        );
        let html = d.message.unwrap().html;
        assert!(!html.contains("x=\"2\""), "raw quote inside href");
        assert!(
            html.contains("href=\"https:&#x2f;&#x2f;dhl.example&#x2f;t?id=1&amp;x=%222%22\""),
            "{html}"
        );
    }

    fn any_status() -> impl proptest::strategy::Strategy<Value = OrderStatus> {
        proptest::sample::select(OrderStatus::ALL.to_vec())
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(200))]

        /// Whatever the shop sends, in whatever order, the furthest step never moves back and a
        /// delivered or cancelled order never changes again.
        #[test]
        fn status_never_moves_backwards(statuses in proptest::collection::vec((any_status(), 0i64..200), 1..12)) {
            let mut before = BeforeEvent::default();
            let mut last_step = 0u8;
            let mut final_status: Option<OrderStatus> = None;
            for (i, (status, minutes)) in statuses.into_iter().enumerate() {
                let at = (chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z").unwrap() + chrono::Duration::minutes(minutes)).to_rfc3339();
                let (next, decision) = step(&before, &event(&format!("e{i}"), status.as_str(), &at, "en"));
                let order = &decision.order;
                let reached = order.reached.step().unwrap_or(0);
                proptest::prop_assert!(reached >= last_step, "step moved back from {} to {}", last_step, reached);
                if let Some(done) = final_status {
                    proptest::prop_assert_eq!(order.status, done);
                    proptest::prop_assert!(!decision.applied && decision.message.is_none());
                }
                if order.status.is_final() {
                    final_status = Some(order.status);
                }
                last_step = reached;
                before = next;
            }
        }

        /// No order gets two messages of one kind, except delays (each carries a new date).
        #[test]
        fn no_order_gets_two_messages_of_one_kind(statuses in proptest::collection::vec(any_status(), 1..16)) {
            let mut before = BeforeEvent::default();
            let mut sent = Vec::new();
            for (i, status) in statuses.into_iter().enumerate() {
                let at = (chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z").unwrap() + chrono::Duration::minutes(i as i64)).to_rfc3339();
                let (next, decision) = step(&before, &event(&format!("e{i}"), status.as_str(), &at, "en"));
                if let Some(message) = decision.message {
                    if message.kind != MessageKind::OrderDelayed {
                        proptest::prop_assert!(!sent.contains(&message.kind), "{:?} sent twice", message.kind);
                    }
                    sent.push(message.kind);
                }
                before = next;
            }
        }
    }

    #[test]
    fn the_largest_amounts_never_overflow() {
        let mut e = event("e1", "placed", "2026-11-20T10:00:00Z", "en");
        e.items[0].unit_price = Some(crate::money::Amount::parse("999999999999.999999").unwrap());
        e.items[0].quantity = crate::event::Quantity::new(10_000).unwrap();
        e.total = Some(crate::money::Money {
            amount: crate::money::Amount::parse("999999999999.999999").unwrap(),
            currency: crate::money::Currency::parse("EUR").unwrap(),
        });
        let mut before = BeforeEvent::default();
        for i in 0..3 {
            let mut next = e.clone();
            next.order_id = crate::ids::OrderId::parse(format!("big-{i}")).unwrap();
            next.event_id = crate::ids::EventId::parse(format!("e{i}")).unwrap();
            before.order = None;
            let (j, d) = step(&before, &next);
            assert!(d.message.is_some(), "{}", d.note);
            before = j;
        }
        let spent = before
            .profile
            .unwrap()
            .spent
            .values()
            .next()
            .unwrap()
            .value();
        assert!(spent < crate::money::Amount::LIMIT);
    }

    #[test]
    fn order_status_news_waits_for_the_morning_only_when_the_shop_says_so() {
        // 23:30 in Moscow.
        let e = event("e1", "shipped", "2026-11-20T20:30:00Z", "en");
        let d = decide_order_event(&BeforeEvent::default(), &e, &settings()).unwrap();
        assert_eq!(d.deliver_at, None, "exempt by default");
        let mut s = settings();
        s.policy.quiet_hours_for_order_status = true;
        let d = decide_order_event(&BeforeEvent::default(), &e, &s).unwrap();
        assert_eq!(d.deliver_at, Some("2026-11-21T06:00:00Z".parse().unwrap()));
        assert!(
            d.message.is_some() && d.note.contains("quiet hours"),
            "{}",
            d.note
        );
    }

    #[test]
    fn decisions_are_deterministic() {
        let e = event("e1", "placed", "2026-11-20T10:00:00Z", "en");
        let a = decide_order_event(&BeforeEvent::default(), &e, &settings()).unwrap();
        let b = decide_order_event(&BeforeEvent::default(), &e, &settings()).unwrap();
        assert_eq!(a, b);
    }
}
