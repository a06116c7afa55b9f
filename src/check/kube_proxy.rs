//! The kernel contract of kube-proxy in the mode MicroK8s runs it: the
//! modules that mode needs at start, and the programs it runs. Only what
//! ends kube-proxy at start decides the verdict; the rest is listed.
//!
//! nf_conntrack, which every mode needs loaded before kube-proxy writes its
//! sysctls, is the report's own module section. Beyond it: iptables mode
//! (the snap's iptables-legacy) fails when neither `ip_tables` nor
//! `ip6_tables` can be loaded ("iptables is not available on this host"),
//! and lists the `xt_*` matches its rules use;
//! ipvs mode writes `net/ipv4/vs/*` at start, so `ip_vs` must be loaded
//! before it, and it needs `ipset`; nftables mode needs `nf_tables`, the
//! host's `nft` and a kernel of 5.13 or later.

use std::path::Path;

use serde::Serialize;

use crate::libkmod::Context;
use crate::microk8s::{MicroK8s, ProxyMode, NFT_MIN};
use crate::readiness::sys_module_dir;
use crate::system::Facts;

mod program;

pub(crate) use program::Program;

#[derive(Debug, Serialize)]
pub(crate) struct KubeProxy {
    #[serde(flatten)]
    pub microk8s: MicroK8s,
    /// What the mode needs, for the running kernel.
    #[serde(flatten)]
    pub contract: Contract,
}

/// What kube-proxy's mode needs of one kernel (the running one, or with
/// `--next-boot` the next one) and of the programs it runs.
#[derive(Debug, Serialize)]
pub(crate) struct Contract {
    pub modules: Vec<ContractModule>,
    pub programs: Vec<Program>,
    /// nftables mode: whether the kernel is 5.13 or later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_new_enough: Option<bool>,
    /// iptables mode on a kernel without iptables: what nftables mode would
    /// have (present only then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nftables_instead: Option<NftablesInstead>,
}

#[derive(Debug, Serialize)]
pub(crate) struct NftablesInstead {
    pub nf_tables: ModuleState,
    pub nft: Option<String>,
    /// What `nft --version` says, when it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nft_version: Option<String>,
    /// Why that `nft` would not do, when it would not.
    #[serde(skip)]
    pub nft_unusable: Option<String>,
    pub kernel_new_enough: bool,
}

impl Contract {
    fn state(&self, name: &str) -> Option<ModuleState> {
        self.modules
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.state)
    }

    /// iptables mode with neither IPv4 nor IPv6 iptables.
    pub fn iptables_unavailable(&self, mode: Option<ProxyMode>) -> bool {
        mode == Some(ProxyMode::Iptables)
            && !self.state("ip_tables").is_some_and(ModuleState::available)
            && !self.state("ip6_tables").is_some_and(ModuleState::available)
    }

    /// The first thing kube-proxy's mode needs at start that is not there:
    /// (the module or program, what is wrong).
    pub fn missing_at_start(&self, mode: Option<ProxyMode>) -> Option<(String, Missing)> {
        let mode = mode?;
        if self.iptables_unavailable(Some(mode)) {
            return Some(("ip_tables".into(), Missing::Iptables));
        }
        for module in &self.modules {
            let missing = match (module.needed, module.state) {
                (_, ModuleState::Unknown) => continue,
                ("loaded", state) if !state.in_kernel() && module.loaded_by.is_empty() => {
                    Missing::NotLoaded(state)
                }
                ("loadable", ModuleState::Missing) if mode != ProxyMode::Iptables => {
                    Missing::NotInKernel
                }
                _ => continue,
            };
            return Some((module.name.clone(), missing));
        }
        if let Some(program) = self.programs.iter().find(|p| p.path.is_none()) {
            return Some((program.name.clone(), Missing::Program));
        }
        if let Some(program) = self.programs.iter().find(|p| p.unusable().is_some()) {
            return Some((program.name.clone(), Missing::ProgramUnusable));
        }
        (self.kernel_new_enough == Some(false)).then(|| ("nf_tables".into(), Missing::OldKernel))
    }

    /// Whether switching to nftables mode would work here, and if not why.
    pub fn nftables_would_work(&self, microk8s: &MicroK8s) -> Result<(), String> {
        let instead = self.nftables_instead.as_ref().ok_or("")?;
        if !instead.nf_tables.available() {
            return Err("this kernel has no nf_tables either".into());
        }
        if instead.nft.is_none() {
            return Err("nftables mode needs the host's `nft` (apt install nftables)".into());
        }
        if let Some(why) = &instead.nft_unusable {
            return Err(format!("nftables mode needs nft {NFT_MIN} or later: {why}"));
        }
        if !instead.kernel_new_enough {
            return Err("nftables mode needs kernel 5.13 or later".into());
        }
        match microk8s.minor() {
            Some(minor) if minor >= 29 => Ok(()),
            _ => Err("nftables mode needs Kubernetes 1.29 or later".into()),
        }
    }
}

/// What kube-proxy's mode lacks at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Missing {
    /// Neither ip_tables nor ip6_tables (iptables mode).
    Iptables,
    /// Must be loaded before kube-proxy starts; it is not (its state).
    NotLoaded(ModuleState),
    /// Not in this kernel at all.
    NotInKernel,
    /// A program the mode runs is not installed.
    Program,
    /// The mode's `nft` is too old, or its version cannot be learnt.
    ProgramUnusable,
    /// nftables mode on a kernel older than 5.13.
    OldKernel,
}

#[derive(Debug, Serialize)]
pub(crate) struct ContractModule {
    pub name: String,
    pub state: ModuleState,
    /// `loaded`: must be in the kernel before kube-proxy starts;
    /// `loadable`: the program that needs it loads it (iptables, nft).
    pub needed: &'static str,
    /// For the next boot, a module needed loaded and not built in: what
    /// loads it before kubelite then (kmod-ready's drop-in, modules-load.d).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub loaded_by: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ModuleState {
    Loaded,
    Builtin,
    Loadable,
    Missing,
    /// libkmod cannot read the tree.
    Unknown,
}

impl ModuleState {
    pub fn as_str(self) -> &'static str {
        match self {
            ModuleState::Loaded => "loaded",
            ModuleState::Builtin => "built in",
            ModuleState::Loadable => "loadable",
            ModuleState::Missing => "missing",
            ModuleState::Unknown => "unknown (module tree not read)",
        }
    }

    pub fn in_kernel(self) -> bool {
        matches!(self, ModuleState::Loaded | ModuleState::Builtin)
    }

    pub fn available(self) -> bool {
        self.in_kernel() || self == ModuleState::Loadable
    }
}

pub(crate) fn kube_proxy(
    facts: &Facts,
    ctx: Option<&Context>,
    module_dir: &str,
) -> Option<KubeProxy> {
    let microk8s = MicroK8s::read(facts)?;
    let tree = Tree {
        ctx,
        module_dir: Path::new(module_dir),
        release: &facts.release,
        running: true,
    };
    let contract = contract(facts, microk8s.mode, &tree, |_| Vec::new());
    Some(KubeProxy { microk8s, contract })
}

/// iptables mode: the tables, then the matches of the rules kube-proxy's
/// iptables proxier writes (pkg/proxy/iptables/proxier.go, read at 1.28).
/// iptables loads a match when a rule first uses it; a missing one fails
/// the rules that use it (services stop working), not kube-proxy's start.
const IPTABLES_MODULES: &[(&str, &str)] = &[
    ("ip_tables", "loadable"),
    ("ip6_tables", "loadable"),
    ("iptable_filter", "loadable"),
    ("iptable_nat", "loadable"),
    ("iptable_mangle", "loadable"),
    // `-m comment`: nearly every rule, first the jumps from PREROUTING and
    // OUTPUT to KUBE-SERVICES.
    ("xt_comment", "loadable"),
    // `-m conntrack --ctstate`: the filter jumps to KUBE-SERVICES,
    // KUBE-EXTERNAL-SERVICES and KUBE-PROXY-FIREWALL (NEW), KUBE-FORWARD's
    // INVALID drop and RELATED,ESTABLISHED accept.
    ("xt_conntrack", "loadable"),
    // `-m mark --mark`: KUBE-POSTROUTING's return of unmarked packets and
    // KUBE-FORWARD's accept of marked ones (and the MARK target of
    // KUBE-MARK-MASQ, in the same module).
    ("xt_mark", "loadable"),
    // `-m addrtype`: the NodePort jump at the end of KUBE-SERVICES
    // (--dst-type LOCAL) and the EXT chains' LOCAL-source rules.
    ("xt_addrtype", "loadable"),
    // `-m statistic --mode random`: a KUBE-SVC chain's choice among more
    // than one endpoint.
    ("xt_statistic", "loadable"),
    // Not listed: `-m recent` (xt_recent) serves only Services with
    // sessionAffinity ClientIP; `-m tcp`/`-m udp` are x_tables' own.
];

/// The kernel a contract is judged for.
pub(crate) struct Tree<'t, 'l> {
    /// A libkmod context reading its module tree, when there is one.
    pub ctx: Option<&'t Context<'l>>,
    pub module_dir: &'t Path,
    pub release: &'t str,
    /// Whether it runs now: what is in /sys/module counts then.
    pub running: bool,
}

/// The contract of `mode` for the kernel of `tree`; `loaders` says what
/// would load a module needed loaded (for the next boot).
pub(crate) fn contract(
    facts: &Facts,
    mode: Option<ProxyMode>,
    tree: &Tree,
    loaders: impl Fn(&str) -> Vec<String>,
) -> Contract {
    let (modules, programs): (&[(&str, &'static str)], &[&str]) = match mode {
        Some(ProxyMode::Iptables) => (IPTABLES_MODULES, &["iptables"]),
        Some(ProxyMode::Ipvs) => (
            &[
                ("ip_vs", "loaded"),
                ("ip_vs_rr", "loadable"),
                ("ip_tables", "loadable"),
            ],
            &["ipset", "iptables"],
        ),
        Some(ProxyMode::Nftables) => (&[("nf_tables", "loadable")], &["nft"]),
        None => (&[], &[]),
    };
    let modules = modules
        .iter()
        .map(|&(name, needed)| {
            let state = module_state(facts, tree, name);
            let loaded_by = if needed == "loaded" && !tree.running && !state.in_kernel() {
                loaders(name)
            } else {
                Vec::new()
            };
            ContractModule {
                name: name.to_string(),
                state,
                needed,
                loaded_by,
            }
        })
        .collect();
    let programs = programs
        .iter()
        .map(|name| Program::find(facts, name))
        .collect();
    let new_enough = kernel_at_least(tree.release, 5, 13);
    let kernel_new_enough = (mode == Some(ProxyMode::Nftables)).then_some(new_enough);
    let mut contract = Contract {
        modules,
        programs,
        kernel_new_enough,
        nftables_instead: None,
    };
    if contract.iptables_unavailable(mode) {
        let nft = Program::find(facts, "nft");
        contract.nftables_instead = Some(NftablesInstead {
            nf_tables: module_state(facts, tree, "nf_tables"),
            nft_unusable: nft.unusable(),
            nft: nft.path,
            nft_version: nft.version,
            kernel_new_enough: new_enough,
        });
    }
    contract
}

fn module_state(facts: &Facts, tree: &Tree, name: &str) -> ModuleState {
    let dir = sys_module_dir(name);
    if tree.running && facts.root.exists(&dir) {
        // A loaded module has an initstate; a built-in one has none.
        return if facts.root.exists(dir.join("initstate")) {
            ModuleState::Loaded
        } else {
            ModuleState::Builtin
        };
    }
    if facts.listed_builtin(tree.module_dir, name) {
        return ModuleState::Builtin;
    }
    let Some(ctx) = tree.ctx else {
        return ModuleState::Unknown;
    };
    match ctx.lookup(name) {
        Ok(list) if !list.modules().is_empty() => ModuleState::Loadable,
        _ => ModuleState::Missing,
    }
}

/// Whether kernel `release` (`6.1.0-50-amd64`) is at least MAJOR.MINOR.
fn kernel_at_least(release: &str, major: u32, minor: u32) -> bool {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        assert!(kernel_at_least("6.1.0-50-amd64", 5, 13));
        assert!(kernel_at_least("5.13.0", 5, 13));
        assert!(!kernel_at_least("5.10.0-30-amd64", 5, 13));
        assert!(!kernel_at_least("4.18.0-553.el8_10.x86_64", 5, 13));
        assert!(!kernel_at_least("unknown", 5, 13));
    }
}
