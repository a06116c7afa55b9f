//! Writing lines to stderr without ever blocking on a socket or a pipe.
//!
//! Under systemd, stderr is journald's stream socket. If journald is
//! wedged, a blocking write would hang kmod-ready, and kubelite's start with
//! it, until systemd's start timeout; a pipe whose reader stopped reading
//! would hang it for ever, past --timeout. So a line that cannot go at once
//! is dropped and counted, and the flags of the file description we share
//! with others stay as they are: on a socket each line is sent with
//! `MSG_DONTWAIT`; a pipe is opened again through /proc/self/fd/2, which
//! gives a description of our own, made non-blocking. Terminals and files
//! are written as usual (a terminal stopped with Ctrl-S has someone at it).

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::sys::socket::{send, MsgFlags};
use nix::sys::stat::{fstat, SFlag};

/// What stderr is, as far as writing to it without blocking goes.
enum Kind {
    /// journald's stream, or any socket: sent with `MSG_DONTWAIT`.
    Socket,
    /// A pipe or FIFO, through a non-blocking description of our own.
    Pipe(File),
    /// A terminal, a file, /dev/null; or a pipe that could not be opened
    /// again (no /proc, or no reader left, where a write fails at once).
    Plain,
}

pub(crate) struct Stderr {
    fd: RawFd,
    /// Found on the first write, from what `fd` is then: the fast path,
    /// logging to the journal, never pays for it.
    kind: OnceLock<Kind>,
    dropped: AtomicU64,
}

/// A description of our own of the pipe `fd`, non-blocking, on a
/// descriptor above 2: with stdout closed, the lowest free one is 1, and
/// `check`'s report would go to stderr and the run exit as if written.
fn reopen_nonblocking(fd: RawFd) -> std::io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(format!("/proc/self/fd/{fd}"))?;
    if file.as_raw_fd() > 2 {
        return Ok(file);
    }
    // std duplicates with F_DUPFD_CLOEXEC from 3; the copy shares the
    // non-blocking description, and the low descriptor is closed again.
    file.try_clone()
}

impl Stderr {
    pub fn new() -> Stderr {
        Stderr::on(std::io::stderr().as_raw_fd())
    }

    fn on(fd: RawFd) -> Stderr {
        Stderr {
            fd,
            kind: OnceLock::new(),
            dropped: AtomicU64::new(0),
        }
    }

    fn kind(&self) -> &Kind {
        self.kind.get_or_init(|| {
            let Ok(stat) = fstat(self.fd) else {
                return Kind::Plain;
            };
            match SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) {
                SFlag::S_IFSOCK => Kind::Socket,
                SFlag::S_IFIFO => reopen_nonblocking(self.fd).map_or(Kind::Plain, Kind::Pipe),
                _ => Kind::Plain,
            }
        })
    }

    /// Finds what stderr is now, before fd 2 is lent to another file.
    pub fn settle(&self) {
        self.kind();
    }

    /// Writes `line` (which ends in a newline); on a socket or a pipe that
    /// cannot take it whole at once, drops (the rest of) it and counts it.
    pub fn write_line(&self, line: &[u8]) {
        let mut rest = line;
        while !rest.is_empty() {
            let written = match self.kind() {
                Kind::Socket => send(
                    self.fd,
                    rest,
                    MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL,
                ),
                Kind::Pipe(pipe) => nix::unistd::write(pipe, rest),
                Kind::Plain => {
                    // Nothing else can be done with a write error on stderr.
                    let _ = std::io::stderr().lock().write_all(line);
                    return;
                }
            };
            match written {
                Ok(sent) => rest = &rest[sent..],
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                // Closed (EPIPE): not full, and no one to tell.
                Err(_) => return,
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
        assert!(matches!(stderr.kind(), Kind::Socket));
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

    #[test]
    fn a_full_pipe_drops_and_counts_lines_and_stays_blocking() {
        use nix::fcntl::{fcntl, FcntlArg, OFlag};
        let (reader, writer) = nix::unistd::pipe().unwrap();
        let stderr = Stderr::on(writer.as_raw_fd());
        assert!(matches!(stderr.kind(), Kind::Pipe(_)));
        let line = [b'x'; 1024];
        while stderr.dropped() == 0 {
            stderr.write_line(&line);
        }
        assert_eq!(stderr.dropped(), 1);
        // The description others share is still blocking.
        let flags =
            OFlag::from_bits_truncate(fcntl(writer.as_raw_fd(), FcntlArg::F_GETFL).unwrap());
        assert!(!flags.contains(OFlag::O_NONBLOCK));
        let mut drained = [0; 4096];
        nix::unistd::read(reader.as_raw_fd(), &mut drained).unwrap();
        stderr.write_line(b"sent\n");
        assert_eq!(stderr.dropped(), 1);
    }
}
