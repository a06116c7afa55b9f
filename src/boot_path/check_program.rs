//! `kmod-ready check` is its own program, `kmod-ready-check`, installed
//! beside `kmod-ready`: the binary that runs at every kubelite start carries
//! none of the diagnosis (boot loaders, unit reading, JSON, metrics). This
//! room hands `check`'s arguments over to it.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use crate::logging;
use crate::status::Status;
use crate::stdout::{output_failed, write_stdout};

/// The file name of check's program, in the directory of this one.
pub(crate) const CHECK_PROGRAM: &str = "kmod-ready-check";

/// Replaces this process with check's program, given what follows `check`
/// on `args` (this program's whole command line, `check` its first
/// argument, as clap allows nothing before a subcommand). Returns only when
/// it cannot be run: no verdict, said as check says it (with `--npd`, whose
/// reader reads stdout only, there too).
pub(crate) fn exec(args: &[OsString], npd: bool) -> Status {
    let rest = args
        .iter()
        .skip(1)
        .skip_while(|arg| *arg != "check")
        .skip(1);
    let err = match program() {
        Ok(path) => {
            let err = Command::new(&path).arg0(CHECK_PROGRAM).args(rest).exec();
            format!("{}: {err}", path.display())
        }
        Err(err) => format!("/proc/self/exe: {err}"),
    };
    if npd {
        if let Err(io) = write_stdout(&format!("no verdict: {CHECK_PROGRAM} cannot run\n")) {
            return output_failed("the line", &io);
        }
    }
    logging::print_line(&format!(
        "{}: no verdict: cannot run {CHECK_PROGRAM}, the program of `kmod-ready check`: \
         {err}; reinstall the kmod-ready package",
        logging::IDENTIFIER
    ));
    Status::Unreadable
}

/// check's program: beside this one, wherever this one was installed.
fn program() -> std::io::Result<PathBuf> {
    Ok(std::env::current_exe()?.with_file_name(CHECK_PROGRAM))
}
