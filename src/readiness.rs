//! What "ready" means for a module: the files that must exist before the
//! program that needs the module (kube-proxy, for nf_conntrack) can start.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::system::{normalize_module_name, Root};

/// The paths kube-proxy and the kubelet touch, per module. Anything not
/// listed here is ready once `/sys/module/NAME` is live.
fn known_paths(module: &str) -> Option<&'static [&'static str]> {
    Some(match module {
        // kube-proxy writes both at start-up (conntrack max and hashsize).
        "nf_conntrack" => &[
            "/proc/sys/net/netfilter/nf_conntrack_max",
            "/sys/module/nf_conntrack/parameters/hashsize",
        ],
        // kubeadm/kubelet preflight reads it; Kubernetes needs it set to 1.
        "br_netfilter" => &["/proc/sys/net/bridge/bridge-nf-call-iptables"],
        _ => return None,
    })
}

/// The kernel option that builds a module into the kernel, for a kernel
/// without module support; `None` for a module we do not know.
pub fn kconfig_option(module: &str) -> Option<&'static str> {
    match normalize_module_name(module).as_str() {
        "nf_conntrack" => Some("CONFIG_NF_CONNTRACK"),
        "br_netfilter" => Some("CONFIG_BRIDGE_NETFILTER"),
        "overlay" => Some("CONFIG_OVERLAY_FS"),
        _ => None,
    }
}

/// One module and the paths that must exist for it to be usable.
#[derive(Clone, Debug)]
pub struct Requirement {
    /// The name as given on the command line (may be an alias).
    pub module: String,
    pub paths: Vec<PathBuf>,
}

impl Requirement {
    pub fn new(module: &str) -> Requirement {
        let name = normalize_module_name(module);
        let paths = match known_paths(&name) {
            Some(paths) => paths.iter().map(PathBuf::from).collect(),
            None => vec![sys_module_dir(&name)],
        };
        Requirement {
            module: module.to_string(),
            paths,
        }
    }

    /// An alias is ready when the modules it resolves to are: when this
    /// requirement is the plain `/sys/module/NAME` one, wait for theirs.
    pub fn resolve_alias(&mut self, resolved: &[String]) {
        if self.paths == [sys_module_dir(&self.module)] {
            self.paths = resolved.iter().map(|name| sys_module_dir(name)).collect();
        }
    }

    /// A built-in module with no parameters has no `/sys/module/NAME` at
    /// all; once libkmod says it is built in, only its other paths count.
    pub fn drop_sys_module_dir(&mut self, name: &str) {
        let dir = sys_module_dir(name);
        self.paths.retain(|p| p != &dir);
    }

    /// The paths that are not there (or, for a module directory, not live).
    pub fn missing(&self, root: &Root) -> Vec<PathBuf> {
        self.paths
            .iter()
            .filter(|path| !is_present(root, path))
            .cloned()
            .collect()
    }

    pub fn is_ready(&self, root: &Root) -> bool {
        self.paths.iter().all(|path| is_present(root, path))
    }
}

/// `/sys/module/NAME` for a module's kernel name.
pub fn sys_module_dir(name: &str) -> PathBuf {
    Path::new("/sys/module").join(normalize_module_name(name))
}

/// A path is present when it exists; a `/sys/module/NAME` directory also
/// needs `initstate` to say `live` when it has one, because the directory
/// appears before the module's init function has run. Built-in modules have
/// no `initstate`. Called on every poll of the wait, so it makes as few
/// system calls as it can.
pub fn is_present(root: &Root, path: &Path) -> bool {
    let full = root.path(path);
    let is_module_dir = path.parent() == Some(Path::new("/sys/module"));
    if is_module_dir {
        if let Some(live) = initstate_is(&full, b"live") {
            return live;
        }
    }
    full.exists()
}

/// A module the kernel is initialising now (its `initstate` says
/// `coming`), if there is one: the kernel is still at work.
pub fn initialising(root: &Root) -> Option<String> {
    // /sys/module holds a few hundred entries; more is not a kernel's.
    let entries = std::fs::read_dir(root.path("/sys/module")).ok()?;
    entries
        .flatten()
        .take(10_000)
        .find(|entry| initstate_is(&entry.path(), b"coming") == Some(true))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
}

/// Whether a module directory's `initstate` says `word`; `None` when it has
/// none. Non-blocking: a FIFO there must not stop the wait (it reads as
/// empty), and sysfs files never block anyway.
fn initstate_is(module_dir: &Path, word: &[u8]) -> Option<bool> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(module_dir.join("initstate"))
        .ok()?;
    let mut state = [0u8; 16];
    let len = file.read(&mut state).unwrap_or(0);
    Some(state[..len].trim_ascii_end() == word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conntrack_needs_what_kube_proxy_writes() {
        let req = Requirement::new("nf_conntrack");
        assert_eq!(
            req.paths,
            vec![
                PathBuf::from("/proc/sys/net/netfilter/nf_conntrack_max"),
                PathBuf::from("/sys/module/nf_conntrack/parameters/hashsize")
            ]
        );
        assert_eq!(
            Requirement::new("ip-vs").paths,
            vec![PathBuf::from("/sys/module/ip_vs")]
        );
    }

    #[test]
    fn module_dir_needs_live_initstate() {
        let dir = std::env::temp_dir().join(format!("kmod-ready-unit-{}", std::process::id()));
        let module = dir.join("sys/module/overlay");
        std::fs::create_dir_all(&module).unwrap();
        let root = Root::new(&dir);
        let req = Requirement::new("overlay");
        assert!(req.is_ready(&root), "no initstate: built in, ready");
        std::fs::write(module.join("initstate"), "coming\n").unwrap();
        assert!(!req.is_ready(&root));
        assert_eq!(initialising(&root).as_deref(), Some("overlay"));
        std::fs::write(module.join("initstate"), "live\n").unwrap();
        assert!(req.is_ready(&root));
        assert_eq!(initialising(&root), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
