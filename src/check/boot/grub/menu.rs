//! The menu grub.cfg builds: its entries and submenus, their titles, ids
//! and `linux` lines, and the entry a default names.

use super::words_of;

/// The variable grub-mkconfig writes before each entry's id. 00_header
/// sets it to `--id` (on every GRUB since 2.00) and exports it; where
/// nothing sets it, it expands to nothing and the word after it is an
/// argument of the entry, not its id.
const ID_OPTION: &str = "menuentry_id_option";

/// A menu entry or submenu of grub.cfg.
#[derive(Debug, Default)]
pub(super) struct Entry {
    pub(super) title: String,
    id: Option<String>,
    /// The word after `$menuentry_id_option` where check cannot tell what
    /// the variable holds: the id if it is `--id`, else an argument.
    maybe_id: Option<String>,
    /// The `linux` line: the image and the words after it.
    pub(super) linux: Option<(String, Vec<String>)>,
    children: Vec<Entry>,
    submenu: bool,
}

/// Why `select` chose no entry.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Unselected {
    /// The menu, or the submenu a default goes into, has no entry.
    NoEntry,
    /// A step of the default is the word after `$menuentry_id_option` of
    /// the entry titled `title`, whose id it is only if the variable is
    /// `--id`, which check cannot tell.
    MaybeId { step: String, title: String },
}

/// A line of a GRUB script, or a `{ … }` block and the line that opens it.
enum Item {
    Line(Vec<String>),
    Block(Vec<String>, Vec<Item>),
}

/// What `$menuentry_id_option` expands to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdOption {
    /// `--id`: the word after it is the entry's id.
    Id,
    /// Nothing (unset or empty).
    Nothing,
    /// What check cannot tell.
    Unknown,
}

impl IdOption {
    fn of(value: &str) -> IdOption {
        match value {
            "--id" => IdOption::Id,
            "" => IdOption::Nothing,
            _ => IdOption::Unknown,
        }
    }
}

/// `menuentry_id_option` where a line of a menu level runs.
#[derive(Debug, Clone, Copy)]
struct Variable {
    value: IdOption,
    /// Whether it is exported; `None` where check cannot tell.
    exported: Option<bool>,
}

impl Variable {
    const UNSET: Variable = Variable {
        value: IdOption::Nothing,
        exported: Some(false),
    };

    /// What the entries of a submenu see: GRUB builds them in a context of
    /// their own once the level that holds the submenu has run, and only
    /// exported variables reach that context.
    fn in_submenu(self) -> Variable {
        match self.exported {
            Some(true) => self,
            Some(false) => Variable::UNSET,
            None if self.value == IdOption::Nothing => Variable::UNSET,
            None => Variable {
                value: IdOption::Unknown,
                exported: None,
            },
        }
    }

    /// Follows a line that is not a block, which runs (`Some(true)`), does
    /// not, or may: `set menuentry_id_option=V`, `menuentry_id_option=V`
    /// and `export menuentry_id_option`; any other line that names the
    /// variable makes it unknown.
    fn run(&mut self, words: &[String], runs: Option<bool>) {
        if runs == Some(false) {
            return;
        }
        let assigned = match words {
            [set, word] if set == "set" => word.strip_prefix("menuentry_id_option="),
            [word] => word.strip_prefix("menuentry_id_option="),
            [export, names @ ..] if export == "export" && names.iter().any(|n| n == ID_OPTION) => {
                let exported = runs == Some(true) || self.exported == Some(true);
                self.exported = if exported { Some(true) } else { None };
                return;
            }
            _ => None,
        };
        match assigned.map(IdOption::of) {
            Some(value) if runs == Some(true) || self.value == value => self.value = value,
            None if !words.iter().any(|word| names_id_option(word)) => {}
            _ => self.value = IdOption::Unknown,
        }
    }
}

/// A word that sets, exports or unsets `menuentry_id_option`.
fn names_id_option(word: &str) -> bool {
    word == ID_OPTION || word.starts_with("menuentry_id_option=")
}

/// Whether the lines inside each open `if`, `for` or `while` run:
/// `Some(true)` in the `then` of 00_header's feature test, `Some(false)` in
/// the branches after it, `None` in any other, where check cannot tell.
#[derive(Default)]
struct Branches(Vec<Option<bool>>);

impl Branches {
    fn runs(&self) -> Option<bool> {
        if self.0.contains(&Some(false)) {
            Some(false)
        } else if self.0.contains(&None) {
            None
        } else {
            Some(true)
        }
    }

    /// Follows a line that is not a block: it opens, turns or closes a
    /// branch, or may set `variable`. An `if`, `for` or `while` on one line
    /// is one whose branches check does not follow.
    fn run(&mut self, words: &[String], variable: &mut Variable) {
        let one_line = matches!(words.last().map(String::as_str), Some("fi" | "done"));
        match words[0].as_str() {
            "if" if !one_line => self.0.push(feature_test(&words[1..])),
            "for" | "while" | "until" if !one_line => self.0.push(None),
            "elif" | "else" => {
                if let Some(branch) = self.0.last_mut() {
                    *branch = branch.map(|_| false);
                }
            }
            "fi" | "done" => {
                self.0.pop();
            }
            _ if one_line && self.runs() != Some(false) => variable.run(words, None),
            _ => variable.run(words, self.runs()),
        }
    }
}

/// `Some(true)` for 00_header's `if [ x"${feature_menuentry_id}" = xy ]; then`,
/// which every GRUB since 2.00 passes, as it sets feature_menuentry_id.
fn feature_test(condition: &[String]) -> Option<bool> {
    let condition: Vec<&str> = condition.iter().map(String::as_str).collect();
    let test = ["x${feature_menuentry_id}", "x$feature_menuentry_id"];
    match condition[..] {
        ["[", feature, "=", "xy", "]", "then"] if test.contains(&feature) => Some(true),
        _ => None,
    }
}

/// The menu: the top-level entries and submenus, in order.
pub(super) fn menu(config: &str) -> Vec<Entry> {
    level(&items(config), Variable::UNSET)
}

/// The lines of `config`, each `{ … }` block gathered with the line that
/// opens it; a block never closed is left out.
fn items(config: &str) -> Vec<Item> {
    let mut top = Vec::new();
    // The blocks open at this line, innermost last.
    let mut open: Vec<(Vec<String>, Vec<Item>)> = Vec::new();
    for words in words_of(config) {
        let Some(first) = words.first() else { continue };
        let item = if first == "}" {
            let Some((head, body)) = open.pop() else {
                continue;
            };
            Item::Block(head, body)
        } else if words.last().map(String::as_str) == Some("{") {
            open.push((words, Vec::new()));
            continue;
        } else {
            Item::Line(words)
        };
        match open.last_mut() {
            Some((_, body)) => body.push(item),
            None => top.push(item),
        }
    }
    top
}

/// The entries of a level (grub.cfg, or a submenu's body) as GRUB runs its
/// lines in order, from `variable` as it stands when the level starts.
fn level(items: &[Item], mut variable: Variable) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut submenus = Vec::new();
    let mut branches = Branches::default();
    for item in items {
        match item {
            Item::Line(words) => branches.run(words, &mut variable),
            Item::Block(head, body) if head[0] == "menuentry" || head[0] == "submenu" => {
                let mut entry = entry_head(head, variable.value);
                entry.linux = linux_line(body);
                if entry.submenu {
                    submenus.push((entries.len(), body));
                }
                entries.push(entry);
            }
            // A function: its lines run where it is called, which check
            // does not follow.
            Item::Block(_, body) => {
                if sets_id_option(body) {
                    variable.value = IdOption::Unknown;
                }
            }
        }
    }
    for (index, body) in submenus {
        entries[index].children = level(body, variable.in_submenu());
    }
    entries
}

fn sets_id_option(items: &[Item]) -> bool {
    items.iter().any(|item| match item {
        Item::Line(words) => words.iter().any(|word| names_id_option(word)),
        Item::Block(_, body) => sets_id_option(body),
    })
}

/// The last `linux` line of an entry's body: the image and the words after it.
fn linux_line(body: &[Item]) -> Option<(String, Vec<String>)> {
    body.iter().rev().find_map(|item| match item {
        Item::Line(words)
            if matches!(words[0].as_str(), "linux" | "linuxefi" | "linux16") && words.len() > 1 =>
        {
            Some((words[1].clone(), words[2..].to_vec()))
        }
        _ => None,
    })
}

/// A `menuentry TITLE [options] {` or `submenu …` line, where
/// `$menuentry_id_option` expands to `id_option`.
fn entry_head(words: &[String], id_option: IdOption) -> Entry {
    let mut entry = Entry {
        title: words.get(1).cloned().unwrap_or_default(),
        submenu: words[0] == "submenu",
        ..Entry::default()
    };
    let mut rest = words[2..].iter();
    while let Some(word) = rest.next() {
        let expanded = match word.as_str() {
            "$menuentry_id_option" | "${menuentry_id_option}" => id_option,
            "--id" => IdOption::Id,
            _ => IdOption::Nothing,
        };
        match expanded {
            IdOption::Id => entry.id = rest.next().cloned(),
            IdOption::Unknown => entry.maybe_id = rest.next().cloned(),
            // Expanded to nothing, the word after it is read as an argument.
            IdOption::Nothing => {
                if let Some(id) = word.strip_prefix("--id=") {
                    entry.id = Some(id.to_string());
                }
            }
        }
    }
    entry
}

/// The entry `selector` names, as GRUB's menu picks its default:
/// `>`-separated steps (`>>` is a `>` of a title), each an index, a title
/// or an id; a step that names nothing falls back to the first entry of
/// its level, and a submenu stands for its first entry. `fell_back` says
/// whether a step named nothing.
pub(super) fn select<'m>(
    menu: &'m [Entry],
    selector: &str,
) -> Result<(&'m Entry, bool), Unselected> {
    let mut level = menu;
    let mut chosen = None;
    let mut fell_back = false;
    for step in selector_steps(selector) {
        let named = match step.parse::<usize>() {
            Ok(index) => level.get(index),
            Err(_) => {
                let is = |name: &Option<String>| name.as_deref() == Some(step.as_str());
                let named = level
                    .iter()
                    .find(|e| e.title == step || is(&e.id) || is(&e.maybe_id));
                if let Some(entry) = named.filter(|e| e.title != step && !is(&e.id)) {
                    let title = entry.title.clone();
                    return Err(Unselected::MaybeId { step, title });
                }
                named
            }
        };
        let entry = match named {
            Some(entry) => entry,
            None => {
                fell_back = true;
                level.first().ok_or(Unselected::NoEntry)?
            }
        };
        level = &entry.children;
        chosen = Some(entry);
        if !entry.submenu {
            break;
        }
    }
    let mut entry = chosen.ok_or(Unselected::NoEntry)?;
    while entry.submenu {
        entry = entry.children.first().ok_or(Unselected::NoEntry)?;
    }
    Ok((entry, fell_back))
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
