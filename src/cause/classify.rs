//! Why a module is not ready: every decision, for loading and for `check`
//! alike. Loading asks when libkmod finds nothing or the kernel refuses an
//! insertion; `check` asks for each module's state and, for the first one
//! that is not ready, its cause. The words are in wording.rs.

use std::path::Path;

use nix::errno::Errno;

use crate::check::kube_proxy::{Contract, Missing, ModuleState};
use crate::check::next_boot::{NextBoot, NextState};
use crate::check::report::{Kernel, ModuleReport, PathState, Report, State};
use crate::kubelite::Rejected;
use crate::microk8s::{MicroK8s, ModeProblem, ProxyMode};
use crate::readiness::{is_present, kconfig_option, sys_module_dir, Requirement};
use crate::system::{cmdline_module_blacklist, has_cap_sys_module, normalize_module_name, Facts};

use super::{Cause, Failure};

/// `name` resolves to nothing: say whether the kernel cannot load modules
/// at all (built without module support), has no modules at all (upgraded
/// without a reboot?) or just not this one.
pub fn absent(facts: &Facts, name: &str) -> Cause {
    let release = facts.release.clone();
    if let Some(container) = in_container(facts) {
        return container;
    }
    if !facts.root.exists("/proc/modules") {
        return Cause::KernelWithoutModules {
            release,
            option: kconfig_option(name).map(str::to_string),
        };
    }
    match facts.root.module_dir(&release) {
        None => Cause::ModuleDirMissing {
            installed: facts.root.installed_releases(),
            release,
        },
        Some(dir) => Cause::NotFound {
            module_dir: dir.display().to_string(),
            release,
        },
    }
}

/// The kernel (or an `install` command) refused the module `failed` with
/// `errno`.
pub fn refused(facts: &Facts, failed: &str, errno: Errno) -> Cause {
    let release = facts.release.clone();
    let failed = failed.to_string();
    match errno {
        Errno::EPERM | Errno::EACCES => not_permitted(facts, failed),
        Errno::EKEYREJECTED | Errno::ENOKEY | Errno::EKEYEXPIRED | Errno::EBADMSG => {
            Cause::SignatureRejected
        }
        Errno::ENOSYS => Cause::NoModuleSupport { release },
        Errno::ENOEXEC => Cause::BadFormat { release },
        Errno::ENOENT => Cause::UnknownSymbol { failed },
        Errno::EINVAL => Cause::InstallLineFailed { failed },
        _ => Cause::InsertFailed,
    }
}

/// EPERM: the first of the reasons the kernel refuses a module that holds.
fn not_permitted(facts: &Facts, failed: String) -> Cause {
    if cmdline_module_blacklist(&facts.kernel_cmdline()).contains(&failed) {
        return Cause::DeniedOnCommandLine { denied: failed };
    }
    if let Some(container) = in_container(facts) {
        return container;
    }
    if has_cap_sys_module() == Some(false) {
        Cause::NoCapSysModule
    } else if facts.modules_disabled() {
        Cause::ModulesDisabled
    } else if let Some(mode) = facts.lockdown() {
        Cause::Lockdown { mode }
    } else {
        Cause::KernelRefused
    }
}

/// In a container, the cause of any failure to load.
fn in_container(facts: &Facts) -> Option<Cause> {
    let kind = facts.container()?.to_string();
    Some(Cause::Container { kind })
}

/// What `check` found of one module in the kernel and in its tree, besides
/// its report.
#[derive(Clone, Copy)]
pub struct Found {
    /// One of the modules it resolves to is loaded.
    pub loaded: bool,
    /// How many of the modules it resolves to are built in.
    pub builtin: usize,
    /// libkmod resolved the name to at least one module.
    pub in_tree: bool,
    /// libkmod says a module it resolves to is blacklisted.
    pub blacklisted: bool,
    /// The install line libkmod would run for it loads nothing.
    pub disabled_by_install: bool,
    /// libkmod could look it up at all.
    pub have_libkmod: bool,
}

/// The state `check` reports for a module, most settled first.
pub fn module_state(module: &ModuleReport, kernel: &Kernel, found: Found) -> State {
    let paths_present = module.paths.iter().all(|p| p.present);
    if paths_present && found.builtin == module.resolved.len() {
        State::Builtin
    } else if paths_present {
        State::Ready
    } else if found.loaded || found.builtin > 0 {
        State::LoadedNotReady
    } else if !kernel.module_dir_exists {
        State::NotFound
    } else if !found.have_libkmod {
        State::Unknown
    } else if !found.in_tree {
        State::NotFound
    } else if denied_on_cmdline(module, kernel).is_some() {
        State::DeniedByCmdline
    } else if !module.blacklisted_at.is_empty() || found.blacklisted {
        State::Blacklisted
    } else if found.disabled_by_install {
        State::DisabledByInstall
    } else {
        State::Loadable
    }
}

/// The cause `check` gives for `module` not being ready, most specific
/// first.
pub fn not_ready(report: &Report, facts: &Facts, module: &ModuleReport) -> Cause {
    let kubelite = &report.kubelite;
    let kernel = &report.kernel;
    if module.state == State::LoadedNotReady {
        return loaded_not_ready(&module.paths, facts);
    }
    if let Some(container) = in_container(facts) {
        return container;
    }
    match module.state {
        State::NotFound => absent(facts, &module.name),
        State::Unknown => match (&report.blocking_config, &report.blocking_index) {
            (Some(file), _) => Cause::ConfigNotRegular { file: file.clone() },
            (None, Some(file)) => Cause::IndexNotRegular {
                file: file.clone(),
                release: facts.release.clone(),
            },
            (None, None) => Cause::LibkmodMissing {
                error: report.libkmod.reason.clone().unwrap_or_default(),
            },
        },
        State::DeniedByCmdline => Cause::DeniedOnCommandLine {
            denied: denied_on_cmdline(module, kernel).unwrap_or_else(|| module.name.clone()),
        },
        _ if kubelite.unit_exists && !kubelite.runs_kmod_ready && kubelite.masked_by.is_some() => {
            Cause::DropInMasked {
                file: kubelite.masked_by.clone().unwrap_or_default(),
            }
        }
        _ if kubelite.unit_exists && kubelite.reset_by.is_some() => Cause::KubeliteOverrideReset {
            file: kubelite.reset_by.clone().unwrap_or_default(),
            unit: kubelite.unit.to_string(),
        },
        _ if kernel.modules_disabled => Cause::ModulesDisabled,
        State::Blacklisted => blacklisted(module),
        State::DisabledByInstall => match module.install_lines.first() {
            Some(line) => Cause::DisabledByInstallLine {
                at: line.at(),
                command: line.command.clone(),
            },
            None => Cause::NotLoaded {
                nothing_loads_it: false,
            },
        },
        _ => Cause::NotLoaded {
            nothing_loads_it: kubelite.unit_exists
                && !kubelite.runs_kmod_ready
                && !kubelite.unit_files_unread,
        },
    }
}

/// The first `ExecStartPre=` of kubelite that would fail and whose failure
/// systemd does not ignore, in the order systemd runs them: kubelite would
/// not start, whatever the modules do. A command fails when systemd cannot
/// execute it, when kmod-ready would refuse its arguments (exit 64), or
/// when it waits for a path nothing it loads creates (exit 75).
pub fn failing_command(facts: &Facts, report: &Report) -> Option<Failure> {
    let kubelite = &report.kubelite;
    if !kubelite.unit_exists {
        return None;
    }
    let names: Vec<String> = report.modules.iter().map(|m| m.name.clone()).collect();
    let cause = kubelite.exec_start_pre.iter().find_map(|command| {
        let of_command = |r: &&Rejected| r.command == *command && !r.ignored;
        if let Some(unrunnable) = kubelite.unrunnable.iter().find(of_command) {
            return Some(Cause::KubeliteCommandUnrunnable {
                command: command.clone(),
                reason: unrunnable.reason.clone(),
            });
        }
        if let Some(rejected) = kubelite.rejected.iter().find(of_command) {
            return Some(Cause::KubeliteCommandRejected {
                command: command.clone(),
                reason: rejected.reason.clone(),
            });
        }
        kubelite
            .waits_for
            .iter()
            .filter(|w| w.command == *command && !w.ignored)
            .find(|w| !is_present(&facts.root, &w.path) && !made_by(&w.path, &w.modules))
            .map(|w| Cause::WaitForNeverAppears {
                command: command.clone(),
                path: w.path.display().to_string(),
            })
    })?;
    Some(Failure::of_all(&names, cause))
}

/// Whether loading `modules` creates `path`: one of their readiness paths,
/// or under one's /sys/module directory.
fn made_by(path: &Path, modules: &[String]) -> bool {
    modules.iter().any(|module| {
        let resolved = normalize_module_name(module);
        path.starts_with(sys_module_dir(&resolved))
            || Requirement::new(module).paths.iter().any(|p| p == path)
    })
}

/// The module `module_blacklist=` denies, of those `module` resolves to.
fn denied_on_cmdline(module: &ModuleReport, kernel: &Kernel) -> Option<String> {
    module
        .resolved
        .iter()
        .find(|m| kernel.module_blacklist.contains(m))
        .cloned()
}

fn loaded_not_ready(paths: &[PathState], facts: &Facts) -> Cause {
    let missing: Vec<String> = paths
        .iter()
        .filter(|p| !p.present)
        .map(|p| p.path.display().to_string())
        .collect();
    Cause::LoadedNotReady {
        missing: missing.join(", "),
        // What the wait past --timeout looks at (patience.rs).
        initialising: crate::readiness::initialising(&facts.root),
    }
}

fn blacklisted(module: &ModuleReport) -> Cause {
    let by_alias = !module
        .resolved
        .contains(&normalize_module_name(&module.name));
    let at = if module.blacklisted_at.is_empty() {
        "modprobe.d".to_string()
    } else {
        crate::check::report::location_list(&module.blacklisted_at)
    };
    Cause::Blacklisted {
        at,
        resolved: by_alias.then(|| module.resolved.join(" ")),
    }
}

/// Why the modules will not be ready after the next reboot, if they will
/// not: the kernel that boots, each module in its tree and on its command
/// line, who loads it, and whether kubelite starts at all.
pub fn next_boot_cause(next: &NextBoot, report: &Report) -> Option<Failure> {
    let names: Vec<String> = report.modules.iter().map(|m| m.name.clone()).collect();
    let Some(release) = next.kernel.release.clone() else {
        let why = next.kernel.guess.clone().unwrap_or_default();
        return Some(Failure::of_all(&names, Cause::NextKernelUnknown { why }));
    };
    for module in &next.modules {
        let cause = match module.state {
            NextState::NoModuleDir => Cause::NextKernelWithoutModules {
                release: release.clone(),
            },
            NextState::NotFound => Cause::NotFound {
                module_dir: next.module_dir.clone().unwrap_or_default(),
                release: release.clone(),
            },
            NextState::DependencyMissing => {
                let missing = module.missing_dependency.as_ref();
                Cause::NextDependencyMissing {
                    file: missing.map(|d| d.file.clone()).unwrap_or_default(),
                    release: release.clone(),
                }
            }
            NextState::Unknown => Cause::LibkmodMissing {
                error: report.libkmod.reason.clone().unwrap_or_default(),
            },
            NextState::DeniedByCmdline => Cause::DeniedOnCommandLine {
                denied: normalize_module_name(&module.name),
            },
            NextState::DisabledByInstall => {
                let line = report
                    .modules
                    .iter()
                    .find(|m| m.name == module.name)
                    .and_then(|m| m.install_lines.first());
                Cause::DisabledByInstallLine {
                    at: line.map(|l| l.at()).unwrap_or_default(),
                    command: line.map(|l| l.command.clone()).unwrap_or_default(),
                }
            }
            NextState::Loadable if module.loaded_by.is_empty() => nothing_loads_at_boot(report),
            NextState::Loadable | NextState::Builtin => continue,
        };
        return Some(Failure::new(&module.name, cause));
    }
    if let (Some(contract), Some(now)) = (&next.kube_proxy, &report.kube_proxy) {
        if let Some(failure) = contract_cause(&now.microk8s, contract, &release) {
            return Some(failure);
        }
    }
    (next.kubelite_enabled == Some(false)).then(|| Failure::of_all(&names, Cause::KubeliteDisabled))
}

/// Why nothing will load a module at the next boot: our drop-in there but
/// masked or reset by an override (whose removal is the fix), else nothing
/// of ours at all. A mask counts even while systemd still runs our command:
/// it was made after the last daemon-reload, and the boot reloads.
fn nothing_loads_at_boot(report: &Report) -> Cause {
    let kubelite = &report.kubelite;
    if !kubelite.unit_exists {
        return Cause::NothingLoadsAtBoot;
    }
    match (&kubelite.masked_by, &kubelite.reset_by) {
        (Some(file), _) => Cause::DropInMasked { file: file.clone() },
        (_, Some(file)) => Cause::KubeliteOverrideReset {
            file: file.clone(),
            unit: kubelite.unit.to_string(),
        },
        _ => Cause::NothingLoadsAtBoot,
    }
}

/// Why kube-proxy, in the mode MicroK8s runs it, would not start for want
/// of a module or program beyond nf_conntrack (the report's own modules).
pub fn kube_proxy_cause(report: &Report, facts: &Facts) -> Option<Failure> {
    let kube_proxy = report.kube_proxy.as_ref()?;
    contract_cause(&kube_proxy.microk8s, &kube_proxy.contract, &facts.release)
}

/// Why kube-proxy would not start on kernel `release` with `contract`.
fn contract_cause(microk8s: &MicroK8s, contract: &Contract, release: &str) -> Option<Failure> {
    let problem = match &microk8s.mode_problem {
        Some(ModeProblem::Refused(refusal)) => Some(Cause::KubeProxyModeRefused {
            refusal: refusal.clone(),
            from: microk8s.mode_from.clone(),
        }),
        Some(ModeProblem::Unreadable(why)) => {
            Some(Cause::KubeProxyModeUnknown { why: why.clone() })
        }
        None => None,
    };
    if let Some(cause) = problem {
        return Some(Failure::new("kube-proxy", cause));
    }
    let (name, missing) = contract.missing_at_start(microk8s.mode)?;
    let mode = microk8s
        .mode
        .map(ProxyMode::as_str)
        .unwrap_or_default()
        .to_string();
    let cause = match missing {
        Missing::Iptables => Cause::KubeProxyNoIptables {
            nftables_blocked: contract.nftables_would_work(microk8s).err(),
            feature_gate: microk8s.minor().is_some_and(|minor| minor < 31),
        },
        Missing::NotLoaded(state) => Cause::KubeProxyModuleNotLoaded {
            mode,
            loadable: state == ModuleState::Loadable,
        },
        Missing::NotInKernel => Cause::KubeProxyModuleMissing { mode },
        Missing::Program => Cause::KubeProxyProgramMissing { mode },
        Missing::ProgramUnusable => Cause::NftTooOld {
            why: contract
                .programs
                .iter()
                .find(|p| p.name == name)
                .and_then(|p| p.unusable())
                .unwrap_or_default(),
        },
        Missing::OldKernel => Cause::NftablesKernelTooOld {
            release: release.to_string(),
        },
    };
    Some(Failure::new(&name, cause))
}
