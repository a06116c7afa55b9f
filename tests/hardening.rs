//! What a root program at every boot must never do: leak, write files, run
//! programs nobody asked for, or trip over a concurrent copy of itself.

mod common;

use std::process::{Command, Stdio};

use common::{stderr, FixtureRoot, BIN};

fn tool(name: &str) -> Option<&'static str> {
    let path = ["/usr/bin/", "/bin/"]
        .iter()
        .map(|dir| format!("{dir}{name}"))
        .find(|p| std::path::Path::new(p).exists())?;
    Some(Box::leak(path.into_boxed_str()))
}

#[test]
fn concurrent_runs_on_one_module_all_succeed() {
    let root = FixtureRoot::new("alias");
    let children: Vec<_> = (0..64)
        .map(|_| {
            root.command()
                .arg("krtest-alias")
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
}

/// valgrind finds no definite leak on the libkmod paths (load, not found,
/// blacklisted, built in, refused).
#[test]
fn libkmod_paths_do_not_leak() {
    let valgrind = tool("valgrind").expect("valgrind is installed (tests/run-all installs it)");
    for (case, module, status) in [
        ("alias", "krtest-alias", 0),
        ("unknown-module", "krtest_missing", 69),
        ("blacklisted-by-name", "krtest_bl", 0),
        ("builtin", "krtest_builtin", 0),
        ("insert-refused", "krtest_fake", 69),
    ] {
        let root = FixtureRoot::new(case);
        let out = Command::new(valgrind)
            .args([
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
                "--trace-children=no",
            ])
            .arg(BIN)
            .args(["--log=stderr", module])
            .env("KMOD_READY_ROOT", &root.path)
            .output()
            .unwrap();
        let report = stderr(&out);
        assert_eq!(out.status.code(), Some(status), "{case}: {report}");
        // Only leaks count: valgrind also flags an uninitialised read inside
        // libkmod's own index code (kmod_module_get_initstate), not ours.
        let clean = report.contains("definitely lost: 0 bytes in 0 blocks")
            || report.contains("All heap blocks were freed");
        assert!(clean, "{case}: leaks:\n{report}");
    }
}

/// Under strace: no file opened for writing, nothing read outside its
/// inputs (the root, shared libraries, the kernel's own /proc and
/// /sys/module files that libkmod reads as modprobe does), no write but to
/// stderr, and no program run but kmod-ready itself and what a modprobe.d
/// `install` line names.
#[test]
fn writes_nothing_and_runs_nothing_unasked() {
    let strace = tool("strace").expect("strace is installed (tests/run-all installs it)");
    let cases: [(&str, &str, &[&str]); 4] = [
        ("already-ready", "nf_conntrack", &[]),
        ("unknown-module", "krtest_missing", &[]),
        ("insert-refused", "krtest_fake", &[]),
        ("alias", "krtest-alias", &["/bin/sh", "/bin/mkdir"]),
    ];
    for (case, module, allowed_exec) in cases {
        let root = FixtureRoot::new(case);
        let trace = root.path.join("strace.out");
        let out = Command::new(strace)
            .args([
                "-f",
                "-qq",
                "-e",
                "trace=execve,openat,open,creat,write,pwrite64,writev",
                "-o",
            ])
            .arg(&trace)
            .arg(BIN)
            .args(["--log=stderr", module])
            .env("KMOD_READY_ROOT", &root.path)
            .output()
            .unwrap();
        let text = std::fs::read_to_string(&trace).unwrap();
        assert!(out.status.code().is_some(), "{case}: {}", stderr(&out));
        let main_pid = text.split_whitespace().next().unwrap().to_string();
        for line in text.lines() {
            let ours = line.starts_with(&format!("{main_pid} "));
            if line.contains("execve(") && !line.contains(BIN) {
                let allowed = allowed_exec
                    .iter()
                    .any(|program| line.contains(&format!("execve(\"{program}\"")));
                assert!(allowed, "{case}: ran a program: {line}");
            }
            if !ours {
                continue; // what an install line runs is its own business
            }
            if line.contains("open") && line.contains("= ") && !line.contains("= -1") {
                let path = line.split('"').nth(1).unwrap_or("");
                let inputs = [
                    root.path.to_str().unwrap(),
                    "/etc/ld.so.cache",
                    "/lib/",
                    "/usr/lib/",
                    "/lib64/",
                    "/proc/cmdline",
                    "/proc/self/",
                    "/sys/module/",
                ];
                assert!(
                    !path.starts_with('/') || inputs.iter().any(|input| path.starts_with(input)),
                    "{case}: read outside its inputs: {line}"
                );
                assert!(
                    !(line.contains("O_WRONLY")
                        || line.contains("O_RDWR")
                        || line.contains("O_CREAT")),
                    "{case}: opened for writing: {line}"
                );
            }
            let writes = ["write(", "pwrite64(", "writev("]
                .iter()
                .any(|call| line.contains(&format!(" {call}")));
            if writes {
                assert!(
                    line.contains(" write(2,") || line.contains(" writev(2,"),
                    "{case}: wrote elsewhere than stderr: {line}"
                );
            }
        }
    }
}
