//! How each cause of the boot path reads and ends: one exhaustive `match`
//! giving its exit status, journal entry, `check`'s summary and fix, the
//! line kmod-ready logs and the short line of `check --npd` (what only
//! `check` finds is in finding.rs, the warnings in warning.rs). Every
//! sentence of advice is in these rooms, once.

use std::path::Path;

use crate::cli::format_duration;
use crate::libkmod::LIBRARY;
use crate::status::Status;

use super::{Cause, Description, Entry, LoadStep, Logged, Wording};

/// The fix when libkmod is missing, for the failure and for `check`'s
/// warning alike.
pub(super) const INSTALL_LIBKMOD: &str =
    "install libkmod2 (Debian, Ubuntu, SUSE) or kmod-libs (RHEL, Fedora)";

impl Cause {
    pub(super) fn describe(&self, module: &str) -> Description {
        // Most causes are a failure to load, logged as such.
        let failed = |status, words, short| Description {
            status,
            entry: Entry::LoadFailed,
            words,
            short,
        };
        let timed_out = |entry, words, short| Description {
            status: Status::TimedOut,
            entry,
            words,
            short,
        };
        match self {
            Cause::ModuleDirMissing { release, installed } => failed(
                Status::Unavailable,
                module_dir_missing(release, installed),
                format!("{module}: running kernel {release} has no /lib/modules; reboot"),
            ),
            Cause::NotFound {
                module_dir,
                release,
            } => failed(
                Status::Unavailable,
                Wording::logged_as(
                    format!("{module} is not in {module_dir}"),
                    format!("install the modules for {release}, then `depmod -a`"),
                    format!(
                        "not found in {module_dir} (kernel {release}): install the package that has \
                         the modules for {release} (Ubuntu: linux-modules-extra-{release}) and run \
                         `depmod -a`, or check the name"
                    ),
                ),
                format!("{module}: not found for kernel {release}"),
            ),
            Cause::KernelWithoutModules { release, option } => {
                let option = option.as_deref().unwrap_or("its CONFIG_ option");
                failed(
                    Status::Unavailable,
                    Wording::reason_fix(
                        format!(
                            "kernel {release} has no module support (no /proc/modules), so {module} \
                             cannot be loaded"
                        ),
                        format!("build it in: {option}=y (or boot a kernel with CONFIG_MODULES=y)"),
                    ),
                    format!("{module}: kernel {release} has no module support; build it in"),
                )
            }
            Cause::Container { kind } => failed(
                Status::NotPermitted,
                Wording {
                    summary: format!("in a container ({kind}), only the host can load {module}"),
                    fix: format!("run `modprobe {module}` on the host"),
                    // Why any insertion fails: the refused one is not named.
                    logged: Logged::WithoutInsertion(format!(
                        "running in a container ({kind}), where only the host can load kernel \
                         modules: load it on the host (`modprobe {module}`, or list it in \
                         /etc/modules-load.d/ there); for LXD: `lxc config set CONTAINER \
                         linux.kernel_modules {module}`"
                    )),
                },
                format!("{module}: in a container ({kind}); load it on the host"),
            ),
            Cause::LibkmodMissing { error } => failed(
                Status::Unavailable,
                Wording::logged_as(
                    format!("{LIBRARY} is missing and {module} is not loaded"),
                    INSTALL_LIBKMOD,
                    format!("cannot load {LIBRARY} ({error}): {INSTALL_LIBKMOD}"),
                ),
                format!("{module}: not loaded; {LIBRARY} is missing"),
            ),
            Cause::ContextFailed => failed(
                Status::Unavailable,
                Wording::reason_fix("libkmod could not set up (out of memory?)".into(), "try again"),
                format!("{module}: libkmod could not set up"),
            ),
            Cause::LookupFailed { errno } => failed(
                Status::BadConfig,
                Wording::reason_fix(
                    format!("libkmod could not look it up ({errno})"),
                    "check the module index with `depmod -a`",
                ),
                format!("{module}: libkmod lookup failed ({errno})"),
            ),
            Cause::BlacklistedAlias { target } => failed(
                Status::BadConfig,
                Wording::reason_fix(
                    format!(
                        "it is an alias of {target}, which modprobe.d blacklists, so nothing was loaded"
                    ),
                    format!("ask for {target} by name, or remove the blacklist line"),
                ),
                format!("{module}: alias of {target}, which modprobe.d blacklists"),
            ),
            Cause::DeniedOnCommandLine { denied } => failed(
                Status::NotPermitted,
                Wording::reason_fix(
                    format!("module_blacklist={denied} is on the kernel command line"),
                    "remove it from the boot loader's command line (GRUB: GRUB_CMDLINE_LINUX in \
                     /etc/default/grub, then `update-grub`) and reboot",
                ),
                format!("{module}: module_blacklist= on the kernel command line"),
            ),
            Cause::NoCapSysModule => failed(
                Status::NotPermitted,
                Wording::reason_fix(
                    "this process lacks CAP_SYS_MODULE".into(),
                    "run kmod-ready as root (the packaged drop-in does)",
                ),
                format!("{module}: not loaded; no CAP_SYS_MODULE"),
            ),
            Cause::ModulesDisabled => {
                let reason =
                    "module loading is disabled until the next boot (kernel.modules_disabled=1)";
                failed(
                    Status::NotPermitted,
                    Wording {
                        summary: reason.into(),
                        fix: "reboot: `systemctl reboot`".into(),
                        // `check` finds it before any insertion, and its summary says it.
                        logged: Logged::OnlyAfterInsertion(reason.into()),
                    },
                    format!("{module}: module loading disabled until the next boot"),
                )
            }
            Cause::Lockdown { mode } => failed(
                Status::NotPermitted,
                Wording::reason_fix(
                    format!(
                        "the kernel is locked down ({mode}, e.g. by Secure Boot) and loads only \
                         modules signed with a trusted key"
                    ),
                    "install a signed module or enroll its key (`mokutil --import`)",
                ),
                format!("{module}: kernel locked down ({mode}); only signed modules load"),
            ),
            Cause::KernelRefused => failed(
                Status::NotPermitted,
                Wording::reason_fix(
                    "the kernel refused it".into(),
                    "see `dmesg` (Secure Boot, an LSM policy)",
                ),
                format!("{module}: the kernel refused it"),
            ),
            Cause::SignatureRejected => failed(
                Status::NotPermitted,
                Wording::reason_fix(
                    "the kernel rejected the module's signature".into(),
                    "install a module signed for this kernel, or enroll its signing key \
                     (`mokutil --import`)",
                ),
                format!("{module}: the kernel rejected its signature"),
            ),
            Cause::NoModuleSupport { release } => failed(
                Status::Unavailable,
                Wording::reason_only(
                    format!("kernel {release} cannot load modules (built without CONFIG_MODULES)"),
                    "boot a kernel built with CONFIG_MODULES=y",
                ),
                format!("{module}: kernel {release} was built without CONFIG_MODULES"),
            ),
            Cause::BadFormat { release } => failed(
                Status::Unavailable,
                Wording::reason_fix(
                    format!("invalid module format, not built for kernel {release}"),
                    format!("reinstall the modules package for {release}"),
                ),
                format!("{module}: not built for kernel {release}"),
            ),
            Cause::UnknownSymbol { failed: refused } => failed(
                Status::Unavailable,
                Wording::reason_fix(
                    "unknown symbol or parameter".into(),
                    format!("see `dmesg` and the `options {refused}` lines in modprobe.d"),
                ),
                format!("{module}: unknown symbol or parameter"),
            ),
            Cause::InstallLineFailed { failed: refused } => failed(
                Status::BadConfig,
                Wording::reason_fix(
                    "invalid parameters or install command".into(),
                    format!(
                        "see `dmesg` and the `options`/`install` lines for {refused} in modprobe.d"
                    ),
                ),
                format!("{module}: invalid parameters or install command"),
            ),
            Cause::InsertFailed => {
                let fix = "see `dmesg` for the kernel's reason";
                failed(
                    Status::Unavailable,
                    Wording::logged_as("the kernel refused it".into(), fix, fix.into()),
                    format!("{module}: the kernel refused it"),
                )
            }
            Cause::InstallDidNotLoad {
                module: installed,
                install,
            } => failed(
                Status::BadConfig,
                Wording::reason_fix(
                    format!(
                        "the modprobe.d line `install {installed} {}` ({}) ran instead of loading \
                         {installed}, and did not load it",
                        install.command,
                        install.at()
                    ),
                    format!(
                        "delete that line if {installed} is wanted (it disables it), or make its \
                         command load it"
                    ),
                ),
                format!("{module}: the install line of {installed} did not load it"),
            ),
            Cause::TimedOut { timeout, missing } => timed_out(
                Entry::WaitTimedOut,
                Wording::reason_fix(
                    format!(
                        "still missing after {timeout}: {missing}, and the kernel is initialising \
                         no module (it may have failed there)"
                    ),
                    "see `dmesg`, or raise --timeout",
                ),
                format!("{module}: not ready after {timeout}"),
            ),
            Cause::WaitForMissing { timeout, missing } => {
                let fix = "check the path, and what should create it (br_netfilter creates \
                           /proc/sys/net/bridge/), or raise --timeout";
                timed_out(
                    Entry::WaitTimedOut,
                    Wording::logged_as(
                        format!(
                            "{module} is ready, but after {timeout} --wait-for {missing} is missing"
                        ),
                        fix,
                        format!(
                            "ready, but after {timeout} still missing (--wait-for): {missing}: {fix}"
                        ),
                    ),
                    format!("{module}: a --wait-for path is missing after {timeout}"),
                )
            }
            Cause::Interrupted { signal, missing } => timed_out(
                Entry::Interrupted,
                Wording::reason_only(
                    format!("interrupted by {signal} while waiting for {missing}; not ready"),
                    "run it again once the system is up",
                ),
                format!("{module}: interrupted by {signal}"),
            ),
            Cause::LoadTimedOut { timeout, step } => timed_out(
                Entry::LoadTimedOut,
                load_timed_out(timeout, step),
                format!("{module}: still loading after {timeout}"),
            ),
            Cause::InitOutlasted {
                module: initialising,
                limit,
            } => timed_out(
                Entry::LoadTimedOut,
                Wording::reason_fix(
                    format!(
                        "the kernel was still initialising {initialising} after {}, the longest \
                         kmod-ready waits while it does ({})",
                        format_duration(limit.after),
                        limit.source
                    ),
                    format!(
                        "see `dmesg` for what the init of {initialising} is doing; to wait longer, \
                         raise TimeoutStartSec= of the unit that runs kmod-ready"
                    ),
                ),
                format!(
                    "{module}: still initialising after {}",
                    format_duration(limit.after)
                ),
            ),
            Cause::ConfigNotRegular { file } => failed(
                Status::BadConfig,
                Wording::reason_fix(
                    format!("{file} in modprobe.d is not a regular file, which libkmod would block on"),
                    "remove it, or make it a symlink to /dev/null to mask a file",
                ),
                format!("{module}: libkmod would block on modprobe.d's {file}"),
            ),
            Cause::IndexNotRegular { file, release } => failed(
                Status::BadConfig,
                Wording::reason_fix(
                    format!(
                        "{file} in the module index is not a regular file, which libkmod would \
                             block on"
                    ),
                    format!("rebuild the index: `depmod -a {release}`"),
                ),
                format!("{module}: libkmod would block on the module index {file}"),
            ),
            Cause::Check(finding) => finding.describe(module),
        }
    }
}

/// How to put kmod-ready's drop-in back in effect.
pub(super) fn unmask(file: &Path) -> String {
    format!(
        "remove it: `rm {}`, then `systemctl daemon-reload`",
        file.display()
    )
}

/// The running kernel has no module tree: upgraded without a reboot, or
/// its modules were never installed.
fn module_dir_missing(release: &str, installed: &[String]) -> Wording {
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
    Wording::logged_as(
        format!("kernel {release} has no /lib/modules/{release}, installed: {list}"),
        fix,
        format!(
            "/lib/modules/{release} does not exist, so the running kernel {release} has no \
             loadable modules (installed: {list}); kernel upgraded without a reboot? Reboot into \
             the installed kernel, or install the modules for {release}"
        ),
    )
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
    };
    Wording::reason_fix(format!("not ready after {timeout}: {running}"), fix)
}
