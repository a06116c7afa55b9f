//! `kmod-ready check`: a read-only diagnosis of whether the given modules
//! (default: those the kubelite drop-in names, else `nf_conntrack`) are
//! ready, and if not, the single most likely cause and the command that
//! fixes it.
//!
//! It never loads, writes or changes anything. It opens libkmod only to look
//! modules up (file, dependencies, blacklist), and runs `systemctl show` and
//! `journalctl` (see [`crate::kubelite`]) only on the system root when systemd
//! is running. Exit status: 0 ready, 1 not ready, 64 usage.
//!
//! # JSON schema (`check --json`), version 1
//!
//! One object. Fields are only ever added within a schema version; a
//! renamed or removed field, or a changed meaning, bumps `schema`. Paths are
//! paths of the system being checked (never of a test root).
//!
//! ```text
//! {
//!   "schema": 1,
//!   "kernel": {
//!     "release": "6.1.0-28-amd64",          // running kernel (/proc/sys/kernel/osrelease)
//!     "module_dir": "/lib/modules/6.1.0-28-amd64",
//!     "module_dir_exists": true,
//!     "installed_releases": ["6.1.0-28-amd64"],   // releases with a module tree
//!     "lockdown": null,                     // "integrity" | "confidentiality" | null
//!     "modules_disabled": false,            // kernel.modules_disabled=1
//!     "module_blacklist": [],               // module_blacklist= on /proc/cmdline (kernel refuses)
//!     "modprobe_blacklist": []              // modprobe.blacklist= on /proc/cmdline
//!   },
//!   "container": null,                      // e.g. "lxc", "docker", "podman"; null on a host
//!   "libkmod": {"available": true, "error": null},
//!   "modules": [{
//!     "name": "nf_conntrack",               // as asked for (may be an alias)
//!     "state": "ready",                     // see below
//!     "resolved": ["nf_conntrack"],         // module names the name resolves to
//!     "paths": [{"path": "/proc/sys/net/netfilter/nf_conntrack_max",
//!                "exists": true, "value": "262144"}],   // value: file content, or initstate
//!     "file": "/lib/modules/…/nf_conntrack.ko",  // what libkmod would load; null if built in/unknown
//!     "dependencies": ["nf_defrag_ipv4", "nf_defrag_ipv6", "libcrc32c"],
//!     "blacklisted_at": [{"file": "/etc/modprobe.d/x.conf", "line": 3}],
//!                                           // modprobe.blacklist= shows as /proc/cmdline, line 1
//!     "modules_load_d": [{"file": "/etc/modules-load.d/k8s.conf", "line": 1}]
//!   }],
//!   "kubelite": {
//!     "unit": "snap.microk8s.daemon-kubelite.service",
//!     "source": "systemctl" | "files",      // who answered
//!     "unit_exists": true, "unit_file": "/etc/systemd/system/snap.microk8s.daemon-kubelite.service",
//!     "drop_in_present": true,              // /usr/lib/systemd/system/<unit>.d/50-kmod-ready.conf
//!     "drop_ins": ["…/50-kmod-ready.conf"], // in effect, in the order applied
//!     "exec_start_pre": ["/usr/sbin/kmod-ready nf_conntrack"],  // effective, in order
//!     "runs_kmod_ready": true, "kmod_ready_modules": ["nf_conntrack"],
//!     "reset_by": null,                     // drop-in whose empty ExecStartPre= removed ours
//!     "active_state": "active", "n_restarts": 0,   // null when not read (see skipped)
//!     "last_proxy_error": null,             // last "Error running ProxyServer" journal line
//!     "skipped": []                         // facts not read, with the reason
//!   },
//!   "skipped": [],                          // other facts not read, with the reason
//!   "verdict": {
//!     "ready": true,
//!     "cause": null, "fix": null,           // when not ready: short cause, and the command
//!     "detail": null,                       // the full message kmod-ready itself would log
//!     "warnings": []                        // true but not blocking (e.g. kmod-ready no longer runs)
//!   }
//! }
//! ```
//!
//! `state` is one of: `ready` (loaded, readiness paths present), `builtin`
//! (built into the kernel, paths present), `loaded-not-ready` (in the kernel,
//! some path missing), `loadable` (in the module tree, not loaded),
//! `blacklisted` (not loaded, blacklisted in modprobe.d or by
//! `modprobe.blacklist=`), `denied-by-cmdline` (not loaded, named by
//! `module_blacklist=`, which the kernel enforces), `not-found` (not in the
//! module tree of the running kernel), `unknown` (not loaded, and libkmod is
//! missing so the module tree cannot be read).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::CheckArgs;
use crate::kubelite::Kubelite;
use crate::libkmod::{Libkmod, LIBRARY};
use crate::load::{self, cmdline_blacklist_advice, lockdown_advice, Facts};
use crate::modprobe_d::{self, Location};
use crate::readiness::{sys_module_dir, Requirement};
use crate::status::Status;
use crate::system::{cmdline_module_blacklist, cmdline_module_list, normalize_module_name, Root};

pub const SCHEMA: u32 = 1;
/// Human output never needs more columns than this.
pub const WIDTH: usize = 100;
const DEFAULT_MODULE: &str = "nf_conntrack";
/// The file `modprobe.blacklist=` entries are reported in (line 1).
const CMDLINE: &str = "/proc/cmdline";

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: u32,
    pub kernel: Kernel,
    pub container: Option<String>,
    pub libkmod: LibkmodState,
    pub modules: Vec<ModuleReport>,
    pub kubelite: Kubelite,
    pub skipped: Vec<String>,
    pub verdict: Verdict,
}

#[derive(Debug, Serialize)]
pub struct Kernel {
    pub release: String,
    pub module_dir: String,
    pub module_dir_exists: bool,
    pub installed_releases: Vec<String>,
    pub lockdown: Option<String>,
    pub modules_disabled: bool,
    pub module_blacklist: Vec<String>,
    pub modprobe_blacklist: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct LibkmodState {
    pub available: bool,
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Ready,
    Builtin,
    LoadedNotReady,
    Loadable,
    Blacklisted,
    DeniedByCmdline,
    NotFound,
    Unknown,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ready => "ready",
            State::Builtin => "built in",
            State::LoadedNotReady => "loaded, not ready",
            State::Loadable => "loadable, not loaded",
            State::Blacklisted => "blacklisted, not loaded",
            State::DeniedByCmdline => "denied by module_blacklist=, not loaded",
            State::NotFound => "not found",
            State::Unknown => "not loaded (module tree not read: no libkmod)",
        }
    }

    pub fn is_ready(self) -> bool {
        matches!(self, State::Ready | State::Builtin)
    }
}

#[derive(Debug, Serialize)]
pub struct PathState {
    pub path: PathBuf,
    pub exists: bool,
    pub value: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ModuleReport {
    pub name: String,
    pub state: State,
    pub resolved: Vec<String>,
    pub paths: Vec<PathState>,
    pub file: Option<String>,
    pub dependencies: Vec<String>,
    pub blacklisted_at: Vec<Location>,
    pub modules_load_d: Vec<Location>,
}

#[derive(Debug, Default, Serialize)]
pub struct Verdict {
    pub ready: bool,
    pub cause: Option<String>,
    pub fix: Option<String>,
    pub detail: Option<String>,
    pub warnings: Vec<String>,
}

/// Runs `kmod-ready check`: prints the report on stdout.
pub fn run(args: &CheckArgs, root: Root) -> Status {
    let report = collect(&args.modules, root);
    let text = if args.json {
        // Serialising plain data cannot fail; an empty object would be a bug.
        serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
    } else {
        render(&report, use_colour())
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    if report.verdict.ready {
        Status::Ready
    } else {
        Status::NotReady
    }
}

/// Colour only on a terminal, never with `NO_COLOR` set (to anything but "").
fn use_colour() -> bool {
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").map_or(true, |v| v.is_empty())
        && std::env::var_os("TERM").map_or(true, |t| t != "dumb")
}

/// Reads every fact; never changes anything.
pub fn collect(requested: &[String], root: Root) -> Report {
    let facts = Facts::read(root);
    let root = &facts.root;
    let mut skipped = Vec::new();
    let kubelite = Kubelite::read(root);
    let modules: Vec<String> = if !requested.is_empty() {
        requested.to_vec()
    } else if !kubelite.kmod_ready_modules.is_empty() {
        kubelite.kmod_ready_modules.clone()
    } else {
        vec![DEFAULT_MODULE.to_string()]
    };
    let cmdline = root.kernel_cmdline();
    let module_dir = root.module_dir(&facts.release);
    let kernel = Kernel {
        release: facts.release.clone(),
        module_dir: module_dir
            .clone()
            .unwrap_or_else(|| Path::new("/lib/modules").join(&facts.release))
            .display()
            .to_string(),
        module_dir_exists: module_dir.is_some(),
        installed_releases: root.installed_releases(),
        lockdown: root.lockdown(),
        modules_disabled: root.modules_disabled(),
        module_blacklist: cmdline_module_blacklist(&cmdline),
        modprobe_blacklist: cmdline_module_list(&cmdline, "modprobe.blacklist"),
    };
    if facts.container.is_none() {
        if let Err(err) = std::fs::read(root.path("/proc/1/environ")) {
            if err.kind() == std::io::ErrorKind::PermissionDenied {
                let hint = if is_root() { "" } else { ", needs root" };
                skipped.push(format!(
                    "container: /proc/1/environ: permission denied{hint}; read \
                     /run/systemd/container only"
                ));
            }
        }
    }
    let lib = Libkmod::open();
    let libkmod = LibkmodState {
        available: lib.is_ok(),
        error: lib
            .as_ref()
            .err()
            .map(|err| format!("cannot load {LIBRARY}: {err}")),
    };
    let ctx = match (&lib, kernel.module_dir_exists) {
        (Ok(lib), true) => load::context(lib, &facts, DEFAULT_MODULE).ok(),
        _ => None,
    };
    let modules = modules
        .iter()
        .map(|name| module_report(&facts, &kernel, ctx.as_ref(), lib.is_ok(), name))
        .collect();
    let mut report = Report {
        schema: SCHEMA,
        kernel,
        container: facts.container.clone(),
        libkmod,
        modules,
        kubelite,
        skipped,
        verdict: Verdict::default(),
    };
    report.verdict = verdict(&report, &facts);
    report
}

/// Whether this process runs as root (effective UID 0).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let uids = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))?
                .to_string();
            uids.split_whitespace().nth(1).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

/// What libkmod says about a name: the modules it resolves to, the file of
/// the first one and the dependencies of all, and which are blacklisted.
#[derive(Default)]
struct Lookup {
    resolved: Vec<String>,
    file: Option<String>,
    dependencies: Vec<String>,
    blacklisted: Vec<String>,
}

fn lookup(ctx: &crate::libkmod::Context, root: &Root, name: &str) -> Lookup {
    let Ok(list) = ctx.lookup(name) else {
        return Lookup::default();
    };
    let modules = list.modules();
    let mut found = Lookup {
        resolved: modules.iter().map(|m| m.name()).collect(),
        blacklisted: list.blacklisted().unwrap_or_default(),
        ..Lookup::default()
    };
    for module in &modules {
        if found.file.is_none() {
            found.file = module.path().map(|p| system_path(root, &p));
        }
        for dep in module.dependencies() {
            if !found.dependencies.contains(&dep) {
                found.dependencies.push(dep);
            }
        }
    }
    found
}

/// A path libkmod returned under a test root, as the system path.
fn system_path(root: &Root, path: &str) -> String {
    let prefix = root.path("/");
    match Path::new(path).strip_prefix(&prefix) {
        Ok(rest) if !root.is_system_root() => format!("/{}", rest.display()),
        _ => path.to_string(),
    }
}

fn module_report(
    facts: &Facts,
    kernel: &Kernel,
    ctx: Option<&crate::libkmod::Context>,
    have_libkmod: bool,
    name: &str,
) -> ModuleReport {
    let root = &facts.root;
    let found = ctx.map(|ctx| lookup(ctx, root, name)).unwrap_or_default();
    let resolved = if found.resolved.is_empty() {
        vec![normalize_module_name(name)]
    } else {
        found.resolved.clone()
    };
    let mut requirement = Requirement::new(name);
    requirement.resolve_alias(&resolved);
    // The kernel's view: a loaded module has /sys/module/NAME/initstate; a
    // built-in one never does (and may have no directory at all).
    let in_kernel = |m: &String| root.exists(sys_module_dir(m));
    let builtin: Vec<&String> = resolved
        .iter()
        .filter(|m| {
            root.listed_builtin(Path::new(&kernel.module_dir), m)
                || (in_kernel(m) && !root.exists(sys_module_dir(m).join("initstate")))
        })
        .collect();
    for m in &builtin {
        requirement.drop_sys_module_dir(m);
    }
    let missing = requirement.missing(root);
    let paths = requirement
        .paths
        .iter()
        .map(|path| PathState {
            path: path.clone(),
            exists: !missing.contains(path),
            value: path_value(root, path),
        })
        .collect();
    let mut blacklisted_at: Vec<Location> = resolved
        .iter()
        .flat_map(|m| modprobe_d::blacklisted_at(root, m))
        .collect();
    if resolved
        .iter()
        .any(|m| kernel.modprobe_blacklist.contains(m))
    {
        blacklisted_at.push(Location {
            file: CMDLINE.into(),
            line: 1,
        });
    }
    let modules_load_d = resolved
        .iter()
        .flat_map(|m| modprobe_d::modules_load_d_lists(root, m))
        .collect();
    let loaded = resolved.iter().any(in_kernel);
    let state = if missing.is_empty() && builtin.len() == resolved.len() {
        State::Builtin
    } else if missing.is_empty() {
        State::Ready
    } else if loaded || !builtin.is_empty() {
        State::LoadedNotReady
    } else if !kernel.module_dir_exists {
        State::NotFound
    } else if !have_libkmod {
        State::Unknown
    } else if found.resolved.is_empty() {
        State::NotFound
    } else if resolved.iter().any(|m| kernel.module_blacklist.contains(m)) {
        State::DeniedByCmdline
    } else if !blacklisted_at.is_empty() || !found.blacklisted.is_empty() {
        State::Blacklisted
    } else {
        State::Loadable
    };
    ModuleReport {
        name: name.to_string(),
        state,
        resolved,
        paths,
        file: found.file,
        dependencies: found.dependencies,
        blacklisted_at,
        modules_load_d,
    }
}

/// The content of a small file (a sysctl, a module parameter), or a module
/// directory's `initstate`.
fn path_value(root: &Root, path: &Path) -> Option<String> {
    let full = root.path(path);
    let file = if full.is_dir() {
        full.join("initstate")
    } else {
        full
    };
    let text = std::fs::read(file).ok()?;
    let text = String::from_utf8_lossy(&text[..text.len().min(200)]);
    let value = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!value.is_empty()).then_some(value)
}

/// `FILE:LINE, …`; `modprobe.blacklist=` for the kernel command line.
fn location_list(locations: &[Location]) -> String {
    locations
        .iter()
        .map(|l| {
            if l.file == Path::new(CMDLINE) {
                "modprobe.blacklist=".to_string()
            } else {
                format!("{}:{}", l.file.display(), l.line)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The single most likely cause of the first module that is not ready, and
/// the command that fixes it.
fn verdict(report: &Report, facts: &Facts) -> Verdict {
    let mut verdict = Verdict::default();
    let kubelite = &report.kubelite;
    let kernel = &report.kernel;
    if kubelite.unit_exists {
        if let Some(file) = &kubelite.reset_by {
            verdict.warnings.push(format!(
                "{} resets ExecStartPre=, so kmod-ready no longer runs before kubelite",
                file.display()
            ));
        } else if !kubelite.runs_kmod_ready {
            verdict.warnings.push(
                "no ExecStartPre= runs kmod-ready before kubelite: reinstall kmod-ready for its \
                 drop-in"
                    .to_string(),
            );
        }
    }
    if let Some(error) = &report.libkmod.error {
        verdict.warnings.push(format!(
            "{error}: kmod-ready cannot load modules (install libkmod2, or kmod-libs on RHEL)"
        ));
    }
    let Some(module) = report.modules.iter().find(|m| !m.state.is_ready()) else {
        verdict.ready = true;
        return verdict;
    };
    let name = module.name.as_str();
    let release = &kernel.release;
    let (cause, fix, detail): (String, String, Option<String>) = match module.state {
        State::LoadedNotReady => {
            let missing: Vec<String> = module
                .paths
                .iter()
                .filter(|p| !p.exists)
                .map(|p| p.path.display().to_string())
                .collect();
            let coming = module
                .paths
                .iter()
                .any(|p| p.value.as_deref() == Some("coming"));
            let fix = if coming {
                format!("it is still initialising: wait (`kmod-ready --timeout 30s {name}`), or see `dmesg`")
            } else {
                "see `dmesg`".to_string()
            };
            (
                format!("{name} is loaded but {} is missing", missing.join(", ")),
                fix,
                None,
            )
        }
        _ if facts.container.is_some() => {
            let kind = facts.container.as_deref().unwrap_or_default();
            (
                format!("in a container ({kind}), only the host can load {name}"),
                format!("run `modprobe {name}` on the host"),
                facts.in_container(name).map(|f| f.message),
            )
        }
        State::NotFound if !kernel.module_dir_exists => {
            let (installed, fix) = if kernel.installed_releases.is_empty() {
                (
                    "none".to_string(),
                    format!("install the modules for {release}"),
                )
            } else {
                (
                    kernel.installed_releases.join(", "),
                    "reboot into an installed kernel: `systemctl reboot`".to_string(),
                )
            };
            (
                format!(
                    "kernel {release} has no {}, installed: {installed}",
                    kernel.module_dir
                ),
                fix,
                Some(load::not_found(facts, name).message),
            )
        }
        State::NotFound => (
            format!("{name} is not in {}", kernel.module_dir),
            format!("install the modules for {release}, then `depmod -a`"),
            Some(load::not_found(facts, name).message),
        ),
        State::Unknown => (
            format!("{LIBRARY} is missing and {name} is not loaded"),
            "`apt-get install libkmod2` (RHEL: `dnf install kmod-libs`)".to_string(),
            load::open_libkmod(&[name.to_string()])
                .err()
                .map(|f| f.message),
        ),
        State::DeniedByCmdline => {
            let denied = module
                .resolved
                .iter()
                .find(|m| kernel.module_blacklist.contains(m))
                .cloned()
                .unwrap_or_else(|| name.to_string());
            (
                format!("module_blacklist={denied} is on the kernel command line"),
                "remove it from GRUB_CMDLINE_LINUX in /etc/default/grub, `update-grub`, reboot"
                    .to_string(),
                Some(format!("{name}: {}", cmdline_blacklist_advice(&denied))),
            )
        }
        _ if kubelite.unit_exists && kubelite.reset_by.is_some() => (
            format!("{name} is not loaded and an override stops kmod-ready before kubelite"),
            format!(
                "`systemctl edit {}`, add `ExecStartPre=/usr/sbin/kmod-ready {name}`",
                kubelite.unit.trim_end_matches(".service")
            ),
            kubelite.reset_by.as_ref().map(|file| {
                format!(
                    "{} has an empty ExecStartPre=, which removes every earlier ExecStartPre= \
                     (kmod-ready's included): add ExecStartPre=/usr/sbin/kmod-ready {name} after \
                     it, or delete the override",
                    file.display()
                )
            }),
        ),
        _ if kernel.modules_disabled => (
            "module loading is disabled until the next boot (kernel.modules_disabled=1)"
                .to_string(),
            "reboot: `systemctl reboot`".to_string(),
            None,
        ),
        State::Blacklisted => {
            let by_alias = !module.resolved.contains(&normalize_module_name(name));
            let fix = if by_alias {
                format!(
                    "run `kmod-ready {}` (by name), or delete the blacklist line",
                    module.resolved.join(" ")
                )
            } else {
                format!("run `kmod-ready {name}` (it loads it anyway)")
            };
            let at = if module.blacklisted_at.is_empty() {
                "modprobe.d".to_string()
            } else {
                location_list(&module.blacklisted_at)
            };
            (format!("{name} is blacklisted ({at})"), fix, None)
        }
        _ => {
            if !kubelite.runs_kmod_ready && kubelite.unit_exists {
                (
                    format!("{name} is not loaded and nothing loads it before kubelite"),
                    format!("run `kmod-ready {name}`, and reinstall kmod-ready for its drop-in"),
                    None,
                )
            } else {
                (
                    format!("{name} is not loaded"),
                    format!("run `kmod-ready {name}` as root"),
                    None,
                )
            }
        }
    };
    if let (Some(mode), State::Loadable | State::Blacklisted) = (&kernel.lockdown, module.state) {
        verdict
            .warnings
            .push(format!("{name}: {}", lockdown_advice(mode)));
    }
    if cause.contains("before kubelite") {
        // The cause says it: do not repeat it as a warning.
        verdict.warnings.retain(|w| !w.contains("before kubelite"));
    }
    verdict.cause = Some(cause);
    verdict.fix = Some(fix);
    verdict.detail = detail;
    verdict
}

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

    fn field_at(&mut self, column: usize, label: &str, tone: Tone, value: &str) {
        let lines = wrap(value, WIDTH - column.max(label.len() + 1));
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

/// The human report: short, aligned, at most [`WIDTH`] columns; the last
/// line is the verdict.
pub fn render(report: &Report, colour: bool) -> String {
    let mut out = Out {
        text: String::new(),
        colour,
    };
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
        Some(kind) => out.field(
            "container",
            Tone::Warn,
            &format!("{kind}: only the host can load modules (LXD: linux.kernel_modules)"),
        ),
        None => out.field("container", Tone::Plain, "none"),
    }
    match &report.libkmod.error {
        None => out.field("libkmod", Tone::Plain, &format!("{LIBRARY} available")),
        Some(error) => out.field("libkmod", Tone::Bad, error),
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
    for module in &report.modules {
        out.blank();
        render_module(&mut out, module);
    }
    out.blank();
    render_kubelite(&mut out, &report.kubelite);
    out.blank();
    let verdict = &report.verdict;
    if let Some(detail) = &verdict.detail {
        out.field("detail", Tone::Plain, detail);
    }
    for warning in &verdict.warnings {
        out.field("warning", Tone::Warn, warning);
    }
    if verdict.ready {
        let line = format!("verdict: {}", out.paint(Tone::Good, "ready"));
        out.text.push_str(&line);
        out.text.push('\n');
    } else {
        let text = format!(
            "not ready — {}: {}",
            verdict.cause.as_deref().unwrap_or_default(),
            verdict.fix.as_deref().unwrap_or_default()
        );
        // "verdict: " starts the last paragraph; long ones wrap under it.
        out.field_at(9, "verdict:", Tone::Bad, &text);
    }
    out.text
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
            Some(value) if path.exists => format!("{} = {value}", path.path.display()),
            Some(value) => format!("{} ({value})", path.path.display()),
            None => path.path.display().to_string(),
        };
        if path.exists {
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
        out.field("  drop-in", Tone::Plain, crate::kubelite::DROP_IN);
    } else {
        out.field("  no drop-in", Tone::Warn, crate::kubelite::DROP_IN);
    }
    for other in kubelite
        .drop_ins
        .iter()
        .filter(|p| *p != Path::new(crate::kubelite::DROP_IN))
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
    let message = line.find(crate::kubelite::PROXY_ERROR).map_or(line, |at| {
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
