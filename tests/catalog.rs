//! The journal catalog that `journalctl -x` shows below our entries: one
//! entry for each MESSAGE_ID of src/logging.rs and no other, each complete,
//! a file that journalctl itself compiles, and shown by `journalctl -x`
//! below the entries a real journald received from us. Skipped, with the
//! reason, where a mount namespace or journald is missing (a failure under
//! `CI=true`).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::catalog::{entries, message_ids, CATALOG};
use common::FixtureRoot;

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

/// What an admin sees: a real journald, in a private mount namespace with
/// our compiled catalog where journalctl looks for it, receives the entries
/// of a failed and of a successful run; `journalctl -x` shows the catalog's
/// text, its fields filled in, right below each of our lines.
#[test]
fn journalctl_x_explains_our_entries() {
    let Some(shown) = journal_x_view() else {
        return;
    };
    let failed = "krtest_missing: not found in /lib/modules/6.1.0-test";
    assert_explained(
        &shown,
        failed,
        "Kernel module krtest_missing could not be loaded",
    );
    assert!(shown.contains(" 6.1.0-test. The message above"), "{shown}");
    assert_explained(
        &shown,
        "nf_conntrack ready in ",
        "Kernel modules ready: nf_conntrack",
    );
}

/// The line holding `line` is followed by `░░ Subject: {subject}` (`-- `
/// instead of `░░ ` outside a UTF-8 locale).
fn assert_explained(shown: &str, line: &str, subject: &str) {
    let lines: Vec<&str> = shown.lines().collect();
    let at = lines.iter().position(|l| l.contains(line));
    let next = at
        .and_then(|at| lines.get(at + 1))
        .copied()
        .unwrap_or_default();
    let text = next
        .strip_prefix("░░ ")
        .or_else(|| next.strip_prefix("-- "));
    let subject = format!("Subject: {subject}");
    assert_eq!(text, Some(subject.as_str()), "{shown}");
}

/// Runs the two cases under a private journald and returns `journalctl -x`.
fn journal_x_view() -> Option<String> {
    let journald = Path::new("/lib/systemd/systemd-journald");
    let database = Path::new("/var/lib/systemd/catalog/database");
    if !journald.exists() || !database.exists() {
        common::skip(
            "journalctl -x",
            "no systemd-journald or no catalog database to stand in for",
        );
        return None;
    }
    let failing = FixtureRoot::new("unknown-module");
    let ready = FixtureRoot::new("already-ready");
    let catalog = failing.path.join("catalog");
    std::fs::create_dir_all(catalog.join("usr/lib/systemd/catalog")).unwrap();
    std::fs::copy(
        CATALOG,
        catalog.join("usr/lib/systemd/catalog/kmod-ready.catalog"),
    )
    .unwrap();
    let compiled = Command::new("journalctl")
        .arg("--root")
        .arg(&catalog)
        .arg("--update-catalog")
        .status();
    assert!(compiled.is_ok_and(|s| s.success()));
    // journald keeps entries in /run/log/journal until asked to flush them;
    // the tmpfs over /var/log/journal keeps them off the host all the same.
    let script = r#"set -e
mount -t tmpfs none /run
mkdir -p /run/systemd/journal /run/log/journal
if [ -d /var/log/journal ]; then mount -t tmpfs none /var/log/journal; fi
mount --bind "$CATALOG/var/lib/systemd/catalog/database" /var/lib/systemd/catalog/database
"$JOURNALD" >/dev/null 2>&1 &
trap 'kill $!' EXIT
for i in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
KMOD_READY_ROOT="$FAILING" "$BIN" --log=journal krtest_missing || true
KMOD_READY_ROOT="$READY" "$BIN" --log=journal nf_conntrack
for i in $(seq 100); do
    [ "$(journalctl -D /run/log/journal -t kmod-ready -o cat | wc -l)" -ge 2 ] && break
    sleep 0.05
done
SYSTEMD_COLORS=0 journalctl -D /run/log/journal -x --no-pager -t kmod-ready"#;
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "--", "sh", "-c", script])
        .env("CATALOG", &catalog)
        .env("JOURNALD", journald)
        .env("FAILING", &failing.path)
        .env("READY", &ready.path)
        .env("BIN", common::BIN)
        .output()
        .unwrap();
    let err = common::stderr(&out);
    if err.contains("unshare failed") || err.contains("unshare:") {
        common::skip(
            "journalctl -x",
            &format!("cannot make a mount namespace: {err}"),
        );
        return None;
    }
    assert!(out.status.success(), "{err}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}
