//! How each cause reads: the short summary and fix that `check` prints,
//! and the line kmod-ready logs (its few words are in short.rs, the
//! warnings in warning.rs). Every sentence of advice is in this room, once,
//! in one exhaustive `match` per type: a new cause does not compile until it
//! has its words.

use std::path::Path;

use crate::libkmod::LIBRARY;

use super::{Cause, LoadStep, Wording};
use crate::cli::format_duration;
use crate::patience;

/// The fix when libkmod is missing, for the failure and for `check`'s
/// warning alike.
pub(super) const INSTALL_LIBKMOD: &str =
    "install libkmod2 (Debian, Ubuntu, SUSE) or kmod-libs (RHEL, Fedora)";

impl Cause {
    pub(super) fn wording(&self, module: &str) -> Wording {
        match self {
            Cause::ModuleDirMissing { release, installed } => {
                module_dir_missing(release, installed)
            }
            Cause::NotFound {
                module_dir,
                release,
            } => Wording::logged_as(
                format!("{module} is not in {module_dir}"),
                format!("install the modules for {release}, then `depmod -a`"),
                format!(
                    "not found in {module_dir} (kernel {release}): install the package that has \
                     the modules for {release} (Ubuntu: linux-modules-extra-{release}) and run \
                     `depmod -a`, or check the name"
                ),
            ),
            Cause::KernelWithoutModules { release, option } => {
                let option = option.as_deref().unwrap_or("its CONFIG_ option");
                Wording::reason_fix(
                    format!(
                        "kernel {release} has no module support (no /proc/modules), so {module} \
                         cannot be loaded"
                    ),
                    format!("build it in: {option}=y (or boot a kernel with CONFIG_MODULES=y)"),
                )
            }
            Cause::Container { kind } => Wording::logged_as(
                format!("in a container ({kind}), only the host can load {module}"),
                format!("run `modprobe {module}` on the host"),
                format!(
                    "running in a container ({kind}), where only the host can load kernel \
                     modules: load it on the host (`modprobe {module}`, or list it in \
                     /etc/modules-load.d/ there); for LXD: `lxc config set CONTAINER \
                     linux.kernel_modules {module}`"
                ),
            ),
            Cause::LibkmodMissing { error } => Wording::logged_as(
                format!("{LIBRARY} is missing and {module} is not loaded"),
                INSTALL_LIBKMOD,
                format!("cannot load {LIBRARY} ({error}): {INSTALL_LIBKMOD}"),
            ),
            Cause::ContextFailed => Wording::reason_fix(
                "libkmod could not set up (out of memory?)".into(),
                "try again",
            ),
            Cause::LookupFailed { errno } => Wording::reason_fix(
                format!("libkmod could not look it up ({errno})"),
                "check the module index with `depmod -a`",
            ),
            Cause::BlacklistedAlias { target } => Wording::reason_fix(
                format!(
                    "it is an alias of {target}, which modprobe.d blacklists, so nothing was loaded"
                ),
                format!("ask for {target} by name, or remove the blacklist line"),
            ),
            Cause::DeniedOnCommandLine { denied } => Wording::reason_fix(
                format!("module_blacklist={denied} is on the kernel command line"),
                "remove it from the boot loader's command line (GRUB: GRUB_CMDLINE_LINUX in \
                 /etc/default/grub, then `update-grub`) and reboot",
            ),
            Cause::NoCapSysModule => Wording::reason_fix(
                "this process lacks CAP_SYS_MODULE".into(),
                "run kmod-ready as root (the packaged drop-in does)",
            ),
            Cause::ModulesDisabled => Wording::reason_only(
                "module loading is disabled until the next boot (kernel.modules_disabled=1)".into(),
                "reboot: `systemctl reboot`",
            ),
            Cause::Lockdown { mode } => Wording::reason_fix(
                format!(
                    "the kernel is locked down ({mode}, e.g. by Secure Boot) and loads only \
                     modules signed with a trusted key"
                ),
                "install a signed module or enroll its key (`mokutil --import`)",
            ),
            Cause::KernelRefused => Wording::reason_fix(
                "the kernel refused it".into(),
                "see `dmesg` (Secure Boot, an LSM policy)",
            ),
            Cause::SignatureRejected => Wording::reason_fix(
                "the kernel rejected the module's signature".into(),
                "install a module signed for this kernel, or enroll its signing key \
                 (`mokutil --import`)",
            ),
            Cause::NoModuleSupport { release } => Wording::reason_only(
                format!("kernel {release} cannot load modules (built without CONFIG_MODULES)"),
                "boot a kernel built with CONFIG_MODULES=y",
            ),
            Cause::BadFormat { release } => Wording::reason_fix(
                format!("invalid module format, not built for kernel {release}"),
                format!("reinstall the modules package for {release}"),
            ),
            Cause::UnknownSymbol { failed } => Wording::reason_fix(
                "unknown symbol or parameter".into(),
                format!("see `dmesg` and the `options {failed}` lines in modprobe.d"),
            ),
            Cause::InstallLineFailed { failed } => Wording::reason_fix(
                "invalid parameters or install command".into(),
                format!("see `dmesg` and the `options`/`install` lines for {failed} in modprobe.d"),
            ),
            Cause::InsertFailed => {
                let fix = "see `dmesg` for the kernel's reason";
                Wording::logged_as("the kernel refused it".into(), fix, fix.into())
            }
            Cause::InstallDidNotLoad {
                module: installed,
                install,
            } => Wording::reason_fix(
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
            Cause::DisabledByInstallLine { at, command } => Wording::check_only(
                format!("{module} is disabled by `install {module} {command}` ({at})"),
                format!("delete that line if {module} is wanted, then run `kmod-ready {module}`"),
            ),
            Cause::TimedOut { timeout, missing } => Wording::reason_fix(
                format!(
                    "still missing after {timeout}: {missing}, and the kernel is initialising \
                     no module (it may have failed there)"
                ),
                "see `dmesg`, or raise --timeout",
            ),
            Cause::WaitForMissing { timeout, missing } => {
                let fix = "check the path, and what should create it (br_netfilter creates \
                           /proc/sys/net/bridge/), or raise --timeout";
                Wording::logged_as(
                    format!(
                        "{module} is ready, but after {timeout} --wait-for {missing} is missing"
                    ),
                    fix,
                    format!(
                        "ready, but after {timeout} still missing (--wait-for): {missing}: {fix}"
                    ),
                )
            }
            Cause::Interrupted { signal, missing } => Wording::reason_only(
                format!("interrupted by {signal} while waiting for {missing}; not ready"),
                "run it again once the system is up",
            ),
            Cause::LoadTimedOut { timeout, step } => load_timed_out(timeout, step),
            Cause::InitOutlasted {
                module: initialising,
                limit,
            } => Wording::reason_fix(
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
            Cause::LoadedNotReady {
                missing,
                initialising,
            } => {
                let fix = if let Some(initialising) = initialising {
                    let what = if initialising == module {
                        "it"
                    } else {
                        initialising
                    };
                    format!(
                        "the kernel is still initialising {what}, and `kmod-ready {module}` \
                         waits while it does, past --timeout up to the unit's start timeout \
                         less {} ({} without one); if it stays so, see `dmesg`",
                        format_duration(patience::MARGIN),
                        format_duration(patience::DEFAULT_LIMIT)
                    )
                } else {
                    "see `dmesg`".to_string()
                };
                Wording::check_only(format!("{module} is loaded but {missing} is missing"), fix)
            }
            Cause::Blacklisted { at, resolved } => {
                let fix = match resolved {
                    Some(names) => {
                        format!("run `kmod-ready {names}` (by name), or delete the blacklist line")
                    }
                    None => format!("run `kmod-ready {module}` (it loads it anyway)"),
                };
                Wording::check_only(format!("{module} is blacklisted ({at})"), fix)
            }
            Cause::NotLoaded {
                nothing_loads_it: true,
            } => Wording::check_only(
                format!("{module} is not loaded and nothing loads it before kubelite"),
                format!("run `kmod-ready {module}`, and reinstall kmod-ready for its drop-in"),
            ),
            Cause::NotLoaded {
                nothing_loads_it: false,
            } => Wording::check_only(
                format!("{module} is not loaded"),
                format!("run `kmod-ready {module}` as root"),
            ),
            Cause::KubeliteCommandRejected { command, reason } => Wording::logged_as(
                format!(
                    "kubelite cannot start: its ExecStartPre= `{command}` would exit 64 ({reason})"
                ),
                format!(
                    "`systemctl edit snap.microk8s.daemon-kubelite`, and correct the kmod-ready \
                     arguments (e.g. `ExecStartPre=/usr/sbin/kmod-ready {module}`)"
                ),
                format!(
                    "ExecStartPre= `{command}` of kubelite would exit 64: {reason}; kubelite \
                     would not start"
                ),
            ),
            Cause::KubeliteCommandUnrunnable { command, reason } => Wording::check_only(
                format!(
                    "kubelite cannot start: systemd cannot run its ExecStartPre= `{command}` \
                     ({reason})"
                ),
                format!(
                    "install what it runs, or `systemctl edit snap.microk8s.daemon-kubelite` and \
                     correct the path (the package installs /usr/sbin/kmod-ready; e.g. \
                     `ExecStartPre=/usr/sbin/kmod-ready {module}`)"
                ),
            ),
            Cause::WaitForNeverAppears { command, path } => Wording::check_only(
                format!(
                    "kubelite cannot start: its ExecStartPre= `{command}` waits for {path}, which \
                     is missing and which none of its modules creates, so it would time out"
                ),
                format!(
                    "add the module that creates {path} to that command, or remove `--wait-for \
                     {path}` (`systemctl edit snap.microk8s.daemon-kubelite`)"
                ),
            ),
            Cause::ConfigNotRegular { file } => Wording::reason_fix(
                format!("{file} in modprobe.d is not a regular file, which libkmod would block on"),
                "remove it, or make it a symlink to /dev/null to mask a file",
            ),
            Cause::DropInMasked { file } => Wording::check_only(
                format!(
                    "{module} is not loaded and {} masks kmod-ready's drop-in, so nothing loads \
                     it before kubelite",
                    file.display()
                ),
                unmask(file),
            ),
            Cause::IndexNotRegular { file, release } => Wording::reason_fix(
                format!(
                    "{file} in the module index is not a regular file, which libkmod would \
                         block on"
                ),
                format!("rebuild the index: `depmod -a {release}`"),
            ),
            Cause::NextKernelUnknown { why } => Wording::check_only(
                format!("whether {module} is there at the next boot cannot be told: {why}"),
                "check the boot loader's configuration (GRUB: `grub-editenv list`, \
                 /boot/grub/grub.cfg; Raspberry Pi: /boot/firmware/config.txt)",
            ),
            Cause::NextKernelWithoutModules { release } => Wording::check_only(
                format!(
                    "{module} cannot be loaded at the next boot: its kernel {release} has no \
                     /lib/modules/{release}"
                ),
                format!(
                    "install the modules for {release} (its linux-image or kernel-modules \
                     package), or make the boot loader boot an installed kernel"
                ),
            ),
            Cause::NextDependencyMissing { file, release } => Wording::check_only(
                format!(
                    "{module} cannot be loaded at the next boot: kernel {release}'s modules.dep \
                     says it needs {file}, which is missing"
                ),
                format!(
                    "reinstall the package that holds the modules of {release} (Debian: \
                     linux-image-{release}; Ubuntu: linux-modules-{release} and \
                     linux-modules-extra-{release}), then `depmod -a {release}`"
                ),
            ),
            Cause::NothingLoadsAtBoot => Wording::check_only(
                format!(
                    "nothing will load {module} before kubelite at the next boot (kmod-ready's \
                     drop-in, modules-load.d or MicroK8s' wrapper)"
                ),
                format!(
                    "reinstall kmod-ready for its drop-in, or list {module} in \
                     /etc/modules-load.d/kubelite.conf"
                ),
            ),
            Cause::KubeliteDisabled => Wording::check_only(
                format!(
                    "kubelite will not start at the next boot, whatever {module} does: its unit \
                     is not enabled"
                ),
                "`systemctl enable snap.microk8s.daemon-kubelite` (or `snap start --enable \
                 microk8s`)",
            ),
            Cause::KubeProxy(cause) => cause.wording(module),
            Cause::KubeliteOverrideReset { file, unit } => Wording::logged_as(
                format!("{module} is not loaded and an override stops kmod-ready before kubelite"),
                format!(
                    "`systemctl edit {}`, add `ExecStartPre=/usr/sbin/kmod-ready {module}`",
                    unit.trim_end_matches(".service")
                ),
                format!(
                    "{} has an empty ExecStartPre=, which removes every earlier ExecStartPre= \
                     (kmod-ready's included): add ExecStartPre=/usr/sbin/kmod-ready {module} \
                     after it, or delete the override",
                    file.display()
                ),
            ),
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
