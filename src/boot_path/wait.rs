//! Waiting, bounded, until a condition holds.
//!
//! procfs and sysfs do not report new entries through inotify, so we poll.
//! A module's files normally appear while it is being inserted, or within
//! milliseconds when another process is inserting it; so for the first
//! second we poll after 1 ms, then 2 ms, then every 4 ms, and a path is seen
//! within a few milliseconds. Past that second something is slow or wrong,
//! and we poll every 25 ms: a wake-up costs about 50 µs of CPU on a small
//! VM, and a 10 s wait at 4 ms would spend more than 1 % of a CPU on it.
//! The sleep is a poll(2) on a signalfd, so that SIGTERM (systemd stopping
//! the unit) or SIGINT ends the wait at once.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

pub const FIRST_INTERVAL: Duration = Duration::from_millis(1);
pub const FINE_INTERVAL: Duration = Duration::from_millis(4);
pub const FINE_PERIOD: Duration = Duration::from_secs(1);
pub const COARSE_INTERVAL: Duration = Duration::from_millis(25);

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Ready,
    TimedOut,
    /// `worth_waiting` said no before the deadline.
    GaveUp,
    Interrupted(Signal),
}

/// Calls `is_ready` until it returns true, `deadline` passes, or SIGTERM or
/// SIGINT arrives.
pub fn wait_until(deadline: Instant, is_ready: impl FnMut() -> bool) -> Outcome {
    wait_while(deadline, is_ready, || true)
}

/// As [`wait_until`], but also ends when `worth_waiting`, asked after each
/// poll that found nothing ready, says false.
pub fn wait_while(
    deadline: Instant,
    mut is_ready: impl FnMut() -> bool,
    mut worth_waiting: impl FnMut() -> bool,
) -> Outcome {
    // Usually ready at once, after a load: no signalfd needed then.
    if is_ready() {
        return Outcome::Ready;
    }
    let signals = TerminationSignals::block();
    let started = Instant::now();
    let mut interval = FIRST_INTERVAL;
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Outcome::TimedOut;
        }
        let nap = interval.min(deadline - now);
        if let Some(signal) = signals.as_ref().and_then(|s| s.wait(nap)) {
            return Outcome::Interrupted(signal);
        }
        if signals.is_none() {
            std::thread::sleep(nap);
        }
        let cap = if now - started < FINE_PERIOD {
            FINE_INTERVAL
        } else {
            COARSE_INTERVAL
        };
        interval = (interval * 2).min(cap);
        if is_ready() {
            return Outcome::Ready;
        }
        if !worth_waiting() {
            return Outcome::GaveUp;
        }
    }
}

/// SIGTERM and SIGINT, blocked and read from a signalfd while we wait.
struct TerminationSignals {
    fd: SignalFd,
}

impl TerminationSignals {
    fn block() -> Option<TerminationSignals> {
        let mut set = SigSet::empty();
        set.add(Signal::SIGTERM);
        set.add(Signal::SIGINT);
        let mut before = SigSet::empty();
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut before)).ok()?;
        match SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK) {
            Ok(fd) => Some(TerminationSignals { fd }),
            Err(_) => {
                // Without the signalfd we sleep plainly: the signals must
                // then end the process as they would have, not wait blocked.
                let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&before), None);
                None
            }
        }
    }

    /// Sleeps for `nap` (rounded up to whole milliseconds) unless a signal
    /// comes first; returns that signal.
    fn wait(&self, nap: Duration) -> Option<Signal> {
        let millis = u16::try_from(nap.as_micros().div_ceil(1000)).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        // EINTR or another error only shortens this nap. Reading the
        // signalfd only when it is readable keeps each poll cheap.
        let readable = poll(&mut fds, PollTimeout::from(millis)).is_ok_and(|n| n > 0);
        if !readable {
            return None;
        }
        let info = self.fd.read_signal().ok().flatten()?;
        Signal::try_from(info.ssi_signo as i32).ok()
    }
}
