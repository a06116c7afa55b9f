//! `kmod-ready MODULE...` on the cases of tests/fixtures, compared with
//! their golden files. How a case is laid out, what its markers stand for
//! and how to add or bless one: tests/README.md.

mod common;

use std::path::Path;
use std::process::Command;

use common::{
    errno_by_name, refuse_module_loading, stderr, FixtureRoot, DROP_CAP_SYS_MODULE, LOAD_CASES,
    REFUSE,
};

fn command_for(case_dir: &Path, root: &FixtureRoot) -> Command {
    let mut command = root.command();
    if LOAD_CASES.marker(case_dir, DROP_CAP_SYS_MODULE).is_some() {
        command = Command::new("setpriv");
        root.environment(&mut command)
            .args(["--bounding-set=-sys_module", "--"])
            .args(common::kmod_ready_argv())
            .arg("--log=stderr");
    }
    if let Some(errno) = LOAD_CASES.marker(case_dir, REFUSE) {
        refuse_module_loading(&mut command, errno_by_name(errno.trim()));
    }
    command
}

fn run_case(case: &str) -> Result<(), String> {
    let dir = LOAD_CASES.case_dir(case);
    let root = FixtureRoot::new(case);
    let out = command_for(&dir, &root)
        .args(common::case_lines(&dir, common::ARGS))
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
    LOAD_CASES.assert_cases(run_case);
}
