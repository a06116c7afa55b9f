//! Behaviour a user sees that a fixture file cannot express: timing of the
//! wait, signals, argument errors, what the fast path does not touch, and a
//! system without libkmod.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{reported_millis, stderr, FixtureRoot, BIN};

#[test]
fn path_appearing_while_waiting_is_seen() {
    let root = FixtureRoot::new("going-times-out");
    let spawned = Instant::now();
    let child = root
        .command()
        .args([
            "krtest_going",
            "--wait-for",
            "/proc/sys/net/krtest/ready",
            "--timeout",
            "5s",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(
        root.path.join("sys/module/krtest_going/initstate"),
        "live\n",
    )
    .unwrap();
    root.create("/proc/sys/net/krtest/ready");
    let out = child.wait_with_output().unwrap();
    let took = spawned.elapsed().as_millis() as u64;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("krtest_going ready in"), "{err}");
    assert!(took >= 200, "exited {took} ms after it was started: {err}");
    // Counted from its own start, which a loaded machine may delay past
    // the spawn: at most the wall time, and at least most of the 200 ms.
    let millis = reported_millis(&err);
    assert!(
        (100..=took).contains(&millis),
        "reported {millis} ms of {took}: {err}"
    );
}

/// The kernel may take longer than --timeout to run a module's init on a
/// busy machine: while it visibly does, the wait goes on.
#[test]
fn a_module_initialising_past_the_timeout_is_waited_for() {
    let root = FixtureRoot::new("coming-outlasts-limit");
    let module = root.path.join("sys/module/nf_conntrack");
    std::fs::create_dir_all(module.join("parameters")).unwrap();
    std::fs::write(module.join("initstate"), "coming\n").unwrap();
    // The default timeout (10 s): exit 0 at 14 s is the wait past it.
    let child = root
        .command()
        .arg("nf_conntrack")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(14));
    root.create("/proc/sys/net/netfilter/nf_conntrack_max");
    root.create("/sys/module/nf_conntrack/parameters/hashsize");
    std::fs::write(module.join("initstate"), "live\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "kmod-ready: nf_conntrack: already in the kernel, waiting until it is ready",
            "kmod-ready: nf_conntrack: the kernel is still initialising it after 10 s; waiting \
             up to 60 s (the default: not started by systemd)",
        ],
        "{err}"
    );
    assert!(
        lines[2].starts_with("kmod-ready: nf_conntrack ready in 1"),
        "{err}"
    );
    assert!(reported_millis(&err) >= 14_000, "{err}");
}

/// Past --timeout, the wait lasts only while a module is initialising:
/// once none is, it ends within the looks of patience.rs (two, a second
/// apart), not at the limit.
#[test]
fn the_wait_past_the_timeout_ends_when_nothing_initialises() {
    let root = FixtureRoot::new("coming-outlasts-limit");
    let initstate = root.path.join("sys/module/krtest_coming/initstate");
    let started = Instant::now();
    let child = root
        .command()
        .args(["krtest_coming", "--timeout", "500ms"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    // Unloaded before its init ended: nothing will make it live.
    std::fs::write(&initstate, "going\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(
        err.contains("kmod-ready: error: krtest_coming: still missing after "),
        "{err}"
    );
    assert!(
        err.contains("the kernel is initialising no module"),
        "{err}"
    );
    assert!(took < Duration::from_secs(30), "waited {took:?}: {err}");
}

#[test]
fn timeout_ends_the_wait_on_time() {
    let root = FixtureRoot::new("going-times-out");
    // A busy machine can make a run late; a run that overshoots its
    // deadline by design is late every time, so five late tries fail.
    let mut tries = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let out = root.run(&["krtest_going", "--timeout", "500ms"]);
        let took = started.elapsed();
        assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
        assert!(
            took >= Duration::from_millis(500),
            "gave up early: {took:?}"
        );
        if took <= Duration::from_millis(600) {
            return;
        }
        tries.push(took);
    }
    panic!("gave up late every time: {tries:?}");
}

#[test]
fn sigterm_while_waiting_exits_promptly() {
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
        let mut tries = Vec::new();
        while tries.len() < 5 {
            let root = FixtureRoot::new("going-times-out");
            let child = root
                .command()
                .args(["krtest_going", "--timeout", "30s"])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(300));
            let sent = Instant::now();
            common::kill(&child, signal);
            let out = child.wait_with_output().unwrap();
            let took = sent.elapsed();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(75), "{name}: {err}");
            assert!(err.contains(&format!("krtest_going: interrupted by {name} while waiting for /sys/module/krtest_going; not ready")), "{err}");
            // As above: late on a busy machine now and then, never every time.
            if took <= Duration::from_millis(100) {
                break;
            }
            tries.push(took);
        }
        assert!(
            tries.len() < 5,
            "{name}: exited late after the signal every time: {tries:?}"
        );
    }
}

/// After a load the watchdog thread is still there, asleep until the
/// deadline: a SIGTERM for the process must reach the wait, not end the
/// process by its default action in that thread.
#[test]
fn sigterm_after_a_load_ends_the_wait() {
    let root = FixtureRoot::new("wait-for-never");
    let child = root
        .command()
        .args(["krtest_quiet", "--wait-for", "/proc/sys/net/krtest/ready"])
        .args(["--timeout", "30s"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    common::kill(&child, libc::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(err.contains("loaded krtest_quiet"), "{err}");
    assert!(err.contains("krtest_quiet: interrupted by SIGTERM while waiting for /proc/sys/net/krtest/ready; not ready"), "{err}");
}

#[test]
fn fast_path_does_not_open_libkmod() {
    let libkmod_opened = |case: &str, args: &[&str]| {
        let root = FixtureRoot::new(case);
        let out = root
            .command()
            .env("LD_DEBUG", "libs")
            .args(args)
            .output()
            .unwrap();
        stderr(&out).contains("libkmod.so.2")
    };
    assert!(!libkmod_opened("already-ready", &["nf_conntrack"]));
    // The same probe sees libkmod when a module must be looked up.
    assert!(libkmod_opened("unknown-module", &["krtest_missing"]));
}

/// What the README and kmod-ready(8) say: a ready module asked for by an
/// alias is looked up through libkmod (only libkmod knows what an alias
/// stands for); asked for by its name, it is not.
#[test]
fn an_alias_is_looked_up_through_libkmod_even_when_ready() {
    let root = FixtureRoot::new("alias");
    let module = root.path.join("sys/module/krtest_real");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(module.join("initstate"), "live\n").unwrap();
    for (module, opens_libkmod) in [("krtest_real", false), ("krtest-alias", true)] {
        let out = root
            .command()
            .env("LD_DEBUG", "libs")
            .arg(module)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{module}: {err}");
        assert!(err.contains(&format!("{module} ready in")), "{err}");
        assert_eq!(
            err.contains("libkmod.so.2"),
            opens_libkmod,
            "{module}: {err}"
        );
    }
}

/// Each usage error is one line that names the argument and says why
/// (a bare number, a unit the help does not list, a bracket libkmod would
/// refuse, a module option where a module goes, an option check ignores).
#[test]
fn usage_errors_say_why() {
    let usage = |reason: &str| format!("kmod-ready: {reason} (see kmod-ready --help)\n");
    let cases: [(&[&str], String); 7] = [
        (
            &["--timeout", "5", "nf_conntrack"],
            usage("invalid value '5' for '--timeout <DURATION>': a number needs a unit (ms, s, m or h), e.g. 5s"),
        ),
        (
            &["--timeout", "1min", "nf_conntrack"],
            usage("invalid value '1min' for '--timeout <DURATION>': expected a whole number with ms, s, m or h, e.g. 500ms, 10s, 1m"),
        ),
        (
            &["nf_conntrack["],
            usage("invalid value 'nf_conntrack[' for '<MODULE>...': '[' is never closed: a module name has only letters, digits, '_' and '-', and an alias's brackets come in pairs ([0-9]), as libkmod requires"),
        ),
        (
            &["nf_conntrack]"],
            usage("invalid value 'nf_conntrack]' for '<MODULE>...': ']' closes no '[': a module name has only letters, digits, '_' and '-', and an alias's brackets come in pairs ([0-9]), as libkmod requires"),
        ),
        (
            &["nf_conntrack", "hashsize=65536"],
            usage("invalid value 'hashsize=65536' for '<MODULE>...': a module option, not a module; kmod-ready loads a module with its options from modprobe.d: write `options nf_conntrack hashsize=65536` in /etc/modprobe.d/FILE.conf"),
        ),
        (
            &["check", "-v"],
            usage("unexpected argument '-v' found"),
        ),
        (
            &["--log=stderr", "check"],
            usage("invalid value 'check' for '<MODULE>...': 'check' is a command and comes first: kmod-ready check [--json] [MODULE]..."),
        ),
    ];
    let root = FixtureRoot::new("already-ready");
    for (args, expected) in cases {
        let mut command = common::kmod_ready();
        let out = root.environment(&mut command).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        assert_eq!(stderr(&out), expected, "{args:?}");
    }
    // The options check refuses still work for loading.
    let out = root.run(&["-v", "nf_conntrack"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// `check --help` offers only what check uses.
#[test]
fn check_help_lists_only_its_own_options() {
    let out = Command::new(BIN)
        .args(["check", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    let options: Vec<&str> = help
        .lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with('-'))
        .collect();
    assert_eq!(
        options,
        [
            "--json",
            "--prometheus",
            "--textfile-dir <DIR>",
            "--next-boot",
            "--npd",
            "-h, --help"
        ],
        "{help}"
    );
}

#[test]
fn bad_arguments_are_one_line_and_exit_64() {
    let long = "x".repeat(256);
    let cases: Vec<(Vec<&[u8]>, &str)> = vec![
        (vec![b"--timeout", b"-1", b"nf_conntrack"], "--timeout"),
        (vec![b"--timeout", b"0", b"nf_conntrack"], "--timeout"),
        (vec![b"--timeout", b"2h", b"nf_conntrack"], "--timeout"),
        (vec![b"--timeout", b"soon", b"nf_conntrack"], "--timeout"),
        (
            vec![b"--wait-for", b"/etc/passwd", b"nf_conntrack"],
            "--wait-for",
        ),
        (
            vec![b"--wait-for", b"proc/sys/x", b"nf_conntrack"],
            "--wait-for",
        ),
        (
            vec![b"--wait-for", b"/sys/../etc/shadow", b"nf_conntrack"],
            "--wait-for",
        ),
        (vec![b"../x"], "MODULE"),
        (vec![b""], "MODULE"),
        (vec![b"nf conntrack"], "MODULE"),
        (vec![b"\xff\xfe"], "MODULE"),
        (vec![long.as_bytes()], "MODULE"),
        (vec![], "MODULE"),
        (
            vec![b"--no-such-option", b"nf_conntrack"],
            "--no-such-option",
        ),
        (vec![b"--log", b"syslog", b"nf_conntrack"], "--log"),
    ];
    for (args, named) in cases {
        let args: Vec<&std::ffi::OsStr> = args
            .iter()
            .map(|a| std::ffi::OsStr::from_bytes(a))
            .collect();
        let out = Command::new(BIN).args(&args).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
        assert!(
            err.contains(named),
            "{args:?}: does not name {named}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn help_documents_the_exit_statuses() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for line in [
        "64  usage error",
        "69  module not found",
        "75  not ready before --timeout",
        "77  not permitted",
        "78  bad configuration",
    ] {
        assert!(help.contains(line), "--help lacks {line:?}");
    }
}

/// A load given up on while libkmod's kmod_new still reads (here a
/// modprobe.d file so large that parsing it outlasts the timeout) still says
/// why on stderr, which kmod_new holds in a pipe to catch libkmod's own
/// lines.
#[test]
fn timeout_inside_kmod_new_is_still_reported() {
    let root = FixtureRoot::new("unknown-module");
    let huge: String = (0..1_500_000)
        .map(|n| format!("options krtest_option_{n} p=1\n"))
        .collect();
    let modprobe_d = root.path.join("etc/modprobe.d");
    std::fs::create_dir_all(&modprobe_d).unwrap();
    std::fs::write(modprobe_d.join("huge.conf"), huge).unwrap();
    let out = root.run(&["krtest_missing", "--timeout", "100ms"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(
        err.contains("krtest_missing: not ready after 100 ms: libkmod was still reading"),
        "{err}"
    );
}

/// Without libkmod, loading fails with the package to install, and `check`
/// says the same. The library is really absent for the run: in a private
/// mount namespace, /dev/null is bound over the file the loader maps.
#[test]
fn missing_libkmod_names_the_package_to_install() {
    let root = FixtureRoot::new("unknown-module");
    let traced = root
        .command()
        .env("LD_DEBUG", "libs")
        .arg("krtest_missing")
        .output()
        .unwrap();
    let library = stderr(&traced)
        .lines()
        .filter_map(|l| l.split_once("calling init: "))
        .map(|(_, path)| path.trim().to_string())
        .find(|path| path.ends_with("/libkmod.so.2"))
        .expect("a lookup maps libkmod.so.2");
    let without_libkmod = |root: &FixtureRoot, args: &[&str]| {
        let mut command = Command::new("unshare");
        command
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(r#"mount --bind /dev/null "$0" && exec "$@""#)
            .arg(&library)
            .args(common::kmod_ready_argv())
            .args(args);
        root.environment(&mut command).output().unwrap()
    };
    if without_libkmod(&root, &["--version"]).status.code() != Some(0) {
        return common::skip(
            "missing_libkmod_names_the_package_to_install",
            "needs root for a mount namespace (unshare --mount)",
        );
    }
    let advice = "install libkmod2 (Debian, Ubuntu, SUSE) or kmod-libs (RHEL, Fedora)";
    let out = without_libkmod(&root, &["--log=stderr", "krtest_missing"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(69), "{err}");
    let error = format!("kmod-ready: error: krtest_missing: cannot load libkmod.so.2 ({library}: ");
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with(&error), "{err}");
    assert!(last.ends_with(&format!("): {advice}")), "{err}");
    let out = without_libkmod(&root, &["check", "krtest_missing"]);
    let report = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = report.split_whitespace().collect();
    let verdict = format!(
        "verdict: not ready — libkmod.so.2 is missing and krtest_missing is not loaded: {advice}"
    );
    assert!(words.join(" ").contains(&verdict), "{report}");
    // Said once as the verdict, not again as a warning.
    assert!(!report.contains("warning"), "{report}");
    // A node that is ready without libkmod hears of it as a warning.
    let ready = FixtureRoot::new("already-ready");
    let out = without_libkmod(&ready, &["check", "nf_conntrack"]);
    let report = String::from_utf8_lossy(&out.stdout);
    let words = report.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(out.status.code(), Some(0), "{report}");
    let warning = format!("kmod-ready cannot load modules ({advice})");
    assert!(
        words.contains("warning") && words.contains(&warning),
        "{report}"
    );
}
