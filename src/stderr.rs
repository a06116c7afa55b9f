//! Writing lines to stderr without ever blocking on a socket.
//!
//! Under systemd, stderr is journald's stream socket. If journald is
//! wedged, a blocking write would hang kmod-ready, and kubelite's start with
//! it, until systemd's start timeout. So on a socket each line is sent with
//! `MSG_DONTWAIT`, which changes no flag of the file description systemd
//! shares with us; a line that cannot go at once is dropped and counted.
//! Pipes, terminals and files are written as usual.

use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::sys::socket::{send, MsgFlags};
use nix::sys::stat::{fstat, SFlag};

pub(crate) struct Stderr {
    fd: RawFd,
    /// Found on the first write: the fast path, logging to the journal,
    /// never pays for the fstat.
    is_socket: OnceLock<bool>,
    dropped: AtomicU64,
}

impl Stderr {
    pub fn new() -> Stderr {
        Stderr::on(std::io::stderr().as_raw_fd())
    }

    fn on(fd: RawFd) -> Stderr {
        Stderr {
            fd,
            is_socket: OnceLock::new(),
            dropped: AtomicU64::new(0),
        }
    }

    fn is_socket(&self) -> bool {
        *self.is_socket.get_or_init(|| {
            fstat(self.fd).is_ok_and(|stat| {
                SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFSOCK
            })
        })
    }

    /// Writes `line` (which ends in a newline); on a socket that cannot take
    /// it whole at once, drops (the rest of) it and counts it.
    pub fn write_line(&self, line: &[u8]) {
        if !self.is_socket() {
            // Nothing else can be done with a write error on stderr.
            let _ = std::io::stderr().lock().write_all(line);
            return;
        }
        let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL;
        let mut rest = line;
        while !rest.is_empty() {
            match send(self.fd, rest, flags) {
                Ok(sent) => rest = &rest[sent..],
                Err(Errno::EINTR) => {}
                Err(_) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
    }

    /// How many lines could not be written.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_full_socket_drops_and_counts_lines() {
        let (mut reader, writer) = UnixStream::pair().unwrap();
        let stderr = Stderr::on(writer.as_raw_fd());
        assert!(stderr.is_socket());
        // The socket stays blocking: only MSG_DONTWAIT keeps us from waiting.
        let line = [b'x'; 1024];
        while stderr.dropped() == 0 {
            stderr.write_line(&line);
        }
        stderr.write_line(b"dropped too\n");
        assert_eq!(stderr.dropped(), 2);
        let mut drained = vec![0; 1 << 20];
        reader.set_nonblocking(true).unwrap();
        while reader.read(&mut drained).is_ok() {}
        stderr.write_line(b"sent\n");
        assert_eq!(stderr.dropped(), 2);
    }
}
