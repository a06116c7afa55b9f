//! How MicroK8s runs kube-proxy, read from the snap's own files: its
//! version (`meta/snap.yaml`), whether its kubelite wrapper loads kernel
//! modules itself (its text, not a version table: late 2024 builds of old
//! tracks do, early ones do not), and kube-proxy's arguments (the mode, and
//! a `--config` file's `mode:`).

use serde::Serialize;

use crate::input;
use crate::system::Facts;

/// `$SNAP`: the revision that runs.
const SNAP: &str = "/snap/microk8s/current";
/// `$SNAP_DATA`.
const SNAP_DATA: &str = "/var/snap/microk8s/current";
/// The script the kubelite unit runs.
pub(crate) const WRAPPER: &str = "/snap/microk8s/current/run-kubelite-with-args";
/// kube-proxy's arguments, one a line (`--proxy-args-file`).
pub(crate) const KUBE_PROXY_ARGS: &str = "/var/snap/microk8s/current/args/kube-proxy";

/// kube-proxy's modes, as `--proxy-mode` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ProxyMode {
    Iptables,
    Ipvs,
    Nftables,
}

#[derive(Debug, Serialize)]
pub(crate) struct MicroK8s {
    /// `version:` of meta/snap.yaml (`v1.29.4`).
    pub version: Option<String>,
    /// The modules its wrapper loads before kubelite when their sysctls are
    /// missing.
    pub wrapper_loads: Vec<String>,
    /// kube-proxy's mode; `None` for a mode check does not know.
    pub mode: Option<ProxyMode>,
    /// Where the mode comes from.
    pub mode_from: String,
}

impl MicroK8s {
    /// `None` when the snap is not installed.
    pub fn read(facts: &Facts) -> Option<MicroK8s> {
        let snap_yaml = facts.read_bytes(format!("{SNAP}/meta/snap.yaml"), input::CONFIG)?;
        let version = yaml_value(&String::from_utf8_lossy(&snap_yaml), "version");
        let wrapper = wrapper_text(facts);
        let wrapper_loads = ["nf_conntrack", "br_netfilter"]
            .into_iter()
            .filter(|module| wrapper_loads_module(&wrapper, module))
            .map(str::to_string)
            .collect();
        let (mode, mode_from) = proxy_mode(facts);
        Some(MicroK8s {
            version,
            wrapper_loads,
            mode,
            mode_from,
        })
    }

    /// The Kubernetes minor version (29 for `v1.29.4`).
    pub fn minor(&self) -> Option<u32> {
        let version = self.version.as_deref()?.trim_start_matches('v');
        version.split('.').nth(1)?.parse().ok()
    }
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

/// The mode kube-proxy runs in: `--proxy-mode`, else a `--config` file's
/// `mode:`, else iptables, kube-proxy's default on Linux.
fn proxy_mode(facts: &Facts) -> (Option<ProxyMode>, String) {
    let Some(args) = facts.read_bytes(KUBE_PROXY_ARGS, input::CONFIG) else {
        return (
            Some(ProxyMode::Iptables),
            format!("the default ({KUBE_PROXY_ARGS} is missing)"),
        );
    };
    let args = String::from_utf8_lossy(&args).into_owned();
    if let Some(mode) = argument(&args, "--proxy-mode") {
        return (
            parse_mode(&mode),
            format!("--proxy-mode in {KUBE_PROXY_ARGS}"),
        );
    }
    if let Some(config) = argument(&args, "--config") {
        let config = config
            .replace("${SNAP_DATA}", SNAP_DATA)
            .replace("$SNAP_DATA", SNAP_DATA);
        let text = facts.read_bytes(&config, input::CONFIG).unwrap_or_default();
        if let Some(mode) = yaml_value(&String::from_utf8_lossy(&text), "mode") {
            return (parse_mode(&mode), format!("mode: in {config}"));
        }
    }
    (
        Some(ProxyMode::Iptables),
        format!("the default (no --proxy-mode in {KUBE_PROXY_ARGS})"),
    )
}

fn parse_mode(value: &str) -> Option<ProxyMode> {
    match value {
        "" | "iptables" => Some(ProxyMode::Iptables),
        "ipvs" => Some(ProxyMode::Ipvs),
        "nftables" => Some(ProxyMode::Nftables),
        _ => None,
    }
}

/// The value of `--NAME=VALUE` or `--NAME VALUE` in an arguments file (one
/// argument a line; the last one wins, as in kube-proxy's flag parsing).
fn argument(args: &str, name: &str) -> Option<String> {
    args.lines().rev().map(str::trim).find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let value = rest.strip_prefix('=').or_else(|| rest.strip_prefix(' '))?;
        Some(unquote(value.trim()))
    })
}

/// A top-level `KEY: VALUE` of a YAML file, unquoted.
fn yaml_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?;
        let value = value.split(" #").next().unwrap_or(value).trim();
        Some(unquote(value))
    })
}

fn unquote(value: &str) -> String {
    value.trim_matches(|c| c == '"' || c == '\'').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_and_yaml() {
        let args = "--kubeconfig=${SNAP_DATA}/credentials/proxy.config\n--proxy-mode=ipvs\n\
                    # --proxy-mode=nftables\n--config \"${SNAP_DATA}/args/kp.yaml\"\n";
        assert_eq!(argument(args, "--proxy-mode").as_deref(), Some("ipvs"));
        assert_eq!(
            argument(args, "--config").as_deref(),
            Some("${SNAP_DATA}/args/kp.yaml")
        );
        assert_eq!(argument(args, "--proxy-mode-x"), None);
        let yaml = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nmode: \"nftables\" # fast\nconntrack:\n  maxPerCore: 0\n";
        assert_eq!(yaml_value(yaml, "mode").as_deref(), Some("nftables"));
        assert_eq!(
            yaml_value("name: microk8s\nversion: v1.29.4\n", "version").as_deref(),
            Some("v1.29.4")
        );
    }
}
