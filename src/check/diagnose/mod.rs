//! From the facts to the verdicts, the one place `check` decides: for now
//! and for the next boot, the single most likely cause of the first module
//! that is not ready (one [`Cause`]), the command that fixes it, and the
//! warnings that are true but do not block.

mod kube_proxy;
mod next_boot;

use std::path::Path;

use crate::cause::classify::{absent, in_container};
use crate::cause::{Cause, Failure, Finding, Warning};
use crate::check::kubelite::Rejected;
use crate::microk8s::ProxyMode;
use crate::readiness::{is_present, sys_module_dir, Requirement};
use crate::system::{normalize_module_name, Facts};

use super::collect::denied_on_cmdline;
use super::report::*;
use kube_proxy::kube_proxy_cause;

/// The Kubernetes minor version that deprecated kube-proxy's ipvs mode.
const IPVS_DEPRECATED: u32 = 35;

/// Fills in the report's verdicts from what was collected: the next boot's
/// first, as now's verdict says when only the next boot is not ready.
pub fn diagnose(report: &mut Report, facts: &Facts) {
    if let Some(mut next) = report.next_boot.take() {
        next_boot::judge(&mut next, report);
        report.next_boot = Some(next);
    }
    report.verdict = verdict(report, facts);
}

fn verdict(report: &Report, facts: &Facts) -> Verdict {
    let first_not_ready = report.modules.iter().find(|m| !m.state.is_ready());
    // A command that would fail stops kubelite whatever the modules do.
    let failure = failing_command(facts, report)
        .or_else(|| {
            first_not_ready
                .map(|module| Failure::new(&module.name, not_ready(report, facts, module)))
        })
        .or_else(|| kube_proxy_cause(report, facts));
    let mut verdict = Verdict {
        ready: failure.is_none(),
        ready_now: failure.is_none(),
        warnings: warnings(report, failure.as_ref()),
        ..Verdict::default()
    };
    if let Some(failure) = failure {
        verdict.cause = Some(failure.summary());
        verdict.fix = Some(failure.fix());
        verdict.short = Some(failure.short());
        verdict.detail = failure.detail();
    }
    if let Some(next) = &report.next_boot {
        // Now's cause first: it is what the admin can see and fix today.
        verdict.not_ready = match (verdict.ready, next.ready) {
            (true, true) => None,
            (false, true) => Some("now"),
            (false, false) => Some("now and next boot"),
            (true, false) => {
                verdict.cause.clone_from(&next.cause);
                verdict.fix.clone_from(&next.fix);
                Some("next boot")
            }
        };
        verdict.ready &= next.ready;
    }
    verdict
}

/// True but not blocking: kubelite no longer runs kmod-ready, libkmod is
/// missing (each unless the cause says so already), lockdown will refuse an
/// unsigned module.
fn warnings(report: &Report, failure: Option<&Failure>) -> Vec<String> {
    let cause_names_kubelite = failure.is_some_and(
        |f| matches!(&f.cause, Cause::Check(finding) if finding.names_kubelite_start()),
    );
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
        .map(|error| Warning::LibkmodMissing { error }.text());
    let lockdown = failure.and_then(|f| lockdown_warning(report, f));
    let ipvs = report.kube_proxy.as_ref().and_then(|k| {
        let minor = k.microk8s.minor()?;
        (k.microk8s.mode == Some(ProxyMode::Ipvs) && minor >= IPVS_DEPRECATED)
            .then(|| Warning::IpvsDeprecated { minor }.text())
    });
    [kubelite, libkmod, lockdown, ipvs]
        .into_iter()
        .flatten()
        .collect()
}

fn kubelite_warning(report: &Report) -> Option<String> {
    let kubelite = &report.kubelite;
    if !kubelite.unit_exists {
        None
    } else if let (Some(file), false) = (&kubelite.masked_by, kubelite.runs_kmod_ready) {
        Some(Warning::DropInMasked { file }.text())
    } else if let Some(file) = &kubelite.reset_by {
        Some(Warning::KubeliteReset { file }.text())
    } else if let Some(rejected) = kubelite.rejected.first() {
        let (command, reason) = (&rejected.command, &rejected.reason);
        Some(Warning::CommandIgnored { command, reason }.text())
    } else if !kubelite.runs_kmod_ready && !kubelite.unit_files_unread {
        Some(Warning::NothingBeforeKubelite.text())
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

/// The cause `check` gives for `module` not being ready, most specific
/// first.
fn not_ready(report: &Report, facts: &Facts, module: &ModuleReport) -> Cause {
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
            Finding::DropInMasked {
                file: kubelite.masked_by.clone().unwrap_or_default(),
            }
            .into()
        }
        _ if kubelite.unit_exists && kubelite.reset_by.is_some() => {
            Finding::KubeliteOverrideReset {
                file: kubelite.reset_by.clone().unwrap_or_default(),
                unit: kubelite.unit.to_string(),
            }
            .into()
        }
        _ if kernel.modules_disabled => Cause::ModulesDisabled,
        State::Blacklisted => blacklisted(module),
        State::DisabledByInstall => match module.install_lines.first() {
            Some(line) => Finding::DisabledByInstallLine {
                at: line.at(),
                command: line.command.clone(),
            }
            .into(),
            None => Finding::NotLoaded {
                nothing_loads_it: false,
            }
            .into(),
        },
        _ => Finding::NotLoaded {
            nothing_loads_it: kubelite.unit_exists
                && !kubelite.runs_kmod_ready
                && !kubelite.unit_files_unread,
        }
        .into(),
    }
}

/// The first `ExecStartPre=` of kubelite that would fail and whose failure
/// systemd does not ignore, in the order systemd runs them: kubelite would
/// not start, whatever the modules do. A command fails when systemd cannot
/// execute it, when kmod-ready would refuse its arguments (exit 64), or
/// when it waits for a path nothing it loads creates (exit 75).
fn failing_command(facts: &Facts, report: &Report) -> Option<Failure> {
    let kubelite = &report.kubelite;
    if !kubelite.unit_exists {
        return None;
    }
    let names: Vec<String> = report.modules.iter().map(|m| m.name.clone()).collect();
    let cause = kubelite.exec_start_pre.iter().find_map(|command| {
        let of_command = |r: &&Rejected| r.command == *command && !r.ignored;
        if let Some(unrunnable) = kubelite.unrunnable.iter().find(of_command) {
            return Some(Finding::KubeliteCommandUnrunnable {
                command: command.clone(),
                reason: unrunnable.reason.clone(),
            });
        }
        if let Some(rejected) = kubelite.rejected.iter().find(of_command) {
            return Some(Finding::KubeliteCommandRejected {
                command: command.clone(),
                reason: rejected.reason.clone(),
            });
        }
        kubelite
            .waits_for
            .iter()
            .filter(|w| w.command == *command && !w.ignored)
            .find(|w| !is_present(&facts.root, &w.path) && !made_by(&w.path, &w.modules))
            .map(|w| Finding::WaitForNeverAppears {
                command: command.clone(),
                path: w.path.display().to_string(),
            })
    })?;
    Some(Failure::of_all(&names, cause.into()))
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

fn loaded_not_ready(paths: &[PathState], facts: &Facts) -> Cause {
    let missing: Vec<String> = paths
        .iter()
        .filter(|p| !p.present)
        .map(|p| p.path.display().to_string())
        .collect();
    Finding::LoadedNotReady {
        missing: missing.join(", "),
        // What the wait past --timeout looks at (patience.rs).
        initialising: crate::readiness::initialising(&facts.root),
    }
    .into()
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
    Finding::Blacklisted {
        at,
        resolved: by_alias.then(|| module.resolved.join(" ")),
    }
    .into()
}
