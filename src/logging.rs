//! Logging: native journal entries when stderr is the journal (or when
//! asked), plain lines on stderr otherwise.
//!
//! Each event kind has a fixed MESSAGE_ID so that admins and tests can find
//! it with `journalctl MESSAGE_ID=…`. A journal that cannot take an entry
//! (socket missing, full, refused) never fails the run: that entry goes to
//! stderr instead.

use std::io::Write;

use log::{LevelFilter, Log, Metadata, Record};

use crate::cli::LogTarget;
use crate::journal::{stderr_is_journal, Journal};

pub const IDENTIFIER: &str = "kmod-ready";

/// `MESSAGE_ID=` of each event kind.
pub mod message_id {
    /// Every module is ready (the summary line).
    pub const READY: &str = "b2072fad9bef4abba80cce1d55829e1d";
    /// A module was inserted by us.
    pub const LOADED: &str = "1fa7a327c9b64387b939cd571f4f7bc5";
    /// The readiness paths did not appear before the timeout.
    pub const TIMED_OUT: &str = "7a6a60d4fc50499599b2229f6549a519";
    /// A module could not be found or loaded.
    pub const LOAD_FAILED: &str = "2bd8559d3e8a48dd9383593d3debc3b3";
    /// A module blacklisted by name in modprobe.d was loaded anyway.
    pub const BLACKLIST_OVERRIDDEN: &str = "df02465a3d994f7ca0933779f2042992";
    /// SIGTERM or SIGINT arrived while waiting.
    pub const INTERRUPTED: &str = "1e144b70da3d46ad9d6d5a916a5f3e2a";
}

struct Logger {
    journal: Option<Journal>,
    stderr: env_logger::Logger,
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let sent = self
            .journal
            .as_ref()
            .is_some_and(|journal| journal.send(record).is_ok());
        if !sent {
            self.stderr.log(record);
        }
    }

    fn flush(&self) {
        self.stderr.flush();
    }
}

/// `verbosity`: 0 is the default (info), positive is more, negative less.
pub fn init(target: LogTarget, verbosity: i8) {
    let level = match verbosity {
        i8::MIN..=-2 => LevelFilter::Error,
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
        .target(env_logger::Target::Stderr)
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
