//! What `kmod-ready check` reads from `systemctl show` and unit files:
//! ExecStartPre= values, split and unquoted as systemd does, and the
//! kmod-ready command line in them as kmod-ready's own parser reads it.
#![no_main]
use kmod_ready::kubelite::{parse_exec_line, ExecCommand, KmodReady};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = kmod_ready::kubelite::exec_start_pre_assignments(text);
    let env = kmod_ready::kubelite::environment_file(text);
    for command in parse_exec_line(text).0 {
        assert!(!command.argv.is_empty());
        check_command(&command.expand(&env));
    }
});

fn check_command(command: &ExecCommand) {
    match command.kmod_ready() {
        Some(KmodReady::Loads { modules, .. }) => {
            for module in modules {
                assert!(!module.is_empty() && !module.contains('/'), "{module:?}");
            }
        }
        Some(KmodReady::Rejected(reason)) => assert!(!reason.contains('\n'), "{reason:?}"),
        None => {}
    }
}
