//! Shared by the integration tests: fixture roots and running the binary.
#![allow(dead_code)]

pub mod catalog;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_kmod-ready");
/// `kmod-ready check`'s program, which kmod-ready runs from beside itself.
pub const CHECK_BIN: &str = env!("CARGO_BIN_EXE_kmod-ready-check");

// The marker files: an empty file, or one holding a word, in a case
// directory that changes how its case runs (tests/README.md, "Markers",
// says what each stands for and why).

/// A case without /proc/modules: a kernel built without module support.
pub const NO_MODULE_SUPPORT: &str = "no-module-support";
/// The errno the "kernel" answers to init_module and finit_module.
pub const REFUSE: &str = "refuse";
/// Run without CAP_SYS_MODULE in the bounding set.
pub const DROP_CAP_SYS_MODULE: &str = "drop-cap-sys-module";
/// Files of the root (one a line) deleted once depmod has indexed the
/// trees: a module file gone after its index was built.
pub const REMOVED_AFTER_DEPMOD: &str = "removed-after-depmod";

/// The directory of a case that stands for `/`.
pub const ROOT_DIR: &str = "root";
/// The command line of a case, one argument a line.
pub const ARGS: &str = "args";
/// The exit status of a case: a golden file of every suite.
pub const STATUS: &str = "status";

/// A directory of fixture cases: each subdirectory is a case holding
/// `root/`, `args`, `status`, its golden files and the markers its harness
/// reads, and nothing else (tests/README.md, "A case").
pub struct Suite {
    pub dir: &'static str,
    /// The golden files of each case, `status` first.
    pub goldens: &'static [&'static str],
    /// The marker files its harness reads.
    pub markers: &'static [&'static str],
}

/// `kmod-ready MODULE...` (tests/fixtures.rs).
pub const LOAD_CASES: Suite = Suite {
    dir: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"),
    goldens: &[STATUS, "expected.stderr"],
    markers: &[NO_MODULE_SUPPORT, REFUSE, DROP_CAP_SYS_MODULE],
};

/// `kmod-ready check` (tests/check.rs): it loads nothing, so it has no use
/// for the markers that stand in for a kernel refusing a module.
pub const CHECK_CASES: Suite = Suite {
    dir: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/check-fixtures"),
    goldens: &[
        STATUS,
        "expected.txt",
        "expected.json",
        "expected.npd",
        "expected.prom",
    ],
    markers: &[NO_MODULE_SUPPORT, REMOVED_AFTER_DEPMOD],
};

/// Every suite, for the tests that look at all their cases or markers.
pub const SUITES: [&Suite; 2] = [&LOAD_CASES, &CHECK_CASES];

impl Suite {
    /// The suite's directory, from the top of the source tree.
    fn shown(&self) -> &str {
        self.dir
            .strip_prefix(concat!(env!("CARGO_MANIFEST_DIR"), "/"))
            .unwrap_or(self.dir)
    }

    /// The directory of the case `case`.
    pub fn case_dir(&self, case: &str) -> PathBuf {
        Path::new(self.dir).join(case)
    }

    /// Every subdirectory, sorted: none is left out for lacking a file, so a
    /// broken case fails instead of disappearing.
    pub fn case_names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.dir)
            .unwrap_or_else(|err| panic!("{}: {err}", self.dir))
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// The text of the marker `name` of the case in `case_dir`, if it has
    /// it. Only a marker the suite lists may be read, so that the list
    /// (and tests/README.md, which a test compares with it) stays whole.
    pub fn marker(&self, case_dir: &Path, name: &str) -> Option<String> {
        assert!(
            self.markers.contains(&name),
            "{name} is not a marker of {}: add it to the suite's markers and tests/README.md",
            self.shown()
        );
        fs::read_to_string(case_dir.join(name)).ok()
    }

    /// The files every case of the suite holds (`root` a directory).
    pub fn files(&self) -> Vec<&'static str> {
        [ROOT_DIR, ARGS]
            .into_iter()
            .chain(self.goldens.iter().copied())
            .collect()
    }

    /// What is wrong with the files of a case; the golden files may be
    /// missing while blessing, which writes them.
    pub fn layout_errors(&self, case: &str) -> Vec<String> {
        let dir = self.case_dir(case);
        if !dir.is_dir() {
            return vec!["not a directory: each entry of the suite is a case".to_string()];
        }
        let mut errors = Vec::new();
        let required: Vec<&str> = if blessing() {
            vec![ARGS]
        } else {
            std::iter::once(ARGS)
                .chain(self.goldens.iter().copied())
                .collect()
        };
        for name in required {
            if !dir.join(name).is_file() {
                errors.push(format!("no {name} file{}", missing_hint(name)));
            }
        }
        let known: Vec<&str> = self
            .files()
            .into_iter()
            .chain(self.markers.iter().copied())
            .collect();
        for entry in fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if !known.contains(&name.as_str()) {
                errors.push(format!(
                    "stray {name}: a case of {} holds only {}",
                    self.shown(),
                    known.join(", ")
                ));
            }
        }
        let root = dir.join(ROOT_DIR);
        if root.is_dir() {
            errors.extend(unstorable(&root, Path::new(ROOT_DIR)));
        } else {
            errors.push("no root/ directory (the case's stand-in for /)".to_string());
        }
        errors
    }

    /// Checks every case's layout and that each marker the suite lists is
    /// held by some case, runs every case, then fails naming each case
    /// that failed and why.
    pub fn assert_cases(&self, run: impl Fn(&str) -> Result<(), String>) {
        let cases = self.case_names();
        assert!(!cases.is_empty(), "{} holds no case", self.shown());
        let mut failures: Vec<String> = Vec::new();
        for marker in self.markers {
            if !cases.iter().any(|c| self.case_dir(c).join(marker).exists()) {
                failures.push(format!(
                    "no case holds the marker {marker}: remove it from the suite's markers and tests/README.md"
                ));
            }
        }
        for case in &cases {
            let layout = self.layout_errors(case);
            let result = if layout.is_empty() {
                run(case)
            } else {
                Err(layout.join("; "))
            };
            if let Err(err) = result {
                failures.push(format!("{case}: {err}"));
            }
            println!("case {case}");
        }
        let note = if running_as_root() {
            ""
        } else {
            "\n(not run as root: the cases where the kernel refuses a module expect \
             root's CAP_SYS_MODULE; tests/README.md, \"Root, tools and skips\")"
        };
        assert!(
            failures.is_empty(),
            "{} ({} cases):\n{}{note}",
            self.shown(),
            cases.len(),
            failures.join("\n")
        );
    }
}

/// Whether this test runs as root: /proc/self belongs to the effective user.
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn missing_hint(name: &str) -> &'static str {
    match name {
        ARGS => " (one argument a line; an empty file for none)",
        _ => " (write it with KMOD_READY_BLESS=1 and review it)",
    }
}

/// What git would not keep of the tree `dir` (shown as `shown`): an empty
/// directory, or a file that is not a regular file, directory or symlink.
/// A case that passes here with one would run differently from a clone.
fn unstorable(dir: &Path, shown: &Path) -> Vec<String> {
    let mut errors = Vec::new();
    let mut entries = fs::read_dir(dir).unwrap().peekable();
    if entries.peek().is_none() {
        errors.push(format!(
            "{}/ is empty, and git does not keep an empty directory: put a file in it or leave it out",
            shown.display()
        ));
    }
    for entry in entries {
        let entry = entry.unwrap();
        let (path, shown) = (entry.path(), shown.join(entry.file_name()));
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            errors.extend(unstorable(&path, &shown));
        } else if !kind.is_file() && !kind.is_symlink() {
            errors.push(format!(
                "{} is neither a file, a directory nor a symlink, which git cannot store: make it in the test that needs it",
                shown.display()
            ));
        }
    }
    errors
}

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
    /// The case `case` of tests/fixtures.
    pub fn new(case: &str) -> FixtureRoot {
        FixtureRoot::from_cases(&LOAD_CASES, case)
    }

    /// The case `case` of `suite`, which must exist.
    pub fn from_cases(suite: &Suite, case: &str) -> FixtureRoot {
        let dir = suite.case_dir(case);
        let source = dir.join(ROOT_DIR);
        assert!(source.is_dir(), "{}: no such case", dir.display());
        let root = FixtureRoot::fresh(case);
        copy_tree(&source, &root.path, &root.path);
        if suite.marker(&dir, NO_MODULE_SUPPORT).is_none() {
            root.add_module_support();
        }
        root.depmod();
        if suite.markers.contains(&REMOVED_AFTER_DEPMOD) {
            let removed = suite.marker(&dir, REMOVED_AFTER_DEPMOD).unwrap_or_default();
            for file in removed.lines().filter(|l| !l.is_empty()) {
                fs::remove_file(root.path.join(file))
                    .unwrap_or_else(|err| panic!("{REMOVED_AFTER_DEPMOD}: {file}: {err}"));
            }
        }
        root
    }

    /// A plain copy of the directory `source` (no module indexes, no
    /// /proc/modules), for tests that look at other files of a root.
    pub fn copy_of(source: &Path, label: &str) -> FixtureRoot {
        let root = FixtureRoot::fresh(label);
        copy_tree(source, &root.path, &root.path);
        root
    }

    /// A root with nothing but the /proc/modules of a kernel with module
    /// support (`label` names its directory).
    pub fn empty(label: &str) -> FixtureRoot {
        let root = FixtureRoot::fresh(label);
        root.add_module_support();
        root
    }

    fn fresh(label: &str) -> FixtureRoot {
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("kmod-ready-{label}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        FixtureRoot { path }
    }

    /// A kernel with module support has /proc/modules.
    fn add_module_support(&self) {
        let modules = self.path.join("proc/modules");
        if !modules.exists() {
            fs::create_dir_all(modules.parent().unwrap()).unwrap();
            fs::write(modules, "").unwrap();
        }
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
    /// root, with no journal or log level from the caller's environment,
    /// and not as a process of a systemd unit (a CI job may be one): the
    /// wait past --timeout would then ask systemd for the unit's limit.
    pub fn environment<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command
            .env("KMOD_READY_ROOT", &self.path)
            .env_remove("JOURNAL_STREAM")
            .env_remove("KMOD_LOG")
            .env_remove("INVOCATION_ID")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// `kmod-ready check ARGS` on this root, colour left to the terminal test.
    pub fn check_command(&self, args: &[&str]) -> Command {
        let mut command = kmod_ready_check();
        command
            .env("KMOD_READY_ROOT", &self.path)
            .env_remove("NO_COLOR")
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
    match runner() {
        Some(runner) => vec![runner, BIN.into()],
        None => vec![BIN.into()],
    }
}

/// The program of `KMOD_READY_TEST_RUNNER`, when it names one.
fn runner() -> Option<OsString> {
    std::env::var_os(RUNNER_ENV).filter(|runner| !runner.is_empty())
}

/// A command that runs kmod-ready (through the runner, when one is set).
pub fn kmod_ready() -> Command {
    let argv = kmod_ready_argv();
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    command
}

/// A command that runs `kmod-ready check`: `BIN check`, or, through the
/// runner, check's own program. A runner that is the dynamic loader
/// (tests/compat/run) is what /proc/self/exe names, so kmod-ready would not
/// find kmod-ready-check beside itself; and the library under test must be
/// the one check's program maps.
pub fn kmod_ready_check() -> Command {
    let (program, argument) = match runner() {
        Some(runner) => (runner, OsString::from(CHECK_BIN)),
        None => (OsString::from(BIN), OsString::from("check")),
    };
    let mut command = Command::new(program);
    command.arg(argument);
    command
}

/// Copies bytes and permissions (an executable stays one), and symlinks as
/// symlinks (a mask is one to /dev/null); in text files, `@ROOT@` becomes
/// the root's path.
fn copy_tree(from: &Path, to: &Path, root: &Path) {
    for entry in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target, root);
            continue;
        }
        if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(entry.path()).unwrap(), &target).unwrap();
            continue;
        }
        let bytes = fs::read(entry.path()).unwrap();
        match String::from_utf8(bytes) {
            Ok(text) => fs::write(&target, text.replace("@ROOT@", root.to_str().unwrap())),
            Err(binary) => fs::write(&target, binary.into_bytes()),
        }
        .unwrap();
        fs::set_permissions(&target, entry.metadata().unwrap().permissions()).unwrap();
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

/// The lines of the file `name` of the case in `dir` (`args`: one
/// argument a line); the file must exist.
pub fn case_lines(dir: &Path, name: &str) -> Vec<String> {
    let path = dir.join(name);
    fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
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

/// Whether this run writes golden files instead of comparing them.
pub fn blessing() -> bool {
    std::env::var_os("KMOD_READY_BLESS").is_some_and(|v| v == "1")
}

/// Compares `actual` with the golden file `dir/name`, showing a mismatch as
/// a unified diff; with `KMOD_READY_BLESS=1` writes it instead (review the
/// diff before committing it).
pub fn golden(dir: &Path, name: &str, actual: &str) -> Result<(), String> {
    let path = dir.join(name);
    if blessing() {
        fs::write(&path, actual).unwrap();
        return Ok(());
    }
    let shown = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(&path)
        .display()
        .to_string();
    let Ok(expected) = fs::read_to_string(&path) else {
        return Err(format!(
            "no {shown}: write it with KMOD_READY_BLESS=1 and review it"
        ));
    };
    if expected == actual {
        return Ok(());
    }
    let diff = similar::TextDiff::from_lines(expected.as_str(), actual)
        .unified_diff()
        .context_radius(3)
        .header(&shown, "actual output")
        .to_string();
    Err(format!("{name} differs:\n{diff}"))
}

/// The expected exit status of a case (its `status` file), compared with
/// the actual one; with `KMOD_READY_BLESS=1` written instead.
pub fn golden_status(dir: &Path, actual: Option<i32>) -> Result<(), String> {
    let actual = actual.map_or("signal".to_string(), |code| code.to_string());
    golden(dir, STATUS, &format!("{actual}\n")).map_err(|_| {
        let expected = fs::read_to_string(dir.join(STATUS)).unwrap_or_default();
        format!("exit status {actual}, expected {}", expected.trim())
    })
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

/// Runs `command` with its output captured, killed after `limit` so that a
/// hang fails the test instead of stalling it.
pub fn run_bounded(
    mut command: std::process::Command,
    limit: std::time::Duration,
) -> std::process::Output {
    use std::process::Stdio;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() && started.elapsed() < limit {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

/// The path a real program's test gets from `var` (set by tests/run-all
/// from `script`), or `None` after saying the test is skipped (a failure
/// under `CI=true`).
pub fn program_from_env(test: &str, var: &str, script: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var).filter(|p| !p.is_empty());
    if path.is_none() {
        skip(test, &format!("{var} is not set: export {var}=$({script})"));
    }
    path.map(PathBuf::from)
}

/// A small deterministic generator (xorshift64) for the differential
/// tests' generated cases: the same seed gives the same cases on every run.
pub struct Xorshift(pub u64);

impl Xorshift {
    /// The next number, below `below`.
    pub fn below(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as usize
    }
}
