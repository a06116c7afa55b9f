//! Compiles src/libkmod/log.c, libkmod's log callback (its header says why
//! it is C). cargo-zigbuild's cross builds set the C compiler for `cc`.
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
