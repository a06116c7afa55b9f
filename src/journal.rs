//! Entries for the systemd journal, in its native protocol (see
//! systemd.journal-fields(7) and journald's "native protocol" document),
//! sent without ever blocking.
//!
//! Why not the systemd-journal-logger crate, which does the same encoding:
//! its socket blocks, so a journald that is wedged at boot (its queue full)
//! would hang kmod-ready, and with it kubelite's start, forever. Here a send
//! that cannot complete at once fails, and the caller writes the entry to
//! stderr instead.

use std::fmt::Write as _;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;

use log::kv::{Error, Key, Value, VisitSource, VisitValue};
use log::{Level, Record};

pub const SOCKET: &str = "/run/systemd/journal/socket";

pub struct Journal {
    socket: UnixDatagram,
    identifier: &'static str,
}

impl Journal {
    /// Fails when journald is not there (no socket, nobody listening).
    pub fn connect(identifier: &'static str) -> io::Result<Journal> {
        let socket = UnixDatagram::unbound()?;
        socket.set_nonblocking(true)?;
        socket.connect(SOCKET)?;
        Ok(Journal { socket, identifier })
    }

    /// Sends one entry; fails at once if journald cannot take it now.
    pub fn send(&self, record: &Record) -> io::Result<()> {
        self.socket.send(&self.encode(record)).map(|_| ())
    }

    fn encode(&self, record: &Record) -> Vec<u8> {
        let mut entry = Vec::with_capacity(256);
        put(&mut entry, "PRIORITY", priority(record.level()).as_bytes());
        put(&mut entry, "SYSLOG_IDENTIFIER", self.identifier.as_bytes());
        put(
            &mut entry,
            "SYSLOG_PID",
            std::process::id().to_string().as_bytes(),
        );
        put(&mut entry, "MESSAGE", record.args().to_string().as_bytes());
        if let (Some(file), Some(line)) = (record.file(), record.line()) {
            put(&mut entry, "CODE_FILE", file.as_bytes());
            put(&mut entry, "CODE_LINE", line.to_string().as_bytes());
        }
        let _ = record.key_values().visit(&mut Fields(&mut entry));
        entry
    }
}

/// The record's key-values (`KMOD_MODULE = …`) as journal fields; a
/// `None` value (`ERRNO` without an errno) leaves its field out.
struct Fields<'a>(&'a mut Vec<u8>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), Error> {
        if is_none(&value) {
            return Ok(());
        }
        let mut text = String::new();
        let _ = write!(text, "{value}");
        put(self.0, key.as_str(), text.as_bytes());
        Ok(())
    }
}

fn is_none(value: &Value) -> bool {
    struct Null(bool);
    impl VisitValue<'_> for Null {
        fn visit_any(&mut self, _: Value) -> Result<(), Error> {
            Ok(())
        }
        fn visit_null(&mut self) -> Result<(), Error> {
            self.0 = true;
            Ok(())
        }
    }
    let mut null = Null(false);
    let _ = value.visit(&mut null);
    null.0
}

/// `NAME=value\n`, or, when the value holds a newline, `NAME\n`, its length
/// as a little-endian u64, the value and `\n`.
fn put(entry: &mut Vec<u8>, name: &str, value: &[u8]) {
    entry.extend_from_slice(name.as_bytes());
    if value.contains(&b'\n') {
        entry.push(b'\n');
        entry.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        entry.push(b'=');
    }
    entry.extend_from_slice(value);
    entry.push(b'\n');
}

/// syslog priorities: error → err, warn → warning, info → notice (our
/// summary and load lines are what an admin wants to see), debug → info,
/// trace → debug.
fn priority(level: Level) -> &'static str {
    match level {
        Level::Error => "3",
        Level::Warn => "4",
        Level::Info => "5",
        Level::Debug => "6",
        Level::Trace => "7",
    }
}

/// Whether stderr is the journal stream systemd gave us: `$JOURNAL_STREAM`
/// holds its device and inode (systemd.exec(5)).
pub fn stderr_is_journal() -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    nix::sys::stat::fstat(io::stderr().as_raw_fd())
        .map(|stat| format!("{}:{}", stat.st_dev, stat.st_ino) == stream.to_string_lossy())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_newlines_use_the_binary_form() {
        let mut entry = Vec::new();
        put(&mut entry, "MESSAGE", b"one line");
        put(&mut entry, "MESSAGE", b"two\nlines");
        let mut expected = b"MESSAGE=one line\nMESSAGE\n".to_vec();
        expected.extend_from_slice(&9u64.to_le_bytes());
        expected.extend_from_slice(b"two\nlines\n");
        assert_eq!(entry, expected);
    }
}
