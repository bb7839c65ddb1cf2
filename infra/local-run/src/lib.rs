//! The functions' real binaries, run the way Lambda runs them, on this machine.
//!
//! [`FunctionServer`] starts `cargo lambda watch`: an emulator of the Lambda runtime API that
//! builds each function's binary on its first invocation and runs it as a Lambda would, with
//! the environment it is given (here: the local stack's endpoint and the local shop's
//! configuration, as `template.yaml` gives the deployed functions theirs). [`FunctionServer::invoke`]
//! sends an event through `cargo lambda invoke` and returns the function's answer.
//!
//! `make invoke` uses it through the `aftercare-local` binary; the end-to-end test uses it
//! directly.

#![warn(missing_docs)]

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aftercare_localstack::repository_root;

/// The functions of `template.yaml`, by binary name.
pub const FUNCTIONS: [&str; 5] = [
    "order-events",
    "schedule",
    "feedback",
    "helpdesk-events",
    "ses-events",
];

/// The region the local functions believe they run in.
pub const LOCAL_REGION: &str = "us-east-1";

/// How long an invocation may take, the first one of each function included: that one waits
/// for the binary to be built.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(900);

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
    /// `cargo lambda watch` did not come up.
    #[error("`cargo lambda watch` did not start: {0}")]
    Start(String),
    /// The invocation failed: the function returned an error, or never answered.
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

/// A running `cargo lambda watch`, listening on 127.0.0.1. Dropping it stops the emulator and
/// every function process it started.
pub struct FunctionServer {
    child: Child,
    port: u16,
    log: PathBuf,
    stopped: bool,
}

impl FunctionServer {
    /// Starts the emulator on `port`, the functions to be run with `environment` on top of
    /// this process's own (the AWS endpoint, credentials and the shop's configuration), writing
    /// the build output and every function's logs to `log`. Returns once it accepts
    /// invocations; the binaries are built on their first invocation.
    pub fn start(
        environment: &[(String, String)],
        port: u16,
        log: &Path,
    ) -> Result<Self, RunError> {
        let cargo_lambda = cargo_lambda()?;
        // A port someone else holds would answer our readiness probe and take our invocations.
        TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
            RunError::Start(format!(
                "127.0.0.1:{port} is taken ({e}); stop what holds it, or choose another port (AFTERCARE_INVOKE_PORT for make invoke)"
            ))
        })?;
        let output = File::create(log)
            .map_err(|e| RunError::Start(format!("cannot write {}: {e}", log.display())))?;
        let errors = output
            .try_clone()
            .map_err(|e| RunError::Start(e.to_string()))?;
        let mut command = Command::new(cargo_lambda);
        command
            .args(["lambda", "watch", "--ignore-changes", "--quiet", "--locked"])
            .args(["--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string()])
            .args(["--timeout", &INVOKE_TIMEOUT.as_secs().to_string()])
            .current_dir(repository_root())
            .env_remove("AWS_PROFILE")
            .envs(environment.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors);
        // Its own process group, so that stopping it stops the function processes it started;
        // and a SIGTERM when the thread that started it dies, so that it never outlives us.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        // SAFETY: prctl only sets a flag of the new process; it allocates nothing and is
        // async-signal-safe, as code between fork and exec must be.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let child = command
            .spawn()
            .map_err(|e| RunError::Start(e.to_string()))?;
        let mut server = Self {
            child,
            port,
            log: log.to_owned(),
            stopped: false,
        };
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answers = TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok();
            if let Ok(Some(status)) = server.child.try_wait() {
                server.stopped = true;
                return Err(RunError::Start(format!(
                    "it exited ({status}); its output:\n{}",
                    server.log_tail(40)
                )));
            }
            if answers {
                return Ok(server);
            }
            if Instant::now() > deadline {
                let tail = server.log_tail(40);
                server.stop();
                return Err(RunError::Start(format!(
                    "nothing listens on {address} after 60 s; its output:\n{tail}"
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The port invocations are sent to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id of the emulator, which is also its process group's.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last `lines` lines the emulator and the functions wrote.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// Sends the event in `event_file` to `function` and returns its answer.
    pub fn invoke(&self, function: &str, event_file: &Path) -> Result<serde_json::Value, RunError> {
        invoke(self.port, function, event_file)
    }

    fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        signal_group(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                // The functions it started are in its group too.
                signal_group(self.child.id(), libc::SIGKILL);
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        signal_group(self.child.id(), libc::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for FunctionServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sends `signal` to every process of the process group `group`; returns whether any
/// process received it.
pub fn signal_group(group: u32, signal: libc::c_int) -> bool {
    let Ok(group) = libc::pid_t::try_from(group) else {
        return false;
    };
    // SAFETY: killpg only sends a signal; a group that no longer exists yields ESRCH.
    unsafe { libc::killpg(group, signal) == 0 }
}

/// Sends the event in `event_file` to `function` through the emulator on `port` with
/// `cargo lambda invoke`, and returns the function's answer as JSON.
pub fn invoke(port: u16, function: &str, event_file: &Path) -> Result<serde_json::Value, RunError> {
    if !FUNCTIONS.contains(&function) {
        return Err(RunError::UnknownFunction(function.to_owned()));
    }
    let event = std::fs::read_to_string(event_file).map_err(|e| RunError::Event {
        path: event_file.display().to_string(),
        problem: e.to_string(),
    })?;
    serde_json::from_str::<serde_json::Value>(&event).map_err(|e| RunError::Event {
        path: event_file.display().to_string(),
        problem: format!("not JSON: {e}"),
    })?;
    build(function)?;
    let output = Command::new(cargo_lambda()?)
        .args(["lambda", "invoke", "--invoke-address", "127.0.0.1"])
        .args(["--invoke-port", &port.to_string()])
        .args(["--output-format", "json", "--data-file"])
        .arg(event_file)
        .arg(function)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| RunError::Invoke {
            function: function.to_owned(),
            detail: e.to_string(),
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(RunError::Invoke {
            function: function.to_owned(),
            detail: format!(
                "{}{}",
                stdout.trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    serde_json::from_str(stdout.trim()).map_err(|e| RunError::Invoke {
        function: function.to_owned(),
        detail: format!("the answer is not JSON ({e}): {stdout}"),
    })
}

/// Builds `function`'s binary as `cargo lambda watch` runs it (the dev profile), so that its
/// first invocation does not spend the invocation's time compiling. Quick when up to date.
pub fn build(function: &str) -> Result<(), RunError> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["build", "--quiet", "--locked", "--bin", function])
        .current_dir(repository_root())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| RunError::Invoke {
            function: function.to_owned(),
            detail: format!("cargo build: {e}"),
        })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(RunError::Invoke {
            function: function.to_owned(),
            detail: format!(
                "cargo build failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
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
/// start, as deployed functions read theirs.
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

#[cfg(test)]
mod tests {
    use super::*;

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
        use aftercare_journey::links::{verify, verify_preferences, SigningKey};
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
        let error = invoke(1, "order-event", Path::new("infra/events/placed.json")).unwrap_err();
        assert!(error.to_string().contains("\"order-event\""), "{error}");
    }
}
