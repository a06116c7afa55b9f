//! What `check` found, as it is printed (human) and serialised (JSON).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::check::boot::NextKernel;
use crate::check::kubelite::Kubelite;

use super::kube_proxy::{Contract, KubeProxy};
use crate::modprobe_d::{InstallLine, Location};

pub const SCHEMA: u32 = 1;
/// The file `modprobe.blacklist=` entries are reported in (line 1).
pub const CMDLINE: &str = "/proc/cmdline";

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: u32,
    pub kernel: Kernel,
    pub container: Option<String>,
    pub libkmod: LibkmodState,
    pub modules: Vec<ModuleReport>,
    pub kubelite: Kubelite,
    /// How MicroK8s runs kube-proxy and what its mode needs (present only
    /// when the snap is installed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_proxy: Option<KubeProxy>,
    pub skipped: Vec<String>,
    /// With `--next-boot`: the verdict for the next boot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_boot: Option<NextBoot>,
    /// A modprobe.d file libkmod would block on, when there is one.
    #[serde(skip)]
    pub blocking_config: Option<String>,
    /// A file of the module index libkmod would block on, when there is one.
    #[serde(skip)]
    pub blocking_index: Option<String>,
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
    /// The loader's own reason, for the cause.
    #[serde(skip)]
    pub reason: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Ready,
    Builtin,
    LoadedNotReady,
    Loadable,
    Blacklisted,
    DisabledByInstall,
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
            State::DisabledByInstall => "disabled by an install line, not loaded",
            State::DeniedByCmdline => "denied by module_blacklist=, not loaded",
            State::NotFound => "not found",
            State::Unknown => "not loaded (module tree not read: see libkmod)",
        }
    }

    pub fn is_ready(self) -> bool {
        matches!(self, State::Ready | State::Builtin)
    }
}

#[derive(Debug, Serialize)]
pub struct PathState {
    pub path: PathBuf,
    /// Whether the path exists (a module directory may exist while its
    /// module is still `coming`: see `value`).
    pub exists: bool,
    /// Whether it counts as ready: it exists and, for a module directory,
    /// its module is live.
    #[serde(skip)]
    pub present: bool,
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
    /// modprobe.d `install` lines of its modules, which libkmod runs instead
    /// of inserting them (present only when there are some).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub install_lines: Vec<InstallLine>,
}

#[derive(Debug, Default, Serialize)]
pub struct Verdict {
    pub ready: bool,
    /// Whether the node is ready now, whatever the next boot holds.
    #[serde(skip)]
    pub ready_now: bool,
    /// With `--next-boot`, when it is not ready: "now", "next boot", or
    /// "now and next boot".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_ready: Option<&'static str>,
    pub cause: Option<String>,
    pub fix: Option<String>,
    /// The cause in a few words, module first (`check --npd`); of now's
    /// cause, also with `--next-boot`.
    #[serde(skip)]
    pub short: Option<String>,
    pub detail: Option<String>,
    pub warnings: Vec<String>,
}

/// `FILE:LINE, …`; `modprobe.blacklist=` for the kernel command line.
pub fn location_list(locations: &[Location]) -> String {
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

#[derive(Debug, Serialize)]
pub(crate) struct NextBoot {
    pub kernel: NextKernel,
    /// The next kernel's module directory, when it has one.
    pub module_dir: Option<String>,
    /// The command line judged: the boot loader's, or the running one when
    /// the boot loader does not say.
    pub cmdline: String,
    pub modules: Vec<NextModule>,
    /// What kube-proxy's mode needs of the next kernel (present only when
    /// MicroK8s is installed and the next kernel is known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_proxy: Option<Contract>,
    /// Whether kubelite starts at boot (its `[Install]` symlink); null
    /// without the unit.
    pub kubelite_enabled: Option<bool>,
    pub ready: bool,
    pub cause: Option<String>,
    pub fix: Option<String>,
    /// The cause in a few words, module first (`check --npd --next-boot`).
    #[serde(skip)]
    pub short: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct NextModule {
    pub name: String,
    pub state: NextState,
    /// With `dependency-missing`: the dependency modules.dep names whose
    /// file is not there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_dependency: Option<MissingDependency>,
    /// What loads it before kubelite at that boot.
    pub loaded_by: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct MissingDependency {
    pub name: String,
    pub file: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum NextState {
    Builtin,
    Loadable,
    NotFound,
    /// In the tree, but a dependency's file is missing.
    DependencyMissing,
    NoModuleDir,
    DeniedByCmdline,
    DisabledByInstall,
    /// libkmod is missing: the tree cannot be read.
    Unknown,
}

impl NextModule {
    /// Ready at that boot: built in, or loadable and loaded before kubelite.
    pub fn is_ready(&self) -> bool {
        self.state == NextState::Builtin
            || (self.state == NextState::Loadable && !self.loaded_by.is_empty())
    }
}

impl NextState {
    pub fn as_str(self) -> &'static str {
        match self {
            NextState::Builtin => "built in",
            NextState::Loadable => "loadable",
            NextState::NotFound => "not found",
            NextState::DependencyMissing => "a dependency's file is missing",
            NextState::NoModuleDir => "no module directory",
            NextState::DeniedByCmdline => "denied by module_blacklist=",
            NextState::DisabledByInstall => "disabled by an install line",
            NextState::Unknown => "unknown (libkmod missing)",
        }
    }
}
