//! The parsers of each argument, apart from the command line they serve:
//! each takes one raw value and returns it or a one-line reason, so they
//! are tested (and fuzzed, parse_duration) without clap.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Waiting longer than this at boot is a mistake, not a setting.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// The longest alias the kernel or modprobe.d could ask for is far below this.
pub(crate) const MAX_NAME_LEN: usize = 255;

/// A character an argument cannot hold, named without a backslash: the
/// line it is in is escaped as a whole (logging::escape_controls), and an
/// escape inside it would be escaped twice.
fn char_name(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        '\t' => "a tab".into(),
        '\n' => "a newline".into(),
        '\r' => "a carriage return".into(),
        c => format!("U+{:04X}", c as u32),
    }
}

/// Accepts a module name or alias as modprobe would take it, and nothing
/// that could name a path or break a log line.
pub(crate) fn parse_module_name(raw: &std::ffi::OsStr) -> Result<String, String> {
    let name = raw
        .to_str()
        .ok_or_else(|| "module names must be valid UTF-8".to_string())?;
    if name.is_empty() {
        return Err("module name is empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("module name is longer than {MAX_NAME_LEN} bytes"));
    }
    if name == "." || name == ".." || name.contains('/') {
        return Err("a module name is not a path: give the name, e.g. nf_conntrack".into());
    }
    if let Some(bad) = name.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("module names cannot contain {}", char_name(bad)));
    }
    if name.starts_with('-') {
        return Err("module names cannot start with '-'".into());
    }
    if let Some(unpaired) = unpaired_bracket(name) {
        let what = match unpaired {
            '[' => "'[' is never closed",
            _ => "']' closes no '['",
        };
        return Err(format!(
            "{what}: a module name has only letters, digits, '_' and '-', and an alias's \
             brackets come in pairs ([0-9]), as libkmod requires"
        ));
    }
    Ok(name.to_string())
}

/// The bracket that libkmod's lookup refuses (EINVAL) in a name: a `]`
/// outside a `[...]`, or a `[` with no `]` after it.
fn unpaired_bracket(name: &str) -> Option<char> {
    let mut rest = name;
    while let Some(at) = rest.find(['[', ']']) {
        if rest[at..].starts_with(']') {
            return Some(']');
        }
        let after = &rest[at + 1..];
        let Some(close) = after.find(']') else {
            return Some('[');
        };
        rest = &after[close + 1..];
    }
    None
}

/// A module to load: any module name except the name of a subcommand,
/// which lands here when an option comes before it (`kmod-ready -v check`).
pub(super) fn parse_load_module(raw: &std::ffi::OsStr) -> Result<String, String> {
    if raw == "check" {
        return Err(
            "'check' is a command and comes first: kmod-ready check [--json] [MODULE]...".into(),
        );
    }
    parse_module_name(raw)
}

pub(super) fn parse_timeout(raw: &str) -> Result<Duration, String> {
    let timeout = parse_duration(raw)?;
    if timeout.is_zero() {
        return Err("the timeout must be longer than zero".into());
    }
    if timeout > MAX_TIMEOUT {
        return Err("the timeout must be at most 1h".into());
    }
    Ok(timeout)
}

/// Parses a whole number and its unit: `500ms`, `10s`, `2m`, `1h`; nothing
/// else, so that what the help and the manual list is all there is. A bare
/// number is refused: seconds to systemd, it could be meant as anything.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let help = "expected a whole number with ms, s, m or h, e.g. 500ms, 10s, 1m";
    let digits_end = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(digits_end);
    if number.is_empty() {
        return Err(help.into());
    }
    let value: u64 = number.parse().map_err(|_| help.to_string())?;
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "" => {
            return Err(format!(
                "a number needs a unit (ms, s, m or h), e.g. {number}s"
            ))
        }
        _ => return Err(help.into()),
    };
    value
        .checked_mul(millis_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| "duration is too large".to_string())
}

/// `--wait-for` names a file the kernel creates: only /proc/sys and /sys,
/// absolute, without `..`, so a typo cannot make us wait on arbitrary files.
pub(super) fn parse_wait_path(raw: &std::ffi::OsStr) -> Result<PathBuf, String> {
    let text = raw
        .to_str()
        .ok_or_else(|| "the path must be valid UTF-8".to_string())?;
    let path = Path::new(text);
    if !path.is_absolute() {
        return Err("the path must be absolute, under /proc/sys/ or /sys/".into());
    }
    // Path::components drops a `.` inside a path: look at the text itself.
    if text.split('/').any(|part| part == "." || part == "..") {
        return Err("the path must not contain '.' or '..'".into());
    }
    if let Some(bad) = text.chars().find(|c| c.is_control()) {
        return Err(format!("the path cannot contain {}", char_name(bad)));
    }
    let under = |dir: &str| path.starts_with(dir) && path != Path::new(dir);
    if !(under("/proc/sys") || under("/sys")) {
        return Err("only paths under /proc/sys/ or /sys/ can be waited for".into());
    }
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in [
            "",
            "10",
            "1min",
            "5sec",
            "-1",
            "1.5s",
            "s",
            "10 s",
            "1d",
            "99999999999999999999",
            "18446744073709551615h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_timeout("0s").is_err());
        assert!(parse_timeout("61m").is_err());
        assert_eq!(parse_timeout("1h"), Ok(MAX_TIMEOUT));
    }

    #[test]
    fn wait_paths() {
        assert!(parse_wait_path("/proc/sys/net/bridge/bridge-nf-call-iptables".as_ref()).is_ok());
        assert!(parse_wait_path("/sys/module/overlay".as_ref()).is_ok());
        for bad in [
            "/etc/passwd",
            "sys/module/x",
            "/sys/../etc/shadow",
            "/sys",
            "/proc/sys",
            "/proc/1/environ",
            "/sys/./module/x",
            "/sys/module/x/.",
            "/sys/module/x\nkmod-ready: forged",
            "/sys/module/\x1b[2J",
        ] {
            assert!(
                parse_wait_path(bad.as_ref()).is_err(),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn module_names() {
        assert!(parse_module_name("nf_conntrack".as_ref()).is_ok());
        assert!(parse_module_name("nf-conntrack-ipv4".as_ref()).is_ok());
        // As libkmod's lookup takes them: a pattern's brackets in pairs.
        for alias in [
            "fs-ext4",
            "pci:v00008086d*",
            "a[0-9]b",
            "a[[]",
            "x[-]y",
            "a*b",
        ] {
            assert!(parse_module_name(alias.as_ref()).is_ok(), "{alias:?}");
        }
        for bad in ["", "../x", "a/b", "..", "a b", "a\tb", "-x"] {
            assert!(
                parse_module_name(bad.as_ref()).is_err(),
                "{bad:?} was accepted"
            );
        }
        assert!(parse_module_name("x".repeat(256).as_ref()).is_err());
        for (bad, unpaired) in [
            ("nf_conntrack[", '['),
            ("a[b", '['),
            ("[", '['),
            ("nf_conntrack]", ']'),
            ("]", ']'),
            ("a]b", ']'),
            ("a[]]", ']'),
        ] {
            assert_eq!(unpaired_bracket(bad), Some(unpaired), "{bad:?}");
            assert!(parse_module_name(bad.as_ref()).is_err(), "{bad:?}");
        }
    }

    /// Every name of up to five of `a[]-*` is refused exactly when this
    /// machine's libkmod refuses to look it up (EINVAL).
    #[test]
    fn brackets_are_refused_as_libkmod_refuses_them() {
        let lib = crate::libkmod::Libkmod::open().expect("libkmod.so.2 is installed");
        let empty = std::env::temp_dir().join(format!("kmod-ready-cli-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        let ctx = lib.context(Some(&empty), Some(&[&empty])).unwrap();
        let mut names = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = names
                .iter()
                .flat_map(|name| "a[]-*".chars().map(move |c| format!("{name}{c}")))
                .collect();
            for name in &longer {
                let refused = ctx.lookup(name).err() == Some(-(nix::errno::Errno::EINVAL as i32));
                assert_eq!(unpaired_bracket(name).is_some(), refused, "{name:?}");
            }
            names = longer;
        }
        drop(ctx);
        std::fs::remove_dir_all(&empty).unwrap();
    }
}
