//! /proc/cmdline, as the bytes the kernel gives: words never contain an
//! unquoted space; every blacklisted name comes from one `module_blacklist=`
//! word (spelt with `-` or `_`) before any `--` (what follows `--` is
//! init's, not the kernel's).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let words = kmod_ready::system::cmdline_words(bytes);
    assert!(!words.iter().any(|w| w == b"--"));
    let names = kmod_ready::system::cmdline_module_blacklist(bytes);
    if !names.is_empty() {
        let param = |w: &Vec<u8>| {
            w.len() > 17 && w[..17].iter().map(|&b| if b == b'-' { b'_' } else { b }).eq(*b"module_blacklist=")
        };
        assert!(words.iter().any(param));
    }
    for name in names {
        assert!(!name.is_empty() && !name.contains(','));
    }
});
