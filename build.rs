//! Compiles src/libkmod/log.c, libkmod's log callback (its header says why
//! it is C), and links the unwinder statically. cargo-zigbuild's cross
//! builds set the C compiler for `cc`.
use std::any::Any;
use std::ffi::OsStr;
use std::process::Command;
use std::sync::Arc;

use cc::{BuildMessage, BuildMessageKind, BuildMessageLogger};

fn main() {
    println!("cargo:rerun-if-changed=src/libkmod/log.c");
    println!("cargo:rerun-if-changed=src/libkmod/log.h");
    cc::Build::new()
        .file("src/libkmod/log.c")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        // cc's messages go through CargoWarnings, which prints them as cc
        // would, all but one false alarm.
        .cargo_warnings(false)
        .message_logger(Some(Arc::new(CargoWarnings)))
        .compile("kmod_ready_libkmod_log");
    link_unwinder_statically();
}

/// Links GCC's unwinder (libgcc_eh.a) into native builds, as zig links its
/// own into the packaged ones: otherwise libgcc_s.so.1 sits in the global
/// scope, and every symbol the dlopen of libkmod and its libraries resolves
/// searches it in vain (170 k instructions of the cold path; tests/bench).
/// Only the default linker is known to be GCC's; a configured one (a cross
/// or zig build) keeps its own unwinder.
fn link_unwinder_statically() {
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    if target_os == "linux" && target_env == "gnu" && std::env::var_os("RUSTC_LINKER").is_none() {
        println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
    }
}

/// Prints what cc prints as Cargo warnings without a logger (its own warnings
/// and the stderr of the commands it runs), except zig's triple complaint.
struct CargoWarnings;

impl BuildMessageLogger for CargoWarnings {
    fn log(&self, kind: BuildMessageKind, msg: BuildMessage<'_>, extra: &dyn Any) {
        let line = msg.to_string();
        let shown = match kind {
            BuildMessageKind::GeneralWarning => true,
            BuildMessageKind::StderrForwarding => !extra
                .downcast_ref::<Command>()
                .is_some_and(|cmd| zig_triple_complaint(cmd, &line)),
            // Neither does cc print these: a failed command is the error it
            // returns, and compile commands are for compile_commands.json.
            _ => false,
        };
        if shown {
            println!("cargo:warning={line}");
        }
    }
}

/// Workaround: zig before 0.17 gives clang its glibc-suffixed triple on cc's `--version` check.
fn zig_triple_complaint(cmd: &Command, line: &str) -> bool {
    cmd.get_args().eq([OsStr::new("--version")])
        && line.starts_with("zig: error: version '")
        && line.contains("' in target triple '")
}
