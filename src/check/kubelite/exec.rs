//! An `ExecStartPre=` value as systemd runs it (systemd.service(5),
//! "Command lines"): its prefixes, then its words, unquoted and unescaped;
//! and, when it runs kmod-ready, what kmod-ready's own parser makes of them.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::words::{is_space, next_word, resolve_specifiers, SPECIFIER_AT_END};
use crate::cli;

/// One command line of a unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecCommand {
    /// The command as written (one of several a `;` separates).
    pub text: String,
    /// `-`: systemd ignores its failure.
    pub ignore_failure: bool,
    /// `:`: systemd does not expand environment variables in it.
    pub no_env_expand: bool,
    /// The executable (never expanded).
    pub path: String,
    /// Its arguments, `argv[0]` first (with `@`, the word after the path).
    pub argv: Vec<String>,
}

/// What a kmod-ready command line does, as kmod-ready would parse it.
#[derive(Debug, PartialEq, Eq)]
pub enum KmodReady {
    /// It loads `modules`, then also waits for `wait_for`.
    Loads {
        modules: Vec<String>,
        wait_for: Vec<PathBuf>,
    },
    /// It would exit 64 with this reason.
    Rejected(String),
}

/// The errors after which systemd ignores the rest of the line and goes
/// on (this and [`SPECIFIER_AT_END`]); after any other (an open quote, `@` without `argv[0]`, a relative
/// path) it refuses the whole unit ("bad-setting"), as systemd 247, 252 and
/// 257 were seen to do.
const EMPTY_PATH: &str = "no executable after the prefixes";

/// Why systemd stopped reading an `ExecStartPre=` value.
#[derive(Debug, PartialEq, Eq)]
pub struct LineError {
    pub reason: String,
    /// systemd refuses the unit: it runs none of its commands.
    pub fatal: bool,
}

/// The prefixes of systemd.service(5), "Command lines".
const PREFIXES: &str = "-@:+!|";

/// The commands of one `ExecStartPre=` value as systemd reads it: a `;`
/// word separates commands (`\;` is a literal `;`), each starts with its
/// prefixes and executable, words are unquoted and unescaped, then unit
/// specifiers (`%n`, `%%`…) resolved. An open quote ends the value: systemd
/// keeps the commands before it and ignores the rest. Any other error (a bad
/// escape, no executable, `@` without `argv[0]`, a relative path) makes
/// systemd refuse the unit, the error says so.
pub fn parse_exec_line(value: &str) -> (Vec<ExecCommand>, Option<LineError>) {
    let mut commands = Vec::new();
    let mut rest = value;
    loop {
        let start = value.len() - rest.trim_start().len();
        match parse_one(&mut rest) {
            Ok(None) => return (commands, None),
            Ok(Some((mut command, more))) => {
                let end = value.len() - rest.len();
                let text = value[start..end].trim();
                command.text = text
                    .strip_suffix(';')
                    .unwrap_or(text)
                    .trim_end()
                    .to_string();
                commands.push(command);
                if !more {
                    return (commands, None);
                }
            }
            Err(reason) => {
                let fatal = reason != EMPTY_PATH && reason != SPECIFIER_AT_END;
                return (commands, Some(LineError { reason, fatal }));
            }
        }
    }
}

/// One command of a value that holds one (as `systemctl show` and
/// check's JSON print them); an error is a value systemd itself refuses.
pub fn parse_exec(value: &str) -> Result<ExecCommand, String> {
    match parse_exec_line(value) {
        (mut commands, None) if commands.len() == 1 => Ok(commands.remove(0)),
        (_, Some(error)) => Err(error.reason),
        _ => Err("not one command".into()),
    }
}

/// The next command of `rest`, and whether a `;` follows it; `None` when
/// nothing is left.
fn parse_one(rest: &mut &str) -> Result<Option<(ExecCommand, bool)>, String> {
    let Some(first) = next_word(rest)? else {
        return Ok(None);
    };
    let prefixes = first.len() - first.trim_start_matches(|c| PREFIXES.contains(c)).len();
    let (prefixes, path) = first.split_at(prefixes);
    let path = resolve_specifiers(path)?;
    if path.is_empty() {
        return Err(EMPTY_PATH.into());
    }
    if path.ends_with('/') || (path.contains('/') && !path.starts_with('/')) {
        return Err(format!(
            "{path} is neither an absolute path nor a file name"
        ));
    }
    let mut argv = Vec::new();
    let mut more = false;
    loop {
        let text = rest.trim_start_matches(is_space);
        let ends_word = |n: usize| text[n..].chars().next().map_or(true, is_space);
        if text.starts_with(';') && ends_word(1) {
            *rest = &text[1..];
            more = true;
            break;
        }
        if text.starts_with("\\;") && ends_word(2) {
            *rest = &text[2..];
            argv.push(";".to_string());
            continue;
        }
        match next_word(rest)? {
            Some(word) => argv.push(resolve_specifiers(&word)?),
            None => break,
        }
    }
    if !prefixes.contains('@') {
        argv.insert(0, path.clone());
    } else if argv.is_empty() {
        return Err("`@` needs a word for argv[0] after the path".into());
    }
    let command = ExecCommand {
        text: String::new(),
        ignore_failure: prefixes.contains('-'),
        no_env_expand: prefixes.contains(':'),
        path,
        argv,
    };
    Ok(Some((command, more)))
}

/// Expands `$NAME` (a word of its own: the value split at whitespace, zero
/// or more words), `${NAME}` (anywhere: the value as one piece) and `$$`
/// (a `$`) in the arguments, as systemd does before it runs a command
/// without the `:` prefix; the executable is never expanded. A variable
/// `env` does not set expands to nothing.
impl ExecCommand {
    pub fn expand(&self, env: &super::env::Env) -> ExecCommand {
        let argv = if self.no_env_expand {
            self.argv.clone()
        } else {
            self.argv
                .iter()
                .flat_map(|word| env.expand_word(word))
                .collect()
        };
        ExecCommand {
            text: self.text.clone(),
            ignore_failure: self.ignore_failure,
            no_env_expand: self.no_env_expand,
            path: self.path.clone(),
            argv,
        }
    }
}

impl ExecCommand {
    pub fn is_kmod_ready(&self) -> bool {
        Path::new(&self.path).file_name() == Some("kmod-ready".as_ref())
    }

    /// What kmod-ready makes of these arguments; `None` when this command
    /// is not kmod-ready, or runs its read-only `check`.
    pub fn kmod_ready(&self) -> Option<KmodReady> {
        if !self.is_kmod_ready() {
            return None;
        }
        let args = self.argv.iter().map(OsString::from);
        match cli::parse(args) {
            Ok(parsed) if parsed.command.is_none() => Some(KmodReady::Loads {
                modules: parsed.load.modules,
                wait_for: parsed.load.wait_for,
            }),
            Ok(_) => None,
            Err(err) if cli::is_help_or_version(&err) => Some(KmodReady::Loads {
                modules: Vec::new(),
                wait_for: Vec::new(),
            }),
            Err(err) => Some(KmodReady::Rejected(cli::error_reason(&err))),
        }
    }
}

/// Where systemd looks for an executable given without a directory
/// (systemd.service(5), "Command lines").
const EXEC_SEARCH_PATH: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Why systemd could not execute `path` under `root` (it would fail the
/// command with 203/EXEC); `None` when it can.
pub(crate) fn not_executable(root: &crate::system::Root, path: &str) -> Option<String> {
    let candidates: Vec<PathBuf> = if path.contains('/') {
        vec![PathBuf::from(path)]
    } else {
        EXEC_SEARCH_PATH
            .iter()
            .map(|dir| Path::new(dir).join(path))
            .collect()
    };
    let mut reason = format!("{path} does not exist");
    for candidate in candidates {
        let Ok(meta) = std::fs::metadata(root.path(&candidate)) else {
            continue;
        };
        if !meta.is_file() {
            reason = format!("{} is not a file", candidate.display());
        } else if meta.permissions().mode() & 0o111 == 0 {
            reason = format!("{} is not executable", candidate.display());
        } else {
            return None;
        }
    }
    Some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(value: &str) -> Vec<String> {
        parse_exec(value).unwrap().argv
    }

    #[test]
    fn prefixes_quotes_and_escapes() {
        let command =
            parse_exec("-+/usr/sbin/kmod-ready \"nf_conntrack\" 'a b' c\\x41 100%%").unwrap();
        assert!(command.ignore_failure);
        assert_eq!(command.path, "/usr/sbin/kmod-ready");
        assert_eq!(
            command.argv,
            ["/usr/sbin/kmod-ready", "nf_conntrack", "a b", "cA", "100%"]
        );
        let at = parse_exec("@/usr/sbin/kmod-ready kr nf_conntrack").unwrap();
        assert!(!at.ignore_failure);
        assert_eq!(at.argv, ["kr", "nf_conntrack"]);
        assert_eq!(words(":/bin/x a\\sb \"c\\\"d\""), ["/bin/x", "a b", "c\"d"]);
        for bad in ["", "-", "/bin/x \"open", "/bin/x a\\", "@/bin/x"] {
            assert!(parse_exec(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn semicolons_separate_commands() {
        let (commands, error) =
            parse_exec_line("-/bin/a x ; @/bin/b b0 \\; ';' y;z ;  :/bin/c %n ;");
        assert_eq!(error, None);
        let texts: Vec<&str> = commands.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["-/bin/a x", "@/bin/b b0 \\; ';' y;z", ":/bin/c %n"]);
        assert_eq!(commands[1].argv, ["b0", ";", ";", "y;z"]);
        assert_eq!(
            commands[2].argv,
            ["/bin/c", "snap.microk8s.daemon-kubelite.service"]
        );
        assert!(commands[0].ignore_failure && commands[2].no_env_expand);
        let (kept, error) = parse_exec_line("/bin/a ; /bin/b \"open ; /bin/c");
        assert_eq!(kept.len(), 1);
        assert!(error.unwrap().fatal);
        let (_, error) = parse_exec_line("/bin/a ; -@");
        assert!(!error.unwrap().fatal);
        assert_eq!(words("/bin/a \\q \\xZZ"), ["/bin/a", "\\q", "\\xZZ"]);
    }

    #[test]
    fn kmod_ready_as_its_parser_reads_it() {
        let run = |value: &str| parse_exec(value).unwrap().kmod_ready();
        assert_eq!(
            run("/usr/sbin/kmod-ready --timeout 30s \"nf_conntrack\" br_netfilter --wait-for /sys/x"),
            Some(KmodReady::Loads {
                modules: vec!["nf_conntrack".into(), "br_netfilter".into()],
                wait_for: vec!["/sys/x".into()],
            })
        );
        assert_eq!(run("/bin/true nf_conntrack"), None);
        let rejected = |value: &str| match run(value) {
            Some(KmodReady::Rejected(reason)) => reason,
            other => panic!("{value}: {other:?}"),
        };
        assert!(rejected("/usr/sbin/kmod-ready --timeout 2h nf_conntrack").contains("at most 1h"));
        assert!(rejected("/usr/sbin/kmod-ready --timeout 30s").contains("<MODULE>"));
        assert!(rejected("/usr/sbin/kmod-ready ../../etc/shadow").contains("not a path"));
    }
}
