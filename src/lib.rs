//! kmod-ready: load kernel modules through libkmod and wait until the files
//! that make them usable exist, so that a service started after us (kubelite,
//! whose kube-proxy writes conntrack sysctls at start) finds them.

pub mod check;
pub mod cli;
pub mod journal;
pub mod kubelite;
pub mod libkmod;
pub mod load;
pub mod logging;
pub mod modprobe_d;
pub mod readiness;
pub mod status;
pub mod system;
pub mod wait;

use std::ffi::OsString;
use std::time::{Duration, Instant};

use cli::LoadArgs;
use load::{Facts, Failure, Loaded};
use logging::message_id;
use readiness::{sys_module_dir, Requirement};
use status::Status;
use system::Root;

/// The whole program; `main` only calls this. Returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    let start = Instant::now();
    // Rust's runtime, which main.rs skips, would ignore SIGPIPE: a closed
    // stderr must give EPIPE, not kill us half-way.
    let mut pipe = nix::sys::signal::SigSet::empty();
    pipe.add(nix::sys::signal::Signal::SIGPIPE);
    let _ = pipe.thread_block();
    let cli = match cli::parse(args) {
        Ok(cli) => cli,
        Err(err) => return usage_error(err).code(),
    };
    if let Some(cli::Command::Check(args)) = &cli.command {
        // Read-only, reports on stdout: no logger needed.
        return check::run(args, Root::from_env()).code();
    }
    let verbosity = cli.output.verbose as i8 - cli.output.quiet as i8;
    logging::init(cli.output.log, verbosity);
    let status = make_ready(&cli.load, Root::from_env(), start);
    log::logger().flush();
    status.code()
}

/// Help and version go to stdout with status 0; any other error is one line
/// on stderr (the argument and the reason) with status 64.
fn usage_error(err: clap::Error) -> Status {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = err.print();
        return Status::Ready;
    }
    // clap's first paragraph, on one line: "unexpected argument '--x' found",
    // "the following required arguments were not provided: <MODULE>...".
    let text = err.to_string();
    let first_paragraph: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect();
    let joined = first_paragraph.join(" ");
    let reason = joined.strip_prefix("error: ").unwrap_or(&joined);
    eprintln!("{}: {reason} (see kmod-ready --help)", logging::IDENTIFIER);
    Status::Usage
}

/// Loads what is not ready, then waits until everything is.
pub fn make_ready(args: &LoadArgs, root: Root, start: Instant) -> Status {
    let deadline = start + args.timeout;
    let mut requirements: Vec<Requirement> =
        args.modules.iter().map(|m| Requirement::new(m)).collect();
    if !args.wait_for.is_empty() {
        requirements.push(Requirement {
            module: "--wait-for".to_string(),
            paths: args.wait_for.clone(),
        });
    }
    // The fast path: every kubelite restart after the first one ends here,
    // without libkmod.
    if requirements.iter().all(|r| r.is_ready(&root)) {
        log_ready(&args.modules, start, "already ready");
        return Status::Ready;
    }
    let facts = Facts::read(root);
    let loaded = match load_missing(&args.modules, &mut requirements, &facts) {
        Ok(loaded) => loaded,
        Err(failure) => {
            failure.log(&facts.release);
            return failure.status;
        }
    };
    match wait::wait_until(deadline, || {
        requirements.iter().all(|r| r.is_ready(&facts.root))
    }) {
        wait::Outcome::Ready => {
            log_ready(&args.modules, start, &describe(&loaded));
            Status::Ready
        }
        wait::Outcome::TimedOut => {
            let missing = missing_paths(&requirements, &facts.root);
            log::error!(
                MESSAGE_ID = message_id::TIMED_OUT,
                KMOD_MODULE = args.modules.join(" ").as_str(),
                KMOD_ELAPSED_USEC = elapsed_usec(start);
                "{}: still missing after {}: {}; the module may still be initialising or failed \
                 in the kernel: see `dmesg`, or raise --timeout",
                args.modules.join(", "), format_duration(args.timeout), missing
            );
            Status::TimedOut
        }
        wait::Outcome::Interrupted(signal) => {
            log::warn!(
                MESSAGE_ID = message_id::INTERRUPTED,
                KMOD_MODULE = args.modules.join(" ").as_str(),
                KMOD_ELAPSED_USEC = elapsed_usec(start);
                "{}: interrupted by {} while waiting for {}; not ready",
                args.modules.join(", "), signal.as_str(), missing_paths(&requirements, &facts.root)
            );
            Status::TimedOut
        }
    }
}

/// Loads each requested module whose readiness paths are missing. A module
/// whose /sys/module directory exists is already in the kernel (loaded,
/// built in, or initialising): probing it again would change nothing, so
/// we only wait for it. libkmod is opened only if something is left.
fn load_missing(
    modules: &[String],
    requirements: &mut [Requirement],
    facts: &Facts,
) -> Result<Loaded, Failure> {
    let mut to_probe = Vec::new();
    for (index, module) in modules.iter().enumerate() {
        if requirements[index].is_ready(&facts.root) {
            log::debug!("{module}: ready");
        } else if facts.root.exists(sys_module_dir(module)) {
            log::info!(KMOD_MODULE = module.as_str(); "{module}: already in the kernel, waiting until it is ready");
        } else {
            to_probe.push(index);
        }
    }
    let mut loaded = Loaded::default();
    if to_probe.is_empty() {
        return Ok(loaded);
    }
    let lib = load::open_libkmod(modules)?;
    let ctx = load::context(&lib, facts, &modules[to_probe[0]])?;
    for index in to_probe {
        let module = &modules[index];
        let outcome = load::load(&ctx, facts, module)?;
        let requirement = &mut requirements[index];
        requirement.resolve_alias(&outcome.resolved);
        // A built-in module without parameters has no /sys/module entry.
        for builtin in &outcome.builtin {
            requirement.drop_sys_module_dir(builtin);
        }
        loaded.inserted.extend(outcome.inserted);
        loaded.builtin.extend(outcome.builtin);
    }
    Ok(loaded)
}

fn describe(loaded: &Loaded) -> String {
    let mut parts = Vec::new();
    if !loaded.inserted.is_empty() {
        parts.push(format!("loaded: {}", loaded.inserted.join(", ")));
    }
    if !loaded.builtin.is_empty() {
        parts.push(format!("built in: {}", loaded.builtin.join(", ")));
    }
    if parts.is_empty() {
        parts.push("already in the kernel".to_string());
    }
    parts.join("; ")
}

fn log_ready(modules: &[String], start: Instant, detail: &str) {
    let elapsed = start.elapsed();
    log::info!(
        MESSAGE_ID = message_id::READY,
        KMOD_MODULE = modules.join(" ").as_str(),
        KMOD_ELAPSED_USEC = elapsed.as_micros() as u64;
        "{} ready in {} ms ({detail})",
        modules.join(", "), elapsed.as_millis()
    );
}

fn missing_paths(requirements: &[Requirement], root: &Root) -> String {
    let missing: Vec<String> = requirements
        .iter()
        .flat_map(|r| r.missing(root))
        .map(|path| path.display().to_string())
        .collect();
    missing.join(", ")
}

fn elapsed_usec(start: Instant) -> u64 {
    start.elapsed().as_micros() as u64
}

fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() != 0 || duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{} s", duration.as_secs())
    }
}
