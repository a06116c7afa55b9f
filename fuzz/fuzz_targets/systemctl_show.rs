//! What `kmod-ready check` reads from `systemctl show` and unit files:
//! ExecStartPre= values and the kmod-ready command line in them.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = kmod_ready::kubelite::exec_start_pre_assignments(text);
    if let Some(modules) = kmod_ready::kubelite::kmod_ready_modules(text) {
        for module in modules {
            assert!(!module.is_empty());
        }
    }
});
