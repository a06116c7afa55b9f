//! Compiles src/libkmod/log.c, libkmod's log callback (its header says why
//! it is C). cargo-zigbuild's cross builds set the C compiler for `cc`.
fn main() {
    println!("cargo:rerun-if-changed=src/libkmod/log.c");
    cc::Build::new()
        .file("src/libkmod/log.c")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("kmod_ready_libkmod_log");
}
