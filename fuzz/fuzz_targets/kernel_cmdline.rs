//! /proc/cmdline: words never contain an unquoted space; every blacklisted
//! name comes from a `module_blacklist=` word.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let words = kmod_ready::system::cmdline_words(text);
    let names = kmod_ready::system::cmdline_module_blacklist(text);
    if !names.is_empty() {
        assert!(words.iter().any(|w| w.starts_with("module_blacklist=")));
    }
    for name in names {
        assert!(!name.is_empty() && !name.contains(',') && !name.contains('-'));
    }
});
