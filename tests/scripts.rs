//! The test and build scripts keep the contract scripts/lib.sh documents:
//! `--help` prints the script's header and the exit statuses, a usage error
//! exits 2 with one line naming the script, and a variable's old
//! `KMODREADY_` name is still read, with a warning naming the new one. Every
//! run here stops at its arguments, before anything is installed or built.

use std::path::Path;
use std::process::{Command, Output};

const TOP: &str = env!("CARGO_MANIFEST_DIR");

/// Each script, the name its messages start with, and an argument it rejects.
const SCRIPTS: [(&str, &str, &str); 7] = [
    ("tests/run-all", "run-all", "--bogus"),
    ("tests/fuzz", "fuzz", "--bogus"),
    ("tests/packaging/run", "packaging", "--bogus"),
    ("tests/compat/run", "compat", "bogus"),
    ("tests/e2e/run", "e2e", "--bogus"),
    ("packaging/build-packages", "build-packages", "--bogus"),
    ("tests/get-node-exporter", "get-node-exporter", "--bogus"),
];

/// Runs SCRIPT with ENV and none of the variables a caller of the tests may
/// have set that would change what the scripts say.
fn run(script: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(Path::new(TOP).join(script));
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("KMODREADY_") || name == "KMOD_READY_E2E_JOBS" {
            command.env_remove(&*name);
        }
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_prints_the_header_and_the_exit_statuses() {
    let lib = std::fs::read_to_string(Path::new(TOP).join("scripts/lib.sh")).unwrap();
    let (_, statuses) = lib.split_once("\n# Exit status").unwrap();
    let statuses: Vec<&str> = statuses
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with('#'))
        .collect();
    for (script, _, _) in SCRIPTS {
        let out = run(script, &["--help"], &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{script} --help: {}",
            text(&out.stderr)
        );
        let help = text(&out.stdout);
        let source = std::fs::read_to_string(Path::new(TOP).join(script)).unwrap();
        let first = source
            .lines()
            .nth(1)
            .unwrap()
            .trim_start_matches('#')
            .trim();
        assert!(
            help.starts_with(first),
            "{script} --help does not start with its header:\n{help}"
        );
        let last = statuses.last().unwrap().trim_start_matches('#').trim();
        assert!(
            help.contains(last),
            "{script} --help lacks the exit statuses:\n{help}"
        );
        let summary =
            |l: &str| l.ends_with(" failed") && l.split(' ').next().unwrap().parse::<u32>().is_ok();
        assert!(
            !help.lines().any(summary),
            "{script} --help printed a summary:\n{help}"
        );
    }
}

#[test]
fn a_usage_error_exits_2_naming_the_script() {
    for (script, name, bad) in SCRIPTS {
        let out = run(script, &[bad], &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{script} {bad}: {stderr}");
        assert!(
            stderr
                .lines()
                .last()
                .unwrap_or("")
                .starts_with(&format!("{name}: error: ")),
            "{script} {bad}: {stderr}"
        );
    }
}

#[test]
fn an_old_variable_name_is_read_with_a_warning() {
    let out = run(
        "tests/e2e/run",
        &["control"],
        &[("KMODREADY_E2E_JOBS", "0")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "e2e: warning: KMODREADY_E2E_JOBS is renamed KMOD_READY_E2E_JOBS; read as KMOD_READY_E2E_JOBS for now (the old name goes in the next release)\n\
         e2e: error: KMOD_READY_E2E_JOBS must be a positive number (got '0')\n"
    );
    // A run that could not start still ends with the line CI reads.
    assert_eq!(text(&out.stdout), "0 passed, 1 failed\n");

    let both = [("KMODREADY_E2E_JOBS", "0"), ("KMOD_READY_E2E_JOBS", "x")];
    let out = run("tests/e2e/run", &["control"], &both);
    assert_eq!(
        text(&out.stderr),
        "e2e: warning: KMODREADY_E2E_JOBS is ignored: KMOD_READY_E2E_JOBS is set (the old name goes in the next release)\n\
         e2e: error: KMOD_READY_E2E_JOBS must be a positive number (got 'x')\n"
    );
}
