//! Facts about the running system, read under a root directory.
//!
//! The root is `/` except in tests, where `KMOD_READY_ROOT` points at a
//! fixture tree standing in for it (as zram-generator's
//! `ZRAM_GENERATOR_ROOT` does). Only files are read here; nothing is written.
//!
//! [`Root`] maps and reads paths; [`Facts`] is what loading and `check` know
//! about the system, and keeps the files it found but could not read, for
//! whoever reads through it to collect.

use std::cell::RefCell;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::input::{self, Unread};
use crate::libkmod::{Context, Libkmod};

mod cmdline;

pub(crate) use cmdline::cmdline_module_list;
pub use cmdline::{cmdline_module_blacklist, cmdline_words};

/// The environment variable that moves `/` for the test suite.
pub(crate) const ROOT_ENV: &str = "KMOD_READY_ROOT";

/// The kernel release when /proc/sys/kernel/osrelease cannot be read: the
/// root is not a system (`check --npd` then gives no verdict).
pub(crate) const UNKNOWN_RELEASE: &str = "unknown";

/// Where module trees live: /lib/modules, or only /usr/lib/modules on
/// systems that merged /lib into /usr without the /lib link.
const MODULE_BASES: [&str; 2] = ["/lib/modules", "/usr/lib/modules"];

/// Where libkmod reads modprobe.d files, highest precedence first.
pub(crate) const MODPROBE_D_DIRS: [&str; 5] = [
    "/etc/modprobe.d",
    "/run/modprobe.d",
    "/usr/local/lib/modprobe.d",
    "/usr/lib/modprobe.d",
    "/lib/modprobe.d",
];

#[derive(Clone, Debug)]
pub(crate) struct Root {
    prefix: PathBuf,
}

impl Root {
    pub fn new(prefix: impl Into<PathBuf>) -> Root {
        Root {
            prefix: prefix.into(),
        }
    }

    pub fn from_env() -> Root {
        match std::env::var_os(ROOT_ENV) {
            Some(prefix) if !prefix.is_empty() => Root::new(prefix),
            _ => Root::new("/"),
        }
    }

    pub fn is_system_root(&self) -> bool {
        self.prefix == Path::new("/")
    }

    /// Where the absolute path `path` of the system lives under this root.
    pub fn path(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        self.prefix.join(path.strip_prefix("/").unwrap_or(path))
    }

    pub fn exists(&self, path: impl AsRef<Path>) -> bool {
        self.path(path).exists()
    }

    /// The file at the system path `path`, read bounded and type-checked
    /// (see input.rs): `Ok(None)` when it is missing.
    pub fn read_bytes(&self, path: impl AsRef<Path>, cap: u64) -> Result<Option<Vec<u8>>, Unread> {
        let path = path.as_ref();
        input::read(&self.path(path), path, cap)
    }

    /// The module directory of `release` (`/lib/modules/R`, or
    /// `/usr/lib/modules/R` on systems that keep modules only there), as a
    /// system path, if it exists.
    pub fn module_dir(&self, release: &str) -> Option<PathBuf> {
        MODULE_BASES
            .iter()
            .map(|base| Path::new(base).join(release))
            .find(|dir| self.path(dir).is_dir())
    }

    /// The kernel releases that have a module directory (in /lib/modules or
    /// /usr/lib/modules), sorted by name.
    pub fn installed_releases(&self) -> Vec<String> {
        let mut releases: Vec<String> = MODULE_BASES
            .iter()
            .flat_map(|base| {
                fs::read_dir(self.path(base))
                    .into_iter()
                    .flatten()
                    .flatten()
            })
            .filter(|entry| {
                entry.path().join("modules.dep").exists() || entry.path().join("kernel").is_dir()
            })
            .filter_map(|entry| entry.file_name().into_string().ok())
            .collect();
        releases.sort();
        releases.dedup();
        releases
    }
}

/// What the running system looks like, for loading and for `check`: the
/// kernel release read at once, the rest when first asked (loading needs
/// most of it only to explain a failure).
pub(crate) struct Facts {
    pub root: Root,
    pub release: String,
    container: OnceLock<Option<String>>,
    /// Files that exist but were not read, each with its reason, in the
    /// order they were met; `check` lists them under `skipped`.
    unread: RefCell<Vec<String>>,
}

impl Facts {
    pub fn read(root: Root) -> Facts {
        let facts = Facts {
            root,
            release: String::new(),
            container: OnceLock::new(),
            unread: RefCell::new(Vec::new()),
        };
        let release = facts
            .read_trimmed("/proc/sys/kernel/osrelease")
            .filter(|release| !release.is_empty())
            .or_else(|| uname_release().filter(|_| facts.root.is_system_root()))
            .unwrap_or_else(|| UNKNOWN_RELEASE.to_string());
        Facts { release, ..facts }
    }

    /// The file at the system path `path` (see [`Root::read_bytes`]); one
    /// that exists but cannot be read is noted, and reads as missing.
    pub fn read_bytes(&self, path: impl AsRef<Path>, cap: u64) -> Option<Vec<u8>> {
        self.root.read_bytes(path, cap).unwrap_or_else(|unread| {
            self.note_unread(unread.to_string());
            None
        })
    }

    /// A small file (a sysctl, a sysfs attribute), without trailing space.
    pub fn read_trimmed(&self, path: impl AsRef<Path>) -> Option<String> {
        let bytes = self.read_bytes(path, input::SMALL)?;
        Some(String::from_utf8_lossy(&bytes).trim_end().to_string())
    }

    /// Notes a fact not read (or not listed), once.
    pub fn note_unread(&self, reason: String) {
        let mut unread = self.unread.borrow_mut();
        if !unread.contains(&reason) {
            unread.push(reason);
        }
    }

    /// The facts not read so far, each with its reason.
    pub fn take_unread(&self) -> Vec<String> {
        self.unread.take()
    }

    /// The kind of container we run in: systemd's `/run/systemd/container`,
    /// else `container=` in PID 1's environment. Read when first asked.
    pub fn container(&self) -> Option<&str> {
        self.container
            .get_or_init(|| self.read_container())
            .as_deref()
    }

    fn read_container(&self) -> Option<String> {
        if let Some(name) = self.read_trimmed("/run/systemd/container") {
            if !name.is_empty() {
                return Some(name);
            }
        }
        let environ = self.read_bytes("/proc/1/environ", input::ENVIRON)?;
        environ
            .split(|&b| b == 0)
            .filter_map(|var| var.strip_prefix(b"container="))
            .map(|value| String::from_utf8_lossy(value).into_owned())
            .find(|value| !value.is_empty())
    }

    /// /proc/cmdline as the kernel gives it: bytes.
    pub fn kernel_cmdline(&self) -> Vec<u8> {
        self.read_bytes("/proc/cmdline", input::CMDLINE)
            .unwrap_or_default()
    }

    /// The kernel lockdown mode when it is active (`integrity` or
    /// `confidentiality`), from securityfs.
    pub fn lockdown(&self) -> Option<String> {
        let text = self.read_trimmed("/sys/kernel/security/lockdown")?;
        let active = text.split_whitespace().find(|w| w.starts_with('['))?;
        let mode = active.trim_matches(|c| c == '[' || c == ']');
        (mode != "none").then(|| mode.to_string())
    }

    /// `kernel.modules_disabled=1` forbids loading until the next boot.
    pub fn modules_disabled(&self) -> bool {
        self.read_trimmed("/proc/sys/kernel/modules_disabled")
            .is_some_and(|v| v == "1")
    }

    /// Whether `modules.builtin` of the module directory `module_dir` (a
    /// system path) lists the module `name` as built into the kernel.
    pub fn listed_builtin(&self, module_dir: &Path, name: &str) -> bool {
        let Some(bytes) = self.read_bytes(module_dir.join("modules.builtin"), input::INDEX) else {
            return false;
        };
        let text = String::from_utf8_lossy(&bytes);
        text.lines().any(|line| {
            Path::new(line.trim())
                .file_name()
                .and_then(|f| f.to_str())
                .map(|f| f.split('.').next().unwrap_or(f))
                .is_some_and(|stem| normalize_module_name(stem) == name)
        })
    }

    /// The first file of the running kernel's module index (`modules.*` in
    /// its module directory) that libkmod would block on or read without
    /// end (a FIFO, a device), as "FILE (a FIFO)".
    pub fn blocking_index(&self) -> Option<String> {
        let dir = self.root.module_dir(&self.release)?;
        let mut names: Vec<String> = fs::read_dir(self.root.path(&dir))
            .ok()?
            .flatten()
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| name.starts_with("modules."))
            .collect();
        names.sort();
        names.into_iter().find_map(|name| {
            let file = dir.join(name);
            let what = input::would_block(&self.root.path(&file))?;
            Some(format!("{} ({what})", file.display()))
        })
    }

    /// A libkmod context for the running kernel. Under a test root, the
    /// module directory and modprobe.d directories are those of the root.
    pub fn libkmod_context<'l>(&self, lib: &'l Libkmod) -> Option<Context<'l>> {
        if self.root.is_system_root() {
            return lib.context(None, None);
        }
        self.libkmod_context_for(lib, &self.release)
    }

    /// A libkmod context for the modules of kernel `release`, which need
    /// not be the running one.
    pub fn libkmod_context_for<'l>(&self, lib: &'l Libkmod, release: &str) -> Option<Context<'l>> {
        let module_dir = self
            .root
            .module_dir(release)
            .unwrap_or_else(|| Path::new("/lib/modules").join(release));
        let module_dir = self.root.path(module_dir);
        if self.root.is_system_root() {
            return lib.context(Some(&module_dir), None);
        }
        let configs = MODPROBE_D_DIRS.map(|dir| self.root.path(dir));
        let config_refs: Vec<&Path> = configs.iter().map(|p| p.as_path()).collect();
        lib.context(Some(&module_dir), Some(&config_refs))
    }
}

fn uname_release() -> Option<String> {
    nix::sys::utsname::uname()
        .ok()
        .and_then(|u| u.release().to_str().map(str::to_string))
}

/// Whether this process may load modules: CAP_SYS_MODULE in its effective
/// set. `None` when /proc/self/status cannot tell.
pub(crate) fn has_cap_sys_module() -> Option<bool> {
    const CAP_SYS_MODULE: u32 = 16;
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))?
        .trim();
    let caps = u64::from_str_radix(hex, 16).ok()?;
    Some(caps & (1 << CAP_SYS_MODULE) != 0)
}

/// Module names are the same with `-` or `_`; the kernel uses `_`.
pub(crate) fn normalize_module_name(name: &str) -> String {
    name.replace('-', "_")
}

/// The module a module file holds, by its name:
/// `kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko.xz` → `nf_defrag_ipv4`.
pub(crate) fn module_name_of(file: &str) -> String {
    let base = Path::new(file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = base.split(".ko").next().unwrap_or(&base);
    normalize_module_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_only_in_usr_lib_modules_are_installed() {
        let dir = std::env::temp_dir().join(format!("kmod-ready-usrlib-{}", std::process::id()));
        fs::create_dir_all(dir.join("usr/lib/modules/6.9.0-usr/kernel")).unwrap();
        fs::create_dir_all(dir.join("lib/modules/6.1.0-lib/kernel")).unwrap();
        let root = Root::new(&dir);
        assert_eq!(root.installed_releases(), ["6.1.0-lib", "6.9.0-usr"]);
        assert_eq!(
            root.module_dir("6.9.0-usr"),
            Some(PathBuf::from("/usr/lib/modules/6.9.0-usr"))
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
