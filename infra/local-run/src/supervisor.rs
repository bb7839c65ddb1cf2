//! The function processes, kept running: each function's binary is started with the runtime
//! API's address in its environment, as Lambda starts an execution environment, and started
//! again when its process exits (at once if it had been warm, after a pause that doubles if it
//! keeps exiting as soon as it starts) or when its binary is rebuilt. Every change is written
//! to the status file (see [`crate::status`]), an exit before the process that replaces it
//! starts, and told in the functions' log.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::process::{detach_but_die_with_parent, stop_child};
use crate::status::{modified, FunctionStatus, FunctionsStatus, WARM_AFTER};
use crate::RunError;

/// How often the supervisor looks at its processes.
const TICK: Duration = Duration::from_millis(100);
/// The longest pause before a function that keeps failing to start is started again.
const LONGEST_PAUSE: Duration = Duration::from_secs(30);
/// How long a process asked to stop (SIGTERM) has before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// One function the supervisor keeps running.
#[derive(Debug, Clone)]
pub(crate) struct FunctionSpec {
    /// The function's binary name.
    pub name: String,
    /// Its binary.
    pub binary: PathBuf,
    /// What its processes get in their environment on top of the runner's own.
    pub environment: Vec<(String, String)>,
    /// Where its runtime API is (`http://127.0.0.1:<port>/.rt/<function>` for
    /// `cargo lambda watch`).
    pub runtime_api: String,
}

impl FunctionSpec {
    /// What a process of the function gets from the runner besides [`Self::environment`], as
    /// `cargo lambda watch` gives the processes it starts itself: the name, version and memory
    /// size Lambda gives a function, and where its runtime API is.
    fn lambda_environment(&self) -> [(&str, &str); 4] {
        [
            ("AWS_LAMBDA_FUNCTION_NAME", self.name.as_str()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "1"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "4096"),
            ("AWS_LAMBDA_RUNTIME_API", self.runtime_api.as_str()),
        ]
    }
}

/// The pause before starting a function again after `early_exits` exits in a row that came
/// soon after their start: none after a warm process exited, then 1 s, 2 s, 4 s... up to
/// [`LONGEST_PAUSE`].
pub(crate) fn pause_before_restart(early_exits: u32) -> Duration {
    match early_exits {
        0 => Duration::ZERO,
        n => Duration::from_secs(1u64 << (n - 1).min(5)).min(LONGEST_PAUSE),
    }
}

/// A running supervisor: a thread that owns the function processes. Dropping it stops them.
pub(crate) struct Supervisor {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Supervisor {
    /// Writes the status of `functions` (none started yet) to `status_file`, then starts a
    /// thread that starts their processes, their output going to `log`, and keeps them
    /// running until the supervisor is stopped.
    pub(crate) fn start(
        functions: Vec<FunctionSpec>,
        status_file: PathBuf,
        log: File,
    ) -> Result<Self, RunError> {
        let supervised: Vec<Supervised> = functions.into_iter().map(Supervised::new).collect();
        let status = FunctionsStatus {
            supervisor: std::process::id(),
            functions: supervised.iter().map(|s| s.status.clone()).collect(),
        };
        status.write(&status_file)?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("function supervisor".into())
                .spawn(move || {
                    Supervision {
                        supervised,
                        status_file,
                        log,
                    }
                    .run(&stop)
                })
                .map_err(|e| RunError::Start(format!("no supervisor thread: {e}")))?
        };
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Whether the supervisor still keeps the functions running (it stops only when asked to).
    pub(crate) fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops every function process and the thread; returns when they are gone.
    pub(crate) fn stop(&mut self) {
        let (stopped, wake) = &*self.stop;
        if let Ok(mut stopped) = stopped.lock() {
            *stopped = true;
        }
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the supervisor thread owns.
struct Supervision {
    supervised: Vec<Supervised>,
    status_file: PathBuf,
    log: File,
}

impl Supervision {
    fn run(mut self, stop: &(Mutex<bool>, Condvar)) {
        let (stopped, wake) = stop;
        let names: Vec<&str> = self
            .supervised
            .iter()
            .map(|s| s.spec.name.as_str())
            .collect();
        tell(
            &mut self.log,
            &format!(
                "starting {} (this runner starts the functions' processes, not cargo lambda watch, and starts one again whenever it exits)",
                names.join(", ")
            ),
        );
        loop {
            let now = Instant::now();
            let mut changed = false;
            for supervised in &mut self.supervised {
                changed |= supervised.observe(now, &mut self.log);
            }
            if changed {
                self.write_status();
            }
            let mut started = false;
            for supervised in &mut self.supervised {
                started |= supervised.start_if_due(now, &mut self.log);
            }
            if started {
                self.write_status();
            }
            let Ok(guard) = stopped.lock() else { break };
            match wake.wait_timeout_while(guard, TICK, |stopped| !*stopped) {
                Ok((guard, _)) if !*guard => continue,
                _ => break,
            }
        }
        for supervised in &mut self.supervised {
            supervised.stop();
        }
        self.write_status();
    }

    fn write_status(&mut self) {
        let status = FunctionsStatus {
            supervisor: std::process::id(),
            functions: self.supervised.iter().map(|s| s.status.clone()).collect(),
        };
        if let Err(error) = status.write(&self.status_file) {
            tell(&mut self.log, &error.to_string());
        }
    }
}

/// One function: its process, if one runs, and what is known of it.
struct Supervised {
    spec: FunctionSpec,
    child: Option<Child>,
    started: Instant,
    start_at: Instant,
    status: FunctionStatus,
}

impl Supervised {
    fn new(spec: FunctionSpec) -> Self {
        let status = FunctionStatus {
            function: spec.name.clone(),
            binary: spec.binary.clone(),
            pid: None,
            binary_modified: None,
            starts: 0,
            exits: 0,
            early_exits: 0,
            last_exit: None,
        };
        Self {
            spec,
            child: None,
            started: Instant::now(),
            start_at: Instant::now(),
            status,
        }
    }

    /// Whether the binary on disk is not the one the last process was started from.
    fn rebuilt(&self) -> bool {
        let on_disk = modified(&self.spec.binary);
        on_disk.is_some() && on_disk != self.status.binary_modified
    }

    /// Looks at the process once: records its exit, or stops it if its binary was rebuilt.
    /// Returns whether the status changed.
    fn observe(&mut self, now: Instant, log: &mut File) -> bool {
        let rebuilt = self.rebuilt();
        let mut changed = false;
        if let Some(child) = &mut self.child {
            match child.try_wait() {
                Ok(Some(exit)) => {
                    self.child = None;
                    self.exited(exit, now, log);
                    changed = true;
                }
                Ok(None) if rebuilt && self.status.starts > 0 => {
                    tell(
                        log,
                        &format!(
                            "{} was rebuilt; stopping its process (pid {}) to start the new binary",
                            self.spec.name,
                            child.id()
                        ),
                    );
                    stop_child(child, STOP_GRACE);
                    self.child = None;
                    self.status.pid = None;
                    changed = true;
                }
                Ok(None) if self.status.early_exits > 0 && now >= self.started + WARM_AFTER => {
                    // It has run long enough to be warm: the early exits before it are over.
                    self.status.early_exits = 0;
                    changed = true;
                }
                Ok(None) => {}
                Err(error) => tell(
                    log,
                    &format!("cannot tell whether {} runs: {error}", self.spec.name),
                ),
            }
        }
        changed
    }

    /// Starts a process if none runs and one is due: after the pause that follows an exit, or
    /// at once for a rebuilt binary. Returns whether it did (or tried to).
    fn start_if_due(&mut self, now: Instant, log: &mut File) -> bool {
        if self.child.is_some() {
            return false;
        }
        if self.rebuilt() {
            // A new binary ends any pause: it may well start where the old one failed.
            self.status.early_exits = 0;
            self.start_at = now;
        }
        if now < self.start_at {
            return false;
        }
        self.start(now, log);
        true
    }

    fn exited(&mut self, exit: ExitStatus, now: Instant, log: &mut File) {
        let ran = now.saturating_duration_since(self.started);
        let pid = self.status.pid.take().unwrap_or_default();
        self.status.exits += 1;
        self.status.early_exits = if ran < WARM_AFTER {
            self.status.early_exits + 1
        } else {
            0
        };
        let how = format!("{exit}, {} s after it started", ran.as_secs());
        self.status.last_exit = Some(how.clone());
        self.restart_later(now, &format!("(pid {pid}) exited ({how})"), log);
    }

    fn restart_later(&mut self, now: Instant, what: &str, log: &mut File) {
        let pause = pause_before_restart(self.status.early_exits);
        self.start_at = now + pause;
        let when = match self.status.early_exits {
            0 => "starting it again".to_owned(),
            1 => format!(
                "starting it again in {} s (its first exit soon after starting)",
                pause.as_secs()
            ),
            n => format!(
                "starting it again in {} s ({n} exits in a row soon after starting)",
                pause.as_secs()
            ),
        };
        tell(log, &format!("{} {what}; {when}", self.spec.name));
    }

    fn start(&mut self, now: Instant, log: &mut File) {
        self.status.starts += 1;
        self.status.binary_modified = modified(&self.spec.binary);
        self.started = now;
        match self.spawn(log) {
            Ok(child) => {
                self.status.pid = Some(child.id());
                if self.status.starts > 1 {
                    tell(
                        log,
                        &format!("{} started again (pid {})", self.spec.name, child.id()),
                    );
                }
                self.child = Some(child);
            }
            Err(error) => {
                self.status.pid = None;
                self.status.exits += 1;
                self.status.early_exits += 1;
                let how = format!("could not be started: {error}");
                self.status.last_exit = Some(how.clone());
                self.restart_later(now, &how, log);
            }
        }
    }

    fn spawn(&self, log: &File) -> std::io::Result<Child> {
        let mut command = Command::new(&self.spec.binary);
        command
            .env_remove("AWS_PROFILE")
            .envs(self.spec.environment.iter().map(|(k, v)| (k, v)))
            .envs(self.spec.lambda_environment())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log.try_clone()?);
        detach_but_die_with_parent(&mut command);
        command.spawn()
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child, STOP_GRACE);
        }
        self.status.pid = None;
    }
}

/// Writes one line of the runner's own to the functions' log.
fn tell(log: &mut File, line: &str) {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    let _ = writeln!(log, "{now} aftercare-local: {line}");
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::net::{TcpListener, TcpStream};
    use std::path::Path;

    use super::*;
    use crate::{build_functions, local_function_environment};

    /// What `cargo lambda watch` 1.9.2 answered a function's long poll for its next event
    /// once the time given by its `--timeout` had passed without one: tower-http's time-out
    /// answer, from outside the layer that sets the request id header.
    const IDLE_ANSWER: &str = "HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n";

    /// The next connection to `api`, and the first line of the request on it; fails the test
    /// with the functions' log if none comes in a minute.
    fn next_request(api: &TcpListener, log: &Path) -> (TcpStream, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match api.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut first = String::new();
                    reader.read_line(&mut first).unwrap();
                    let mut line = String::new();
                    while reader.read_line(&mut line).unwrap() > 2 {
                        line.clear();
                    }
                    return (stream, first.trim().to_owned());
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(
                        Instant::now() < deadline,
                        "no request in a minute; the log:\n{}",
                        crate::log_tail(log, 40)
                    );
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn a_function_process_killed_by_the_emulators_idle_answer_is_started_again() {
        let binary = build_functions(&["ses-events"])
            .unwrap()
            .remove("ses-events")
            .unwrap();
        let dir = std::env::temp_dir().join(format!("aftercare-supervisor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log_path = dir.join("functions.log");
        let status_path = dir.join("functions.json");
        let api = TcpListener::bind("127.0.0.1:0").unwrap();
        api.set_nonblocking(true).unwrap();
        let port = api.local_addr().unwrap().port();
        let spec = FunctionSpec {
            name: "ses-events".into(),
            binary,
            // ses-events reads no secret at cold start, and reaches no AWS endpoint before an
            // event comes.
            // No emulator behind it: the log-id key is given inline, not read from a secret.
            environment: local_function_environment("http://127.0.0.1:1", "t", "t-link-keys")
                .into_iter()
                .filter(|(name, _)| name != "LOG_ID_KEY_SECRET")
                .chain([(
                    "LOG_ID_KEY".to_owned(),
                    aftercare_localstack::LOCAL_LOG_ID_KEY.to_owned(),
                )])
                .collect(),
            runtime_api: format!("http://127.0.0.1:{port}/.rt/ses-events"),
        };
        let supervisor = Supervisor::start(
            vec![spec],
            status_path.clone(),
            File::create(&log_path).unwrap(),
        )
        .unwrap();

        // GIVEN the function's process asks for its next event and gets the idle answer
        let (mut first, request) = next_request(&api, &log_path);
        assert_eq!(
            request,
            "GET /.rt/ses-events/2018-06-01/runtime/invocation/next HTTP/1.1"
        );
        first.write_all(IDLE_ANSWER.as_bytes()).unwrap();

        // THEN it dies of it (lambda_runtime panics: the answer has no request id), and a new
        // process asks again
        let (_second, again) = next_request(&api, &log_path);
        assert_eq!(again, request);
        let status = FunctionsStatus::read(&status_path).unwrap();
        let function = status.function("ses-events").unwrap();
        assert_eq!(function.exits, 1, "{function:?}");
        assert!(
            function
                .last_exit
                .as_deref()
                .is_some_and(|how| how.starts_with("exit status: 101")),
            "{function:?}"
        );
        let log = std::fs::read_to_string(&log_path).unwrap();
        // The functions' panic hook logs where it panicked (lambda_runtime's unwrap of the
        // missing `lambda-runtime-aws-request-id` header), never the panic's text.
        assert!(
            log.contains("bug: panic") && log.contains("lambda_runtime"),
            "{log}"
        );
        assert!(log.contains("aftercare-local: ses-events (pid "), "{log}");
        drop(supervisor);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_warm_process_that_exits_is_started_again_at_once() {
        assert_eq!(pause_before_restart(0), Duration::ZERO);
    }

    #[test]
    fn a_function_that_keeps_failing_to_start_waits_longer_each_time_up_to_half_a_minute() {
        let pauses: Vec<u64> = (1..=8).map(|n| pause_before_restart(n).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(pause_before_restart(u32::MAX), LONGEST_PAUSE);
    }
}
