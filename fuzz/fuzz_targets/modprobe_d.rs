//! modprobe.d and modules-load.d text: never a panic, line numbers in range.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let lines = text.lines().count().max(1);
    for (line, name) in kmod_ready::modprobe_d::blacklist_lines(text) {
        assert!(line >= 1 && line <= lines + 1, "line {line} of {lines}");
        assert!(!name.is_empty());
    }
    for (line, name, command) in kmod_ready::modprobe_d::install_lines(text) {
        assert!(line >= 1 && line <= lines + 1, "line {line} of {lines}");
        assert!(!name.is_empty() && !command.is_empty());
    }
    for (line, name) in kmod_ready::modprobe_d::modules_load_lines(text) {
        assert!(line >= 1 && line <= lines + 1, "line {line} of {lines}");
        assert!(!name.is_empty());
    }
});
