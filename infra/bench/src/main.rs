//! `make bench`: what one event costs. On the local emulator, through the real handlers, for
//! each order event and for a sweep sending a follow-up: the DynamoDB requests by operation, the
//! write and read units DynamoDB would bill for them (from the items' real sizes, index writes
//! included), and the SES calls. Under callgrind: the instructions of the domain's decisions
//! and layouts. Of each function's release binary: its size and its cold start against a stub
//! runtime API. Prints the tables and writes them as JSON.
//!
//! `aftercare-bench <out dir> <release dir>`: the release dir holds the release builds of the
//! functions and of `aftercare-bench-cpu` (`make bench` builds them first).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aftercare_adapters::aws::AwsClients;
use aftercare_adapters::clock::ManualClock;
use aftercare_bench::billing::WriteUnits;
use aftercare_bench::cpu::{self, WorkCost};
use aftercare_bench::init::{self, BinaryCost};
use aftercare_bench::meter::{Meter, Metered};
use aftercare_localstack::{LocalStack, SENDER_DOMAIN};
use aftercare_twin_fixtures::{at, envelope, order_event};
use anyhow::{Context, Result};
use order_events::OrderEventsFunction;
use schedule::ScheduleFunction;
use serde::Serialize;
use ses_events::SesEventsFunction;

/// What one step cost.
#[derive(Debug, Clone, Serialize)]
struct StepCost {
    /// The step, in words.
    step: String,
    /// DynamoDB requests by operation.
    requests: BTreeMap<String, u32>,
    /// Write units on the table.
    table_write_units: u64,
    /// Write units on the indexes.
    index_write_units: u64,
    /// Read units.
    read_units: f64,
    /// SES calls by operation.
    ses: BTreeMap<String, u32>,
    /// EventBridge calls.
    eventbridge: u32,
    /// The largest item written, in bytes, and its key.
    largest_item: (u64, String),
    /// Emails sent.
    emails: u32,
}

impl StepCost {
    fn of(step: &str, calls: &[Metered]) -> Self {
        if std::env::var_os("BENCH_VERBOSE").is_some() {
            for call in calls {
                eprintln!(
                    "{step}: {} {:?} {:?} {:?}",
                    call.operation, call.write, call.read, call.items
                );
            }
        }
        let mut cost = Self {
            step: step.to_owned(),
            requests: BTreeMap::new(),
            table_write_units: 0,
            index_write_units: 0,
            read_units: 0.0,
            ses: BTreeMap::new(),
            eventbridge: 0,
            largest_item: (0, String::new()),
            emails: 0,
        };
        let mut write = WriteUnits::default();
        for call in calls {
            match call.service {
                aftercare_fault_proxy::Service::DynamoDb => {
                    *cost.requests.entry(call.operation.clone()).or_default() += 1;
                }
                aftercare_fault_proxy::Service::Ses => {
                    *cost.ses.entry(call.operation.clone()).or_default() += 1;
                    if call.operation == "SendEmail" && call.succeeded {
                        cost.emails += 1;
                    }
                }
                aftercare_fault_proxy::Service::EventBridge => cost.eventbridge += 1,
                aftercare_fault_proxy::Service::Other => {}
            }
            write += call.write;
            cost.read_units += call.read;
            for (key, size) in &call.items {
                if *size > cost.largest_item.0 {
                    cost.largest_item = (*size, key.clone());
                }
            }
        }
        cost.table_write_units = write.table;
        cost.index_write_units = write.index;
        cost
    }

    fn write_units(&self) -> u64 {
        self.table_write_units + self.index_write_units
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "out/bench".into()),
    );
    let release = PathBuf::from(
        std::env::args()
            .nth(2)
            .unwrap_or_else(|| "target/release".into()),
    );
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let stack = LocalStack::start()?;
    // The clients that set the emulator up, straight to it (the functions' go through the meter).
    let direct = AwsClients::from_config(&stack.sdk_config().await);
    let steps = dynamodb_costs(&stack, &direct).await?;
    print_table(&steps);
    let model = CostModel::of(&steps);
    model.print();
    let work = cpu::measure(&release.join("aftercare-bench-cpu"), &out)?;
    print_work(&work);
    let binaries = binary_costs(&stack, &direct, &release).await?;
    print_binaries(&binaries);
    let report = serde_json::json!({
        "events": steps, "per_1000_orders": model, "cpu": work, "binaries": binaries
    });
    let path = out.join("bench.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("\nWritten to {}", path.display());
    Ok(())
}

/// One customer's journey through the real handlers on the emulator, each step metered.
async fn dynamodb_costs(stack: &LocalStack, direct: &AwsClients) -> Result<Vec<StepCost>> {
    let table = "aftercare-bench-journeys";
    stack.create_table(&direct.dynamodb, table).await?;
    stack.verify_identity(&direct.sesv2, SENDER_DOMAIN).await?;
    let meter = Meter::start(
        stack.endpoint(),
        aftercare_bench::meter::table_shape(&direct.dynamodb, table).await?,
    )?;
    let clients =
        AwsClients::from_config(&aftercare_localstack::sdk_config_at(meter.endpoint()).await);
    let config = aftercare_localstack::local_shop_config(table)?;
    let placed_at = at("2026-11-02T17:00:00Z");
    let clock = ManualClock::new(placed_at);
    let orders = OrderEventsFunction::new(&clients, &config, Arc::new(clock.clone()));
    let schedule = ScheduleFunction::new(&clients, &config, Arc::new(clock.clone()))?;
    let ses = SesEventsFunction::new(&clients, &config, Arc::new(clock.clone()));

    let mut steps = Vec::new();
    let customer = "cus-bench-1";
    for (status, when) in [
        ("placed", "2026-11-02T17:00:00Z"),
        ("shipped", "2026-11-03T17:00:00Z"),
        ("delivered", "2026-11-05T17:00:00Z"),
    ] {
        clock.set(at(when));
        let event = order_event(status, customer, "B-1", &format!("B-1-{status}"), when);
        meter.take();
        orders
            .process_body(&envelope(&event), &format!("bench-{status}"))
            .await
            .with_context(|| format!("the {status} event"))?;
        steps.push(StepCost::of(
            &format!("order event `{status}`"),
            &meter.take(),
        ));
    }
    // The review request falls due three days after delivery, at 10:00 in the customer's zone.
    // The schedule runs every few minutes: the run before this one left its checkpoint.
    let review_due = at("2026-11-08T18:00:00Z");
    let run_before = review_due - chrono::Duration::minutes(10);
    clock.set(run_before);
    schedule.run(run_before, "bench-sweep-before", None).await?;
    clock.set(review_due);
    meter.take();
    let report = schedule.run(review_due, "bench-sweep", None).await?;
    let sent: Vec<String> = report
        .decisions
        .iter()
        .map(|d| format!("{} {}", d.decision, d.key))
        .collect();
    steps.push(StepCost::of(
        &format!("sweep: {}", sent.join(", ")),
        &meter.take(),
    ));
    let mail = stack.sent_mail()?;
    let first = mail.first().context("nothing was sent")?;
    let bounce = aftercare_localstack::ses_event_body(
        first,
        "Bounce",
        serde_json::json!({"bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": first.to, "action": "failed", "status": "5.1.1"}],
            "timestamp": "2026-11-08T18:05:00.000Z", "feedbackId": "bench-bounce-1"}),
    )
    .context("the sent mail has no reference")?;
    let delivery = aftercare_localstack::ses_event_body(
        first,
        "Delivery",
        serde_json::json!({"timestamp": "2026-11-08T18:00:02.000Z", "recipients": [first.to],
            "processingTimeMillis": 900, "smtpResponse": "250 2.0.0 OK",
            "reportingMTA": "a8-1.smtp-out.amazonses.com"}),
    )
    .context("the sent mail has no reference")?;
    meter.take();
    ses.process_body(&delivery).await?;
    steps.push(StepCost::of(SES_DELIVERY, &meter.take()));
    meter.take();
    ses.process_body(&bounce).await?;
    steps.push(StepCost::of(SES_BOUNCE, &meter.take()));
    Ok(steps)
}

fn print_table(steps: &[StepCost]) {
    println!(
        "{:<44} {:>6} {:>6} {:>6} {:>6} {:>6}  requests",
        "step", "WCU", "table", "index", "RCU", "emails"
    );
    println!("{}", "-".repeat(130));
    for step in steps {
        let requests: Vec<String> = step
            .requests
            .iter()
            .map(|(op, n)| {
                if *n == 1 {
                    op.clone()
                } else {
                    format!("{n} {op}")
                }
            })
            .chain(step.ses.iter().map(|(op, n)| format!("SES {op}×{n}")))
            .collect();
        println!(
            "{:<44} {:>6} {:>6} {:>6} {:>6.1} {:>6}  {}",
            step.step,
            step.write_units(),
            step.table_write_units,
            step.index_write_units,
            step.read_units,
            step.emails,
            requests.join(", ")
        );
        println!(
            "{:<44} largest item written: {} bytes ({})",
            "", step.largest_item.0, step.largest_item.1
        );
    }
}

/// Each function's release binary in `release`: its size, and its cold starts against a stub
/// runtime API with the local shop's configuration, its keys read from the emulator's secrets.
async fn binary_costs(
    stack: &LocalStack,
    direct: &AwsClients,
    release: &Path,
) -> Result<Vec<BinaryCost>> {
    let table = "aftercare-bench-init";
    let link_secret = stack.provision(direct, table).await?;
    let shared = aftercare_local::local_function_environment(stack.endpoint(), table, &link_secret);
    let mut costs = Vec::new();
    for function in init::FUNCTIONS {
        let environment = aftercare_local::environment_of(function, &shared);
        costs.extend(init::measure_one(
            release,
            function,
            &environment,
            INIT_STARTS,
        )?);
    }
    Ok(costs)
}

/// How many cold starts of each binary are timed.
const INIT_STARTS: usize = 15;

fn print_work(work: &[WorkCost]) {
    println!(
        "\n{:<44} {:>14}",
        "domain work (release build)", "instructions"
    );
    println!("{}", "-".repeat(60));
    for piece in work {
        println!(
            "{:<44} {:>14}",
            piece.description,
            thousands(piece.instructions)
        );
    }
}

fn print_binaries(binaries: &[BinaryCost]) {
    println!(
        "\n{:<20} {:>12} {:>10} {:>14} {:>12}",
        "function", "bytes", "MiB", "init median", "init fastest"
    );
    println!("{}", "-".repeat(72));
    for binary in binaries {
        println!(
            "{:<20} {:>12} {:>10.2} {:>11.1} ms {:>9.1} ms",
            binary.function,
            thousands(binary.bytes),
            binary.bytes as f64 / (1024.0 * 1024.0),
            binary.init_median_ms,
            binary.init_min_ms
        );
    }
}

/// `n` with thousands separated by commas.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// DynamoDB on-demand: dollars per write unit ($0.625 per million).
const WRITE_UNIT_PRICE: f64 = 0.625e-6;
/// DynamoDB on-demand: dollars per read unit ($0.125 per million).
const READ_UNIT_PRICE: f64 = 0.125e-6;
/// SES: dollars per email sent ($0.10 per 1,000).
const SES_EMAIL_PRICE: f64 = 0.10e-3;
/// Lambda on arm64: dollars per GB-second, and per request ($0.20 per million).
const LAMBDA_GB_SECOND_PRICE: f64 = 0.000_013_333_4;
const LAMBDA_REQUEST_PRICE: f64 = 0.20e-6;
/// The functions' memory (template.yaml), in GB, and the billed time assumed per invocation:
/// the emulator's latency says nothing of AWS's, so this is an assumption, not a measurement.
const LAMBDA_MEMORY_GB: f64 = 0.25;
const ASSUMED_BILLED_SECONDS: f64 = 0.1;

/// The steps of SES's reports: a delivery (every email gets one, from the configuration set's
/// `delivery` event) and a bounce (rare).
const SES_DELIVERY: &str = "SES delivery report";
const SES_BOUNCE: &str = "SES bounce";

/// What 1,000 orders cost whose journey is the one measured (the order events and the sweep),
/// each email with SES's reports of its sending (ignored) and delivery, at on-demand prices.
#[derive(Debug, Clone, Serialize)]
struct CostModel {
    /// Emails per order in the journey measured.
    emails_per_order: u32,
    /// Write and read units per order.
    write_units_per_order: u64,
    read_units_per_order: f64,
    /// Dollars per 1,000 orders.
    dynamodb: f64,
    ses: f64,
    lambda: f64,
    total: f64,
}

impl CostModel {
    fn of(steps: &[StepCost]) -> Self {
        let journey: Vec<&StepCost> = steps
            .iter()
            .filter(|s| s.step != SES_DELIVERY && s.step != SES_BOUNCE)
            .collect();
        let report = steps.iter().find(|s| s.step == SES_DELIVERY);
        let emails: u32 = journey.iter().map(|s| s.emails).sum();
        let (report_writes, report_reads) =
            report.map_or((0, 0.0), |r| (r.write_units(), r.read_units));
        let writes: u64 = journey.iter().map(|s| s.write_units()).sum::<u64>()
            + u64::from(emails) * report_writes;
        let reads: f64 =
            journey.iter().map(|s| s.read_units).sum::<f64>() + f64::from(emails) * report_reads;
        let orders = 1000.0;
        let dynamodb = orders * (writes as f64 * WRITE_UNIT_PRICE + reads * READ_UNIT_PRICE);
        let ses = orders * f64::from(emails) * SES_EMAIL_PRICE;
        // SES reports each email's send (ignored, but an invocation) and its delivery.
        let invocations = orders * (journey.len() as f64 + 2.0 * f64::from(emails));
        let lambda = invocations
            * (LAMBDA_MEMORY_GB * ASSUMED_BILLED_SECONDS * LAMBDA_GB_SECOND_PRICE
                + LAMBDA_REQUEST_PRICE);
        Self {
            emails_per_order: emails,
            write_units_per_order: writes,
            read_units_per_order: reads,
            dynamodb,
            ses,
            lambda,
            total: dynamodb + ses + lambda,
        }
    }

    fn print(&self) {
        println!(
            "\nper 1,000 orders of this journey ({} emails with their delivery reports, {} write and {:.0} read units an order): \
             DynamoDB ${:.3}, SES ${:.2}, Lambda ${:.3} (an invocation a step and two an email, for its send and delivery reports; 100 ms at 256 MB, arm64): ${:.2}",
            self.emails_per_order,
            self.write_units_per_order,
            self.read_units_per_order,
            self.dynamodb,
            self.ses,
            self.lambda,
            self.total
        );
    }
}
