//! The environment systemd expands `$NAME` and `${NAME}` from in a unit's
//! command lines (systemd.exec(5), "Environment"): the unit's
//! `Environment=` assignments, overridden by its `EnvironmentFile=` files,
//! read in order. Variables systemd adds itself (`PATH`, `INVOCATION_ID`…)
//! are not known here and expand to nothing.

/// Variable assignments; a later one of the same name wins.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Env(Vec<(String, String)>);

impl Env {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn set(&mut self, name: String, value: String) {
        self.0.push((name, value));
    }

    pub fn extend(&mut self, other: Env) {
        self.0.extend(other.0);
    }

    /// One argument after expansion: `$NAME` as a word of its own is the
    /// value split at whitespace (quotes in it group, a backslash takes the
    /// next character), zero words when unset; otherwise `${NAME}` is
    /// replaced by the value and `$$` by `$`, giving exactly one word.
    pub fn expand_word(&self, word: &str) -> Vec<String> {
        if let Some(name) = word.strip_prefix('$') {
            if !name.starts_with(['{', '$']) {
                return match self.get(name).filter(|_| is_name(name)) {
                    Some(value) => split_value(value),
                    None => Vec::new(),
                };
            }
        }
        vec![self.replace(word)]
    }

    fn replace(&self, word: &str) -> String {
        let mut out = String::new();
        let mut rest = word;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(after) = after.strip_prefix('$') {
                out.push('$');
                rest = after;
            } else if let Some((name, after)) = after
                .strip_prefix('{')
                .and_then(|inner| inner.split_once('}'))
            {
                if is_name(name) {
                    out.push_str(self.get(name).unwrap_or_default());
                }
                rest = after;
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
        out
    }
}

/// A valid environment variable name: a letter or `_`, then letters,
/// digits and `_`.
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A value split into words at whitespace, as systemd splits `$NAME`.
fn split_value(value: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.next_if(|c| " \t\n\r".contains(*c)).is_some() {}
        if chars.peek().is_none() {
            return words;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match (c, quote) {
                (c, None) if " \t\n\r".contains(c) => break,
                ('"' | '\'', None) => quote = Some(c),
                (c, Some(q)) if c == q => quote = None,
                ('\\', _) => word.extend(chars.next()),
                (c, _) => word.push(c),
            }
        }
        words.push(word);
    }
}

/// The assignments of one `Environment=` value: words as in a command line
/// (quotes, escapes), each `NAME=VALUE`; a word that is not is ignored, as
/// systemd ignores it.
pub fn environment_assignments(value: &str) -> Env {
    let mut env = Env::default();
    let (commands, _) = super::words::words_of(value);
    for word in commands {
        if let Some((name, value)) = word.split_once('=') {
            if is_name(name) {
                env.set(name.to_string(), value.to_string());
            }
        }
    }
    env
}

/// The assignments of an environment file (systemd.exec(5),
/// `EnvironmentFile=`): `NAME=VALUE` lines; blank lines and lines starting
/// with `#` or `;` are ignored; whitespace around the name and the value is
/// dropped; a value may be quoted (`'…'` literally, `"…"` with `\"`, `\\`,
/// `` \` `` and `\$` escapes); outside single quotes a backslash takes the
/// next character, and a backslash at the end of a line continues the value
/// on the next one. A line with an invalid name is ignored.
pub fn environment_file(text: &str) -> Env {
    let mut env = Env::default();
    let mut chars = text.chars().peekable();
    loop {
        // Before the name: whitespace, comments.
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None => return env,
            Some('#' | ';') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                continue;
            }
            _ => {}
        }
        let mut name = String::new();
        let mut complete = false;
        for c in chars.by_ref() {
            match c {
                '=' => {
                    complete = true;
                    break;
                }
                '\n' => break,
                c => name.push(c),
            }
        }
        if !complete {
            continue;
        }
        let name = name.trim().to_string();
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let value = env_file_value(&mut chars);
        if is_name(&name) {
            env.set(name, value);
        }
    }
}

/// The value of one environment file line, up to the end of its line.
fn env_file_value(chars: &mut std::iter::Peekable<std::str::Chars>) -> String {
    let mut value = String::new();
    // Trailing whitespace outside quotes is dropped: `keep` is the length
    // of the value up to its last character that stays.
    let mut keep = 0;
    // A quote opens only at the start of the value; later it is a character.
    let mut start = true;
    while let Some(c) = chars.next() {
        let first = std::mem::replace(&mut start, false);
        match c {
            '\n' => break,
            '\'' if first => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    value.push(c);
                }
                keep = value.len();
            }
            '"' if first => {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('\n') | None => {}
                            Some(c @ ('"' | '\\' | '`' | '$')) => value.push(c),
                            Some(c) => {
                                value.push('\\');
                                value.push(c);
                            }
                        },
                        c => value.push(c),
                    }
                }
                keep = value.len();
            }
            '\\' => {
                match chars.next() {
                    Some('\n') | None => {}
                    Some(c) => value.push(c),
                }
                keep = value.len();
            }
            c => {
                value.push(c);
                if !c.is_whitespace() {
                    keep = value.len();
                }
            }
        }
    }
    value.truncate(keep);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env(pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    #[test]
    fn words_and_pieces() {
        let e = env(&[("A", "x  'y z' \"w\""), ("B", "one two"), ("A", "a b")]);
        assert_eq!(e.expand_word("$A"), ["a", "b"]);
        assert_eq!(e.expand_word("$UNSET"), Vec::<String>::new());
        assert_eq!(e.expand_word("${B}"), ["one two"]);
        assert_eq!(e.expand_word("x${B}y$B$$z${UNSET}"), ["xone twoy$B$z"]);
        assert_eq!(e.expand_word("$$B"), ["$B"]);
        assert_eq!(e.expand_word("${B"), ["${B"]);
        let quoted = env(&[("Q", "x  'y z' \"w\" a\\ b")]);
        assert_eq!(quoted.expand_word("$Q"), ["x", "y z", "w", "a b"]);
    }

    #[test]
    fn environment_files() {
        let text = "# comment\n; comment\n  A = 1 2  \nB=\"q \\\" \\x\"tail\nC='s \\ t'\n\
                    D=cont\\\ninued\nbad-name=1\nnovalue\nE=x # not a comment\nF=a\"b\"c\n";
        let e = environment_file(text);
        assert_eq!(e.get("A"), Some("1 2"));
        assert_eq!(e.get("B"), Some("q \" \\xtail"));
        assert_eq!(e.get("C"), Some("s \\ t"));
        assert_eq!(e.get("D"), Some("continued"));
        assert_eq!(e.get("bad-name"), None);
        assert_eq!(e.get("E"), Some("x # not a comment"));
        assert_eq!(e.get("F"), Some("a\"b\"c"));
    }

    #[test]
    fn environment_values() {
        let e = environment_assignments("A=1 \"B=2 3\" bad C=x\\x41 =no");
        assert_eq!(e.get("A"), Some("1"));
        assert_eq!(e.get("B"), Some("2 3"));
        assert_eq!(e.get("C"), Some("xA"));
    }
}
