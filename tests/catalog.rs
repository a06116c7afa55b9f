//! The journal catalog that `journalctl -x` shows below our entries: one
//! entry for each MESSAGE_ID of src/logging.rs and no other, each complete,
//! and a file that journalctl itself compiles.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::catalog::{entries, message_ids, CATALOG};

#[test]
fn every_message_id_has_exactly_one_entry_and_no_other() {
    let ids: BTreeSet<String> = message_ids().into_values().collect();
    assert!(ids.len() >= 6, "message IDs went missing: {ids:?}");
    let entries = entries();
    let listed: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    let unique: BTreeSet<String> = listed.iter().map(|id| id.to_string()).collect();
    assert_eq!(
        unique.len(),
        listed.len(),
        "an id has two entries: {listed:?}"
    );
    assert_eq!(unique, ids, "catalog ids differ from src/logging.rs");
}

#[test]
fn every_entry_has_subject_origin_documentation_and_body() {
    for entry in entries() {
        let id = &entry.id;
        assert!(
            entry.header("Subject").is_some_and(|s| !s.is_empty()),
            "{id}: no Subject"
        );
        assert_eq!(entry.header("Defined-By"), Some("kmod-ready"), "{id}");
        let docs = entry.header("Documentation").unwrap_or_default();
        assert!(
            docs.split(' ').any(|d| d == "man:kmod-ready(8)"),
            "{id}: {docs}"
        );
        assert!(
            entry.body.trim().len() > 100,
            "{id}: the body explains nothing"
        );
    }
}

/// What journald will do with the file: `journalctl --update-catalog` into a
/// scratch root, then `--list-catalog` lists our entries and nothing else.
#[test]
fn journalctl_compiles_the_catalog() {
    let scratch = std::env::temp_dir().join(format!("kmod-ready-catalog-{}", std::process::id()));
    let dir = scratch.join("usr/lib/systemd/catalog");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(CATALOG, dir.join("kmod-ready.catalog")).unwrap();
    let run = |arg: &str| {
        Command::new("journalctl")
            .arg("--root")
            .arg(&scratch)
            .arg(arg)
            .output()
    };
    let update = match run("--update-catalog") {
        Ok(out) => out,
        Err(err) => {
            let _ = std::fs::remove_dir_all(&scratch);
            return common::skip(
                "journalctl --update-catalog",
                &format!("no journalctl: {err}"),
            );
        }
    };
    let list = run("--list-catalog").unwrap();
    let _ = std::fs::remove_dir_all(&scratch);
    let err = String::from_utf8_lossy(&update.stderr);
    assert!(
        update.status.success() && err.is_empty(),
        "--update-catalog: {err}"
    );
    let listed: BTreeSet<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|line| line.split(' ').next().unwrap().to_string())
        .collect();
    let ids: BTreeSet<String> = message_ids().into_values().collect();
    assert_eq!(
        listed,
        ids,
        "--list-catalog: {}",
        String::from_utf8_lossy(&list.stdout)
    );
}
