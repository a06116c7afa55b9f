//! Bounded, type-checked reads of files from outside: regular files only,
//! opened without blocking (a FIFO, a device or a symlink to one is
//! reported, never read), and never more than a cap that fits what the
//! file holds. A file that exists but cannot be read is returned as
//! [`Unread`], with the reason, so that `check` lists it under `skipped`
//! instead of reading it as empty.

use std::fmt;
use std::fs::{File, FileType};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Caps, by what the file holds.
pub(crate) const SMALL: u64 = 4096;
pub(crate) const CMDLINE: u64 = 64 * 1024;
pub(crate) const CONFIG: u64 = 1024 * 1024;
pub(crate) const ENVIRON: u64 = 2 * 1024 * 1024;
pub(crate) const INDEX: u64 = 16 * 1024 * 1024;

/// A file that exists but was not read: "PATH: why".
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unread(String);

impl fmt::Display for Unread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The whole of the regular file `full` (shown as `shown`), at most `cap`
/// bytes; `Ok(None)` when it is missing, [`Unread`] when it is not a
/// regular file, is larger than `cap`, or cannot be read.
pub(crate) fn read(full: &Path, shown: &Path, cap: u64) -> Result<Option<Vec<u8>>, Unread> {
    match read_capped(full, cap) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Unread(format!("{}: {err}", shown.display()))),
    }
}

fn read_capped(full: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let file = open_nonblocking(full)?;
    if let Some(what) = not_regular(&file)? {
        return Err(io::Error::other(format!(
            "{what}, not a regular file; not read"
        )));
    }
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(io::Error::other(format!(
            "larger than {} KiB; not read",
            cap / 1024
        )));
    }
    Ok(bytes)
}

fn open_nonblocking(full: &Path) -> io::Result<File> {
    File::options()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(full)
}

/// What `file` is when it is not a regular file ("a FIFO", "a device"…).
fn not_regular(file: &File) -> io::Result<Option<&'static str>> {
    Ok(kind_name(file.metadata()?.file_type()))
}

/// The name of a file type other than regular; `None` for a regular file.
fn kind_name(kind: FileType) -> Option<&'static str> {
    if kind.is_file() {
        None
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("a directory")
    }
}

/// The most a kernel image can be for [`same_contents`] to compare it.
pub(crate) const IMAGE: u64 = 256 * 1024 * 1024;

/// Whether the regular files `a` and `b` hold the same bytes: sizes first,
/// then both read side by side, stopping at the first difference; never
/// more than [`IMAGE`] bytes of either.
pub(crate) fn same_contents(a: &Path, b: &Path) -> io::Result<bool> {
    let (mut a, mut b) = (open_nonblocking(a)?, open_nonblocking(b)?);
    for file in [&a, &b] {
        if let Some(what) = not_regular(file)? {
            return Err(io::Error::other(format!(
                "{what}, not a regular file; not read"
            )));
        }
    }
    let size = a.metadata()?.len();
    if size != b.metadata()?.len() {
        return Ok(false);
    }
    if size > IMAGE {
        return Err(io::Error::other(format!(
            "larger than {} MiB; not compared",
            IMAGE / 1024 / 1024
        )));
    }
    let (mut left, mut right) = (vec![0; 64 * 1024], vec![0; 64 * 1024]);
    loop {
        let n = a.read(&mut left)?;
        if n == 0 {
            return Ok(true);
        }
        b.read_exact(&mut right[..n])?;
        if left[..n] != right[..n] {
            return Ok(false);
        }
    }
}

/// Whether `full` is /dev/null or a symlink to it: how systemd and kmod
/// mask a configuration file.
pub(crate) fn is_dev_null(full: &Path) -> bool {
    std::fs::canonicalize(full).is_ok_and(|p| p == Path::new("/dev/null"))
}

/// Whether a reader that does not check (libkmod reading modprobe.d) would
/// block on `full` or read it without end: a FIFO, a socket or a device
/// other than /dev/null (the usual way to mask a file). Says what it is.
pub(crate) fn would_block(full: &Path) -> Option<&'static str> {
    // stat, not open: the type is all we need, and opening a device can
    // have effects of its own.
    let what = kind_name(std::fs::metadata(full).ok()?.file_type())?;
    (what != "a directory" && !is_dev_null(full)).then_some(what)
}

/// Serialises a path (or paths) as text even when it is not UTF-8 (a byte
/// that is not becomes U+FFFD), where serde would fail.
pub(crate) fn serialize_lossy<T: LossyPaths, S: serde::Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&value.lossy(), serializer)
}

/// What [`serialize_lossy`] accepts.
pub(crate) trait LossyPaths {
    type Text: serde::Serialize;
    fn lossy(&self) -> Self::Text;
}

impl LossyPaths for std::path::PathBuf {
    type Text = String;
    fn lossy(&self) -> String {
        self.to_string_lossy().into_owned()
    }
}

impl<T: LossyPaths> LossyPaths for Option<T> {
    type Text = Option<T::Text>;
    fn lossy(&self) -> Self::Text {
        self.as_ref().map(LossyPaths::lossy)
    }
}

impl<T: LossyPaths> LossyPaths for Vec<T> {
    type Text = Vec<T::Text>;
    fn lossy(&self) -> Self::Text {
        self.iter().map(LossyPaths::lossy).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_large_files_are_unread_with_a_reason() {
        let zero = Path::new("/dev/zero");
        let unread = |result: Result<Option<Vec<u8>>, Unread>| result.unwrap_err().to_string();
        assert!(
            unread(read(zero, zero, SMALL)).starts_with("/dev/zero: a device"),
            "a device is not read"
        );
        let dir = std::env::temp_dir().join(format!("kmod-ready-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big.conf");
        std::fs::write(&big, vec![b'x'; 5000]).unwrap();
        assert!(unread(read(&big, &big, SMALL)).ends_with("larger than 4 KiB; not read"));
        assert_eq!(
            read(&big, &big, CONFIG).map(|b| b.map(|b| b.len())),
            Ok(Some(5000))
        );
        assert_eq!(read(&dir.join("missing"), zero, SMALL), Ok(None));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn contents_compare_by_size_then_bytes() {
        let dir = std::env::temp_dir().join(format!("kmod-ready-same-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        // Longer than one chunk, differing only in the last byte.
        let mut bytes = vec![7u8; 200 * 1024];
        let (a, copy) = (file("a", &bytes), file("copy", &bytes));
        *bytes.last_mut().unwrap() = 8;
        let other = file("other", &bytes);
        let short = file("short", &bytes[1..]);
        assert!(same_contents(&a, &copy).unwrap());
        assert!(!same_contents(&a, &other).unwrap());
        assert!(!same_contents(&a, &short).unwrap());
        let error = same_contents(&a, Path::new("/dev/zero")).unwrap_err();
        assert_eq!(error.to_string(), "a device, not a regular file; not read");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
