//! Shared by the integration tests: fixture roots and running the binary.
#![allow(dead_code)]

pub mod catalog;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_kmod-ready");
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// A copy of a fixture's `root/` in a fresh directory, with `@ROOT@`
/// replaced by its path and module indexes built by the real `depmod`.
pub struct FixtureRoot {
    pub path: PathBuf,
}

impl Drop for FixtureRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

impl FixtureRoot {
    pub fn new(case: &str) -> FixtureRoot {
        FixtureRoot::from_cases(FIXTURES, case)
    }

    /// The case `case` of the fixture directory `cases`.
    pub fn from_cases(cases: &str, case: &str) -> FixtureRoot {
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("kmod-ready-{case}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        let root = FixtureRoot { path };
        let source = Path::new(cases).join(case).join("root");
        if source.exists() {
            copy_tree(&source, &root.path, &root.path);
        }
        // A kernel with module support has /proc/modules; a case marked
        // `no-module-support` stands for one without.
        let modules = root.path.join("proc/modules");
        if !Path::new(cases)
            .join(case)
            .join("no-module-support")
            .exists()
            && !modules.exists()
        {
            fs::create_dir_all(modules.parent().unwrap()).unwrap();
            fs::write(modules, "").unwrap();
        }
        root.depmod();
        root
    }

    /// Runs `depmod -b ROOT RELEASE` for each module tree in the fixture.
    fn depmod(&self) {
        let Ok(entries) = fs::read_dir(self.path.join("lib/modules")) else {
            return;
        };
        for entry in entries.flatten() {
            let release = entry.file_name().into_string().unwrap();
            let out = Command::new(depmod())
                .arg("-b")
                .arg(&self.path)
                .arg(&release)
                .output()
                .expect("depmod runs (Debian package kmod)");
            assert!(
                out.status.success(),
                "depmod failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// kmod-ready on this root, logging to stderr.
    pub fn command(&self) -> Command {
        let mut command = kmod_ready();
        self.environment(&mut command).arg("--log=stderr");
        command
    }

    /// Points `command` (kmod-ready, or a program that runs it) at this
    /// root, with no journal or log level from the caller's environment.
    pub fn environment<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command
            .env("KMOD_READY_ROOT", &self.path)
            .env_remove("JOURNAL_STREAM")
            .env_remove("KMOD_LOG")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// `kmod-ready check ARGS` on this root, colour left to the terminal test.
    pub fn check_command(&self, args: &[&str]) -> Command {
        let mut command = kmod_ready();
        command
            .env("KMOD_READY_ROOT", &self.path)
            .env_remove("NO_COLOR")
            .arg("check")
            .args(args);
        command
    }

    pub fn create(&self, path: &str) {
        let full = self.path.join(path.trim_start_matches('/'));
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, "1\n").unwrap();
    }
}

/// The `depmod` on PATH (tests/compat puts another release's first), else
/// the system's, which may be outside a user's PATH.
fn depmod() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("depmod"))
        .find(|p| p.exists())
        .expect("depmod is installed (Debian package kmod)")
}

/// A program that runs the binary under test, called as `RUNNER BIN ARGS...`
/// (tests/compat runs the fixture suites with another release's libkmod so).
pub const RUNNER_ENV: &str = "KMOD_READY_TEST_RUNNER";

/// The program and first arguments that run kmod-ready: `BIN`, or the
/// runner of `KMOD_READY_TEST_RUNNER` and `BIN`.
pub fn kmod_ready_argv() -> Vec<OsString> {
    match std::env::var_os(RUNNER_ENV) {
        Some(runner) if !runner.is_empty() => vec![runner, BIN.into()],
        _ => vec![BIN.into()],
    }
}

/// A command that runs kmod-ready (through the runner, when one is set).
pub fn kmod_ready() -> Command {
    let argv = kmod_ready_argv();
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    command
}

/// Copies bytes; in text files, `@ROOT@` becomes the root's path.
fn copy_tree(from: &Path, to: &Path, root: &Path) {
    for entry in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target, root);
            continue;
        }
        let bytes = fs::read(entry.path()).unwrap();
        match String::from_utf8(bytes) {
            Ok(text) => fs::write(&target, text.replace("@ROOT@", root.to_str().unwrap())),
            Err(binary) => fs::write(&target, binary.into_bytes()),
        }
        .unwrap();
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The number of milliseconds in the summary line "… ready in N ms (…)".
pub fn reported_millis(stderr: &str) -> u64 {
    let (_, after) = stderr.split_once(" ready in ").expect("a summary line");
    after.split(' ').next().unwrap().parse().unwrap()
}

/// Sends `signal` to a child the test started.
pub fn kill(child: &std::process::Child, signal: i32) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::try_from(signal).unwrap()).unwrap();
}

/// A FIFO at `path`: a file whose reader blocks until a writer comes.
pub fn mkfifo(path: &Path) {
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
}

/// Starts the child with its standard output closed. Unsafe code, as for
/// [`fail_syscalls`].
#[allow(unsafe_code)]
pub fn close_stdout(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec, the closure only calls close(2), which
    // is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::close(1)?;
            Ok(())
        })
    };
}

/// Makes the kernel answer `errno` to init_module and finit_module for the
/// child: a seccomp filter standing in for a kernel that refuses a module
/// (lockdown, signature, module_blacklist=), which this machine's kernel,
/// built without module support, cannot do for real. The qemu tests load
/// real modules.
pub fn refuse_module_loading(command: &mut Command, errno: i32) {
    fail_syscalls(
        command,
        &[libc::SYS_init_module, libc::SYS_finit_module],
        errno,
    );
}

/// Makes each of `syscalls` fail with `errno` for the child: a seccomp
/// filter, installed between fork and exec. Unsafe code, because what runs
/// there must be async-signal-safe; the filter is built before the fork,
/// and the child only calls prctl.
#[allow(unsafe_code)]
pub fn fail_syscalls(command: &mut Command, syscalls: &[i64], errno: i32) {
    use std::os::unix::process::CommandExt;
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    let stmt = |code: u16, k: u32, jt: u8, jf: u8| libc::sock_filter { code, jt, jf, k };
    let count = syscalls.len() as u8;
    let mut filter = vec![stmt(LD_W_ABS, 0, 0, 0)]; // seccomp_data.nr
                                                    // The i-th comparison jumps past the ones after it and the "allow".
    filter.extend((0..count).map(|i| stmt(JEQ_K, syscalls[i as usize] as u32, count - i, 0)));
    filter.push(stmt(RET_K, 0x7fff_0000, 0, 0)); // SECCOMP_RET_ALLOW
    filter.push(stmt(RET_K, 0x0005_0000 | errno as u32, 0, 0)); // SECCOMP_RET_ERRNO
    let install = move || {
        let program = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_mut_ptr(),
        };
        // SAFETY: a plain flag.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `program` points to `filter`, both alive for the call.
        if unsafe { libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &program) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    };
    // SAFETY: `install` allocates nothing and calls only prctl, which is
    // async-signal-safe.
    unsafe { command.pre_exec(install) };
}

/// `ACCEPT` makes the "kernel" accept any module (errno 0).
pub fn errno_by_name(name: &str) -> i32 {
    match name {
        "ACCEPT" => 0,
        "EPERM" => libc::EPERM,
        "ENOEXEC" => libc::ENOEXEC,
        "EKEYREJECTED" => libc::EKEYREJECTED,
        "ENOSYS" => libc::ENOSYS,
        "ENOENT" => libc::ENOENT,
        "EBUSY" => libc::EBUSY,
        other => panic!("unknown errno name {other}"),
    }
}

/// The cases of a fixture directory: its subdirectories that hold a
/// `status` file, sorted.
pub fn case_names(cases: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(cases)
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("status").exists())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The lines of the case file `name` (`args`: one argument a line); none
/// when the file is missing.
pub fn case_lines(dir: &Path, name: &str) -> Vec<String> {
    fs::read_to_string(dir.join(name))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// What changes from run to run, made constant for golden files: the
/// fixture root's path becomes `@ROOT@` and the milliseconds of "ready in
/// N ms" become `@MS@`.
pub fn normalise(text: &str, root: &Path) -> String {
    let text = text.replace(root.to_str().unwrap(), "@ROOT@");
    let marker = " ready in ";
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(marker) {
        let after = &rest[at + marker.len()..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        out.push_str(&rest[..at + marker.len()]);
        out.push_str(if digits > 0 { "@MS@" } else { "" });
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// Compares `actual` with the golden file `dir/name`; with
/// `KMOD_READY_BLESS=1` writes it instead (review the diff before
/// committing it).
pub fn golden(dir: &Path, name: &str, actual: &str) -> Result<(), String> {
    let path = dir.join(name);
    if std::env::var_os("KMOD_READY_BLESS").is_some_and(|v| v == "1") {
        fs::write(&path, actual).unwrap();
        return Ok(());
    }
    let expected = fs::read_to_string(&path).unwrap_or_default();
    if expected == actual {
        return Ok(());
    }
    let first = expected
        .lines()
        .zip(actual.lines())
        .position(|(e, a)| e != a)
        .unwrap_or(expected.lines().count().min(actual.lines().count()));
    Err(format!(
        "{name} differs from line {}; expected:\n{expected}\ngot:\n{actual}",
        first + 1
    ))
}

/// The expected exit status of a case (its `status` file), compared with
/// the actual one; with `KMOD_READY_BLESS=1` written instead.
pub fn golden_status(dir: &Path, actual: Option<i32>) -> Result<(), String> {
    let actual = actual.map_or("signal".to_string(), |code| code.to_string());
    golden(dir, "status", &format!("{actual}\n")).map_err(|_| {
        let expected = fs::read_to_string(dir.join("status")).unwrap_or_default();
        format!("exit status {actual}, expected {}", expected.trim())
    })
}

/// Runs every case, then fails naming each one that failed and why.
pub fn assert_cases(cases: &[String], run: impl Fn(&str) -> Result<(), String>) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| run(case).err().map(|err| format!("{case}: {err}")))
        .collect();
    for case in cases {
        println!("case {case}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A test that cannot run here says why, on the terminal even when the
/// harness captures output; under `CI=true` it fails instead, because CI
/// installs everything the tests need (tests/run-all).
pub fn skip(test: &str, reason: &str) {
    use std::io::Write;
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test} cannot run under CI=true: {reason}"
    );
    let _ = writeln!(std::io::stderr(), "skipped: {test}: {reason}");
}
