//! `check --next-boot`: whether the modules will be ready after the next
//! reboot, for the kernel and command line the boot loader will use
//! (crate::check::boot), and who will load them before kubelite starts then.

use std::path::Path;

use crate::check::boot::next_kernel;
use crate::check::kubelite::UNIT;
use crate::libkmod::{Context, Libkmod};
use crate::microk8s::{wrapper_loads_module, wrapper_text, WRAPPER};
use crate::modprobe_d::{self, Location};
use crate::system::{cmdline_module_blacklist, module_name_of, normalize_module_name, Facts};

use super::collect::system_path;
use super::kube_proxy::{contract, Tree};
use super::report::{
    MissingDependency, ModuleReport, NextBoot, NextModule, NextState, Report, State,
};

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
    // What is wrong with the next tree is this report's to say, not
    // libkmod's messages on stderr.
    if let Some(ctx) = &ctx {
        ctx.silence();
    }
    let modules_dep = module_dir
        .as_ref()
        .and_then(|dir| facts.read_bytes(dir.join("modules.dep"), crate::input::INDEX))
        .map(|text| String::from_utf8_lossy(&text).into_owned())
        .unwrap_or_default();
    // MicroK8s' wrapper is read once: it serves every module.
    let wrapper = wrapper_text(facts);
    let modules: Vec<NextModule> = report
        .modules
        .iter()
        .map(|module| {
            let (state, missing_dependency) = match (&module_dir, &ctx) {
                // The running kernel boots again, with what it has built in.
                _ if release == facts.release && module.state == State::Builtin => {
                    (NextState::Builtin, None)
                }
                (None, _) => (NextState::NoModuleDir, None),
                (Some(_), None) => (NextState::Unknown, None),
                (Some(dir), Some(ctx)) => state(facts, ctx, dir, &modules_dep, module, &denied),
            };
            NextModule {
                name: module.name.clone(),
                loaded_by: loaders(report, &module.name, &module.modules_load_d, &wrapper),
                state,
                missing_dependency,
            }
        })
        .collect();
    let kube_proxy = match (&report.kube_proxy, &kernel.release) {
        (Some(now), Some(release)) => {
            let dir = module_dir
                .clone()
                .unwrap_or_else(|| Path::new("/lib/modules").join(release));
            let tree = Tree {
                ctx: ctx.as_ref(),
                module_dir: &dir,
                release,
                running: false,
            };
            Some(contract(facts, now.microk8s.mode, &tree, |name| {
                let listed = modprobe_d::modules_load_d_lists(facts, name);
                loaders(report, name, &listed, &wrapper)
            }))
        }
        _ => None,
    };
    let kubelite_enabled = report.kubelite.unit_exists.then(|| kubelite_enabled(facts));
    NextBoot {
        kube_proxy,
        module_dir: module_dir.map(|d| d.display().to_string()),
        kernel,
        cmdline,
        modules,
        kubelite_enabled,
        ready: false,
        cause: None,
        fix: None,
        short: None,
    }
}

/// The module in the next kernel's tree, as libkmod reads that tree, and
/// the first dependency whose file is missing, if one is.
fn state(
    facts: &Facts,
    ctx: &Context,
    dir: &Path,
    modules_dep: &str,
    module: &ModuleReport,
    denied: &[String],
) -> (NextState, Option<MissingDependency>) {
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
        let state = if builtin(&normalize_module_name(&module.name)) {
            NextState::Builtin
        } else {
            NextState::NotFound
        };
        return (state, None);
    }
    if resolved
        .iter()
        .all(|(name, path)| path.is_none() || builtin(name))
    {
        return (NextState::Builtin, None);
    }
    let files_there = resolved.iter().all(|(name, path)| {
        builtin(name) || path.as_deref().is_some_and(|p| Path::new(p).exists())
    });
    if !files_there {
        return (NextState::NotFound, None);
    }
    let missing = resolved
        .iter()
        .filter(|(name, _)| !builtin(name))
        .filter_map(|(_, path)| path.as_deref())
        .find_map(|path| missing_dependency(facts, dir, modules_dep, path));
    if missing.is_some() {
        return (NextState::DependencyMissing, missing);
    }
    let state = if resolved.iter().any(|(name, _)| denied.contains(name)) {
        NextState::DeniedByCmdline
    } else if module
        .install_lines
        .first()
        .is_some_and(|l| l.loads_nothing())
    {
        NextState::DisabledByInstall
    } else {
        NextState::Loadable
    };
    (state, None)
}

/// The first dependency of the module at `path` (as libkmod gives it) that
/// the tree's modules.dep names and whose file is not there. libkmod itself
/// drops such a dependency from the list it returns, so the line is read
/// from the text index, which depmod writes beside the binary one.
fn missing_dependency(
    facts: &Facts,
    dir: &Path,
    modules_dep: &str,
    path: &str,
) -> Option<MissingDependency> {
    let system = system_path(&facts.root, path);
    let relative = Path::new(&system).strip_prefix(dir).ok()?.to_str()?;
    let line = modules_dep
        .lines()
        .find_map(|line| line.strip_prefix(relative)?.strip_prefix(':'))?;
    line.split_whitespace().find_map(|dependency| {
        let file = dir.join(dependency);
        (!facts.root.exists(&file)).then(|| MissingDependency {
            name: module_name_of(dependency),
            file: file.display().to_string(),
        })
    })
}

/// Who loads module `name` before kubelite at boot: our drop-in (in effect
/// and naming it), modules-load.d (where it lists it), or MicroK8s' own
/// wrapper.
fn loaders(report: &Report, name: &str, modules_load_d: &[Location], wrapper: &str) -> Vec<String> {
    let kubelite = &report.kubelite;
    let mut loaders = Vec::new();
    if kubelite.drop_in_runs() && kubelite.kmod_ready_modules.iter().any(|m| m == name) {
        loaders.push("kmod-ready (ExecStartPre= of kubelite)".to_string());
    }
    if let Some(at) = modules_load_d.first() {
        loaders.push(format!(
            "modules-load.d ({}:{})",
            at.file.display(),
            at.line
        ));
    }
    if wrapper_loads_module(wrapper, &normalize_module_name(name)) {
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
