//! Calls to the local functions through `cargo lambda invoke`, each bounded in time: a call ends
//! with the function's answer or with an error that says what happened and what to do.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::binaries::build_functions;
use crate::status::{modified, FunctionStatus, FunctionsStatus, Readiness};
use crate::{cargo_lambda, log_tail, RunError, FUNCTIONS};

/// How often a call looks at the function's status while it waits.
const POLL: Duration = Duration::from_millis(100);
/// How long a call waits for the supervisor to start a rebuilt binary in place of the process
/// that still runs the old one (it does within a tenth of a second).
const REBUILT_WITHIN: Duration = Duration::from_secs(30);
/// How many lines of the functions' log an error quotes.
const LOG_LINES: usize = 20;

/// Where the functions of a [`crate::FunctionServer`] are reached and what it says of them: the
/// port of its runtime API emulator and the directory of its log and status file. Another
/// process (`make invoke`) reaches them with the same two.
#[derive(Debug, Clone)]
pub struct LocalFunctions {
    port: u16,
    dir: PathBuf,
}

impl LocalFunctions {
    /// The functions whose emulator listens on 127.0.0.1:`port` and whose log and status are
    /// in `dir`.
    pub fn new(port: u16, dir: &Path) -> Self {
        Self {
            port,
            dir: dir.to_owned(),
        }
    }

    /// The port invocations are sent to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The functions' log: the emulator's output, the functions' own and the supervisor's.
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("functions.log")
    }

    /// The file the supervisor writes the functions' status to.
    pub fn status_file(&self) -> PathBuf {
        self.dir.join("functions.json")
    }

    /// The functions' status as the supervisor wrote it last.
    pub fn status(&self) -> Result<FunctionsStatus, RunError> {
        FunctionsStatus::read(&self.status_file())
    }

    /// The last `lines` lines of the functions' log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_file(), lines)
    }

    /// Sends the event in `event_file` to `function` and returns its answer, waiting at most
    /// `within` for it. The function's binary is built first; if that changed it, the call
    /// waits until the supervisor runs the new one. A call to a function that keeps failing to
    /// start fails at once, one whose process exits before answering fails when it does, and
    /// one not answered in time fails after `within`: each error says what to do.
    pub fn invoke(
        &self,
        function: &str,
        event_file: &Path,
        within: Duration,
    ) -> Result<serde_json::Value, RunError> {
        if !FUNCTIONS.contains(&function) {
            return Err(RunError::UnknownFunction(function.to_owned()));
        }
        check_event(event_file)?;
        build_functions(&[function])?;
        let before = self.current(function)?;
        if let Readiness::Failing {
            early_exits,
            last_exit,
        } = before.readiness()
        {
            return Err(RunError::Failing {
                function: function.to_owned(),
                early_exits,
                last_exit,
                log: self.log_file().display().to_string(),
                tail: self.log_tail(LOG_LINES),
            });
        }
        let mut call = Call::start(self.port, function, event_file)?;
        let deadline = Instant::now() + within;
        loop {
            if call.finished() {
                return call.answer(function);
            }
            let now = self.function_status(function)?;
            if now.exits > before.exits {
                call.abandon();
                return Err(RunError::Exited {
                    function: function.to_owned(),
                    last_exit: now.last_exit.unwrap_or_default(),
                    log: self.log_file().display().to_string(),
                    tail: self.log_tail(LOG_LINES),
                });
            }
            if Instant::now() >= deadline {
                call.abandon();
                return Err(RunError::NoAnswer {
                    function: function.to_owned(),
                    waited_secs: within.as_secs(),
                    pid: now.pid,
                    log: self.log_file().display().to_string(),
                    tail: self.log_tail(LOG_LINES),
                });
            }
            std::thread::sleep(POLL);
        }
    }

    fn function_status(&self, function: &str) -> Result<FunctionStatus, RunError> {
        self.status()?
            .function(function)
            .cloned()
            .ok_or_else(|| RunError::Status {
                path: self.status_file().display().to_string(),
                problem: format!("it says nothing of {function}"),
            })
    }

    /// The status of `function` once no process runs an older binary than the one on disk.
    fn current(&self, function: &str) -> Result<FunctionStatus, RunError> {
        let deadline = Instant::now() + REBUILT_WITHIN;
        loop {
            let status = self.function_status(function)?;
            let stale = status.pid.is_some() && status.binary_modified != modified(&status.binary);
            if !stale {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(RunError::NotRestarted {
                    function: function.to_owned(),
                    waited_secs: REBUILT_WITHIN.as_secs(),
                });
            }
            std::thread::sleep(POLL);
        }
    }
}

/// Fails unless `event_file` holds JSON.
fn check_event(event_file: &Path) -> Result<(), RunError> {
    let problem = |problem: String| RunError::Event {
        path: event_file.display().to_string(),
        problem,
    };
    let event = std::fs::read_to_string(event_file).map_err(|e| problem(e.to_string()))?;
    serde_json::from_str::<serde_json::Value>(&event)
        .map(|_| ())
        .map_err(|e| problem(format!("not JSON: {e}")))
}

/// One `cargo lambda invoke` under way, its output read as it comes so that a large answer
/// never blocks it.
struct Call {
    child: Child,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    status: Option<std::process::ExitStatus>,
}

impl Call {
    fn start(port: u16, function: &str, event_file: &Path) -> Result<Self, RunError> {
        let failed = |detail: String| RunError::Invoke {
            function: function.to_owned(),
            detail,
        };
        let mut child = Command::new(cargo_lambda()?)
            .args(["lambda", "invoke", "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string()])
            .args(["--output-format", "json", "--data-file"])
            .arg(event_file)
            .arg(function)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed(format!("cargo lambda invoke: {e}")))?;
        let stdout = child.stdout.take().map(read_all);
        let stderr = child.stderr.take().map(read_all);
        Ok(Self {
            child,
            stdout,
            stderr,
            status: None,
        })
    }

    fn finished(&mut self) -> bool {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status.is_some()
    }

    /// Stops waiting: ends `cargo lambda invoke`. The emulator may still hand the event to the
    /// function later.
    fn abandon(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn answer(mut self, function: &str) -> Result<serde_json::Value, RunError> {
        let take = |handle: Option<JoinHandle<Vec<u8>>>| {
            handle
                .and_then(|h| h.join().ok())
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default()
        };
        let stdout = take(self.stdout.take());
        let stderr = take(self.stderr.take());
        let failed = |detail: String| RunError::Invoke {
            function: function.to_owned(),
            detail,
        };
        if !self.status.is_some_and(|s| s.success()) {
            return Err(failed(format!("{}{}", stdout.trim(), stderr.trim())));
        }
        serde_json::from_str(stdout.trim())
            .map_err(|e| failed(format!("the answer is not JSON ({e}): {stdout}")))
    }
}

fn read_all(mut stream: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        bytes
    })
}
