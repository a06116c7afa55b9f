//! How each cause reads: the short summary and fix that `check` prints,
//! and the line kmod-ready logs. Every sentence of advice is here, once.

use crate::libkmod::LIBRARY;

use super::{Cause, LoadStep};

/// The fix when libkmod is missing, for the failure and for `check`'s
/// warning alike.
pub const INSTALL_LIBKMOD: &str =
    "install libkmod2 (Debian, Ubuntu, SUSE) or kmod-libs (RHEL, Fedora)";

/// How a cause reads: `summary` and `fix` for `check`, and `logged`, the
/// rest of the line kmod-ready logs after "MODULE: " (none when it never
/// logs this cause).
pub(super) struct Wording {
    pub summary: String,
    pub fix: String,
    pub logged: Option<String>,
}

impl Wording {
    fn new(summary: String, fix: &str, logged: Option<String>) -> Wording {
        Wording {
            summary,
            fix: fix.to_string(),
            logged,
        }
    }

    /// Logged as "REASON: FIX".
    fn reason_fix(reason: String, fix: &str) -> Wording {
        let logged = Some(format!("{reason}: {fix}"));
        Wording::new(reason, fix, logged)
    }
}

impl Cause {
    pub(super) fn wording(&self, module: &str) -> Wording {
        use Cause::*;
        match self {
            ModuleDirMissing { .. } | NotFound { .. } | Container { .. } => self.absent(module),
            LibkmodMissing { .. } | ContextFailed | LookupFailed { .. } => self.libkmod(module),
            BlacklistedAlias { .. } | Blacklisted { .. } => self.blacklist(module),
            NotLoaded { .. } | KubeliteOverrideReset { .. } => self.not_loaded(module),
            TimedOut { .. } | Interrupted { .. } | LoadedNotReady { .. } => self.waiting(module),
            LoadTimedOut { timeout, step } => load_timed_out(timeout, step),
            KubeliteCommandRejected { command, reason } => {
                command_rejected(module, command, reason)
            }
            KernelWithoutModules { release, option } => {
                let option = option.as_deref().unwrap_or("its CONFIG_ option");
                Wording::reason_fix(
                    format!(
                        "kernel {release} has no module support (no /proc/modules), so {module} \
                         cannot be loaded"
                    ),
                    &format!("build it in: {option}=y (or boot a kernel with CONFIG_MODULES=y)"),
                )
            }
            ConfigNotRegular { file } => Wording::reason_fix(
                format!("{file} in modprobe.d is not a regular file, which libkmod would block on"),
                "remove it, or make it a symlink to /dev/null to mask a file",
            ),
            _ => self.refused(),
        }
    }

    /// Nothing to load here: no module tree, no such module, a container.
    fn absent(&self, module: &str) -> Wording {
        match self {
            Cause::ModuleDirMissing { release, installed } => {
                let list = if installed.is_empty() {
                    "none".to_string()
                } else {
                    installed.join(", ")
                };
                let fix = if installed.is_empty() {
                    format!("install the modules for {release}")
                } else {
                    "reboot into an installed kernel: `systemctl reboot`".to_string()
                };
                let logged = format!(
                    "/lib/modules/{release} does not exist, so the running kernel {release} has \
                     no loadable modules (installed: {list}); kernel upgraded without a reboot? \
                     Reboot into the installed kernel, or install the modules for {release}"
                );
                let summary =
                    format!("kernel {release} has no /lib/modules/{release}, installed: {list}");
                Wording::new(summary, &fix, Some(logged))
            }
            Cause::NotFound {
                module_dir,
                release,
            } => Wording::new(
                format!("{module} is not in {module_dir}"),
                &format!("install the modules for {release}, then `depmod -a`"),
                Some(format!(
                    "not found in {module_dir} (kernel {release}): install the package that has \
                     the modules for {release} (Ubuntu: linux-modules-extra-{release}) and run \
                     `depmod -a`, or check the name"
                )),
            ),
            Cause::Container { kind } => Wording::new(
                format!("in a container ({kind}), only the host can load {module}"),
                &format!("run `modprobe {module}` on the host"),
                Some(format!(
                    "running in a container ({kind}), where only the host can load kernel \
                     modules: load it on the host (`modprobe {module}`, or list it in \
                     /etc/modules-load.d/ there); for LXD: `lxc config set CONTAINER \
                     linux.kernel_modules {module}`"
                )),
            ),
            _ => unreachable!("absent() is called for its own causes only"),
        }
    }

    fn libkmod(&self, module: &str) -> Wording {
        match self {
            Cause::LibkmodMissing { error } => Wording::new(
                format!("{LIBRARY} is missing and {module} is not loaded"),
                INSTALL_LIBKMOD,
                Some(format!(
                    "cannot load {LIBRARY} ({error}): {INSTALL_LIBKMOD}"
                )),
            ),
            Cause::ContextFailed => Wording::reason_fix(
                "libkmod could not set up (out of memory?)".into(),
                "try again",
            ),
            Cause::LookupFailed { errno } => Wording::reason_fix(
                format!("libkmod could not look it up ({errno})"),
                "check the module index with `depmod -a`",
            ),
            _ => unreachable!("libkmod() is called for its own causes only"),
        }
    }

    fn blacklist(&self, module: &str) -> Wording {
        match self {
            Cause::BlacklistedAlias { target } => Wording::reason_fix(
                format!(
                    "it is an alias of {target}, which modprobe.d blacklists, so nothing was loaded"
                ),
                &format!("ask for {target} by name, or remove the blacklist line"),
            ),
            Cause::Blacklisted { at, resolved } => {
                let fix = match resolved {
                    Some(names) => {
                        format!("run `kmod-ready {names}` (by name), or delete the blacklist line")
                    }
                    None => format!("run `kmod-ready {module}` (it loads it anyway)"),
                };
                Wording::new(format!("{module} is blacklisted ({at})"), &fix, None)
            }
            _ => unreachable!("blacklist() is called for its own causes only"),
        }
    }

    fn not_loaded(&self, module: &str) -> Wording {
        match self {
            Cause::NotLoaded {
                nothing_loads_it: true,
            } => Wording::new(
                format!("{module} is not loaded and nothing loads it before kubelite"),
                &format!("run `kmod-ready {module}`, and reinstall kmod-ready for its drop-in"),
                None,
            ),
            Cause::NotLoaded { .. } => Wording::new(
                format!("{module} is not loaded"),
                &format!("run `kmod-ready {module}` as root"),
                None,
            ),
            Cause::KubeliteOverrideReset { file, unit } => Wording::new(
                format!("{module} is not loaded and an override stops kmod-ready before kubelite"),
                &format!(
                    "`systemctl edit {}`, add `ExecStartPre=/usr/sbin/kmod-ready {module}`",
                    unit.trim_end_matches(".service")
                ),
                Some(format!(
                    "{} has an empty ExecStartPre=, which removes every earlier ExecStartPre= \
                     (kmod-ready's included): add ExecStartPre=/usr/sbin/kmod-ready {module} \
                     after it, or delete the override",
                    file.display()
                )),
            ),
            _ => unreachable!("not_loaded() is called for its own causes only"),
        }
    }

    fn waiting(&self, module: &str) -> Wording {
        match self {
            Cause::TimedOut { timeout, missing } => Wording::reason_fix(
                format!(
                    "still missing after {timeout}: {missing}; the module may still be \
                     initialising or failed in the kernel"
                ),
                "see `dmesg`, or raise --timeout",
            ),
            Cause::Interrupted { signal, missing } => Wording::new(
                format!("interrupted by {signal} while waiting for {missing}; not ready"),
                "run it again once the system is up",
                Some(format!(
                    "interrupted by {signal} while waiting for {missing}; not ready"
                )),
            ),
            Cause::LoadedNotReady { missing, coming } => {
                let fix = if *coming {
                    format!(
                        "it is still initialising: wait (`kmod-ready --timeout 30s {module}`), \
                         or see `dmesg`"
                    )
                } else {
                    "see `dmesg`".to_string()
                };
                Wording::new(
                    format!("{module} is loaded but {missing} is missing"),
                    &fix,
                    None,
                )
            }
            _ => unreachable!("waiting() is called for its own causes only"),
        }
    }

    /// The kernel refused the module; logged after "loading failed (ERRNO): ".
    fn refused(&self) -> Wording {
        let (reason, fix) = match self {
            Cause::NoCapSysModule => (
                "this process lacks CAP_SYS_MODULE".to_string(),
                "run kmod-ready as root (the packaged drop-in does)".to_string(),
            ),
            Cause::Lockdown { mode } => (
                format!(
                    "the kernel is locked down ({mode}, e.g. by Secure Boot) and loads only \
                     modules signed with a trusted key"
                ),
                "install a signed module or enroll its key (`mokutil --import`)".to_string(),
            ),
            Cause::KernelRefused => (
                "the kernel refused it".to_string(),
                "see `dmesg` (Secure Boot, an LSM policy)".to_string(),
            ),
            Cause::SignatureRejected => (
                "the kernel rejected the module's signature".to_string(),
                "install a module signed for this kernel, or enroll its signing key \
                 (`mokutil --import`)"
                    .to_string(),
            ),
            Cause::BadFormat { release } => (
                format!("invalid module format, not built for kernel {release}"),
                format!("reinstall the modules package for {release}"),
            ),
            Cause::UnknownSymbol { failed } => (
                "unknown symbol or parameter".to_string(),
                format!("see `dmesg` and the `options {failed}` lines in modprobe.d"),
            ),
            Cause::InstallLineFailed { failed } => (
                "invalid parameters or install command".to_string(),
                format!("see `dmesg` and the `options`/`install` lines for {failed} in modprobe.d"),
            ),
            _ => return self.refused_in_own_words(),
        };
        Wording::reason_fix(reason, &fix)
    }

    /// Refusals whose line is not "REASON: FIX", or whose summary for
    /// `check` is worded apart.
    fn refused_in_own_words(&self) -> Wording {
        match self {
            Cause::DeniedOnCommandLine { denied } => Wording::new(
                format!("module_blacklist={denied} is on the kernel command line"),
                "remove it from GRUB_CMDLINE_LINUX in /etc/default/grub, `update-grub`, reboot",
                Some(format!(
                    "module_blacklist= on the kernel command line denies {denied}: remove it \
                     from the boot loader's command line (GRUB_CMDLINE_LINUX in \
                     /etc/default/grub, then update-grub) and reboot"
                )),
            ),
            Cause::ModulesDisabled => {
                let reason =
                    "module loading is disabled until the next boot (kernel.modules_disabled=1)";
                let logged = Some(reason.to_string());
                Wording::new(reason.to_string(), "reboot: `systemctl reboot`", logged)
            }
            Cause::NoModuleSupport { release } => {
                let reason =
                    format!("kernel {release} cannot load modules (built without CONFIG_MODULES)");
                let logged = Some(reason.clone());
                Wording::new(reason, "boot a kernel built with CONFIG_MODULES=y", logged)
            }
            Cause::InsertFailed => {
                let fix = "see `dmesg` for the kernel's reason";
                Wording::new("the kernel refused it".into(), fix, Some(fix.into()))
            }
            _ => unreachable!("refused() is called for its own causes only"),
        }
    }
}

/// The timeout ran out during loading: name what was still running.
fn load_timed_out(timeout: &str, step: &LoadStep) -> Wording {
    let (running, fix) = match step {
        LoadStep::Reading => (
            "libkmod was still reading modprobe.d and the module index".to_string(),
            "look for a FIFO or device among the modprobe.d files, or raise --timeout".to_string(),
        ),
        LoadStep::Install { module } => (
            format!("the modprobe.d install command of {module} was still running"),
            format!("see the `install` line for {module} in modprobe.d, or raise --timeout"),
        ),
        LoadStep::Init { module } => (
            format!("the kernel was still running the init function of {module}"),
            "see `dmesg`, or raise --timeout".to_string(),
        ),
    };
    Wording::reason_fix(format!("not ready after {timeout}: {running}"), &fix)
}

/// kubelite's `ExecStartPre=` gives kmod-ready arguments it refuses.
fn command_rejected(module: &str, command: &str, reason: &str) -> Wording {
    Wording::new(
        format!("kubelite cannot start: its ExecStartPre= `{command}` would exit 64 ({reason})"),
        &format!(
            "`systemctl edit snap.microk8s.daemon-kubelite`, and correct the kmod-ready \
             arguments (e.g. `ExecStartPre=/usr/sbin/kmod-ready {module}`)"
        ),
        Some(format!(
            "ExecStartPre= `{command}` of kubelite would exit 64: {reason}; kubelite would not \
             start"
        )),
    )
}
