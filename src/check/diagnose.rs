//! From the facts to the verdict: the single most likely cause of the first
//! module that is not ready, the command that fixes it, and the warnings
//! that are true but do not block.

use crate::cause::{Cause, Failure, INSTALL_LIBKMOD};
use crate::load::{self, Facts};
use crate::system::normalize_module_name;

use super::report::*;

pub fn verdict(report: &Report, facts: &Facts) -> Verdict {
    let first_not_ready = report.modules.iter().find(|m| !m.state.is_ready());
    // A command that would exit 64 stops kubelite whatever the modules do.
    let failure = rejected_command(report).or_else(|| {
        first_not_ready.map(|module| Failure::new(&module.name, cause(report, facts, module)))
    });
    let mut verdict = Verdict {
        ready: failure.is_none(),
        warnings: warnings(report, failure.as_ref()),
        ..Verdict::default()
    };
    if let Some(failure) = failure {
        verdict.cause = Some(failure.summary());
        verdict.fix = Some(failure.fix());
        verdict.detail = failure.detail();
    }
    verdict
}

/// The cause of `module` not being ready, most specific first.
fn cause(report: &Report, facts: &Facts, module: &ModuleReport) -> Cause {
    let kubelite = &report.kubelite;
    let kernel = &report.kernel;
    if module.state == State::LoadedNotReady {
        return loaded_not_ready(module);
    }
    if let Some(container) = facts.in_container() {
        return container;
    }
    match module.state {
        State::NotFound => load::not_found(facts, &module.name).cause,
        State::Unknown if report.blocking_config.is_some() => Cause::ConfigNotRegular {
            file: report.blocking_config.clone().unwrap_or_default(),
        },
        State::Unknown => Cause::LibkmodMissing {
            error: report.libkmod.reason.clone().unwrap_or_default(),
        },
        State::DeniedByCmdline => Cause::DeniedOnCommandLine {
            denied: module
                .resolved
                .iter()
                .find(|m| kernel.module_blacklist.contains(m))
                .cloned()
                .unwrap_or_else(|| module.name.clone()),
        },
        _ if kubelite.unit_exists && kubelite.reset_by.is_some() => Cause::KubeliteOverrideReset {
            file: kubelite.reset_by.clone().unwrap_or_default(),
            unit: kubelite.unit.to_string(),
        },
        _ if kernel.modules_disabled => Cause::ModulesDisabled,
        State::Blacklisted => blacklisted(module),
        _ => Cause::NotLoaded {
            nothing_loads_it: kubelite.unit_exists
                && !kubelite.runs_kmod_ready
                && !kubelite.unit_files_unread,
        },
    }
}

/// The first kmod-ready `ExecStartPre=` that would exit 64 and whose
/// failure systemd does not ignore.
fn rejected_command(report: &Report) -> Option<Failure> {
    let kubelite = &report.kubelite;
    let rejected = kubelite.rejected.iter().find(|r| !r.ignored)?;
    let names: Vec<String> = report.modules.iter().map(|m| m.name.clone()).collect();
    let cause = Cause::KubeliteCommandRejected {
        command: rejected.command.clone(),
        reason: rejected.reason.clone(),
    };
    kubelite.unit_exists.then(|| Failure::of_all(&names, cause))
}

fn loaded_not_ready(module: &ModuleReport) -> Cause {
    let missing: Vec<String> = module
        .paths
        .iter()
        .filter(|p| !p.present)
        .map(|p| p.path.display().to_string())
        .collect();
    let coming = module
        .paths
        .iter()
        .any(|p| p.value.as_deref() == Some("coming"));
    Cause::LoadedNotReady {
        missing: missing.join(", "),
        coming,
    }
}

fn blacklisted(module: &ModuleReport) -> Cause {
    let by_alias = !module
        .resolved
        .contains(&normalize_module_name(&module.name));
    let at = if module.blacklisted_at.is_empty() {
        "modprobe.d".to_string()
    } else {
        location_list(&module.blacklisted_at)
    };
    Cause::Blacklisted {
        at,
        resolved: by_alias.then(|| module.resolved.join(" ")),
    }
}

/// True but not blocking: kubelite no longer runs kmod-ready, libkmod is
/// missing (each unless the cause says so already), lockdown will refuse an
/// unsigned module.
fn warnings(report: &Report, failure: Option<&Failure>) -> Vec<String> {
    let cause_names_kubelite = failure.is_some_and(|f| {
        matches!(
            f.cause,
            Cause::KubeliteOverrideReset { .. }
                | Cause::KubeliteCommandRejected { .. }
                | Cause::NotLoaded {
                    nothing_loads_it: true
                }
        )
    });
    let kubelite = (!cause_names_kubelite)
        .then(|| kubelite_warning(report))
        .flatten();
    let cause_names_libkmod =
        failure.is_some_and(|f| matches!(f.cause, Cause::LibkmodMissing { .. }));
    let libkmod = report
        .libkmod
        .error
        .as_ref()
        .filter(|_| !cause_names_libkmod)
        .map(|error| format!("{error}: kmod-ready cannot load modules ({INSTALL_LIBKMOD})"));
    let lockdown = failure.and_then(|f| lockdown_warning(report, f));
    [kubelite, libkmod, lockdown]
        .into_iter()
        .flatten()
        .collect()
}

fn kubelite_warning(report: &Report) -> Option<String> {
    let kubelite = &report.kubelite;
    if !kubelite.unit_exists {
        None
    } else if let Some(file) = &kubelite.reset_by {
        Some(format!(
            "{} resets ExecStartPre=, so kmod-ready no longer runs before kubelite",
            file.display()
        ))
    } else if let Some(rejected) = kubelite.rejected.first() {
        Some(format!(
            "ExecStartPre= `{}` would exit 64 ({}), and systemd ignores it (`-`)",
            rejected.command, rejected.reason
        ))
    } else if !kubelite.runs_kmod_ready && !kubelite.unit_files_unread {
        Some(
            "no ExecStartPre= runs kmod-ready before kubelite: reinstall kmod-ready for its \
             drop-in"
                .to_string(),
        )
    } else {
        None
    }
}

/// Under lockdown, a module that is yet to be loaded must be signed.
fn lockdown_warning(report: &Report, failure: &Failure) -> Option<String> {
    let mode = report.kernel.lockdown.clone()?;
    let module = report.modules.iter().find(|m| !m.state.is_ready())?;
    if !matches!(module.state, State::Loadable | State::Blacklisted) {
        return None;
    }
    Failure::new(&failure.modules[0], Cause::Lockdown { mode }).detail()
}
