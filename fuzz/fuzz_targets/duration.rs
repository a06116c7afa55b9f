//! `--timeout` values: never a panic; what parses is a whole number and one
//! of the units the help lists, nothing else.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(duration) = kmod_ready::cli::parse_duration(text) {
        let unit = text.trim_start_matches(|c: char| c.is_ascii_digit());
        assert!(unit.len() < text.len(), "{text:?}: no number");
        assert!(["ms", "s", "m", "h"].contains(&unit), "{text:?}: unit {unit:?}");
        let _ = duration.as_millis();
    }
});
