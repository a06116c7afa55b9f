//! Hostile input and faults: whatever the system does (an `install` command
//! that never ends, FIFOs where files should be, a stderr nobody reads),
//! kmod-ready ends within its timeout with the status that says why.

mod common;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::unistd::pipe2;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{stderr, FixtureRoot};

/// How late past its `--timeout` a run may end: it stops waiting at the
/// deadline, not at its next poll or when an install command ends.
const SLACK: Duration = Duration::from_millis(100);

/// Runs `command` (stderr as set, else inherited), killing it if it is
/// still running after `limit` (a test must fail, not hang, when the
/// program blocks). Returns its output and how long it ran.
pub fn run_within(command: &mut Command, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
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

/// kmod-ready with `args` in `root`, its stderr captured.
fn timed(root: &FixtureRoot, args: &[&str]) -> Command {
    let mut command = root.command();
    command.args(args).stderr(Stdio::piped());
    command
}

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    common::mkfifo(path);
}

/// Runs `command` (made afresh by `make` for each try) and asserts exit 75,
/// that stderr says `expected`, and that it ended between `timeout` and
/// `timeout + SLACK`. This machine is shared, so a run that a busy CPU made
/// late is tried again, up to five times; a run that blocks or waits for
/// its install command is late every time.
fn assert_timed_out(mut make: impl FnMut() -> Command, timeout: Duration, expected: &str) {
    // One at a time: these tests measure time.
    static SERIAL: Mutex<()> = Mutex::new(());
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut times = Vec::new();
    for _ in 0..5 {
        let (out, took) = run_within(&mut make(), timeout + Duration::from_secs(10));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(75), "took {took:?}: {err}");
        assert!(took >= timeout, "gave up early ({took:?}): {err}");
        assert!(err.contains(expected), "{err}");
        if took <= timeout + SLACK {
            return;
        }
        times.push(took);
    }
    panic!("gave up late every time: {times:?}");
}

#[test]
fn timeout_bounds_a_slow_install_command() {
    let root = FixtureRoot::new("install-outlasts-timeout");
    let expected = "not ready after 1 s: the modprobe.d install command of krtest_inst \
                    was still running";
    let command = || timed(&root, &["--timeout", "1s", "krtest_inst"]);
    assert_timed_out(command, Duration::from_secs(1), expected);
}

/// Runs `krtest_inst` with a 5 s timeout and asserts it ends long before
/// it with 78, the modprobe.d or index file refused unread; its stderr.
fn refused_at_once(root: &FixtureRoot) -> String {
    let (out, took) = run_within(
        &mut timed(root, &["--timeout", "5s", "krtest_inst"]),
        Duration::from_secs(10),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}: {err}");
    err
}

#[test]
fn fifo_in_modprobe_d_does_not_hang_loading() {
    let root = FixtureRoot::new("install-command-fails");
    mkfifo(&root.path.join("etc/modprobe.d/wedge.conf"));
    let err = refused_at_once(&root);
    let expected = "krtest_inst: /etc/modprobe.d/wedge.conf (a FIFO) in modprobe.d is not a \
                    regular file, which libkmod would block on: remove it";
    assert!(err.contains(expected), "{err}");
}

#[test]
fn fifo_as_initstate_does_not_hang_the_wait() {
    let root = FixtureRoot::new("going-times-out");
    mkfifo(&root.path.join("sys/module/krtest_going/initstate"));
    let expected = "still missing after 500 ms: /sys/module/krtest_going";
    let command = || timed(&root, &["--timeout", "500ms", "krtest_going"]);
    assert_timed_out(command, Duration::from_millis(500), expected);
}

/// A stream socket whose reader never reads and whose buffer is full, as
/// journald's stdout stream when journald is wedged; blocking, as systemd
/// hands it over.
fn wedged_socket() -> (UnixStream, UnixStream) {
    let (reader, writer) = UnixStream::pair().unwrap();
    writer.set_nonblocking(true).unwrap();
    // Large writes, then single bytes, until not even one byte fits.
    for size in [4096, 1] {
        let block = vec![b'x'; size];
        loop {
            match (&writer).write(&block) {
                Ok(_) => continue,
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(err) => panic!("filling the socket: {err}"),
            }
        }
    }
    writer.set_nonblocking(false).unwrap();
    (reader, writer)
}

#[test]
fn wedged_stderr_socket_does_not_hang_the_run() {
    let root = FixtureRoot::new("going-times-out");
    let mut readers = Vec::new();
    let command = || {
        let (reader, writer) = wedged_socket();
        readers.push(reader);
        let mut command = root.command();
        command
            .args(["-vv", "krtest_going", "--timeout", "500ms"])
            .stderr(Stdio::from(OwnedFd::from(writer)));
        command
    };
    // Every line is dropped, so stderr says nothing.
    assert_timed_out(command, Duration::from_millis(500), "");
}

/// A pipe whose reader never reads and whose buffer is full, shrunk to one
/// page first so that little fills it; blocking, as a shell hands it over.
fn full_pipe() -> (OwnedFd, OwnedFd) {
    let (reader, writer) = pipe2(OFlag::O_CLOEXEC).unwrap();
    let fd = writer.as_raw_fd();
    assert_eq!(fcntl(fd, FcntlArg::F_SETPIPE_SZ(4096)), Ok(4096));
    fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
    let mut pipe = std::fs::File::from(writer);
    loop {
        match pipe.write(b"x") {
            Ok(_) => continue,
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(err) => panic!("filling the pipe: {err}"),
        }
    }
    fcntl(fd, FcntlArg::F_SETFL(OFlag::empty())).unwrap();
    (reader, pipe.into())
}

#[test]
fn full_stderr_pipe_does_not_hang_the_wait() {
    let root = FixtureRoot::new("going-times-out");
    // Every line is dropped, so stderr says nothing.
    assert_timed_out_into_full_pipe(&root, &["-vv", "krtest_going", "--timeout", "500ms"], 500);
}

/// [`assert_timed_out`] with stderr a full pipe nobody reads, afresh for
/// each try.
fn assert_timed_out_into_full_pipe(root: &FixtureRoot, args: &[&str], timeout_ms: u64) {
    let mut readers = Vec::new();
    let command = || {
        let (reader, writer) = full_pipe();
        readers.push(reader);
        let mut command = root.command();
        command.args(args).stderr(Stdio::from(writer));
        command
    };
    assert_timed_out(command, Duration::from_millis(timeout_ms), "");
}

/// The line before loading is written before the bound on loading starts;
/// the bound's own line is written from the watchdog.
#[test]
fn full_stderr_pipe_does_not_hang_loading() {
    let root = FixtureRoot::new("install-outlasts-timeout");
    assert_timed_out_into_full_pipe(&root, &["--timeout", "1s", "krtest_inst"], 1000);
}

#[test]
fn wait_for_cannot_forge_a_log_line() {
    let root = FixtureRoot::new("already-ready");
    for (path, reason) in [
        (
            "/sys/x\nkmod-ready: forged",
            "the path cannot contain a newline",
        ),
        ("/sys/./module/x", "the path must not contain '.' or '..'"),
    ] {
        let out = root.run(&["--wait-for", path, "nf_conntrack"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(64), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(reason), "{err}");
    }
}

/// A control character in a module name is shown one way in the line: the
/// value escaped, the reason naming it without an escape of its own.
#[test]
fn a_module_name_with_an_escape_is_refused_in_one_plain_line() {
    let root = FixtureRoot::new("already-ready");
    let out = root.run(&["nf\x1b[2Jconntrack"]);
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(
        stderr(&out),
        "kmod-ready: invalid value 'nf\\x1b[2Jconntrack' for '<MODULE>...': module names cannot \
         contain U+001B (see kmod-ready --help)\n"
    );
}

#[test]
fn many_verbose_flags_do_not_wrap_to_quiet() {
    let root = FixtureRoot::new("already-ready");
    let mut args = vec!["-v"; 128];
    args.push("nf_conntrack");
    let out = root.run(&args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("nf_conntrack ready in"), "{err}");
}

#[test]
fn sigterm_ends_the_wait_even_without_a_signalfd() {
    let root = FixtureRoot::new("going-times-out");
    let mut command = timed(&root, &["--timeout", "30s", "krtest_going"]);
    common::fail_syscalls(&mut command, &[libc::SYS_signalfd4], libc::ENOMEM);
    let child = command.stdout(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    common::kill(&child, libc::SIGTERM);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let out = rx.recv_timeout(Duration::from_secs(5));
    let took = sent.elapsed();
    let out = out
        .expect("SIGTERM was ignored until the deadline")
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(libc::SIGTERM), "{}", stderr(&out));
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

/// The first line ("already in the kernel, waiting…") meets a full stderr
/// (`writer`); then its reader comes back and reads the filler away: the
/// last line says one line was lost.
fn assert_dropped_line_counted(reader: OwnedFd, writer: OwnedFd) {
    let root = FixtureRoot::new("going-times-out");
    let mut command = root.command();
    command
        .args(["krtest_going", "--timeout", "2s"])
        .stderr(Stdio::from(writer));
    let child = command.spawn().unwrap();
    drop(command);
    std::thread::sleep(Duration::from_secs(1));
    let fd = reader.as_raw_fd();
    let mut reader = std::fs::File::from(reader);
    let mut buffer = vec![0; 1 << 20];
    fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
    while reader.read(&mut buffer).is_ok_and(|n| n > 0) {}
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(75));
    fcntl(fd, FcntlArg::F_SETFL(OFlag::empty())).unwrap();
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    assert!(
        rest.starts_with("kmod-ready: error: krtest_going: still missing after 2 s"),
        "{rest:?}"
    );
    assert!(
        rest.ends_with(" (1 log lines dropped: stderr was full)\n"),
        "{rest:?}"
    );
}

#[test]
fn fifo_in_the_module_index_does_not_hang_loading() {
    let root = FixtureRoot::new("install-command-fails");
    mkfifo(&root.path.join("lib/modules/6.1.0-test/modules.dep.bin"));
    let err = refused_at_once(&root);
    let expected = "krtest_inst: /lib/modules/6.1.0-test/modules.dep.bin (a FIFO) in the module \
                    index is not a regular file, which libkmod would block on: rebuild the \
                    index: `depmod -a 6.1.0-test`";
    assert!(err.contains(expected), "{err}");
}

/// kmod passes over a directory among the modprobe.d files, so a same-named
/// directory in /etc hides nothing: the FIFO below it is still read.
#[test]
fn a_directory_does_not_hide_a_fifo_in_modprobe_d() {
    let root = FixtureRoot::new("install-command-fails");
    std::fs::create_dir_all(root.path.join("etc/modprobe.d/wedge.conf")).unwrap();
    std::fs::create_dir_all(root.path.join("lib/modprobe.d")).unwrap();
    mkfifo(&root.path.join("lib/modprobe.d/wedge.conf"));
    let err = refused_at_once(&root);
    assert!(
        err.contains("/lib/modprobe.d/wedge.conf (a FIFO) in modprobe.d is not a regular file"),
        "{err}"
    );
}

#[test]
fn dropped_lines_are_counted_in_the_last_line() {
    let (reader, writer) = wedged_socket();
    assert_dropped_line_counted(reader.into(), writer.into());
}

#[test]
fn dropped_lines_on_a_pipe_are_counted_in_the_last_line() {
    let (reader, writer) = full_pipe();
    assert_dropped_line_counted(reader, writer);
}
