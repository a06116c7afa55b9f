//! Writing reports and help to stdout. The twin of stderr.rs: there a line
//! that cannot go is dropped and counted; here a failed write ends the run
//! with a message on stderr and status 74.

use std::os::fd::AsFd;

use crate::logging;
use crate::status::Status;

/// Writes all of `text` to stdout. Not through `std::io::stdout()`, which
/// reports a closed stdout (EBADF) as success.
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    let stdout = std::io::stdout();
    let mut rest = text.as_bytes();
    while !rest.is_empty() {
        match nix::unistd::write(stdout.as_fd(), rest) {
            Ok(written) => rest = &rest[written..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(errno) => return Err(errno.into()),
        }
    }
    Ok(())
}

/// A write to stdout failed: say so on stderr, exit 74.
pub fn output_failed(what: &str, err: &std::io::Error) -> Status {
    logging::print_line(&format!(
        "{}: cannot write {what} to standard output: {err}",
        logging::IDENTIFIER
    ));
    Status::OutputFailed
}
