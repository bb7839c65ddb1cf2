//! The soak's verdict, read from the emulator: every journey's messages against what the
//! journey implies, and every mail SES took against the messages decided.
//!
//! - Every event the shop published was decided once for its order (its order's timeline
//!   records it once).
//! - Each order's events, replayed one after another through the pure domain in the order the
//!   store applied them (its timeline), decide the same: applied or not, and the same kind of
//!   message or none. A write that took its own effect for someone else's, and decided again,
//!   would show here.
//! - Every message decided went out exactly once; no message was decided twice (two items of
//!   one message id, or two order-status messages of one kind for one order); no mail went out
//!   that no message stands for; nothing is left pending.
//! - A second send of a message is counted inside the documented window only when the proxy
//!   recorded, for that very message, an SES acceptance its sender never learned of (an answer
//!   dropped, or read by nobody because the sender had given up; a crash after SES accepted or
//!   before the send was recorded): SES has no idempotency key, so a sender that does not know
//!   its send went out sends it again. Any other second send is a bug.
//! - No follow-up due by the end was left undecided, and none was set aside as failed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::time::Duration as StdDuration;

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::config::Config;
use aftercare_adapters::dynamo::DynamoStore;
use aftercare_adapters::items::{
    follow_up_decisions, queued_message_sk, sortable_time, FollowUpStatus, JourneyItem,
    MessageItem, MessageStatus,
};
use aftercare_adapters::ports::JourneyStore;
use aftercare_fault_proxy::{CrashPoint, FaultKind, FaultStats, Injected, Service};
use aftercare_journey::event::parse_order_event;
use aftercare_journey::ids::CustomerId;
use aftercare_journey::order_status::{decide_order_event, BeforeEvent};
use aftercare_localstack::LocalStack;
use chrono::{DateTime, Utc};

use crate::journeys::PublishedEvent;
use crate::{RunCounts, SoakConfig};

/// The `ses_message_id` of a message that was only a call for a person.
const HANDOFF_ONLY: &str = "handoff published; no email";

/// What the end state shows.
#[derive(Debug, Default, Clone)]
pub struct Findings {
    /// Messages decided (each should have gone out once).
    pub messages_decided: usize,
    /// Of them, order-status news.
    pub order_status_messages: usize,
    /// Of them, follow-ups the schedule sent.
    pub follow_up_messages: usize,
    /// Messages that went out at least once.
    pub messages_sent: usize,
    /// Mail SES took for this soak.
    pub mails: usize,
    /// Second sends explained by a recorded SES acceptance the sender never learned of.
    pub window_duplicates: usize,
    /// Messages the proxy recorded such an event for.
    pub window_events: usize,
    /// Problems: each line says what and which.
    pub events_not_decided_once: Vec<String>,
    /// Decisions that differ from a sequential replay.
    pub replay_mismatches: Vec<String>,
    /// Messages decided and never sent, or left pending.
    pub lost: Vec<String>,
    /// Second sends the documented window does not explain, and messages decided twice.
    pub duplicates: Vec<String>,
    /// Mail no message stands for.
    pub unexpected_mail: Vec<String>,
    /// Messages marked failed.
    pub failed_messages: Vec<String>,
    /// Follow-ups due by the end and not decided, or set aside.
    pub undecided_follow_ups: Vec<String>,
    /// Follow-ups an order's events plan (replayed) that the store neither holds nor decided,
    /// and sends decided without their message.
    pub lost_follow_ups: Vec<String>,
    /// Follow-ups of orders the replay expects, checked.
    pub follow_ups_checked: usize,
}

/// A soak's figures and findings.
#[derive(Debug, Clone)]
pub struct SoakReport {
    /// What ran.
    pub config: SoakConfig,
    /// What was counted while it ran.
    pub counts: RunCounts,
    /// Records that reached the dead-letter queue, with what came of each receive.
    pub dead_letters: Vec<String>,
    /// What the proxy injected.
    pub faults: FaultStats,
    /// What the end state shows.
    pub findings: Findings,
    /// How long it took.
    pub wall_time: StdDuration,
}

impl SoakReport {
    /// Every broken guarantee, one line each; empty when the soak held.
    pub fn problems(&self) -> Vec<String> {
        let f = &self.findings;
        let mut problems = Vec::new();
        let mut add = |what: &str, list: &[String]| {
            if !list.is_empty() {
                let shown: Vec<&str> = list.iter().take(5).map(String::as_str).collect();
                problems.push(format!("{} {what}: {}", list.len(), shown.join("; ")));
            }
        };
        add(
            "events not decided exactly once",
            &f.events_not_decided_once,
        );
        add("decisions unlike a sequential replay", &f.replay_mismatches);
        add("messages lost", &f.lost);
        add("duplicates outside the documented window", &f.duplicates);
        add("mails no message stands for", &f.unexpected_mail);
        add("messages failed", &f.failed_messages);
        add("follow-ups left undecided", &f.undecided_follow_ups);
        add("follow-ups lost", &f.lost_follow_ups);
        add(
            "writes that took their own effect for someone else's",
            &self.counts.self_misreads,
        );
        add("records in the dead-letter queue", &self.dead_letters);
        problems
    }
}

impl fmt::Display for SoakReport {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        let f = &self.findings;
        writeln!(out, "soak (seed {})", self.config.seed)?;
        writeln!(
            out,
            "  events                 {} from {} customers, {} deliveries (each 1 to 3 times, shuffled within {})",
            c.events, self.config.customers, c.deliveries, self.config.shuffle_window
        )?;
        writeln!(
            out,
            "  invocations            {} order-events batches ({} records, {} at once), {} sweeps, {} rounds",
            c.invocations, c.records, self.config.concurrency, c.sweeps, c.rounds
        )?;
        writeln!(
            out,
            "  crashes                {} invocations killed",
            c.crashed_invocations
        )?;
        for point in CrashPoint::ALL {
            writeln!(
                out,
                "    {:<22} {}",
                point.as_str(),
                self.faults.crashes.get(&point).copied().unwrap_or(0)
            )?;
        }
        writeln!(
            out,
            "  faults injected        {} requests, {} forwarded",
            self.faults.requests, self.faults.forwarded
        )?;
        for kind in FaultKind::ALL {
            let by_service: Vec<String> = self
                .faults
                .faults
                .iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|((_, s), n)| format!("{} {n}", s.as_str()))
                .collect();
            writeln!(
                out,
                "    {:<22} {:>6}  {}",
                kind.as_str(),
                self.faults.count(kind),
                by_service.join(", ")
            )?;
        }
        writeln!(
            out,
            "    {:<22} {:>6}  (answers the caller had given up on)",
            "never read", self.faults.unread
        )?;
        let failures: BTreeMap<&String, &usize> = c.record_failures.iter().collect();
        writeln!(
            out,
            "  records retried by SQS {}",
            failures.values().copied().sum::<usize>()
        )?;
        for (reason, n) in failures {
            writeln!(out, "    {reason:<40} {n}")?;
        }
        writeln!(
            out,
            "  left for the relay     {} records done with their message kept in the outbox",
            c.left_for_relay
        )?;
        writeln!(
            out,
            "  sweeps failed          {} (the next run starts from the same checkpoint)",
            c.failed_sweeps
        )?;
        writeln!(out, "  dead letters           {}", self.dead_letters.len())?;
        writeln!(
            out,
            "  sweeps decided         sent {}, deferred {}, withheld {}, cancelled {}, relayed {}",
            c.sweep_totals[0],
            c.sweep_totals[1],
            c.sweep_totals[2],
            c.sweep_totals[3],
            c.sweep_totals[4]
        )?;
        writeln!(
            out,
            "  messages expected      {} ({} order-status, {} follow-ups)",
            f.messages_decided, f.order_status_messages, f.follow_up_messages
        )?;
        writeln!(
            out,
            "  messages sent          {} ({} mails)",
            f.messages_sent, f.mails
        )?;
        writeln!(
            out,
            "  follow-ups             {} of orders checked planned or decided, {} lost",
            f.follow_ups_checked,
            f.lost_follow_ups.len()
        )?;
        writeln!(out, "  lost                   {}", f.lost.len())?;
        writeln!(out, "  duplicated             {}", f.duplicates.len())?;
        writeln!(
            out,
            "  inside the documented window: {} second sends, of {} messages whose SES acceptance or its record was lost",
            f.window_duplicates, f.window_events
        )?;
        writeln!(out, "  self-misread writes    {}", c.self_misreads.len())?;
        writeln!(
            out,
            "  replay mismatches      {}",
            f.replay_mismatches.len()
        )?;
        writeln!(
            out,
            "  wall time              {:.1} s",
            self.wall_time.as_secs_f64()
        )?;
        let problems = self.problems();
        if problems.is_empty() {
            write!(out, "  verdict                every guarantee held")
        } else {
            writeln!(
                out,
                "  verdict                {} guarantees broken:",
                problems.len()
            )?;
            for problem in problems {
                writeln!(out, "    - {problem}")?;
            }
            Ok(())
        }
    }
}

/// The 32-hex-digit message id in a call's subject (an SES `message` tag, or a `MSG#` key).
fn message_id_in(subject: &str) -> Option<String> {
    subject
        .split(|c: char| !c.is_ascii_hexdigit())
        .rfind(|part| part.len() == 32)
        .map(str::to_owned)
}

/// Messages whose SES acceptance, or the record of it, their sender never learned of: SES
/// accepted the send and the answer was dropped (`lost_answer`, `lost_call`), or arrived after
/// the sender had given up (seen by the proxy as an answer never read), or the sender crashed
/// right after SES accepted it or right before recording it. Faults on the write recording a
/// send do not count: that write is retried and recognises its own effect.
fn window_messages(stats: &FaultStats) -> HashMap<String, usize> {
    let mut window: HashMap<String, usize> = HashMap::new();
    for event in &stats.events {
        let ses_send = event.call.service == Service::Ses && event.call.operation == "SendEmail";
        let in_window = match &event.injected {
            Injected::Crash(CrashPoint::AfterSesAccepted) => true,
            Injected::Crash(CrashPoint::BeforeMarkSent) => true,
            Injected::Crash(CrashPoint::AfterCommit) => false,
            Injected::Fault(FaultKind::LostAnswer | FaultKind::LostCall) | Injected::Unread => {
                ses_send && event.applied
            }
            Injected::Fault(_) => false,
        };
        if in_window {
            if let Some(id) = event.call.subject.as_deref().and_then(message_id_in) {
                *window.entry(id).or_default() += 1;
            }
        }
    }
    window
}

/// Reads every journey of the soak and every mail, and says what they show.
pub async fn check(
    stack: &LocalStack,
    clients: &AwsClients,
    config: &Config,
    events: &[PublishedEvent],
    run: &str,
    stats: &FaultStats,
    end: DateTime<Utc>,
) -> Result<Findings, String> {
    let store = DynamoStore::new(clients.dynamodb.clone(), &config.table_name);
    let by_id: HashMap<&str, &PublishedEvent> =
        events.iter().map(|e| (e.event_id.as_str(), e)).collect();
    let customers: Vec<&str> = {
        let mut ids: Vec<&str> = events.iter().map(|e| e.customer_id.as_str()).collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let mut findings = Findings::default();
    // Each event's entries in its order's timeline, and the message each queued.
    let mut decided_events: HashMap<String, usize> = HashMap::new();
    let mut queued: HashMap<String, String> = HashMap::new();
    let mut messages: Vec<MessageItem> = Vec::new();
    let mut orders = Vec::new();
    // Per customer: the keys of follow-ups standing, and of follow-ups decided.
    let mut standing_keys: HashSet<(String, String)> = HashSet::new();
    let mut decided_keys: HashSet<(String, String)> = HashSet::new();
    let mut sent_decisions: Vec<(String, String, String)> = Vec::new();
    let end_text = sortable_time(end);
    for customer in customers {
        let id = CustomerId::parse(customer).map_err(|e| e.to_string())?;
        let journey = store.customer_items(&id).await.map_err(|e| e.to_string())?;
        for decision in follow_up_decisions(&journey) {
            decided_keys.insert((customer.to_owned(), decision.key.clone()));
            if let (Some(message), "sent") = (decision.message_id, decision.decision.as_str()) {
                sent_decisions.push((customer.to_owned(), decision.key, message));
            }
        }
        for item in journey {
            if let JourneyItem::FollowUp(ref follow_up) = item {
                standing_keys.insert((customer.to_owned(), follow_up.follow_up.key.clone()));
            }
            match item {
                JourneyItem::Message(message) => messages.push(*message),
                JourneyItem::Order(order) => {
                    for entry in &order.value.timeline {
                        *decided_events
                            .entry(entry.event_id.to_string())
                            .or_default() += 1;
                        if let Some(sk) = queued_message_sk(&id, entry) {
                            queued.insert(entry.event_id.to_string(), sk);
                        }
                    }
                    orders.push(order.value)
                }
                JourneyItem::FollowUp(follow_up) => {
                    let due = follow_up.due_at.clone().unwrap_or_default();
                    match follow_up.status {
                        FollowUpStatus::Failed => findings.undecided_follow_ups.push(format!(
                            "{} set aside: {}",
                            follow_up.sk,
                            follow_up.last_error.unwrap_or_default()
                        )),
                        _ if due <= end_text => findings
                            .undecided_follow_ups
                            .push(format!("{} {} due {due}", follow_up.pk, follow_up.sk)),
                        _ => {}
                    }
                }
                JourneyItem::Profile(_) | JourneyItem::Decision(_) | JourneyItem::Event(_) => {}
            }
        }
    }
    for event in events {
        match decided_events.get(&event.event_id) {
            Some(1) => {}
            Some(times) => findings
                .events_not_decided_once
                .push(format!("{} decided {times} times", event.event_id)),
            None => findings
                .events_not_decided_once
                .push(format!("{} never decided", event.event_id)),
        }
    }
    let message_by_sk: HashMap<&str, &MessageItem> =
        messages.iter().map(|m| (m.sk.as_str(), m)).collect();

    // Each order's events, replayed one after another in the order the store applied them.
    let customer_of: HashMap<&str, &str> = events
        .iter()
        .map(|e| (e.order_id.as_str(), e.customer_id.as_str()))
        .collect();
    for order in &orders {
        let mut before = BeforeEvent::default();
        // The order's own follow-ups (its review request, watchdog, reminder) the replay plans
        // and does not cancel: each must stand in the store, or have been decided.
        let own = format!("#{}", order.order_id);
        let mut expected_follow_ups: BTreeMap<String, ()> = BTreeMap::new();
        for entry in &order.timeline {
            let Some(published) = by_id.get(entry.event_id.as_str()) else {
                findings.replay_mismatches.push(format!(
                    "order {}: an event nobody published: {}",
                    order.order_id, entry.event_id
                ));
                continue;
            };
            let event = parse_order_event(
                &published.detail.to_string(),
                &aftercare_journey::event::AcceptedYears::default(),
            )
            .map_err(|e| e.to_string())?;
            let decision =
                decide_order_event(&before, &event, &config.settings).map_err(|e| e.to_string())?;
            let expected = (decision.applied, decision.message.as_ref().map(|m| m.kind));
            let stored_kind = queued
                .get(entry.event_id.as_str())
                .and_then(|sk| message_by_sk.get(sk.as_str()))
                .map(|m| m.kind);
            let actual = (entry.applied, stored_kind);
            if expected != actual {
                findings.replay_mismatches.push(format!(
                    "order {} event {}: a sequential replay gives {expected:?}, the store {actual:?}",
                    order.order_id, entry.event_id
                ));
            }
            for planned in &decision.follow_ups.planned {
                if planned.key.ends_with(&own) {
                    expected_follow_ups.insert(planned.key.clone(), ());
                }
            }
            for cancelled in &decision.follow_ups.cancelled {
                expected_follow_ups.remove(&cancelled.key);
            }
            before = BeforeEvent {
                profile: Some(decision.profile),
                order: Some(decision.order),
            };
        }
        let customer = customer_of
            .get(order.order_id.as_str())
            .copied()
            .unwrap_or_default()
            .to_owned();
        for key in expected_follow_ups.into_keys() {
            findings.follow_ups_checked += 1;
            let at = (customer.clone(), key.clone());
            if !standing_keys.contains(&at) && !decided_keys.contains(&at) {
                findings.lost_follow_ups.push(format!(
                    "{customer} {key}: planned by order {}, neither standing nor decided",
                    order.order_id
                ));
            }
        }
    }

    // Every mail SES took for this soak, by message id.
    let marker = format!("+{run}@");
    let mails: Vec<aftercare_localstack::SentMail> =
        aftercare_localstack::sent_mail_at(stack.endpoint())
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|m| m.to.contains(&marker))
            .collect();
    findings.mails = mails.len();
    let mut sends: HashMap<String, usize> = HashMap::new();
    for mail in &mails {
        let id = mail
            .message_id
            .trim_start_matches('<')
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned();
        *sends.entry(id).or_default() += 1;
    }
    let window = window_messages(stats);
    findings.window_events = window.len();

    let mut seen_ids: HashMap<&str, &str> = HashMap::new();
    let mut order_kinds: HashSet<(String, String)> = HashSet::new();
    let mut standing: HashSet<&str> = HashSet::new();
    for message in &messages {
        if message.ses_message_id.as_deref() == Some(HANDOFF_ONLY) {
            continue;
        }
        findings.messages_decided += 1;
        standing.insert(message.message_id.as_str());
        if message.trigger.starts_with("event:") {
            findings.order_status_messages += 1;
            let order = message
                .order_id
                .as_ref()
                .map(|o| o.to_string())
                .unwrap_or_default();
            if !order_kinds.insert((order.clone(), message.kind.to_string())) {
                findings.duplicates.push(format!(
                    "order {order}: a second {} message decided",
                    message.kind
                ));
            }
        } else {
            findings.follow_up_messages += 1;
        }
        if let Some(other) = seen_ids.insert(&message.message_id, &message.sk) {
            findings.duplicates.push(format!(
                "message {} decided twice ({} and {})",
                message.message_id, other, message.sk
            ));
        }
        let count = sends.get(&message.message_id).copied().unwrap_or(0);
        match message.status {
            MessageStatus::Pending => findings.lost.push(format!(
                "{} {} still pending ({} sends)",
                message.kind, message.sk, count
            )),
            MessageStatus::Failed => findings.failed_messages.push(format!(
                "{} {}: {}",
                message.kind,
                message.sk,
                message.last_error.clone().unwrap_or_default()
            )),
            MessageStatus::Sent if count == 0 => findings.lost.push(format!(
                "{} {} marked sent, never mailed",
                message.kind, message.sk
            )),
            MessageStatus::Sent => {}
        }
        if count > 0 {
            findings.messages_sent += 1;
        }
        if count > 1 {
            let extra = count - 1;
            let explained = window.get(&message.message_id).copied().unwrap_or(0);
            if extra <= explained {
                findings.window_duplicates += extra;
            } else {
                findings.duplicates.push(format!(
                    "{} {} sent {count} times, {explained} explained by a lost acceptance",
                    message.kind, message.sk
                ));
            }
        }
    }
    for (customer, key, message) in &sent_decisions {
        if !standing.contains(message.as_str()) {
            findings.lost_follow_ups.push(format!(
                "{customer} {key}: decided as sent, and no message {message} stands for it"
            ));
        }
    }
    for (id, count) in &sends {
        if !standing.contains(id.as_str()) {
            findings
                .unexpected_mail
                .push(format!("message id {id:?} mailed {count} times"));
        }
    }
    Ok(findings)
}
