//! The instructions the domain's pure work takes, counted by callgrind: the CPU bench program
//! (`aftercare-bench-cpu`, release build) does one piece of work once and then eleven times,
//! and the difference over ten is one piece's instructions, the process's start and set-up
//! cancelling out.

use std::path::Path;
use std::process::Command;

use serde::Serialize;

/// What the CPU bench program does, as it names it, with the words the table prints.
pub use aftercare_bench_cpu::WORK;

/// How many more times the second run does the work than the first.
const REPEATS: u64 = 10;

/// One piece of work's instructions.
#[derive(Debug, Clone, Serialize)]
pub struct WorkCost {
    /// The work, as the CPU bench program names it.
    pub work: String,
    /// What it is, in words.
    pub description: String,
    /// Instructions executed for one piece (callgrind's `Ir`).
    pub instructions: u64,
}

/// Why the instructions could not be counted.
#[derive(Debug, thiserror::Error)]
pub enum CpuError {
    /// valgrind is not installed or did not run.
    #[error("valgrind could not run {work}: {detail}")]
    Valgrind {
        /// The work.
        work: String,
        /// What went wrong.
        detail: String,
    },
}

/// Counts the instructions of each piece of [`WORK`] with `program` (the CPU bench binary),
/// callgrind's output files going to `scratch`.
pub fn measure(program: &Path, scratch: &Path) -> Result<Vec<WorkCost>, CpuError> {
    WORK.iter()
        .map(|(work, description)| {
            let once = instructions(program, scratch, work, 1)?;
            let more = instructions(program, scratch, work, 1 + REPEATS)?;
            Ok(WorkCost {
                work: (*work).to_owned(),
                description: (*description).to_owned(),
                instructions: more.saturating_sub(once) / REPEATS,
            })
        })
        .collect()
}

/// The instructions callgrind counts for the whole run of `program work times`.
fn instructions(program: &Path, scratch: &Path, work: &str, times: u64) -> Result<u64, CpuError> {
    let fail = |detail: String| CpuError::Valgrind {
        work: work.to_owned(),
        detail,
    };
    let out_file = scratch.join(format!("callgrind.{work}.{times}"));
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(program)
        .arg(work)
        .arg(times.to_string())
        .output()
        .map_err(|e| fail(format!("valgrind did not start: {e}")))?;
    // Only the count in its summary is used; the profile itself is not kept.
    let _ = std::fs::remove_file(&out_file);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(fail(format!("{}: {stderr}", output.status)));
    }
    collected(&stderr).ok_or_else(|| fail(format!("no instruction count in {stderr:?}")))
}

/// The count in callgrind's summary line `==<pid>== Collected : <n>`.
fn collected(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|line| {
        let (_, count) = line.split_once("Collected :")?;
        count.trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_is_read_from_callgrinds_summary_line() {
        let stderr = "==12== Events    : Ir\n==12== Collected : 1234567\n==12==\n==12== I   refs:      1,234,567\n";
        assert_eq!(collected(stderr), Some(1_234_567));
    }

    #[test]
    fn a_run_without_a_summary_has_no_count() {
        assert_eq!(collected("==12== error\n"), None);
    }
}
