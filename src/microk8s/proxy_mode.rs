//! The mode kube-proxy starts in under kubelite, decided as the two
//! programs decide it: kubelite turns the arguments file into arguments
//! (its `ReadArgsFromFile`), kube-proxy parses them as flags, and a
//! `--config` file replaces every flag but logging ones (`Options.Complete`),
//! so its `mode:` decides; then kube-proxy refuses a mode it does not have
//! (`validateProxyModeLinux`). Read from Kubernetes 1.28 to 1.35 and from
//! kubelite's source; `tests/differential/kube-proxy` compares the outcome
//! with the real kube-proxy's.

use serde::Serialize;

use crate::input::{self, Unread};
use crate::system::Facts;

use super::{KUBE_PROXY_ARGS, SNAP, SNAP_DATA};

/// `$SNAP_COMMON`, the third directory kubelite's environment names.
const SNAP_COMMON: &str = "/var/snap/microk8s/common";

/// The longest line Go's `bufio.Scanner` reads: a longer one ends
/// kubelite's reading with an error, and kubelite exits.
pub(crate) const LONGEST_LINE: usize = 64 * 1024 - 1;

/// kube-proxy's modes on Linux, as `--proxy-mode` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ProxyMode {
    Iptables,
    Ipvs,
    Nftables,
}

impl ProxyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyMode::Iptables => "iptables",
            ProxyMode::Ipvs => "ipvs",
            ProxyMode::Nftables => "nftables",
        }
    }
}

/// Why kube-proxy has no mode check can judge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ModeProblem {
    /// kubelite or kube-proxy would exit at start.
    Refused(Refusal),
    /// A file they read cannot be read here (the file and why), so the
    /// mode cannot be told.
    Unreadable(String),
}

/// Why kubelite or kube-proxy would exit at start over kube-proxy's
/// arguments or mode (the sentences are in cause/kube_proxy.rs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub(crate) enum Refusal {
    /// kubelite cannot open the arguments file.
    ArgsMissing,
    /// A line of the arguments file is longer than kubelite reads.
    LineTooLong,
    /// `--FLAG` is the last argument, without its value.
    FlagWithoutValue { flag: &'static str },
    /// The `--config` file is missing.
    ConfigMissing { file: String },
    /// nftables mode before Kubernetes 1.29.
    NoNftables { minor: u32 },
    /// nftables mode in 1.29 or 1.30 without its feature gate, or in 1.31
    /// or 1.32 with the gate set to false.
    NftablesGateOff { minor: u32 },
    /// The userspace mode, removed in 1.26.
    Userspace,
    /// A mode kube-proxy has never had on Linux.
    UnknownMode { mode: String },
}

/// The mode and where it comes from, or why there is none.
pub(crate) struct ModeReading {
    pub mode: Result<ProxyMode, ModeProblem>,
    pub from: String,
}

/// kube-proxy's mode for Kubernetes 1.`minor` (`None`: version unknown).
pub(crate) fn read(facts: &Facts, minor: Option<u32>) -> ModeReading {
    let refused = |from: String, refusal: Refusal| ModeReading {
        mode: Err(ModeProblem::Refused(refusal)),
        from,
    };
    let unreadable = |from: String, unread: Unread| {
        facts.note_unread(unread.to_string());
        ModeReading {
            mode: Err(ModeProblem::Unreadable(unread.to_string())),
            from,
        }
    };
    let args = match facts.root.read_bytes(KUBE_PROXY_ARGS, input::CONFIG) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return refused(KUBE_PROXY_ARGS.to_string(), Refusal::ArgsMissing),
        Err(unread) => return unreadable(KUBE_PROXY_ARGS.to_string(), unread),
    };
    let args = match kubelite_arguments(&String::from_utf8_lossy(&args)) {
        Ok(args) => args,
        Err(refusal) => return refused(KUBE_PROXY_ARGS.to_string(), refusal),
    };
    let flags = Flags::parse(&args);
    if let Some(flag) = flags.without_value {
        return refused(
            KUBE_PROXY_ARGS.to_string(),
            Refusal::FlagWithoutValue { flag },
        );
    }
    let (value, gates, from) = match &flags.config {
        Some(config) => {
            let text = match facts.root.read_bytes(config, input::CONFIG) {
                Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
                Ok(None) => {
                    let file = config.clone();
                    return refused(
                        format!("--config in {KUBE_PROXY_ARGS}"),
                        Refusal::ConfigMissing { file },
                    );
                }
                Err(unread) => return unreadable(format!("--config in {KUBE_PROXY_ARGS}"), unread),
            };
            let mode = top_level_value(&text, "mode").unwrap_or_default();
            let gate = config_gate(&text, NFTABLES_GATE);
            let from = if flags.mode.is_some() {
                format!("mode: in {config} (--config makes kube-proxy ignore --proxy-mode)")
            } else {
                format!("mode: in {config}")
            };
            (mode, gate, from)
        }
        None => {
            let gate = flags
                .gates
                .iter()
                .rev()
                .find_map(|g| flag_gate(g, NFTABLES_GATE));
            match &flags.mode {
                Some(mode) => (
                    mode.clone(),
                    gate,
                    format!("--proxy-mode in {KUBE_PROXY_ARGS}"),
                ),
                None => (
                    String::new(),
                    gate,
                    format!("the default (no --proxy-mode in {KUBE_PROXY_ARGS})"),
                ),
            }
        }
    };
    ModeReading {
        mode: validate(&value, minor, gates),
        from,
    }
}

/// The feature gate of nftables mode before it went GA.
pub(crate) const NFTABLES_GATE: &str = "NFTablesProxyMode";

/// kube-proxy's verdict on a mode `value`: blank is iptables on Linux;
/// nftables is 1.29's (alpha, behind its gate), on by default from 1.31,
/// GA in 1.33; userspace was removed in 1.26.
fn validate(value: &str, minor: Option<u32>, gate: Option<bool>) -> Result<ProxyMode, ModeProblem> {
    let refused = |refusal| Err(ModeProblem::Refused(refusal));
    match value {
        "" | "iptables" => Ok(ProxyMode::Iptables),
        "ipvs" => Ok(ProxyMode::Ipvs),
        "nftables" => match minor {
            Some(minor) if minor < 29 => refused(Refusal::NoNftables { minor }),
            Some(minor @ (29 | 30)) if gate != Some(true) => {
                refused(Refusal::NftablesGateOff { minor })
            }
            Some(minor @ (31 | 32)) if gate == Some(false) => {
                refused(Refusal::NftablesGateOff { minor })
            }
            _ => Ok(ProxyMode::Nftables),
        },
        "userspace" => refused(Refusal::Userspace),
        other => refused(Refusal::UnknownMode {
            mode: other.to_string(),
        }),
    }
}

/// The arguments kubelite gives kube-proxy: each line trimmed, blank lines
/// and lines starting with `#` skipped, every `"` and `'` removed, the rest
/// split at each space and `$VAR`s expanded. An error ends kubelite.
pub(crate) fn kubelite_arguments(text: &str) -> Result<Vec<String>, Refusal> {
    let mut args = Vec::new();
    for line in text.split('\n') {
        if line.len() > LONGEST_LINE {
            return Err(Refusal::LineTooLong);
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.replace(['"', '\''], "");
        args.extend(line.split(' ').map(expand_env));
    }
    Ok(args)
}

/// Go's `os.ExpandEnv` in kubelite's environment: `$NAME` and `${NAME}`;
/// a name that environment does not have expands to nothing.
fn expand_env(word: &str) -> String {
    let mut out = String::new();
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                // Go drops a `${` without its `}`.
                None => ("", after.len()),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if end == 0 {
                // A lone `$` (or one before a character that starts no name)
                // stays as it is.
                out.push('$');
                rest = after;
                continue;
            }
            (&after[..end], end)
        };
        out.push_str(match name {
            "SNAP" => SNAP,
            "SNAP_DATA" => SNAP_DATA,
            "SNAP_COMMON" => SNAP_COMMON,
            _ => "",
        });
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// The flags of kube-proxy's command line that decide its mode; the last
/// of each wins, as in its flag parser (pflag).
#[derive(Debug, Default, PartialEq, Eq)]
struct Flags {
    mode: Option<String>,
    config: Option<String>,
    /// Each `--feature-gates` list, in order (pflag merges them).
    gates: Vec<String>,
    /// A flag of these given last without its value: kube-proxy exits.
    without_value: Option<&'static str>,
}

impl Flags {
    fn parse(args: &[String]) -> Flags {
        let mut flags = Flags::default();
        let mut words = args.iter();
        while let Some(word) = words.next() {
            if word == "--" {
                break;
            }
            let Some(flag) = word.strip_prefix("--") else {
                continue;
            };
            let (name, value) = match flag.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (flag, None),
            };
            let Some(name) = ["proxy-mode", "config", "feature-gates"]
                .into_iter()
                .find(|known| *known == name)
            else {
                continue;
            };
            // `--flag VALUE`: pflag takes the next argument as the value.
            let Some(value) = value.or_else(|| words.next().cloned()) else {
                flags.without_value = Some(name);
                break;
            };
            match name {
                "proxy-mode" => flags.mode = Some(value),
                "config" => flags.config = Some(value),
                _ => flags.gates.push(value),
            }
        }
        flags
    }
}

/// `NAME=true` in a `--feature-gates` list (`A=true,B=false`).
fn flag_gate(list: &str, name: &str) -> Option<bool> {
    list.split(',').rev().find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == name).then(|| value.trim().eq_ignore_ascii_case("true"))
    })
}

/// `NAME: true` under a config file's top-level `featureGates:`.
fn config_gate(text: &str, name: &str) -> Option<bool> {
    let mut lines = text
        .lines()
        .skip_while(|line| !line.starts_with("featureGates:"));
    lines.next()?;
    lines
        .take_while(|line| line.starts_with([' ', '\t']) || line.trim().is_empty())
        .find_map(|line| {
            let value = line.trim().strip_prefix(name)?.strip_prefix(':')?;
            Some(unquote(value.trim()).eq_ignore_ascii_case("true"))
        })
}

/// A top-level `KEY: VALUE` of a YAML file, unquoted.
pub(crate) fn top_level_value(text: &str, key: &str) -> Option<String> {
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
mod tests;
