//! Loading one module through libkmod, and naming the cause when that fails.

use std::path::Path;

use nix::errno::Errno;

use crate::libkmod::{Context, InitState, Libkmod, LIBRARY};
use crate::logging::message_id;
use crate::modprobe_d::MODPROBE_D_DIRS;
use crate::readiness::sys_module_dir;
use crate::status::Status;
use crate::system::{cmdline_module_blacklist, has_cap_sys_module, normalize_module_name, Root};

/// Why a module is not ready: the exit status and the one line that names
/// the module, the cause and the fix.
#[derive(Debug)]
pub struct Failure {
    pub status: Status,
    pub module: String,
    pub message: String,
    pub errno: Option<Errno>,
}

impl Failure {
    fn new(status: Status, module: &str, message: String) -> Failure {
        Failure {
            status,
            module: module.to_string(),
            message,
            errno: None,
        }
    }

    fn with_errno(mut self, errno: Errno) -> Failure {
        self.errno = Some(errno);
        self
    }

    pub fn log(&self, release: &str) {
        let errno = self.errno.map_or(0, |e| e as i32);
        log::error!(
            MESSAGE_ID = message_id::LOAD_FAILED,
            KMOD_MODULE = self.module.as_str(),
            KMOD_ERRNO = errno,
            KMOD_KERNEL_RELEASE = release;
            "{}", self.message
        );
    }
}

/// What the running system looks like, read once, for loading and for
/// explaining failures.
pub struct Facts {
    pub root: Root,
    pub release: String,
    pub container: Option<String>,
}

impl Facts {
    pub fn read(root: Root) -> Facts {
        Facts {
            release: root.kernel_release(),
            container: root.container(),
            root,
        }
    }

    /// In a container, why `module` cannot be loaded here and what to do.
    pub fn in_container(&self, module: &str) -> Option<Failure> {
        let kind = self.container.as_deref()?;
        Some(Failure::new(
            Status::NotPermitted,
            module,
            format!(
                "{module}: running in a container ({kind}), where only the host can load kernel \
                 modules: load it on the host (`modprobe {module}`, or list it in \
                 /etc/modules-load.d/ there); for LXD: `lxc config set CONTAINER \
                 linux.kernel_modules {module}`"
            ),
        ))
    }
}

/// What loading one requested name did.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Modules libkmod inserted (or ran an `install` command for), in order.
    pub inserted: Vec<String>,
    /// Modules the name resolved to that are built into the kernel.
    pub builtin: Vec<String>,
    /// Every module the name resolved to (itself, unless it is an alias).
    pub resolved: Vec<String>,
}

pub fn open_libkmod(modules: &[String]) -> Result<Libkmod, Failure> {
    Libkmod::open().map_err(|err| {
        Failure::new(
            Status::Unavailable,
            &modules.join(" "),
            format!(
                "{}: cannot load {LIBRARY} ({err}): install libkmod2 (Debian, Ubuntu) or \
                 kmod-libs (RHEL, Fedora)",
                modules.join(", ")
            ),
        )
    })
}

/// A libkmod context for the running kernel. Under a test root, the module
/// directory and modprobe.d directories are those of the root.
pub fn context<'l>(lib: &'l Libkmod, facts: &Facts, module: &str) -> Result<Context<'l>, Failure> {
    let context = if facts.root.is_system_root() {
        lib.context(None, None)
    } else {
        let module_dir = facts
            .root
            .path(Path::new("/lib/modules").join(&facts.release));
        let configs = MODPROBE_D_DIRS.map(|dir| facts.root.path(dir));
        let config_refs: Vec<&Path> = configs.iter().map(|p| p.as_path()).collect();
        lib.context(Some(&module_dir), Some(&config_refs))
    };
    context.ok_or_else(|| {
        Failure::new(
            Status::Unavailable,
            module,
            format!("{module}: libkmod could not set up (out of memory?): try again"),
        )
    })
}

/// Loads `name` (a module name or alias) as `modprobe NAME` would.
pub fn load(ctx: &Context, facts: &Facts, name: &str) -> Result<Loaded, Failure> {
    // Decided from the filesystem: without the module directory, libkmod 28
    // fails the lookup with ENOSYS where libkmod 30 finds nothing.
    let Some(module_dir) = facts.root.module_dir(&facts.release) else {
        return Err(not_found(facts, name));
    };
    let list = ctx.lookup(name).map_err(|rc| {
        let errno = Errno::from_raw(-rc);
        Failure::new(
            Status::BadConfig,
            name,
            format!("{name}: libkmod could not look it up ({errno}): check the module index with `depmod -a`"),
        )
        .with_errno(errno)
    })?;
    let modules = list.modules();
    if modules.is_empty() {
        // libkmod 28 does not read modules.builtin when depmod wrote an empty
        // modules.builtin.alias.bin (a kernel without modules.builtin.modinfo).
        let module = normalize_module_name(name);
        if !facts.root.listed_builtin(&module_dir, &module) {
            return Err(not_found(facts, name));
        }
        log_builtin(&module);
        return Ok(Loaded {
            builtin: vec![module.clone()],
            resolved: vec![module],
            ..Loaded::default()
        });
    }
    // A failed filter only costs the warning below, never the load.
    let blacklisted = list.blacklisted().unwrap_or_default();
    let mut loaded = Loaded::default();
    for module in &modules {
        let module_name = module.name();
        loaded.resolved.push(module_name.clone());
        if module.initstate() == InitState::Builtin {
            log_builtin(&module_name);
            loaded.builtin.push(module_name);
            continue;
        }
        if blacklisted.contains(&module_name) {
            log::warn!(
                MESSAGE_ID = message_id::BLACKLIST_OVERRIDDEN,
                KMOD_MODULE = module_name.as_str();
                "{module_name}: blacklisted in modprobe.d, loaded anyway because it was asked for \
                 by name (as modprobe does); remove the blacklist line to silence this"
            );
        }
        log::debug!(KMOD_MODULE = module_name.as_str(); "{module_name}: probing {}", module.path().unwrap_or_default());
        let probe = module.probe();
        match probe.rc {
            0 => {}
            rc if rc == -(Errno::EEXIST as i32) => {
                log::debug!("{module_name}: already in the kernel (loaded by another process)");
            }
            rc if rc > 0 => {
                return Err(Failure::new(
                    Status::BadConfig,
                    name,
                    format!(
                        "{name}: it is an alias of {module_name}, which modprobe.d blacklists, so \
                         nothing was loaded: ask for {module_name} by name, or remove the blacklist line"
                    ),
                ))
            }
            rc => {
                let failed = probe.attempted.last().cloned().unwrap_or_else(|| module_name.clone());
                return Err(insert_failed(facts, name, &failed, Errno::from_raw(-rc)));
            }
        }
        for attempted in probe.attempted {
            // libkmod ignores a soft dependency the kernel refuses (as
            // crc32c_intel on a CPU without SSE4.2): only what is now in the
            // kernel was loaded.
            if !facts.root.exists(sys_module_dir(&attempted)) {
                log::debug!("{attempted}: soft dependency not loaded (ignored, as modprobe does)");
                continue;
            }
            log::info!(
                MESSAGE_ID = message_id::LOADED,
                KMOD_MODULE = attempted.as_str();
                "loaded {attempted}"
            );
            loaded.inserted.push(attempted);
        }
    }
    Ok(loaded)
}

fn log_builtin(module: &str) {
    log::info!(KMOD_MODULE = module; "{module}: built into the kernel, nothing to load");
}

/// The name resolves to nothing: say whether the kernel has no modules at
/// all (upgraded without a reboot?) or just not this one.
pub fn not_found(facts: &Facts, name: &str) -> Failure {
    if let Some(failure) = facts.in_container(name) {
        return failure;
    }
    let release = &facts.release;
    let message = match facts.root.module_dir(release) {
        None => {
            let installed = facts.root.installed_releases();
            let installed = if installed.is_empty() {
                "none".to_string()
            } else {
                installed.join(", ")
            };
            format!(
                "{name}: /lib/modules/{release} does not exist, so the running kernel {release} \
                 has no loadable modules (installed: {installed}); kernel upgraded without a \
                 reboot? Reboot into the installed kernel, or install the modules for {release}"
            )
        }
        Some(dir) => format!(
            "{name}: not found in {} (kernel {release}): install the package that has the \
             modules for {release} (Ubuntu: linux-modules-extra-{release}) and run `depmod -a`, \
             or check the name",
            dir.display()
        ),
    };
    Failure::new(Status::Unavailable, name, message)
}

/// The kernel (or an `install` command) refused `failed` while loading
/// `name`: map the errno to its cause and fix.
fn insert_failed(facts: &Facts, name: &str, failed: &str, errno: Errno) -> Failure {
    let release = &facts.release;
    let prefix = if failed == normalize_module_name(name) {
        format!("{name}: loading failed ({errno})")
    } else {
        format!("{name}: loading its dependency {failed} failed ({errno})")
    };
    let (status, cause) = match errno {
        Errno::EPERM | Errno::EACCES => return not_permitted(facts, name, failed, &prefix).with_errno(errno),
        Errno::EKEYREJECTED | Errno::ENOKEY | Errno::EKEYEXPIRED | Errno::EBADMSG => (
            Status::NotPermitted,
            "the kernel rejected the module's signature: install a module signed for this \
             kernel, or enroll its signing key (`mokutil --import`)"
                .to_string(),
        ),
        Errno::ENOSYS => (
            Status::Unavailable,
            format!("kernel {release} cannot load modules (built without CONFIG_MODULES)"),
        ),
        Errno::ENOEXEC => (
            Status::Unavailable,
            format!("invalid module format, not built for kernel {release}: reinstall the modules package for {release}"),
        ),
        Errno::ENOENT => (
            Status::Unavailable,
            format!("unknown symbol or parameter: see `dmesg` and the `options {failed}` lines in modprobe.d"),
        ),
        Errno::EINVAL => (
            Status::BadConfig,
            format!("invalid parameters or install command: see `dmesg` and the `options`/`install` lines for {failed} in modprobe.d"),
        ),
        _ => (Status::Unavailable, "see `dmesg` for the kernel's reason".to_string()),
    };
    Failure::new(status, name, format!("{prefix}: {cause}")).with_errno(errno)
}

fn not_permitted(facts: &Facts, name: &str, failed: &str, prefix: &str) -> Failure {
    if cmdline_module_blacklist(&facts.root.kernel_cmdline())
        .iter()
        .any(|m| m == failed)
    {
        return Failure::new(
            Status::NotPermitted,
            name,
            format!("{prefix}: {}", cmdline_blacklist_advice(failed)),
        );
    }
    if let Some(failure) = facts.in_container(name) {
        return failure;
    }
    let cause = if has_cap_sys_module() == Some(false) {
        "this process lacks CAP_SYS_MODULE: run kmod-ready as root (the packaged drop-in does)"
            .to_string()
    } else if facts.root.modules_disabled() {
        "module loading is disabled until the next boot (kernel.modules_disabled=1)".to_string()
    } else if let Some(mode) = facts.root.lockdown() {
        lockdown_advice(&mode)
    } else {
        "the kernel refused it: see `dmesg` (Secure Boot, an LSM policy)".to_string()
    };
    Failure::new(Status::NotPermitted, name, format!("{prefix}: {cause}"))
}

/// The cause and fix when `module_blacklist=` on the kernel command line
/// names `module`.
pub fn cmdline_blacklist_advice(module: &str) -> String {
    format!(
        "module_blacklist= on the kernel command line denies {module}: remove it from the boot \
         loader's command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub) and \
         reboot"
    )
}

/// The cause and fix when the kernel is locked down in `mode`.
pub fn lockdown_advice(mode: &str) -> String {
    format!(
        "the kernel is locked down ({mode}, e.g. by Secure Boot) and loads only modules signed \
         with a trusted key: install a signed module or enroll its key (`mokutil --import`)"
    )
}
