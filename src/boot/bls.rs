//! Boot Loader Specification entries (`loader/entries/*.conf`): read by
//! GRUB's `blscfg` (RHEL 8/9, Fedora), which boots grubenv's `saved_entry`
//! or else the newest version, and by systemd-boot, which boots the
//! `LoaderEntryOneShot` EFI variable, else `LoaderEntryDefault`, else
//! loader.conf's `default` (a glob), else the first entry in its order.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::input;
use crate::system::Facts;

use super::{compare_versions, join_words, release_of_image, NextKernel};

/// Where the entries live: /boot, or the EFI system partition.
const ROOTS: [&str; 3] = ["/boot", "/efi", "/boot/efi"];
/// The vendor GUID of systemd-boot's EFI variables.
const LOADER_GUID: &str = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";

struct Entry {
    /// The file name without `.conf`: what loaders call the entry.
    id: String,
    file: PathBuf,
    keys: BTreeMap<String, String>,
}

impl Entry {
    fn get(&self, key: &str) -> Option<&str> {
        self.keys.get(key).map(String::as_str)
    }
}

/// `grub`: GRUB's choice (an entry id, or none for its default) and its
/// environment, for `$kernelopts`; `None` for systemd-boot.
pub(super) fn next_kernel(
    facts: &Facts,
    grub: Option<(Option<&str>, &BTreeMap<String, String>)>,
) -> Option<NextKernel> {
    let (root, mut entries) = ROOTS.iter().find_map(|root| {
        let entries = entries(facts, &Path::new(root).join("loader/entries"));
        (!entries.is_empty()).then(|| (Path::new(root), entries))
    })?;
    let (chosen, from) = match grub {
        Some((chosen, _)) => {
            // blscfg lists the newest version first.
            entries.sort_by(|a, b| versions(b, a));
            (chosen.map(str::to_string), "GRUB".to_string())
        }
        None => {
            entries.sort_by(systemd_boot_order);
            systemd_boot_choice(facts, root)
        }
    };
    let entry = match &chosen {
        // systemd-boot names an entry by its file name, GRUB without `.conf`.
        Some(pattern) => entries.iter().find(|e| {
            glob_matches(pattern, &e.id) || glob_matches(pattern, &format!("{}.conf", e.id))
        }),
        None => entries.first(),
    };
    let dir = root.join("loader/entries");
    let source = match &chosen {
        Some(pattern) => format!("{}, entry {pattern:?} ({from})", dir.display()),
        None => format!("{}, the first entry ({from})", dir.display()),
    };
    let Some(entry) = entry else {
        let why = format!("no entry matches {:?}", chosen.unwrap_or_default());
        return Some(NextKernel::unknown(source, why));
    };
    let image = entry.get("linux").map(str::to_string);
    let release = entry.get("version").map(str::to_string).or_else(|| {
        image
            .as_deref()
            .and_then(release_of_image)
            .map(str::to_string)
    });
    let env = grub.map(|(_, env)| env);
    let cmdline = entry.get("options").map(|options| expand(options, env));
    Some(NextKernel {
        release,
        image,
        cmdline: cmdline.and_then(|words| join_words(&words)),
        source: format!("{source}: {}", entry.file.display()),
        guess: None,
    })
}

fn entries(facts: &Facts, dir: &Path) -> Vec<Entry> {
    let Ok(names) = std::fs::read_dir(facts.root.path(dir)) else {
        return Vec::new();
    };
    names
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter_map(|name| {
            let id = name.strip_suffix(".conf")?.to_string();
            let file = dir.join(&name);
            let text = facts.read_bytes(&file, input::CONFIG)?;
            let keys = String::from_utf8_lossy(&text)
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .filter_map(|line| {
                    let (key, value) = line.split_once([' ', '\t'])?;
                    Some((key.to_string(), value.trim().to_string()))
                })
                .collect();
            Some(Entry { id, file, keys })
        })
        .collect()
}

fn versions(a: &Entry, b: &Entry) -> Ordering {
    compare_versions(
        a.get("version").unwrap_or(&a.id),
        b.get("version").unwrap_or(&b.id),
    )
}

/// systemd-boot's order: entries with a sort-key first, by sort-key,
/// machine-id, then the newest version; the others by id, newest first.
fn systemd_boot_order(a: &Entry, b: &Entry) -> Ordering {
    match (a.get("sort-key"), b.get("sort-key")) {
        (Some(x), Some(y)) => x
            .cmp(y)
            .then_with(|| a.get("machine-id").cmp(&b.get("machine-id")))
            .then_with(|| versions(b, a)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => compare_versions(&b.id, &a.id),
    }
}

/// The entry systemd-boot picks, as a glob, and from where.
fn systemd_boot_choice(facts: &Facts, root: &Path) -> (Option<String>, String) {
    for name in ["LoaderEntryOneShot", "LoaderEntryDefault"] {
        let file = format!("/sys/firmware/efi/efivars/{name}-{LOADER_GUID}");
        if let Some(value) = facts
            .read_bytes(&file, input::SMALL)
            .and_then(|b| efi_string(&b))
        {
            return (Some(value), format!("EFI variable {name}"));
        }
    }
    let loader_conf = root.join("loader/loader.conf");
    let default = facts
        .read_bytes(&loader_conf, input::SMALL)
        .and_then(|text| {
            String::from_utf8_lossy(&text).lines().find_map(|line| {
                let (key, value) = line.trim().split_once([' ', '\t'])?;
                (key == "default").then(|| value.trim().to_string())
            })
        });
    match default {
        Some(glob) => (Some(glob), format!("default in {}", loader_conf.display())),
        None => (None, "systemd-boot's order".to_string()),
    }
}

/// An EFI variable holding a string: 4 bytes of attributes, then UTF-16LE
/// up to a NUL.
fn efi_string(bytes: &[u8]) -> Option<String> {
    let units: Vec<u16> = bytes
        .get(4..)?
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|&unit| unit != 0)
        .collect();
    let text = String::from_utf16(&units).ok()?;
    (!text.is_empty()).then_some(text)
}

/// `options` words, `$name` taken from grubenv (`$kernelopts` on RHEL 8).
fn expand(options: &str, env: Option<&BTreeMap<String, String>>) -> Vec<String> {
    options
        .split_whitespace()
        .flat_map(|word| match word.strip_prefix('$') {
            Some(name) => env
                .and_then(|env| env.get(name.trim_matches(|c| c == '{' || c == '}')))
                .map(|value| value.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            None => vec![word.to_string()],
        })
        .collect()
}

/// fnmatch with `*` and `?`, as loader.conf's `default` is matched.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_efi_strings() {
        assert!(glob_matches("*-6.1*", "abc-6.1.0-50"));
        assert!(glob_matches("abc", "abc") && !glob_matches("abc", "abcd"));
        assert!(glob_matches("a?c*", "abcdef") && !glob_matches("*x", "abc"));
        let mut bytes = vec![7, 0, 0, 0];
        bytes.extend("ab.conf".encode_utf16().flat_map(u16::to_le_bytes));
        bytes.extend([0, 0]);
        assert_eq!(efi_string(&bytes).as_deref(), Some("ab.conf"));
    }

    #[test]
    fn kernelopts_come_from_grubenv() {
        let env: BTreeMap<String, String> =
            [("kernelopts".to_string(), "root=/dev/x ro quiet".to_string())].into();
        assert_eq!(
            expand("$kernelopts $tuned", Some(&env)),
            ["root=/dev/x", "ro", "quiet"]
        );
    }
}
