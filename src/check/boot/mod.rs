//! Which kernel boots next, and with which command line, read from the boot
//! loader's own files as the boot loader reads them: GRUB's grub.cfg and
//! grubenv, Boot Loader Specification entries (GRUB's blscfg, systemd-boot
//! with its EFI variables), the Raspberry Pi firmware's config.txt. Without
//! any of them, the newest installed kernel, said to be a guess.

mod bls;
mod grub;
mod raspi;
mod version;

use std::path::Path;

use serde::Serialize;

use crate::system::Facts;

pub use version::compare as compare_versions;

/// The kernel the next boot will run.
#[derive(Debug, Serialize)]
pub(crate) struct NextKernel {
    /// Its release (`uname -r` then), when the boot loader names it.
    pub release: Option<String>,
    /// The kernel image the entry boots.
    pub image: Option<String>,
    /// The command line it boots with; `None` when unknown.
    pub cmdline: Option<String>,
    /// Where the answer comes from: files, and the entry in them.
    pub source: String,
    /// Why the answer is a guess, when it is one.
    pub guess: Option<String>,
}

impl NextKernel {
    /// The boot loader's files say where to look, but not which kernel.
    fn unknown(source: String, why: String) -> NextKernel {
        NextKernel {
            release: None,
            image: None,
            cmdline: None,
            source,
            guess: Some(why),
        }
    }
}

/// The first layout that applies: the Raspberry Pi firmware's config.txt
/// (on a Pi the firmware reads it and boots the kernel itself: a GRUB or
/// BLS configuration on the same disk is never run), GRUB (a BLS-reading
/// grub.cfg hands over to the entries), systemd-boot's entries, else the
/// newest kernel.
pub(crate) fn next_kernel(facts: &Facts) -> NextKernel {
    if let Some(next) = raspi::next_kernel(facts) {
        return next;
    }
    if let Some(next) = grub::next_kernel(facts) {
        return next;
    }
    if let Some(next) = bls::next_kernel(facts, None) {
        return next;
    }
    newest_installed(facts)
}

/// As needrestart decides: the highest version among the kernel images in
/// /boot (else among the module directories).
fn newest_installed(facts: &Facts) -> NextKernel {
    let mut images: Vec<String> = std::fs::read_dir(facts.root.path("/boot"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| release_of_image(name).is_some())
        .collect();
    images.sort_by(|a, b| {
        compare_versions(
            release_of_image(a).unwrap_or_default(),
            release_of_image(b).unwrap_or_default(),
        )
    });
    let from_boot = images.last().map(|image| {
        (
            release_of_image(image).map(str::to_string),
            Some(format!("/boot/{image}")),
            "the newest of the kernel images in /boot".to_string(),
        )
    });
    let mut releases = facts.root.installed_releases();
    releases.sort_by(|a, b| compare_versions(a, b));
    let (release, image, source) = from_boot.unwrap_or_else(|| match releases.last() {
        Some(newest) => (
            Some(newest.clone()),
            None,
            "the newest of the module directories".to_string(),
        ),
        // Nothing is installed besides what runs: it boots again.
        None => (
            Some(facts.release.clone()),
            None,
            "the running kernel (no other is installed)".to_string(),
        ),
    });
    NextKernel {
        release,
        image,
        cmdline: None,
        source,
        guess: Some(
            "no boot loader configuration was found (GRUB, Boot Loader Specification entries, \
             Raspberry Pi config.txt): \
             the newest installed kernel is assumed, with the running kernel's command line"
                .to_string(),
        ),
    }
}

/// The release in a kernel image's file name (`vmlinuz-6.1.0-50-amd64`).
pub(crate) fn release_of_image(name: &str) -> Option<&str> {
    let name = Path::new(name).file_name()?.to_str()?;
    ["vmlinuz-", "vmlinux-", "Image-", "bzImage-", "kernel-"]
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))
        .filter(|release| !release.is_empty() && release.starts_with(|c: char| c.is_ascii_digit()))
}

/// The release of the kernel image a boot entry names, and how it is known:
/// its file name, or the file name a symlink of that name points to
/// (`/boot/vmlinuz` -> `vmlinuz-6.1.0-50-amd64`); the image's path is tried
/// as it is and under /boot (a separate /boot partition is GRUB's root).
/// `Err`: why it cannot be told.
pub(crate) fn release_of_entry_image(facts: &Facts, image: &str) -> Result<String, String> {
    if let Some(release) = release_of_image(image) {
        return Ok(release.to_string());
    }
    let candidates = [image.to_string(), format!("/boot{image}")];
    candidates
        .iter()
        .filter_map(|path| std::fs::read_link(facts.root.path(path)).ok())
        .find_map(|target| release_of_image(&target.to_string_lossy()).map(str::to_string))
        .ok_or_else(|| {
            format!(
                "its kernel image {image} names no release (neither its file name nor a \
                 symlink's target is vmlinuz-RELEASE)"
            )
        })
}

/// The words of a `linux` line or `options` value after the image: the
/// command line, as one string.
fn join_words(words: &[String]) -> Option<String> {
    (!words.is_empty()).then(|| words.join(" "))
}
