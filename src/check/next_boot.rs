//! `check --next-boot`: whether the modules will be ready after the next
//! reboot, for the kernel and command line the boot loader will use
//! (crate::boot), and who will load them before kubelite starts then.

use std::path::Path;

use serde::Serialize;

use crate::boot::{next_kernel, NextKernel};
use crate::cause::classify::next_boot_cause;
use crate::kubelite::UNIT;
use crate::libkmod::{Context, Libkmod};
use crate::microk8s::{wrapper_loads_module, wrapper_text, WRAPPER};
use crate::system::{cmdline_module_blacklist, normalize_module_name, Facts};

use super::report::{ModuleReport, Report, State};

#[derive(Debug, Serialize)]
pub(crate) struct NextBoot {
    pub kernel: NextKernel,
    /// The next kernel's module directory, when it has one.
    pub module_dir: Option<String>,
    /// The command line judged: the boot loader's, or the running one when
    /// the boot loader does not say.
    pub cmdline: String,
    pub modules: Vec<NextModule>,
    /// Whether kubelite starts at boot (its `[Install]` symlink); null
    /// without the unit.
    pub kubelite_enabled: Option<bool>,
    pub ready: bool,
    pub cause: Option<String>,
    pub fix: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct NextModule {
    pub name: String,
    pub state: NextState,
    /// What loads it before kubelite at that boot.
    pub loaded_by: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum NextState {
    Builtin,
    Loadable,
    NotFound,
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
            NextState::NoModuleDir => "no module directory",
            NextState::DeniedByCmdline => "denied by module_blacklist=",
            NextState::DisabledByInstall => "disabled by an install line",
            NextState::Unknown => "unknown (libkmod missing)",
        }
    }
}

pub(crate) fn next_boot(facts: &Facts, report: &Report) -> NextBoot {
    let kernel = next_kernel(facts);
    let release = kernel.release.clone().unwrap_or_default();
    let module_dir = (!release.is_empty())
        .then(|| facts.root.module_dir(&release))
        .flatten();
    let cmdline = kernel.cmdline.clone().unwrap_or_else(|| {
        String::from_utf8_lossy(&facts.kernel_cmdline())
            .trim()
            .to_string()
    });
    let denied = cmdline_module_blacklist(cmdline.as_bytes());
    let lib = Libkmod::open().ok();
    let ctx = match (&lib, &module_dir) {
        (Some(lib), Some(_)) => facts.libkmod_context_for(lib, &release),
        _ => None,
    };
    // MicroK8s' wrapper is read once: it serves every module.
    let wrapper = wrapper_text(facts);
    let modules: Vec<NextModule> = report
        .modules
        .iter()
        .map(|module| {
            let state = match (&module_dir, &ctx) {
                // The running kernel boots again, with what it has built in.
                _ if release == facts.release && module.state == State::Builtin => {
                    NextState::Builtin
                }
                (None, _) => NextState::NoModuleDir,
                (Some(_), None) => NextState::Unknown,
                (Some(dir), Some(ctx)) => state(facts, ctx, dir, module, &denied),
            };
            NextModule {
                name: module.name.clone(),
                loaded_by: loaders(report, module, &wrapper),
                state,
            }
        })
        .collect();
    let kubelite_enabled = report.kubelite.unit_exists.then(|| kubelite_enabled(facts));
    let mut next = NextBoot {
        module_dir: module_dir.map(|d| d.display().to_string()),
        kernel,
        cmdline,
        modules,
        kubelite_enabled,
        ready: false,
        cause: None,
        fix: None,
    };
    let failure = next_boot_cause(&next, report);
    next.ready = failure.is_none();
    if let Some(failure) = failure {
        next.cause = Some(failure.summary());
        next.fix = Some(failure.fix());
    }
    next
}

/// The module in the next kernel's tree, as libkmod reads that tree.
fn state(
    facts: &Facts,
    ctx: &Context,
    dir: &Path,
    module: &ModuleReport,
    denied: &[String],
) -> NextState {
    let resolved: Vec<(String, Option<String>)> = match ctx.lookup(&module.name) {
        Ok(list) => list
            .modules()
            .iter()
            .map(|m| (m.name(), m.path()))
            .collect(),
        Err(_) => Vec::new(),
    };
    let builtin = |name: &str| facts.listed_builtin(dir, name);
    if resolved.is_empty() {
        return if builtin(&normalize_module_name(&module.name)) {
            NextState::Builtin
        } else {
            NextState::NotFound
        };
    }
    if resolved
        .iter()
        .all(|(name, path)| path.is_none() || builtin(name))
    {
        return NextState::Builtin;
    }
    let files_there = resolved.iter().all(|(name, path)| {
        builtin(name) || path.as_deref().is_some_and(|p| Path::new(p).exists())
    });
    if !files_there {
        NextState::NotFound
    } else if resolved.iter().any(|(name, _)| denied.contains(name)) {
        NextState::DeniedByCmdline
    } else if module
        .install_lines
        .first()
        .is_some_and(|l| l.loads_nothing())
    {
        NextState::DisabledByInstall
    } else {
        NextState::Loadable
    }
}

/// Who loads `module` before kubelite at boot: our drop-in (in effect and
/// naming it), modules-load.d, or MicroK8s' own wrapper.
fn loaders(report: &Report, module: &ModuleReport, wrapper: &str) -> Vec<String> {
    let kubelite = &report.kubelite;
    let mut loaders = Vec::new();
    if kubelite.drop_in_runs() && kubelite.kmod_ready_modules.contains(&module.name) {
        loaders.push("kmod-ready (ExecStartPre= of kubelite)".to_string());
    }
    if let Some(at) = module.modules_load_d.first() {
        loaders.push(format!(
            "modules-load.d ({}:{})",
            at.file.display(),
            at.line
        ));
    }
    if wrapper_loads_module(wrapper, &normalize_module_name(&module.name)) {
        loaders.push(format!("MicroK8s' wrapper ({WRAPPER})"));
    }
    loaders
}

/// Whether kubelite's unit is enabled: an `[Install]` symlink to it in a
/// `.wants` directory of /etc/systemd/system (snapd enables it in
/// multi-user.target.wants).
fn kubelite_enabled(facts: &Facts) -> bool {
    let etc = facts.root.path("/etc/systemd/system");
    std::fs::read_dir(etc)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".wants"))
        .any(|wants| wants.path().join(UNIT).symlink_metadata().is_ok())
}
