//! Why a module is not ready: one typed cause, with its exit status, the
//! short summary and fix that `check` prints, and the line kmod-ready logs.
//! `load` and the wait return a [`Failure`], `check` picks one, and the
//! journal entry is made from it. The sentences are in wording.rs.

use std::path::PathBuf;

use nix::errno::Errno;

use crate::logging::{self, message_id};
use crate::status::Status;
use crate::system::normalize_module_name;

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
    TimedOut {
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
    /// `check`: in the kernel, but a readiness path is missing.
    LoadedNotReady {
        missing: String,
        coming: bool,
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
    /// A modprobe.d file is a FIFO or a device: libkmod would block on it
    /// (or read it without end), so it is not opened.
    ConfigNotRegular {
        file: String,
    },
    /// `check`: an override's empty `ExecStartPre=` removed ours.
    KubeliteOverrideReset {
        file: PathBuf,
        unit: String,
    },
}

/// What loading was doing when the timeout ran out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadStep {
    /// Reading modprobe.d and the module indexes (before any insertion).
    Reading,
    /// Running the modprobe.d `install` command of `module`.
    Install { module: String },
    /// Inserting `module`: the kernel runs its init function.
    Init { module: String },
}

/// The insertion the kernel (or an `install` line) refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insertion {
    /// The module that was refused: the one asked for, or a dependency.
    pub failed: String,
    pub errno: Errno,
}

/// A cause, for the modules it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// As asked for (names or aliases).
    pub modules: Vec<String>,
    pub cause: Cause,
    pub insertion: Option<Insertion>,
}

impl Cause {
    /// The status kmod-ready exits with for this cause.
    pub fn status(&self) -> Status {
        use Cause::*;
        match self {
            ModuleDirMissing { .. } | NotFound { .. } | LibkmodMissing { .. } | ContextFailed => {
                Status::Unavailable
            }
            NoModuleSupport { .. } | BadFormat { .. } | UnknownSymbol { .. } | InsertFailed => {
                Status::Unavailable
            }
            NotLoaded { .. } => Status::Unavailable,
            LookupFailed { .. } | BlacklistedAlias { .. } | InstallLineFailed { .. } => {
                Status::BadConfig
            }
            Blacklisted { .. } | KubeliteOverrideReset { .. } => Status::BadConfig,
            Container { .. } | DeniedOnCommandLine { .. } | NoCapSysModule | ModulesDisabled => {
                Status::NotPermitted
            }
            Lockdown { .. } | KernelRefused | SignatureRejected => Status::NotPermitted,
            TimedOut { .. } | Interrupted { .. } | LoadedNotReady { .. } => Status::TimedOut,
            LoadTimedOut { .. } => Status::TimedOut,
            KubeliteCommandRejected { .. } => Status::Usage,
            KernelWithoutModules { .. } => Status::Unavailable,
            ConfigNotRegular { .. } => Status::BadConfig,
        }
    }

    /// Whether its log line names the refused insertion: a container is
    /// why any insertion fails, so its line stands alone.
    fn is_refusal(&self) -> bool {
        !matches!(self, Cause::Container { .. })
    }
}

impl Failure {
    pub fn new(module: &str, cause: Cause) -> Failure {
        Failure {
            modules: vec![module.to_string()],
            cause,
            insertion: None,
        }
    }

    /// A cause for several modules at once (libkmod missing, the wait).
    pub fn of_all(modules: &[String], cause: Cause) -> Failure {
        Failure {
            modules: modules.to_vec(),
            cause,
            insertion: None,
        }
    }

    pub fn refused(module: &str, cause: Cause, failed: &str, errno: Errno) -> Failure {
        Failure {
            insertion: Some(Insertion {
                failed: failed.to_string(),
                errno,
            }),
            ..Failure::new(module, cause)
        }
    }

    pub fn status(&self) -> Status {
        self.cause.status()
    }

    /// "nf_conntrack, br_netfilter": how a line names its modules.
    fn names(&self) -> String {
        self.modules.join(", ")
    }

    pub fn summary(&self) -> String {
        self.cause.wording(&self.names()).summary
    }

    pub fn fix(&self) -> String {
        self.cause.wording(&self.names()).fix
    }

    /// The line kmod-ready logs for this cause, if it logs one.
    pub fn detail(&self) -> Option<String> {
        let names = self.names();
        let logged = self.cause.wording(&names).logged?;
        let insertion = self.insertion.as_ref().filter(|_| self.cause.is_refusal());
        Some(match (insertion, &self.cause) {
            (_, Cause::KubeliteOverrideReset { .. }) => logged,
            // Only a refused insertion says it; check's summary says it otherwise.
            (None, Cause::ModulesDisabled) => return None,
            (None, _) => format!("{names}: {logged}"),
            (Some(Insertion { failed, errno }), _) if *failed == normalize_module_name(&names) => {
                format!("{names}: loading failed ({errno}): {logged}")
            }
            (Some(Insertion { failed, errno }), _) => {
                format!("{names}: loading its dependency {failed} failed ({errno}): {logged}")
            }
        })
    }

    /// The errno behind the failure, if there is one (journal field `ERRNO=`).
    fn errno(&self) -> Option<i32> {
        match (&self.insertion, &self.cause) {
            (Some(insertion), _) => Some(insertion.errno as i32),
            (None, Cause::LookupFailed { errno }) => Some(*errno as i32),
            _ => None,
        }
    }

    /// The journal entry (or stderr line) of this failure.
    pub fn log(&self, release: &str, elapsed_usec: u64) {
        let mut message = self.detail().unwrap_or_else(|| self.summary());
        if let Some(note) = logging::dropped_note() {
            message.push_str(&format!(" ({note})"));
        }
        let module = self.modules.join(" ");
        let module = module.as_str();
        match self.cause {
            Cause::TimedOut { .. } | Cause::LoadTimedOut { .. } => log::error!(
                MESSAGE_ID = message_id::TIMED_OUT,
                KMOD_MODULE = module,
                KMOD_ELAPSED_USEC = elapsed_usec;
                "{message}"
            ),
            Cause::Interrupted { .. } => log::warn!(
                MESSAGE_ID = message_id::INTERRUPTED,
                KMOD_MODULE = module,
                KMOD_ELAPSED_USEC = elapsed_usec;
                "{message}"
            ),
            _ => log::error!(
                MESSAGE_ID = message_id::LOAD_FAILED,
                KMOD_MODULE = module,
                ERRNO = self.errno(),
                KMOD_KERNEL_RELEASE = release;
                "{message}"
            ),
        }
    }
}

pub mod classify;
mod wording;

pub use wording::INSTALL_LIBKMOD;

#[cfg(test)]
mod tests;
