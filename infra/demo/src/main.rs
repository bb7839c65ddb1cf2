//! `make demo`: realistic customer journeys through the real order-events handler, on a local
//! AWS emulator. Prints a timeline (time, customer, event, what was sent or why not) and writes
//! every sent email, read back from the emulator, as a browsable HTML outbox.

mod scenario;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::clock::ManualClock;
use aftercare_adapters::items::JourneyItem;
use aftercare_adapters::outbox::SendOutcome;
use aftercare_adapters::ports::JourneyStore;
use aftercare_journey::ids::CustomerId;
use aftercare_localstack::{LocalStack, SentMail};
use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use feedback::FeedbackFunction;
use helpdesk_events::HelpdeskEventsFunction;
use order_events::{OrderEventsFunction, RecordOutcome};
use schedule::ScheduleFunction;

use aftercare_localstack::SENDER_DOMAIN;

use crate::scenario::Step;

/// How many days the demo replays.
const SIMULATED_DAYS: i64 = 120;
/// How often the schedule runs in simulated time.
const SWEEP_EVERY_HOURS: i64 = 3;

#[tokio::main]
async fn main() -> Result<()> {
    let out = output_dir()?;
    println!("Starting the local AWS emulator (moto server)...");
    let stack = LocalStack::start()?;
    let sdk = stack.sdk_config().await;
    let clients = AwsClients::from_config(&sdk);
    let table = "aftercare-demo-journeys";
    stack.create_table(&clients.dynamodb, table).await?;
    stack.verify_identity(&clients.sesv2, SENDER_DOMAIN).await?;
    let config = aftercare_localstack::local_shop_config_with(
        table,
        &[(
            "REFERRAL_BONUS",
            "10% off the next order for you and your friend",
        )],
    )?;
    stack
        .route_handoffs(
            &clients.eventbridge,
            config.event_bus.as_deref().unwrap_or_default(),
        )
        .await?;
    // The demo replays about 120 days: the wall clock (leases, claims) follows simulated time,
    // as it does in production, and the schedule runs every few simulated hours.
    let start: DateTime<Utc> = "2026-09-09T00:00:00Z".parse()?;
    let end = start + Duration::days(SIMULATED_DAYS);
    let clock = ManualClock::new(start);
    let function = OrderEventsFunction::new(&clients, &config, Arc::new(clock.clone()));
    let schedule = ScheduleFunction::new(&clients, &config, Arc::new(clock.clone()))?;
    let feedback = FeedbackFunction::new(&clients, &config, Arc::new(clock.clone()));
    let helpdesk = HelpdeskEventsFunction::new(&clients, &config.core(), Arc::new(clock.clone()));
    let ses_events = ses_events::SesEventsFunction::new(&clients, &config, Arc::new(clock.clone()));
    println!("Table {table} created from template.yaml; sending domain {SENDER_DOMAIN} verified.");
    println!(
        "Replaying {SIMULATED_DAYS} days from {} with the schedule every {} hours...\n",
        start.format("%Y-%m-%d"),
        SWEEP_EVERY_HOURS
    );

    let names: BTreeMap<&str, &str> = scenario::customers().into_iter().collect();
    let mut timeline = String::new();
    let heading = format!(
        "{:<17} {:<22} {:<40} {}",
        "time (UTC)", "customer", "event", "outcome"
    );
    writeln!(timeline, "{heading}\n{}", "-".repeat(120))?;
    let mut next_sweep = start;
    let mut steps = scenario::steps().into_iter().peekable();
    loop {
        let step_at = steps.peek().map(scenario::Step::at);
        if next_sweep <= end && step_at.is_none_or(|at| next_sweep <= at) {
            clock.set(next_sweep);
            let report = schedule.run(next_sweep, "demo", None).await?;
            for d in &report.decisions {
                let name = names.get(d.customer_id.as_str()).copied().unwrap_or("?");
                let what = format!("schedule: {}", d.key);
                let outcome = match d.decision.as_str() {
                    "sent" => format!("SENT \u{201c}{}\u{201d}", d.detail),
                    other => format!("{}: {}", other.to_uppercase(), d.detail),
                };
                writeln!(
                    timeline,
                    "{:<17} {name:<22} {what:<40}  {outcome}",
                    next_sweep.format("%Y-%m-%d %H:%M")
                )?;
            }
            if report.relayed > 0 {
                writeln!(
                    timeline,
                    "{:<17} {:<22} {:<40}  RELAYED {} outbox message(s) whose sender died",
                    next_sweep.format("%Y-%m-%d %H:%M"),
                    "",
                    "schedule: outbox",
                    report.relayed
                )?;
            }
            next_sweep += Duration::hours(SWEEP_EVERY_HOURS);
            continue;
        }
        let Some(step) = steps.next() else { break };
        clock.set(step.at());
        match step {
            Step::Batch { title, records, .. } => {
                if let Some(title) = title {
                    writeln!(timeline, "\n== {title}")?;
                }
                let described: Vec<_> = records.iter().map(|r| r.describe.clone()).collect();
                let report = function
                    .handle_batch(scenario::sqs_event(&records), "demo")
                    .await;
                for (record, describe) in report.records.iter().zip(described) {
                    let outcome = match &record.result {
                        Ok(outcome) => describe_outcome(outcome),
                        Err(error) => format!(
                            "REPORTED AS FAILED to SQS (goes to the DLQ after 5 tries): {error}"
                        ),
                    };
                    writeln!(timeline, "{describe}  {outcome}")?;
                }
                if !report.response.batch_item_failures.is_empty() {
                    let ids: Vec<_> = report
                        .response
                        .batch_item_failures
                        .iter()
                        .map(|f| f.item_identifier.as_str())
                        .collect();
                    writeln!(timeline, "{:<17} batch response: batchItemFailures = {ids:?}; the other records are done\n", "")?;
                }
            }
            Step::Crash { title, record, .. } => {
                writeln!(timeline, "\n== {title}")?;
                let event = aftercare_journey::event::parse_order_event(
                    &record.body,
                    &aftercare_journey::event::AcceptedYears::default(),
                )?;
                function.apply(&event, "demo-crashed-invocation").await?;
                writeln!(
                    timeline,
                    "{}  applied and written to the outbox; the invocation dies before sending\n",
                    record.describe
                )?;
            }
            Step::Rate {
                at,
                customer,
                order,
                score,
                comment,
            } => {
                let name = names.get(customer).copied().unwrap_or("?");
                let before = stack.sent_mail()?.len();
                let handoffs_before = stack.handoffs()?.len();
                let token = rating_token(&config, customer, order, at)?;
                let request = lambda_http::http::Request::builder()
                    .method("GET")
                    .uri(format!("/rate?token={token}&score={score}"))
                    .body(lambda_http::Body::Empty)?;
                let response = feedback.handle(request).await;
                let mut what = format!(
                    "clicks {score} of 5 on the review request of order {order}: page {}",
                    response.status().as_u16()
                );
                if let Some(comment) = comment {
                    let body = format!("token={token}&comment={}", comment.replace(' ', "+"));
                    let request = lambda_http::http::Request::builder()
                        .method("POST")
                        .uri("/rate/comment")
                        .body(lambda_http::Body::Text(body))?;
                    let response = feedback.handle(request).await;
                    what.push_str(&format!(
                        "; adds a comment: page {}",
                        response.status().as_u16()
                    ));
                }
                writeln!(
                    timeline,
                    "{:<17} {name:<22} {:<40}  {what}",
                    at.format("%Y-%m-%d %H:%M"),
                    "feedback: rating"
                )?;
                for mail in stack.sent_mail()?.into_iter().skip(before) {
                    writeln!(
                        timeline,
                        "{:<17} {:<22} {:<40}  SENT \u{201c}{}\u{201d} to {}",
                        "", "", "", mail.subject, mail.to
                    )?;
                }
                let handoffs = stack.handoffs()?.len() - handoffs_before;
                if handoffs > 0 {
                    writeln!(timeline, "{:<17} {:<22} {:<40}  PUBLISHED {handoffs} HandoffRequested event: a person is called", "", "", "")?;
                }
            }
            Step::Resolve { at, customer } => {
                let name = names.get(customer).copied().unwrap_or("?");
                let event = serde_json::json!({
                    "version": "0", "id": format!("demo-{customer}"), "detail-type": "IssueResolved",
                    "source": "helpdesk.demo", "account": "123456789012", "time": at, "region": "us-east-1",
                    "resources": [], "detail": {"customer_id": customer}
                });
                let outcome = match helpdesk.resolve(&event).await? {
                    helpdesk_events::Resolution::Resolved(resolved) => format!(
                        "issue about order {} closed after {} hours; promotions resume",
                        resolved.order_id,
                        resolved.seconds_to_resolution / 3600
                    ),
                    helpdesk_events::Resolution::Refused(invalid) => format!("refused: {invalid}"),
                    _ => "no open issue".to_owned(),
                };
                writeln!(
                    timeline,
                    "{:<17} {name:<22} {:<40}  {outcome}",
                    at.format("%Y-%m-%d %H:%M"),
                    "helpdesk: IssueResolved"
                )?;
            }
            Step::Unsubscribe {
                at,
                customer,
                email,
                kind,
            } => {
                let name = names.get(customer).copied().unwrap_or("?");
                let mail = last_mail(&stack, email, kind)?;
                let header = mail
                    .list_unsubscribe
                    .clone()
                    .context("a non-transactional message carries List-Unsubscribe")?;
                let link = header
                    .split(['<', '>'])
                    .find(|part| part.starts_with("https://"))
                    .context("List-Unsubscribe has an https link")?;
                let url = url::Url::parse(link)?;
                let request = lambda_http::http::Request::builder()
                    .method("POST")
                    .uri(format!(
                        "{}?{}",
                        url.path(),
                        url.query().unwrap_or_default()
                    ))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(lambda_http::Body::Text("List-Unsubscribe=One-Click".into()))?;
                let response = feedback.handle(request).await;
                let page = format!("preferences-{customer}.html");
                if let lambda_http::Body::Text(html) = response.body() {
                    std::fs::write(out.join("outbox").join(&page), html)?;
                }
                writeln!(
                    timeline,
                    "{:<17} {name:<22} {:<40}  presses Unsubscribe on \u{201c}{}\u{201d}: one-click POST, {}; the page is outbox/{page}",
                    at.format("%Y-%m-%d %H:%M"),
                    "mail app: List-Unsubscribe",
                    mail.subject,
                    response.status().as_u16()
                )?;
            }
            Step::Bounce {
                at,
                customer,
                email,
                kind,
            } => {
                let name = names.get(customer).copied().unwrap_or("?");
                let mail = last_mail(&stack, email, kind)?;
                let report = serde_json::json!({
                    "bounceType": "Permanent", "bounceSubType": "General",
                    "bouncedRecipients": [{"emailAddress": email, "action": "failed", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 mailbox does not exist"}],
                    "timestamp": at, "feedbackId": format!("demo-bounce-{customer}"), "reportingMTA": "dsn; mx.example.ru"
                });
                let body = aftercare_localstack::ses_event_body(&mail, "Bounce", report)
                    .context("our mail carries its reference")?;
                let outcome = ses_events.process_body(&body).await?;
                writeln!(
                    timeline,
                    "{:<17} {name:<22} {:<40}  \u{201c}{}\u{201d} bounced for good: {outcome:?}; nothing more is sent to the address",
                    at.format("%Y-%m-%d %H:%M"),
                    "SES: Bounce (Permanent)",
                    mail.subject
                )?;
            }
        }
    }
    print!("{timeline}");

    let mut summary = String::new();
    writeln!(summary, "\nJourneys, each read back with one Query:")?;
    for (id, name) in scenario::customers() {
        let items = function
            .store()
            .customer_items(&CustomerId::parse(id)?)
            .await?;
        writeln!(summary, "{}", describe_journey(name, &items))?;
    }
    print!("{summary}");

    let mail = stack.sent_mail()?;
    let index = write_outbox(&out, &mail)?;
    std::fs::write(out.join("timeline.txt"), format!("{timeline}{summary}"))?;
    println!("\n{} emails sent. Outbox: {}", mail.len(), index.display());
    println!("Timeline: {}", out.join("timeline.txt").display());
    println!("Stopping the emulator.");
    drop(stack);
    Ok(())
}

/// The last message of `kind` sent to `email`.
fn last_mail(stack: &LocalStack, email: &str, kind: &str) -> Result<SentMail> {
    stack
        .sent_mail()?
        .into_iter()
        .rfind(|m| m.to == email && m.kind == kind)
        .with_context(|| format!("no {kind} message was sent to {email}"))
}

/// A rating link's token for `customer` and `order`, as the review request carried it.
fn rating_token(
    config: &aftercare_adapters::config::Config,
    customer: &str,
    order: &str,
    at: DateTime<Utc>,
) -> Result<String> {
    let key = config
        .settings
        .links
        .as_ref()
        .and_then(|links| links.keys.first())
        .context("the local shop has rating-link keys")?;
    let claims = aftercare_journey::links::LinkClaims {
        customer: CustomerId::parse(customer)?,
        order: aftercare_journey::ids::OrderId::parse(order)?,
        kind: aftercare_journey::message::MessageKind::ReviewRequest,
        expires_at: at + Duration::days(30),
    };
    Ok(aftercare_journey::links::sign(key, &claims))
}

fn output_dir() -> Result<PathBuf> {
    let mut args = std::env::args().skip(1);
    let mut out = PathBuf::from("out/demo");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = PathBuf::from(args.next().context("--out needs a directory")?),
            other => anyhow::bail!("unknown argument {other:?}; usage: aftercare-demo [--out DIR]"),
        }
    }
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(out.join("outbox"))
        .with_context(|| format!("creating {}", out.display()))?;
    Ok(out)
}

fn describe_outcome(outcome: &RecordOutcome) -> String {
    match outcome {
        RecordOutcome::Processed {
            note,
            message: Some((subject, SendOutcome::Sent { .. })),
            ..
        } => {
            format!("SENT \u{201c}{subject}\u{201d} ({note})")
        }
        RecordOutcome::Processed {
            note,
            message: Some((subject, SendOutcome::Waiting { .. })),
            ..
        } => format!("WAITS \u{201c}{subject}\u{201d} ({note})"),
        RecordOutcome::Processed {
            note,
            message: Some((subject, delivery)),
            ..
        } => {
            format!("NOT SENT \u{201c}{subject}\u{201d}: {delivery:?} ({note})")
        }
        RecordOutcome::Processed {
            note,
            message: None,
            ..
        } => format!("NOTHING SENT: {note}"),
        RecordOutcome::Duplicate { event_id, .. } => {
            format!("NOTHING SENT: duplicate delivery, event {event_id} was already applied")
        }
    }
}

fn describe_journey(name: &str, items: &[JourneyItem]) -> String {
    let mut profile = String::new();
    let mut orders = Vec::new();
    let mut messages = 0;
    let mut follow_ups = 0;
    for item in items {
        match item {
            JourneyItem::Profile(p) => {
                let spent: Vec<String> = p
                    .value
                    .spent
                    .iter()
                    .map(|(c, a)| format!("{} {c}", a.value()))
                    .collect();
                let count = p.value.orders_count;
                profile = format!(
                    "{count} order{}, spent {}",
                    if count == 1 { "" } else { "s" },
                    spent.join(" + ")
                );
            }
            JourneyItem::Order(o) => orders.push(format!(
                "{} {} ({} events)",
                o.value.order_id,
                o.value.status,
                o.value.timeline.len()
            )),
            JourneyItem::Message(_) => messages += 1,
            JourneyItem::Event(_) | JourneyItem::Decision(_) => {}
            JourneyItem::FollowUp(_) => follow_ups += 1,
        }
    }
    format!(
        "  {name}: {profile}; orders {}; {messages} messages logged; {follow_ups} follow-ups planned",
        orders.join(", ")
    )
}

fn slug(text: &str) -> String {
    let slug: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    slug.chars().take(40).collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn write_outbox(out: &Path, mail: &[SentMail]) -> Result<PathBuf> {
    let dir = out.join("outbox");
    let mut rows = String::new();
    let mut first_page = String::new();
    for (n, message) in mail.iter().enumerate() {
        let base = format!(
            "{:02}-{}-{}",
            n + 1,
            message.kind.replace('_', "-"),
            slug(&message.subject)
        );
        std::fs::write(dir.join(format!("{base}.html")), &message.html)?;
        if first_page.is_empty() {
            first_page = format!("{base}.html");
        }
        std::fs::write(dir.join(format!("{base}.txt")), &message.text)?;
        let text_page = format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title></head><body><pre style=\"white-space:pre-wrap;font:14px/1.5 monospace;padding:16px\">{}</pre></body></html>",
            escape(&message.subject),
            escape(&message.text)
        );
        std::fs::write(dir.join(format!("{base}.text.html")), text_page)?;
        std::fs::write(dir.join(format!("{base}.eml")), &message.raw)?;
        writeln!(
            rows,
            "<tr><td>{}</td><td>{}{}</td><td>{}</td><td><a href=\"{base}.html\" target=\"view\">{}</a></td><td><a href=\"{base}.text.html\" target=\"view\">text</a> · <a href=\"{base}.eml\">raw MIME</a></td></tr>",
            n + 1,
            escape(&message.kind),
            if message.list_unsubscribe_post.is_some() {
                "<br><small>one-click unsubscribe</small>"
            } else {
                ""
            },
            escape(&message.to),
            escape(&message.subject),
        )?;
    }
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>aftercare demo outbox</title>\n<style>body{{font-family:system-ui,sans-serif;margin:0;display:flex;height:100vh}}#list{{width:55%;overflow:auto;padding:16px;box-sizing:border-box}}iframe{{flex:1;border:0;border-left:1px solid #ddd}}table{{border-collapse:collapse;font-size:14px}}td,th{{padding:6px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}}td:last-child{{white-space:nowrap}}</style></head>\n<body><div id=\"list\"><h1>aftercare demo outbox</h1><p>{} emails, as SES received them (read back from the local emulator). Click a subject to view it.</p>\n<table><tr><th>#</th><th>kind</th><th>to</th><th>subject</th><th>other forms</th></tr>\n{rows}</table></div><iframe name=\"view\" title=\"message\" src=\"{first}\"></iframe></body></html>\n",
        mail.len(),
        first = first_page,
    );
    let index = dir.join("index.html");
    std::fs::write(&index, page)?;
    Ok(index)
}
