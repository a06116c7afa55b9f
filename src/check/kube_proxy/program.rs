//! The programs kube-proxy's mode runs, found as kubelite's PATH finds
//! them, and the version of `nft`, which knftables checks at start.

use std::cmp::Ordering;

use serde::Serialize;

use crate::check::boot::compare_versions;
use crate::microk8s::NFT_MIN;
use crate::process::run_bounded;
use crate::system::Facts;

/// What PATH kubelite runs kube-proxy with finds first: the snap's own
/// programs, then the host's.
const SEARCH_PATH: [&str; 8] = [
    "/snap/microk8s/current/sbin",
    "/snap/microk8s/current/usr/sbin",
    "/snap/microk8s/current/bin",
    "/snap/microk8s/current/usr/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

#[derive(Debug, Serialize)]
pub(crate) struct Program {
    pub name: String,
    /// Where kube-proxy would find it; null when it would not.
    pub path: Option<String>,
    /// `nft` only: the version `nft --version` gives, when it gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `nft` only: why its version is unknown.
    #[serde(skip)]
    pub version_error: Option<String>,
}

impl Program {
    /// The program kube-proxy would run as `name`; `nft` is asked its
    /// version, as kube-proxy asks it.
    pub(super) fn find(facts: &Facts, name: &str) -> Program {
        let path = find_program(facts, name);
        let asked = path
            .as_deref()
            .filter(|_| name == "nft")
            .map(|path| nft_version(facts, path));
        let (version, version_error) = match asked {
            Some(Ok(version)) => (Some(version), None),
            Some(Err(why)) => (None, Some(why)),
            None => (None, None),
        };
        Program {
            name: name.to_string(),
            path,
            version,
            version_error,
        }
    }

    /// Why kube-proxy would refuse it: an `nft` older than [`NFT_MIN`], or
    /// one whose version cannot be learnt.
    pub fn unusable(&self) -> Option<String> {
        if let Some(why) = &self.version_error {
            return Some(why.clone());
        }
        let version = self.version.as_deref()?;
        (compare_versions(version, NFT_MIN) == Ordering::Less).then(|| {
            format!(
                "{} is version {version}",
                self.path.as_deref().unwrap_or(&self.name)
            )
        })
    }
}

/// `nft --version` ("nftables v1.0.6 (Lester Gooch #5)"), run as
/// kube-proxy's nftables library runs it: the version, or why there is
/// none. Bounded in time and output ([`run_bounded`]).
fn nft_version(facts: &Facts, path: &str) -> Result<String, String> {
    let full = facts.root.path(path);
    let program = full.to_string_lossy().into_owned();
    let (stdout, _) = run_bounded(&program, &["--version"])
        .map_err(|err| format!("`{path} --version` failed: {}", err.replace(&program, path)))?;
    stdout
        .split_whitespace()
        .find_map(|word| word.strip_prefix('v'))
        .filter(|version| version.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
        .ok_or_else(|| {
            let first = stdout.lines().next().unwrap_or_default();
            format!("`{path} --version` gave no version ({first:?})")
        })
}

fn find_program(facts: &Facts, name: &str) -> Option<String> {
    SEARCH_PATH
        .iter()
        .map(|dir| format!("{dir}/{name}"))
        .find(|path| facts.root.path(path).is_file())
}
