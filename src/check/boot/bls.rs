//! Boot Loader Specification entries (`loader/entries/*.conf`): read by
//! GRUB's `blscfg` (RHEL 8/9, Fedora), which boots grubenv's `saved_entry`
//! or else the newest version, and by systemd-boot, which boots the
//! `LoaderEntryOneShot` EFI variable, else `LoaderEntryDefault`, else
//! loader.conf's `default` (a glob), else the first entry in its order.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use uapi_version::strverscmp;

use crate::input;
use crate::system::Facts;

use super::{compare_versions, join_words, release_of_image, NextKernel};

/// Where the entries live: /boot, or the EFI system partition.
const ROOTS: [&str; 3] = ["/boot", "/efi", "/boot/efi"];
/// The vendor GUID of systemd-boot's EFI variables.
const LOADER_GUID: &str = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";

struct Entry {
    /// The file name without `.conf` and without a boot counter
    /// (`+LEFT-DONE`): what loaders call the entry.
    id: String,
    file: PathBuf,
    keys: BTreeMap<String, String>,
    /// Boot counting: the tries left, when the file name counts them.
    tries_left: Option<u32>,
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
    let dir = root.join("loader/entries");
    let (choices, casefold, loader) = match grub {
        Some((chosen, _)) => {
            // blscfg lists the newest version first.
            entries.sort_by(|a, b| versions(b, a));
            let choices = chosen.map(|c| (c.to_string(), "GRUB".to_string()));
            (choices.into_iter().collect(), false, "GRUB")
        }
        None => {
            entries.sort_by(systemd_boot_order);
            (
                systemd_boot_choices(facts, root),
                true,
                "systemd-boot's order",
            )
        }
    };
    // systemd-boot names an entry by its file name, GRUB without `.conf`;
    // systemd-boot matches without regard to case.
    let matches = |pattern: &str, entry: &Entry| {
        let fold = |s: &str| {
            if casefold {
                s.to_lowercase()
            } else {
                s.to_string()
            }
        };
        let (pattern, id) = (fold(pattern), fold(&entry.id));
        glob_matches(&pattern, &id) || glob_matches(&pattern, &format!("{id}.conf"))
    };
    let found = choices.iter().find_map(|(pattern, from)| {
        let entry = entries.iter().find(|e| matches(pattern, e))?;
        Some((
            entry,
            format!("{}, entry {pattern:?} ({from})", dir.display()),
        ))
    });
    let (entry, source) = match found {
        Some(found) => found,
        None => {
            let Some(first) = entries.first() else {
                return Some(NextKernel::unknown(
                    dir.display().to_string(),
                    "no entry".into(),
                ));
            };
            let unmatched: Vec<String> = choices
                .iter()
                .map(|(pattern, from)| format!("{pattern:?} ({from})"))
                .collect();
            let source = match unmatched.is_empty() {
                true => format!("{}, the first entry ({loader})", dir.display()),
                false => format!(
                    "{}, the first entry ({loader}; {} matches no entry)",
                    dir.display(),
                    unmatched.join(", ")
                ),
            };
            (first, source)
        }
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
            let (id, tries_left) = boot_counter(name.strip_suffix(".conf")?);
            let file = dir.join(&name);
            let text = facts.read_bytes(&file, input::CONFIG)?;
            let mut keys = BTreeMap::new();
            for line in String::from_utf8_lossy(&text).lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let Some((key, value)) = line.split_once([' ', '\t']) else {
                    continue;
                };
                let value = value.trim().to_string();
                match keys.entry(key.to_string()) {
                    // Several `options` lines are one command line, in order;
                    // of any other key the last line counts.
                    std::collections::btree_map::Entry::Occupied(mut seen) if key == "options" => {
                        let joined: &mut String = seen.get_mut();
                        joined.push(' ');
                        joined.push_str(&value);
                    }
                    std::collections::btree_map::Entry::Occupied(mut seen) => {
                        seen.insert(value);
                    }
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        slot.insert(value);
                    }
                }
            }
            Some(Entry {
                id: id.to_string(),
                file,
                keys,
                tries_left,
            })
        })
        .collect()
}

fn versions(a: &Entry, b: &Entry) -> Ordering {
    compare_versions(
        a.get("version").unwrap_or(&a.id),
        b.get("version").unwrap_or(&b.id),
    )
}

/// systemd-boot's order: entries with no tries left last; entries with a
/// sort-key first, by sort-key, machine-id, then the newest version; then
/// by id, newest first. Versions and ids compare as systemd compares them
/// (`strverscmp_improved`, the UAPI version format).
fn systemd_boot_order(a: &Entry, b: &Entry) -> Ordering {
    // Entries with no tries left go last.
    let spent = |e: &Entry| e.tries_left == Some(0);
    spent(a)
        .cmp(&spent(b))
        .then_with(|| match (a.get("sort-key"), b.get("sort-key")) {
            (Some(x), Some(y)) => x
                .cmp(y)
                .then_with(|| a.get("machine-id").cmp(&b.get("machine-id")))
                .then_with(|| {
                    strverscmp(
                        b.get("version").unwrap_or(""),
                        a.get("version").unwrap_or(""),
                    )
                }),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then_with(|| strverscmp(&b.id, &a.id))
}

/// `NAME+LEFT-DONE` or `NAME+LEFT` (boot counting): NAME and LEFT.
fn boot_counter(stem: &str) -> (&str, Option<u32>) {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let counted = stem.rsplit_once('+').and_then(|(name, counter)| {
        let (left, done) = counter.split_once('-').unwrap_or((counter, "0"));
        (digits(left) && digits(done)).then(|| left.parse().ok().map(|left| (name, left)))?
    });
    match counted {
        Some((name, left)) => (name, Some(left)),
        None => (stem, None),
    }
}

/// What systemd-boot tries, in order, as globs, each with where it comes
/// from: the one-shot EFI variable, the default one, loader.conf's last
/// `default` (`@saved`: the entry booted last); when none matches an
/// entry, it boots the first in its order.
fn systemd_boot_choices(facts: &Facts, root: &Path) -> Vec<(String, String)> {
    let efi = |name: &str| {
        let file = format!("/sys/firmware/efi/efivars/{name}-{LOADER_GUID}");
        facts
            .read_bytes(&file, input::SMALL)
            .and_then(|b| efi_string(&b))
    };
    let saved = |pattern: String, from: String| match pattern.as_str() {
        "@saved" => efi("LoaderEntryLastBooted").map(|last| {
            (
                last,
                format!("{from}: @saved, EFI variable LoaderEntryLastBooted"),
            )
        }),
        _ => Some((pattern, from)),
    };
    let mut choices = Vec::new();
    for name in ["LoaderEntryOneShot", "LoaderEntryDefault"] {
        if let Some(value) = efi(name) {
            choices.extend(saved(value, format!("EFI variable {name}")));
        }
    }
    let loader_conf = root.join("loader/loader.conf");
    let default = facts
        .read_bytes(&loader_conf, input::SMALL)
        .and_then(|text| {
            // The last `default` line wins.
            String::from_utf8_lossy(&text)
                .lines()
                .rev()
                .find_map(|line| {
                    let (key, value) = line.trim().split_once([' ', '\t'])?;
                    (key == "default").then(|| value.trim().to_string())
                })
        });
    if let Some(glob) = default {
        choices.extend(saved(glob, format!("default in {}", loader_conf.display())));
    }
    choices
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
