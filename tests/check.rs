//! `kmod-ready check` on the cases of tests/check-fixtures, compared with
//! their golden files, and what a report must look like whatever the case.
//! How a case is laid out and how to add or bless one: tests/README.md.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{FixtureRoot, CHECK_CASES};

/// Runs `kmod-ready check ARGS` against the fixture root.
fn check(root: &FixtureRoot, args: &[&str]) -> Output {
    root.check_command(args).output().unwrap()
}

/// What every human report must look like, whatever the case: no stderr,
/// at most 100 columns, no colour off a terminal, the verdict last.
fn report_shape(out: &Output, text: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if !out.stderr.is_empty() {
        errors.push(format!("stderr: {}", String::from_utf8_lossy(&out.stderr)));
    }
    for line in text.lines() {
        if line.chars().count() > 100 || line.contains('\x1b') {
            errors.push(format!("longer than 100 columns or coloured: {line:?}"));
        }
    }
    // The verdict is the last paragraph: its first line starts with
    // "verdict: ", and long ones continue on indented lines.
    let verdict = text.lines().rev().find(|l| !l.starts_with("         "));
    if !verdict.is_some_and(|l| l.starts_with("verdict: ")) {
        errors.push("the verdict is not the last paragraph".to_string());
    }
    errors
}

fn run_case(case: &str) -> Result<(), String> {
    let dir = CHECK_CASES.case_dir(case);
    let root = FixtureRoot::from_cases(&CHECK_CASES, case);
    let args = common::case_lines(&dir, common::ARGS);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let human = check(&root, &args);
    let text = common::normalise(&String::from_utf8_lossy(&human.stdout), &root.path);
    let json = check(&root, &[&["--json"], &args[..]].concat());
    let json_text = common::normalise(&String::from_utf8_lossy(&json.stdout), &root.path);
    // --prometheus judges the next boot too: its status is that of
    // --next-boot, which is the case's own when it asks for the next boot.
    let prom = check(&root, &[&["--prometheus"], &args[..]].concat());
    let prom_text = common::normalise(&String::from_utf8_lossy(&prom.stdout), &root.path);
    let next_boot = if args.contains(&"--next-boot") {
        check(&root, &args)
    } else {
        check(&root, &[&["--next-boot"], &args[..]].concat())
    };
    let mut errors = report_shape(&human, &text);
    if json.status.code() != human.status.code() {
        errors.push(format!("--json exits {:?}", json.status.code()));
    }
    let (npd_text, npd_errors) = npd_lines(&root, &args);
    errors.extend(npd_errors);
    if prom.status.code() != next_boot.status.code() || !prom.stderr.is_empty() {
        errors.push(format!(
            "--prometheus exits {:?} (--next-boot: {:?}); stderr: {}",
            prom.status.code(),
            next_boot.status.code(),
            common::stderr(&prom)
        ));
    }
    let goldens = [
        common::golden_status(&dir, human.status.code()),
        common::golden(&dir, "expected.txt", &text),
        common::golden(&dir, "expected.json", &json_text),
        common::golden(&dir, "expected.npd", &npd_text),
        common::golden(&dir, "expected.prom", &prom_text),
    ];
    errors.extend(goldens.into_iter().filter_map(Result::err));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n  "))
    }
}

/// node-problem-detector's `max_output_length` by default: it cuts the
/// trimmed standard output of a plugin there, in bytes.
const NPD_MAX_OUTPUT: usize = 80;

/// `check --npd` on the case: the line for now and, when the case's
/// arguments judge the next boot, the line of `--npd --next-boot`; and what
/// is wrong with them. Each run prints exactly one line of at most 80 bytes
/// and nothing on stderr, and exits 0 when the JSON report of the same
/// moment says ready, 1 when it says not ready.
fn npd_lines(root: &FixtureRoot, args: &[&str]) -> (String, Vec<String>) {
    let modules: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "--next-boot")
        .collect();
    let next_boot = modules.len() != args.len();
    let now = check(root, &[&["--json"], &modules[..]].concat());
    let now: serde_json::Value = serde_json::from_slice(&now.stdout).unwrap();
    let mut runs = vec![(vec!["--npd"], now["verdict"]["ready"].clone())];
    if next_boot {
        let next = check(root, &[&["--json", "--next-boot"], &modules[..]].concat());
        let next: serde_json::Value = serde_json::from_slice(&next.stdout).unwrap();
        runs.push((
            vec!["--npd", "--next-boot"],
            next["next_boot"]["ready"].clone(),
        ));
    }
    let (mut text, mut errors) = (String::new(), Vec::new());
    for (flags, ready) in runs {
        let out = check(root, &[&flags[..], &modules[..]].concat());
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let shown = flags.join(" ");
        let expected = match ready.as_bool() {
            Some(true) => 0,
            Some(false) => 1,
            None => panic!("the JSON report has no verdict for {shown}"),
        };
        if out.status.code() != Some(expected) {
            errors.push(format!(
                "{shown} exits {:?}, not {expected}",
                out.status.code()
            ));
        }
        if !out.stderr.is_empty() {
            errors.push(format!("{shown}: stderr: {}", common::stderr(&out)));
        }
        let line = stdout.strip_suffix('\n').unwrap_or(&stdout);
        if line.contains('\n') || line.is_empty() || line.trim() != line {
            errors.push(format!("{shown} does not print one line: {stdout:?}"));
        }
        if line.len() > NPD_MAX_OUTPUT {
            errors.push(format!("{shown}: {} bytes: {line:?}", line.len()));
        }
        text.push_str(&stdout);
    }
    (common::normalise(&text, &root.path), errors)
}

#[test]
fn check_fixture_cases() {
    CHECK_CASES.assert_cases(run_case);
}

/// A ready verdict is a promise that kubelite's `ExecStartPre=` commands
/// succeed: on every case where check says ready, each command check read
/// must be executable there, and a kmod-ready one is run (the real binary,
/// on the same root); only a command with systemd's `-` prefix may fail.
#[test]
fn a_ready_verdict_is_what_the_commands_do() {
    CHECK_CASES.assert_cases(|case| {
        let root = FixtureRoot::from_cases(&CHECK_CASES, case);
        let args = common::case_lines(&CHECK_CASES.case_dir(case), common::ARGS);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = check(&root, &[&["--json"], &args[..]].concat());
        if out.status.code() != Some(0) {
            return Ok(());
        }
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let commands = report["kubelite"]["exec_start_pre"].as_array().unwrap();
        let argvs: Vec<Vec<String>> =
            serde_json::from_value(report["kubelite"]["exec_start_pre_argv"].clone()).unwrap();
        assert_eq!(commands.len(), argvs.len(), "one argv per command");
        let mut errors = Vec::new();
        for (command, argv) in commands.iter().filter_map(|c| c.as_str()).zip(&argvs) {
            let exec = kmod_ready::kubelite::parse_exec(command).unwrap();
            let mode = fs::metadata(root.path.join(exec.path.trim_start_matches('/')))
                .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()));
            let fails = if !mode.is_ok_and(|m| m & 0o111 != 0) {
                Some("cannot be executed".to_string())
            } else if exec.is_kmod_ready() {
                let run = root.command().args(&argv[1..]).output().unwrap();
                (run.status.code() != Some(0)).then(|| format!("exits {:?}", run.status.code()))
            } else {
                None
            };
            if let (Some(why), false) = (fails, exec.ignore_failure) {
                errors.push(format!("check says ready, but `{command}` {why}"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n  "))
        }
    });
}

#[test]
fn usage_errors_exit_64_with_one_line() {
    let root = FixtureRoot::empty("usage");
    for args in [
        &["--bogus"][..],
        &["a/b"],
        &["--json", "--json"],
        &["nf conntrack"],
    ] {
        let out = check(&root, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "check {args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "check {args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
    // An option before `check` makes it a module name, which is refused.
    let out = Command::new(common::BIN)
        .args(["-v", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'check' is a command"));
    let help = check(&root, &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--json"));
}

/// Colour on a terminal only, and never with NO_COLOR; `script` (util-linux)
/// gives the child a terminal.
#[test]
fn colour_only_on_a_terminal_without_no_color() {
    if !Path::new("/usr/bin/script").exists() {
        return common::skip(
            "colour test",
            "no /usr/bin/script (Debian package bsdutils)",
        );
    }
    // Not ready: the verdict is red.
    let root = FixtureRoot::from_cases(&CHECK_CASES, "loadable");
    let run = |no_color: Option<&str>| {
        let mut command = Command::new("/usr/bin/script");
        command
            .args([
                "-qec",
                &format!("{} check nf_conntrack", common::BIN),
                "/dev/null",
            ])
            .env("KMOD_READY_ROOT", &root.path)
            .env("TERM", "xterm")
            .env_remove("NO_COLOR");
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        let out = command.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (status, coloured) = run(None);
    assert_eq!(status, Some(1), "{coloured}");
    assert!(
        coloured.contains("\x1b[31m"),
        "no colour on a terminal: {coloured:?}"
    );
    let (_, plain) = run(Some("1"));
    assert!(
        !plain.contains('\x1b'),
        "colour despite NO_COLOR: {plain:?}"
    );
    let (_, empty) = run(Some(""));
    assert!(
        empty.contains('\x1b'),
        "an empty NO_COLOR does not disable colour"
    );
}

/// `kmod-ready check` is kmod-ready-check's work: run directly, the
/// program says the same, byte for byte, with the same status.
#[test]
fn check_is_its_own_program_with_the_same_words() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, "loadable");
    for args in [
        &[][..],
        &["--json", "nf_conntrack"],
        &["--npd"],
        &["--bogus"],
        &["--help"],
    ] {
        let through = check(&root, args);
        let direct = Command::new(common::CHECK_BIN)
            .args(args)
            .env("KMOD_READY_ROOT", &root.path)
            .env_remove("NO_COLOR")
            .output()
            .unwrap();
        assert_eq!(through.status.code(), direct.status.code(), "{args:?}");
        assert_eq!(through.stdout, direct.stdout, "{args:?}");
        assert_eq!(through.stderr, direct.stderr, "{args:?}");
    }
}

/// Without kmod-ready-check beside it (a broken installation), `kmod-ready
/// check` has no verdict: status 66 and one line naming the program and the
/// fix; with --npd, node-problem-detector's line on stdout says so too.
#[test]
fn check_without_its_program_has_no_verdict() {
    let root = FixtureRoot::empty("check-program-missing");
    let alone = root.path.join("sbin/kmod-ready");
    fs::create_dir_all(alone.parent().unwrap()).unwrap();
    fs::copy(common::BIN, &alone).unwrap();
    // Another test's child, forked while the copy was open for writing,
    // holds it open until its exec: the copy is busy for that moment.
    let mut tries = 0;
    let out = loop {
        match Command::new(&alone).args(["check", "--npd"]).output() {
            Err(err) if err.raw_os_error() == Some(libc::ETXTBSY) && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            result => break result.unwrap(),
        }
    };
    let stderr = common::stderr(&out);
    assert_eq!(out.status.code(), Some(66), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "no verdict: kmod-ready-check cannot run\n"
    );
    assert_eq!(
        common::normalise(&stderr, &root.path),
        "kmod-ready: no verdict: cannot run kmod-ready-check, the program of `kmod-ready check`: \
         @ROOT@/sbin/kmod-ready-check: No such file or directory (os error 2); reinstall the \
         kmod-ready package\n"
    );
}

/// check changes nothing: the fixture tree is byte for byte the same after.
#[test]
fn check_writes_nothing() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, "loadable");
    let before = snapshot(&root.path);
    assert_eq!(check(&root, &[]).status.code(), Some(1));
    assert_eq!(
        check(&root, &["--json", "nf_conntrack", "br_netfilter"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(before, snapshot(&root.path));
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            files.extend(snapshot(&entry.path()));
        } else {
            files.push((entry.path(), fs::read(entry.path()).unwrap()));
        }
    }
    files.sort();
    files
}
