//! The bound on loading. libkmod's calls cannot be interrupted, and an
//! `install` command, a module's init or a FIFO among the configuration
//! files can take any time; so loading runs on the main thread while a
//! watchdog thread sleeps until the deadline. If loading is still under way
//! then, the watchdog may hold on once, to a later deadline (while the
//! kernel is still initialising a module, see patience.rs); past the last
//! deadline it says what loading was doing and ends the process. A load
//! that ends in time costs one thread creation and nothing else: no
//! hand-over between threads on the way to the kernel or back.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Instant;

use nix::sys::signal::{SigSet, SigmaskHow};

const ARMED: u8 = 0;
const DISARMED: u8 = 1;
const FIRED: u8 = 2;

pub struct Watchdog {
    state: Arc<AtomicU8>,
}

impl Watchdog {
    /// Starts the watchdog, or `None` when no thread can be made. At
    /// `deadline`, unless disarmed, it asks `hold` for a later deadline and
    /// sleeps until that one; then it calls `fire` (which logs why; told
    /// whether it held on) and exits with the status `fire` returns, the
    /// main thread still inside libkmod.
    pub fn arm(
        deadline: Instant,
        hold: impl FnOnce() -> Option<Instant> + Send + 'static,
        fire: impl FnOnce(bool) -> u8 + Send + 'static,
    ) -> Option<Watchdog> {
        let state = Arc::new(AtomicU8::new(ARMED));
        let shared = Arc::clone(&state);
        // Born with every signal blocked, so that a SIGTERM for the process
        // reaches the main thread's wait, never this thread's default action.
        let before = SigSet::all().thread_swap_mask(SigmaskHow::SIG_BLOCK).ok()?;
        let spawned = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                sleep_until(deadline);
                if shared.load(Ordering::SeqCst) != ARMED {
                    return;
                }
                let held = hold();
                if let Some(later) = held {
                    sleep_until(later);
                }
                if claim(&shared, FIRED) {
                    let status = fire(held.is_some());
                    std::process::exit(i32::from(status));
                }
            });
        let _ = before.thread_set_mask();
        spawned.ok().map(|_| Watchdog { state })
    }

    /// Loading has ended. If the watchdog fired first, it is ending the
    /// process: nothing more may happen here.
    pub fn disarm(self) {
        if !claim(&self.state, DISARMED) {
            loop {
                std::thread::park();
            }
        }
    }
}

fn sleep_until(deadline: Instant) {
    while Instant::now() < deadline {
        std::thread::park_timeout(deadline.saturating_duration_since(Instant::now()));
    }
}

/// Moves an armed watchdog to `to`; false if the other side got there first.
fn claim(state: &AtomicU8, to: u8) -> bool {
    state
        .compare_exchange(ARMED, to, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
}
