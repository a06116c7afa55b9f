//! The kernel command line, read as the kernel and libkmod read it: its
//! words, and the modules its parameters forbid.

use super::normalize_module_name;

/// The modules that `module_blacklist=` on the kernel command line forbids,
/// read as the kernel reads it (kernel/module/main.c): a `charp` core
/// parameter, so the last occurrence replaces the others, its name matched
/// with `-` and `_` alike, and each name compared byte for byte with the
/// module's (whose kernel name has `_`): `br-netfilter` there denies nothing.
pub fn cmdline_module_blacklist(cmdline: &[u8]) -> Vec<String> {
    let last = cmdline_words(cmdline).into_iter().rev().find_map(|word| {
        let (name, value) = split_param(&word)?;
        (name == "module_blacklist").then(|| value.to_vec())
    });
    last.unwrap_or_default()
        .split(|&b| b == b',')
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect()
}

/// A `NAME=VALUE` kernel parameter, its name with `-` read as `_` (the
/// kernel's `parameq`).
fn split_param(word: &[u8]) -> Option<(String, &[u8])> {
    let at = word.iter().position(|&b| b == b'=')?;
    let name = String::from_utf8_lossy(&word[..at]).replace('-', "_");
    Some((name, &word[at + 1..]))
}

/// The module names of every `KEY=a,b,c` word on a kernel command line
/// (libkmod's `modprobe.blacklist`, which adds up every occurrence),
/// normalised.
pub(crate) fn cmdline_module_list(cmdline: &[u8], key: &str) -> Vec<String> {
    cmdline_words(cmdline)
        .iter()
        .filter_map(|word| word.strip_prefix(key.as_bytes())?.strip_prefix(b"="))
        .flat_map(|list| list.split(|&b| b == b','))
        .filter(|name| !name.is_empty())
        .map(|name| normalize_module_name(&String::from_utf8_lossy(name)))
        .collect()
}

/// Splits a kernel command line into its parameters as the kernel does:
/// bytes (it is not UTF-8), on spaces, keeping double-quoted parts together
/// and dropping the quotes; a `--` word ends them (what follows is init's).
pub fn cmdline_words(cmdline: &[u8]) -> Vec<Vec<u8>> {
    let mut words = Vec::new();
    let mut word = Vec::new();
    let mut quoted = false;
    let mut in_word = false;
    for &byte in cmdline {
        match byte {
            b'"' => {
                quoted = !quoted;
                in_word = true;
            }
            b if b.is_ascii_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            b => {
                word.push(b);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    match words.iter().position(|w| w == b"--") {
        Some(end) => words[..end].to_vec(),
        None => words,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_blacklist_is_read_as_the_kernel_reads_it() {
        let cmdline =
            br#"BOOT_IMAGE=/vmlinuz root=UUID=x "module_blacklist=nf_conntrack,nouveau" quiet"#;
        assert_eq!(
            cmdline_module_blacklist(cmdline),
            vec!["nf_conntrack", "nouveau"]
        );
        // The last one wins; its name may be spelt with `-`; the names in it
        // are compared exactly, so `br-netfilter` stays as written.
        let cmdline = b"module_blacklist=nf_conntrack module-blacklist=br-netfilter,,x";
        assert_eq!(cmdline_module_blacklist(cmdline), vec!["br-netfilter", "x"]);
        assert!(cmdline_module_blacklist(b"quiet splash").is_empty());
        assert_eq!(
            cmdline_words(br#"a="b c" d"#),
            vec![b"a=b c".to_vec(), b"d".to_vec()]
        );
    }

    #[test]
    fn cmdline_is_bytes_and_ends_at_double_dash() {
        let cmdline = b"module_blacklist=nf_conntrack \xff -- module_blacklist=br_netfilter";
        assert_eq!(cmdline_module_blacklist(cmdline), vec!["nf_conntrack"]);
    }
}
