//! Why a module is not ready: one typed cause, and everything it says and
//! does (its exit status, journal entry, `check`'s summary, fix and short
//! line, the line kmod-ready logs) from one [`Description`]. `load` and the
//! wait return a [`Failure`], `check` picks one, and the journal entry is
//! made from it. The boot path's causes are described in describe.rs;
//! what only `check` finds is a [`Finding`] (finding.rs, kube_proxy.rs).

use nix::errno::Errno;

use crate::modprobe_d::InstallLine;
use crate::patience::Limit;
use crate::status::Status;

/// Why loading or the wait failed: each cause holds what its sentences
/// need. `check` finds these too, when it makes the same decisions.
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
    /// A modprobe.d file is a FIFO or a device: libkmod would block on it
    /// (or read it without end), so it is not opened.
    ConfigNotRegular {
        file: String,
    },
    /// A file of the module index is a FIFO or a device: libkmod would
    /// block on it, so it is not opened.
    IndexNotRegular {
        file: String,
        release: String,
    },
    /// What only `check` finds (kmod-ready itself loads and waits instead).
    Check(Finding),
}

/// Everything a cause says and does. Each type of cause makes it in one
/// exhaustive `match`, so a new cause does not compile until it has every
/// field.
pub(super) struct Description {
    /// What kmod-ready exits with, and `check` for its verdict.
    status: Status,
    /// The journal entry it is logged as.
    entry: Entry,
    words: Wording,
    /// The cause in a few words, module first: the line of `check --npd`,
    /// which node-problem-detector cuts at 80 bytes, so the module and the
    /// kind of cause come before any file or release.
    short: String,
}

/// How a cause reads: `summary` and `fix` for `check`, and how kmod-ready
/// logs it.
pub(super) struct Wording {
    summary: String,
    fix: String,
    logged: Logged,
}

/// The line kmod-ready logs for a cause.
pub(super) enum Logged {
    /// Never: only `check` finds it.
    Never,
    /// "MODULE: TEXT"; after a refused insertion, "MODULE: loading failed
    /// (ERRNO): TEXT" (or "loading its dependency DEP failed").
    AfterModule(String),
    /// "MODULE: TEXT" even after a refused insertion: the cause is why any
    /// insertion fails (a container).
    WithoutInsertion(String),
    /// As `AfterModule`, but only after a refused insertion; otherwise
    /// `check`'s summary says it.
    OnlyAfterInsertion(String),
    /// TEXT as it is: it names the module itself.
    Whole(String),
}

impl Wording {
    /// The usual case: logged as "REASON: FIX".
    fn reason_fix(reason: String, fix: impl Into<String>) -> Wording {
        let fix = fix.into();
        let logged = Logged::AfterModule(format!("{reason}: {fix}"));
        Wording {
            summary: reason,
            fix,
            logged,
        }
    }

    /// Logged as the reason alone: the fix is for `check`'s reader.
    fn reason_only(reason: String, fix: impl Into<String>) -> Wording {
        Wording {
            logged: Logged::AfterModule(reason.clone()),
            summary: reason,
            fix: fix.into(),
        }
    }

    /// Found only by `check`: never logged.
    fn check_only(summary: String, fix: impl Into<String>) -> Wording {
        Wording {
            summary,
            fix: fix.into(),
            logged: Logged::Never,
        }
    }

    /// Logged in words of its own, longer than check's summary.
    fn logged_as(summary: String, fix: impl Into<String>, logged: String) -> Wording {
        Wording {
            summary,
            fix: fix.into(),
            logged: Logged::AfterModule(logged),
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
        self.describe("").status
    }
}

impl From<Finding> for Cause {
    fn from(finding: Finding) -> Cause {
        Cause::Check(finding)
    }
}

pub mod classify;
mod describe;
mod failure;
mod finding;
mod kube_proxy;
mod warning;

use failure::Entry;
pub use failure::Failure;
pub use finding::Finding;
pub use kube_proxy::KubeProxyCause;
pub use warning::{container_note, libkmod_unavailable, Warning};

#[cfg(test)]
mod tests;
