//! kmod-ready: load kernel modules through libkmod and wait until the files
//! that make them usable exist, so that a service started after us (kubelite,
//! whose kube-proxy writes conntrack sysctls at start) finds them.
//!
//! `run` is the program; each other module is one concern. Only what the
//! fuzz targets call is public.

mod boot;
mod cause;
mod check;
mod check_program;
pub mod cli;
mod entry;
mod input;
mod journal;
pub mod kubelite;
// The one module with unsafe code (Cargo.toml denies it everywhere else):
// the calls into libkmod and log.c, and the ELF note.
#[allow(unsafe_code)]
mod libkmod;
mod load;
mod logging;
mod microk8s;
pub mod modprobe_d;
mod patience;
mod process;
mod readiness;
mod run;
mod status;
mod stderr;
mod stdout;
pub mod system;
mod wait;
mod watchdog;

pub use check::main as check_main;
pub use run::main;
