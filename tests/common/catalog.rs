//! The journal catalog (systemd/kmod-ready.catalog) and the MESSAGE_IDs of
//! src/logging.rs, read as text: the code is their one source, and these
//! tests compare the catalog with it.

use std::collections::BTreeMap;
use std::fs;

pub const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/kmod-ready.catalog");
const LOGGING: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/logging.rs");

/// The constants of `pub mod message_id` in src/logging.rs: name → id.
pub fn message_ids() -> BTreeMap<String, String> {
    let source = fs::read_to_string(LOGGING).unwrap();
    let (_, module) = source
        .split_once("pub mod message_id {")
        .expect("src/logging.rs has `pub mod message_id`");
    let (module, _) = module.split_once("\n}").unwrap();
    module
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("pub const ")?;
            let (name, value) = rest.split_once(": &str = \"")?;
            Some((name.to_string(), value.trim_end_matches("\";").to_string()))
        })
        .collect()
}

/// One catalog entry: its id, header fields in order, and body.
#[derive(Debug)]
pub struct Entry {
    pub id: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Entry {
    pub fn header(&self, name: &str) -> Option<&str> {
        let found = self.headers.iter().find(|(n, _)| n == name);
        found.map(|(_, value)| value.as_str())
    }

    /// The fields the text substitutes (`@KMOD_MODULE@`).
    pub fn substituted_fields(&self) -> Vec<String> {
        let text = format!("{:?}{}", self.headers, self.body);
        let mut fields: Vec<String> = text
            .split('@')
            .skip(1)
            .step_by(2)
            .filter(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            .map(str::to_string)
            .collect();
        fields.sort();
        fields.dedup();
        fields
    }
}

/// The entries of the catalog, in order. `#` lines are comments.
pub fn entries() -> Vec<Entry> {
    let text = fs::read_to_string(CATALOG).unwrap();
    let mut entries: Vec<Entry> = Vec::new();
    let mut in_headers = false;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(id) = line.strip_prefix("-- ") {
            entries.push(Entry {
                id: id.trim().to_string(),
                headers: Vec::new(),
                body: String::new(),
            });
            in_headers = true;
            continue;
        }
        let Some(entry) = entries.last_mut() else {
            assert!(
                line.trim().is_empty(),
                "text before the first entry: {line}"
            );
            continue;
        };
        if in_headers && line.is_empty() {
            in_headers = false;
        } else if in_headers {
            let (name, value) = line.split_once(": ").expect("a header is `Name: value`");
            entry.headers.push((name.to_string(), value.to_string()));
        } else {
            entry.body.push_str(line);
            entry.body.push('\n');
        }
    }
    entries
}
