//! What docs/fleet.md promises about the fleet tools, checked against the
//! binary: the node-problem-detector configuration the packages install
//! (docs/node-problem-detector.json), the `check --npd` output the page
//! shows, and the exit statuses of the kured sentinel command it documents,
//! read from the page itself.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use common::{FixtureRoot, CHECK_CASES};

const FLEET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/fleet.md");
const NPD_CONFIG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/docs/node-problem-detector.json"
);

/// Where the packages install kmod-ready (tests/packaging/run checks it).
const INSTALLED_BIN: &str = "/usr/sbin/kmod-ready";

/// NPD's default `max_output_length`: where it cuts a plugin's output.
const NPD_MAX_OUTPUT: u64 = 80;

/// The fields of a custom plugin monitor's configuration that NPD
/// documents: docs/custom_plugin_monitor.md in kubernetes/node-problem-detector
/// ("Plugin Config", "Rule Config" and its annotated example), and, for a
/// rule's `args`, the documented JSON fields of `CustomRule` in its
/// pkg/custompluginmonitor/types/types.go.
const TOP_FIELDS: &[&str] = &[
    "plugin",
    "pluginConfig",
    "source",
    "metricsReporting",
    "conditions",
    "rules",
];
const PLUGIN_CONFIG_FIELDS: &[&str] = &[
    "invoke_interval",
    "timeout",
    "max_output_length",
    "concurrency",
    "enable_message_change_based_condition_update",
    "skip_initial_status",
];
const CONDITION_FIELDS: &[&str] = &["type", "reason", "message"];
const RULE_FIELDS: &[&str] = &[
    "type",
    "condition",
    "reason",
    "path",
    "args",
    "timeout",
    "invoke_interval",
];

fn npd_config() -> Value {
    let text = std::fs::read_to_string(NPD_CONFIG).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{NPD_CONFIG}: not JSON: {err}"))
}

/// The keys of `object` that NPD does not document at that place.
fn unknown_fields(object: &Value, known: &[&str], at: &str) -> Vec<String> {
    let map = object
        .as_object()
        .unwrap_or_else(|| panic!("{at} is not an object"));
    map.keys()
        .filter(|key| !known.contains(&key.as_str()))
        .map(|key| format!("{at}.{key}"))
        .collect()
}

/// Go's durations as the configuration writes them: whole seconds or
/// minutes.
fn seconds(duration: &Value) -> u64 {
    let text = duration.as_str().expect("a duration string");
    let (number, unit) = text.split_at(text.len() - 1);
    let number: u64 = number.parse().unwrap_or_else(|_| panic!("{text}"));
    match unit {
        "s" => number,
        "m" => number * 60,
        _ => panic!("{text}: write it in s or m"),
    }
}

#[test]
fn npd_config_uses_only_documented_fields() {
    let config = npd_config();
    let mut unknown = unknown_fields(&config, TOP_FIELDS, "config");
    unknown.extend(unknown_fields(
        &config["pluginConfig"],
        PLUGIN_CONFIG_FIELDS,
        "pluginConfig",
    ));
    for condition in config["conditions"].as_array().unwrap() {
        unknown.extend(unknown_fields(condition, CONDITION_FIELDS, "conditions[]"));
    }
    for rule in config["rules"].as_array().unwrap() {
        unknown.extend(unknown_fields(rule, RULE_FIELDS, "rules[]"));
    }
    assert!(
        unknown.is_empty(),
        "fields NPD does not document: {unknown:?}"
    );
}

/// What NPD's own validation refuses, and what our line needs: the custom
/// plugin, a default condition for each permanent rule, no rule timeout
/// above the global one, an output length that keeps our whole line; one
/// rule for now and one for the next boot, each with its own condition.
#[test]
fn npd_config_is_valid_for_npd_and_watches_now_and_next_boot() {
    let config = npd_config();
    assert_eq!(config["plugin"], "custom");
    let plugin = &config["pluginConfig"];
    assert_eq!(plugin["max_output_length"].as_u64(), Some(NPD_MAX_OUTPUT));
    let global_timeout = seconds(&plugin["timeout"]);
    assert!(seconds(&plugin["invoke_interval"]) > global_timeout);
    let conditions: Vec<&str> = config["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    let rules = config["rules"].as_array().unwrap();
    let mut watched = Vec::new();
    for rule in rules {
        assert_eq!(rule["type"], "permanent", "{rule}");
        assert_eq!(rule["path"], INSTALLED_BIN, "{rule}");
        assert!(seconds(&rule["timeout"]) <= global_timeout, "{rule}");
        let condition = rule["condition"].as_str().unwrap();
        assert!(conditions.contains(&condition), "{rule}: no such condition");
        watched.push((rule_args(rule), condition));
    }
    assert_eq!(
        watched
            .iter()
            .map(|(args, _)| args.clone())
            .collect::<Vec<_>>(),
        [
            vec!["check", "--npd"],
            vec!["check", "--npd", "--next-boot"]
        ]
    );
    assert_ne!(watched[0].1, watched[1].1, "one condition each");
    assert_eq!(conditions.len(), 2);
}

/// A rule's `args`, as NPD passes them to its `path`.
fn rule_args(rule: &serde_json::Value) -> Vec<&str> {
    rule["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect()
}

/// Each rule, run as NPD runs it (its path replaced by the binary under
/// test), on a node that is ready now and will not be after the reboot:
/// the first condition stays clear and the second one is set.
#[test]
fn npd_rules_report_now_and_next_boot_apart() {
    let config = npd_config();
    let root = FixtureRoot::from_cases(&CHECK_CASES, "next-boot-grub-next-entry");
    let mut statuses = Vec::new();
    for rule in config["rules"].as_array().unwrap() {
        let args = rule_args(rule);
        let out = root
            .environment(&mut common::kmod_ready())
            .args(&args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout.lines().count(), 1, "{args:?}: {stdout:?}");
        statuses.push(out.status.code());
    }
    assert_eq!(statuses, [Some(0), Some(1)]);
}

/// docs/fleet.md names the configuration's conditions, and its DaemonSet
/// rule runs the first rule's command through nsenter.
#[test]
fn fleet_page_agrees_with_the_npd_config() {
    let page = std::fs::read_to_string(FLEET).unwrap();
    let config = npd_config();
    for condition in config["conditions"].as_array().unwrap() {
        let name = condition["type"].as_str().unwrap();
        assert!(
            page.contains(&format!("`{name}`")),
            "docs/fleet.md does not name {name}"
        );
    }
    let (_, block) = page.split_once("```json\n").expect("the DaemonSet rule");
    let block = block
        .split("```")
        .next()
        .unwrap()
        .trim()
        .trim_end_matches(',');
    let rule: Value = serde_json::from_str(&format!("{{{block}}}")).expect("a rule's fields");
    assert_eq!(rule["path"], "/usr/bin/nsenter");
    let args = rule["args"].as_array().unwrap();
    let first = &config["rules"][0];
    let tail = first["args"].as_array().unwrap();
    assert_eq!(args[args.len() - tail.len() - 1], first["path"], "{block}");
    assert_eq!(&args[args.len() - tail.len()..], &tail[..], "{block}");
}

/// A block of docs/fleet.md that shows output: its fixture, and its text.
struct OutputBlock {
    fixture: String,
    /// Byte range of the block's text (between the fences) in the page.
    range: std::ops::Range<usize>,
}

/// The ```console blocks that follow a `<!-- check-fixture: NAME -->` line.
fn output_blocks(page: &str) -> Vec<OutputBlock> {
    let marker = "<!-- check-fixture: ";
    let mut blocks = Vec::new();
    for (at, _) in page.match_indices(marker) {
        let rest = &page[at + marker.len()..];
        let fixture = rest.split(" -->").next().unwrap().to_string();
        let open = "```console\n";
        let start = at + marker.len() + rest.find(open).expect("a ```console block") + open.len();
        let end = start + page[start..].find("```\n").expect("the block's end");
        blocks.push(OutputBlock {
            fixture,
            range: start..end,
        });
    }
    blocks
}

/// The block as the binary writes it today: each `$ kmod-ready ARGS; echo
/// "exit $?"` line of `shown`, followed by its output and status.
fn rerun(block: &OutputBlock, shown: &str) -> String {
    let root = FixtureRoot::from_cases(&CHECK_CASES, &block.fixture);
    let mut text = String::new();
    for line in shown.lines().filter(|l| l.starts_with("$ ")) {
        let command = line
            .strip_prefix("$ kmod-ready ")
            .and_then(|c| c.strip_suffix("; echo \"exit $?\""))
            .unwrap_or_else(|| {
                panic!(
                    "{}: not `$ kmod-ready ARGS; echo \"exit $?\"`: {line}",
                    block.fixture
                )
            });
        let out = root
            .environment(&mut common::kmod_ready())
            .args(command.split_whitespace())
            .output()
            .unwrap();
        assert!(out.stderr.is_empty(), "{line}: {}", common::stderr(&out));
        let stdout = common::normalise(&String::from_utf8_lossy(&out.stdout), &root.path);
        let status = out
            .status
            .code()
            .map_or("signal".to_string(), |c| c.to_string());
        text.push_str(&format!("{line}\n{stdout}exit {status}\n"));
    }
    text
}

/// The output docs/fleet.md shows is what the binary prints on those
/// fixtures; `KMOD_READY_BLESS=1` rewrites the blocks instead.
#[test]
fn fleet_page_shows_real_output() {
    let page = std::fs::read_to_string(FLEET).unwrap();
    let blocks = output_blocks(&page);
    assert!(blocks.len() >= 3, "docs/fleet.md lost its output blocks");
    let mut updated = page.clone();
    let mut errors = Vec::new();
    // From the last, so that the ranges of the others stay right.
    for block in blocks.iter().rev() {
        let shown = &page[block.range.clone()];
        let actual = rerun(block, shown);
        if actual != shown {
            errors.push(format!(
                "{}:\n--- shown\n{shown}+++ actual\n{actual}",
                block.fixture
            ));
            updated.replace_range(block.range.clone(), &actual);
        }
    }
    if common::blessing() {
        std::fs::write(FLEET, updated).unwrap();
    } else {
        assert!(errors.is_empty(), "docs/fleet.md:\n{}", errors.join("\n"));
    }
}

/// The kured sentinel of docs/fleet.md: the value of
/// `rebootSentinelCommand:` in its Helm values, split into words as kured
/// splits it (github.com/google/shlex, which agrees with POSIX quoting on
/// single quotes, the only ones the command may use).
fn sentinel_argv() -> Vec<String> {
    let page = std::fs::read_to_string(FLEET).unwrap();
    let key = "rebootSentinelCommand: ";
    let lines: Vec<&str> = page
        .lines()
        .filter(|l| l.trim_start().starts_with(key))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "docs/fleet.md shows one sentinel: {lines:?}"
    );
    let value = lines[0].trim_start().strip_prefix(key).unwrap();
    let command = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .expect("a YAML double-quoted string");
    assert!(
        !command.contains(['\\', '"']),
        "no escapes: YAML and shlex read them apart"
    );
    shlex::split(command).expect("kured can split it")
}

/// Runs the sentinel's words as kured runs them on the host, in a private
/// mount namespace where `/usr/sbin` holds only the binaries under test,
/// as the packages install them (unless `installed` is false) and `/var/run` is empty but for
/// `reboot-required` when `required`; `system` is the root kmod-ready reads.
fn run_sentinel(argv: &[String], system: &Path, required: bool, installed: bool) -> Option<Output> {
    let run_dir = std::fs::canonicalize("/var/run").unwrap();
    let sbin = std::fs::canonicalize(Path::new(INSTALLED_BIN).parent().unwrap()).unwrap();
    let script = r#"mount -t tmpfs none "$RUN_DIR" && mount -t tmpfs none "$SBIN" &&
        if [ -n "$REQUIRED" ]; then : > "$RUN_DIR/reboot-required"; fi &&
        if [ -n "$INSTALLED" ]; then
            : > "$SBIN/kmod-ready" && mount --bind "$BIN" "$SBIN/kmod-ready" &&
            : > "$SBIN/kmod-ready-check" && mount --bind "$CHECK_BIN" "$SBIN/kmod-ready-check"
        fi &&
        exec "$@""#;
    let mut command = Command::new("unshare");
    command
        .args([
            "-m",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            script,
            "sh",
        ])
        .args(argv)
        .env("RUN_DIR", run_dir)
        .env("SBIN", sbin)
        .env("REQUIRED", if required { "1" } else { "" })
        .env("INSTALLED", if installed { "1" } else { "" })
        .env("BIN", common::BIN)
        .env("CHECK_BIN", common::CHECK_BIN)
        .env("KMOD_READY_ROOT", system)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = match command.output() {
        Ok(out) => out,
        Err(err) => {
            common::skip("kured sentinel", &format!("cannot run unshare: {err}"));
            return None;
        }
    };
    let err = common::stderr(&out);
    if err.starts_with("unshare:") || err.starts_with("mount:") {
        common::skip(
            "kured sentinel",
            &format!("cannot make a private mount namespace here: {err}"),
        );
        return None;
    }
    Some(out)
}

/// kured reboots when the sentinel exits 0: only when a reboot is required
/// and the next boot is ready; any other case, errors included, is not 0.
#[test]
fn kured_sentinel_reboots_only_into_a_ready_next_boot() {
    let argv = sentinel_argv();
    assert!(
        argv.iter().any(|word| word.contains(INSTALLED_BIN)),
        "the sentinel runs {INSTALLED_BIN}: {argv:?}"
    );
    let ready = FixtureRoot::from_cases(&CHECK_CASES, "next-boot-grub-default");
    let not_ready = FixtureRoot::from_cases(&CHECK_CASES, "next-boot-grub-next-entry");
    let unreadable = ready.path.join("no-such-root");
    let cases = [
        (
            "required, next boot ready",
            &ready.path,
            true,
            true,
            Some(0),
        ),
        (
            "not required, next boot ready",
            &ready.path,
            false,
            true,
            Some(1),
        ),
        (
            "required, next boot not ready",
            &not_ready.path,
            true,
            true,
            Some(1),
        ),
        (
            "required, system unreadable",
            &unreadable,
            true,
            true,
            Some(66),
        ),
        (
            "required, kmod-ready not installed",
            &ready.path,
            true,
            false,
            Some(127),
        ),
    ];
    for (case, system, required, installed, expected) in cases {
        let Some(out) = run_sentinel(&argv, system, required, installed) else {
            return;
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            expected,
            "{case}: {stdout}{}",
            common::stderr(&out)
        );
    }
}
