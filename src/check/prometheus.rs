//! `check --prometheus`: the report as Prometheus' text exposition format,
//! for node_exporter's textfile collector, and the atomic write of it into
//! that collector's directory (`--textfile-dir`).
//!
//! Nothing is judged here: each value is a verdict the report already holds.
//! The metric names and labels are listed once for readers, in
//! kmod-ready-check(8), METRICS; tests/docs.rs compares that list with what
//! `--prometheus` prints over every check fixture.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::report::Report;

/// The file written into the textfile directory; node_exporter reads only
/// names ending in `.prom`, so the temporary file's name does not.
pub const TEXTFILE: &str = "kmod-ready.prom";

/// Each metric: name, help text. One label `boot` ("current" or "next")
/// rather than a metric per boot: the same question asked of two boots, so
/// that `min without (boot, kernel)` is the node's whole verdict and one
/// alert rule covers both.
pub const METRICS: [(&str, &str); 3] = [
    (
        "kmod_ready_ready",
        "Whether check's verdict is ready (1) or not (0), for the running boot \
         (boot=\"current\") and the next one (boot=\"next\"); kernel is the release \
         judged (empty when the next one is unknown).",
    ),
    (
        "kmod_ready_module_ready",
        "Whether the module is ready (1) or not (0): now (boot=\"current\"), or at the \
         next boot (boot=\"next\": built in, or loadable and loaded before kubelite).",
    ),
    (
        "kmod_ready_drop_in_runs",
        "Whether kubelite's start runs kmod-ready (1): its unit exists, an ExecStartPre= \
         runs kmod-ready and no file masks the drop-in.",
    ),
];

/// The report as metrics, in the order of [`METRICS`]; labels sorted by
/// name. A report without a next boot (not asked for) has only "current"
/// series.
pub fn render(report: &Report) -> String {
    let current = report.kernel.release.as_str();
    let next = report.next_boot.as_ref();
    let next_release = next.and_then(|n| n.kernel.release.as_deref()).unwrap_or("");
    let mut text = String::new();
    let [(ready, ready_help), (module_ready, module_help), (drop_in, drop_in_help)] = METRICS;

    header(&mut text, ready, ready_help);
    series(
        &mut text,
        ready,
        &[("boot", "current"), ("kernel", current)],
        report.verdict.ready_now,
    );
    if let Some(next) = next {
        series(
            &mut text,
            ready,
            &[("boot", "next"), ("kernel", next_release)],
            next.ready,
        );
    }

    header(&mut text, module_ready, module_help);
    // A module named twice (on the command line or in the drop-in) is one
    // series: the text format allows each series once (node_exporter 1.5
    // kept one of a repeat silently; another reader may refuse the file).
    let mut seen = HashSet::new();
    for module in report.modules.iter().filter(|m| seen.insert(&m.name)) {
        let labels = [
            ("boot", "current"),
            ("kernel", current),
            ("module", &module.name),
        ];
        series(&mut text, module_ready, &labels, module.state.is_ready());
    }
    let mut seen = HashSet::new();
    let next_modules = next.iter().flat_map(|n| &n.modules);
    for module in next_modules.filter(|m| seen.insert(&m.name)) {
        let labels = [
            ("boot", "next"),
            ("kernel", next_release),
            ("module", &module.name),
        ];
        series(&mut text, module_ready, &labels, module.is_ready());
    }

    header(&mut text, drop_in, drop_in_help);
    series(&mut text, drop_in, &[], report.kubelite.drop_in_runs());
    text
}

fn header(text: &mut String, name: &str, help: &str) {
    // Help texts are ours: no backslash or line break to escape.
    let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} gauge");
}

fn series(text: &mut String, name: &str, labels: &[(&str, &str)], value: bool) {
    let labels: Vec<String> = labels
        .iter()
        .map(|(label, value)| format!("{label}=\"{}\"", escape_label_value(value)))
        .collect();
    let labels = if labels.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", labels.join(","))
    };
    let _ = writeln!(text, "{name}{labels} {}", u8::from(value));
}

/// A label value as the text format requires: `\`, `"` and a line feed
/// escaped; anything else (UTF-8) as it is.
pub fn escape_label_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Writes `text` to `dir`/[`TEXTFILE`] so that a reader sees the old file or
/// the whole new one, never a part: a temporary file in the same directory,
/// flushed to disk, then renamed over it. On failure the temporary file is
/// removed and the error is one line naming the path and the fix.
pub fn write_textfile(dir: &Path, text: &str) -> Result<PathBuf, String> {
    let target = dir.join(TEXTFILE);
    if !dir.is_dir() {
        let what = if dir.exists() {
            "not a directory"
        } else {
            "no such directory"
        };
        return Err(format!(
            "--textfile-dir {}: {what}: create it, or give the directory \
             node_exporter reads (its --collector.textfile.directory)",
            dir.display()
        ));
    }
    let mut temp_name = OsString::from(".");
    temp_name.push(TEXTFILE);
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = dir.join(temp_name);
    let written = write_synced(&temp, text)
        .map_err(|err| (temp.clone(), err))
        .and_then(|()| fs::rename(&temp, &target).map_err(|err| (target.clone(), err)));
    if let Err((path, err)) = written {
        let _ = fs::remove_file(&temp);
        return Err(format!(
            "--textfile-dir {}: cannot write {}: {err}: {}",
            dir.display(),
            path.display(),
            write_fix(&err)
        ));
    }
    // The rename itself reaches the disk with the directory.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(target)
}

/// A new file (never one left by another run, never through a symlink),
/// readable by node_exporter's user whatever the umask, synced.
fn write_synced(path: &Path, text: &str) -> std::io::Result<()> {
    // A file of this process's own name is left from a run of the same
    // process id that was killed before it could remove it.
    let _ = fs::remove_file(path);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)?;
    file.set_permissions(fs::Permissions::from_mode(0o644))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

fn write_fix(err: &std::io::Error) -> &'static str {
    let read_only = err.raw_os_error() == Some(nix::errno::Errno::EROFS as i32);
    if err.kind() == std::io::ErrorKind::PermissionDenied || read_only {
        "run it as root, into a directory root owns (kmod-ready-metrics.service has no \
         capability to write others'), listed in the service's ReadWritePaths= (see \
         kmod-ready-check(8), METRICS)"
    } else {
        "free space or fix the directory, then run it again"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label_value("nf_conntrack"), "nf_conntrack");
        assert_eq!(escape_label_value(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label_value("a\nb"), "a\\nb");
        assert_eq!(escape_label_value("6.1.0-äö"), "6.1.0-äö");
    }

    #[test]
    fn help_texts_need_no_escaping() {
        for (name, help) in METRICS {
            assert!(name.starts_with("kmod_ready_"), "{name}");
            assert!(!help.contains(['\\', '\n']), "{name}");
        }
    }
}
