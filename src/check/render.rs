//! The report for people (short, aligned, at most [`WIDTH`] columns) and
//! as JSON (the schema is in the module above).

use std::path::Path;

use crate::cause::container_note;
use crate::check::kubelite::{Kubelite, DROP_IN, PROXY_ERROR};
use crate::libkmod::LIBRARY;
use crate::logging::escape_controls;
use crate::system::normalize_module_name;

use super::report::*;
use kube_proxy::{mode_name, render_kube_proxy};
use next_boot::render_next_boot;

mod kube_proxy;
mod next_boot;

/// Human output never needs more columns than this.
pub const WIDTH: usize = 100;

/// Colours, applied after alignment so that escape codes never count.
#[derive(Clone, Copy)]
pub(super) enum Tone {
    Good,
    Bad,
    Warn,
    Plain,
}

pub(super) struct Out {
    text: String,
    colour: bool,
}

impl Out {
    pub(super) fn paint(&self, tone: Tone, text: &str) -> String {
        let code = match tone {
            Tone::Good => "32",
            Tone::Bad => "31",
            Tone::Warn => "33",
            Tone::Plain => return text.to_string(),
        };
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// `label` padded to the value column, then `value` wrapped at WIDTH
    /// with continuation lines indented to the value column.
    pub(super) fn field(&mut self, label: &str, tone: Tone, value: &str) {
        self.field_at(14, label, tone, value);
    }

    /// Labels and values may hold bytes from outside (file names, unit
    /// lines): their control characters are escaped, never printed raw.
    pub(super) fn field_at(&mut self, column: usize, label: &str, tone: Tone, value: &str) {
        let (label, value) = (escape_controls(label), escape_controls(value));
        let label = label.as_str();
        let lines = wrap(&value, WIDTH - column.max(label.len() + 1));
        for (index, line) in lines.iter().enumerate() {
            let head = if index == 0 { label } else { "" };
            let pad = column.saturating_sub(head.chars().count()).max(1);
            let line = self.paint(tone, line);
            self.text
                .push_str(format!("{head}{:pad$}{line}", "").trim_end());
            self.text.push('\n');
        }
    }

    pub(super) fn blank(&mut self) {
        self.text.push('\n');
    }
}

/// Splits `text` into lines of at most `width` characters at spaces (a
/// longer word gets a line of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    // A `quoted command` is one word: it is never split across lines.
    let mut words: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match words.last_mut() {
            Some(open) if open.matches('`').count() % 2 == 1 => {
                open.push(' ');
                open.push_str(word);
            }
            _ => words.push(word.to_string()),
        }
    }
    for word in &words {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

/// One JSON object, pretty-printed.
pub fn json(report: &Report) -> String {
    // Serialising plain data cannot fail; an empty object would be a bug.
    serde_json::to_string_pretty(report).unwrap_or_default() + "\n"
}

/// The human report: short, aligned, at most [`WIDTH`] columns; the last
/// line is the verdict.
pub fn human(report: &Report, colour: bool) -> String {
    let mut out = Out {
        text: String::new(),
        colour,
    };
    render_system(&mut out, report);
    for module in &report.modules {
        out.blank();
        render_module(&mut out, module);
    }
    out.blank();
    render_kubelite(&mut out, &report.kubelite);
    if let Some(kube_proxy) = &report.kube_proxy {
        out.blank();
        render_kube_proxy(&mut out, kube_proxy);
    }
    if let Some(next) = &report.next_boot {
        out.blank();
        let mode = report.kube_proxy.as_ref().map(|k| mode_name(&k.microk8s));
        render_next_boot(&mut out, next, mode.as_deref());
    }
    out.blank();
    render_verdict(&mut out, &report.verdict, report.next_boot.is_some());
    out.text
}

/// Kernel, module directory, container, libkmod, and what forbids loading.
fn render_system(out: &mut Out, report: &Report) {
    let kernel = &report.kernel;
    out.field("kernel", Tone::Plain, &kernel.release);
    if kernel.module_dir_exists {
        out.field("module dir", Tone::Plain, &kernel.module_dir);
    } else {
        let installed = if kernel.installed_releases.is_empty() {
            "none".to_string()
        } else {
            kernel.installed_releases.join(", ")
        };
        out.field(
            "module dir",
            Tone::Bad,
            &format!("{} is missing (installed: {installed})", kernel.module_dir),
        );
    }
    match &report.container {
        Some(kind) => out.field("container", Tone::Warn, &container_note(kind)),
        None => out.field("container", Tone::Plain, "none"),
    }
    let blocking = report
        .blocking_config
        .as_ref()
        .or(report.blocking_index.as_ref());
    match (&report.libkmod.error, blocking) {
        (None, None) => out.field("libkmod", Tone::Plain, &format!("{LIBRARY} available")),
        (None, Some(file)) => out.field(
            "libkmod",
            Tone::Bad,
            &format!("{LIBRARY} available, not used: {file} would block it"),
        ),
        (Some(error), _) => out.field("libkmod", Tone::Bad, error),
    }
    if let Some(mode) = &kernel.lockdown {
        out.field(
            "lockdown",
            Tone::Warn,
            &format!("{mode}: only signed modules load"),
        );
    }
    if kernel.modules_disabled {
        out.field("modules", Tone::Bad, "loading disabled until the next boot");
    }
    for skipped in &report.skipped {
        out.field("skipped", Tone::Plain, skipped);
    }
    let mut cmdline = Vec::new();
    if !kernel.module_blacklist.is_empty() {
        cmdline.push(format!(
            "module_blacklist={}",
            kernel.module_blacklist.join(",")
        ));
    }
    if !kernel.modprobe_blacklist.is_empty() {
        cmdline.push(format!(
            "modprobe.blacklist={}",
            kernel.modprobe_blacklist.join(",")
        ));
    }
    if !cmdline.is_empty() {
        out.field("command line", Tone::Warn, &cmdline.join(" "));
    }
}

/// The last paragraph: detail, warnings, and the verdict line; with
/// `--next-boot` it says when.
fn render_verdict(out: &mut Out, verdict: &Verdict, next_boot: bool) {
    if let Some(detail) = &verdict.detail {
        out.field("detail", Tone::Plain, detail);
    }
    for warning in &verdict.warnings {
        out.field("warning", Tone::Warn, warning);
    }
    if verdict.ready {
        let when = if next_boot {
            " now and at the next boot"
        } else {
            ""
        };
        let line = format!("verdict: {}{when}", out.paint(Tone::Good, "ready"));
        out.text.push_str(&line);
        out.text.push('\n');
    } else {
        let when = match verdict.not_ready {
            Some("next boot") => " at the next boot".to_string(),
            Some(when) => format!(" {when}"),
            None => String::new(),
        };
        let text = format!(
            "not ready{when} — {}: {}",
            verdict.cause.as_deref().unwrap_or_default(),
            verdict.fix.as_deref().unwrap_or_default()
        );
        // "verdict: " starts the last paragraph; long ones wrap under it.
        out.field_at(9, "verdict:", Tone::Bad, &text);
    }
}

fn render_module(out: &mut Out, module: &ModuleReport) {
    let tone = if module.state.is_ready() {
        Tone::Good
    } else {
        Tone::Bad
    };
    let mut state = module.state.as_str().to_string();
    if module.resolved != [normalize_module_name(&module.name)] {
        state.push_str(&format!(" (alias of {})", module.resolved.join(", ")));
    }
    out.field(&module.name, tone, &state);
    for path in &module.paths {
        let value = match &path.value {
            Some(value) if path.present => format!("{} = {value}", path.path.display()),
            Some(value) => format!("{} ({value})", path.path.display()),
            None => path.path.display().to_string(),
        };
        if path.present {
            out.field("  present", Tone::Plain, &value);
        } else {
            out.field("  missing", Tone::Bad, &value);
        }
    }
    if let Some(file) = &module.file {
        out.field("  file", Tone::Plain, file);
    }
    if !module.dependencies.is_empty() {
        out.field("  needs", Tone::Plain, &module.dependencies.join(", "));
    }
    if !module.blacklisted_at.is_empty() {
        let at = location_list(&module.blacklisted_at);
        out.field("  blacklisted", Tone::Warn, &at);
    }
    for line in &module.install_lines {
        out.field(
            "  install",
            Tone::Warn,
            &format!(
                "{}: runs `{}` instead of loading it",
                line.at(),
                line.command
            ),
        );
    }
    if !module.modules_load_d.is_empty() {
        out.field(
            "  listed in",
            Tone::Plain,
            &format!(
                "{} (not needed with kmod-ready; harmless)",
                location_list(&module.modules_load_d)
            ),
        );
    }
}

fn render_kubelite(out: &mut Out, kubelite: &Kubelite) {
    if !kubelite.unit_exists {
        out.field(
            "kubelite",
            Tone::Plain,
            &format!("{} not installed (the drop-in does nothing)", kubelite.unit),
        );
    } else {
        out.field("kubelite", Tone::Plain, kubelite.unit);
        if let Some(file) = &kubelite.unit_file {
            out.field("  unit", Tone::Plain, &file.display().to_string());
        }
    }
    if kubelite.drop_in_present {
        out.field("  drop-in", Tone::Plain, DROP_IN);
    } else {
        out.field("  no drop-in", Tone::Warn, DROP_IN);
    }
    if let Some(file) = &kubelite.masked_by {
        out.field("  masked by", Tone::Bad, &file.display().to_string());
    }
    for other in kubelite
        .drop_ins
        .iter()
        .filter(|p| *p != Path::new(DROP_IN) && Some(*p) != kubelite.masked_by.as_ref())
    {
        out.field("  override", Tone::Plain, &other.display().to_string());
    }
    if let Some(file) = &kubelite.reset_by {
        out.field(
            "  reset by",
            Tone::Bad,
            &format!("{} (empty ExecStartPre=)", file.display()),
        );
    }
    if kubelite.unit_exists {
        let runs = if kubelite.exec_start_pre.is_empty() {
            "nothing".to_string()
        } else {
            kubelite.exec_start_pre.join("; ")
        };
        let tone = if kubelite.runs_kmod_ready {
            Tone::Plain
        } else {
            Tone::Bad
        };
        out.field("  runs first", tone, &runs);
    }
    if let Some(state) = &kubelite.active_state {
        let restarts = kubelite
            .n_restarts
            .map(|n| format!(", {n} restarts"))
            .unwrap_or_default();
        out.field("  state", Tone::Plain, &format!("{state}{restarts}"));
    }
    if let Some(line) = &kubelite.last_proxy_error {
        out.field("  last error", Tone::Bad, &shorten_proxy_error(line));
    }
    for skipped in &kubelite.skipped {
        out.field("  skipped", Tone::Plain, skipped);
    }
}

/// A journal line "TIME HOST kubelite[PID]: E1124 … "Error running
/// ProxyServer" err="…"" as "TIME "Error running ProxyServer" err="…"".
fn shorten_proxy_error(line: &str) -> String {
    let time = line.split_whitespace().next().unwrap_or_default();
    let message = line.find(PROXY_ERROR).map_or(line, |at| {
        let quoted = line[..at].ends_with('"');
        &line[at - usize::from(quoted)..]
    });
    format!("{time} {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_words_and_width() {
        let text = "a ".repeat(80) + "long";
        for line in wrap(&text, 20) {
            assert!(line.chars().count() <= 20, "{line:?}");
        }
        assert_eq!(wrap("short", 20), vec!["short"]);
        assert_eq!(wrap("x".repeat(30).as_str(), 20).len(), 1);
        assert_eq!(
            wrap("run `kmod-ready nf_conntrack` now", 20),
            vec!["run", "`kmod-ready nf_conntrack`", "now"]
        );
    }

    #[test]
    fn proxy_error_is_shortened() {
        let line = r#"2026-11-24T21:00:00+0000 node microk8s.daemon-kubelite[812]: E1124 21:00:00.1 812 server.go:1] "Error running ProxyServer" err="open x: no such file""#;
        assert_eq!(
            shorten_proxy_error(line),
            r#"2026-11-24T21:00:00+0000 "Error running ProxyServer" err="open x: no such file""#
        );
    }
}
