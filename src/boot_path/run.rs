//! The boot path: read the command line, then make the modules ready (or hand
//! `check` to its own program). `main.rs` only calls [`main`].

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::boot_path::load::{self, Loaded};
use crate::boot_path::{check_program, wait};
use crate::cause::{Cause, Failure};
use crate::cli::{self, format_duration, LoadArgs};
use crate::entry;
use crate::logging::{self, message_id};
use crate::patience::{self, InitWatch};
use crate::readiness::{is_present, sys_module_dir, Requirement};
use crate::status::Status;
use crate::system::{Facts, Root};

/// The whole program. Returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    let start = Instant::now();
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match entry::parse(args.iter().cloned()) {
        Ok(cli) => cli,
        Err(status) => return status.code(),
    };
    if let Some(cli::Command::Check(check)) = &cli.command {
        // check is its own program: this one carries none of the diagnosis.
        return check_program::exec(&args, check.npd).code();
    }
    // i16: 255 -v or -q must not wrap round to the other end.
    let verbosity = i16::from(cli.output.verbose) - i16::from(cli.output.quiet);
    logging::init(cli.output.log, verbosity);
    let status = make_ready(&cli.load, Root::from_env(), start);
    log::logger().flush();
    status.code()
}

/// One module asked for on the command line.
struct Request {
    /// Its name as given (may be an alias) and the paths that make it ready.
    requirement: Requirement,
    /// What loading it did; `None` while nothing was loaded for it.
    loaded: Option<Loaded>,
}

/// Everything a run waits for.
struct Run {
    requests: Vec<Request>,
    /// `--wait-for` paths, on top of the modules' own.
    wait_for: Vec<PathBuf>,
    timeout: Duration,
    start: Instant,
}

/// Loads what is not ready, then waits until everything is.
fn make_ready(args: &LoadArgs, root: Root, start: Instant) -> Status {
    let mut run = Run::new(args, start);
    // The fast path: every kubelite restart after the first one ends here,
    // without libkmod.
    if run.is_ready(&root) {
        run.log_ready("already ready");
        return Status::Ready;
    }
    let facts = Facts::read(root);
    match run
        .load_missing(&facts)
        .and_then(|()| run.wait(&facts.root))
    {
        Ok(()) => {
            run.log_ready(&run.describe());
            Status::Ready
        }
        Err(failure) => {
            failure.log(&facts.release, run.elapsed_usec());
            failure.status()
        }
    }
}

impl Run {
    fn new(args: &LoadArgs, start: Instant) -> Run {
        let requests = args
            .modules
            .iter()
            .map(|name| Request {
                requirement: Requirement::new(name),
                loaded: None,
            })
            .collect();
        Run {
            requests,
            wait_for: args.wait_for.clone(),
            timeout: args.timeout,
            start,
        }
    }

    fn names(&self) -> Vec<String> {
        self.requests
            .iter()
            .map(|r| r.requirement.module.clone())
            .collect()
    }

    fn is_ready(&self, root: &Root) -> bool {
        self.modules_ready(root) && self.wait_for.iter().all(|path| is_present(root, path))
    }

    /// Whether every module's own readiness paths are there.
    fn modules_ready(&self, root: &Root) -> bool {
        self.requests.iter().all(|r| r.requirement.is_ready(root))
    }

    /// Loads each requested module whose readiness paths are missing. A
    /// module whose /sys/module directory exists is already in the kernel
    /// (loaded, built in, or initialising): probing it again would change
    /// nothing, so we only wait for it. libkmod is opened only if something
    /// is left.
    fn load_missing(&mut self, facts: &Facts) -> Result<(), Failure> {
        let root = &facts.root;
        let names = self.names();
        let mut to_probe: Vec<&mut Request> = Vec::new();
        for request in &mut self.requests {
            let module = request.requirement.module.as_str();
            if request.requirement.is_ready(root) {
                log::debug!("{module}: ready");
            } else if root.exists(sys_module_dir(module)) {
                log::info!(KMOD_MODULE = module; "{module}: already in the kernel, waiting until it is ready");
            } else {
                // Before, not after: if the kernel hangs or dies in the
                // module's init, this is the line the journal keeps.
                log::info!(KMOD_MODULE = module; "{module}: not loaded, loading it");
                to_probe.push(request);
            }
        }
        if to_probe.is_empty() {
            return Ok(());
        }
        let to_load = to_probe
            .iter()
            .map(|r| r.requirement.module.clone())
            .collect();
        let results = load::load_until(self.start, self.timeout, facts, &names, to_load)?;
        for (request, loaded) in to_probe.into_iter().zip(results) {
            request.requirement.resolve_alias(&loaded.resolved);
            // A built-in module without parameters has no /sys/module entry.
            for builtin in &loaded.builtin {
                request.requirement.drop_sys_module_dir(builtin);
            }
            request.loaded = Some(loaded);
        }
        Ok(())
    }

    /// Polls until every path is present, the timeout passes, or a signal
    /// ends the wait. Past the timeout it goes on while the kernel is still
    /// initialising a module, up to the limit of patience.rs.
    fn wait(&self, root: &Root) -> Result<(), Failure> {
        let missing = || self.missing(root);
        let mut waited = self.timeout;
        let mut outcome = wait::wait_until(self.start + self.timeout, || self.is_ready(root));
        let mut still_coming = None;
        if outcome == wait::Outcome::TimedOut {
            if let Some(mut watch) = InitWatch::start(root) {
                let limit = patience::limit(self.start, self.timeout);
                log::info!(
                    KMOD_MODULE = watch.coming.as_str();
                    "{}", limit.waiting_line(&self.names(), &watch.coming, self.timeout)
                );
                outcome = wait::wait_while(
                    limit.deadline,
                    || self.is_ready(root),
                    || watch.worth_waiting(),
                );
                // Whole seconds: how long it waited, not to the microsecond.
                waited = Duration::from_secs(self.start.elapsed().as_secs());
                if outcome == wait::Outcome::TimedOut {
                    waited = limit.after;
                    still_coming = Some((watch.coming, limit));
                }
            }
        }
        let timeout = format_duration(waited);
        let cause = match outcome {
            wait::Outcome::Ready => return Ok(()),
            // Not the modules' fault: only what --wait-for added is missing.
            wait::Outcome::TimedOut | wait::Outcome::GaveUp if self.modules_ready(root) => {
                Cause::WaitForMissing {
                    timeout,
                    missing: missing(),
                }
            }
            wait::Outcome::TimedOut | wait::Outcome::GaveUp => match still_coming {
                Some((module, limit)) => Cause::InitOutlasted { module, limit },
                None => Cause::TimedOut {
                    timeout,
                    missing: missing(),
                },
            },
            wait::Outcome::Interrupted(signal) => Cause::Interrupted {
                signal: signal.as_str().to_string(),
                missing: missing(),
            },
        };
        Err(Failure::of_all(&self.names(), cause))
    }

    /// The paths still missing, comma-separated.
    fn missing(&self, root: &Root) -> String {
        let modules = self
            .requests
            .iter()
            .flat_map(|r| r.requirement.missing(root));
        let extra = self
            .wait_for
            .iter()
            .filter(|p| !is_present(root, p))
            .cloned();
        let missing: Vec<String> = modules
            .chain(extra)
            .map(|path| path.display().to_string())
            .collect();
        missing.join(", ")
    }

    /// What loading did, for the summary line.
    fn describe(&self) -> String {
        let loaded = self.requests.iter().filter_map(|r| r.loaded.as_ref());
        let inserted: Vec<&str> = loaded
            .clone()
            .flat_map(|l| l.inserted.iter().map(String::as_str))
            .collect();
        let builtin: Vec<&str> = loaded
            .flat_map(|l| l.builtin.iter().map(String::as_str))
            .collect();
        let mut parts = Vec::new();
        if !inserted.is_empty() {
            parts.push(format!("loaded: {}", inserted.join(", ")));
        }
        if !builtin.is_empty() {
            parts.push(format!("built in: {}", builtin.join(", ")));
        }
        if parts.is_empty() {
            parts.push("already in the kernel".to_string());
        }
        parts.join("; ")
    }

    fn log_ready(&self, detail: &str) {
        let names = self.names();
        let elapsed = self.start.elapsed();
        log::info!(
            MESSAGE_ID = message_id::READY,
            KMOD_MODULE = names.join(" ").as_str(),
            KMOD_ELAPSED_USEC = elapsed.as_micros() as u64;
            "{} ready in {} ms ({detail}{})",
            names.join(", "), elapsed.as_millis(),
            logging::dropped_note().map(|n| format!("; {n}")).unwrap_or_default()
        );
    }

    fn elapsed_usec(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }
}
