//! Reading configuration directories the way kmod and systemd do, for
//! `kmod-ready check`: which `blacklist` line (file and line number) names a
//! module, and which `modules-load.d` line lists it.
//!
//! libkmod can say *whether* a module is blacklisted, but not *where*; an
//! admin needs the file and line to fix it. The parsers are pure functions
//! over text (fuzzable); the walker applies the override rule shared by
//! modprobe.d, modules-load.d and systemd drop-in directories: a file name in
//! an earlier directory hides the same name in every later one, and the
//! files that remain are read in the order of their names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::system::{normalize_module_name, Facts, Root, MODPROBE_D_DIRS};

/// Where systemd-modules-load reads modules-load.d files, highest first.
pub(crate) const MODULES_LOAD_D_DIRS: [&str; 5] = [
    "/etc/modules-load.d",
    "/run/modules-load.d",
    "/usr/local/lib/modules-load.d",
    "/usr/lib/modules-load.d",
    "/lib/modules-load.d",
];

/// A line of a configuration file that names a module.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Location {
    /// The file, as a path of the system (not of the test root).
    #[serde(serialize_with = "crate::input::serialize_lossy")]
    pub file: PathBuf,
    /// 1-based; for a continued line, the line it starts on.
    pub line: usize,
}

/// The logical lines of a modprobe.d file: a line ending in a backslash
/// continues on the next one. Each comes with the number of the physical
/// line it starts on (1-based).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let (start, mut joined) = current.take().unwrap_or((index + 1, String::new()));
        match raw.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head);
                current = Some((start, joined));
            }
            None => {
                joined.push_str(raw);
                lines.push((start, joined));
            }
        }
    }
    // A backslash on the last line continues into nothing.
    lines.extend(current);
    lines
}

/// The `blacklist NAME` lines of one modprobe.d file: (line number, module
/// name with `-` as `_`). As in libkmod, a comment is a line whose first
/// character is `#`, words are separated by spaces or tabs, and anything
/// after the module name is ignored.
pub fn blacklist_lines(text: &str) -> Vec<(usize, String)> {
    logical_lines(text)
        .into_iter()
        .filter(|(_, line)| !line.starts_with('#'))
        .filter_map(|(number, line)| {
            let mut words = line.split([' ', '\t']).filter(|w| !w.is_empty());
            (words.next() == Some("blacklist"))
                .then(|| words.next())
                .flatten()
                .map(|name| (number, normalize_module_name(name)))
        })
        .collect()
}

/// The `install NAME COMMAND` lines of one modprobe.d file: (line number,
/// module name with `-` as `_`, the command: the rest of the line, which
/// libkmod runs with `sh -c` instead of inserting the module).
pub fn install_lines(text: &str) -> Vec<(usize, String, String)> {
    logical_lines(text)
        .into_iter()
        .filter(|(_, line)| !line.starts_with('#'))
        .filter_map(|(number, line)| {
            let rest = line.strip_prefix("install")?;
            let rest = rest
                .strip_prefix([' ', '\t'])?
                .trim_start_matches([' ', '\t']);
            let (name, command) = rest.split_once([' ', '\t'])?;
            let command = command.trim_matches([' ', '\t']);
            (!name.is_empty() && !command.is_empty())
                .then(|| (number, normalize_module_name(name), command.to_string()))
        })
        .collect()
}

/// The module names of one modules-load.d file: one a line, `#` and `;`
/// start comments, surrounding whitespace ignored.
pub fn modules_load_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with(['#', ';']))
        .map(|(number, line)| (number, normalize_module_name(line)))
        .collect()
}

/// The files of `dirs` (highest precedence first) whose names end in one of
/// `suffixes`, after the override rule, in the order they are read: sorted
/// by the bytes of the file name (a name need not be UTF-8). Paths are
/// system paths; hidden files are skipped.
pub(crate) fn config_files(root: &Root, dirs: &[&str], suffixes: &[&str]) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let mut by_name: BTreeMap<std::ffi::OsString, PathBuf> = BTreeMap::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(root.path(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let bytes = name.as_bytes();
            if bytes.starts_with(b".") || !suffixes.iter().any(|s| bytes.ends_with(s.as_bytes())) {
                continue;
            }
            // kmod and systemd pass over a directory: it hides nothing.
            if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            // A symlink to /dev/null masks, and reads as empty: keep it.
            let path = Path::new(dir).join(&name);
            by_name.entry(name).or_insert(path);
        }
    }
    by_name.into_values().collect()
}

/// The first modprobe.d file libkmod would block on or read without end (a
/// FIFO, a device), as "FILE (a FIFO)".
pub(crate) fn blocking_config(root: &Root) -> Option<String> {
    config_files(root, &MODPROBE_D_DIRS, &[".conf", ".alias"])
        .into_iter()
        .find_map(|file| {
            let what = crate::input::would_block(&root.path(&file))?;
            Some(format!("{} ({what})", file.display()))
        })
}

/// Every modprobe.d `blacklist` line that names `module` (a kernel name).
/// libkmod also reads `*.alias` files there, so we do too.
pub(crate) fn blacklisted_at(facts: &Facts, module: &str) -> Vec<Location> {
    find_in(
        facts,
        &MODPROBE_D_DIRS,
        &[".conf", ".alias"],
        module,
        blacklist_lines,
    )
}

/// A modprobe.d `install` line: where it is, and the command it runs
/// instead of inserting the module.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub(crate) struct InstallLine {
    #[serde(serialize_with = "crate::input::serialize_lossy")]
    pub file: PathBuf,
    pub line: usize,
    pub command: String,
}

impl InstallLine {
    /// Whether the command is one that loads nothing and exits (`true`,
    /// `false`, `/bin/true`…): the usual way to disable a module.
    pub fn loads_nothing(&self) -> bool {
        let program = self.command.split([' ', '\t']).next().unwrap_or_default();
        let rest = self.command[program.len()..].trim();
        let name = Path::new(program).file_name().and_then(|n| n.to_str());
        rest.is_empty() && matches!(name, Some("true" | "false"))
    }

    /// "FILE:LINE".
    pub fn at(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }
}

/// Every modprobe.d `install` line for `module` (a kernel name), in the
/// order libkmod reads them; libkmod runs the first.
pub(crate) fn install_lines_for(facts: &Facts, module: &str) -> Vec<InstallLine> {
    let module = normalize_module_name(module);
    let mut found = Vec::new();
    for file in config_files(&facts.root, &MODPROBE_D_DIRS, &[".conf", ".alias"]) {
        let Some(bytes) = facts.read_bytes(&file, crate::input::CONFIG) else {
            continue;
        };
        for (line, name, command) in install_lines(&String::from_utf8_lossy(&bytes)) {
            if name == module {
                found.push(InstallLine {
                    file: file.clone(),
                    line,
                    command,
                });
            }
        }
    }
    found
}

/// Every modules-load.d line that lists `module`.
pub(crate) fn modules_load_d_lists(facts: &Facts, module: &str) -> Vec<Location> {
    find_in(
        facts,
        &MODULES_LOAD_D_DIRS,
        &[".conf"],
        module,
        modules_load_lines,
    )
}

fn find_in(
    facts: &Facts,
    dirs: &[&str],
    suffixes: &[&str],
    module: &str,
    parse: fn(&str) -> Vec<(usize, String)>,
) -> Vec<Location> {
    let module = normalize_module_name(module);
    let mut found = Vec::new();
    for file in config_files(&facts.root, dirs, suffixes) {
        let Some(bytes) = facts.read_bytes(&file, crate::input::CONFIG) else {
            continue;
        };
        for (line, name) in parse(&String::from_utf8_lossy(&bytes)) {
            if name == module {
                found.push(Location {
                    file: file.clone(),
                    line,
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blacklist_lines_with_comments_and_continuations() {
        let text = "# blacklist commented\n\
                    blacklist nf-conntrack\n\
                    \x20 blacklist indented_is_read\n\
                    blacklist\n\
                    options x y=1\n\
                    blacklist \\\n\
                    continued trailing words\n\
                    \tblacklist\ttabbed\n\
                    blacklistx no\n\
                    blacklist last\\";
        assert_eq!(
            blacklist_lines(text),
            vec![
                (2, "nf_conntrack".to_string()),
                (3, "indented_is_read".to_string()),
                (6, "continued".to_string()),
                (8, "tabbed".to_string()),
                (10, "last".to_string()),
            ]
        );
        assert!(blacklist_lines("").is_empty());
        assert!(blacklist_lines("\\\n\\\n\\").is_empty());
    }

    #[test]
    fn install_lines_keep_the_whole_command() {
        let text = "install nf-conntrack /bin/true\n# install x /bin/false\ninstall\tbr_netfilter  \\\n  /sbin/modprobe --ignore-install br_netfilter && echo ok \ninstallx y z\ninstall lonely\n";
        assert_eq!(
            install_lines(text),
            vec![
                (1, "nf_conntrack".to_string(), "/bin/true".to_string()),
                (
                    3,
                    "br_netfilter".to_string(),
                    "/sbin/modprobe --ignore-install br_netfilter && echo ok".to_string()
                ),
            ]
        );
        let line = |command: &str| InstallLine {
            file: "/etc/modprobe.d/x.conf".into(),
            line: 1,
            command: command.into(),
        };
        assert!(line("/bin/true").loads_nothing() && line("false").loads_nothing());
        assert!(!line("/bin/true; modprobe x").loads_nothing());
        assert!(!line("/sbin/modprobe --ignore-install x").loads_nothing());
    }

    #[test]
    fn modules_load_lines_skip_comments() {
        let text = "# k8s\n; also a comment\n\n  br_netfilter  \nnf-conntrack\n";
        assert_eq!(
            modules_load_lines(text),
            vec![
                (4, "br_netfilter".to_string()),
                (5, "nf_conntrack".to_string())
            ]
        );
    }

    #[test]
    fn earlier_directory_hides_same_name() {
        let dir = std::env::temp_dir().join(format!("kmod-ready-confd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let write = |path: &str, text: &str| {
            let full = dir.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        };
        write("etc/modprobe.d/b.conf", "# emptied by the admin\n");
        write("usr/lib/modprobe.d/b.conf", "blacklist m\n");
        write("usr/lib/modprobe.d/a.conf", "\nblacklist m\n");
        write("lib/modprobe.d/c.conf", "blacklist m\n");
        write("etc/modprobe.d/d.conf.disabled", "blacklist m\n");
        write("etc/modprobe.d/.e.conf", "blacklist m\n");
        let facts = Facts::read(Root::new(&dir));
        let found = blacklisted_at(&facts, "m");
        assert_eq!(
            found,
            vec![
                Location {
                    file: "/usr/lib/modprobe.d/a.conf".into(),
                    line: 2
                },
                Location {
                    file: "/lib/modprobe.d/c.conf".into(),
                    line: 1
                },
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
