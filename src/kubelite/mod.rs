//! What `kmod-ready check` reports about MicroK8s's kubelite unit: whether
//! it exists, whether our drop-in is in effect (or an `/etc` override reset
//! its `ExecStartPre=`), and, when systemd runs the system we look at, the
//! unit's state and the last "Error running ProxyServer" journal line.
//!
//! systemd answers whenever it can: `systemctl show` gives the effective
//! `ExecStartPre=` list and drop-in paths, `journalctl` the journal. Both
//! are run read-only, without a shell, and killed if they take too long
//! (systemd.rs). Unit files are parsed here only where systemd cannot
//! answer: under a test root (`KMOD_READY_ROOT`), when systemd is not
//! running, and to name the drop-in whose empty `ExecStartPre=` removed ours.

mod exec;
mod systemd;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::modprobe_d::config_files;
use crate::system::Facts;

use exec::not_executable;
pub use exec::{parse_exec, ExecCommand, KmodReady};
use systemd::{last_proxy_error, parse_show, run_bounded, Show};

pub(crate) const UNIT: &str = "snap.microk8s.daemon-kubelite.service";
/// Where the kmod-ready package installs its drop-in.
pub(crate) const DROP_IN: &str =
    "/usr/lib/systemd/system/snap.microk8s.daemon-kubelite.service.d/50-kmod-ready.conf";
/// The line kube-proxy logs when nf_conntrack was not ready at its start.
pub(crate) const PROXY_ERROR: &str = "Error running ProxyServer";

/// Where systemd looks for unit files and their `.d` directories, highest
/// precedence first (system instance).
const UNIT_DIRS: [&str; 5] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

/// The kubelite facts; serialised as the `kubelite` object of `check --json`.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Kubelite {
    pub unit: &'static str,
    /// `"systemctl"` when systemd answered, `"files"` when unit files were read.
    pub source: &'static str,
    pub unit_exists: bool,
    /// The unit file (snapd writes it under /etc/systemd/system).
    pub unit_file: Option<PathBuf>,
    /// Whether our drop-in file is installed.
    pub drop_in_present: bool,
    /// The drop-ins in effect, in the order systemd applies them.
    pub drop_ins: Vec<PathBuf>,
    /// The effective `ExecStartPre=` commands, in order.
    pub exec_start_pre: Vec<String>,
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
    pub reset_by: Option<PathBuf>,
    /// A file of the same name as our drop-in, in a directory systemd reads
    /// first, that hides it without running kmod-ready: a symlink to
    /// /dev/null (a mask) or a file without its `ExecStartPre=` (present
    /// only when there is one).
    #[serde(skip_serializing_if = "Option::is_none")]
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

impl Kubelite {
    pub fn read(facts: &Facts) -> Kubelite {
        let root = &facts.root;
        let mut kubelite = Kubelite {
            unit: UNIT,
            drop_in_present: root.exists(DROP_IN),
            ..Kubelite::default()
        };
        let live = if !root.is_system_root() {
            Err(format!("{} is set", crate::system::ROOT_ENV))
        } else if !root.exists("/run/systemd/system") {
            Err("systemd is not running".to_string())
        } else {
            Ok(())
        };
        let shown = live.and_then(|()| {
            run_bounded(
                "systemctl",
                &[
                    "show",
                    "--no-pager",
                    "-p",
                    "LoadState,FragmentPath,DropInPaths,ExecStartPre,ActiveState,NRestarts",
                    UNIT,
                ],
            )
        });
        match shown {
            Ok((text, _)) => kubelite.apply_systemctl(facts, &parse_show(&text)),
            Err(reason) => {
                kubelite.apply_unit_files(facts);
                kubelite.skipped.push(format!(
                    "state and journal: {reason}; read unit files instead"
                ));
                return kubelite.finish(facts);
            }
        }
        if kubelite.unit_exists {
            match last_proxy_error() {
                Ok(line) => kubelite.last_proxy_error = line,
                Err(reason) => kubelite.skipped.push(format!("journal: {reason}")),
            }
        }
        kubelite.finish(facts)
    }

    fn apply_systemctl(&mut self, facts: &Facts, show: &Show) {
        self.source = "systemctl";
        self.unit_exists = show.load_state.as_deref().is_some_and(|s| s != "not-found");
        self.unit_file = show.fragment_path.clone();
        self.drop_ins = show.drop_in_paths.clone();
        self.exec_start_pre = show.exec_start_pre.clone();
        self.active_state = show.active_state.clone();
        self.n_restarts = show.n_restarts;
        let ours = self.drop_ins.iter().position(|p| p == Path::new(DROP_IN));
        if let (false, Some(ours)) = (self.runs_kmod_ready(), ours) {
            // systemd does not say which drop-in reset the list: name the
            // last one after ours with an empty ExecStartPre=.
            self.reset_by = self.drop_ins[ours..]
                .iter()
                .rfind(|path| {
                    let text = read_unit_file(facts, path).unwrap_or_default();
                    exec_start_pre_assignments(&text)
                        .iter()
                        .any(Option::is_none)
                })
                .cloned();
        }
    }

    fn apply_unit_files(&mut self, facts: &Facts) {
        let root = &facts.root;
        self.source = "files";
        self.unit_file = UNIT_DIRS
            .iter()
            .map(|dir| Path::new(dir).join(UNIT))
            .find(|path| root.path(path).is_file());
        self.unit_exists = self.unit_file.is_some();
        let dirs: Vec<String> = UNIT_DIRS.iter().map(|d| format!("{d}/{UNIT}.d")).collect();
        let dirs: Vec<&str> = dirs.iter().map(String::as_str).collect();
        self.drop_ins = config_files(root, &dirs, &[".conf"]);
        let mut commands: Vec<String> = Vec::new();
        let mut ours_seen = false;
        for file in self.unit_file.iter().chain(&self.drop_ins) {
            ours_seen |= file == Path::new(DROP_IN);
            let Some(text) = read_unit_file(facts, file) else {
                self.unit_files_unread = true;
                continue;
            };
            for assignment in exec_start_pre_assignments(&text) {
                match assignment {
                    Some(command) => commands.push(command),
                    None => {
                        if ours_seen && commands.iter().any(|c| is_kmod_ready(c)) {
                            self.reset_by = Some(file.clone());
                        }
                        commands.clear();
                    }
                }
            }
        }
        self.exec_start_pre = commands;
    }

    fn runs_kmod_ready(&self) -> bool {
        self.exec_start_pre.iter().any(|c| is_kmod_ready(c))
    }

    /// Judges each command as systemd will run it: its executable, and
    /// for kmod-ready, the whole command line as kmod-ready parses it.
    fn finish(mut self, facts: &Facts) -> Kubelite {
        let root = &facts.root;
        self.runs_kmod_ready = self.runs_kmod_ready();
        if self.runs_kmod_ready {
            self.reset_by = None;
        }
        self.masked_by = masking_drop_in(facts);
        for command in &self.exec_start_pre {
            let Ok(exec) = parse_exec(command) else {
                continue;
            };
            let failing = |reason| Rejected {
                command: command.clone(),
                reason,
                ignored: exec.ignore_failure,
            };
            if let Some(reason) = not_executable(root, &exec.path) {
                self.unrunnable.push(failing(reason));
            }
            match exec.kmod_ready() {
                Some(KmodReady::Loads { modules, wait_for }) => {
                    self.waits_for
                        .extend(wait_for.into_iter().map(|path| WaitFor {
                            command: command.clone(),
                            path,
                            modules: modules.clone(),
                            ignored: exec.ignore_failure,
                        }));
                    self.kmod_ready_modules.extend(modules);
                }
                Some(KmodReady::Rejected(reason)) => self.rejected.push(failing(reason)),
                None => {}
            }
        }
        self
    }
}

/// The file that hides our drop-in without running kmod-ready: the first of
/// the same name in a directory systemd reads before ours.
fn masking_drop_in(facts: &Facts) -> Option<PathBuf> {
    let name = Path::new(DROP_IN).file_name()?;
    UNIT_DIRS
        .iter()
        .map(|dir| Path::new(dir).join(format!("{UNIT}.d")).join(name))
        .take_while(|path| path != Path::new(DROP_IN))
        .find(|path| facts.root.path(path).symlink_metadata().is_ok())
        .filter(|path| {
            let text = read_unit_file(facts, path).unwrap_or_default();
            !exec_start_pre_assignments(&text)
                .iter()
                .flatten()
                .any(|command| is_kmod_ready(command))
        })
}

/// A unit file or drop-in; `None` when it cannot be read (`facts` notes
/// it, with the reason, for `check`'s `skipped`). A mask (a symlink to
/// /dev/null) reads as empty, as systemd reads it.
fn read_unit_file(facts: &Facts, path: &Path) -> Option<String> {
    if crate::input::is_dev_null(&facts.root.path(path)) {
        return Some(String::new());
    }
    let bytes = facts.read_bytes(path, crate::input::CONFIG)?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Whether an `ExecStartPre=` value runs kmod-ready (a value systemd
/// cannot split runs nothing).
fn is_kmod_ready(command: &str) -> bool {
    parse_exec(command).is_ok_and(|exec| exec.is_kmod_ready())
}

/// The `ExecStartPre=` assignments of the `[Service]` section of a unit file
/// or drop-in, in order; `None` is an empty assignment, which resets the
/// list. Comments start with `#` or `;`; a trailing backslash continues a
/// line (systemd joins the parts with a space).
pub fn exec_start_pre_assignments(text: &str) -> Vec<Option<String>> {
    let mut assignments = Vec::new();
    let mut in_service = false;
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if pending.is_empty() && (line.starts_with('#') || line.starts_with(';')) {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let line = std::mem::take(&mut pending);
        if line.starts_with('[') {
            in_service = line == "[Service]";
            continue;
        }
        if !in_service {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            if key.trim() == "ExecStartPre" {
                let value = value.trim();
                assignments.push((!value.is_empty()).then(|| value.to_string()));
            }
        }
    }
    assignments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_start_pre_lines() {
        let text = "[Unit]\nExecStartPre=/not/service\n[Service]\n# ExecStartPre=/comment\n\
                    ExecStartPre=\nExecStartPre = -/usr/sbin/kmod-ready \\\n  --timeout 30s nf_conntrack\n\
                    ExecStart=/x\n";
        assert_eq!(
            exec_start_pre_assignments(text),
            vec![
                None,
                Some("-/usr/sbin/kmod-ready  --timeout 30s nf_conntrack".to_string())
            ]
        );
    }
}
