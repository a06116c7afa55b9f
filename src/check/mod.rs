//! `kmod-ready check`: a read-only diagnosis of whether the given modules
//! (default: those the kubelite drop-in names, else `nf_conntrack`) are
//! ready, and if not, the single most likely cause and the command that
//! fixes it.
//!
//! It never loads, writes or changes anything. It opens libkmod only to look
//! modules up (file, dependencies, blacklist), and runs `systemctl show` and
//! `journalctl` (see [`crate::check::kubelite`]) only on the system root when systemd
//! is running, and `nft --version` when kube-proxy's mode would run `nft`.
//! Exit status: 0 ready, 1 not ready, 64 usage, 66 system unreadable (no
//! verdict), 74 output error.
//!
//! `check --prometheus` prints the same verdicts as metrics for
//! node_exporter ([`prometheus`]), or writes them into its textfile
//! directory with `--textfile-dir`.
//!
//! `check --json` prints one object, versioned by its `schema` field. Its
//! fields and the module states are documented once, in
//! kmod-ready-check(8) (packaging/man/kmod-ready-check.8.md); tests/docs.rs
//! fails when the report emits a key that page does not document, or the
//! page documents one it never emits.
//!
//! The work is done in three steps, each its own room: [`collect`] reads
//! the facts (and [`next_boot`] those of the next boot), [`diagnose`] alone
//! turns them into the verdicts (one [`crate::cause::Cause`] each),
//! [`render`] prints them, for people or as JSON.

// What check reads: the boot loaders' files, kubelite's unit.
mod boot;
pub mod kubelite;

mod collect;
mod diagnose;
pub(crate) mod kube_proxy;
mod next_boot;
mod npd;
pub(crate) mod prometheus;
mod render;
pub(crate) mod report;

use std::ffi::OsString;
use std::io::IsTerminal;

use crate::cli::{CheckArgs, Command, LogTarget};
use crate::status::Status;
use crate::stdout::{output_failed, write_stdout};
use crate::system::{Root, UNKNOWN_RELEASE};
use crate::{entry, logging};

/// What check says when it cannot read the kernel's release.
const NO_VERDICT: &str = "no verdict: /proc/sys/kernel/osrelease cannot be read; is / the host's?";

use collect::collect;
use diagnose::diagnose;
use next_boot::next_boot;

/// The program `kmod-ready check` runs, `kmod-ready-check`: takes what
/// follows `check` on kmod-ready's command line, and reads it as kmod-ready
/// would, so help, usage errors and the report are the same whichever
/// program was run. Returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    let as_kmod_ready = [OsString::from(logging::IDENTIFIER), OsString::from("check")];
    let cli = match entry::parse(as_kmod_ready.into_iter().chain(args.into_iter().skip(1))) {
        Ok(cli) => cli,
        Err(status) => return status.code(),
    };
    // clap reads the `check` put first as the subcommand, whatever follows.
    let Some(Command::Check(args)) = &cli.command else {
        return Status::Usage.code();
    };
    run(args, Root::from_env()).code()
}

/// Runs `kmod-ready check`: prints the report on stdout.
fn run(args: &CheckArgs, root: Root) -> Status {
    // libkmod's own complaints (a modprobe.d line it rejects) go to stderr
    // through our logger, escaped, as they do when loading: never raw.
    logging::init(LogTarget::Stderr, -1);
    // The metrics cover the next boot too: a node that will not come back
    // is what a fleet most needs to see before it reboots.
    let (mut report, facts) = collect(&args.modules, root);
    if args.next_boot || args.prometheus {
        report.next_boot = Some(next_boot(&facts, &report));
    }
    diagnose(&mut report, &facts);
    // Every file that exists but was not read, with the reason: a verdict
    // made without it is said to be.
    report.skipped = facts.take_unread();
    // Without the kernel's release (no /proc: not a system's root) every
    // fact below would be about no kernel: say there is no verdict, with a
    // status that no mode reads as "not ready". NPD reads stdout only.
    if report.kernel.release == UNKNOWN_RELEASE {
        if args.npd {
            if let Err(err) = write_stdout(&format!("{NO_VERDICT}\n")) {
                return output_failed("the line", &err);
            }
        } else {
            logging::print_line(&format!("{}: {NO_VERDICT}", logging::IDENTIFIER));
        }
        return Status::Unreadable;
    }
    if args.npd {
        let (line, status) = npd::verdict(&report, args.next_boot);
        return match write_stdout(&format!("{line}\n")) {
            Ok(()) => status,
            Err(err) => output_failed("the line", &err),
        };
    }
    let text = if args.json {
        render::json(&report)
    } else if args.prometheus {
        prometheus::render(&report)
    } else {
        render::human(&report, use_colour())
    };
    if let Some(dir) = &args.textfile_dir {
        // Written whatever the verdict: a node that is not ready is when
        // the metrics matter. The verdict is in the file; the status says
        // whether the file was written, so that a timer's unit fails only
        // when the metrics go stale (and its ExecCondition= keeps its 1).
        return match prometheus::write_textfile(dir, &text) {
            Ok(_) => Status::Ready,
            Err(reason) => {
                logging::print_line(&format!("{}: {reason}", logging::IDENTIFIER));
                Status::OutputFailed
            }
        };
    } else if let Err(err) = write_stdout(&text) {
        return output_failed("the report", &err);
    }
    if report.verdict.ready {
        Status::Ready
    } else {
        Status::NotReady
    }
}

/// Colour only on a terminal, never with `NO_COLOR` set (to anything but "").
fn use_colour() -> bool {
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").map_or(true, |v| v.is_empty())
        && std::env::var_os("TERM").map_or(true, |t| t != "dumb")
}
