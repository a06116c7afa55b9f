//! `kmod-ready check --prometheus --textfile-dir DIR`: the file it writes
//! (whole, replaced atomically, whatever the verdict), its errors, and what
//! the real node_exporter (Debian's prometheus-node-exporter, unpacked by
//! tests/get-node-exporter) makes of it.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{FixtureRoot, CHECK_CASES};

/// Ready now and at the next boot.
const READY: &str = "next-boot-grub-default";
/// Ready now, not at the next boot (its kernel lacks the module).
const NEXT_BOOT_NOT_READY: &str = "next-boot-grub-next-entry";
/// Not ready now nor at the next boot (blacklisted).
const NOT_READY: &str = "blacklisted";

/// The textfile collector's directory, made and removed by the test.
struct TextfileDir(PathBuf);

impl TextfileDir {
    fn new(label: &str) -> TextfileDir {
        let path = std::env::temp_dir().join(format!(
            "kmod-ready-textfile-{label}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TextfileDir(path)
    }

    /// The names of the files in it, sorted.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TextfileDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `check --prometheus --textfile-dir DIR` on the fixture case's root, with
/// the case's own arguments.
fn write_metrics(root: &FixtureRoot, case: &str, dir: &Path) -> Output {
    let args = common::case_lines(&CHECK_CASES.case_dir(case), common::ARGS);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    root.check_command(&["--prometheus", "--textfile-dir", dir.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap()
}

/// The case's golden metrics (tests/check.rs compares them with stdout).
fn golden(case: &str) -> String {
    fs::read_to_string(CHECK_CASES.case_dir(case).join("expected.prom")).unwrap()
}

#[test]
fn the_file_is_written_whole_whatever_the_verdict() {
    let dir = TextfileDir::new("verdicts");
    // Status 0 whatever the verdict: it says the file was written.
    for case in [READY, NEXT_BOOT_NOT_READY, NOT_READY] {
        let root = FixtureRoot::from_cases(&CHECK_CASES, case);
        let out = write_metrics(&root, case, &dir.0);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{case}: {}",
            common::stderr(&out)
        );
        assert!(
            out.stdout.is_empty() && out.stderr.is_empty(),
            "{case}: {out:?}"
        );
        assert_eq!(
            dir.names(),
            ["kmod-ready.prom"],
            "{case}: no temporary file left"
        );
        let file = dir.0.join("kmod-ready.prom");
        assert_eq!(fs::read_to_string(&file).unwrap(), golden(case), "{case}");
        // node_exporter runs as its own user: the file must be readable.
        let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{case}");
    }
}

/// A reader polling the file while it is rewritten sees either the old
/// contents or the new ones, never an empty or partial file.
#[test]
fn a_reader_never_sees_a_partial_file() {
    let dir = TextfileDir::new("reader");
    let (ready, not_ready) = (
        FixtureRoot::from_cases(&CHECK_CASES, READY),
        FixtureRoot::from_cases(&CHECK_CASES, NOT_READY),
    );
    assert!(write_metrics(&ready, READY, &dir.0).status.success());
    let expected = [golden(READY), golden(NOT_READY)];
    let file = dir.0.join("kmod-ready.prom");
    let done = AtomicBool::new(false);
    let reads = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut reads = 0;
            while !done.load(Ordering::Relaxed) {
                let text = fs::read_to_string(&file).expect("the file is always there");
                assert!(expected.contains(&text), "a partial read: {text:?}");
                reads += 1;
            }
            reads
        });
        for round in 0..20 {
            let (root, case) = if round % 2 == 0 {
                (&not_ready, NOT_READY)
            } else {
                (&ready, READY)
            };
            write_metrics(root, case, &dir.0);
        }
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap()
    });
    assert!(reads > 20, "the reader read only {reads} times");
    assert_eq!(dir.names(), ["kmod-ready.prom"]);
}

/// The text format allows each series once: a module named twice is one.
#[test]
fn a_module_named_twice_is_one_series() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, READY);
    let out = root
        .check_command(&["--prometheus", "nf_conntrack", "nf_conntrack"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    // The case checks nf_conntrack, the one module of its drop-in.
    assert_eq!(String::from_utf8_lossy(&out.stdout), golden(READY));
}

/// One line on stderr naming the path and the fix, status 74, nothing left
/// behind.
#[test]
fn errors_name_the_directory_and_the_fix() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, READY);
    let missing = std::env::temp_dir().join(format!("kmod-ready-no-dir-{}", std::process::id()));
    let out = write_metrics(&root, READY, &missing);
    assert_eq!(out.status.code(), Some(74));
    assert_eq!(
        common::stderr(&out),
        format!(
            "kmod-ready: --textfile-dir {}: no such directory: create it, or give the directory \
             node_exporter reads (its --collector.textfile.directory)\n",
            missing.display()
        )
    );
    assert!(!missing.exists());

    // A directory where the file should be: the rename fails after the
    // temporary file was written, which must be removed.
    let dir = TextfileDir::new("blocked");
    fs::create_dir(dir.0.join("kmod-ready.prom")).unwrap();
    let out = write_metrics(&root, READY, &dir.0);
    assert_eq!(out.status.code(), Some(74));
    let stderr = common::stderr(&out);
    let prefix = format!(
        "kmod-ready: --textfile-dir {0}: cannot write {0}/kmod-ready.prom: ",
        dir.0.display()
    );
    assert!(stderr.starts_with(&prefix), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(
        dir.names(),
        ["kmod-ready.prom"],
        "the temporary file is removed"
    );
}

#[test]
fn textfile_dir_needs_prometheus_which_excludes_json() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, READY);
    let dir = TextfileDir::new("usage");
    for args in [
        vec!["--textfile-dir", dir.0.to_str().unwrap()],
        vec!["--prometheus", "--json"],
    ] {
        let out = root.check_command(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        assert_eq!(common::stderr(&out).lines().count(), 1, "{args:?}: {out:?}");
    }
    assert!(dir.names().is_empty());
}

/// Debian's node_exporter serving only its textfile collector on a
/// loopback port; killed when dropped.
struct NodeExporter {
    child: Child,
    port: u16,
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl NodeExporter {
    fn start(binary: &Path, dir: &Path) -> NodeExporter {
        // A port the kernel just gave out is free; node_exporter binds it
        // a moment later.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--collector.disable-defaults")
            .arg("--collector.textfile")
            .arg(format!("--collector.textfile.directory={}", dir.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("{}: {err}", binary.display()));
        let exporter = NodeExporter { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "node_exporter did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        exporter
    }

    /// The body of `GET /metrics`, over plain HTTP/1.0.
    fn scrape(&self) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(
            head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
            "{head}"
        );
        body.to_string()
    }
}

#[test]
fn node_exporter_serves_our_series() {
    let Some(binary) = common::program_from_env(
        "node_exporter test",
        "KMOD_READY_NODE_EXPORTER",
        "tests/get-node-exporter",
    ) else {
        return;
    };
    let dir = TextfileDir::new("node-exporter");
    let exporter = NodeExporter::start(Path::new(&binary), &dir.0);
    for case in [READY, NEXT_BOOT_NOT_READY, NOT_READY] {
        let root = FixtureRoot::from_cases(&CHECK_CASES, case);
        write_metrics(&root, case, &dir.0);
        assert_serves(case, &exporter.scrape(), &golden(case));
    }
}

/// node_exporter's page `metrics` serves every series of `expected` (a
/// golden file) and no other of ours, and it read the file without error.
fn assert_serves(case: &str, metrics: &str, expected: &str) {
    let served: Vec<&str> = metrics.lines().collect();
    let ours: Vec<&str> = expected.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(ours.len() >= 5, "{case}: {ours:?}");
    for series in &ours {
        assert!(
            served.contains(series),
            "{case}: node_exporter does not serve {series:?}:\n{metrics}"
        );
    }
    assert!(
        served.contains(&"node_textfile_scrape_error 0"),
        "{case}: node_exporter could not read the file:\n{metrics}"
    );
    let kmod_ready_series = served
        .iter()
        .filter(|l| l.starts_with("kmod_ready_"))
        .count();
    assert_eq!(
        kmod_ready_series,
        ours.len(),
        "{case}: only ours, once:\n{metrics}"
    );
}

/// A directory it may not write (here: root's, written by the user
/// nobody, as root without capabilities writes another user's): status 74
/// and one line naming the directory and the fix.
#[test]
fn a_directory_it_may_not_write_is_an_error_naming_the_fix() {
    let root = FixtureRoot::from_cases(&CHECK_CASES, READY);
    let dir = TextfileDir::new("not-writable");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(common::kmod_ready_argv())
        .args(["check", "--prometheus", "--textfile-dir"])
        .arg(&dir.0)
        .env("KMOD_READY_ROOT", &root.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(74), "{}", common::stderr(&out));
    let stderr = common::stderr(&out);
    assert!(
        stderr.starts_with(&format!(
            "kmod-ready: --textfile-dir {0}: cannot write {0}/.kmod-ready.prom.",
            dir.0.display()
        )) && stderr.ends_with(
            ": Permission denied (os error 13): run it as root, into a directory root owns \
                 (kmod-ready-metrics.service has no capability to write others'), listed in the \
                 service's ReadWritePaths= (see kmod-ready-check(8), METRICS)\n"
        ),
        "{stderr}"
    );
    assert!(dir.names().is_empty());
}
