//! The words of a unit's command line or `Environment=` value as systemd
//! splits them: shared by exec.rs and env.rs, so neither imports the other.

/// Not fatal: systemd ignores the rest of the line (see exec.rs).
pub(super) const SPECIFIER_AT_END: &str = "a `%` ends a word (write %% for a %)";

/// Every word of `value`, unquoted, unescaped and with specifiers resolved
/// (as an `Environment=` value is read), and the error that ended it early.
pub(super) fn words_of(value: &str) -> (Vec<String>, Option<String>) {
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

pub(super) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// The unit specifiers check knows the value of for the kubelite unit (a
/// system unit, not a template); `%%` is `%`. Others (the host name, the
/// machine ID, the user…) are left as written: their value is the
/// running system's.
pub(super) fn resolve_specifiers(word: &str) -> Result<String, String> {
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

/// The next word of a command line, from `rest`: words are separated by
/// spaces, tabs and newlines; `"…"` and `'…'` quote (also inside a word);
/// C escapes (`\n`, `\t`, `\xNN`, `\NNN`, `\\`, `\"`, `\s` for a
/// space…) are unescaped, one systemd does not know is kept as written.
/// `None` when only whitespace is left.
pub(super) fn next_word(rest: &mut &str) -> Result<Option<String>, String> {
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
