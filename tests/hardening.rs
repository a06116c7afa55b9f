//! What a root program at every boot must never do: leak, write files, run
//! programs nobody asked for, or trip over a concurrent copy of itself.

mod common;

use std::process::{Command, Stdio};

use common::{refuse_module_loading, stderr, FixtureRoot, BIN};

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
        let mut command = Command::new(valgrind);
        command
            .args([
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
                "--trace-children=no",
            ])
            .arg(BIN)
            // Under valgrind on a busy machine a load can outlast 10 s: this
            // test is about leaks, not time.
            .args(["--log=stderr", "--timeout", "1m", module])
            .env("KMOD_READY_ROOT", &root.path);
        // The same refusal on every kernel, as in the fixture case.
        refuse_module_loading(&mut command, libc::ENOSYS);
        let out = command.output().unwrap();
        let report = stderr(&out);
        assert_eq!(out.status.code(), Some(status), "{case}: {report}");
        // Only leaks count: valgrind also flags an uninitialised read inside
        // libkmod's own index code (kmod_module_get_initstate), not ours.
        let clean = report.contains("definitely lost: 0 bytes in 0 blocks")
            || report.contains("All heap blocks were freed");
        assert!(clean, "{case}: leaks:\n{report}");
    }
}

/// Under strace: no file opened for writing but stderr, nothing read
/// outside its inputs, no write but to stderr, and no program run but kmod-ready itself
/// and what a modprobe.d `install` line names. Its inputs are the fixture
/// root, the shared libraries it maps into memory (through ld.so.cache), and
/// the two kernel files libkmod reads from the running kernel whatever its
/// module directory (as modprobe does): /proc/cmdline and
/// /sys/module/MODULE/ of the module asked for. Any attempt, even failed, at
/// a module tree or configuration directory outside the root fails the test.
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
                "trace=execve,openat,open,creat,write,pwrite64,writev,mmap",
                "-o",
            ])
            .arg(&trace)
            .arg(BIN)
            .args(["--log=stderr", module])
            .env("KMOD_READY_ROOT", &root.path)
            .output()
            .unwrap();
        assert!(out.status.code().is_some(), "{case}: {}", stderr(&out));
        let calls = whole_calls(&std::fs::read_to_string(&trace).unwrap());
        let main_pid = calls[0].split_whitespace().next().unwrap().to_string();
        for line in calls.iter().filter(|l| l.contains("execve(")) {
            let allowed = line.contains(BIN)
                || allowed_exec
                    .iter()
                    .any(|program| line.contains(&format!("execve(\"{program}\"")));
            assert!(allowed, "{case}: ran a program: {line}");
        }
        // What an install line runs is its own business.
        let ours: Vec<&str> = calls
            .iter()
            .map(String::as_str)
            .filter(|l| l.starts_with(&format!("{main_pid} ")))
            .collect();
        let inputs = Inputs {
            root: root.path.to_str().unwrap(),
            module,
        };
        if let Err(err) = inputs.check(&ours) {
            panic!("{case}: {err}");
        }
    }
}

/// The trace's lines, one per call. `strace -f` splits a call during which
/// another traced thread makes one into "CALL <unfinished ...>" and, later,
/// "<... NAME resumed>REST"; each pair is joined back where it ended.
fn whole_calls(trace: &str) -> Vec<String> {
    let mut unfinished: Vec<(&str, &str)> = Vec::new();
    let mut calls = Vec::new();
    for line in trace.lines() {
        let pid = line.split_whitespace().next().unwrap_or_default();
        if let Some(start) = line.strip_suffix(" <unfinished ...>") {
            unfinished.push((pid, start));
        } else if let Some((_, rest)) = line.split_once(" resumed>") {
            let at = unfinished.iter().position(|(p, _)| *p == pid);
            let start = at.map(|i| unfinished.remove(i).1).unwrap_or(pid);
            calls.push(format!("{start}{rest}"));
        } else {
            calls.push(line.to_string());
        }
    }
    calls
}

/// What one traced process may read.
struct Inputs<'a> {
    root: &'a str,
    module: &'a str,
}

impl Inputs<'_> {
    /// Every open, write and library of the trace lines of one process.
    fn check(&self, lines: &[&str]) -> Result<(), String> {
        let mut unmapped: Vec<(String, String)> = Vec::new();
        // A pipe on stderr is written through a description of its own,
        // opened again as /proc/self/fd/2 (see src/stderr.rs).
        let mut stderr = vec!["2".to_string()];
        for line in lines {
            if line.contains(" mmap(") && line.contains("PROT_EXEC") {
                let fd = line.split(", ").nth(4).unwrap_or_default();
                unmapped.retain(|(open_fd, _)| open_fd != fd);
            } else if line.contains("(AT_FDCWD, \"/proc/self/fd/2\", O_WRONLY|") {
                let fd = line.rsplit("= ").next().unwrap_or_default().trim();
                stderr.push(fd.to_string());
            } else if line.contains(" open") {
                if let Some(library) = self.check_open(line)? {
                    unmapped.push(library);
                }
            } else if [" write(", " pwrite64(", " writev("]
                .iter()
                .any(|call| line.contains(call))
                && !stderr.iter().any(|fd| {
                    line.contains(&format!(" write({fd},"))
                        || line.contains(&format!(" writev({fd},"))
                })
            {
                return Err(format!("wrote elsewhere than stderr: {line}"));
            }
        }
        match unmapped.first() {
            Some((_, path)) => Err(format!("opened a library it never mapped: {path}")),
            None => Ok(()),
        }
    }

    /// Fails on an open for writing or outside the inputs; a library
    /// comes back as (fd, path), to be mapped later.
    fn check_open(&self, line: &str) -> Result<Option<(String, String)>, String> {
        let path = line.split('"').nth(1).unwrap_or("");
        let succeeded = !line.contains("= -1");
        let foreign = |dir: &str| path.contains(dir) && !path.starts_with(self.root);
        if [
            "/lib/modules",
            "modprobe.d",
            "modules-load.d",
            "systemd/system",
        ]
        .iter()
        .any(|dir| foreign(dir))
        {
            return Err(format!("looked outside the root: {line}"));
        }
        if !succeeded || !path.starts_with('/') {
            return Ok(None);
        }
        if ["O_WRONLY", "O_RDWR", "O_CREAT"]
            .iter()
            .any(|f| line.contains(f))
        {
            return Err(format!("opened for writing: {line}"));
        }
        let kernel_file = path == "/proc/cmdline"
            || path.starts_with(&format!("/sys/module/{}/", self.module.replace('-', "_")));
        if path.starts_with(self.root) || path == "/etc/ld.so.cache" || kernel_file {
            return Ok(None);
        }
        let file_name = path.rsplit('/').next().unwrap_or_default();
        if file_name.contains(".so") {
            let fd = line.rsplit("= ").next().unwrap_or_default().trim();
            return Ok(Some((fd.to_string(), path.to_string())));
        }
        Err(format!("read outside its inputs: {line}"))
    }
}
