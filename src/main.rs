use std::process::ExitCode;

fn main() -> ExitCode {
    kmod_ready::main(std::env::args_os())
}
