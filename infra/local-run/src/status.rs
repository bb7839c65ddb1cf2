//! What the runner knows of the function processes it supervises. The supervisor writes it to a
//! file beside the functions' log whenever it changes, so that another process (`make invoke`,
//! the local stack's health check) reads the same as the runner itself.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::RunError;

/// A process that exits sooner than this after it started failed to start (a configuration it
/// rejects, a panic at cold start); one that ran longer had been warm.
pub const WARM_AFTER: Duration = Duration::from_secs(10);

/// After this many exits in a row, each sooner than [`WARM_AFTER`] after its start, a function
/// is failing: a call would only wait for the next one.
pub const FAILING_AFTER: u32 = 3;

/// One function's processes, as the supervisor saw them last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionStatus {
    /// The function's binary name (one of [`crate::FUNCTIONS`]).
    pub function: String,
    /// The binary its processes run.
    pub binary: PathBuf,
    /// The process that runs it now; `None` while none does (not yet started, or exited and
    /// waiting to be started again).
    pub pid: Option<u32>,
    /// When the binary that process was started from had been written; a rebuilt binary has a
    /// later one, and its function is then started afresh.
    pub binary_modified: Option<SystemTime>,
    /// How many processes were started.
    pub starts: u32,
    /// How many of them exited on their own (a process stopped because its binary was rebuilt
    /// is not counted).
    pub exits: u32,
    /// How many of the last exits in a row came sooner than [`WARM_AFTER`] after their start;
    /// back to 0 once a process has run that long.
    pub early_exits: u32,
    /// How the last process that exited ended, e.g. `exit status: 101, 900 s after it started`.
    pub last_exit: Option<String>,
}

/// Whether a function can take a call now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// A process runs it and waits for calls.
    Running {
        /// That process.
        pid: u32,
    },
    /// None runs it yet, and the supervisor starts one; a call waits for it.
    Starting,
    /// Its processes exited [`FAILING_AFTER`] times or more in a row soon after starting,
    /// and none has run long enough since to be warm: a call would most likely wait in vain.
    Failing {
        /// How many times in a row.
        early_exits: u32,
        /// How the last one ended.
        last_exit: String,
    },
}

impl FunctionStatus {
    /// Whether the function can take a call now, by the rules of [`Readiness`].
    pub fn readiness(&self) -> Readiness {
        if self.early_exits >= FAILING_AFTER {
            return Readiness::Failing {
                early_exits: self.early_exits,
                last_exit: self.last_exit.clone().unwrap_or_default(),
            };
        }
        match self.pid {
            Some(pid) => Readiness::Running { pid },
            None => Readiness::Starting,
        }
    }
}

/// Every function's status, and who supervises them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionsStatus {
    /// The process that supervises the functions (the one that started the
    /// [`crate::FunctionServer`]).
    pub supervisor: u32,
    /// One entry per function, in the order of [`crate::FUNCTIONS`].
    pub functions: Vec<FunctionStatus>,
}

impl FunctionsStatus {
    /// The status written at `path`.
    pub fn read(path: &Path) -> Result<Self, RunError> {
        let problem = |problem: String| RunError::Status {
            path: path.display().to_string(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| problem(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| problem(format!("not a status: {e}")))
    }

    /// Writes the status to `path` whole: a reader sees the previous status or this one, never
    /// a part of it.
    pub fn write(&self, path: &Path) -> Result<(), RunError> {
        let problem = |problem: String| RunError::Status {
            path: path.display().to_string(),
            problem,
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| problem(e.to_string()))?;
        let partial = path.with_extension("json.partial");
        std::fs::write(&partial, text).map_err(|e| problem(e.to_string()))?;
        std::fs::rename(&partial, path).map_err(|e| problem(e.to_string()))
    }

    /// The status of `function`, if it is one of the functions.
    pub fn function(&self, function: &str) -> Option<&FunctionStatus> {
        self.functions.iter().find(|f| f.function == function)
    }
}

/// When the file at `path` was last written, if it can be read.
pub(crate) fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(pid: Option<u32>, early_exits: u32) -> FunctionStatus {
        FunctionStatus {
            function: "order-events".into(),
            binary: PathBuf::from("order-events"),
            pid,
            binary_modified: None,
            starts: early_exits + 1,
            exits: early_exits,
            early_exits,
            last_exit: (early_exits > 0).then(|| "exit status: 1, 0 s after it started".into()),
        }
    }

    #[test]
    fn a_function_is_running_or_starting_until_it_has_failed_to_start_three_times_in_a_row() {
        assert_eq!(
            status(Some(7), 0).readiness(),
            Readiness::Running { pid: 7 }
        );
        assert_eq!(
            status(Some(7), FAILING_AFTER - 1).readiness(),
            Readiness::Running { pid: 7 }
        );
        assert_eq!(status(None, 0).readiness(), Readiness::Starting);
        assert_eq!(
            status(None, FAILING_AFTER - 1).readiness(),
            Readiness::Starting
        );
    }

    #[test]
    fn a_function_that_failed_to_start_three_times_in_a_row_is_failing_even_while_it_tries_again() {
        let failing = Readiness::Failing {
            early_exits: FAILING_AFTER,
            last_exit: "exit status: 1, 0 s after it started".into(),
        };
        assert_eq!(status(None, FAILING_AFTER).readiness(), failing);
        assert_eq!(status(Some(7), FAILING_AFTER).readiness(), failing);
    }

    #[test]
    fn a_status_reads_back_as_it_was_written() {
        let path =
            std::env::temp_dir().join(format!("aftercare-status-{}.json", std::process::id()));
        let written = FunctionsStatus {
            supervisor: 42,
            functions: vec![status(Some(7), 0), status(None, 1)],
        };
        written.write(&path).unwrap();
        assert_eq!(FunctionsStatus::read(&path).unwrap(), written);
        assert!(!path.with_extension("json.partial").exists());
        let _ = std::fs::remove_file(path);
    }
}
