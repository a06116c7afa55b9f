//! An `ExecStartPre=` value as systemd runs it (systemd.service(5),
//! "Command lines"): its prefixes, then its words, unquoted and unescaped;
//! and, when it runs kmod-ready, what kmod-ready's own parser makes of them.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::cli;

/// One command line of a unit.
#[derive(Debug, PartialEq, Eq)]
pub struct ExecCommand {
    /// `-`: systemd ignores its failure.
    pub ignore_failure: bool,
    /// The executable.
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

/// Splits `value` into prefixes and words as systemd does; an error is a
/// value systemd itself refuses (an open quote, a bad escape).
pub fn parse_exec(value: &str) -> Result<ExecCommand, String> {
    let mut rest = value.trim_start();
    let (mut ignore_failure, mut at) = (false, false);
    while let Some(prefix) = rest.chars().next().filter(|c| "-@:+!".contains(*c)) {
        ignore_failure |= prefix == '-';
        at |= prefix == '@';
        rest = &rest[1..];
    }
    let mut words = split_words(rest)?.into_iter();
    let path = words.next().ok_or("no command")?;
    let mut argv: Vec<String> = words.collect();
    if !at {
        argv.insert(0, path.clone());
    } else if argv.is_empty() {
        return Err("`@` needs a word for argv[0] after the path".into());
    }
    Ok(ExecCommand {
        ignore_failure,
        path,
        argv,
    })
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

/// The words of a command line: separated by spaces, tabs and newlines;
/// `"…"` and `'…'` quote; C escapes (`\n`, `\t`, `\xNN`, `\NNN`, `\\`, `\"`,
/// `\s` for a space…) are unescaped; `%%` is `%`.
fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(words);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match (c, quote) {
                (c, None) if c.is_ascii_whitespace() => break,
                ('"' | '\'', None) => quote = Some(c),
                (c, Some(q)) if c == q => quote = None,
                ('\\', _) => word.push(unescape(&mut chars)?),
                ('%', _) if chars.peek() == Some(&'%') => {
                    chars.next();
                    word.push('%');
                }
                (c, _) => word.push(c),
            }
        }
        if quote.is_some() {
            return Err("a quote is not closed".into());
        }
        words.push(word);
    }
}

/// The character a backslash escape stands for; the backslash is read.
fn unescape(chars: &mut std::iter::Peekable<std::str::Chars>) -> Result<char, String> {
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
        for bad in [
            "",
            "-",
            "/bin/x \"open",
            "/bin/x a\\",
            "/bin/x \\q",
            "@/bin/x",
        ] {
            assert!(parse_exec(bad).is_err(), "{bad:?} was accepted");
        }
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
