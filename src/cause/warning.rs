//! What `check` warns of beside its verdict, and the notes the boot path
//! and `check` share: true of the node, but deciding nothing.

use std::path::Path;

use super::describe::{unmask, INSTALL_LIBKMOD};
use crate::libkmod::LIBRARY;

/// True of the node but not its verdict: `check` prints these as warnings.
pub enum Warning<'a> {
    /// An override's empty `ExecStartPre=` removed kmod-ready's.
    KubeliteReset { file: &'a Path },
    /// A kmod-ready `ExecStartPre=` would exit 64, but its failure is ignored.
    CommandIgnored { command: &'a str, reason: &'a str },
    /// No `ExecStartPre=` runs kmod-ready before kubelite.
    NothingBeforeKubelite,
    /// `file` masks our drop-in (see [`super::Finding::DropInMasked`]).
    DropInMasked { file: &'a Path },
    /// libkmod cannot be opened (`error` as [`libkmod_unavailable`] says it).
    LibkmodMissing { error: &'a str },
    /// kube-proxy 1.`minor` runs ipvs mode, deprecated since 1.35.
    IpvsDeprecated { minor: u32 },
}

impl Warning<'_> {
    pub fn text(&self) -> String {
        match self {
            Warning::KubeliteReset { file } => format!(
                "{} resets ExecStartPre=, so kmod-ready no longer runs before kubelite",
                file.display()
            ),
            Warning::CommandIgnored { command, reason } => format!(
                "ExecStartPre= `{command}` would exit 64 ({reason}), and systemd ignores it (`-`)"
            ),
            Warning::DropInMasked { file } => format!(
                "{} masks kmod-ready's drop-in, so nothing loads the modules before kubelite \
                 starts: {}",
                file.display(),
                unmask(file)
            ),
            Warning::NothingBeforeKubelite => {
                "no ExecStartPre= runs kmod-ready before kubelite: reinstall kmod-ready for its \
                 drop-in"
                    .to_string()
            }
            Warning::LibkmodMissing { error } => {
                format!("{error}: kmod-ready cannot load modules ({INSTALL_LIBKMOD})")
            }
            Warning::IpvsDeprecated { minor } => format!(
                "kube-proxy 1.{minor} runs ipvs mode, deprecated since 1.35 and to be removed: \
                 plan the move to --proxy-mode=nftables"
            ),
        }
    }
}

/// `check`'s libkmod line when the library cannot be opened.
pub fn libkmod_unavailable(error: &str) -> String {
    format!("cannot load {LIBRARY}: {error}")
}

/// `check`'s container line: who can load modules there, and LXD's knob.
pub fn container_note(kind: &str) -> String {
    format!("{kind}: only the host can load modules (LXD: linux.kernel_modules)")
}
