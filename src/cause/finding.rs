//! What only `check` finds: the node's configuration and the next boot, as
//! kubelite and systemd would meet them (kmod-ready itself loads and waits
//! instead), each with everything it says, in one exhaustive `match`.

use std::path::PathBuf;

use super::kube_proxy::KubeProxyCause;
use super::{Description, Entry, Logged, Wording};
use crate::cli::format_duration;
use crate::patience;
use crate::status::Status;
use crate::system::module_name_of;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// An `install` line replaces loading the module with a
    /// command that loads nothing (`/bin/true`, `/bin/false`).
    DisabledByInstallLine { at: String, command: String },
    /// In the kernel, but a readiness path is missing;
    /// `initialising`: a module the kernel is still initialising (for
    /// which kmod-ready would wait past its timeout), if any.
    LoadedNotReady {
        missing: String,
        initialising: Option<String>,
    },
    /// Blacklisted in modprobe.d (`at`), not loaded; `resolved` is
    /// set when the name is an alias of those modules.
    Blacklisted {
        at: String,
        resolved: Option<String>,
    },
    /// Not loaded; `nothing_loads_it` when no ExecStartPre= runs
    /// kmod-ready before kubelite.
    NotLoaded { nothing_loads_it: bool },
    /// Kubelite's `ExecStartPre=` runs kmod-ready with arguments
    /// it refuses (it would exit 64, and kubelite would not start).
    KubeliteCommandRejected { command: String, reason: String },
    /// systemd cannot execute kubelite's `ExecStartPre=` `command`
    /// (203/EXEC), and kubelite would not start.
    KubeliteCommandUnrunnable { command: String, reason: String },
    /// Kubelite's kmod-ready `ExecStartPre=` waits for `path`,
    /// which is missing and which none of its modules creates: it would
    /// time out (75), and kubelite would not start.
    WaitForNeverAppears { command: String, path: String },
    /// `file`, of the same name as our drop-in and read before it,
    /// hides it without running kmod-ready (a mask, or an emptied copy).
    DropInMasked { file: PathBuf },
    /// `--next-boot`: which kernel boots next cannot be told (`why`).
    NextKernelUnknown { why: String },
    /// `--next-boot`: the kernel that boots next has no module
    /// directory.
    NextKernelWithoutModules { release: String },
    /// `--next-boot`: modules.dep of the next kernel `release` says
    /// the module needs the module file `file`, which is not there.
    NextDependencyMissing { file: String, release: String },
    /// `--next-boot`: nothing will load the module before kubelite
    /// at the next boot.
    NothingLoadsAtBoot,
    /// `--next-boot`: kubelite's unit is not enabled, so it does not
    /// start at boot.
    KubeliteDisabled,
    /// kube-proxy, in the mode MicroK8s runs it, would not start.
    KubeProxy(KubeProxyCause),
    /// An override's empty `ExecStartPre=` removed ours.
    KubeliteOverrideReset { file: PathBuf, unit: String },
}

impl Finding {
    /// Whether it says what becomes of kmod-ready's `ExecStartPre=` of
    /// kubelite (so that `check` need not warn of it again).
    pub fn names_kubelite_start(&self) -> bool {
        match self {
            Finding::KubeliteOverrideReset { .. }
            | Finding::DropInMasked { .. }
            | Finding::KubeliteCommandRejected { .. }
            | Finding::KubeliteCommandUnrunnable { .. }
            | Finding::WaitForNeverAppears { .. }
            | Finding::NotLoaded {
                nothing_loads_it: true,
            } => true,
            Finding::NotLoaded {
                nothing_loads_it: false,
            }
            | Finding::DisabledByInstallLine { .. }
            | Finding::LoadedNotReady { .. }
            | Finding::Blacklisted { .. }
            | Finding::NextKernelUnknown { .. }
            | Finding::NextKernelWithoutModules { .. }
            | Finding::NextDependencyMissing { .. }
            | Finding::NothingLoadsAtBoot
            | Finding::KubeliteDisabled
            | Finding::KubeProxy(_) => false,
        }
    }

    pub(super) fn describe(&self, module: &str) -> Description {
        let described = |status, words, short| Description {
            status,
            entry: Entry::LoadFailed,
            words,
            short,
        };
        match self {
            Finding::DisabledByInstallLine { at, command } => described(
                Status::BadConfig,
                Wording::check_only(
                    format!("{module} is disabled by `install {module} {command}` ({at})"),
                    format!("delete that line if {module} is wanted, then run `kmod-ready {module}`"),
                ),
                format!("{module}: disabled by a modprobe.d install line ({command})"),
            ),
            Finding::LoadedNotReady {
                missing,
                initialising,
            } => Description {
                status: Status::TimedOut,
                entry: Entry::WaitTimedOut,
                words: loaded_not_ready(module, missing, initialising.as_deref()),
                short: match initialising {
                    Some(initialising) if initialising == module => {
                        format!("{module}: loaded, still initialising")
                    }
                    Some(initialising) => format!("{module}: loaded, {initialising} still initialising"),
                    None => format!("{module}: loaded, but {missing} is missing"),
                },
            },
            Finding::Blacklisted { at, resolved } => {
                let fix = match resolved {
                    Some(names) => {
                        format!("run `kmod-ready {names}` (by name), or delete the blacklist line")
                    }
                    None => format!("run `kmod-ready {module}` (it loads it anyway)"),
                };
                described(
                    Status::BadConfig,
                    Wording::check_only(format!("{module} is blacklisted ({at})"), fix),
                    format!("{module}: blacklisted, not loaded"),
                )
            }
            Finding::NotLoaded {
                nothing_loads_it: true,
            } => described(
                Status::Unavailable,
                Wording::check_only(
                    format!("{module} is not loaded and nothing loads it before kubelite"),
                    format!("run `kmod-ready {module}`, and reinstall kmod-ready for its drop-in"),
                ),
                format!("{module}: not loaded, and nothing loads it before kubelite"),
            ),
            Finding::NotLoaded {
                nothing_loads_it: false,
            } => described(
                Status::Unavailable,
                Wording::check_only(
                    format!("{module} is not loaded"),
                    format!("run `kmod-ready {module}` as root"),
                ),
                format!("{module}: not loaded"),
            ),
            Finding::KubeliteCommandRejected { command, reason } => described(
                Status::Usage,
                Wording::logged_as(
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
                format!("{module}: kubelite cannot start: its kmod-ready would exit 64"),
            ),
            Finding::KubeliteCommandUnrunnable { command, reason } => described(
                Status::Unavailable,
                Wording::check_only(
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
                format!("{module}: kubelite cannot start: an ExecStartPre= cannot run"),
            ),
            Finding::WaitForNeverAppears { command, path } => Description {
                status: Status::TimedOut,
                entry: Entry::WaitTimedOut,
                words: Wording::check_only(
                    format!(
                        "kubelite cannot start: its ExecStartPre= `{command}` waits for {path}, which \
                         is missing and which none of its modules creates, so it would time out"
                    ),
                    format!(
                        "add the module that creates {path} to that command, or remove `--wait-for \
                         {path}` (`systemctl edit snap.microk8s.daemon-kubelite`)"
                    ),
                ),
                short: format!("{module}: kubelite cannot start: its kmod-ready would time out"),
            },
            Finding::DropInMasked { file } => described(
                Status::BadConfig,
                Wording::check_only(
                    format!(
                        "{module} is not loaded and {} masks kmod-ready's drop-in, so nothing loads \
                         it before kubelite",
                        file.display()
                    ),
                    super::describe::unmask(file),
                ),
                format!("{module}: not loaded; kmod-ready's drop-in is masked"),
            ),
            Finding::NextKernelUnknown { why } => described(
                Status::Unavailable,
                Wording::check_only(
                    format!("whether {module} is there at the next boot cannot be told: {why}"),
                    "check the boot loader's configuration (GRUB: `grub-editenv list`, \
                     /boot/grub/grub.cfg; Raspberry Pi: /boot/firmware/config.txt)",
                ),
                format!("{module}: which kernel boots next cannot be told"),
            ),
            Finding::NextKernelWithoutModules { release } => described(
                Status::Unavailable,
                Wording::check_only(
                    format!(
                        "{module} cannot be loaded at the next boot: its kernel {release} has no \
                         /lib/modules/{release}"
                    ),
                    format!(
                        "install the modules for {release} (its linux-image or kernel-modules \
                         package), or make the boot loader boot an installed kernel"
                    ),
                ),
                format!("{module}: next kernel {release} has no /lib/modules"),
            ),
            Finding::NextDependencyMissing { file, release } => described(
                Status::Unavailable,
                Wording::check_only(
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
                // The dependency by name: its file's whole path would be cut.
                format!("{module}: needs {}, whose file is missing", module_name_of(file)),
            ),
            Finding::NothingLoadsAtBoot => described(
                Status::BadConfig,
                Wording::check_only(
                    format!(
                        "nothing will load {module} before kubelite at the next boot (kmod-ready's \
                         drop-in, modules-load.d or MicroK8s' wrapper)"
                    ),
                    format!(
                        "reinstall kmod-ready for its drop-in, or list {module} in \
                         /etc/modules-load.d/kubelite.conf"
                    ),
                ),
                format!("{module}: nothing will load it before kubelite at boot"),
            ),
            Finding::KubeliteDisabled => described(
                Status::BadConfig,
                Wording::check_only(
                    format!(
                        "kubelite will not start at the next boot, whatever {module} does: its unit \
                         is not enabled"
                    ),
                    "`systemctl enable snap.microk8s.daemon-kubelite` (or `snap start --enable \
                     microk8s`)",
                ),
                format!("{module}: kubelite is not enabled, so it will not start at boot"),
            ),
            Finding::KubeProxy(cause) => cause.describe(module),
            Finding::KubeliteOverrideReset { file, unit } => described(
                Status::BadConfig,
                Wording {
                    summary: format!(
                        "{module} is not loaded and an override stops kmod-ready before kubelite"
                    ),
                    fix: format!(
                        "`systemctl edit {}`, add `ExecStartPre=/usr/sbin/kmod-ready {module}`",
                        unit.trim_end_matches(".service")
                    ),
                    logged: Logged::Whole(format!(
                        "{} has an empty ExecStartPre=, which removes every earlier ExecStartPre= \
                         (kmod-ready's included): add ExecStartPre=/usr/sbin/kmod-ready {module} \
                         after it, or delete the override",
                        file.display()
                    )),
                },
                format!("{module}: not loaded; an override stops kmod-ready before kubelite"),
            ),
        }
    }
}

/// In the kernel but not ready: say whether the kernel is still running a
/// module's init, which kmod-ready would wait out.
fn loaded_not_ready(module: &str, missing: &str, initialising: Option<&str>) -> Wording {
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
