//! Docs that point instead of repeating: `kmod-ready check --json` and its
//! schema in kmod-ready-check(8) agree (every key the program emits, run on
//! every check-fixtures case, is documented, and every key documented is
//! emitted), the command lines they show are ones the program takes, and the
//! README stays short, the metrics of `check --prometheus` are those
//! kmod-ready-check(8) lists, and tests/README.md names exactly the marker files
//! the test harness reads, and the man pages' SYNOPSIS and OPTIONS name
//! the options clap takes. The exit-status table is checked beside its
//! source, in src/status/tests.rs.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use common::CHECK_CASES;

const MAN_PAGE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/packaging/man/kmod-ready-check.8.md"
);

/// The keys of a report, as the man page names them (`kernel.release`,
/// `modules[].paths[].path`); `containers` gets those that hold objects.
fn walk(value: &Value, path: &str, keys: &mut BTreeSet<String>, containers: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if !path.is_empty() {
                containers.insert(path.to_string());
            }
            for (key, child) in map {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                keys.insert(child_path.clone());
                walk(child, &child_path, keys, containers);
            }
        }
        Value::Array(items) => {
            for item in items.iter().filter(|i| i.is_object()) {
                containers.insert(path.to_string());
                walk(item, &format!("{path}[]"), keys, containers);
            }
        }
        _ => {}
    }
}

/// The leaf keys `check --json` emits over every fixture case.
fn emitted() -> BTreeSet<String> {
    let (mut keys, mut containers) = (BTreeSet::new(), BTreeSet::new());
    for case in CHECK_CASES.case_names() {
        let root = common::FixtureRoot::from_cases(&CHECK_CASES, &case);
        let args = common::case_lines(&CHECK_CASES.case_dir(&case), common::ARGS);
        let out = common::kmod_ready()
            .env("KMOD_READY_ROOT", &root.path)
            .args(["check", "--json"])
            .args(&args)
            .output()
            .unwrap();
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|err| panic!("{case}: not JSON ({err}): {}", common::stderr(&out)));
        walk(&report, "", &mut keys, &mut containers);
    }
    let containers: BTreeSet<String> = containers
        .iter()
        .flat_map(|c| [c.clone(), format!("{c}[]")])
        .collect();
    keys.difference(&containers).cloned().collect()
}

/// The keys the JSON section documents: each `**term**` of a definition
/// list, and `**{a, b}**` in a definition as the fields of its term's items.
fn documented() -> BTreeSet<String> {
    let page = std::fs::read_to_string(MAN_PAGE).unwrap();
    let (_, section) = page.split_once("\n# JSON\n").expect("a JSON section");
    let section = section.split("\n# ").next().unwrap();
    let bold = |line: &str| -> Vec<String> {
        line.split("**")
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let lines: Vec<&str> = section.lines().collect();
    let mut keys = BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        let is_term =
            line.starts_with("**") && lines.get(i + 1).is_some_and(|n| n.starts_with(":   "));
        if !is_term {
            continue;
        }
        let terms = bold(line);
        let definition: Vec<String> = lines[i + 1..]
            .iter()
            .take_while(|l| l.starts_with(":   ") || l.starts_with("    "))
            .flat_map(|l| bold(l))
            .filter_map(|b| Some(b.strip_prefix('{')?.strip_suffix('}')?.to_string()))
            .collect();
        for term in terms {
            match definition.first() {
                Some(fields) => keys.extend(fields.split(", ").map(|f| format!("{term}.{f}"))),
                None => {
                    keys.insert(term);
                }
            }
        }
    }
    keys
}

#[test]
fn check_json_keys_are_the_documented_ones() {
    let (emitted, documented) = (emitted(), documented());
    let undocumented: Vec<&String> = emitted.difference(&documented).collect();
    let never_emitted: Vec<&String> = documented.difference(&emitted).collect();
    assert!(
        undocumented.is_empty() && never_emitted.is_empty(),
        "kmod-ready-check(8) JSON: undocumented keys {undocumented:?}, documented but never emitted {never_emitted:?}"
    );
    assert!(emitted.len() > 30, "keys went missing: {emitted:?}");
}

/// Each metric `check --prometheus` prints over every fixture case, with
/// its label names: `kmod_ready_ready: boot, kernel`.
fn emitted_metrics() -> BTreeSet<String> {
    let mut metrics = BTreeSet::new();
    for case in CHECK_CASES.case_names() {
        let text = std::fs::read_to_string(CHECK_CASES.case_dir(&case).join("expected.prom"))
            .unwrap_or_else(|err| panic!("{case}/expected.prom: {err}"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let series = line.rsplit_once(' ').map_or(line, |(series, _)| series);
            let (name, labels) = series.split_once('{').unwrap_or((series, "}"));
            let labels: Vec<&str> = labels
                .trim_end_matches('}')
                .split(',')
                .filter_map(|pair| pair.split_once('=').map(|(label, _)| label))
                .collect();
            metrics.insert(if labels.is_empty() {
                name.to_string()
            } else {
                format!("{name}: {}", labels.join(", "))
            });
        }
    }
    metrics
}

/// The METRICS section of kmod-ready-check(8).
fn metrics_section() -> String {
    let page = std::fs::read_to_string(MAN_PAGE).unwrap();
    let (_, section) = page.split_once("\n# METRICS\n").expect("a METRICS section");
    section.split("\n# ").next().unwrap().to_string()
}

/// Each metric the METRICS section documents: a definition-list term
/// `**NAME**: *label*, *label*`.
fn documented_metrics() -> BTreeSet<String> {
    let section = metrics_section();
    let lines: Vec<&str> = section.lines().collect();
    lines
        .windows(2)
        .filter(|pair| pair[1].starts_with(":   "))
        .filter_map(|pair| pair[0].strip_prefix("**kmod_ready_"))
        .map(|term| format!("kmod_ready_{}", term.replace('*', "")))
        .collect()
}

/// The expected.prom golden files hold what the binary prints (tests/check.rs
/// compares them), so they stand for it here.
#[test]
fn metrics_are_the_documented_ones() {
    let (emitted, documented) = (emitted_metrics(), documented_metrics());
    assert_eq!(
        emitted, documented,
        "kmod-ready-check(8) METRICS (right) against what check --prometheus prints (left)"
    );
    // Every metric is declared (# HELP) whatever the case, a ready one too.
    let ready =
        std::fs::read_to_string(CHECK_CASES.case_dir("ready").join("expected.prom")).unwrap();
    let declared: BTreeSet<&str> = ready
        .lines()
        .filter_map(|l| l.strip_prefix("# HELP ")?.split(' ').next())
        .collect();
    let names: BTreeSet<&str> = emitted
        .iter()
        .map(|m| m.split(':').next().unwrap())
        .collect();
    assert_eq!(
        names, declared,
        "metric names against the HELP lines printed"
    );
}

/// The series shown in METRICS are a fixture's, without its comments.
#[test]
fn metrics_example_is_the_fixture_output() {
    let section = metrics_section();
    let (_, after) = section
        .split_once("(*tests/check-fixtures/")
        .expect("METRICS names the fixture of its example");
    let case = after.split('*').next().unwrap();
    let shown: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("    kmod_ready_"))
        .collect();
    let golden = std::fs::read_to_string(CHECK_CASES.case_dir(case).join("expected.prom")).unwrap();
    let series: Vec<&str> = golden
        .lines()
        .filter_map(|l| l.strip_prefix("kmod_ready_"))
        .collect();
    assert_eq!(
        shown, series,
        "kmod-ready-check(8) METRICS example against {case}/expected.prom"
    );
}

/// The README is the short version; the long parts are the man pages and
/// docs/fleet.md.
#[test]
fn readme_is_at_most_10_kb() {
    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let size = std::fs::metadata(readme).unwrap().len();
    assert!(size <= 10 * 1024, "README.md is {size} bytes");
}

/// The kmod-ready command lines in the code blocks of `text` (indented by
/// four spaces, or fenced), without a leading "$ ".
fn documented_commands(text: &str) -> Vec<Vec<String>> {
    let mut fenced = false;
    let mut commands = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced && !line.starts_with("    ") {
            continue;
        }
        let code = line.trim_start();
        let code = code.strip_prefix("$ ").unwrap_or(code);
        if let Some(args) = code.strip_prefix("kmod-ready ") {
            commands.push(args.split_whitespace().map(str::to_string).collect());
        }
    }
    commands
}

/// Every command line the README and the man pages show is one the program
/// takes: run on a fixture root, none ends in a usage error (status 64).
#[test]
fn documented_command_lines_are_accepted() {
    let docs = [
        "README.md",
        "packaging/man/kmod-ready.8.md",
        "packaging/man/kmod-ready-check.8.md",
    ];
    let root = common::FixtureRoot::new("already-ready");
    let mut shown = 0;
    for doc in docs {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(doc)).unwrap();
        for args in documented_commands(&text) {
            shown += 1;
            let out = root
                .environment(&mut common::kmod_ready())
                .args(&args)
                .output()
                .unwrap();
            let err = common::stderr(&out);
            assert_ne!(
                out.status.code(),
                Some(64),
                "{doc}: kmod-ready {}: {err}",
                args.join(" ")
            );
        }
    }
    // The three of kmod-ready(8)'s EXAMPLES, and the README's and
    // kmod-ready-check(8)'s `check`.
    assert!(shown >= 5, "found only {shown} command lines");
}

/// The markers tests/README.md documents: the first `code` of each item of
/// its "Markers" section.
fn documented_markers(guide: &str) -> BTreeSet<String> {
    let (_, section) = guide
        .split_once("\n## Markers\n")
        .expect("tests/README.md has a \"## Markers\" section");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter_map(|line| line.strip_prefix("- `"))
        .filter_map(|item| item.split_once('`'))
        .map(|(name, _)| name.to_string())
        .collect()
}

/// tests/README.md documents every marker file the harness reads and no
/// other, and names the files every case holds.
#[test]
fn test_guide_names_the_markers_the_harness_reads() {
    let guide = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/README.md");
    let guide = std::fs::read_to_string(guide).unwrap();
    let read: BTreeSet<String> = common::SUITES
        .iter()
        .flat_map(|suite| suite.markers.iter().map(|m| m.to_string()))
        .collect();
    let documented = documented_markers(&guide);
    let undocumented: Vec<&String> = read.difference(&documented).collect();
    let unread: Vec<&String> = documented.difference(&read).collect();
    assert!(
        undocumented.is_empty() && unread.is_empty(),
        "tests/README.md: markers not documented {undocumented:?}, documented but read by no test {unread:?}"
    );
    for file in common::SUITES.iter().flat_map(|suite| suite.files()) {
        let shown = if file == common::ROOT_DIR {
            format!("`{file}/`")
        } else {
            format!("`{file}`")
        };
        assert!(
            guide.contains(&shown),
            "tests/README.md does not name {shown}"
        );
    }
}

/// The long options a `--help` lists, without `--help` and `--version`.
fn clap_options(args: &[&str]) -> BTreeSet<String> {
    let out = common::kmod_ready().args(args).output().unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with('-'))
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("--")))
        .map(|w| w.trim_end_matches(['.', ',']).to_string())
        .filter(|w| w != "--help" && w != "--version")
        .collect()
}

/// A section of a man page's source, up to the next `# ` heading.
fn man_section(page: &str, heading: &str) -> String {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(page)).unwrap();
    let start = text
        .find(&format!("# {heading}\n"))
        .unwrap_or_else(|| panic!("{page} has no {heading}"));
    let rest = &text[start + heading.len() + 3..];
    rest[..rest.find("\n# ").unwrap_or(rest.len())].to_string()
}

/// The `**--option**` of some lines of a man page's source.
fn bold_options<'a>(lines: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    lines
        .flat_map(|l| l.split("**").skip(1).step_by(2))
        .flat_map(str::split_whitespace)
        .filter(|w| w.starts_with("--"))
        .map(str::to_string)
        .collect()
}

#[test]
fn man_page_synopses_name_the_options_clap_takes() {
    let check = clap_options(&["check", "--help"]);
    let load = clap_options(&["--help"]);
    assert!(check.contains("--next-boot") && load.contains("--timeout"));
    let check_page = man_section("packaging/man/kmod-ready-check.8.md", "SYNOPSIS");
    let main_page = man_section("packaging/man/kmod-ready.8.md", "SYNOPSIS");
    let check_lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("**kmod-ready check"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        check_lines(&main_page),
        check_lines(&check_page),
        "kmod-ready(8) shows check as kmod-ready-check(8) does"
    );
    assert_eq!(
        bold_options(check_page.lines()),
        check,
        "kmod-ready-check(8)'s SYNOPSIS"
    );
    for (page, options) in [
        ("packaging/man/kmod-ready-check.8.md", &check),
        ("packaging/man/kmod-ready.8.md", &load),
    ] {
        let documented = bold_options(
            man_section(page, "OPTIONS")
                .lines()
                .filter(|l| l.starts_with("**-")),
        );
        let missing: Vec<_> = options.difference(&documented).collect();
        assert!(missing.is_empty(), "{page}'s OPTIONS lack {missing:?}");
    }
}
