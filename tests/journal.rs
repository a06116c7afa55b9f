//! The journal entries themselves, received on a socket of our own that a
//! private mount namespace puts at /run/systemd/journal/socket, where the
//! program sends them. Parsed as journald parses the native protocol.
//! Skipped, with the reason printed, where a mount namespace cannot be made
//! (not root, or no `unshare`); under `CI=true` that is a failure. The qemu tests read the same entries from a real journald.

mod common;

use std::collections::HashMap;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{stderr, FixtureRoot, BIN};

type Entry = HashMap<String, String>;

/// What stands at /run/systemd/journal/socket for the program.
#[derive(Clone, Copy, PartialEq)]
enum Journal {
    /// Our socket, read after the run.
    Listening,
    /// No socket at all.
    Missing,
    /// A socket file nobody listens on (journald stopped).
    Stale,
    /// Our socket with its queue already full (journald wedged).
    Full,
}

const FILLER: &[u8] = b"filler";

/// Runs kmod-ready with `args` against the fixture `case` and the journal
/// socket `journal`, and returns its output and the entries it sent. A run
/// that takes more than 10 s is killed and reported as hung.
fn run_with_journal(case: &str, args: &[&str], journal: Journal) -> Option<(Output, Vec<Entry>)> {
    run_refusing(case, args, journal, None)
}

/// As [`run_with_journal`], with the kernel answering `refuse` (an errno)
/// to every module insertion.
fn run_refusing(
    case: &str,
    args: &[&str],
    journal: Journal,
    refuse: Option<i32>,
) -> Option<(Output, Vec<Entry>)> {
    let root = FixtureRoot::new(case);
    let socket_dir = root.path.join("journal-socket");
    std::fs::create_dir_all(&socket_dir).unwrap();
    let socket_path = socket_dir.join("socket");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_nonblocking(true).unwrap();
    if journal == Journal::Stale {
        drop(socket);
        return run_in_namespace(&root, &socket_dir, args, true, refuse)
            .map(|out| (out, Vec::new()));
    }
    if journal == Journal::Full {
        let filler = UnixDatagram::unbound().unwrap();
        filler.set_nonblocking(true).unwrap();
        let mut sent = 0;
        while filler.send_to(FILLER, &socket_path).is_ok() {
            sent += 1;
            assert!(sent < 1_000_000, "the socket queue never filled");
        }
    }
    let out = run_in_namespace(
        &root,
        &socket_dir,
        args,
        journal != Journal::Missing,
        refuse,
    )?;
    let mut entries = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    while let Ok(n) = socket.recv(&mut buf) {
        if n > 0 && &buf[..n] != FILLER {
            entries.push(parse_native(&buf[..n]));
        }
    }
    Some((out, entries))
}

fn run_in_namespace(
    root: &FixtureRoot,
    socket_dir: &std::path::Path,
    args: &[&str],
    bind_socket: bool,
    refuse: Option<i32>,
) -> Option<Output> {
    let bind = if bind_socket {
        r#"mount --bind "$SOCKET_DIR" /run/systemd/journal && "#
    } else {
        ""
    };
    let script = format!(
        "mount -t tmpfs none /run && mkdir -p /run/systemd/journal && {bind}exec \"$BIN\" \"$@\""
    );
    let mut command = Command::new("unshare");
    if let Some(errno) = refuse {
        common::refuse_module_loading(&mut command, errno);
    }
    let child = command
        .args([
            "-m",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            &script,
            "sh",
            "--log=journal",
        ])
        .args(args)
        .env("KMOD_READY_ROOT", &root.path)
        .env("SOCKET_DIR", socket_dir)
        .env("BIN", BIN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(err) => {
            common::skip("journal test", &format!("cannot run unshare: {err}"));
            return None;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!(
                "kmod-ready hung for 10 s: {}",
                stderr(&child.wait_with_output().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    if stderr(&out).contains("unshare failed") || stderr(&out).contains("unshare:") {
        common::skip(
            "journal test",
            &format!(
                "cannot make a private mount namespace here: {}",
                stderr(&out)
            ),
        );
        return None;
    }
    Some(out)
}

/// The journal's native protocol: `KEY=value\n`, or `KEY\n` followed by a
/// little-endian u64 length, the value, and `\n`.
fn parse_native(mut data: &[u8]) -> Entry {
    let mut entry = Entry::new();
    while !data.is_empty() {
        let eol = data
            .iter()
            .position(|&b| b == b'\n')
            .expect("a field ends with a newline");
        let line = &data[..eol];
        if let Some(eq) = line.iter().position(|&b| b == b'=') {
            entry.insert(
                String::from_utf8_lossy(&line[..eq]).into(),
                String::from_utf8_lossy(&line[eq + 1..]).into(),
            );
            data = &data[eol + 1..];
        } else {
            let rest = &data[eol + 1..];
            let len = u64::from_le_bytes(rest[..8].try_into().unwrap()) as usize;
            let value = &rest[8..8 + len];
            assert_eq!(rest[8 + len], b'\n');
            entry.insert(
                String::from_utf8_lossy(line).into(),
                String::from_utf8_lossy(value).into(),
            );
            data = &rest[9 + len..];
        }
    }
    entry
}

/// The entry with `message_id`; it has every field that the catalog's text
/// for that id substitutes, so that `journalctl -x` fills them all in.
fn find<'a>(entries: &'a [Entry], message_id: &str) -> &'a Entry {
    let entry = entries
        .iter()
        .find(|e| e.get("MESSAGE_ID").map(String::as_str) == Some(message_id))
        .unwrap_or_else(|| panic!("no entry with MESSAGE_ID={message_id} in {entries:#?}"));
    let catalog = common::catalog::entries();
    let text = catalog
        .iter()
        .find(|c| c.id == message_id)
        .expect("a catalog entry");
    for field in text.substituted_fields() {
        assert!(
            entry.contains_key(&field),
            "the catalog for {message_id} substitutes @{field}@, missing from {entry:?}"
        );
    }
    entry
}

#[test]
fn ready_summary_is_a_notice_with_its_fields() {
    let Some((out, entries)) =
        run_with_journal("already-ready", &["nf_conntrack"], Journal::Listening)
    else {
        return;
    };
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        out.stderr.is_empty(),
        "logged to stderr too: {}",
        stderr(&out)
    );
    let ready = find(&entries, "b2072fad9bef4abba80cce1d55829e1d");
    assert_eq!(ready["PRIORITY"], "5");
    assert_eq!(ready["SYSLOG_IDENTIFIER"], "kmod-ready");
    assert_eq!(ready["KMOD_MODULE"], "nf_conntrack");
    assert!(
        ready["MESSAGE"].starts_with("nf_conntrack ready in "),
        "{ready:?}"
    );
    assert!(
        ready["KMOD_ELAPSED_USEC"].parse::<u64>().is_ok(),
        "{ready:?}"
    );
}

/// A module that is not found has no errno: no `ERRNO=` field at all.
#[test]
fn failure_is_an_error_naming_module_and_release() {
    let Some((out, entries)) =
        run_with_journal("unknown-module", &["krtest_missing"], Journal::Listening)
    else {
        return;
    };
    assert_eq!(out.status.code(), Some(69));
    let failed = find(&entries, "2bd8559d3e8a48dd9383593d3debc3b3");
    assert_eq!(failed["PRIORITY"], "3");
    assert_eq!(failed["KMOD_MODULE"], "krtest_missing");
    assert_eq!(failed["KMOD_KERNEL_RELEASE"], "6.1.0-test");
    assert_eq!(failed.get("ERRNO"), None, "{failed:?}");
    assert_eq!(failed.get("KMOD_ERRNO"), None, "{failed:?}");
    assert!(
        failed["MESSAGE"].contains("not found in /lib/modules/6.1.0-test"),
        "{failed:?}"
    );
}

/// The kernel's answer travels as systemd's `ERRNO=`, a number.
#[test]
fn refused_insertion_carries_errno() {
    let Some((out, entries)) = run_refusing(
        "insert-refused",
        &["krtest_fake"],
        Journal::Listening,
        Some(libc::ENOSYS),
    ) else {
        return;
    };
    assert_eq!(out.status.code(), Some(69), "{}", stderr(&out));
    let failed = find(&entries, "2bd8559d3e8a48dd9383593d3debc3b3");
    assert_eq!(failed["ERRNO"], libc::ENOSYS.to_string(), "{failed:?}");
    assert_eq!(failed.get("KMOD_ERRNO"), None, "{failed:?}");
    assert_eq!(failed["KMOD_MODULE"], "krtest_fake");
}

#[test]
fn blacklist_override_and_load_are_logged() {
    let Some((out, entries)) =
        run_with_journal("blacklisted-by-name", &["krtest_bl"], Journal::Listening)
    else {
        return;
    };
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let warning = find(&entries, "df02465a3d994f7ca0933779f2042992");
    assert_eq!(warning["PRIORITY"], "4");
    assert_eq!(warning["KMOD_MODULE"], "krtest_bl");
    let loaded = find(&entries, "1fa7a327c9b64387b939cd571f4f7bc5");
    assert_eq!(loaded["KMOD_MODULE"], "krtest_bl");
    assert_eq!(loaded["MESSAGE"], "loaded krtest_bl");
    find(&entries, "b2072fad9bef4abba80cce1d55829e1d");
}

#[test]
fn timeout_is_logged_with_its_message_id() {
    let Some((out, entries)) = run_with_journal(
        "going-times-out",
        &["krtest_going", "--timeout", "100ms"],
        Journal::Listening,
    ) else {
        return;
    };
    assert_eq!(out.status.code(), Some(75));
    let timed_out = find(&entries, "7a6a60d4fc50499599b2229f6549a519");
    assert_eq!(timed_out["PRIORITY"], "3");
    assert_eq!(timed_out["KMOD_MODULE"], "krtest_going");
}

#[test]
fn a_load_that_outlasts_the_timeout_has_its_own_message_id() {
    let Some((out, entries)) = run_with_journal(
        "install-outlasts-timeout",
        &["--timeout", "300ms", "krtest_inst"],
        Journal::Listening,
    ) else {
        return;
    };
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    let timed_out = find(&entries, "563b7fe280134e8f89f5c39073a29df2");
    assert_eq!(timed_out["PRIORITY"], "3");
    assert_eq!(timed_out["KMOD_MODULE"], "krtest_inst");
    assert!(
        !entries
            .iter()
            .any(|e| e.get("MESSAGE_ID").map(String::as_str)
                == Some("7a6a60d4fc50499599b2229f6549a519")),
        "a load still running is not 'the files did not appear': {entries:?}"
    );
}

#[test]
fn missing_journal_falls_back_to_stderr() {
    let Some((out, entries)) =
        run_with_journal("already-ready", &["nf_conntrack"], Journal::Missing)
    else {
        return;
    };
    assert!(entries.is_empty());
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("the journal socket cannot be reached; logging to stderr"),
        "{err}"
    );
    assert!(err.contains("nf_conntrack ready in "), "{err}");
}

#[test]
fn stale_journal_socket_falls_back_to_stderr() {
    let Some((out, _)) = run_with_journal("already-ready", &["nf_conntrack"], Journal::Stale)
    else {
        return;
    };
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(err.contains("nf_conntrack ready in "), "{err}");
}

/// journald wedged, its queue full: every entry goes to stderr at once,
/// and the run neither blocks nor fails.
#[test]
fn full_journal_never_blocks() {
    let Some((out, entries)) = run_with_journal("already-ready", &["nf_conntrack"], Journal::Full)
    else {
        return;
    };
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(entries.is_empty(), "{entries:?}");
    let err = stderr(&out);
    assert!(err.contains("nf_conntrack ready in "), "{err}");
}

/// libkmod's own words: the modprobe.d line it ignores, which it reports
/// while the context is made, reaches the journal as an error of ours.
#[test]
fn libkmod_messages_are_journal_entries() {
    let Some((out, entries)) =
        run_with_journal("modprobe-d-bad-line", &["krtest_real"], Journal::Listening)
    else {
        return;
    };
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        out.stderr.is_empty(),
        "libkmod wrote to stderr: {}",
        stderr(&out)
    );
    let libkmod = entries
        .iter()
        .find(|e| e.get("KMOD_LIBKMOD").map(String::as_str) == Some("1"))
        .unwrap_or_else(|| panic!("no entry of libkmod in {entries:#?}"));
    assert_eq!(libkmod["PRIORITY"], "3");
    assert!(
        libkmod["MESSAGE"].ends_with("line 2: ignoring bad line starting with 'optoins'"),
        "{libkmod:?}"
    );
    assert_eq!(libkmod.get("MESSAGE_ID"), None);
}
