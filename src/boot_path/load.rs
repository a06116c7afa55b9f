//! Loading one module through libkmod, and naming the cause when that fails.

use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::boot_path::watchdog::Watchdog;
use crate::cause::{classify, Cause, Failure, LoadStep};
use crate::cli::format_duration;
use crate::libkmod::{current_action, Context, InitState, Libkmod, Module};
use crate::logging::message_id;
use crate::patience;
use crate::readiness::sys_module_dir;
use crate::system::{normalize_module_name, Facts};

/// What loading one requested name did.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Modules libkmod inserted (or ran an `install` command for), in order.
    pub inserted: Vec<String>,
    /// Modules the name resolved to that are built into the kernel.
    pub builtin: Vec<String>,
    /// Every module the name resolved to (itself, unless it is an alias).
    pub resolved: Vec<String>,
}

/// Loads each of `to_load` (with libkmod, in that order), bounded by
/// `timeout` from `start` (see watchdog.rs), or longer while the kernel is
/// still running the init function of a module we insert (patience.rs):
/// past that, the process ends with the timeout's failure, saying what
/// loading was doing.
pub fn load_until(
    start: Instant,
    timeout: Duration,
    facts: &Facts,
    all: &[String],
    to_load: Vec<String>,
) -> Result<Vec<Loaded>, Failure> {
    let release = facts.release.clone();
    let names = all.to_vec();
    let asked = all.to_vec();
    let hold = move || {
        let Some((module, false)) = current_action() else {
            return None;
        };
        let limit = patience::limit(start, timeout);
        if limit.deadline <= Instant::now() {
            return None;
        }
        log::info!(
            KMOD_MODULE = module.as_str();
            "{}", limit.waiting_line(&asked, &module, timeout)
        );
        Some(limit.deadline)
    };
    let on_timeout = move |held: bool| {
        crate::libkmod::release_stderr();
        let cause = match current_action() {
            Some((module, false)) => Cause::InitOutlasted {
                module,
                limit: patience::limit(start, timeout),
            },
            action => {
                let waited = if held {
                    patience::limit(start, timeout).after
                } else {
                    timeout
                };
                step_timed_out(format_duration(waited), action)
            }
        };
        let failure = Failure::of_all(&names, cause);
        failure.log(&release, start.elapsed().as_micros() as u64);
        log::logger().flush();
        failure.status().code()
    };
    let Some(watchdog) = Watchdog::arm(start + timeout, hold, on_timeout) else {
        return Err(Failure::of_all(all, Cause::ContextFailed));
    };
    let loaded = load_all(facts, all, &to_load);
    watchdog.disarm();
    loaded
}

/// Loading outlasted `waited` before or outside any module's init.
fn step_timed_out(waited: String, action: Option<(String, bool)>) -> Cause {
    let step = match action {
        Some((module, true)) => LoadStep::Install { module },
        _ => LoadStep::Reading,
    };
    Cause::LoadTimedOut {
        timeout: waited,
        step,
    }
}

fn load_all(facts: &Facts, all: &[String], to_load: &[String]) -> Result<Vec<Loaded>, Failure> {
    if let Some(file) = crate::modprobe_d::blocking_config(&facts.root) {
        return Err(Failure::of_all(all, Cause::ConfigNotRegular { file }));
    }
    if let Some(file) = facts.blocking_index() {
        let release = facts.release.clone();
        return Err(Failure::of_all(
            all,
            Cause::IndexNotRegular { file, release },
        ));
    }
    let lib = Libkmod::open().map_err(|err| {
        let error = err.to_string();
        Failure::of_all(all, Cause::LibkmodMissing { error })
    })?;
    let ctx = facts
        .libkmod_context(&lib)
        .ok_or_else(|| Failure::new(&to_load[0], Cause::ContextFailed))?;
    to_load.iter().map(|name| load(&ctx, facts, name)).collect()
}

/// Loads `name` (a module name or alias) as `modprobe NAME` would.
fn load(ctx: &Context, facts: &Facts, name: &str) -> Result<Loaded, Failure> {
    // Decided from the filesystem: without the module directory, libkmod 28
    // fails the lookup with ENOSYS where libkmod 30 finds nothing.
    let Some(module_dir) = facts.root.module_dir(&facts.release) else {
        return Err(Failure::new(name, classify::absent(facts, name)));
    };
    let list = ctx.lookup(name).map_err(|rc| {
        let errno = Errno::from_raw(-rc);
        Failure::new(name, Cause::LookupFailed { errno })
    })?;
    let modules = list.modules();
    if modules.is_empty() {
        // libkmod 28 does not read modules.builtin when depmod wrote an empty
        // modules.builtin.alias.bin (a kernel without modules.builtin.modinfo).
        let module = normalize_module_name(name);
        if !facts.listed_builtin(&module_dir, &module) {
            return Err(Failure::new(name, classify::absent(facts, name)));
        }
        log_builtin(&module);
        return Ok(Loaded {
            builtin: vec![module.clone()],
            resolved: vec![module],
            ..Loaded::default()
        });
    }
    // A failed filter only costs the warning below, never the load.
    let blacklisted = list.blacklisted().unwrap_or_default();
    let mut loaded = Loaded::default();
    for module in &modules {
        let module_name = module.name();
        loaded.resolved.push(module_name.clone());
        if module.initstate() == InitState::Builtin {
            log_builtin(&module_name);
            loaded.builtin.push(module_name);
            continue;
        }
        if blacklisted.contains(&module_name) {
            log::warn!(
                MESSAGE_ID = message_id::BLACKLIST_OVERRIDDEN,
                KMOD_MODULE = module_name.as_str();
                "{module_name}: blacklisted in modprobe.d, loaded anyway because it was asked for \
                 by name (as modprobe does); remove the blacklist line to silence this"
            );
        }
        loaded.inserted.extend(probe(facts, name, module)?);
    }
    Ok(loaded)
}

/// Inserts one module that `name` resolved to, with its dependencies;
/// returns the modules now in the kernel that were not before.
fn probe(facts: &Facts, name: &str, module: &Module) -> Result<Vec<String>, Failure> {
    let module_name = module.name();
    log::debug!(KMOD_MODULE = module_name.as_str(); "{module_name}: probing {}", module.path().unwrap_or_default());
    let mut probe = module.probe();
    match probe.rc {
        0 => {}
        rc if rc == -(Errno::EEXIST as i32) => {
            log::debug!("{module_name}: already in the kernel (loaded by another process)");
        }
        rc if rc > 0 => {
            let target = module_name;
            return Err(Failure::new(name, Cause::BlacklistedAlias { target }));
        }
        rc => {
            // libkmod stopped at the last one; what it inserted before stays.
            let failed = probe.attempted.pop().unwrap_or(module_name);
            log_now_loaded(facts, probe.attempted);
            let errno = Errno::from_raw(-rc);
            let cause = classify::refused(facts, &failed, errno);
            return Err(Failure::refused(name, cause, &failed, errno));
        }
    }
    let inserted = log_now_loaded(facts, probe.attempted);
    // An `install` line runs instead of the insertion; one that exits 0
    // without loading the module (`install X /bin/true` disables X) would
    // otherwise leave us waiting out the timeout for it.
    if !facts.root.exists(sys_module_dir(&module_name)) {
        let lines = crate::modprobe_d::install_lines_for(facts, &module_name);
        if let Some(line) = lines.into_iter().next() {
            let cause = Cause::InstallDidNotLoad {
                module: module_name,
                install: Box::new(line),
            };
            return Err(Failure::new(name, cause));
        }
    }
    Ok(inserted)
}

/// Logs each of `attempted` that is now in the kernel, and returns those.
/// The journal entries wait until the probe has ended: sent during it, they
/// make journald compete with the kernel's work on the modules.
fn log_now_loaded(facts: &Facts, attempted: Vec<String>) -> Vec<String> {
    let mut inserted = Vec::new();
    for attempted in attempted {
        // libkmod ignores a soft dependency the kernel refuses (as
        // crc32c_intel on a CPU without SSE4.2): only what is now in the
        // kernel was loaded.
        if !facts.root.exists(sys_module_dir(&attempted)) {
            log::debug!("{attempted}: soft dependency not loaded (ignored, as modprobe does)");
            continue;
        }
        log::info!(
            MESSAGE_ID = message_id::LOADED,
            KMOD_MODULE = attempted.as_str();
            "loaded {attempted}"
        );
        inserted.push(attempted);
    }
    inserted
}

fn log_builtin(module: &str) {
    log::info!(KMOD_MODULE = module; "{module}: built into the kernel, nothing to load");
}
