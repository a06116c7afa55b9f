//! Why a module is not ready: one typed cause, with its exit status, the
//! short summary and fix that `check` prints, and the line kmod-ready logs.
//! `load` and the wait return a [`Failure`], `check` picks one, and the
//! journal entry is made from it. The sentences are in wording.rs.

use std::path::PathBuf;

use nix::errno::Errno;

use crate::modprobe_d::InstallLine;
use crate::patience::Limit;
use crate::status::Status;

/// Each cause holds what its sentences need; the variants marked `check`
/// are found only by `check` (kmod-ready itself loads and waits instead).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The running kernel has no module directory.
    ModuleDirMissing {
        release: String,
        installed: Vec<String>,
    },
    NotFound {
        module_dir: String,
        release: String,
    },
    /// The running kernel has no module support (no /proc/modules): a
    /// module must be built in; `option` is its Kconfig option, if known.
    KernelWithoutModules {
        release: String,
        option: Option<String>,
    },
    /// Only the host can load modules.
    Container {
        kind: String,
    },
    /// `libkmod.so.2` cannot be opened; `error` is the loader's reason.
    LibkmodMissing {
        error: String,
    },
    ContextFailed,
    LookupFailed {
        errno: Errno,
    },
    /// Asked for by an alias whose module modprobe.d blacklists.
    BlacklistedAlias {
        target: String,
    },
    /// `module_blacklist=` on the kernel command line names `denied`.
    DeniedOnCommandLine {
        denied: String,
    },
    NoCapSysModule,
    ModulesDisabled,
    Lockdown {
        mode: String,
    },
    /// EPERM with no cause we can see.
    KernelRefused,
    SignatureRejected,
    NoModuleSupport {
        release: String,
    },
    BadFormat {
        release: String,
    },
    UnknownSymbol {
        failed: String,
    },
    /// EINVAL: bad `options`, or an `install` line that failed.
    InstallLineFailed {
        failed: String,
    },
    /// Any other errno of the kernel.
    InsertFailed,
    /// The modprobe.d `install` line of `module` ran, and its command
    /// exited 0 without loading it.
    InstallDidNotLoad {
        module: String,
        install: Box<InstallLine>,
    },
    /// `check`: an `install` line replaces loading the module with a
    /// command that loads nothing (`/bin/true`, `/bin/false`).
    DisabledByInstallLine {
        at: String,
        command: String,
    },
    /// A module's own readiness paths were still missing at the timeout
    /// (and perhaps `--wait-for` paths too).
    TimedOut {
        timeout: String,
        missing: String,
    },
    /// Every module was ready; only `--wait-for` paths were missing.
    WaitForMissing {
        timeout: String,
        missing: String,
    },
    Interrupted {
        signal: String,
        missing: String,
    },
    /// The timeout ran out while libkmod was still loading (`step`).
    LoadTimedOut {
        timeout: String,
        step: LoadStep,
    },
    /// The kernel was still initialising `module` (our insertion, or one in
    /// its `coming` state) when the longest wait, `limit`, ended.
    InitOutlasted {
        module: String,
        limit: &'static Limit,
    },
    /// `check`: in the kernel, but a readiness path is missing;
    /// `initialising`: a module the kernel is still initialising (for
    /// which kmod-ready would wait past its timeout), if any.
    LoadedNotReady {
        missing: String,
        initialising: Option<String>,
    },
    /// `check`: blacklisted in modprobe.d (`at`), not loaded; `resolved` is
    /// set when the name is an alias of those modules.
    Blacklisted {
        at: String,
        resolved: Option<String>,
    },
    /// `check`: not loaded; `nothing_loads_it` when no ExecStartPre= runs
    /// kmod-ready before kubelite.
    NotLoaded {
        nothing_loads_it: bool,
    },
    /// `check`: kubelite's `ExecStartPre=` runs kmod-ready with arguments
    /// it refuses (it would exit 64, and kubelite would not start).
    KubeliteCommandRejected {
        command: String,
        reason: String,
    },
    /// `check`: systemd cannot execute kubelite's `ExecStartPre=` `command`
    /// (203/EXEC), and kubelite would not start.
    KubeliteCommandUnrunnable {
        command: String,
        reason: String,
    },
    /// `check`: kubelite's kmod-ready `ExecStartPre=` waits for `path`,
    /// which is missing and which none of its modules creates: it would
    /// time out (75), and kubelite would not start.
    WaitForNeverAppears {
        command: String,
        path: String,
    },
    /// A modprobe.d file is a FIFO or a device: libkmod would block on it
    /// (or read it without end), so it is not opened.
    ConfigNotRegular {
        file: String,
    },
    /// `check`: `file`, of the same name as our drop-in and read before it,
    /// hides it without running kmod-ready (a mask, or an emptied copy).
    DropInMasked {
        file: PathBuf,
    },
    /// A file of the module index is a FIFO or a device: libkmod would
    /// block on it, so it is not opened.
    IndexNotRegular {
        file: String,
        release: String,
    },
    /// `check --next-boot`: which kernel boots next cannot be told (`why`).
    NextKernelUnknown {
        why: String,
    },
    /// `check --next-boot`: the kernel that boots next has no module
    /// directory.
    NextKernelWithoutModules {
        release: String,
    },
    /// `check --next-boot`: modules.dep of the next kernel `release` says
    /// the module needs the module file `file`, which is not there.
    NextDependencyMissing {
        file: String,
        release: String,
    },
    /// `check --next-boot`: nothing will load the module before kubelite
    /// at the next boot.
    NothingLoadsAtBoot,
    /// `check --next-boot`: kubelite's unit is not enabled, so it does not
    /// start at boot.
    KubeliteDisabled,
    /// `check`: kube-proxy, in the mode MicroK8s runs it, would not start.
    KubeProxy(KubeProxyCause),
    /// `check`: an override's empty `ExecStartPre=` removed ours.
    KubeliteOverrideReset {
        file: PathBuf,
        unit: String,
    },
}

/// How a cause reads: `summary` and `fix` for `check`, and `logged`, the
/// rest of the line kmod-ready logs after "MODULE: " (none when it never
/// logs this cause).
struct Wording {
    pub summary: String,
    pub fix: String,
    pub logged: Option<String>,
}

impl Wording {
    /// The usual case: logged as "REASON: FIX".
    fn reason_fix(reason: String, fix: impl Into<String>) -> Wording {
        let fix = fix.into();
        let logged = Some(format!("{reason}: {fix}"));
        Wording {
            summary: reason,
            fix,
            logged,
        }
    }

    /// Logged as the reason alone: the fix is for `check`'s reader.
    fn reason_only(reason: String, fix: impl Into<String>) -> Wording {
        Wording {
            logged: Some(reason.clone()),
            summary: reason,
            fix: fix.into(),
        }
    }

    /// Found only by `check`: never logged.
    fn check_only(summary: String, fix: impl Into<String>) -> Wording {
        Wording {
            summary,
            fix: fix.into(),
            logged: None,
        }
    }

    /// Logged in words of its own, longer than check's summary.
    fn logged_as(summary: String, fix: impl Into<String>, logged: String) -> Wording {
        Wording {
            summary,
            fix: fix.into(),
            logged: Some(logged),
        }
    }
}

/// What loading was doing when the timeout ran out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadStep {
    /// Reading modprobe.d and the module indexes (before any insertion).
    Reading,
    /// Running the modprobe.d `install` command of `module`.
    Install { module: String },
}

impl Cause {
    /// The status kmod-ready exits with for this cause.
    pub fn status(&self) -> Status {
        self.class().0
    }

    /// The exit status and the journal entry of each cause. Causes only
    /// `check` finds are never logged; they are counted as failures.
    fn class(&self) -> (Status, Entry) {
        use Cause::*;
        use Entry::{Interrupted as INTERRUPTED, LoadFailed as LOAD_FAILED};
        use Entry::{LoadTimedOut as LOAD_TIMED_OUT, WaitTimedOut as TIMED_OUT};
        match self {
            ModuleDirMissing { .. } | NotFound { .. } | KernelWithoutModules { .. } => {
                (Status::Unavailable, LOAD_FAILED)
            }
            LibkmodMissing { .. } | ContextFailed | NoModuleSupport { .. } | BadFormat { .. } => {
                (Status::Unavailable, LOAD_FAILED)
            }
            UnknownSymbol { .. } | InsertFailed | NotLoaded { .. } => {
                (Status::Unavailable, LOAD_FAILED)
            }
            LookupFailed { .. } | BlacklistedAlias { .. } | InstallLineFailed { .. } => {
                (Status::BadConfig, LOAD_FAILED)
            }
            Blacklisted { .. } | KubeliteOverrideReset { .. } | ConfigNotRegular { .. } => {
                (Status::BadConfig, LOAD_FAILED)
            }
            DropInMasked { .. } | IndexNotRegular { .. } => (Status::BadConfig, LOAD_FAILED),
            KubeProxy(_) => (Status::Unavailable, LOAD_FAILED),
            NextKernelUnknown { .. } | NextKernelWithoutModules { .. } => {
                (Status::Unavailable, LOAD_FAILED)
            }
            NextDependencyMissing { .. } => (Status::Unavailable, LOAD_FAILED),
            NothingLoadsAtBoot | KubeliteDisabled => (Status::BadConfig, LOAD_FAILED),
            InstallDidNotLoad { .. } | DisabledByInstallLine { .. } => {
                (Status::BadConfig, LOAD_FAILED)
            }
            Container { .. } | DeniedOnCommandLine { .. } | NoCapSysModule | ModulesDisabled => {
                (Status::NotPermitted, LOAD_FAILED)
            }
            Lockdown { .. } | KernelRefused | SignatureRejected => {
                (Status::NotPermitted, LOAD_FAILED)
            }
            TimedOut { .. } | WaitForMissing { .. } | LoadedNotReady { .. } => {
                (Status::TimedOut, TIMED_OUT)
            }
            Interrupted { .. } => (Status::TimedOut, INTERRUPTED),
            LoadTimedOut { .. } | InitOutlasted { .. } => (Status::TimedOut, LOAD_TIMED_OUT),
            KubeliteCommandRejected { .. } => (Status::Usage, LOAD_FAILED),
            KubeliteCommandUnrunnable { .. } => (Status::Unavailable, LOAD_FAILED),
            WaitForNeverAppears { .. } => (Status::TimedOut, TIMED_OUT),
        }
    }

    /// Whether its log line names the refused insertion: a container is
    /// why any insertion fails, so its line stands alone.
    fn is_refusal(&self) -> bool {
        !matches!(self, Cause::Container { .. })
    }
}

pub mod classify;
mod failure;
mod kube_proxy;
mod short;
mod warning;
mod wording;

use failure::Entry;
pub use failure::Failure;
pub use kube_proxy::KubeProxyCause;
pub use warning::{container_note, libkmod_unavailable, Warning};

#[cfg(test)]
mod tests;
