//! How MicroK8s runs kube-proxy, read from the snap's own files: its
//! version (`meta/snap.yaml`), whether its kubelite wrapper loads kernel
//! modules itself (its text, not a version table: late 2024 builds of old
//! tracks do, early ones do not), and kube-proxy's arguments (the mode, and
//! a `--config` file's `mode:`).

use serde::Serialize;

use crate::input;
use crate::system::Facts;

mod proxy_mode;

use proxy_mode::top_level_value;
pub(crate) use proxy_mode::{ModeProblem, ProxyMode, Refusal, LONGEST_LINE, NFTABLES_GATE};

/// `$SNAP`: the revision that runs.
const SNAP: &str = "/snap/microk8s/current";
/// `$SNAP_DATA`.
const SNAP_DATA: &str = "/var/snap/microk8s/current";
/// The script the kubelite unit runs.
pub(crate) const WRAPPER: &str = "/snap/microk8s/current/run-kubelite-with-args";
/// kube-proxy's arguments, one a line (`--proxy-args-file`).
pub(crate) const KUBE_PROXY_ARGS: &str = "/var/snap/microk8s/current/args/kube-proxy";
/// The oldest `nft` kube-proxy's nftables mode runs with: its nftables
/// library (knftables) asks `nft --version` at start and refuses an older
/// one.
pub(crate) const NFT_MIN: &str = "1.0.1";

#[derive(Debug, Serialize)]
pub(crate) struct MicroK8s {
    /// `version:` of meta/snap.yaml (`v1.29.4`).
    pub version: Option<String>,
    /// The modules its wrapper loads before kubelite when their sysctls are
    /// missing.
    pub wrapper_loads: Vec<String>,
    /// kube-proxy's mode; `None` when it has none check can judge.
    pub mode: Option<ProxyMode>,
    /// Where the mode comes from.
    pub mode_from: String,
    /// Why there is no mode: kube-proxy refuses the one it is given, or
    /// what decides it cannot be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode_problem: Option<ModeProblem>,
}

impl MicroK8s {
    /// `None` when the snap is not installed.
    pub fn read(facts: &Facts) -> Option<MicroK8s> {
        let snap_yaml = facts.read_bytes(format!("{SNAP}/meta/snap.yaml"), input::CONFIG)?;
        let version = top_level_value(&String::from_utf8_lossy(&snap_yaml), "version");
        let wrapper = wrapper_text(facts);
        let wrapper_loads = ["nf_conntrack", "br_netfilter"]
            .into_iter()
            .filter(|module| wrapper_loads_module(&wrapper, module))
            .map(str::to_string)
            .collect();
        let reading = proxy_mode::read(facts, version.as_deref().and_then(minor_of));
        Some(MicroK8s {
            version,
            wrapper_loads,
            mode: reading.mode.clone().ok(),
            mode_from: reading.from,
            mode_problem: reading.mode.err(),
        })
    }

    /// The Kubernetes minor version (29 for `v1.29.4`).
    pub fn minor(&self) -> Option<u32> {
        minor_of(self.version.as_deref()?)
    }
}

fn minor_of(version: &str) -> Option<u32> {
    version
        .trim_start_matches('v')
        .split('.')
        .nth(1)?
        .parse()
        .ok()
}

/// The text of the kubelite wrapper; empty when it is missing.
pub(crate) fn wrapper_text(facts: &Facts) -> String {
    facts
        .read_bytes(WRAPPER, input::CONFIG)
        .map(|text| String::from_utf8_lossy(&text).into_owned())
        .unwrap_or_default()
}

/// Whether the wrapper's text loads `module` (a kernel name) itself.
pub(crate) fn wrapper_loads_module(wrapper: &str, module: &str) -> bool {
    wrapper.contains(&format!("modprobe {module}"))
}
