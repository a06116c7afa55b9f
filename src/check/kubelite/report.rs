//! The kubelite facts that `check` reports, and the JSON they serialise
//! to: a room of their own, apart from the reading that fills them (mod.rs),
//! as check's own report is apart from its collection.

use std::path::PathBuf;

use serde::Serialize;

use super::env::Env;
use super::exec::ExecCommand;

/// The kubelite facts; serialised as the `kubelite` object of `check --json`.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Kubelite {
    pub unit: &'static str,
    /// `"systemctl"` when systemd answered, `"files"` when unit files were read.
    pub source: &'static str,
    pub unit_exists: bool,
    /// The unit file (snapd writes it under /etc/systemd/system).
    #[serde(serialize_with = "crate::input::serialize_lossy")]
    pub unit_file: Option<PathBuf>,
    /// Whether our drop-in file is installed.
    pub drop_in_present: bool,
    /// The drop-ins in effect, in the order systemd applies them.
    #[serde(serialize_with = "crate::input::serialize_lossy")]
    pub drop_ins: Vec<PathBuf>,
    /// The effective `ExecStartPre=` commands, in order, as written.
    pub exec_start_pre: Vec<String>,
    /// The arguments systemd runs each of them with (`argv[0]` first), after
    /// expanding the unit's environment variables.
    pub exec_start_pre_argv: Vec<Vec<String>>,
    /// The commands, parsed (before expansion).
    #[serde(skip)]
    pub commands: Vec<ExecCommand>,
    /// The environment the commands are expanded with.
    #[serde(skip)]
    pub environment: Env,
    /// Whether one of them runs kmod-ready.
    pub runs_kmod_ready: bool,
    /// The modules that kmod-ready command is given.
    pub kmod_ready_modules: Vec<String>,
    /// kmod-ready commands that would exit 64 (present only when one does).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<Rejected>,
    /// Commands whose executable systemd cannot run (present only when one
    /// is): a missing or non-executable file fails the start with 203/EXEC.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unrunnable: Vec<Rejected>,
    /// The `--wait-for` paths of its kmod-ready commands, with the modules
    /// of the same command (present only when there are some).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waits_for: Vec<WaitFor>,
    /// Some unit file or drop-in could not be read: what it holds is unknown.
    #[serde(skip)]
    pub unit_files_unread: bool,
    /// The drop-in whose empty `ExecStartPre=` removed ours, if one did.
    #[serde(serialize_with = "crate::input::serialize_lossy")]
    pub reset_by: Option<PathBuf>,
    /// A file of the same name as our drop-in, in a directory systemd reads
    /// first, that hides it without running kmod-ready: a symlink to
    /// /dev/null (a mask) or a file without its `ExecStartPre=` (present
    /// only when there is one).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::input::serialize_lossy"
    )]
    pub masked_by: Option<PathBuf>,
    pub active_state: Option<String>,
    pub n_restarts: Option<u64>,
    /// The last journal line of the unit with "Error running ProxyServer".
    pub last_proxy_error: Option<String>,
    /// Facts not read, and why: "state and journal: systemd is not running; …".
    pub skipped: Vec<String>,
}

/// An `ExecStartPre=` that would fail: kmod-ready's own parser refuses
/// it, or systemd cannot execute it.
#[derive(Debug, Serialize)]
pub(crate) struct Rejected {
    pub command: String,
    /// The one-line reason, naming the argument or the file.
    pub reason: String,
    /// `-` prefix: systemd ignores the failure and starts kubelite anyway.
    pub ignored: bool,
}

/// A path a kmod-ready `ExecStartPre=` waits for besides its modules'.
#[derive(Debug, Serialize)]
pub(crate) struct WaitFor {
    pub command: String,
    pub path: PathBuf,
    /// The modules the same command loads.
    #[serde(skip)]
    pub modules: Vec<String>,
    /// `-` prefix: systemd ignores the failure.
    #[serde(skip)]
    pub ignored: bool,
}
