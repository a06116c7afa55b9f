//! GRUB 2: `grub.cfg` as grub-mkconfig writes it (Debian and Ubuntu
//! `/boot/grub`, RHEL, Fedora and SUSE `/boot/grub2`) and its `grubenv`. The
//! entry booted next: the last `default=` the config sets, which is
//! grubenv's `next_entry` (one-shot, grub-reboot) when 00_header sets it
//! from there and nothing later (custom.cfg) sets another, and grubenv's
//! `saved_entry` when it says `${saved_entry}` (GRUB_DEFAULT=saved); an
//! entry is named by its index, its title or its id, and `A>B` goes into a
//! submenu.

mod menu;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::input;
use crate::system::Facts;

use super::{bls, join_words, release_of_entry_image, NextKernel};

use menu::{menu, select, Unselected};

/// Where grub.cfg is, in the order they are tried: Debian and Ubuntu, then
/// RHEL, Fedora and SUSE; then the EFI system partition's vendor
/// directories, where RHEL 8 and older keep the whole of it on EFI machines
/// (elsewhere the file there only hands over to one of the first two).
const GRUB_DIRS: [&str; 2] = ["/boot/grub", "/boot/grub2"];
const EFI_DIR: &str = "/boot/efi/EFI";

/// The first line of a grubenv block: GRUB ignores a block without it.
const ENVBLK_SIGNATURE: &str = "# GRUB Environment Block\n";

pub(super) fn next_kernel(facts: &Facts) -> Option<NextKernel> {
    let mut dirs: Vec<PathBuf> = GRUB_DIRS.iter().map(PathBuf::from).collect();
    let mut vendors: Vec<PathBuf> = std::fs::read_dir(facts.root.path(EFI_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .map(|vendor| Path::new(EFI_DIR).join(vendor.file_name()))
        .collect();
    vendors.sort();
    dirs.extend(vendors);
    let (dir, config) = dirs.iter().find_map(|dir| {
        let file = dir.join("grub.cfg");
        match facts.root.read_bytes(&file, input::CONFIG) {
            Ok(Some(config)) => Some((
                dir.clone(),
                Ok(String::from_utf8_lossy(&config).into_owned()),
            )),
            Ok(None) => None,
            Err(unread) => Some((dir.clone(), Err(unread))),
        }
    })?;
    let config_file = dir.join("grub.cfg");
    let config = match config {
        Ok(config) => config,
        // GRUB reads it at boot; what check cannot read, it cannot judge.
        Err(unread) => {
            facts.note_unread(unread.to_string());
            let why = format!("{unread} (run check as root)");
            return Some(NextKernel::unknown(config_file.display().to_string(), why));
        }
    };
    let (config, custom) = with_custom_cfg(facts, &dir, &config);
    let env_file = dir.join("grubenv");
    let env = facts
        .read_bytes(&env_file, input::SMALL)
        .map(|bytes| environment(&String::from_utf8_lossy(&bytes)))
        .unwrap_or_default();
    let (selector, mut from) = default_entry(&config, &env, &env_file, &config_file);
    // The winning `set default` may be custom.cfg's.
    let custom_file = dir.join("custom.cfg");
    let in_custom = custom.as_deref().is_some_and(|custom| {
        let (custom_default, _) = default_entry(custom, &env, &env_file, &custom_file);
        from.starts_with("default in ") && custom_default == selector
    });
    if in_custom {
        from = format!("default in {} (sourced by grub.cfg)", custom_file.display());
    }
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
    let mut source = format!("{}, entry {selector:?} ({from})", config_file.display());
    let (entry, fell_back) = match select(&menu, &selector) {
        Ok(chosen) => chosen,
        Err(Unselected::NoEntry) => {
            let why = format!("{} has no menu entry", config_file.display());
            return Some(NextKernel::unknown(source, why));
        }
        Err(Unselected::MaybeId { step, title }) => {
            let why = format!(
                "{step:?} is the id of the entry {title:?} only if $menuentry_id_option is --id \
                 there, and {} sets that variable where check cannot tell its value",
                config_file.display()
            );
            return Some(NextKernel::unknown(source, why));
        }
    };
    if fell_back {
        source.push_str(", which names no entry: GRUB boots the first of its menu");
    }
    let (image, args) = entry.linux.clone().unzip();
    let args: Vec<String> = args.unwrap_or_default();
    let release = match image.as_deref() {
        Some(image) => release_of_entry_image(facts, image),
        None => Err("it has no linux line".to_string()),
    };
    let (release, guess) = match release {
        Ok(release) => (Some(release), None),
        Err(why) => (None, Some(format!("the entry {:?}: {why}", entry.title))),
    };
    Some(NextKernel {
        release,
        image,
        cmdline: join_words(&expand(&args, &env)),
        source: format!("{source}: {:?}", entry.title),
        guess,
    })
}

/// grubenv's `KEY=VALUE` lines, as GRUB reads the block: none when it does
/// not start with its signature line, and only whole lines (a last line
/// without its newline is not read).
pub(super) fn environment(text: &str) -> BTreeMap<String, String> {
    let Some(block) = text.strip_prefix(ENVBLK_SIGNATURE) else {
        return BTreeMap::new();
    };
    let whole = block.rfind('\n').map_or("", |end| &block[..end]);
    whole
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// grub.cfg with the `custom.cfg` beside it put where 41_custom's
/// `source ${config_directory}/custom.cfg` (or `$prefix/custom.cfg`) reads
/// it: its entries join the menu, and a `set default` in it counts.
/// Also the text of custom.cfg, when it is read.
fn with_custom_cfg(facts: &Facts, dir: &Path, config: &str) -> (String, Option<String>) {
    let sources_custom = |line: &str| {
        let words = line_words(line);
        words.len() == 2 && words[0] == "source" && words[1].ends_with("/custom.cfg")
    };
    if !config.lines().any(sources_custom) {
        return (config.to_string(), None);
    }
    let custom = facts
        .read_bytes(dir.join("custom.cfg"), input::CONFIG)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    let Some(custom) = custom else {
        return (config.to_string(), None);
    };
    // Only the first source runs: 41_custom's `elif` reads the second
    // only when the first directory is unset.
    let mut done = false;
    let merged = config
        .lines()
        .map(|line| {
            if !done && sources_custom(line) {
                done = true;
                custom.clone()
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    (merged, Some(custom))
}

/// Which entry boots next, and why: the last `set default` that runs, as
/// the menu reads `default` only once the whole config has run. 00_header's
/// `set default="${next_entry}"` runs when grubenv has a next_entry, and
/// the `set default` of its `else` when it has none; a later one (custom.cfg's)
/// wins over both.
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
    let next_entry = env_value("next_entry");
    let mut last = None;
    let mut in_else = false;
    for value in &set_default {
        if value == "${next_entry}" {
            if next_entry.is_some() {
                last = Some(value);
                in_else = true;
            }
        } else if std::mem::take(&mut in_else) {
            // The `else` of the next_entry test: it does not run.
        } else {
            last = Some(value);
        }
    }
    match last.map(String::as_str) {
        Some("${next_entry}") => (
            next_entry.unwrap_or_default(),
            format!("next_entry in {} (one boot only)", env_file.display()),
        ),
        Some("${saved_entry}") => match env_value("saved_entry") {
            Some(saved) => (saved, format!("saved_entry in {}", env_file.display())),
            None => (
                "0".into(),
                format!("{} has no saved_entry", env_file.display()),
            ),
        },
        Some(v) => (
            v.to_string(),
            format!("default in {}", config_file.display()),
        ),
        None => ("0".into(), "no default: the first entry".into()),
    }
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
mod tests;
