//! The functions' real binaries, run the way Lambda runs them, on this machine.
//!
//! [`FunctionServer`] builds the functions' binaries and starts `cargo lambda watch` as an
//! emulator of the Lambda runtime API, then one process per function, with the environment it
//! is given (here: the local stack's endpoint and the local shop's configuration, as
//! `template.yaml` gives the deployed functions theirs). A supervisor keeps those processes
//! running: one that exits is started again, as Lambda starts a new execution environment, and
//! one whose binary is rebuilt is started afresh. [`LocalFunctions::invoke`] sends an event
//! through `cargo lambda invoke` and returns the function's answer, or fails in bounded time
//! saying what to do.
//!
//! `make invoke` uses it through the `aftercare-local` binary; the end-to-end test uses it
//! directly.

#![warn(missing_docs)]

mod binaries;
mod invoke;
mod process;
mod server;
pub mod status;
mod supervisor;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aftercare_localstack::repository_root;

pub use binaries::build_functions;
pub use invoke::LocalFunctions;
pub use process::signal_group;
pub use server::FunctionServer;

/// The functions of `template.yaml`, by binary name.
pub const FUNCTIONS: [&str; 5] = [
    "order-events",
    "schedule",
    "feedback",
    "helpdesk-events",
    "ses-events",
];

/// The functions that sign or verify links: only they are told where links point
/// (`FEEDBACK_URL`) and which secret holds the link-signing keys (`LINK_SIGNING_KEYS_SECRET`),
/// as `template.yaml` tells only them (and lets only them read that secret).
pub const LINK_KEY_FUNCTIONS: [&str; 3] = ["order-events", "schedule", "feedback"];

/// The region the local functions believe they run in.
pub const LOCAL_REGION: &str = "us-east-1";

/// How long a call waits for the function's answer before it fails saying what to do: longer
/// than any deployed function's timeout in `template.yaml` (at most 120 s), for the slower
/// debug build. The binaries are built before, so building never counts against it.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(180);

/// What went wrong running the functions locally.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// cargo-lambda is not where it is looked for.
    #[error("cargo-lambda is not installed: {0} was not found. Run `make venv` (or `make test`, `make demo`, `make invoke`, which do it) to install it into .venv")]
    NotInstalled(String),
    /// A name that is not one of [`FUNCTIONS`].
    #[error("there is no function {0:?}; the functions are: order-events, schedule, feedback, helpdesk-events, ses-events")]
    UnknownFunction(String),
    /// The event file cannot be read.
    #[error("the event file {path}: {problem}")]
    Event {
        /// The file.
        path: String,
        /// Why.
        problem: String,
    },
    /// `cargo lambda watch` or the function processes did not come up.
    #[error("the local functions did not start: {0}")]
    Start(String),
    /// The functions' binaries did not build.
    #[error("building {functions} failed: {detail}")]
    Build {
        /// The functions.
        functions: String,
        /// What cargo reported.
        detail: String,
    },
    /// The emulator or the supervisor of the function processes stopped.
    #[error("the local functions stopped: {0}")]
    Stopped(String),
    /// The functions' status file cannot be read or written.
    #[error("the local functions' status {path}: {problem}")]
    Status {
        /// The file.
        path: String,
        /// Why.
        problem: String,
    },
    /// The function keeps exiting as soon as it starts, so a call would wait in vain.
    #[error("{function} cannot take the call: it exits soon after it starts ({last_exit}; {early_exits} times in a row). The end of its log, {log}:\n{tail}\nFix what the log reports and call again: each call rebuilds the function, and the runner starts a rebuilt binary at once; a change to the local stack's configuration takes `make local-stop` first")]
    Failing {
        /// The function.
        function: String,
        /// How many times in a row.
        early_exits: u32,
        /// How the last process ended.
        last_exit: String,
        /// The functions' log.
        log: String,
        /// Its last lines.
        tail: String,
    },
    /// The function's process exited before it answered; the supervisor starts it again.
    #[error("{function} exited before it answered ({last_exit}); the runner starts it again. The end of its log, {log}:\n{tail}\nCall again. The event may still reach the function once it runs again; `make local-stop` drops it")]
    Exited {
        /// The function.
        function: String,
        /// How its process ended.
        last_exit: String,
        /// The functions' log.
        log: String,
        /// Its last lines.
        tail: String,
    },
    /// The function did not answer in the time a call waits.
    #[error("{function} did not answer in {waited_secs} s{}. The end of its log, {log}:\n{tail}\nIf it is stuck, `make local-stop` stops the local stack, and the next call starts a fresh one", pid.map(|pid| format!(" (its process, pid {pid}, still runs)")).unwrap_or_default())]
    NoAnswer {
        /// The function.
        function: String,
        /// How long the call waited.
        waited_secs: u64,
        /// The process that runs the function, if one does.
        pid: Option<u32>,
        /// The functions' log.
        log: String,
        /// Its last lines.
        tail: String,
    },
    /// The function was rebuilt and its old process still runs.
    #[error("{function} was rebuilt, but its old process still ran after {waited_secs} s; `make local-stop` and call again")]
    NotRestarted {
        /// The function.
        function: String,
        /// How long the call waited.
        waited_secs: u64,
    },
    /// The invocation failed: the function returned an error, or `cargo lambda invoke` did.
    #[error("invoking {function} failed: {detail}")]
    Invoke {
        /// The function.
        function: String,
        /// What cargo lambda reported.
        detail: String,
    },
}

/// The cargo-lambda executable of the project's `.venv`.
pub fn cargo_lambda() -> Result<PathBuf, RunError> {
    let path = repository_root().join(".venv/bin/cargo-lambda");
    if path.exists() {
        Ok(path)
    } else {
        Err(RunError::NotInstalled(path.display().to_string()))
    }
}

/// A port of 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16, RunError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| RunError::Start(format!("no free port: {e}")))
}

/// EventBridge stamps each scheduled event with the time its rule fires, and the schedule
/// function takes that time as "now". A sample scheduled event carries the time it was written
/// at, which sweeps the due index of that hour, not of this one. This writes a copy of the
/// scheduled event in `event_file` stamped with `at` into `dir` and returns its path; any
/// other event is returned as it is (`None`).
pub fn stamp_scheduled_event(
    event_file: &Path,
    at: chrono::DateTime<chrono::Utc>,
    dir: &Path,
) -> Result<Option<PathBuf>, RunError> {
    let problem = |problem: String| RunError::Event {
        path: event_file.display().to_string(),
        problem,
    };
    let text = std::fs::read_to_string(event_file).map_err(|e| problem(e.to_string()))?;
    let mut event: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| problem(format!("not JSON: {e}")))?;
    if event["detail-type"] != "Scheduled Event" {
        return Ok(None);
    }
    event["time"] = serde_json::Value::String(at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    std::fs::create_dir_all(dir).map_err(|e| problem(e.to_string()))?;
    let stem = event_file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scheduled");
    let path = dir.join(format!("{stem}-at-{}.json", at.format("%Y%m%dT%H%M%SZ")));
    std::fs::write(&path, event.to_string()).map_err(|e| problem(e.to_string()))?;
    Ok(Some(path))
}

/// The last `lines` lines of the file at `path` (empty if it cannot be read).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The environment of the local functions over `table` on the emulator at `endpoint`: the
/// endpoint and fixed credentials, and the shop's configuration with the link-signing keys read
/// from the secret `link_secret` and the log-id key from the table's log-id secret at cold
/// start, as deployed functions read theirs. A review request is never too late to ask here (the
/// samples' dates are fixed).
pub fn local_function_environment(
    endpoint: &str,
    table: &str,
    link_secret: &str,
) -> Vec<(String, String)> {
    let mut environment: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", LOCAL_REGION),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("LINK_SIGNING_KEYS_SECRET", link_secret),
        (
            "LOG_ID_KEY_SECRET",
            &aftercare_localstack::log_id_secret_name(table),
        ),
        ("RUST_LOG", "info"),
        // The sample events are dated weeks, and as time goes on months, before the clock the
        // local functions run on: their review request must not count as too late to ask.
        ("REVIEW_REQUEST_STALE_DAYS", "3650"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    environment.extend(
        aftercare_localstack::local_shop_environment(table)
            .into_iter()
            .filter(|(name, _)| !["LINK_SIGNING_KEYS", "LOG_ID_KEY"].contains(name))
            .map(|(k, v)| (k.to_owned(), v)),
    );
    environment
}

/// What `function` gets of the local functions' `environment`: all of it, but the link
/// variables for a function that neither signs nor verifies links (not one of
/// [`LINK_KEY_FUNCTIONS`]), as in `template.yaml`.
pub fn environment_of(function: &str, environment: &[(String, String)]) -> Vec<(String, String)> {
    let links = LINK_KEY_FUNCTIONS.contains(&function);
    environment
        .iter()
        .filter(|(name, _)| {
            links
                || ![
                    "LINK_SIGNING_KEYS_SECRET",
                    "LINK_SIGNING_KEYS",
                    "FEEDBACK_URL",
                ]
                .contains(&name.as_str())
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_functions_that_sign_or_verify_links_are_told_the_link_key_secret() {
        let environment = local_function_environment("http://127.0.0.1:1", "t", "t-link-keys");
        let has = |function: &str, name: &str| {
            environment_of(function, &environment)
                .iter()
                .any(|(k, _)| k == name)
        };
        for function in FUNCTIONS {
            let links = LINK_KEY_FUNCTIONS.contains(&function);
            assert_eq!(
                has(function, "LINK_SIGNING_KEYS_SECRET"),
                links,
                "{function}"
            );
            assert_eq!(has(function, "FEEDBACK_URL"), links, "{function}");
            assert!(has(function, "LOG_ID_KEY_SECRET"), "{function}");
            assert!(has(function, "JOURNEY_TABLE"), "{function}");
        }
        assert!(!has("helpdesk-events", "LINK_SIGNING_KEYS_SECRET"));
    }

    #[test]
    fn the_template_gives_the_link_key_secret_and_the_right_to_read_it_to_those_functions_only() {
        use serde_yaml::Value;
        let template: Value = serde_yaml::from_str(include_str!("../../../template.yaml")).unwrap();
        let untagged = |value: &Value| match value {
            Value::Tagged(tagged) => tagged.value.clone(),
            other => other.clone(),
        };
        let names = |variables: &Value| -> Vec<String> {
            variables
                .as_mapping()
                .map(|m| {
                    m.keys()
                        .filter_map(|k| k.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let global = names(&template["Globals"]["Function"]["Environment"]["Variables"]);
        let mut binaries = Vec::new();
        for (name, resource) in template["Resources"].as_mapping().unwrap() {
            if resource["Type"] != "AWS::Serverless::Function" {
                continue;
            }
            let name = name.as_str().unwrap();
            let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{name} names no binary"));
            binaries.push(binary.to_owned());
            let mut variables = global.clone();
            variables.extend(names(&resource["Properties"]["Environment"]["Variables"]));
            let told = variables.iter().any(|v| v == "LINK_SIGNING_KEYS_SECRET");
            let may_read = resource["Properties"]["Policies"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|policy| policy["Statement"].as_sequence())
                .flatten()
                .any(|statement| {
                    untagged(&statement["Resource"]) == "LinkSigningKeySecret"
                        && statement["Action"] == "secretsmanager:GetSecretValue"
                });
            let signs = LINK_KEY_FUNCTIONS.contains(&binary);
            assert_eq!(told, signs, "{name}: told the link-key secret");
            assert_eq!(may_read, signs, "{name}: may read the link-key secret");
        }
        binaries.sort();
        let mut functions = FUNCTIONS.map(str::to_owned).to_vec();
        functions.sort();
        assert_eq!(binaries, functions);
    }

    #[test]
    fn the_local_functions_read_their_keys_from_the_secrets_not_the_environment() {
        let environment = local_function_environment("http://127.0.0.1:1", "t", "t-link-keys");
        let value = |name: &str| {
            environment
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(value("LINK_SIGNING_KEYS_SECRET"), Some("t-link-keys"));
        assert_eq!(value("LINK_SIGNING_KEYS"), None);
        assert_eq!(value("LOG_ID_KEY_SECRET"), Some("t-log-id-key"));
        assert_eq!(value("LOG_ID_KEY"), None);
        assert_eq!(value("AWS_ENDPOINT_URL"), Some("http://127.0.0.1:1"));
        assert_eq!(value("JOURNEY_TABLE"), Some("t"));
    }

    #[test]
    fn a_scheduled_event_is_stamped_with_the_time_it_fires_and_others_are_left_alone() {
        let dir = std::env::temp_dir().join(format!("aftercare-stamp-{}", std::process::id()));
        let root = repository_root();
        let at = "2026-11-23T10:05:00Z".parse().unwrap();
        let stamped =
            stamp_scheduled_event(&root.join("infra/events/schedule.json"), at, &dir).unwrap();
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(stamped.unwrap()).unwrap()).unwrap();
        assert_eq!(event["time"], "2026-11-23T10:05:00Z");
        assert_eq!(event["detail-type"], "Scheduled Event");
        let other = stamp_scheduled_event(&root.join("infra/events/placed.json"), at, &dir);
        assert!(matches!(other, Ok(None)));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The token in a sample HTTP event: in its query string, or in its form body.
    fn sample_token(name: &str) -> String {
        let path = repository_root().join(format!("infra/events/{name}.json"));
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let fields = format!(
            "{}&{}",
            event["rawQueryString"].as_str().unwrap_or_default(),
            event["body"].as_str().unwrap_or_default()
        );
        url::form_urlencoded::parse(fields.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("{name} carries no token"))
    }

    #[test]
    fn the_sample_feedback_events_carry_links_signed_with_the_local_key() {
        use aftercare_journey::links::{verify, verify_preferences};
        use aftercare_journey::signing::SigningKey;
        let (id, secret) = aftercare_localstack::LOCAL_LINK_KEY;
        let keys = [SigningKey::new(id, hex::decode(secret).unwrap()).unwrap()];
        let now = "2026-11-01T00:00:00Z".parse().unwrap();
        for name in ["feedback-rate", "feedback-comment"] {
            let claims = verify(&keys, &sample_token(name), now).unwrap();
            assert_eq!(claims.customer.as_str(), "cus-1001", "{name}");
            assert_eq!(claims.order.as_str(), "1042", "{name}");
        }
        for name in ["feedback-preferences", "feedback-unsubscribe"] {
            let claims = verify_preferences(&keys, &sample_token(name)).unwrap();
            assert_eq!(claims.customer.as_str(), "cus-1001", "{name}");
        }
    }

    #[test]
    fn an_unknown_function_is_named_before_anything_runs() {
        let functions = LocalFunctions::new(1, &std::env::temp_dir());
        let error = functions
            .invoke(
                "order-event",
                Path::new("infra/events/placed.json"),
                INVOKE_TIMEOUT,
            )
            .unwrap_err();
        assert!(error.to_string().contains("\"order-event\""), "{error}");
    }
}
