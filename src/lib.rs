//! kmod-ready: load kernel modules through libkmod and wait until the files
//! that make them usable exist, so that a service started after us (kubelite,
//! whose kube-proxy writes conntrack sysctls at start) finds them; and
//! `kmod-ready check`, which says why they are not.
//!
//! Two wings, one per program, over shared rooms (ARCHITECTURE.md):
//! `boot_path` is `kmod-ready` (src/main.rs), `check` is `kmod-ready-check`
//! (src/bin/kmod-ready-check.rs). Only what the fuzz targets call is public.

// The two programs.
mod boot_path;
mod check;

// What both use.
mod cause;
pub mod cli;
mod entry;
mod input;
mod journal;
// The one module with unsafe code (Cargo.toml denies it everywhere else):
// the calls into libkmod and log.c, and the ELF note.
#[allow(unsafe_code)]
mod libkmod;
mod logging;
mod microk8s;
pub mod modprobe_d;
mod patience;
mod process;
mod readiness;
mod status;
mod stderr;
mod stdout;
pub mod system;

pub use boot_path::run::main;
pub use check::kubelite;
pub use check::main as check_main;
