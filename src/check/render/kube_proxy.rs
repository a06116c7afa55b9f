//! The kube-proxy section: how MicroK8s runs it, and what its mode needs
//! of the kernel (also under the next boot).

use super::{Out, Tone};
use crate::check::kube_proxy::{Contract, KubeProxy, ModuleState};
use crate::microk8s::{MicroK8s, ModeProblem};

/// How MicroK8s runs kube-proxy, and what its mode needs.
pub(super) fn render_kube_proxy(out: &mut Out, kube_proxy: &KubeProxy) {
    let microk8s = &kube_proxy.microk8s;
    let mode = mode_name(microk8s);
    out.field(
        "kube-proxy",
        Tone::Plain,
        &format!("{mode}, from {}", microk8s.mode_from),
    );
    let version = microk8s.version.as_deref().unwrap_or("unknown");
    let loads = if microk8s.wrapper_loads.is_empty() {
        "its wrapper loads no module".to_string()
    } else {
        format!("its wrapper loads {}", microk8s.wrapper_loads.join(", "))
    };
    out.field("  microk8s", Tone::Plain, &format!("{version}; {loads}"));
    render_contract(out, "  ", &kube_proxy.contract);
}

/// "iptables mode".
pub(super) fn mode_name(microk8s: &MicroK8s) -> String {
    match (microk8s.mode, &microk8s.mode_problem) {
        (Some(mode), _) => format!("{} mode", mode.as_str()),
        (None, Some(ModeProblem::Refused(_))) => "no mode it accepts".to_string(),
        (None, Some(ModeProblem::Unreadable(_))) | (None, None) => {
            "a mode check cannot tell".to_string()
        }
    }
}

/// Each module and program of kube-proxy's contract, the kernel-version
/// rule, and what nftables mode would have.
pub(super) fn render_contract(out: &mut Out, indent: &str, contract: &Contract) {
    for module in &contract.modules {
        let tone = match (module.needed, module.state) {
            ("loaded", state) if !state.in_kernel() && module.loaded_by.is_empty() => Tone::Bad,
            (_, ModuleState::Missing) => Tone::Warn,
            _ => Tone::Plain,
        };
        let note = match (module.needed, module.loaded_by.is_empty()) {
            ("loaded", true) => " (needed loaded at start)".to_string(),
            ("loaded", false) => format!(", loaded by {}", module.loaded_by.join(", ")),
            _ => String::new(),
        };
        out.field(
            &format!("{indent}{}", module.name),
            tone,
            &format!("{}{note}", module.state.as_str()),
        );
    }
    for program in &contract.programs {
        let label = format!("{indent}{}", program.name);
        match (&program.path, program.unusable(), &program.version) {
            (None, _, _) => out.field(&label, Tone::Bad, "not installed"),
            (Some(_), Some(why), _) => out.field(&label, Tone::Bad, &why),
            (Some(path), None, Some(version)) => {
                out.field(&label, Tone::Plain, &format!("{path}, version {version}"))
            }
            (Some(path), None, None) => out.field(&label, Tone::Plain, path),
        }
    }
    if contract.kernel_new_enough == Some(false) {
        out.field(
            &format!("{indent}kernel"),
            Tone::Bad,
            "older than 5.13, which nftables mode needs",
        );
    }
    if let Some(instead) = &contract.nftables_instead {
        let nft = match (&instead.nft, &instead.nft_unusable, &instead.nft_version) {
            (None, _, _) => "nft not installed".to_string(),
            (Some(_), Some(why), _) => why.clone(),
            (Some(path), None, Some(version)) => format!("{path}, version {version}"),
            (Some(path), None, None) => path.clone(),
        };
        out.field(
            &format!("{indent}nftables"),
            Tone::Plain,
            &format!("nf_tables {}; {nft}", instead.nf_tables.as_str()),
        );
    }
}
