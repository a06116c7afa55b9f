//! Why kube-proxy would not start: its mode refused, or a module or
//! program that mode needs missing.

use crate::cause::{Failure, Finding, KubeProxyCause};
use crate::microk8s::{MicroK8s, ModeProblem, ProxyMode};
use crate::system::Facts;

use super::super::kube_proxy::{Contract, Missing, ModuleState};
use super::super::report::Report;

/// Why kube-proxy, in the mode MicroK8s runs it, would not start for want
/// of a module or program beyond nf_conntrack (the report's own modules).
pub(super) fn kube_proxy_cause(report: &Report, facts: &Facts) -> Option<Failure> {
    let kube_proxy = report.kube_proxy.as_ref()?;
    contract_cause(&kube_proxy.microk8s, &kube_proxy.contract, &facts.release)
}

/// Why kube-proxy would not start on kernel `release` with `contract`.
pub(super) fn contract_cause(
    microk8s: &MicroK8s,
    contract: &Contract,
    release: &str,
) -> Option<Failure> {
    let problem = match &microk8s.mode_problem {
        Some(ModeProblem::Refused(refusal)) => Some(KubeProxyCause::ModeRefused {
            refusal: refusal.clone(),
            from: microk8s.mode_from.clone(),
        }),
        Some(ModeProblem::Unreadable(why)) => {
            Some(KubeProxyCause::ModeUnknown { why: why.clone() })
        }
        None => None,
    };
    if let Some(cause) = problem {
        return Some(Failure::new("kube-proxy", Finding::KubeProxy(cause).into()));
    }
    let (name, missing) = contract.missing_at_start(microk8s.mode)?;
    let mode = microk8s
        .mode
        .map(ProxyMode::as_str)
        .unwrap_or_default()
        .to_string();
    let cause = match missing {
        Missing::Iptables => KubeProxyCause::NoIptables {
            nftables_blocked: contract.nftables_would_work(microk8s).err(),
            feature_gate: microk8s.minor().is_some_and(|minor| minor < 31),
        },
        Missing::NotLoaded(state) => KubeProxyCause::ModuleNotLoaded {
            mode,
            loadable: state == ModuleState::Loadable,
        },
        Missing::NotInKernel => KubeProxyCause::ModuleMissing { mode },
        Missing::Program => KubeProxyCause::ProgramMissing { mode },
        Missing::ProgramUnusable => KubeProxyCause::NftTooOld {
            why: contract
                .programs
                .iter()
                .find(|p| p.name == name)
                .and_then(|p| p.unusable())
                .unwrap_or_default(),
        },
        Missing::OldKernel => KubeProxyCause::NftablesKernelTooOld {
            release: release.to_string(),
        },
    };
    Some(Failure::new(&name, Finding::KubeProxy(cause).into()))
}
