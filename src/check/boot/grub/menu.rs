//! The menu grub.cfg builds: its entries and submenus, their titles, ids
//! and `linux` lines, and the entry a default names.

use super::words_of;

/// A menu entry or submenu of grub.cfg.
#[derive(Debug, Default)]
pub(super) struct Entry {
    pub(super) title: String,
    id: Option<String>,
    /// The `linux` line: the image and the words after it.
    pub(super) linux: Option<(String, Vec<String>)>,
    children: Vec<Entry>,
    submenu: bool,
}

/// The menu: the top-level entries and submenus, in order.
pub(super) fn menu(config: &str) -> Vec<Entry> {
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

/// The entry `selector` names, as GRUB's menu picks its default:
/// `>`-separated steps (`>>` is a `>` of a title), each an index, a title
/// or an id; a step that names nothing falls back to the first entry of
/// its level, and a submenu stands for its first entry. `fell_back` says
/// whether a step named nothing.
pub(super) fn select<'m>(menu: &'m [Entry], selector: &str) -> Option<(&'m Entry, bool)> {
    let mut level = menu;
    let mut chosen = None;
    let mut fell_back = false;
    for step in selector_steps(selector) {
        let named = match step.parse::<usize>() {
            Ok(index) => level.get(index),
            Err(_) => level
                .iter()
                .find(|e| e.title == step || e.id.as_deref() == Some(step.as_str())),
        };
        let entry = match named {
            Some(entry) => entry,
            None => {
                fell_back = true;
                level.first()?
            }
        };
        level = &entry.children;
        chosen = Some(entry);
        if !entry.submenu {
            break;
        }
    }
    let mut entry = chosen?;
    while entry.submenu {
        entry = entry.children.first()?;
    }
    Some((entry, fell_back))
}

/// The steps of a default: split at `>`, where `>>` stands for a `>`.
pub(super) fn selector_steps(selector: &str) -> Vec<String> {
    let mut steps = vec![String::new()];
    let mut chars = selector.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '>' if chars.next_if_eq(&'>').is_some() => steps.last_mut().unwrap().push('>'),
            '>' => steps.push(String::new()),
            c => steps.last_mut().unwrap().push(c),
        }
    }
    steps
}
