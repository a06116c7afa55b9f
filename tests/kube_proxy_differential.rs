//! check's kube-proxy mode against the real kube-proxy's: for every check
//! fixture with MicroK8s' kube-proxy arguments, the arguments kubelite
//! would pass are given to Kubernetes' own kube-proxy (built from Debian's
//! source package by tests/e2e/kube-proxy/build) with `--write-config-to`,
//! which makes it parse its flags, load its `--config` file, validate the
//! result and write the configuration it would run with, then exit. Its
//! `mode:` (blank is iptables), or its refusal, must be check's.
//!
//! kubelite itself cannot run here (it is only in the MicroK8s snap): its
//! arguments file is split below as its `ReadArgsFromFile` splits it, a
//! second reading of that rule beside check's. The kube-proxy that builds
//! here is 1.20: where the rules of 1.28 and later differ from its own
//! (nftables mode, the userspace mode removed in 1.26) the case is listed
//! as not compared, with the reason.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{FixtureRoot, CHECK_CASES};

const ARGS: &str = "var/snap/microk8s/current/args/kube-proxy";

/// What kube-proxy does with its arguments: runs in a mode, or refuses.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Mode(String),
    Refused,
}

/// kubelite's reading of an arguments file, with `$SNAP*` pointing into
/// the fixture root.
fn kubelite_split(text: &str, root: &Path) -> Vec<String> {
    let root = root.display().to_string();
    let vars = [
        ("SNAP_DATA", format!("{root}/var/snap/microk8s/current")),
        ("SNAP_COMMON", format!("{root}/var/snap/microk8s/common")),
        ("SNAP", format!("{root}/snap/microk8s/current")),
    ];
    let mut args = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        for part in line.replace(['"', '\''], "").split(' ') {
            let mut part = part.to_string();
            for (name, value) in &vars {
                part = part.replace(&format!("${{{name}}}"), value);
                part = part.replace(&format!("${name}"), value);
            }
            args.push(part);
        }
    }
    args
}

/// The real kube-proxy's outcome, and its last words when it refuses.
fn real_kube_proxy(binary: &Path, args: &[String], scratch: &Path) -> (Outcome, String) {
    let written = scratch.join("written.yaml");
    let _ = std::fs::remove_file(&written);
    let mut command = Command::new(binary);
    // First, so that no argument of the file can take it as its value.
    command.arg(format!("--write-config-to={}", written.display()));
    // With --write-config-to, kube-proxy 1.20 skips adding the default port
    // to a bind address given without one (addressFromDeprecatedFlags), as
    // a run does, and refuses MicroK8s' --healthz-bind-address=127.0.0.1:
    // the port is added here as that run adds it.
    let args = args.iter().map(|arg| {
        for (flag, port) in [
            ("--healthz-bind-address=", 10256),
            ("--metrics-bind-address=", 10249),
        ] {
            if let Some(address) = arg.strip_prefix(flag).filter(|a| !a.contains(':')) {
                return format!("{flag}{address}:{port}");
            }
        }
        arg.clone()
    });
    command.args(args).current_dir(scratch);
    let out = common::run_bounded(command, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // klog's fatal line ("F1207 …"), or the flag parser's "Error: …".
    let said = stderr
        .lines()
        .find(|l| {
            l.starts_with("Error:")
                || (l.starts_with('F') && l[1..].starts_with(|c: char| c.is_ascii_digit()))
        })
        .unwrap_or_default()
        .to_string();
    assert!(
        !stderr.contains("\npanic:") && !stderr.starts_with("panic:"),
        "kube-proxy crashed (is it built with Debian's reflect2?): {}",
        stderr.lines().next().unwrap_or_default()
    );
    if !out.status.success() {
        return (Outcome::Refused, said);
    }
    let text = std::fs::read_to_string(&written).unwrap_or_else(|err| {
        panic!("kube-proxy exited 0 without writing its config ({err}): {said}")
    });
    let mode = text
        .lines()
        .find_map(|l| l.strip_prefix("mode:"))
        .map(|m| m.trim().trim_matches('"').to_string())
        .unwrap_or_default();
    let mode = if mode.is_empty() {
        "iptables".to_string()
    } else {
        mode
    };
    (Outcome::Mode(mode), said)
}

/// check's outcome, or why it is not comparable with kube-proxy 1.20.
fn check_outcome(root: &FixtureRoot) -> Result<Outcome, String> {
    let out = root.check_command(&["--json"]).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kube_proxy = &report["kube_proxy"];
    if let Some(mode) = kube_proxy["mode"].as_str() {
        return match mode {
            "nftables" => Err("nftables mode came in 1.29".into()),
            mode => Ok(Outcome::Mode(mode.to_string())),
        };
    }
    let problem = &kube_proxy["mode_problem"];
    match problem["refused"]["kind"].as_str() {
        Some(kind @ ("no-nftables" | "nftables-gate-off" | "userspace")) => {
            Err(format!("check's rule {kind} is of 1.26 and later"))
        }
        Some(_) => Ok(Outcome::Refused),
        None => Err(format!("check cannot read it: {problem}")),
    }
}

#[test]
fn check_reads_the_mode_the_real_kube_proxy_runs_in() {
    const TEST: &str = "check_reads_the_mode_the_real_kube_proxy_runs_in";
    let Some(binary) = common::program_from_env(
        TEST,
        "KMOD_READY_KUBE_PROXY",
        "tests/e2e/run --kube-proxy-path",
    ) else {
        return;
    };
    let binary = binary.as_path();
    let (mut compared, mut refused, mut differ) = (Vec::new(), 0, Vec::new());
    for case in CHECK_CASES.case_names() {
        let source = CHECK_CASES.case_dir(&case).join("root").join(ARGS);
        if !std::fs::symlink_metadata(&source).is_ok_and(|m| m.is_file()) {
            continue;
        }
        let root = FixtureRoot::from_cases(&CHECK_CASES, &case);
        let text = std::fs::read_to_string(root.path.join(ARGS)).unwrap();
        let theirs = match check_outcome(&root) {
            Ok(outcome) => outcome,
            Err(why) => {
                eprintln!("not compared: {case} ({why})");
                continue;
            }
        };
        // Beside the root, not in it: kube-proxy writes there.
        let scratch = root.path.with_extension("kube-proxy");
        std::fs::create_dir_all(&scratch).unwrap();
        let (real, said) = real_kube_proxy(binary, &kubelite_split(&text, &root.path), &scratch);
        std::fs::remove_dir_all(&scratch).unwrap();
        eprintln!(
            "{case}: kube-proxy {real:?}{}, check {theirs:?}",
            if said.is_empty() {
                String::new()
            } else {
                format!(" ({said})")
            }
        );
        refused += usize::from(real == Outcome::Refused);
        if real != theirs {
            differ.push(format!(
                "{case}: kube-proxy {real:?} ({said}), check {theirs:?}"
            ));
        }
        compared.push(case);
    }
    assert!(
        differ.is_empty(),
        "check and kube-proxy disagree:\n{}",
        differ.join("\n")
    );
    assert!(
        compared.len() >= 10 && refused >= 3,
        "too few cases compared ({compared:?}, {refused} refused)"
    );
}
