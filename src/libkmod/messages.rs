//! libkmod's own messages (a modprobe.d line it ignores, an index it cannot
//! read) in our log, as systemd-modules-load does: errors stay errors,
//! warnings warnings, and notices, info and debug become debug lines.
//!
//! After `kmod_new`, libkmod calls log.c's callback, which hands us the
//! formatted text. `kmod_new` itself parses modprobe.d before a callback can
//! be set, and prints what it rejects to stderr; `kmod_load_resources` and
//! `kmod_validate_resources` do not print it again (measured with libkmod
//! 30). So stderr goes into a pipe for the length of `kmod_new`, and the
//! lines libkmod wrote there are logged afterwards. What is still lost: the
//! part of those lines beyond a pipe's capacity (64 KiB), which libkmod's
//! non-blocking writes drop instead of waiting, and all of them when the
//! timeout ends the run inside kmod_new (the watchdog then takes stderr back
//! with [`release_stderr`] to say why).

use std::ffi::{c_char, c_int, c_void, CStr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

use log::Level;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::unistd::{dup2, pipe2, read};

/// log.c's function for `kmod_set_log_fn`, which formats a message and
/// passes it to its `data`, a [`Sink`]. Its last parameter is a va_list,
/// which stable Rust cannot name, so Rust does not declare that function at
/// all: log.c hands out its address, of C type `kmod_ready_log_fn` (log.h),
/// and Rust holds it as this opaque pointer, which it can only pass on.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct LogFn(*const c_void);

extern "C" {
    /// log.c: the address of its log function.
    fn kmod_ready_libkmod_log_fn() -> LogFn;
}

pub fn log_fn() -> LogFn {
    // SAFETY: log.c's function takes nothing and returns a constant.
    unsafe { kmod_ready_libkmod_log_fn() }
}

/// log.h's `kmod_ready_sink`.
pub type Sink = extern "C" fn(priority: c_int, message: *const c_char);

/// syslog's priorities, as libkmod uses them.
const LOG_ERR: c_int = 3;
const LOG_WARNING: c_int = 4;
const LOG_DEBUG: c_int = 7;

/// The [`Sink`] given to log.c.
pub extern "C" fn forward(priority: c_int, message: *const c_char) {
    if message.is_null() {
        return;
    }
    // SAFETY: log.c passes a NUL-terminated buffer that outlives the call.
    let text = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    log_message(priority, &text);
}

fn log_message(priority: c_int, text: &str) {
    let level = match priority {
        ..=LOG_ERR => Level::Error,
        LOG_WARNING => Level::Warn,
        _ => Level::Debug,
    };
    log::log!(level, KMOD_LIBKMOD = 1; "libkmod: {}", text.trim_end());
}

/// The least important priority libkmod should pass on: what our log level
/// would show, so that libkmod does not format what we drop.
pub fn wanted_priority() -> c_int {
    match log::max_level() {
        log::LevelFilter::Off | log::LevelFilter::Error => LOG_ERR,
        log::LevelFilter::Warn | log::LevelFilter::Info => LOG_WARNING,
        _ => LOG_DEBUG,
    }
}

/// The real stderr while kmod_new runs with fd 2 in a pipe; -1 otherwise.
static SAVED_STDERR: AtomicI32 = AtomicI32::new(-1);

/// Puts the real stderr back on fd 2 if loading, timed out inside kmod_new,
/// still holds it in the pipe: the watchdog is about to log why. The saved
/// descriptor stays open until the process exits, at once.
pub fn release_stderr() {
    let saved = SAVED_STDERR.swap(-1, Ordering::SeqCst);
    if saved >= 0 {
        let _ = dup2(saved, 2);
    }
}

/// Runs `f` (kmod_new) with stderr in a pipe, then logs the lines libkmod
/// wrote there. Without a logger (`check`), a pipe or a stderr, `f` runs as
/// it is, and libkmod writes to stderr itself.
pub fn capturing_stderr<T>(f: impl FnOnce() -> T) -> T {
    if log::max_level() == log::LevelFilter::Off {
        return f();
    }
    crate::logging::settle_stderr();
    let Ok((reader, writer)) = pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC) else {
        return f();
    };
    // fcntl rather than dup: the binary already binds it at start, and the
    // fast path pays for every glibc symbol it binds.
    let Ok(saved) = fcntl(2, FcntlArg::F_DUPFD_CLOEXEC(3)) else {
        return f();
    };
    if dup2(writer.as_raw_fd(), 2).is_err() {
        let _ = nix::unistd::close(saved);
        return f();
    }
    SAVED_STDERR.store(saved, Ordering::SeqCst);
    let result = f();
    // Unless the watchdog took stderr back already (release_stderr).
    let mine = SAVED_STDERR.swap(-1, Ordering::SeqCst);
    if mine >= 0 {
        let _ = dup2(mine, 2);
        let _ = nix::unistd::close(mine);
    }
    drop(writer);
    for line in String::from_utf8_lossy(&drain(&reader)).lines() {
        let (priority, text) = parse_default_line(line);
        log_message(priority, text);
    }
    result
}

fn drain(reader: &OwnedFd) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = read(reader.as_raw_fd(), &mut buf) {
        bytes.extend_from_slice(&buf[..n]);
    }
    bytes
}

/// A line of libkmod's default logger: `libkmod: ERROR FILE:LINE FN: text`
/// (libkmod built with debug) or `libkmod: ERROR: FN: text`. Anything else
/// is kept whole, as an error.
fn parse_default_line(line: &str) -> (c_int, &str) {
    let Some(rest) = line.strip_prefix("libkmod: ") else {
        return (LOG_ERR, line);
    };
    let (name, rest) = rest.split_once([' ', ':']).unwrap_or((rest, ""));
    let priority = match name {
        "CRITICAL" => 2,
        "ERROR" => LOG_ERR,
        "WARNING" => LOG_WARNING,
        "NOTICE" => 5,
        "INFO" => 6,
        "DEBUG" => LOG_DEBUG,
        _ => return (LOG_ERR, line),
    };
    let rest = rest.trim_start_matches([':', ' ']);
    // Past `FILE:LINE ` (when there) and `FN: `.
    let rest = match rest.split_once(' ') {
        Some((location, after)) if location.contains(".c:") => after,
        _ => rest,
    };
    match rest.split_once(": ") {
        Some((function, text)) if is_identifier(function) => (priority, text),
        _ => (priority, rest),
    }
}

fn is_identifier(word: &str) -> bool {
    !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_logger_lines() {
        let debug_build = "libkmod: ERROR ../libkmod/libkmod-config.c:712 kmod_config_parse: \
                           /etc/modprobe.d/x.conf line 2: ignoring bad line starting with 'optoins'";
        let text = "/etc/modprobe.d/x.conf line 2: ignoring bad line starting with 'optoins'";
        assert_eq!(parse_default_line(debug_build), (LOG_ERR, text));
        let release_build = format!("libkmod: WARNING: kmod_config_parse: {text}");
        assert_eq!(parse_default_line(&release_build), (LOG_WARNING, text));
        assert_eq!(parse_default_line("other: text"), (LOG_ERR, "other: text"));
    }
}
