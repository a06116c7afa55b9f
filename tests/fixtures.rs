//! Each directory under tests/fixtures is a case: `root/` stands in for `/`,
//! `args` holds the command line (one argument a line), `expected` the exit
//! status and the stderr lines that must appear, in order. Modules are
//! looked up and loaded by the real libkmod against an index made by the
//! real depmod. This machine's kernel has no module support, so a case that
//! needs the kernel to accept a module uses an `install` line in its
//! modprobe.d (run by libkmod, as modprobe would), and a case that needs the
//! kernel to refuse one names the errno in a `refuse` file, which a seccomp
//! filter returns (`ACCEPT`: success, for a module with soft dependencies,
//! whose own install line libkmod ignores); `drop-cap-sys-module` runs it without CAP_SYS_MODULE.
//! The qemu tests (tests/e2e) load real modules into a real kernel.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{errno_by_name, refuse_module_loading, stderr, FixtureRoot, FIXTURES};

fn run_case(case: &str) -> Result<(), String> {
    let dir = Path::new(FIXTURES).join(case);
    let root = FixtureRoot::new(case);
    let root_text = root.path.to_str().unwrap().to_string();
    let args: Vec<String> = fs::read_to_string(dir.join("args"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut command = root.command();
    if dir.join("drop-cap-sys-module").exists() {
        command = Command::new("setpriv");
        command
            .env("KMOD_READY_ROOT", &root.path)
            .args(["--bounding-set=-sys_module", "--"])
            .args(common::kmod_ready_argv())
            .arg("--log=stderr");
    }
    if let Ok(errno) = fs::read_to_string(dir.join("refuse")) {
        refuse_module_loading(&mut command, errno_by_name(errno.trim()));
    }
    let out = command.args(&args).output().unwrap();
    let err = stderr(&out);
    let mut rest = err.as_str();
    for line in fs::read_to_string(dir.join("expected")).unwrap().lines() {
        let line = line.replace("@ROOT@", &root_text);
        if let Some(code) = line.strip_prefix("status ") {
            let code: i32 = code.parse().unwrap();
            if out.status.code() != Some(code) {
                return Err(format!(
                    "{case}: exit {:?}, expected {code}; stderr:\n{err}",
                    out.status.code()
                ));
            }
        } else if let Some(text) = line.strip_prefix("stderr ") {
            match rest.find(text) {
                Some(at) => rest = &rest[at + text.len()..],
                None => {
                    return Err(format!(
                        "{case}: stderr lacks (in order) {text:?}; stderr:\n{err}"
                    ))
                }
            }
        }
    }
    if !out.stdout.is_empty() {
        return Err(format!(
            "{case}: wrote to stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    Ok(())
}

#[test]
fn fixture_cases() {
    let cases = common::case_names(FIXTURES, "expected");
    assert!(cases.len() >= 14, "fixture cases went missing: {cases:?}");
    common::assert_cases(&cases, run_case);
}
