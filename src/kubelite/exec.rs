//! An `ExecStartPre=` value as systemd runs it (systemd.service(5),
//! "Command lines"): its prefixes, then its words, unquoted and unescaped;
//! and, when it runs kmod-ready, what kmod-ready's own parser makes of them.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

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
/// on; after any other (an open quote, `@` without `argv[0]`, a relative
/// path) it refuses the whole unit ("bad-setting"), as systemd 247, 252 and
/// 257 were seen to do.
const EMPTY_PATH: &str = "no executable after the prefixes";
const SPECIFIER_AT_END: &str = "a `%` ends a word (write %% for a %)";

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

/// Every word of `value`, unquoted, unescaped and with specifiers resolved
/// (as an `Environment=` value is read), and the error that ended it early.
pub(crate) fn words_of(value: &str) -> (Vec<String>, Option<String>) {
    let mut rest = value;
    let mut words = Vec::new();
    loop {
        match next_word(&mut rest).and_then(|w| w.map(|w| resolve_specifiers(&w)).transpose()) {
            Ok(Some(word)) => words.push(word),
            Ok(None) => return (words, None),
            Err(reason) => return (words, Some(reason)),
        }
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// The unit specifiers check knows the value of for the kubelite unit (a
/// system unit, not a template); `%%` is `%`. Others (the host name, the
/// machine ID, the user…) are left as written: their value is the
/// running system's.
fn resolve_specifiers(word: &str) -> Result<String, String> {
    let name = super::UNIT;
    let prefix = name.strip_suffix(".service").unwrap_or(name);
    let last = prefix.rsplit('-').next().unwrap_or(prefix);
    let unescape = |s: &str| s.replace('-', "/");
    let mut out = String::new();
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(spec) = chars.next() else {
            return Err(SPECIFIER_AT_END.into());
        };
        let value = match spec {
            '%' => "%".to_string(),
            'n' => name.to_string(),
            'N' | 'p' => prefix.to_string(),
            'P' => unescape(prefix),
            'i' | 'I' => String::new(),
            'j' => last.to_string(),
            'J' => unescape(last),
            'f' => format!("/{}", unescape(prefix)),
            't' => "/run".to_string(),
            'S' => "/var/lib".to_string(),
            'C' => "/var/cache".to_string(),
            'L' => "/var/log".to_string(),
            'E' => "/etc".to_string(),
            'T' => "/tmp".to_string(),
            'V' => "/var/tmp".to_string(),
            other => format!("%{other}"),
        };
        out.push_str(&value);
    }
    Ok(out)
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

/// The next word of a command line, from `rest`: words are separated by
/// spaces, tabs and newlines; `"…"` and `'…'` quote (also inside a word);
/// C escapes (`\n`, `\t`, `\xNN`, `\NNN`, `\\`, `\"`, `\s` for a
/// space…) are unescaped, one systemd does not know is kept as written.
/// `None` when only whitespace is left.
fn next_word(rest: &mut &str) -> Result<Option<String>, String> {
    let text = rest.trim_start_matches(is_space);
    if text.is_empty() {
        *rest = text;
        return Ok(None);
    }
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            (c, None) if is_space(c) => break,
            ('"' | '\'', None) => quote = Some(c),
            (c, Some(q)) if c == q => quote = None,
            ('\\', _) => {
                // systemd keeps an escape it does not know as written.
                let before = chars.clone();
                match unescape(&mut chars) {
                    Ok(c) => word.push(c),
                    Err(_) => {
                        chars = before;
                        let next = chars.next().ok_or("a backslash ends the line")?;
                        word.push('\\');
                        word.push(next);
                    }
                }
            }
            (c, _) => word.push(c),
        }
    }
    if quote.is_some() {
        return Err("a quote is not closed".into());
    }
    *rest = chars.as_str();
    Ok(Some(word))
}

/// The character a backslash escape stands for; the backslash is read.
fn unescape(chars: &mut std::str::Chars) -> Result<char, String> {
    let bad = || "a backslash escape is not valid".to_string();
    let c = chars.next().ok_or_else(bad)?;
    let mut number = |radix: u32, len: usize, first: Option<char>| {
        let mut digits: String = first.into_iter().collect();
        while digits.len() < len {
            digits.push(chars.next().filter(|d| d.is_digit(radix)).ok_or_else(bad)?);
        }
        let code = u32::from_str_radix(&digits, radix).map_err(|_| bad())?;
        char::from_u32(code).filter(|&c| c != '\0').ok_or_else(bad)
    };
    Ok(match c {
        'a' => '\x07',
        'b' => '\x08',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        's' => ' ',
        't' => '\t',
        'v' => '\x0b',
        '\\' | '"' | '\'' | '?' => c,
        'x' => number(16, 2, None)?,
        'u' => number(16, 4, None)?,
        'U' => number(16, 8, None)?,
        '0'..='7' => number(8, 3, Some(c))?,
        _ => return Err(bad()),
    })
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
