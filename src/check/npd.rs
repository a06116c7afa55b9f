//! `check --npd`: the verdict as node-problem-detector's custom plugins
//! give theirs. NPD runs the plugin without a shell, reads its exit status
//! (0 OK, 1 a problem, anything else unknown) and its standard output,
//! trimmed and cut at `max_output_length` bytes (80 by default), which
//! becomes the message of the node condition. So the line says the module
//! and the cause first, and is never longer than [`MAX_LINE`]: cut here at
//! a character boundary rather than by NPD in the middle of one.
//!
//! Each run judges one moment, so that two NPD rules give two conditions
//! that never report the same cause twice: now, or with `--next-boot` the
//! next boot alone (a node that is broken now and fixed by a reboot is
//! ready at the next boot, which is what a reboot gate asks).

use crate::logging::escape_controls;
use crate::status::Status;

use super::report::Report;

/// NPD's default `max_output_length`, in bytes.
pub const MAX_LINE: usize = 80;

/// What a cut line ends with.
const CUT: &str = "…";

/// The line (without its newline) and the exit status. A system that
/// cannot be read has no verdict at all, and never comes here (see
/// [`super::run`]).
pub fn verdict(report: &Report, next_boot: bool) -> (String, Status) {
    let modules = report
        .modules
        .iter()
        .map(|m| m.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let (text, status) = if let (true, Some(next)) = (next_boot, &report.next_boot) {
        match &next.short {
            None => {
                let release = next.kernel.release.as_deref().unwrap_or_default();
                let text = format!("next boot: {modules}: ready with kernel {release}");
                (text, Status::Ready)
            }
            Some(short) => (format!("next boot: {short}"), Status::NotReady),
        }
    } else {
        match &report.verdict.short {
            None => (format!("{modules}: ready"), Status::Ready),
            Some(short) => (short.clone(), Status::NotReady),
        }
    };
    (fit(&escape_controls(&text), MAX_LINE), status)
}

/// `text` if it has at most `max` bytes, else its longest start that ends
/// at a character boundary and leaves room for [`CUT`], then [`CUT`].
fn fit(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max - CUT.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{CUT}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_at_a_character_boundary() {
        assert_eq!(fit("short", 80), "short");
        let exact = "x".repeat(80);
        assert_eq!(fit(&exact, 80), exact);
        let long = "x".repeat(81);
        assert_eq!(fit(&long, 80), format!("{}…", "x".repeat(77)));
        // "é" is two bytes: a cut inside it moves back to its start.
        let accented = format!("{}é{}", "x".repeat(76), "y".repeat(10));
        let cut = fit(&accented, 80);
        assert_eq!(cut, format!("{}…", "x".repeat(76)));
        for max in 4..=80 {
            assert!(fit(&accented, max).len() <= max, "{max}");
        }
    }
}
