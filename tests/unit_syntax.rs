//! `kmod-ready check` reads the kubelite unit as systemd runs it: on every
//! case of the unit-syntax corpus (`tests/e2e/guest/unit-syntax-cases/`,
//! tricky unit files, drop-ins and environment files), check's
//! `kubelite.exec_start_pre_argv` must be, argument for argument, the golden
//! `argv`: what the newest systemd of the e2e matrix ran, recorded in a
//! guest by the `unit-syntax` scenario, which proves the goldens against
//! real systemd 247, 252 and 257 (an `argv-VERSION` file holds what an older
//! one runs where it differs; check follows the newest).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::FixtureRoot;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/guest/unit-syntax-cases")
}

/// check's arguments of each command, one JSON array a line, as the
/// guest's recorder writes them.
fn check_argv(root: &FixtureRoot) -> String {
    let out = root.check_command(&["--json"]).output().unwrap();
    assert!(out.stderr.is_empty(), "{}", common::stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let argvs: Vec<Vec<String>> =
        serde_json::from_value(report["kubelite"]["exec_start_pre_argv"].clone()).unwrap();
    argvs
        .iter()
        .map(|argv| serde_json::to_string(argv).unwrap() + "\n")
        .collect()
}

#[test]
fn check_reads_each_case_as_systemd_ran_it() {
    let mut cases: Vec<PathBuf> = fs::read_dir(corpus())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", corpus().display());
    let mut errors = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        for entry in fs::read_dir(case).unwrap() {
            let file = entry.unwrap().file_name();
            let file = file.to_string_lossy();
            if file != "root" && file != "argv" && !file.starts_with("argv-") {
                errors.push(format!("{name}: {file} is not a part of a case"));
            }
        }
        // Not blessed from check's output: the golden is what systemd ran.
        let Ok(golden) = fs::read_to_string(case.join("argv")) else {
            errors.push(format!(
                "{name}: no argv; run `tests/e2e/run unit-syntax` and copy what systemd \
                 ran (target/e2e/runs/*/unit-syntax/share/out/unit-syntax/{name}/systemd.argv)"
            ));
            continue;
        };
        let root = FixtureRoot::copy_of(&case.join("root"), &name);
        // check judges a system, which has a kernel release; the corpus
        // holds only unit files.
        let osrelease = root.path.join("proc/sys/kernel/osrelease");
        fs::create_dir_all(osrelease.parent().unwrap()).unwrap();
        fs::write(osrelease, "6.1.0-test\n").unwrap();
        let actual = check_argv(&root);
        if actual != golden {
            let diff = similar::TextDiff::from_lines(golden.as_str(), actual.as_str())
                .unified_diff()
                .header("what systemd ran (argv)", "what check reads")
                .to_string();
            errors.push(format!("{name}:\n{diff}"));
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
