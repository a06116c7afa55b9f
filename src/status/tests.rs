//! The exit statuses have one source, [`Status`]. The `--help` tables, the
//! EXIT STATUS sections of both man pages and the README must agree with
//! it: each lists exactly the codes its command can exit with.

use std::collections::BTreeSet;

use super::*;

const MAN_LOAD: &str = include_str!("../../packaging/man/kmod-ready.8.md");
const MAN_CHECK: &str = include_str!("../../packaging/man/kmod-ready-check.8.md");
const README: &str = include_str!("../../README.md");

/// Every status; a new variant does not compile until it is listed here.
fn every() -> Vec<Status> {
    use Status::*;
    let all = vec![
        Ready,
        NotReady,
        Usage,
        Unreadable,
        Unavailable,
        OutputFailed,
        TimedOut,
        NotPermitted,
        BadConfig,
    ];
    for status in &all {
        match status {
            Ready | NotReady | Usage | Unreadable | Unavailable | OutputFailed | TimedOut
            | NotPermitted | BadConfig => {}
        }
    }
    all
}

fn codes(statuses: impl IntoIterator<Item = Status>) -> BTreeSet<u8> {
    statuses.into_iter().map(Status::code).collect()
}

/// `kmod-ready MODULE...` exits with every status but check's own.
fn load_codes() -> BTreeSet<u8> {
    codes(
        every()
            .into_iter()
            .filter(|s| !matches!(s, Status::NotReady | Status::Unreadable)),
    )
}

fn check_codes() -> BTreeSet<u8> {
    codes([
        Status::Ready,
        Status::NotReady,
        Status::Usage,
        Status::Unreadable,
        Status::OutputFailed,
    ])
}

fn numbers(text: &str) -> BTreeSet<u8> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// The `**N**` terms of a man page's EXIT STATUS section.
fn man_codes(page: &str) -> BTreeSet<u8> {
    let (_, section) = page
        .split_once("\n# EXIT STATUS\n")
        .expect("an EXIT STATUS section");
    let section = section.split("\n# ").next().unwrap();
    section
        .lines()
        .filter_map(|l| l.strip_prefix("**")?.strip_suffix("**")?.parse().ok())
        .collect()
}

#[test]
fn help_lists_each_status_once() {
    let (table, check_line) = EXIT_STATUS_HELP.split_once("\nkmod-ready check ").unwrap();
    let rows: Vec<u8> = table
        .lines()
        .filter_map(|l| l.trim_start().split("  ").next()?.parse().ok())
        .collect();
    assert_eq!(
        rows.iter().copied().collect::<BTreeSet<u8>>(),
        load_codes(),
        "{table}"
    );
    assert_eq!(
        rows.len(),
        load_codes().len(),
        "a code listed twice: {table}"
    );
    assert_eq!(numbers(check_line), check_codes(), "{check_line}");
    assert_eq!(numbers(CHECK_EXIT_STATUS_HELP), check_codes());
}

#[test]
fn man_pages_list_the_statuses_of_their_command() {
    let every_code = codes(every());
    assert_eq!(man_codes(MAN_LOAD), every_code, "kmod-ready(8)");
    assert_eq!(man_codes(MAN_CHECK), check_codes(), "kmod-ready-check(8)");
}

/// The README points to `--help` and kmod-ready(8) instead of keeping a
/// third table; any status it names in passing exists.
#[test]
fn readme_points_to_the_table_and_names_only_real_statuses() {
    assert!(README.contains("`kmod-ready --help`") && README.contains("`kmod-ready(8)`"));
    let every_code = codes(every());
    for line in README.lines() {
        let first = line.trim_start_matches([' ', '|', '*', '`', '-']);
        let row = first.split([' ', '|', '*', '`']).next().unwrap_or_default();
        assert!(
            !row.parse::<u8>()
                .is_ok_and(|n| every_code.contains(&n) && n > 1),
            "the README keeps a copy of the exit-status table: {line}"
        );
        for prefix in ["exit status ", "exits ", "status="] {
            for (_, after) in line.match_indices(prefix).map(|(at, _)| line.split_at(at)) {
                let named = after[prefix.len()..]
                    .split(|c: char| !c.is_ascii_digit())
                    .next();
                if let Some(code) = named.and_then(|n| n.parse::<u8>().ok()) {
                    assert!(
                        every_code.contains(&code),
                        "the README names status {code}: {line}"
                    );
                }
            }
        }
    }
}
