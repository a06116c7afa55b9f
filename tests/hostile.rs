//! Hostile input and faults (issue 13): what must end on time with the
//! right status whatever the system does: slow `install` commands, FIFOs
//! where files should be, a stderr nobody reads.

mod common;

use std::ffi::CString;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{stderr, FixtureRoot};

/// How late past its timeout a run may end (the bound).
const SLACK: Duration = Duration::from_millis(100);

/// Runs `command`, killing it if it is still running after `limit` (a test
/// must fail, not hang, when the program blocks). Returns its output and
/// how long it ran.
pub fn run_within(command: &mut Command, limit: Duration) -> (Output, Duration) {
    // One at a time: these tests measure time, on a machine that is shared.
    static SERIAL: Mutex<()> = Mutex::new(());
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = started.elapsed();
    (child.wait_with_output().unwrap(), took)
}

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let c_path = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
}

/// Asserts exit 75, ended between `timeout` and `timeout + SLACK`, and
/// that stderr says `expected`.
fn assert_timed_out(out: &Output, took: Duration, timeout: Duration, expected: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(75), "took {took:?}: {err}");
    assert!(took >= timeout, "gave up early ({took:?}): {err}");
    assert!(took <= timeout + SLACK, "gave up late ({took:?}): {err}");
    assert!(err.contains(expected), "{err}");
}

#[test]
fn timeout_bounds_a_slow_install_command() {
    let root = FixtureRoot::new("install-outlasts-timeout");
    let (out, took) = run_within(
        root.command().args(["--timeout", "1s", "krtest_inst"]),
        Duration::from_secs(10),
    );
    let expected = "not ready after 1 s: the modprobe.d install command of krtest_inst \
                    was still running";
    assert_timed_out(&out, took, Duration::from_secs(1), expected);
}

#[test]
fn fifo_in_modprobe_d_does_not_hang_loading() {
    let root = FixtureRoot::new("install-command-fails");
    mkfifo(&root.path.join("etc/modprobe.d/wedge.conf"));
    let (out, took) = run_within(
        root.command().args(["--timeout", "500ms", "krtest_inst"]),
        Duration::from_secs(10),
    );
    let expected = "libkmod was still reading modprobe.d and the module index";
    assert_timed_out(&out, took, Duration::from_millis(500), expected);
}

#[test]
fn fifo_as_initstate_does_not_hang_the_wait() {
    let root = FixtureRoot::new("coming-times-out");
    mkfifo(&root.path.join("sys/module/krtest_coming/initstate"));
    let (out, took) = run_within(
        root.command().args(["--timeout", "500ms", "krtest_coming"]),
        Duration::from_secs(10),
    );
    let expected = "still missing after 500 ms: /sys/module/krtest_coming";
    assert_timed_out(&out, took, Duration::from_millis(500), expected);
}
