//! The entry point of `kmod-ready check`'s own program (see
//! src/boot_path/check_program.rs). It skips Rust's runtime set-up as main.rs does.
#![no_main]

use std::ffi::{c_char, c_int};

// `no_mangle` counts as unsafe code: a symbol of this name could clash. It
// must be C's `main`, and nothing else in the program defines one.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    kmod_ready::check_main(std::env::args_os()).into()
}
