//! `aftercare-local`: the local stack and the functions' real binaries, for `make invoke`.
//!
//! - `aftercare-local invoke <function> <event.json>` sends the event to the function's real
//!   binary (through `cargo lambda invoke`) and prints the answer and the mail it sent, or
//!   fails after at most [`INVOKE_TIMEOUT`] saying what to do. The first call builds the
//!   binaries and starts `serve` in the background; later calls reuse it while its health
//!   check passes, so journeys build up across invocations as they would in a deployed stack.
//! - `aftercare-local serve` runs the emulator (moto server: DynamoDB, SES v2, EventBridge,
//!   Secrets Manager), `cargo lambda watch` and the function processes, which it starts again
//!   whenever they exit, in the foreground until stopped.
//! - `aftercare-local stop` stops a `serve` running in the background.
//!
//! With `AFTERCARE_FAULTS` set to a fault plan (`throttle=0.1,lost_answer=0.05,...`, see the
//! fault proxy), `serve` puts the fault-injecting proxy between the functions and the emulator,
//! and each `invoke` prints what it injected so far.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aftercare_adapters::aws::AwsClients;
use aftercare_local::{
    build_functions, local_function_environment, log_tail, signal_group, FunctionServer,
    LocalFunctions, FUNCTIONS, INVOKE_TIMEOUT,
};
use aftercare_localstack::{repository_root, sent_mail_at, LocalStack};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// The journey table of the local stack that `make invoke` runs against.
const TABLE: &str = "aftercare-local";
/// The port `cargo lambda watch` listens on unless `AFTERCARE_INVOKE_PORT` says otherwise.
const DEFAULT_INVOKE_PORT: u16 = 9000;

/// What a running `serve` tells later `invoke` and `stop` calls.
#[derive(Debug, Serialize, Deserialize)]
struct Running {
    /// The `serve` process, leader of its process group.
    pid: u32,
    /// The emulator.
    endpoint: String,
    /// Where `cargo lambda watch` listens.
    invoke_port: u16,
    /// The journey table.
    table: String,
    /// The fault plan in force between the functions and the emulator, if any.
    #[serde(default)]
    faults: Option<String>,
}

/// The fault plan asked for in `AFTERCARE_FAULTS`, if any.
fn requested_faults() -> Result<Option<String>> {
    match std::env::var("AFTERCARE_FAULTS") {
        Ok(line) if !line.trim().is_empty() => {
            let plan = aftercare_fault_proxy::FaultPlan::parse(&line)
                .with_context(|| "AFTERCARE_FAULTS (FAULTS=) is not a fault plan")?;
            Ok(Some(plan.to_string()))
        }
        _ => Ok(None),
    }
}

fn faults_file() -> PathBuf {
    state_dir().join("faults.txt")
}

/// The functions' clock (see `aftercare_adapters::clock::LOCAL_CLOCK_FILE`): the instant a call
/// replays with `AT=`, or no file for the system clock.
fn clock_file() -> PathBuf {
    state_dir().join("clock")
}

fn state_dir() -> PathBuf {
    let root = repository_root();
    std::fs::canonicalize(&root)
        .unwrap_or(root)
        .join("out/local")
}

fn state_file() -> PathBuf {
    state_dir().join("stack.json")
}

fn usage() -> ! {
    eprintln!(
        "usage: aftercare-local invoke <function> <event.json> | serve | stop\n\
         functions: {}",
        FUNCTIONS.join(", ")
    );
    std::process::exit(2)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["invoke", function, event] => invoke(function, Path::new(event)),
        ["serve"] => serve(),
        ["stop"] => stop(),
        _ => usage(),
    }
}

/// The functions of the `serve` described in `running`.
fn functions_of(running: &Running) -> LocalFunctions {
    LocalFunctions::new(running.invoke_port, &state_dir())
}

/// The health check of the `serve` described in `running`: Ok when its process runs, the
/// emulator and `cargo lambda watch` answer, and the function processes are supervised by it;
/// otherwise what is wrong. (Whether one function can take a call is checked by the call.)
fn health(running: &Running) -> Result<(), String> {
    if !is_serve(running.pid) {
        return Err(format!("its process, pid {}, has gone", running.pid));
    }
    let watch = SocketAddr::from(([127, 0, 0, 1], running.invoke_port));
    if TcpStream::connect_timeout(&watch, Duration::from_millis(300)).is_err() {
        return Err(format!("nothing answers on {watch}"));
    }
    let probe: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    if let Err(error) = probe.get(&format!("{}/moto-api/", running.endpoint)).call() {
        return Err(format!(
            "the emulator at {} does not answer: {error}",
            running.endpoint
        ));
    }
    let status = functions_of(running).status().map_err(|e| e.to_string())?;
    if status.supervisor != running.pid {
        return Err(format!(
            "its function processes are supervised by pid {}, not by it",
            status.supervisor
        ));
    }
    Ok(())
}

/// Whether `pid` is an `aftercare-local serve` (a stale state file may name a pid that another
/// program has since been given).
fn is_serve(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        args.first()
            .is_some_and(|program| program.ends_with(b"aftercare-local"))
            && args.get(1) == Some(&&b"serve"[..])
    })
}

/// Stops the `serve` with process id `pid` (leader of its own group) and waits until it has
/// gone, so that its ports are free again.
fn stop_serve(pid: u32) -> Result<()> {
    if !is_serve(pid) {
        return Ok(());
    }
    signal_group(pid, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(15);
    while is_serve(pid) {
        if Instant::now() > deadline {
            signal_group(pid, libc::SIGKILL);
            bail!("the local stack (pid {pid}) did not stop in 15 s; killed it");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn read_running() -> Option<Running> {
    let text = std::fs::read_to_string(state_file()).ok()?;
    serde_json::from_str(&text).ok()
}

/// The running `serve`, started in the background if there is none.
fn ensure_serving() -> Result<Running> {
    let faults = requested_faults()?;
    if let Some(running) = read_running() {
        match health(&running) {
            Ok(()) if running.faults == faults => return Ok(running),
            Ok(()) => println!(
                "The local stack runs with faults {:?}; restarting it with {:?} (its journeys start afresh).",
                running.faults, faults
            ),
            Err(why) => println!(
                "The local stack's health check failed ({why}); starting it again (its journeys start afresh)."
            ),
        }
        stop_serve(running.pid)?;
    }
    let _ = std::fs::remove_file(state_file());
    std::fs::create_dir_all(state_dir())?;
    // Built here, where cargo takes the time it needs, so that the stack starts in bounded time.
    println!("Building the functions' binaries...");
    build_functions(&FUNCTIONS)?;
    let log_path = state_dir().join("serve.log");
    let log = std::fs::File::create(&log_path)?;
    println!("Starting the local stack and `cargo lambda watch` in the background (log: out/local/serve.log)...");
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // Its own process group: it outlives this call, and `stop` ends it with all it started.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .context("starting `aftercare-local serve`")?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(running) = read_running().filter(|running| health(running).is_ok()) {
            return Ok(running);
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "the local stack stopped ({status}):\n{}",
                log_tail(&log_path, 40)
            );
        }
        if Instant::now() > deadline {
            signal_group(child.id(), libc::SIGTERM);
            let _ = child.wait();
            bail!(
                "the local stack did not come up in 120 s:\n{}",
                log_tail(&log_path, 40)
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn invoke(function: &str, event: &Path) -> Result<()> {
    if !FUNCTIONS.contains(&function) {
        return Err(aftercare_local::RunError::UnknownFunction(function.to_owned()).into());
    }
    let running = ensure_serving()?;
    // With AT=, the functions' own clock shows that instant too: the schedule believes an
    // event's time only near its clock, as a deployed one does.
    let at = match std::env::var("AFTERCARE_SCHEDULE_AT") {
        Ok(at) if !at.is_empty() => {
            let at = at
                .parse::<chrono::DateTime<chrono::Utc>>()
                .with_context(|| format!("AT={at} is not an RFC 3339 time"))?;
            std::fs::write(clock_file(), at.to_rfc3339())
                .with_context(|| format!("writing {}", clock_file().display()))?;
            println!(
                "The functions' clock shows {} for this call.",
                at.format("%Y-%m-%dT%H:%M:%SZ")
            );
            at
        }
        _ => {
            match std::fs::remove_file(clock_file()) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    return Err(error)
                        .with_context(|| format!("removing {}", clock_file().display()))
                }
                _ => {}
            }
            chrono::Utc::now()
        }
    };
    let stamped = aftercare_local::stamp_scheduled_event(event, at, &state_dir().join("events"))?;
    if stamped.is_some() {
        println!(
            "Stamped the scheduled event with {} (EventBridge stamps each with the time its rule fires; AT=<time> replays another hour).",
            at.format("%Y-%m-%dT%H:%M:%SZ")
        );
    }
    let event = stamped.as_deref().unwrap_or(event);
    let before = sent_mail_at(&running.endpoint)?.len();
    println!(
        "Invoking {function} with {} (waiting at most {} s for its answer)...",
        event.display(),
        INVOKE_TIMEOUT.as_secs()
    );
    let answer = functions_of(&running).invoke(function, event, INVOKE_TIMEOUT)?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    if let Some(plan) = &running.faults {
        // The proxy writes its counts as they change; give it a moment to write the last.
        std::thread::sleep(Duration::from_millis(300));
        let counts = std::fs::read_to_string(faults_file()).unwrap_or_default();
        println!("\nFaults injected so far ({plan}):\n{counts}");
    }
    let sent = sent_mail_at(&running.endpoint)?;
    let new = &sent[before.min(sent.len())..];
    if new.is_empty() {
        println!("\nNo mail sent.");
    } else {
        println!("\nMail sent:");
        for mail in new {
            println!("  {} to {}: {}", mail.kind, mail.to, mail.subject);
        }
    }
    println!(
        "\nFunction logs: out/local/functions.log (their processes: out/local/functions.json). Journeys: table {} at {}. Stop with `make local-stop`.",
        running.table, running.endpoint
    );
    Ok(())
}

#[tokio::main]
async fn serve() -> Result<()> {
    // First of all, so that a stop while starting up still stops what was started.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    std::fs::create_dir_all(state_dir())?;
    let stack = LocalStack::start()?;
    let clients = AwsClients::from_config(&stack.sdk_config().await);
    let secret = stack.provision(&clients, TABLE).await?;
    let port = match std::env::var("AFTERCARE_INVOKE_PORT") {
        Ok(port) => port
            .parse()
            .context("AFTERCARE_INVOKE_PORT is not a port number")?,
        Err(_) => DEFAULT_INVOKE_PORT,
    };
    let faults = requested_faults()?;
    let proxy = match &faults {
        Some(plan) => Some(aftercare_fault_proxy::FaultProxy::start(
            stack.endpoint(),
            aftercare_fault_proxy::FaultPlan::parse(plan)?,
        )?),
        None => None,
    };
    let functions_endpoint = proxy
        .as_ref()
        .map_or(stack.endpoint(), |p| p.endpoint())
        .to_owned();
    let mut environment = local_function_environment(&functions_endpoint, TABLE, &secret);
    environment.push((
        aftercare_adapters::clock::LOCAL_CLOCK_FILE.to_owned(),
        clock_file().display().to_string(),
    ));
    let mut functions = FunctionServer::start(&environment, port, &state_dir())?;
    let running = Running {
        pid: std::process::id(),
        endpoint: stack.endpoint().to_owned(),
        invoke_port: functions.port(),
        table: TABLE.to_owned(),
        faults: faults.clone(),
    };
    std::fs::write(state_file(), serde_json::to_string_pretty(&running)?)?;
    println!(
        "Local stack at {}, table {TABLE}; functions answer on 127.0.0.1:{port}:\n  \
         cargo lambda invoke -A 127.0.0.1 -P {port} <function> --data-file infra/events/<file>.json\n\
         Ctrl-C (or `make local-stop`) stops them all.",
        stack.endpoint()
    );
    if let Some(plan) = &faults {
        println!("The functions reach the emulator through the fault proxy at {functions_endpoint}: {plan}");
    }
    let mut written = String::new();
    let mut check = tokio::time::interval(Duration::from_millis(500));
    let mut failure = None;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
            _ = check.tick() => {
                if let Err(error) = functions.check() {
                    failure = Some(error);
                    break;
                }
            }
            _ = tokio::time::sleep(Duration::from_millis(200)), if proxy.is_some() => {
                let summary = proxy.as_ref().map(|p| p.stats().summary()).unwrap_or_default();
                if summary != written {
                    std::fs::write(faults_file(), &summary)?;
                    written = summary;
                }
            }
        }
    }
    drop(proxy);
    let _ = std::fs::remove_file(state_file());
    drop(functions);
    drop(stack);
    match failure {
        Some(error) => Err(anyhow::Error::new(error)
            .context("the local stack stopped; the next `make invoke` starts a fresh one")),
        None => Ok(()),
    }
}

fn stop() -> Result<()> {
    match read_running() {
        Some(running) => {
            stop_serve(running.pid)?;
            let _ = std::fs::remove_file(state_file());
            println!("Stopped the local stack.");
        }
        None => println!("No local stack is running."),
    }
    Ok(())
}
