//! GRUB 2: `grub.cfg` as grub-mkconfig writes it (Debian and Ubuntu
//! `/boot/grub`, RHEL, Fedora and SUSE `/boot/grub2`) and its `grubenv`. The
//! entry booted next: grubenv's `next_entry` (one-shot, grub-reboot), else
//! the config's `default=`, which is grubenv's `saved_entry` when it says
//! `${saved_entry}` (GRUB_DEFAULT=saved); an entry is named by its index,
//! its title or its id, and `A>B` goes into a submenu.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::input;
use crate::system::Facts;

use super::{bls, join_words, release_of_image, NextKernel};

const GRUB_DIRS: [&str; 2] = ["/boot/grub", "/boot/grub2"];

pub(super) fn next_kernel(facts: &Facts) -> Option<NextKernel> {
    let (dir, config) = GRUB_DIRS.iter().find_map(|dir| {
        let config = facts.read_bytes(Path::new(dir).join("grub.cfg"), input::CONFIG)?;
        Some((
            PathBuf::from(dir),
            String::from_utf8_lossy(&config).into_owned(),
        ))
    })?;
    let env_file = dir.join("grubenv");
    let env = facts
        .read_bytes(&env_file, input::SMALL)
        .map(|bytes| environment(&String::from_utf8_lossy(&bytes)))
        .unwrap_or_default();
    let config_file = dir.join("grub.cfg");
    let (selector, from) = default_entry(&config, &env, &env_file, &config_file);
    if words_of(&config)
        .iter()
        .any(|words| words.first().map(String::as_str) == Some("blscfg"))
    {
        // The entries are Boot Loader Specification files; grub.cfg only
        // says which one, by its id.
        let chosen = (selector != "0").then_some(selector.as_str());
        let mut next = bls::next_kernel(facts, Some((chosen, &env)))?;
        next.source = format!("{}, chosen by {from} (grub.cfg runs blscfg)", next.source);
        return Some(next);
    }
    let menu = menu(&config);
    let entry = select(&menu, &selector);
    let source = format!("{}, entry {selector:?} ({from})", config_file.display());
    let Some(entry) = entry else {
        let why = format!(
            "no menu entry of {} matches {selector:?}",
            config_file.display()
        );
        return Some(NextKernel::unknown(source, why));
    };
    let (image, args) = entry.linux.clone().unzip();
    let args: Vec<String> = args.unwrap_or_default();
    Some(NextKernel {
        release: image
            .as_deref()
            .and_then(release_of_image)
            .map(str::to_string),
        image,
        cmdline: join_words(&expand(&args, &env)),
        source: format!("{source}: {:?}", entry.title),
        guess: None,
    })
}

/// grubenv's `KEY=VALUE` lines.
pub(super) fn environment(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// Which entry boots next, and why.
fn default_entry(
    config: &str,
    env: &BTreeMap<String, String>,
    env_file: &Path,
    config_file: &Path,
) -> (String, String) {
    let set_default: Vec<String> = words_of(config)
        .into_iter()
        .filter(|words| words.len() == 2 && words[0] == "set")
        .filter_map(|words| words[1].strip_prefix("default=").map(str::to_string))
        .collect();
    let env_value = |key: &str| env.get(key).filter(|v| !v.is_empty()).cloned();
    if set_default.iter().any(|v| v == "${next_entry}") {
        if let Some(next) = env_value("next_entry") {
            return (
                next,
                format!("next_entry in {} (one boot only)", env_file.display()),
            );
        }
    }
    match set_default.iter().rev().find(|v| *v != "${next_entry}") {
        Some(v) if v == "${saved_entry}" => match env_value("saved_entry") {
            Some(saved) => (saved, format!("saved_entry in {}", env_file.display())),
            None => (
                "0".into(),
                format!("{} has no saved_entry", env_file.display()),
            ),
        },
        Some(v) => (v.clone(), format!("default in {}", config_file.display())),
        None => ("0".into(), "no default: the first entry".into()),
    }
}

/// A menu entry or submenu of grub.cfg.
#[derive(Debug, Default)]
struct Entry {
    title: String,
    id: Option<String>,
    /// The `linux` line: the image and the words after it.
    linux: Option<(String, Vec<String>)>,
    children: Vec<Entry>,
    submenu: bool,
}

/// The menu: the top-level entries and submenus, in order.
fn menu(config: &str) -> Vec<Entry> {
    // A stack of open blocks: `Some` for an entry or submenu, `None` for
    // any other `{ … }` (a function).
    let mut open: Vec<Option<Entry>> = Vec::new();
    let mut top = Vec::new();
    for words in words_of(config) {
        let Some(first) = words.first() else { continue };
        if first == "}" {
            if let Some(Some(entry)) = open.pop() {
                match open.iter_mut().rev().find_map(|b| b.as_mut()) {
                    Some(parent) => parent.children.push(entry),
                    None => top.push(entry),
                }
            }
            continue;
        }
        if words.last().map(String::as_str) == Some("{") {
            let is_entry = first == "menuentry" || first == "submenu";
            open.push(is_entry.then(|| entry_head(&words)));
            continue;
        }
        if matches!(first.as_str(), "linux" | "linuxefi" | "linux16") && words.len() > 1 {
            if let Some(Some(entry)) = open.last_mut() {
                entry.linux = Some((words[1].clone(), words[2..].to_vec()));
            }
        }
    }
    top
}

/// A `menuentry TITLE [options] {` or `submenu …` line.
fn entry_head(words: &[String]) -> Entry {
    let mut entry = Entry {
        title: words.get(1).cloned().unwrap_or_default(),
        submenu: words[0] == "submenu",
        ..Entry::default()
    };
    let mut rest = words[2..].iter();
    while let Some(word) = rest.next() {
        if word == "$menuentry_id_option" || word == "--id" {
            entry.id = rest.next().cloned();
        } else if let Some(id) = word.strip_prefix("--id=") {
            entry.id = Some(id.to_string());
        }
    }
    entry
}

/// The entry `selector` names: `>`-separated steps, each an index, a title
/// or an id; a submenu stands for its first entry.
fn select<'m>(menu: &'m [Entry], selector: &str) -> Option<&'m Entry> {
    let mut level = menu;
    let mut chosen = None;
    for step in selector.split('>') {
        let entry = match step.parse::<usize>() {
            Ok(index) => level.get(index),
            Err(_) => level
                .iter()
                .find(|e| e.title == step || e.id.as_deref() == Some(step)),
        }?;
        level = &entry.children;
        chosen = Some(entry);
    }
    let mut entry = chosen?;
    while entry.submenu {
        entry = entry.children.first()?;
    }
    Some(entry)
}

/// `$name` and `${name}` words from grubenv; unknown ones are dropped, as
/// GRUB expands an unset variable to nothing.
fn expand(words: &[String], env: &BTreeMap<String, String>) -> Vec<String> {
    words
        .iter()
        .filter_map(|word| {
            let name = word
                .strip_prefix("${")
                .and_then(|w| w.strip_suffix('}'))
                .or_else(|| word.strip_prefix('$'));
            match name {
                Some(name) => env.get(name).filter(|v| !v.is_empty()).cloned(),
                None => Some(word.clone()),
            }
        })
        .flat_map(|word| {
            word.split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The words of each line of a GRUB script: `'…'` quotes literally, `"…"`
/// keeps `\"`, `\\` and `\$`, a backslash escapes outside quotes; `#`
/// starts a comment at the start of a word.
fn words_of(text: &str) -> Vec<Vec<String>> {
    text.lines().map(line_words).collect()
}

fn line_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ';').is_some() {}
        match chars.peek() {
            None | Some('#') => return words,
            _ => {}
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == ';' {
                break;
            }
            chars.next();
            match c {
                '\'' => word.extend(chars.by_ref().take_while(|&c| c != '\'')),
                '"' => {
                    while let Some(c) = chars.next() {
                        match c {
                            '"' => break,
                            '\\' if matches!(chars.peek(), Some('"' | '\\' | '$')) => {
                                word.extend(chars.next());
                            }
                            c => word.push(c),
                        }
                    }
                }
                '\\' => word.extend(chars.next()),
                c => word.push(c),
            }
        }
        words.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
if [ "${next_entry}" ] ; then
   set default="${next_entry}"
   set next_entry=
   save_env next_entry
else
   set default="0"
fi
function load_video {
  insmod all_video
}
menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-x' {
	load_video
	linux	/boot/vmlinuz-6.1.0-50-amd64 root=UUID=x ro  quiet
}
submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-x' {
	menuentry 'Debian GNU/Linux, with Linux 6.1.0-50-amd64' $menuentry_id_option 'gnulinux-6.1.0-50-amd64-advanced-x' {
		linux	/boot/vmlinuz-6.1.0-50-amd64 root=UUID=x ro  quiet
	}
	menuentry 'Debian GNU/Linux, with Linux 6.1.0-47-amd64' $menuentry_id_option 'gnulinux-6.1.0-47-amd64-advanced-x' {
		linux	/boot/vmlinuz-6.1.0-47-amd64 root=UUID=x ro  quiet $extra
	}
}
"#;

    #[test]
    fn entries_by_index_title_id_and_path() {
        let menu = menu(CONFIG);
        assert_eq!(menu.len(), 2);
        let image = |selector: &str| {
            select(&menu, selector)
                .and_then(|e| e.linux.clone())
                .map(|l| l.0)
        };
        assert_eq!(image("0").as_deref(), Some("/boot/vmlinuz-6.1.0-50-amd64"));
        assert_eq!(
            image("1>1").as_deref(),
            Some("/boot/vmlinuz-6.1.0-47-amd64")
        );
        assert_eq!(
            image("gnulinux-advanced-x>gnulinux-6.1.0-47-amd64-advanced-x").as_deref(),
            Some("/boot/vmlinuz-6.1.0-47-amd64")
        );
        assert_eq!(
            image(
                "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-47-amd64"
            )
            .as_deref(),
            Some("/boot/vmlinuz-6.1.0-47-amd64")
        );
        assert_eq!(image("1").as_deref(), Some("/boot/vmlinuz-6.1.0-50-amd64"));
        assert_eq!(image("7"), None);
    }

    #[test]
    fn next_entry_before_default() {
        let env: BTreeMap<String, String> = [("next_entry".to_string(), "1>1".to_string())].into();
        let (selector, from) = default_entry(CONFIG, &env, Path::new("/e"), Path::new("/c"));
        assert_eq!(
            (selector.as_str(), from.as_str()),
            ("1>1", "next_entry in /e (one boot only)")
        );
        let (selector, _) =
            default_entry(CONFIG, &BTreeMap::new(), Path::new("/e"), Path::new("/c"));
        assert_eq!(selector, "0");
        let saved = CONFIG.replace("set default=\"0\"", "set default=\"${saved_entry}\"");
        let env: BTreeMap<String, String> = [("saved_entry".to_string(), "1>1".to_string())].into();
        assert_eq!(
            default_entry(&saved, &env, Path::new("/e"), Path::new("/c")).0,
            "1>1"
        );
    }

    #[test]
    fn quoting_and_expansion() {
        assert_eq!(
            line_words(r#"menuentry 'Debian'\''s "x"' "a \"b\" \$c" d\ e # comment"#),
            ["menuentry", "Debian's \"x\"", "a \"b\" $c", "d e"]
        );
        let env: BTreeMap<String, String> = [("extra".to_string(), "a=1 b".to_string())].into();
        let words: Vec<String> = ["ro", "$extra", "${unset}", "quiet"]
            .map(String::from)
            .to_vec();
        assert_eq!(expand(&words, &env), ["ro", "a=1", "b", "quiet"]);
    }
}
