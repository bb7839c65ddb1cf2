//! Child processes that never outlive the runner, and signals to them.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Makes the process `command` starts its own process group's leader (a signal to the
/// runner's group does not reach it; the runner stops it itself), and has it sent SIGTERM when
/// the thread that starts it ends, so that it never outlives the runner, even one killed.
pub(crate) fn detach_but_die_with_parent(command: &mut Command) {
    std::os::unix::process::CommandExt::process_group(command, 0);
    // SAFETY: prctl only sets a flag of the new process; it allocates nothing and is
    // async-signal-safe, as code between fork and exec must be.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(command, || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
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

/// Sends `signal` to the process `pid`; returns whether it received it.
pub(crate) fn signal(pid: u32, signal: libc::c_int) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill only sends a signal; a process that no longer exists yields ESRCH.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// Asks `child` to stop (SIGTERM), kills it if it has not stopped after `grace`, and reaps it.
pub(crate) fn stop_child(child: &mut Child, grace: Duration) {
    signal(child.id(), libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}
