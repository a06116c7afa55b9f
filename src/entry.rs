//! What both programs do before their own work: keep a closed pipe from
//! killing them, read the command line, and answer `--help`, `--version`
//! and usage errors. Shared by the boot path (`run`) and `kmod-ready-check`.

use std::ffi::OsString;

use crate::cli::{self, Cli};
use crate::status::Status;
use crate::{logging, stdout};

/// The command line, or the status to exit with once help, the version or
/// a usage error has been printed.
pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, Status> {
    // Rust's runtime, which main.rs skips, would ignore SIGPIPE: a closed
    // stderr must give EPIPE, not kill us half-way.
    let mut pipe = nix::sys::signal::SigSet::empty();
    pipe.add(nix::sys::signal::Signal::SIGPIPE);
    let _ = pipe.thread_block();
    cli::parse(args).map_err(usage_error)
}

/// Help and version go to stdout with status 0; any other error is one line
/// on stderr (the argument and the reason) with status 64.
fn usage_error(err: clap::Error) -> Status {
    if let Some(what) = cli::help_or_version(&err) {
        return match stdout::write_stdout(&err.render().to_string()) {
            Ok(()) => Status::Ready,
            Err(io) => stdout::output_failed(what, &io),
        };
    }
    let reason = cli::error_reason(&err);
    logging::print_line(&format!(
        "{}: {reason} (see kmod-ready --help)",
        logging::IDENTIFIER
    ));
    Status::Usage
}
