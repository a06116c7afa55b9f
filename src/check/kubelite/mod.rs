//! What `kmod-ready check` reports about MicroK8s's kubelite unit: whether
//! it exists, whether our drop-in is in effect (or an `/etc` override reset
//! its `ExecStartPre=`), and, when systemd runs the system we look at, the
//! unit's state and the last "Error running ProxyServer" journal line.
//!
//! systemd answers whenever it can: `systemctl show` gives the effective
//! `ExecStartPre=` list and drop-in paths, `journalctl` the journal. Both
//! are run read-only, without a shell, and killed if they take too long
//! (systemd.rs). Unit files are parsed (unit_file.rs) only where systemd
//! cannot answer: under a test root (`KMOD_READY_ROOT`), when systemd is not
//! running, and to name the drop-in whose empty `ExecStartPre=` removed ours.
//! The facts it fills, and their JSON, are in report.rs.

mod env;
mod exec;
mod report;
mod systemd;
mod unit_file;
mod words;

use std::path::{Path, PathBuf};

use crate::modprobe_d::config_files;
use crate::process::run_bounded;
use crate::system::Facts;

pub use env::{environment_file, Env};
use exec::not_executable;
pub use exec::{parse_exec, parse_exec_line, ExecCommand, KmodReady, LineError};
pub(crate) use report::{Kubelite, Rejected, WaitFor};
use systemd::{exec_start_pre_exact, last_proxy_error, parse_show, Show};
pub use unit_file::exec_start_pre_assignments;
use unit_file::{read_unit_file, service_assignments};

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

impl Kubelite {
    /// Whether kubelite's start runs kmod-ready: a command of its
    /// `ExecStartPre=` does, and no file masks our drop-in.
    pub fn drop_in_runs(&self) -> bool {
        self.unit_exists && self.runs_kmod_ready && self.masked_by.is_none()
    }

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
                    "LoadState,FragmentPath,DropInPaths,ExecStartPreEx,ActiveState,NRestarts",
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
        // busctl gives each argument apart; systemctl joins them with spaces.
        let exact = self.unit_exists.then(exec_start_pre_exact);
        self.commands = match exact {
            Some(Ok(commands)) => commands,
            Some(Err(reason)) => {
                self.skipped.push(format!(
                    "ExecStartPre= arguments: {reason}; read from systemctl show, \
                     where an argument holding a space reads as two"
                ));
                show.exec_start_pre.clone()
            }
            None => show.exec_start_pre.clone(),
        };
        if show.load_state.as_deref() == Some("bad-setting") {
            self.commands.clear();
            self.unrunnable.push(Rejected {
                command: UNIT.to_string(),
                reason: format!(
                    "systemd refuses the unit (a bad setting; `journalctl -b -u {UNIT}` names it) and runs none of its commands"
                ),
                ignored: false,
            });
        }
        self.exec_start_pre = self.commands.iter().map(|c| c.text.clone()).collect();
        self.active_state = show.active_state.clone();
        self.n_restarts = show.n_restarts;
        // systemctl shows the arguments before expansion: the environment
        // comes from the files it names.
        let settings = self.read_service(facts, &self.unit_and_drop_ins());
        self.environment = settings.environment(self, facts);
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

    /// The unit file, then its drop-ins in the order systemd applies them.
    fn unit_and_drop_ins(&self) -> Vec<PathBuf> {
        self.unit_file
            .iter()
            .chain(&self.drop_ins)
            .cloned()
            .collect()
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
        let settings = self.read_service(facts, &self.unit_and_drop_ins());
        self.environment = settings.environment(self, facts);
        self.commands = settings.commands;
        if let Some(refused) = settings.refused {
            self.commands.clear();
            self.unrunnable.push(refused);
        }
        self.exec_start_pre = self.commands.iter().map(|c| c.text.clone()).collect();
    }

    /// The `[Service]` settings of `files` (the unit file and its drop-ins,
    /// in order) that shape its commands; notes unread files and the file
    /// whose empty `ExecStartPre=` removed a kmod-ready command.
    fn read_service(&mut self, facts: &Facts, files: &[PathBuf]) -> ServiceSettings {
        let mut settings = ServiceSettings::default();
        let mut ours_seen = false;
        for file in files {
            ours_seen |= file == Path::new(DROP_IN);
            let Some(text) = read_unit_file(facts, file) else {
                self.unit_files_unread = true;
                continue;
            };
            for (key, value) in service_assignments(&text) {
                match (key.as_str(), value.is_empty()) {
                    ("ExecStartPre", true) => {
                        if ours_seen && settings.commands.iter().any(ExecCommand::is_kmod_ready) {
                            self.reset_by = Some(file.clone());
                        }
                        settings.commands.clear();
                    }
                    ("ExecStartPre", false) => {
                        let (commands, error) = parse_exec_line(&value);
                        settings.commands.extend(commands);
                        if let Some(LineError {
                            reason,
                            fatal: true,
                        }) = error
                        {
                            settings.refused = Some(Rejected {
                                command: value,
                                reason: format!(
                                    "{reason} (in {}): systemd refuses the unit and runs none of its commands",
                                    file.display()
                                ),
                                ignored: false,
                            });
                            return settings;
                        }
                    }
                    ("Environment", true) => settings.environment = Env::default(),
                    ("Environment", false) => settings
                        .environment
                        .extend(env::environment_assignments(&value)),
                    ("EnvironmentFile", true) => settings.environment_files.clear(),
                    ("EnvironmentFile", false) => settings.environment_files.push(value),
                    _ => {}
                }
            }
        }
        settings
    }

    fn runs_kmod_ready(&self) -> bool {
        self.commands.iter().any(ExecCommand::is_kmod_ready)
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
        let commands = std::mem::take(&mut self.commands);
        for command in &commands {
            let exec = command.expand(&self.environment);
            self.exec_start_pre_argv.push(exec.argv.clone());
            let command = &command.text;
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
        self.commands = commands;
        self
    }
}

/// What the `[Service]` sections of a unit's files say about its commands.
#[derive(Default)]
struct ServiceSettings {
    commands: Vec<ExecCommand>,
    environment: Env,
    /// `EnvironmentFile=` values, in order (`-` prefix: may be missing).
    environment_files: Vec<String>,
    /// A setting for which systemd refuses the whole unit ("bad-setting"),
    /// the reason naming the file; reading stops there, as systemd's does.
    refused: Option<Rejected>,
}

impl ServiceSettings {
    /// `Environment=`, overridden by the environment files in order. A
    /// missing file without `-` stops the unit before any command: noted
    /// in `kubelite.unrunnable`.
    fn environment(&self, kubelite: &mut Kubelite, facts: &Facts) -> Env {
        let mut environment = self.environment.clone();
        for value in &self.environment_files {
            let (optional, path) = match value.strip_prefix('-') {
                Some(path) => (true, path),
                None => (false, value.as_str()),
            };
            if !facts.root.exists(path) {
                if !optional {
                    kubelite.unrunnable.push(Rejected {
                        command: format!("EnvironmentFile={value}"),
                        reason: format!("{path} does not exist: systemd does not start the unit"),
                        ignored: false,
                    });
                }
                continue;
            }
            match facts.read_bytes(path, crate::input::CONFIG) {
                Some(bytes) => {
                    environment.extend(environment_file(&String::from_utf8_lossy(&bytes)))
                }
                None => kubelite.unit_files_unread = true,
            }
        }
        environment
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
                .flat_map(|value| parse_exec_line(value).0)
                .any(|command| command.is_kmod_ready())
        })
}
