//! The cold start of each function's release binary, timed as Lambda sees it: from `exec` to
//! the binary's first request to the runtime API for an invocation, against a stub runtime API
//! on localhost. The binaries run their real cold start (configuration, SDK clients, the
//! log-id and link-signing keys read from Secrets Manager on the emulator), so the time covers
//! everything but the network to AWS and the download of the code.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

/// The functions' binaries, as Cargo names them (those of `template.yaml`).
pub use aftercare_local::FUNCTIONS;

/// How long a binary may take to ask for its first invocation before the measurement fails.
const START_LIMIT: Duration = Duration::from_secs(20);

/// One function's binary: its size and its cold starts.
#[derive(Debug, Clone, Serialize)]
pub struct BinaryCost {
    /// The function.
    pub function: String,
    /// The release binary's size in bytes (the release profile strips symbols).
    pub bytes: u64,
    /// The median time from exec to the first request for an invocation, in milliseconds.
    pub init_median_ms: f64,
    /// The fastest of the starts, in milliseconds.
    pub init_min_ms: f64,
    /// How many starts were timed.
    pub starts: usize,
}

/// Why a binary could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The binary is not where the release build puts it.
    #[error("{0} is missing: the release build (cargo build --release) did not make it")]
    Missing(PathBuf),
    /// Starting or talking to it failed.
    #[error("{function}: {detail}")]
    Run {
        /// The function.
        function: String,
        /// What went wrong.
        detail: String,
    },
}

/// Times `starts` cold starts of `function`'s binary in `release_dir`, each with `environment`
/// (the shop's configuration and where the emulator is) on top of the runtime's own variables.
pub fn measure_one(
    release_dir: &Path,
    function: &str,
    environment: &[(String, String)],
    starts: usize,
) -> Result<Option<BinaryCost>, InitError> {
    let binary = release_dir.join(function);
    let bytes = std::fs::metadata(&binary)
        .map_err(|_| InitError::Missing(binary.clone()))?
        .len();
    let mut times = (0..starts)
        .map(|_| time_one_start(function, &binary, environment))
        .collect::<Result<Vec<_>, _>>()?;
    times.sort_by(f64::total_cmp);
    Ok(times.first().copied().map(|fastest| BinaryCost {
        function: function.to_owned(),
        bytes,
        init_median_ms: times.get(times.len() / 2).copied().unwrap_or(fastest),
        init_min_ms: fastest,
        starts,
    }))
}

/// Starts `binary` against a fresh stub runtime API and returns the milliseconds until it asked
/// for its first invocation; the process is killed then.
fn time_one_start(
    function: &str,
    binary: &Path,
    environment: &[(String, String)],
) -> Result<f64, InitError> {
    let fail = |detail: String| InitError::Run {
        function: function.to_owned(),
        detail,
    };
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| fail(e.to_string()))?;
    let address = listener.local_addr().map_err(|e| fail(e.to_string()))?;
    let started = Instant::now();
    let child = Command::new(binary)
        .envs(environment.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("could not start {}: {e}", binary.display())))?;
    let mut child = Killed(child);
    listener
        .set_nonblocking(true)
        .map_err(|e| fail(e.to_string()))?;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let elapsed = started.elapsed();
                stream
                    .set_nonblocking(false)
                    .map_err(|e| fail(e.to_string()))?;
                let mut line = String::new();
                BufReader::new(&stream)
                    .read_line(&mut line)
                    .map_err(|e| fail(e.to_string()))?;
                if !line.contains("/runtime/invocation/next") {
                    return Err(fail(format!("its first request was {line:?}")));
                }
                // Nothing is answered: the process is killed as it waits.
                return Ok(elapsed.as_secs_f64() * 1000.0);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(status) = child.0.try_wait().map_err(|e| fail(e.to_string()))? {
                    let mut stderr = String::new();
                    if let Some(pipe) = child.0.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut { pipe }, &mut stderr);
                    }
                    return Err(fail(format!(
                        "exited ({status}) before asking for an invocation: {stderr}"
                    )));
                }
                if started.elapsed() > START_LIMIT {
                    return Err(fail(format!(
                        "did not ask for an invocation within {START_LIMIT:?}"
                    )));
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(e) => return Err(fail(e.to_string())),
        }
    }
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
