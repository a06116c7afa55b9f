//! `--timeout` values: never a panic; what parses is a whole number of a unit.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(duration) = kmod_ready::cli::parse_duration(text) {
        assert!(text.starts_with(|c: char| c.is_ascii_digit()));
        let _ = duration.as_millis();
    }
});
