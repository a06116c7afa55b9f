//! Each directory under tests/fixtures is a case: `root/` stands in for `/`,
//! `args` holds the command line (one argument a line), `status` the exit
//! status and `expected.stderr` the whole of stderr (golden files: the root
//! path is `@ROOT@`, the milliseconds of the summary line `@MS@`; see
//! [`common::normalise`]). Modules are looked up and loaded by the real
//! libkmod against an index made by the real depmod. This machine's kernel
//! has no module support, so a case that needs the kernel to accept a module
//! uses an `install` line in its modprobe.d (run by libkmod, as modprobe
//! would), and a case that needs the kernel to refuse one names the errno in
//! a `refuse` file, which a seccomp filter returns (`ACCEPT`: success, for a
//! module with soft dependencies, whose own install line libkmod ignores);
//! `drop-cap-sys-module` runs it without CAP_SYS_MODULE. The `.ko` files of
//! `dependency-refused` are the tiny ELF pair of check-fixtures/loadable (one
//! exports a symbol the other uses), so that depmod records a dependency.
//! The qemu tests (tests/e2e) load real modules into a real kernel.
//!
//! `KMOD_READY_BLESS=1 cargo test --test fixtures` rewrites `status` and
//! `expected.stderr` from the current output; review the diff before
//! committing it.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{errno_by_name, refuse_module_loading, stderr, FixtureRoot, FIXTURES};

fn command_for(case_dir: &Path, root: &FixtureRoot) -> Command {
    let mut command = root.command();
    if case_dir.join("drop-cap-sys-module").exists() {
        command = Command::new("setpriv");
        command
            .env("KMOD_READY_ROOT", &root.path)
            .args(["--bounding-set=-sys_module", "--"])
            .args(common::kmod_ready_argv())
            .arg("--log=stderr");
    }
    if let Ok(errno) = fs::read_to_string(case_dir.join("refuse")) {
        refuse_module_loading(&mut command, errno_by_name(errno.trim()));
    }
    command
}

fn run_case(case: &str) -> Result<(), String> {
    let dir = Path::new(FIXTURES).join(case);
    let root = FixtureRoot::new(case);
    let out = command_for(&dir, &root)
        .args(common::case_lines(&dir, "args"))
        .output()
        .unwrap();
    if !out.stdout.is_empty() {
        return Err(format!(
            "wrote to stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    let err = common::normalise(&stderr(&out), &root.path);
    common::golden_status(&dir, out.status.code()).map_err(|e| format!("{e}; stderr:\n{err}"))?;
    common::golden(&dir, "expected.stderr", &err)
}

#[test]
fn fixture_cases() {
    let cases = common::case_names(FIXTURES);
    assert!(cases.len() >= 23, "fixture cases went missing: {cases:?}");
    common::assert_cases(&cases, run_case);
}
