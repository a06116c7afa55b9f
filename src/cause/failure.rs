//! A cause for the modules it concerns, and how it is logged: the line and
//! the journal entry (each kind its own `MESSAGE_ID`).

use nix::errno::Errno;

use super::{Cause, Description, Logged};
use crate::logging::{self, message_id};
use crate::status::Status;
use crate::system::normalize_module_name;

/// The journal entry a failure is logged as; each has its own `MESSAGE_ID`.
#[derive(Clone, Copy)]
pub(super) enum Entry {
    /// Not found, or could not be loaded.
    LoadFailed,
    /// Loaded, but the readiness paths did not appear in time.
    WaitTimedOut,
    /// Loading itself (an install command, a module's init) outlasted the
    /// timeout.
    LoadTimedOut,
    /// A signal ended the wait.
    Interrupted,
}

impl Entry {
    pub(super) fn message_id(self) -> &'static str {
        match self {
            Entry::LoadFailed => message_id::LOAD_FAILED,
            Entry::WaitTimedOut => message_id::TIMED_OUT,
            Entry::LoadTimedOut => message_id::LOAD_TIMED_OUT,
            Entry::Interrupted => message_id::INTERRUPTED,
        }
    }
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

    fn describe(&self) -> Description {
        self.cause.describe(&self.names())
    }

    pub fn summary(&self) -> String {
        self.describe().words.summary
    }

    pub fn fix(&self) -> String {
        self.describe().words.fix
    }

    /// The cause in a few words, module first (`check --npd`).
    pub fn short(&self) -> String {
        self.describe().short
    }

    /// The line kmod-ready logs for this cause, if it logs one.
    pub fn detail(&self) -> Option<String> {
        self.logged_line(self.describe().words.logged)
    }

    /// The line `logged` makes for these modules and this insertion.
    fn logged_line(&self, logged: Logged) -> Option<String> {
        let names = self.names();
        let (text, insertion) = match logged {
            Logged::Never => return None,
            Logged::Whole(line) => return Some(line),
            Logged::WithoutInsertion(text) => (text, None),
            Logged::AfterModule(text) => (text, self.insertion.as_ref()),
            Logged::OnlyAfterInsertion(text) => (text, Some(self.insertion.as_ref()?)),
        };
        Some(match insertion {
            None => format!("{names}: {text}"),
            Some(Insertion { failed, errno }) if *failed == normalize_module_name(&names) => {
                format!("{names}: loading failed ({errno}): {text}")
            }
            Some(Insertion { failed, errno }) => {
                format!("{names}: loading its dependency {failed} failed ({errno}): {text}")
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
        // One description serves the line and the entry.
        let described = self.describe();
        let entry = described.entry;
        let mut message = self
            .logged_line(described.words.logged)
            .unwrap_or(described.words.summary);
        if let Some(note) = logging::dropped_note() {
            message.push_str(&format!(" ({note})"));
        }
        let module = self.modules.join(" ");
        let module = module.as_str();
        let id = entry.message_id();
        match entry {
            Entry::LoadFailed => log::error!(
                MESSAGE_ID = id,
                KMOD_MODULE = module,
                ERRNO = self.errno(),
                KMOD_KERNEL_RELEASE = release;
                "{message}"
            ),
            Entry::Interrupted => log::warn!(
                MESSAGE_ID = id,
                KMOD_MODULE = module,
                KMOD_ELAPSED_USEC = elapsed_usec;
                "{message}"
            ),
            Entry::WaitTimedOut | Entry::LoadTimedOut => log::error!(
                MESSAGE_ID = id,
                KMOD_MODULE = module,
                KMOD_ELAPSED_USEC = elapsed_usec;
                "{message}"
            ),
        }
    }
}
