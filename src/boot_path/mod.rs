//! `kmod-ready [MODULE...]`, the program kubelite's `ExecStartPre=` runs at
//! every start: `run` reads the command line, `load` loads through libkmod
//! under the `watchdog`'s bound, `wait` waits for the readiness paths, and
//! `check_program` hands `check` over to its own program.

pub(crate) mod check_program;
pub(crate) mod load;
pub mod run;
pub(crate) mod wait;
pub(crate) mod watchdog;
