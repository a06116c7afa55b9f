//! A unit file or drop-in as systemd reads it: its bytes through `facts`,
//! and the assignments of its `[Service]` sections. Text in, assignments
//! out: its own room, apart from what mod.rs makes of them.

use std::path::Path;

use crate::system::Facts;

/// A unit file or drop-in; `None` when it cannot be read (`facts` notes
/// it, with the reason, for `check`'s `skipped`). A mask (a symlink to
/// /dev/null) reads as empty, as systemd reads it.
pub(super) fn read_unit_file(facts: &Facts, path: &Path) -> Option<String> {
    if crate::input::is_dev_null(&facts.root.path(path)) {
        return Some(String::new());
    }
    let bytes = facts.read_bytes(path, crate::input::CONFIG)?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The `ExecStartPre=` assignments of the `[Service]` section of a unit file
/// or drop-in, in order; `None` is an empty assignment, which resets the
/// list.
pub fn exec_start_pre_assignments(text: &str) -> Vec<Option<String>> {
    service_assignments(text)
        .into_iter()
        .filter(|(key, _)| key == "ExecStartPre")
        .map(|(_, value)| (!value.is_empty()).then_some(value))
        .collect()
}

/// The `KEY=VALUE` assignments of the `[Service]` sections of a unit file,
/// read as systemd reads it (systemd.syntax(7)): a line whose first
/// non-blank character is `#` or `;` is a comment, even inside a continued
/// line; a line ending in an unescaped backslash continues on the next one,
/// the backslash becoming a space (an empty line ends it); key and value
/// lose their surrounding whitespace; a line without `=` is ignored.
pub fn service_assignments(text: &str) -> Vec<(String, String)> {
    let mut assignments = Vec::new();
    let mut in_service = false;
    let mut pending: Option<String> = None;
    for raw in text.lines() {
        let raw = raw.trim_start_matches('\u{feff}');
        if raw.trim_start().starts_with(['#', ';']) {
            continue;
        }
        let mut line = pending.take().unwrap_or_default();
        line.push_str(raw);
        let trailing = line.len() - line.trim_end_matches('\\').len();
        if trailing % 2 == 1 {
            line.pop();
            line.push(' ');
            pending = Some(line);
            continue;
        }
        let line = line.trim();
        if let Some(section) = line.strip_prefix('[') {
            in_service = section == "Service]";
            continue;
        }
        if !in_service {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            assignments.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    if let (Some(line), true) = (pending, in_service) {
        if let Some((key, value)) = line.trim().split_once('=') {
            assignments.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    assignments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_start_pre_lines() {
        let text = "[Unit]\nExecStartPre=/not/service\n[Service]\n# ExecStartPre=/comment\n\
                    ExecStartPre=\nExecStartPre = -/usr/sbin/kmod-ready \\\n  --timeout 30s nf_conntrack\n\
                    ExecStart=/x\n";
        assert_eq!(
            exec_start_pre_assignments(text),
            vec![
                None,
                Some("-/usr/sbin/kmod-ready    --timeout 30s nf_conntrack".to_string())
            ]
        );
        // A comment inside a continued line is skipped; an empty line ends
        // it; an escaped backslash does not continue.
        let text =
            "[Service]\nExecStartPre=/bin/a \\\n# x \\\n  ; y\n b\nExecStartPre=/bin/c \\\n\nd=1\n\
                    ExecStartPre=/bin/e \\\\\nf=2\n";
        assert_eq!(
            exec_start_pre_assignments(text),
            vec![
                Some("/bin/a   b".to_string()),
                Some("/bin/c".to_string()),
                Some("/bin/e \\\\".to_string())
            ]
        );
    }
}
