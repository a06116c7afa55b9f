//! Why kube-proxy would not start in the mode MicroK8s runs it (found only
//! by `check`), and how each reads. The module a failure names is
//! the one (or the program) that mode lacks, or "kube-proxy".

use crate::microk8s::{Refusal, KUBE_PROXY_ARGS, LONGEST_LINE, NFTABLES_GATE, NFT_MIN};

use super::{Description, Entry, Wording};
use crate::status::Status;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KubeProxyCause {
    /// kube-proxy runs in iptables mode on a kernel with neither
    /// ip_tables nor ip6_tables. `nftables_blocked`: why nftables mode would
    /// not work either (none when it would); `feature_gate`: Kubernetes
    /// before 1.31 needs NFTablesProxyMode=true for it.
    NoIptables {
        nftables_blocked: Option<String>,
        feature_gate: bool,
    },
    /// kube-proxy's `mode` writes the module's sysctls at start,
    /// and the module is not loaded (`loadable`: but could be).
    ModuleNotLoaded { mode: String, loadable: bool },
    /// kube-proxy's `mode` needs a module this kernel lacks.
    ModuleMissing { mode: String },
    /// kube-proxy's `mode` runs a program (the module name of the
    /// failure) that is not installed.
    ProgramMissing { mode: String },
    /// nftables mode with an `nft` kube-proxy refuses (`why`: too
    /// old, or its version cannot be learnt).
    NftTooOld { why: String },
    /// nftables mode on a kernel before 5.13.
    NftablesKernelTooOld { release: String },
    /// kube-proxy (or kubelite before it) would exit at start
    /// over its arguments or mode, read from `from`.
    ModeRefused { refusal: Refusal, from: String },
    /// kube-proxy's mode cannot be told: a file that decides it
    /// cannot be read here (`why`: the file and the reason).
    ModeUnknown { why: String },
}

impl KubeProxyCause {
    /// Each would keep kube-proxy, and so kubelite, from starting.
    pub(super) fn describe(&self, module: &str) -> Description {
        let (words, short) = match self {
            KubeProxyCause::NoIptables {
                nftables_blocked,
                feature_gate,
            } => {
                let gate = if *feature_gate {
                    " and `--feature-gates=NFTablesProxyMode=true`"
                } else {
                    ""
                };
                let fix = match nftables_blocked {
                    None => format!(
                        "switch kube-proxy to nftables mode: add `--proxy-mode=nftables`{gate} to \
                         {KUBE_PROXY_ARGS}, then `snap restart microk8s.daemon-kubelite`"
                    ),
                    Some(why) => format!(
                        "install the kernel's {module} module (Ubuntu: linux-modules-extra); \
                         nftables mode is no way out here: {why}"
                    ),
                };
                (
                    Wording::check_only(
                        format!(
                            "kube-proxy (iptables mode) cannot start: the kernel has neither \
                             {module} nor ip6_tables (\"iptables is not available on this host\")"
                        ),
                        fix,
                    ),
                    format!("{module}: missing, and kube-proxy's iptables mode cannot start"),
                )
            }
            KubeProxyCause::ModuleNotLoaded {
                mode,
                loadable: true,
            } => (
                Wording::check_only(
                    format!(
                        "kube-proxy ({mode} mode) writes {module}'s sysctls at start, and {module} \
                         is not loaded"
                    ),
                    format!(
                        "have kmod-ready load it before kubelite: `systemctl edit \
                         snap.microk8s.daemon-kubelite`, `ExecStartPre=` then \
                         `ExecStartPre=/usr/sbin/kmod-ready nf_conntrack {module}`"
                    ),
                ),
                format!("{module}: not loaded, and kube-proxy ({mode} mode) needs it"),
            ),
            KubeProxyCause::ModuleNotLoaded {
                mode,
                loadable: false,
            } => (
                not_in_kernel(module, mode),
                format!("{module}: not loaded, and kube-proxy ({mode} mode) needs it"),
            ),
            KubeProxyCause::ModuleMissing { mode } => (
                not_in_kernel(module, mode),
                format!("{module}: not in the kernel, and kube-proxy ({mode} mode) needs it"),
            ),
            KubeProxyCause::ProgramMissing { mode } => (
                Wording::check_only(
                    format!(
                        "kube-proxy ({mode} mode) cannot start: it runs `{module}`, which is not \
                         installed"
                    ),
                    format!("install {module} (Debian and Ubuntu: `apt install {module}`)"),
                ),
                format!("{module}: not installed, and kube-proxy ({mode} mode) runs it"),
            ),
            KubeProxyCause::NftTooOld { why } => (
                Wording::check_only(
                    format!(
                        "kube-proxy's nftables mode cannot start: it needs {module} {NFT_MIN} or \
                         later, and {why}"
                    ),
                    format!(
                        "install nftables {NFT_MIN} or later (Debian 12 and Ubuntu 22.04 have \
                         one), or remove --proxy-mode=nftables from {KUBE_PROXY_ARGS} (iptables \
                         mode)"
                    ),
                ),
                format!("{module}: too old or unusable for kube-proxy's nftables mode"),
            ),
            KubeProxyCause::NftablesKernelTooOld { release } => (
                Wording::check_only(
                    format!(
                        "kube-proxy's nftables mode needs kernel 5.13 or later for {module}'s \
                         features; this is {release}"
                    ),
                    format!(
                        "remove --proxy-mode=nftables from {KUBE_PROXY_ARGS} (iptables mode), or \
                         boot a newer kernel"
                    ),
                ),
                format!("{module}: kube-proxy's nftables mode needs kernel 5.13+, not {release}"),
            ),
            KubeProxyCause::ModeRefused { refusal, from } => {
                let (why, fix) = refusal_wording(refusal, from);
                (
                    Wording::check_only(format!("{module} would not start: {why}"), fix),
                    format!("{module}: would exit at start over its arguments or mode"),
                )
            }
            KubeProxyCause::ModeUnknown { why } => (
                Wording::check_only(
                    format!("{module}'s mode cannot be told: {why}"),
                    "run `kmod-ready check` as root if the file is readable only by root; else \
                     make it a regular file of at most 1 MiB",
                ),
                format!("{module}: mode cannot be told; a file it reads is unreadable"),
            ),
        };
        Description {
            status: Status::Unavailable,
            entry: Entry::LoadFailed,
            words,
            short,
        }
    }
}

/// kube-proxy's `mode` needs `module`, which this kernel cannot load.
fn not_in_kernel(module: &str, mode: &str) -> Wording {
    Wording::check_only(
        format!("kube-proxy ({mode} mode) cannot start: this kernel has no {module}"),
        format!(
            "install the kernel's {module} module, or choose another mode with --proxy-mode in \
             {KUBE_PROXY_ARGS}"
        ),
    )
}

/// Why kubelite or kube-proxy would exit over kube-proxy's arguments or
/// mode (read from `from`), and the fix.
fn refusal_wording(refusal: &Refusal, from: &str) -> (String, String) {
    let set_mode = format!(
        "fix {from}: the mode is iptables, ipvs or nftables (1.31 and later; 1.29 and 1.30 \
         with --feature-gates={NFTABLES_GATE}=true), or none for iptables; then `snap restart \
         microk8s.daemon-kubelite`"
    );
    match refusal {
        Refusal::ArgsMissing => (
            format!("kubelite cannot open {KUBE_PROXY_ARGS}, which is missing, and exits"),
            format!("restore {KUBE_PROXY_ARGS} (one argument a line; an empty file will do)"),
        ),
        Refusal::LineTooLong => (
            format!("a line of {KUBE_PROXY_ARGS} is longer than the {LONGEST_LINE} bytes kubelite reads, and kubelite exits"),
            format!("shorten that line of {KUBE_PROXY_ARGS}"),
        ),
        Refusal::FlagWithoutValue { flag } => (
            format!("--{flag} ends its arguments without a value"),
            format!("give --{flag} its value in {KUBE_PROXY_ARGS} (--{flag}=VALUE)"),
        ),
        Refusal::ConfigMissing { file } => (
            format!("its --config file {file} is missing"),
            format!("restore {file}, or remove --config from {KUBE_PROXY_ARGS}"),
        ),
        Refusal::NoNftables { minor } => {
            (format!("1.{minor} has no nftables mode (it came in 1.29)"), set_mode)
        }
        Refusal::NftablesGateOff { minor } => (
            format!("1.{minor} runs nftables mode only with the feature gate {NFTABLES_GATE}=true"),
            set_mode,
        ),
        Refusal::Userspace => ("its userspace mode was removed in 1.26".to_string(), set_mode),
        Refusal::UnknownMode { mode } => (
            format!("it has no mode {mode:?} (iptables, ipvs, nftables, or blank for iptables)"),
            set_mode,
        ),
    }
}
