//! Exit statuses, in the style of sysexits(3).
//!
//! `systemctl status` shows only the number of a failed `ExecStartPre=`, so
//! each number stands for one class of cause; the log line printed next to it
//! names the cause and the fix.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every module is ready (or, for `check`, the node is ready).
    Ready,
    /// `check` only: the node is not ready.
    NotReady,
    /// EX_USAGE: bad command line.
    Usage,
    /// EX_NOINPUT: `check` only: the system could not be read (no kernel
    /// release) or kmod-ready-check could not be run, so there is no verdict.
    Unreadable,
    /// EX_UNAVAILABLE: module not found, or could not be loaded.
    Unavailable,
    /// EX_IOERR: the report, help or version could not be written.
    OutputFailed,
    /// EX_TEMPFAIL: loaded, but not ready before the timeout (or interrupted).
    TimedOut,
    /// EX_NOPERM: the kernel or the environment does not permit loading.
    NotPermitted,
    /// EX_CONFIG: the system's configuration prevents loading.
    BadConfig,
}

impl Status {
    pub const fn code(self) -> u8 {
        match self {
            Status::Ready => 0,
            Status::NotReady => 1,
            Status::Usage => 64,
            Status::Unreadable => 66,
            Status::Unavailable => 69,
            Status::OutputFailed => 74,
            Status::TimedOut => 75,
            Status::NotPermitted => 77,
            Status::BadConfig => 78,
        }
    }
}

/// The table printed by `--help`. kmod-ready(8) words it at more length
/// and the README points to both; the tests below keep their numbers equal
/// to [`Status::code`].
pub const EXIT_STATUS_HELP: &str = "\
Exit status:
   0  every module is ready
  64  usage error (bad option, module name, duration or path)
  69  module not found, or could not be loaded (also: libkmod.so.2 missing)
  74  output error: the report, help or version could not be written
  75  not ready before --timeout ran out, or interrupted by SIGTERM/SIGINT
  77  not permitted (no CAP_SYS_MODULE, container, lockdown or signature,
      module_blacklist= on the kernel command line)
  78  bad configuration (alias blacklisted in modprobe.d, bad module options,
      an install line that did not load the module, a FIFO or device among
      the modprobe.d files or the module index)
kmod-ready check exits 0 when ready, 1 when not, 64 on a usage error, 66 when
it cannot read the system (no verdict), 74 on an output error.";

/// `kmod-ready check --help`'s line: `check` exits only with these.
pub const CHECK_EXIT_STATUS_HELP: &str = "Exit status: 0 ready, 1 not ready, 64 usage error, \
66 system unreadable, 74 output error.";

#[cfg(test)]
mod tests;
