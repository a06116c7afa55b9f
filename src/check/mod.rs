//! `kmod-ready check`: a read-only diagnosis of whether the given modules
//! (default: those the kubelite drop-in names, else `nf_conntrack`) are
//! ready, and if not, the single most likely cause and the command that
//! fixes it.
//!
//! It never loads, writes or changes anything. It opens libkmod only to look
//! modules up (file, dependencies, blacklist), and runs `systemctl show` and
//! `journalctl` (see [`crate::kubelite`]) only on the system root when systemd
//! is running. Exit status: 0 ready, 1 not ready, 64 usage, 74 output error.
//!
//! # JSON schema (`check --json`), version 1
//!
//! One object. Fields are only ever added within a schema version; a
//! renamed or removed field, or a changed meaning, bumps `schema`. Paths are
//! paths of the system being checked (never of a test root).
//!
//! ```text
//! {
//!   "schema": 1,
//!   "kernel": {
//!     "release": "6.1.0-28-amd64",          // running kernel (/proc/sys/kernel/osrelease)
//!     "module_dir": "/lib/modules/6.1.0-28-amd64",
//!     "module_dir_exists": true,
//!     "installed_releases": ["6.1.0-28-amd64"],   // releases with a module tree
//!     "lockdown": null,                     // "integrity" | "confidentiality" | null
//!     "modules_disabled": false,            // kernel.modules_disabled=1
//!     "module_blacklist": [],               // module_blacklist= on /proc/cmdline (kernel refuses)
//!     "modprobe_blacklist": []              // modprobe.blacklist= on /proc/cmdline
//!   },
//!   "container": null,                      // e.g. "lxc", "docker", "podman"; null on a host
//!   "libkmod": {"available": true, "error": null},
//!   "modules": [{
//!     "name": "nf_conntrack",               // as asked for (may be an alias)
//!     "state": "ready",                     // see below
//!     "resolved": ["nf_conntrack"],         // module names the name resolves to
//!     "paths": [{"path": "/proc/sys/net/netfilter/nf_conntrack_max",
//!                "exists": true, "value": "262144"}],   // value: file content, or initstate
//!     "file": "/lib/modules/…/nf_conntrack.ko",  // what libkmod would load; null if built in/unknown
//!     "dependencies": ["nf_defrag_ipv4", "nf_defrag_ipv6", "libcrc32c"],
//!     "blacklisted_at": [{"file": "/etc/modprobe.d/x.conf", "line": 3}],
//!                                           // modprobe.blacklist= shows as /proc/cmdline, line 1
//!     "modules_load_d": [{"file": "/etc/modules-load.d/k8s.conf", "line": 1}]
//!   }],
//!   "kubelite": {
//!     "unit": "snap.microk8s.daemon-kubelite.service",
//!     "source": "systemctl" | "files",      // who answered
//!     "unit_exists": true, "unit_file": "/etc/systemd/system/snap.microk8s.daemon-kubelite.service",
//!     "drop_in_present": true,              // /usr/lib/systemd/system/<unit>.d/50-kmod-ready.conf
//!     "drop_ins": ["…/50-kmod-ready.conf"], // in effect, in the order applied
//!     "exec_start_pre": ["/usr/sbin/kmod-ready nf_conntrack"],  // effective, in order
//!     "runs_kmod_ready": true, "kmod_ready_modules": ["nf_conntrack"],
//!     "rejected": [{"command": "…", "reason": "…", "ignored": false}],
//!                                           // only when a kmod-ready ExecStartPre= would exit 64
//!                                           // (its arguments, as kmod-ready parses them)
//!     "reset_by": null,                     // drop-in whose empty ExecStartPre= removed ours
//!     "active_state": "active", "n_restarts": 0,   // null when not read (see skipped)
//!     "last_proxy_error": null,             // last "Error running ProxyServer" journal line
//!     "skipped": []                         // facts not read, with the reason
//!   },
//!   "skipped": [],                          // other facts not read, with the reason
//!   "verdict": {
//!     "ready": true,
//!     "cause": null, "fix": null,           // when not ready: short cause, and the command
//!     "detail": null,                       // the full message kmod-ready itself would log
//!     "warnings": []                        // true but not blocking (e.g. kmod-ready no longer runs)
//!   }
//! }
//! ```
//!
//! `state` is one of: `ready` (loaded, readiness paths present), `builtin`
//! (built into the kernel, paths present), `loaded-not-ready` (in the kernel,
//! some path missing), `loadable` (in the module tree, not loaded),
//! `blacklisted` (not loaded, blacklisted in modprobe.d or by
//! `modprobe.blacklist=`), `denied-by-cmdline` (not loaded, named by
//! `module_blacklist=`, which the kernel enforces), `not-found` (not in the
//! module tree of the running kernel), `unknown` (not loaded, and libkmod is
//! missing, or a modprobe.d file would block it, so the module tree cannot
//! be read).
//!
//! The work is done in three steps, each its own file: [`collect`] reads
//! the facts, [`diagnose`] turns them into a verdict (one
//! [`crate::cause::Cause`]), [`render`] prints them, for people or as JSON.

mod collect;
mod diagnose;
mod render;
mod report;

use std::io::IsTerminal;

use crate::cli::CheckArgs;
use crate::status::Status;
use crate::stdout::{output_failed, write_stdout};
use crate::system::Root;

use collect::collect;

/// Runs `kmod-ready check`: prints the report on stdout.
pub fn run(args: &CheckArgs, root: Root) -> Status {
    let report = collect(&args.modules, root);
    let text = if args.json {
        render::json(&report)
    } else {
        render::human(&report, use_colour())
    };
    if let Err(err) = write_stdout(&text) {
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
