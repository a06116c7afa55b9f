//! Kernel versions ordered as people and boot loaders order them:
//! `6.1.0-50` after `6.1.0-9`, by runs of digits compared as numbers.

use std::cmp::Ordering;

/// Compares two versions run by run: digits as numbers, the rest as text.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (runs(a), runs(b));
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u128>(), y.parse::<u128>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    (Ok(_), Err(_)) => Ordering::Greater,
                    (Err(_), Ok(_)) => Ordering::Less,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// Runs of digits and of anything else.
fn runs(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let digits = first.is_ascii_digit();
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digits)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some(run)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_releases_sort_by_number() {
        let mut releases = vec![
            "6.1.0-9-amd64",
            "6.12.9+bpo-amd64",
            "6.1.0-50-amd64",
            "5.10.0-30-amd64",
        ];
        releases.sort_by(|a, b| compare(a, b));
        assert_eq!(
            releases,
            [
                "5.10.0-30-amd64",
                "6.1.0-9-amd64",
                "6.1.0-50-amd64",
                "6.12.9+bpo-amd64"
            ]
        );
    }
}
