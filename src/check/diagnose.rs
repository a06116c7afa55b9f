//! From the facts to the verdict: the single most likely cause of the first
//! module that is not ready, the command that fixes it, and the warnings
//! that are true but do not block.

use crate::cause::classify::{failing_command, kube_proxy_cause, not_ready};
use crate::cause::{Cause, Failure, Warning};
use crate::microk8s::ProxyMode;
use crate::system::Facts;

/// The Kubernetes minor version that deprecated kube-proxy's ipvs mode.
const IPVS_DEPRECATED: u32 = 35;

use super::report::*;

pub fn verdict(report: &Report, facts: &Facts) -> Verdict {
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
    let cause_names_kubelite = failure.is_some_and(|f| {
        matches!(
            f.cause,
            Cause::KubeliteOverrideReset { .. }
                | Cause::DropInMasked { .. }
                | Cause::KubeliteCommandRejected { .. }
                | Cause::KubeliteCommandUnrunnable { .. }
                | Cause::WaitForNeverAppears { .. }
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
