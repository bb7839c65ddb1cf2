//! [`FunctionServer`]: `cargo lambda watch` as the Lambda runtime API emulator, and the
//! function processes that poll it, supervised.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aftercare_localstack::repository_root;

use crate::binaries::build_functions;
use crate::invoke::LocalFunctions;
use crate::process::{detach_but_die_with_parent, signal_group};
use crate::status::FunctionsStatus;
use crate::supervisor::{FunctionSpec, Supervisor};
use crate::{cargo_lambda, environment_of, RunError, FUNCTIONS, INVOKE_TIMEOUT};

/// The functions, running on this machine as Lambda runs them. `cargo lambda watch` emulates
/// the runtime API (its `--only-lambda-apis` mode, and without `--timeout`: that limit applies
/// to every request, so after that long idle the emulator answered the functions' own long
/// poll for the next event with `408 Request Timeout`, and `lambda_runtime` panics on an
/// answer without a request id). The runner starts each function's process itself and starts
/// it again whenever it exits (see [`crate::supervisor`]).
///
/// Dropping it stops the function processes and the emulator.
pub struct FunctionServer {
    emulator: Child,
    functions: LocalFunctions,
    supervisor: Supervisor,
    stopped: bool,
}

impl FunctionServer {
    /// Builds the functions' binaries, starts the emulator on `port` and one process per
    /// function with `environment` on top of this process's own (the AWS endpoint,
    /// credentials and the shop's configuration; without the link variables for a function
    /// that neither signs nor verifies links, see [`environment_of`]); the emulator's output,
    /// the functions' logs and the supervisor's notes go to `functions.log` in `dir`, the
    /// functions' status to `functions.json` there. Returns once the emulator accepts
    /// invocations.
    pub fn start(
        environment: &[(String, String)],
        port: u16,
        dir: &Path,
    ) -> Result<Self, RunError> {
        let cargo_lambda = cargo_lambda()?;
        // A port someone else holds would answer our readiness probe and take our invocations.
        TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
            RunError::Start(format!(
                "127.0.0.1:{port} is taken ({e}); stop what holds it, or choose another port (AFTERCARE_INVOKE_PORT for make invoke)"
            ))
        })?;
        let functions = LocalFunctions::new(port, dir);
        std::fs::create_dir_all(dir)
            .map_err(|e| RunError::Start(format!("cannot create {}: {e}", dir.display())))?;
        let log = File::create(functions.log_file()).map_err(|e| {
            RunError::Start(format!(
                "cannot write {}: {e}",
                functions.log_file().display()
            ))
        })?;
        let binaries = build_functions(&FUNCTIONS)?;
        let mut command = Command::new(cargo_lambda);
        command
            .args(["lambda", "watch", "--only-lambda-apis", "--ignore-changes"])
            .args(["--quiet", "--locked"])
            .args(["--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string()])
            .current_dir(repository_root())
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .stdout(clone(&log)?)
            .stderr(clone(&log)?);
        detach_but_die_with_parent(&mut command);
        let mut emulator = command
            .spawn()
            .map_err(|e| RunError::Start(e.to_string()))?;
        if let Err(error) = wait_until_it_answers(&mut emulator, port, &functions) {
            signal_group(emulator.id(), libc::SIGKILL);
            let _ = emulator.wait();
            return Err(error);
        }
        let specs = binaries
            .into_iter()
            .map(|(name, binary)| FunctionSpec {
                runtime_api: format!("http://127.0.0.1:{port}/.rt/{name}"),
                environment: environment_of(&name, environment),
                name,
                binary,
            })
            .collect();
        let supervisor = match Supervisor::start(specs, functions.status_file(), log) {
            Ok(supervisor) => supervisor,
            Err(error) => {
                signal_group(emulator.id(), libc::SIGKILL);
                let _ = emulator.wait();
                return Err(error);
            }
        };
        Ok(Self {
            emulator,
            functions,
            supervisor,
            stopped: false,
        })
    }

    /// The port invocations are sent to.
    pub fn port(&self) -> u16 {
        self.functions.port()
    }

    /// The process id of the emulator, which is also its process group's.
    pub fn pid(&self) -> u32 {
        self.emulator.id()
    }

    /// Where the functions are reached, for a call from this process or another.
    pub fn functions(&self) -> &LocalFunctions {
        &self.functions
    }

    /// The functions' status as the supervisor wrote it last.
    pub fn status(&self) -> Result<FunctionsStatus, RunError> {
        self.functions.status()
    }

    /// The last `lines` lines of the functions' log.
    pub fn log_tail(&self, lines: usize) -> String {
        self.functions.log_tail(lines)
    }

    /// Sends the event in `event_file` to `function` and returns its answer, waiting at most
    /// [`INVOKE_TIMEOUT`] (see [`LocalFunctions::invoke`]).
    pub fn invoke(&self, function: &str, event_file: &Path) -> Result<serde_json::Value, RunError> {
        self.functions.invoke(function, event_file, INVOKE_TIMEOUT)
    }

    /// Ok while the emulator runs and the supervisor keeps the functions running; the error
    /// says which of them stopped.
    pub fn check(&mut self) -> Result<(), RunError> {
        if let Ok(Some(status)) = self.emulator.try_wait() {
            self.stopped = true;
            return Err(RunError::Stopped(format!(
                "`cargo lambda watch` exited ({status}); its output:\n{}",
                self.log_tail(40)
            )));
        }
        if !self.supervisor.is_running() {
            return Err(RunError::Stopped(
                "the supervisor of the function processes stopped".to_owned(),
            ));
        }
        Ok(())
    }

    fn stop(&mut self) {
        self.supervisor.stop();
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        signal_group(self.emulator.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.emulator.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        signal_group(self.emulator.id(), libc::SIGKILL);
        let _ = self.emulator.kill();
        let _ = self.emulator.wait();
    }
}

impl Drop for FunctionServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn clone(log: &File) -> Result<File, RunError> {
    log.try_clone()
        .map_err(|e| RunError::Start(format!("cannot share the functions' log: {e}")))
}

/// Waits until the emulator `child` accepts connections on `port` (at most 60 s); fails with
/// its output if it exits or does not.
fn wait_until_it_answers(
    child: &mut Child,
    port: u16,
    functions: &LocalFunctions,
) -> Result<(), RunError> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answers = TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok();
        if let Ok(Some(status)) = child.try_wait() {
            return Err(RunError::Start(format!(
                "it exited ({status}); its output:\n{}",
                functions.log_tail(40)
            )));
        }
        if answers {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(RunError::Start(format!(
                "nothing listens on {address} after 60 s; its output:\n{}",
                functions.log_tail(40)
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
