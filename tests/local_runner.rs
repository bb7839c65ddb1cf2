//! The local runner that `make invoke` uses stays up: a warm function process that dies is
//! started again and the next call reaches the new one; a call never hangs, and when it cannot
//! be answered its error says what to do.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aftercare_adapters::aws::AwsClients;
use aftercare_integration_tests::stack;
use aftercare_local::status::{FunctionStatus, Readiness};
use aftercare_local::{free_port, local_function_environment, FunctionServer, RunError};
use aftercare_localstack::repository_root;
use serde_json::json;

fn sample(name: &str) -> PathBuf {
    repository_root().join(format!("infra/events/{name}.json"))
}

/// A directory of this test's own.
fn test_dir(test: &str) -> PathBuf {
    std::env::temp_dir().join(format!("aftercare-{test}-{}", std::process::id()))
}

/// The functions over a fresh `table`, with `overrides` of their environment.
async fn functions(table: &str, dir: &Path, overrides: &[(&str, &str)]) -> FunctionServer {
    let stack = stack();
    let clients = AwsClients::from_config(&stack.sdk_config().await);
    let secret = stack
        .provision(&clients, table)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut environment = local_function_environment(stack.endpoint(), table, &secret);
    environment.retain(|(name, _)| !overrides.iter().any(|(n, _)| n == name));
    environment.extend(
        overrides
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    FunctionServer::start(&environment, free_port().unwrap(), dir).unwrap_or_else(|e| panic!("{e}"))
}

fn status_of(functions: &FunctionServer, function: &str) -> FunctionStatus {
    functions
        .status()
        .unwrap_or_else(|e| panic!("{e}"))
        .function(function)
        .cloned()
        .unwrap_or_else(|| panic!("no status of {function}"))
}

/// Whether `pid` is a live process (not a zombie) running the binary `name`.
fn runs(pid: u32, name: &str) -> bool {
    let binary = std::fs::read_link(format!("/proc/{pid}/exe"));
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let zombie = state
        .rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
    binary.is_ok_and(|exe| exe.file_name().is_some_and(|file| file == name)) && !zombie
}

fn signal(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).unwrap();
    // SAFETY: kill only sends a signal.
    assert_eq!(
        unsafe { libc::kill(pid, signal) },
        0,
        "signal {signal} to {pid}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_warm_function_that_dies_is_started_again_and_answers_the_next_call() {
    let dir = test_dir("local-runner-dies");
    let functions = functions("journeys-local-runner-dies", &dir, &[]).await;
    let placed = sample("placed");
    let first = functions
        .invoke("order-events", &placed)
        .unwrap_or_else(|e| panic!("{e}\n{}", functions.log_tail(40)));
    assert_eq!(first["batchItemFailures"], json!([]), "{first}");
    let warm = status_of(&functions, "order-events")
        .pid
        .expect("a warm process");
    assert!(runs(warm, "order-events"));

    // GIVEN the warm process dies, as it did when the emulator answered its long poll with
    // a time-out after 900 idle seconds
    signal(warm, libc::SIGKILL);
    // WHEN the function is called again (the same record: SQS redelivers)
    let second = functions
        .invoke("order-events", &placed)
        .unwrap_or_else(|e| panic!("{e}\n{}", functions.log_tail(40)));
    // THEN a new process answers it
    assert_eq!(second["batchItemFailures"], json!([]), "{second}");
    let status = status_of(&functions, "order-events");
    let now = status.pid.expect("a process");
    assert_ne!(now, warm);
    assert!(runs(now, "order-events") && !runs(warm, "order-events"));
    assert_eq!((status.starts, status.exits), (2, 1), "{status:?}");
    assert!(
        status
            .last_exit
            .as_deref()
            .is_some_and(|how| how.starts_with("signal: 9")),
        "{status:?}"
    );
    drop(functions);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_the_function_does_not_answer_ends_after_its_wait_saying_what_to_do() {
    let dir = test_dir("local-runner-stuck");
    let functions = functions("journeys-local-runner-stuck", &dir, &[]).await;
    let event = sample("ses-delivery");
    let warm = functions
        .invoke("ses-events", &event)
        .unwrap_or_else(|e| panic!("{e}\n{}", functions.log_tail(40)));
    assert_eq!(warm["batchItemFailures"], json!([]), "{warm}");
    let pid = status_of(&functions, "ses-events")
        .pid
        .expect("a warm process");

    // GIVEN the function's process is stopped: it can answer nothing
    signal(pid, libc::SIGSTOP);
    // WHEN it is called with a wait of 3 s
    let started = Instant::now();
    let error = functions
        .functions()
        .invoke("ses-events", &event, Duration::from_secs(3))
        .unwrap_err();
    let waited = started.elapsed();
    signal(pid, libc::SIGCONT);

    // THEN the call ends, saying so and what to do
    assert!(matches!(error, RunError::NoAnswer { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("ses-events did not answer in 3 s"),
        "{message}"
    );
    assert!(
        message.contains(&format!("pid {pid}, still runs")),
        "{message}"
    );
    assert!(message.contains("`make local-stop`"), "{message}");
    assert!(waited < Duration::from_secs(60), "{waited:?}");
    drop(functions);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_to_a_function_that_keeps_failing_to_start_fails_at_once_with_its_log() {
    let dir = test_dir("local-runner-failing");
    // GIVEN a configuration every function that reads the shop's settings rejects at cold
    // start (helpdesk-events reads none of them)
    let functions = functions(
        "journeys-local-runner-failing",
        &dir,
        &[("SENDER_EMAIL", "not an address")],
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while !matches!(
        status_of(&functions, "feedback").readiness(),
        Readiness::Failing { .. }
    ) {
        assert!(
            Instant::now() < deadline,
            "feedback is not failing after 120 s: {:?}\n{}",
            status_of(&functions, "feedback"),
            functions.log_tail(40)
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // WHEN it is called
    let error = functions
        .invoke("feedback", &sample("feedback-rate"))
        .unwrap_err();

    // THEN the call fails without waiting, quoting the log, and says what to do
    assert!(matches!(error, RunError::Failing { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("exits soon after it starts"), "{message}");
    assert!(message.contains("SENDER_EMAIL"), "{message}");
    assert!(
        message.contains("Fix what the log reports and call again"),
        "{message}"
    );
    drop(functions);
    let _ = std::fs::remove_dir_all(dir);
}
