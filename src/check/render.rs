//! The report for people (short, aligned, at most [`WIDTH`] columns) and
//! as JSON (the schema is in the module above).

use std::path::Path;

use crate::cause::container_note;
use crate::check::kube_proxy::{Contract, KubeProxy, ModuleState};
use crate::check::report::{NextBoot, NextState as NextStateView};
use crate::kubelite::{Kubelite, DROP_IN, PROXY_ERROR};
use crate::libkmod::LIBRARY;
use crate::logging::escape_controls;
use crate::microk8s::{MicroK8s, ModeProblem};
use crate::system::normalize_module_name;

use super::report::*;

/// Human output never needs more columns than this.
pub const WIDTH: usize = 100;

/// Colours, applied after alignment so that escape codes never count.
#[derive(Clone, Copy)]
enum Tone {
    Good,
    Bad,
    Warn,
    Plain,
}

struct Out {
    text: String,
    colour: bool,
}

impl Out {
    fn paint(&self, tone: Tone, text: &str) -> String {
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
    fn field(&mut self, label: &str, tone: Tone, value: &str) {
        self.field_at(14, label, tone, value);
    }

    /// Labels and values may hold bytes from outside (file names, unit
    /// lines): their control characters are escaped, never printed raw.
    fn field_at(&mut self, column: usize, label: &str, tone: Tone, value: &str) {
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

    fn blank(&mut self) {
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

/// How MicroK8s runs kube-proxy, and what its mode needs.
fn render_kube_proxy(out: &mut Out, kube_proxy: &KubeProxy) {
    let microk8s = &kube_proxy.microk8s;
    let mode = mode_name(microk8s);
    out.field(
        "kube-proxy",
        Tone::Plain,
        &format!("{mode}, from {}", microk8s.mode_from),
    );
    let version = microk8s.version.as_deref().unwrap_or("unknown");
    let loads = if microk8s.wrapper_loads.is_empty() {
        "its wrapper loads no module".to_string()
    } else {
        format!("its wrapper loads {}", microk8s.wrapper_loads.join(", "))
    };
    out.field("  microk8s", Tone::Plain, &format!("{version}; {loads}"));
    render_contract(out, "  ", &kube_proxy.contract);
}

/// "iptables mode".
fn mode_name(microk8s: &MicroK8s) -> String {
    match (microk8s.mode, &microk8s.mode_problem) {
        (Some(mode), _) => format!("{} mode", mode.as_str()),
        (None, Some(ModeProblem::Refused(_))) => "no mode it accepts".to_string(),
        (None, Some(ModeProblem::Unreadable(_))) | (None, None) => {
            "a mode check cannot tell".to_string()
        }
    }
}

/// Each module and program of kube-proxy's contract, the kernel-version
/// rule, and what nftables mode would have.
fn render_contract(out: &mut Out, indent: &str, contract: &Contract) {
    for module in &contract.modules {
        let tone = match (module.needed, module.state) {
            ("loaded", state) if !state.in_kernel() && module.loaded_by.is_empty() => Tone::Bad,
            (_, ModuleState::Missing) => Tone::Warn,
            _ => Tone::Plain,
        };
        let note = match (module.needed, module.loaded_by.is_empty()) {
            ("loaded", true) => " (needed loaded at start)".to_string(),
            ("loaded", false) => format!(", loaded by {}", module.loaded_by.join(", ")),
            _ => String::new(),
        };
        out.field(
            &format!("{indent}{}", module.name),
            tone,
            &format!("{}{note}", module.state.as_str()),
        );
    }
    for program in &contract.programs {
        let label = format!("{indent}{}", program.name);
        match (&program.path, program.unusable(), &program.version) {
            (None, _, _) => out.field(&label, Tone::Bad, "not installed"),
            (Some(_), Some(why), _) => out.field(&label, Tone::Bad, &why),
            (Some(path), None, Some(version)) => {
                out.field(&label, Tone::Plain, &format!("{path}, version {version}"))
            }
            (Some(path), None, None) => out.field(&label, Tone::Plain, path),
        }
    }
    if contract.kernel_new_enough == Some(false) {
        out.field(
            &format!("{indent}kernel"),
            Tone::Bad,
            "older than 5.13, which nftables mode needs",
        );
    }
    if let Some(instead) = &contract.nftables_instead {
        let nft = match (&instead.nft, &instead.nft_unusable, &instead.nft_version) {
            (None, _, _) => "nft not installed".to_string(),
            (Some(_), Some(why), _) => why.clone(),
            (Some(path), None, Some(version)) => format!("{path}, version {version}"),
            (Some(path), None, None) => path.clone(),
        };
        out.field(
            &format!("{indent}nftables"),
            Tone::Plain,
            &format!("nf_tables {}; {nft}", instead.nf_tables.as_str()),
        );
    }
}

/// The `--next-boot` paragraph: the kernel, from where, and each module.
fn render_next_boot(out: &mut Out, next: &NextBoot, kube_proxy_mode: Option<&str>) {
    let kernel = &next.kernel;
    let (release, tone) = match &kernel.release {
        Some(release) => (release.as_str(), Tone::Plain),
        None => ("unknown", Tone::Bad),
    };
    out.field("next boot", tone, release);
    out.field("  from", Tone::Plain, &kernel.source);
    if let Some(guess) = &kernel.guess {
        out.field("  guess", Tone::Warn, guess);
    }
    if let Some(image) = &kernel.image {
        out.field("  image", Tone::Plain, image);
    }
    let cmdline_note = if kernel.cmdline.is_some() {
        ""
    } else {
        " (the running one)"
    };
    out.field(
        "  cmdline",
        Tone::Plain,
        &format!("{}{cmdline_note}", next.cmdline),
    );
    match &next.module_dir {
        Some(dir) => out.field("  module dir", Tone::Plain, dir),
        None => out.field("  module dir", Tone::Bad, "none"),
    }
    for module in &next.modules {
        let tone = if module.is_ready() {
            Tone::Good
        } else {
            Tone::Bad
        };
        let by = match (module.state, module.loaded_by.is_empty()) {
            (NextStateView::Loadable, true) => ", and nothing loads it before kubelite".to_string(),
            (NextStateView::Loadable, false) => {
                format!(", loaded by {}", module.loaded_by.join(", "))
            }
            _ => match &module.missing_dependency {
                Some(dependency) => format!(": {} ({})", dependency.name, dependency.file),
                None => String::new(),
            },
        };
        out.field(
            &format!("  {}", module.name),
            tone,
            &format!("{}{by}", module.state.as_str()),
        );
    }
    // A mode check does not know has no contract to show.
    let contract = next.kube_proxy.as_ref().filter(|c| !c.modules.is_empty());
    if let (Some(contract), Some(mode)) = (contract, kube_proxy_mode) {
        out.field(
            "  kube-proxy",
            Tone::Plain,
            &format!("{mode}, on this kernel:"),
        );
        render_contract(out, "    ", contract);
    }
    if let Some(enabled) = next.kubelite_enabled {
        let (text, tone) = if enabled {
            ("enabled", Tone::Plain)
        } else {
            ("not enabled: it will not start at boot", Tone::Bad)
        };
        out.field("  kubelite", tone, text);
    }
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
