//! Why the modules will not be ready after the next reboot.

use crate::cause::{Cause, Failure, Finding};
use crate::system::normalize_module_name;

use super::super::report::{NextBoot, NextState, Report};
use super::kube_proxy::contract_cause;

/// Sets the next boot's verdict, with its cause and fix when not ready.
pub(super) fn judge(next: &mut NextBoot, report: &Report) {
    let failure = next_boot_cause(next, report);
    next.ready = failure.is_none();
    if let Some(failure) = failure {
        next.cause = Some(failure.summary());
        next.fix = Some(failure.fix());
        next.short = Some(failure.short());
    }
}

/// Why the modules will not be ready after the next reboot, if they will
/// not: the kernel that boots, each module in its tree and on its command
/// line, who loads it, and whether kubelite starts at all.
fn next_boot_cause(next: &NextBoot, report: &Report) -> Option<Failure> {
    let names: Vec<String> = report.modules.iter().map(|m| m.name.clone()).collect();
    let Some(release) = next.kernel.release.clone() else {
        let why = next.kernel.guess.clone().unwrap_or_default();
        return Some(Failure::of_all(
            &names,
            Finding::NextKernelUnknown { why }.into(),
        ));
    };
    for module in &next.modules {
        let cause = match module.state {
            NextState::NoModuleDir => Finding::NextKernelWithoutModules {
                release: release.clone(),
            }
            .into(),
            NextState::NotFound => Cause::NotFound {
                module_dir: next.module_dir.clone().unwrap_or_default(),
                release: release.clone(),
            },
            NextState::DependencyMissing => {
                let missing = module.missing_dependency.as_ref();
                Finding::NextDependencyMissing {
                    file: missing.map(|d| d.file.clone()).unwrap_or_default(),
                    release: release.clone(),
                }
                .into()
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
                Finding::DisabledByInstallLine {
                    at: line.map(|l| l.at()).unwrap_or_default(),
                    command: line.map(|l| l.command.clone()).unwrap_or_default(),
                }
                .into()
            }
            NextState::Loadable if module.loaded_by.is_empty() => {
                nothing_loads_at_boot(report).into()
            }
            NextState::Loadable | NextState::Builtin => continue,
        };
        return Some(Failure::new(&module.name, cause));
    }
    if let (Some(contract), Some(now)) = (&next.kube_proxy, &report.kube_proxy) {
        if let Some(failure) = contract_cause(&now.microk8s, contract, &release) {
            return Some(failure);
        }
    }
    (next.kubelite_enabled == Some(false))
        .then(|| Failure::of_all(&names, Finding::KubeliteDisabled.into()))
}

/// Why nothing will load a module at the next boot: our drop-in there but
/// masked or reset by an override (whose removal is the fix), else nothing
/// of ours at all. A mask counts even while systemd still runs our command:
/// it was made after the last daemon-reload, and the boot reloads.
fn nothing_loads_at_boot(report: &Report) -> Finding {
    let kubelite = &report.kubelite;
    if !kubelite.unit_exists {
        return Finding::NothingLoadsAtBoot;
    }
    match (&kubelite.masked_by, &kubelite.reset_by) {
        (Some(file), _) => Finding::DropInMasked { file: file.clone() },
        (_, Some(file)) => Finding::KubeliteOverrideReset {
            file: file.clone(),
            unit: kubelite.unit.to_string(),
        },
        _ => Finding::NothingLoadsAtBoot,
    }
}
