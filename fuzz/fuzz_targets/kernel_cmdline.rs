//! /proc/cmdline, as the bytes the kernel gives: words never contain an
//! unquoted space; every blacklisted name comes from a `module_blacklist=`
//! word before any `--` (what follows `--` is init's, not the kernel's).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let words = kmod_ready::system::cmdline_words(bytes);
    assert!(!words.iter().any(|w| w == b"--"));
    let names = kmod_ready::system::cmdline_module_blacklist(bytes);
    if !names.is_empty() {
        assert!(words.iter().any(|w| w.starts_with(b"module_blacklist=")));
    }
    for name in names {
        assert!(!name.is_empty() && !name.contains(',') && !name.contains('-'));
    }
});
