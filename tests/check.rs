//! `kmod-ready check` against fixture trees. Each directory under
//! tests/check-fixtures is a case: `root/` stands in for `/`, `args` holds
//! the arguments after `check` (one a line, often none), `status` the exit
//! status, `expected.txt` the whole human report (golden file; `@ROOT@`
//! stands for the fixture root), and `expected.json` the fields the JSON
//! report must have: every field written there must be in the output with
//! that value (objects may have more fields; arrays must match in length).
//!
//! Module trees are indexed by the real depmod and looked up by the real
//! libkmod. Most `.ko` files are text (check never loads anything); the two
//! of the `loadable` case are tiny ELF objects made with `gcc -c` (one
//! exports a symbol in `__ksymtab_strings`, the other uses it), so that
//! depmod records a dependency.
//!
//! `KMOD_READY_BLESS=1 cargo test --test check` rewrites the golden files
//! from the current output; review the diff before committing it.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use common::FixtureRoot;

const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/check-fixtures");

/// Runs `kmod-ready check ARGS` against the fixture root.
fn check(root: &FixtureRoot, args: &[&str]) -> Output {
    common::kmod_ready()
        .env("KMOD_READY_ROOT", &root.path)
        .env_remove("NO_COLOR")
        .arg("check")
        .args(args)
        .output()
        .unwrap()
}

fn root_text(root: &FixtureRoot) -> String {
    root.path.to_str().unwrap().to_string()
}

fn lines(dir: &Path, name: &str) -> Vec<String> {
    fs::read_to_string(dir.join(name))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Every field of `expected` must be in `actual` with the same value.
fn compare(expected: &Value, actual: &Value, at: &str, errors: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, value) in want {
                match have.get(key) {
                    Some(got) => compare(value, got, &format!("{at}.{key}"), errors),
                    None => errors.push(format!("{at}.{key}: missing")),
                }
            }
        }
        (Value::Array(want), Value::Array(have)) if want.len() == have.len() => {
            for (index, (w, h)) in want.iter().zip(have).enumerate() {
                compare(w, h, &format!("{at}[{index}]"), errors);
            }
        }
        _ if expected == actual => {}
        _ => errors.push(format!("{at}: expected {expected}, got {actual}")),
    }
}

fn run_case(case: &str) -> Result<(), String> {
    let dir = Path::new(CASES).join(case);
    let root = FixtureRoot::from_cases(CASES, case);
    let args = lines(&dir, "args");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let status: i32 = fs::read_to_string(dir.join("status"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    let human = check(&root, &args);
    let text = String::from_utf8(human.stdout.clone())
        .unwrap()
        .replace(&root_text(&root), "@ROOT@");
    let mut errors = Vec::new();
    if human.status.code() != Some(status) {
        errors.push(format!("exit {:?}, expected {status}", human.status.code()));
    }
    if !human.stderr.is_empty() {
        errors.push(format!(
            "stderr: {}",
            String::from_utf8_lossy(&human.stderr)
        ));
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
    let golden = dir.join("expected.txt");
    if std::env::var_os("KMOD_READY_BLESS").is_some() {
        fs::write(&golden, &text).unwrap();
    } else if fs::read_to_string(&golden).unwrap_or_default() != text {
        errors.push(format!("human output differs from expected.txt:\n{text}"));
    }

    let json = check(&root, &[&["--json"], &args[..]].concat());
    if json.status.code() != Some(status) {
        errors.push(format!(
            "--json: exit {:?}, expected {status}",
            json.status.code()
        ));
    }
    let actual: Value = serde_json::from_slice(&json.stdout)
        .map_err(|err| format!("{case}: --json is not JSON ({err})"))?;
    let text = fs::read_to_string(dir.join("expected.json")).unwrap();
    let text = text.replace("@ROOT@", &root_text(&root));
    let expected: Value = serde_json::from_str(&text).unwrap();
    compare(&expected, &actual, "", &mut errors);
    if actual["schema"] != 1 || actual["verdict"]["ready"] != (status == 0) {
        errors.push(format!("schema or verdict.ready wrong: {actual}"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{case}:\n  {}", errors.join("\n  ")))
    }
}

#[test]
fn check_fixture_cases() {
    let cases = common::case_names(CASES, "status");
    assert!(
        cases.len() >= 11,
        "check fixture cases went missing: {cases:?}"
    );
    common::assert_cases(&cases, run_case);
}

#[test]
fn usage_errors_exit_64_with_one_line() {
    let root = FixtureRoot::from_cases(CASES, "usage");
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
        eprintln!("skipped: no /usr/bin/script");
        return;
    }
    let root = FixtureRoot::from_cases(CASES, "colour");
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

/// check changes nothing: the fixture tree is byte for byte the same after.
#[test]
fn check_writes_nothing() {
    let root = FixtureRoot::from_cases(CASES, "loadable");
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
