//! Logging: native journal entries when stderr is the journal (or when
//! asked), plain lines on stderr otherwise.
//!
//! Each event kind has a fixed MESSAGE_ID so that admins and tests can find
//! it with `journalctl MESSAGE_ID=…`. A journal that cannot take an entry
//! (socket missing, full, refused) never fails the run: that entry goes to
//! stderr instead, which never blocks either (see stderr.rs).
//!
//! Messages carry bytes from outside (file names, arguments, lines of
//! units): their control characters are escaped, so that no message can
//! forge a second line or drive a terminal.

use std::io::Write;
use std::sync::OnceLock;

use log::{LevelFilter, Log, Metadata, Record};

use crate::cli::LogTarget;
use crate::journal::{stderr_is_journal, Journal};
use crate::stderr::Stderr;

pub const IDENTIFIER: &str = "kmod-ready";

/// `MESSAGE_ID=` of each event kind.
pub mod message_id {
    /// Every module is ready (the summary line).
    pub const READY: &str = "b2072fad9bef4abba80cce1d55829e1d";
    /// A module was inserted by us.
    pub const LOADED: &str = "1fa7a327c9b64387b939cd571f4f7bc5";
    /// The readiness paths did not appear before the timeout.
    pub const TIMED_OUT: &str = "7a6a60d4fc50499599b2229f6549a519";
    /// Loading (libkmod reading its files, an install command, a module's
    /// init) had not finished when the timeout ran out.
    pub const LOAD_TIMED_OUT: &str = "563b7fe280134e8f89f5c39073a29df2";
    /// A module could not be found or loaded.
    pub const LOAD_FAILED: &str = "2bd8559d3e8a48dd9383593d3debc3b3";
    /// A module blacklisted by name in modprobe.d was loaded anyway.
    pub const BLACKLIST_OVERRIDDEN: &str = "df02465a3d994f7ca0933779f2042992";
    /// SIGTERM or SIGINT arrived while waiting.
    pub const INTERRUPTED: &str = "1e144b70da3d46ad9d6d5a916a5f3e2a";
}

struct Logger {
    journal: Option<Journal>,
    /// Formats the lines; writes them through [`StderrPipe`].
    stderr: env_logger::Logger,
}

/// env_logger's output: each record, formatted whole, is one line for
/// [`Stderr`], which never blocks.
struct StderrPipe(&'static Stderr);

impl std::io::Write for StderrPipe {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.0.write_line(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The stderr the logger writes to, kept to count what it dropped.
static STDERR: OnceLock<Stderr> = OnceLock::new();

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        with_escaped_message(record, |record| {
            let sent = self
                .journal
                .as_ref()
                .is_some_and(|journal| journal.send(record).is_ok());
            if !sent {
                self.stderr.log(record);
            }
        });
    }

    fn flush(&self) {
        self.stderr.flush();
    }
}

/// Calls `f` with `record` whose message has its control characters escaped
/// (the new record borrows the escaped text, so it lives only in this call).
fn with_escaped_message(record: &Record, f: impl FnOnce(&Record)) {
    let message = escape_controls(&record.args().to_string());
    f(&Record::builder()
        .args(format_args!("{message}"))
        .metadata(record.metadata().clone())
        .file(record.file())
        .line(record.line())
        .module_path(record.module_path())
        .key_values(record.key_values())
        .build());
}

/// `text` with each control character written as `\xNN` (and a backslash
/// that could start such an escape doubled), on one line.
pub fn escape_controls(text: &str) -> String {
    if !text.contains(|c: char| c.is_control()) {
        return text.to_string();
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            c if c.is_control() => escaped.push_str(&format!("\\x{:02x}", c as u32)),
            c => escaped.push(c),
        }
    }
    escaped
}

/// "N log lines dropped: stderr was full" when stderr dropped any, for
/// the last line of a run.
pub fn dropped_note() -> Option<String> {
    match STDERR.get().map_or(0, Stderr::dropped) {
        0 => None,
        n => Some(format!("{n} log lines dropped: stderr was full")),
    }
}

/// Finds how stderr is written while fd 2 is still stderr: called before
/// fd 2 is lent to a pipe (see libkmod/messages.rs).
pub fn settle_stderr() {
    if let Some(stderr) = STDERR.get() {
        stderr.settle();
    }
}

/// Writes one line to stderr, never blocking on a socket or a pipe: for
/// messages printed before or without the logger (usage errors).
pub fn print_line(text: &str) {
    let stderr = STDERR.get_or_init(Stderr::new);
    stderr.write_line(format!("{}\n", escape_controls(text)).as_bytes());
}

/// `verbosity`: 0 is the default (info), positive is more, negative less.
pub fn init(target: LogTarget, verbosity: i16) {
    let level = match verbosity {
        i16::MIN..=-2 => LevelFilter::Error,
        -1 => LevelFilter::Warn,
        0 => LevelFilter::Info,
        1 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    };
    let want_journal = match target {
        LogTarget::Journal => true,
        LogTarget::Stderr => false,
        LogTarget::Auto => stderr_is_journal(),
    };
    let journal = want_journal
        .then(|| Journal::connect(IDENTIFIER).ok())
        .flatten();
    let stderr = env_logger::Builder::new()
        .filter_level(level)
        .target(env_logger::Target::Pipe(Box::new(StderrPipe(
            STDERR.get_or_init(Stderr::new),
        ))))
        .format(|buf, record| {
            let prefix = match record.level() {
                log::Level::Error => "error: ",
                log::Level::Warn => "warning: ",
                _ => "",
            };
            writeln!(buf, "{IDENTIFIER}: {prefix}{}", record.args())
        })
        .build();
    let journal_missing = want_journal && journal.is_none();
    // Only fails if a logger is already set, which cannot happen here.
    let _ = log::set_boxed_logger(Box::new(Logger { journal, stderr }));
    log::set_max_level(level);
    if journal_missing {
        log::warn!("the journal socket cannot be reached; logging to stderr");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("plain"), "plain");
        assert_eq!(
            escape_controls("a\nkmod-ready: forged\x1b[2J\\"),
            "a\\x0akmod-ready: forged\\x1b[2J\\\\"
        );
    }
}
