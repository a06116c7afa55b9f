//! `kmod-ready check` on hostile inputs: files that are FIFOs,
//! devices or unreadable are listed under `skipped` with the reason, never
//! read (or hung on), never read as empty; bytes from outside never reach
//! the terminal raw.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{FixtureRoot, CHECK_CASES};

/// Runs `command`, killed after 10 s so that a hang fails the test.
fn run_bounded(command: Command) -> Output {
    common::run_bounded(command, Duration::from_secs(10))
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|err| {
        panic!(
            "{err}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            common::stderr(out)
        )
    })
}

fn skipped(report: &serde_json::Value) -> Vec<String> {
    let list = report["skipped"].as_array().unwrap();
    list.iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn fifo_and_device_configs_are_skipped_not_read() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, "blacklisted");
    let modprobe_d = root.path.join("etc/modprobe.d");
    common::mkfifo(&modprobe_d.join("wedge.conf"));
    std::os::unix::fs::symlink("/dev/zero", modprobe_d.join("zero.conf")).unwrap();
    let out = run_bounded(root.check_command(&["--json"]));
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let report = json(&out);
    let skipped = skipped(&report);
    for expected in [
        "/etc/modprobe.d/wedge.conf: a FIFO, not a regular file; not read",
        "/etc/modprobe.d/zero.conf: a device, not a regular file; not read",
    ] {
        assert!(skipped.iter().any(|s| s == expected), "{skipped:?}");
    }
    let cause = report["verdict"]["cause"].as_str().unwrap();
    assert!(
        cause.starts_with("/etc/modprobe.d/wedge.conf (a FIFO) in modprobe.d is not a regular"),
        "{cause}"
    );
}

/// Runs `check --json` as the user nobody, as an admin without root would.
fn check_as_nobody(root: &FixtureRoot) -> Output {
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(common::kmod_ready_argv())
        .args(["check", "--json"])
        .env("KMOD_READY_ROOT", &root.path);
    run_bounded(command)
}

fn make_unreadable(root: &FixtureRoot, path: &str) {
    let full = root.path.join(path.trim_start_matches('/'));
    std::fs::set_permissions(full, std::fs::Permissions::from_mode(0o000)).unwrap();
}

#[test]
fn unreadable_inputs_are_listed_not_read_as_empty() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, "ready");
    let drop_in =
        "/usr/lib/systemd/system/snap.microk8s.daemon-kubelite.service.d/50-kmod-ready.conf";
    make_unreadable(&root, drop_in);
    root.create("/proc/cmdline");
    make_unreadable(&root, "/proc/cmdline");
    root.create("/etc/modprobe.d/local.conf");
    make_unreadable(&root, "/etc/modprobe.d/local.conf");
    let out = check_as_nobody(&root);
    let report = json(&out);
    let skipped = skipped(&report);
    for path in [drop_in, "/proc/cmdline", "/etc/modprobe.d/local.conf"] {
        let expected = format!("{path}: Permission denied (os error 13)");
        assert!(skipped.contains(&expected), "{skipped:?}");
    }
    let warnings = report["verdict"]["warnings"].to_string();
    assert!(!warnings.contains("reinstall"), "{warnings}");
    assert_eq!(out.status.code(), Some(0), "{report}");
}

/// What kubelite reads for kube-proxy, when check cannot read it: the mode
/// cannot be told, and the verdict is not ready, for any user.
#[test]
fn kube_proxy_arguments_check_cannot_read_are_no_verdict() {
    let args = "/var/snap/microk8s/current/args/kube-proxy";
    let root = FixtureRoot::from_cases(&CHECK_CASES, "microk8s-iptables-ready");
    let full = root.path.join(args.trim_start_matches('/'));
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&full)
        .unwrap();
    file.set_len(1024 * 1024 + 1).unwrap();
    let out = run_bounded(root.check_command(&["--json"]));
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let too_large = format!("{args}: larger than 1024 KiB; not read");
    assert_eq!(
        report["verdict"]["cause"].as_str().unwrap(),
        format!("kube-proxy's mode cannot be told: {too_large}")
    );
    assert!(skipped(&report).contains(&too_large), "{report}");

    file.set_len(0).unwrap();
    make_unreadable(&root, args);
    let out = check_as_nobody(&root);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(
        report["verdict"]["cause"].as_str().unwrap(),
        format!("kube-proxy's mode cannot be told: {args}: Permission denied (os error 13)")
    );
    assert_eq!(report["kube_proxy"]["mode"], serde_json::Value::Null);
}

/// RHEL ships grub.cfg 0600: what GRUB reads and check cannot is no
/// verdict, never one from the Boot Loader Specification entries beside it.
#[test]
fn a_grub_cfg_check_cannot_read_is_no_next_boot_verdict() {
    let grub_cfg = "/boot/grub2/grub.cfg";
    let root = FixtureRoot::from_cases(&CHECK_CASES, "next-boot-bls-kernelopts");
    make_unreadable(&root, grub_cfg);
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(common::kmod_ready_argv())
        .args(["check", "--json", "--next-boot"])
        .env("KMOD_READY_ROOT", &root.path);
    let out = run_bounded(command);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let denied = format!("{grub_cfg}: Permission denied (os error 13)");
    assert_eq!(
        report["next_boot"]["kernel"]["guess"].as_str().unwrap(),
        format!("{denied} (run check as root)")
    );
    assert_eq!(
        report["next_boot"]["kernel"]["release"],
        serde_json::Value::Null
    );
    assert!(skipped(&report).contains(&denied), "{report}");
}

#[test]
fn terminal_escapes_from_files_are_not_printed_raw() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, "ready-override");
    let override_conf = Path::new("etc/systemd/system/snap.microk8s.daemon-kubelite.service.d");
    std::fs::write(
        root.path.join(override_conf).join("override.conf"),
        "[Service]\nExecStartPre=/bin/true \x1b[2J\x1b]0;owned\x07\n",
    )
    .unwrap();
    let out = run_bounded(root.check_command(&[]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    assert!(
        text.contains("/bin/true \\x1b[2J\\x1b]0;owned\\x07"),
        "{text}"
    );
}

#[test]
fn long_lists_are_capped_with_a_count_of_the_rest() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, "blacklisted");
    let lines = "blacklist nf_conntrack\n".repeat(25);
    std::fs::write(root.path.join("etc/modprobe.d/many.conf"), lines).unwrap();
    let out = run_bounded(root.check_command(&["--json"]));
    let report = json(&out);
    let listed = report["modules"][0]["blacklisted_at"].as_array().unwrap();
    assert_eq!(listed.len(), 20);
    let skipped = skipped(&report);
    let more = skipped
        .iter()
        .find(|s| s.contains("more blacklist lines not listed"));
    // 25 lines here and the fixture's own 2, less the 20 listed.
    assert!(
        more.is_some_and(|s| s == "nf_conntrack: 7 more blacklist lines not listed"),
        "{skipped:?}"
    );
}

#[test]
fn output_errors_exit_74_with_a_message() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, "ready");
    let full = std::fs::File::create("/dev/full").unwrap();
    let mut command = root.check_command(&[]);
    let out = command
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(74), "{err}");
    assert_eq!(
        err,
        "kmod-ready: cannot write the report to standard output: No space left on device \
         (os error 28)\n"
    );
    let out = common::kmod_ready()
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "--help to /dev/null is fine");
    for (args, what) in [
        (&["--help"][..], "the help"),
        (&["check", "--help"], "the help"),
        (&["-V"], "the version"),
        (&["--version"], "the version"),
    ] {
        let mut closed = common::kmod_ready();
        closed.args(args).stderr(Stdio::piped());
        common::close_stdout(&mut closed);
        let out = closed.output().unwrap();
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(74), "{args:?}: {err}");
        let expected = format!("kmod-ready: cannot write {what} to standard output: ");
        assert!(err.starts_with(&expected), "{args:?}: {err}");
    }
}

#[test]
fn json_never_contradicts_itself_for_a_coming_module() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, "ready");
    let module = root.path.join("sys/module/krtest_coming");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(module.join("initstate"), "coming\n").unwrap();
    let report = json(&run_bounded(
        root.check_command(&["--json", "krtest_coming"]),
    ));
    let module = &report["modules"][0];
    assert_eq!(module["state"], "loaded-not-ready", "{module}");
    let path = &module["paths"][0];
    assert_eq!(path["path"], "/sys/module/krtest_coming");
    assert_eq!(
        (&path["exists"], &path["value"]),
        (&true.into(), &"coming".into())
    );
}

#[test]
fn a_huge_initstate_is_not_read_whole() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, "ready");
    let module = root.path.join("sys/module/krtest_big");
    std::fs::create_dir_all(&module).unwrap();
    let initstate = std::fs::File::create(module.join("initstate")).unwrap();
    initstate.set_len(1 << 30).unwrap(); // sparse: 1 GiB read as zeros
    let started = Instant::now();
    let report = json(&run_bounded(root.check_command(&["--json", "krtest_big"])));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        report["modules"][0]["paths"][0]["value"],
        serde_json::Value::Null
    );
    let expected = "/sys/module/krtest_big/initstate: larger than 4 KiB; not read";
    assert!(skipped(&report).iter().any(|s| s == expected), "{report}");
}

#[test]
fn a_fifo_as_initstate_does_not_hang_check() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, "ready");
    let module = root.path.join("sys/module/krtest_fifo");
    std::fs::create_dir_all(&module).unwrap();
    common::mkfifo(&module.join("initstate"));
    let out = run_bounded(root.check_command(&["--json", "krtest_fifo"]));
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(report["modules"][0]["state"], "loaded-not-ready");
    let expected = "/sys/module/krtest_fifo/initstate: a FIFO, not a regular file; not read";
    assert!(skipped(&report).iter().any(|s| s == expected), "{report}");
}

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    common::mkfifo(path);
}

/// `check --json` on `root` ends (bounded), not ready, its cause starting
/// with `expected`.
fn assert_not_ready_because(root: &FixtureRoot, expected: &str) {
    let out = run_bounded(root.check_command(&["--json"]));
    let report = json(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let cause = report["verdict"]["cause"].as_str().unwrap();
    assert!(cause.starts_with(expected), "{cause}");
}

#[test]
fn a_fifo_in_the_module_index_does_not_hang_check() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, "loadable");
    mkfifo(&root.path.join("lib/modules/6.1.0-test/modules.alias.bin"));
    let expected = "/lib/modules/6.1.0-test/modules.alias.bin (a FIFO) in the module index";
    assert_not_ready_because(&root, expected);
}

#[test]
fn a_directory_does_not_hide_a_fifo_from_check() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, "loadable");
    std::fs::create_dir_all(root.path.join("etc/modprobe.d/wedge.conf")).unwrap();
    std::fs::create_dir_all(root.path.join("lib/modprobe.d")).unwrap();
    mkfifo(&root.path.join("lib/modprobe.d/wedge.conf"));
    let expected = "/lib/modprobe.d/wedge.conf (a FIFO) in modprobe.d is not a regular file";
    assert_not_ready_because(&root, expected);
}

/// libkmod complains on stderr about a modprobe.d line it rejects, quoting
/// it: the quote reaches the terminal escaped, as when loading.
#[test]
fn libkmod_messages_are_escaped_in_check() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, "loadable");
    let modprobe_d = root.path.join("etc/modprobe.d");
    std::fs::create_dir_all(&modprobe_d).unwrap();
    std::fs::write(
        modprobe_d.join("bad.conf"),
        "optoins\x1b[2J\x1b]0;owned\x07 nf_conntrack x=1\n",
    )
    .unwrap();
    let out = run_bounded(root.check_command(&[]));
    let err = common::stderr(&out);
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
    assert!(
        err.contains("optoins\\x1b[2J"),
        "libkmod's line is shown: {err:?}"
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
}

/// node-problem-detector reads exit status 1 as "problem" and any other
/// non-zero one as "unknown": no error of `check --npd` may exit 1. A usage
/// error prints nothing on stdout (NPD would show it as the condition's
/// message); a root that cannot be read is no verdict (66, with one line
/// that says so); a failed write is 74.
#[test]
fn npd_errors_never_read_as_a_problem() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, "loadable");
    for args in [
        &["--npd", "--json"][..],
        &["--npd", "--bogus"],
        &["--npd", "--npd"],
        &["--npd", "a/b"],
        &["--npd", "nf_conntrack=1"],
    ] {
        let out = run_bounded(root.check_command(args));
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: stdout {:?}", out.stdout);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }

    let missing = root.path.join("no-such-root");
    let empty = FixtureRoot::empty("npd-empty-root");
    let unreadable = FixtureRoot::from_cases(&CHECK_CASES, "ready");
    std::fs::set_permissions(&unreadable.path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let as_nobody = |next_boot: &[&str]| {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .args(common::kmod_ready_argv())
            .args(["check", "--npd"])
            .args(next_boot)
            .env("KMOD_READY_ROOT", &unreadable.path);
        run_bounded(command)
    };
    for next_boot in [&[][..], &["--next-boot"]] {
        let mut outs = vec![as_nobody(next_boot)];
        for system in [&missing, &empty.path] {
            let mut command = common::kmod_ready();
            command
                .env("KMOD_READY_ROOT", system)
                .args(["check", "--npd"])
                .args(next_boot);
            outs.push(run_bounded(command));
        }
        for out in outs {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                out.status.code(),
                Some(66),
                "{stdout}{}",
                common::stderr(&out)
            );
            assert_eq!(
                stdout,
                "no verdict: /proc/sys/kernel/osrelease cannot be read; is / the host's?\n"
            );
        }
    }
    std::fs::set_permissions(&unreadable.path, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut full = root.check_command(&["--npd"]);
    full.stdout(std::fs::File::create("/dev/full").unwrap());
    let out = full.stderr(Stdio::piped()).output().unwrap();
    assert_eq!(out.status.code(), Some(74), "{}", common::stderr(&out));
    // With stdout closed and stderr a pipe, stderr's own descriptor must
    // not take fd 1, where the report would go to stderr and exit 1.
    for (args, what) in [(&["--npd"][..], "the line"), (&[], "the report")] {
        let mut closed = root.check_command(args);
        common::close_stdout(&mut closed);
        let out = closed.stderr(Stdio::piped()).output().unwrap();
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(74), "{args:?}: {err}");
        let expected = format!("kmod-ready: cannot write {what} to standard output: ");
        assert!(err.starts_with(&expected), "{args:?}: {err}");
    }
}

/// A root without /proc/sys/kernel/osrelease is no system: every mode says
/// there is no verdict, in one line on stderr, and exits 66, never 1 ("not
/// ready", about a kernel it could not name); the metrics file is not
/// written, so node_exporter keeps reporting the last one's age.
#[test]
fn no_kernel_release_is_no_verdict_in_every_mode() {
    let system = FixtureRoot::empty("no-release-root");
    let textfile_dir = system.path.join("textfile");
    std::fs::create_dir(&textfile_dir).unwrap();
    let textfile_arg = format!("--textfile-dir={}", textfile_dir.display());
    for args in [
        &[][..],
        &["--json"],
        &["--next-boot"],
        &["--prometheus"],
        &["--prometheus", &textfile_arg],
    ] {
        let out = run_bounded(system.check_command(args));
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(66), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: stdout {:?}", out.stdout);
        assert_eq!(
            err,
            "kmod-ready: no verdict: /proc/sys/kernel/osrelease cannot be read; is / the host's?\n",
            "{args:?}"
        );
    }
    assert_eq!(std::fs::read_dir(&textfile_dir).unwrap().count(), 0);
}
