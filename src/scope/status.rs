//! `--status LIST`: codes (`502`), classes (`5xx`) and ranges (`500-504`), comma-separated,
//! as a set asked once per access-log line with one bit test.

/// The status codes a list names: 100 to 999.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusSet {
    bits: [u64; 16],
}

/// What is wrong with a list, for the one line that says so.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a status code (100-999), a class (5xx) or a range (500-504)")]
pub struct BadStatus(pub String);

impl StatusSet {
    /// The codes of a list such as `502,504`, `5xx` or `500,502-504`.
    pub fn parse(list: &str) -> Result<StatusSet, BadStatus> {
        let mut set = StatusSet { bits: [0; 16] };
        for item in list.split(',').map(str::trim) {
            let (from, to) = item_range(item).ok_or_else(|| BadStatus(item.to_owned()))?;
            (from..=to).for_each(|code| set.bits[usize::from(code / 64)] |= 1 << (code % 64));
        }
        Ok(set)
    }

    pub fn contains(&self, status: u16) -> bool {
        let word = self
            .bits
            .get(usize::from(status / 64))
            .copied()
            .unwrap_or(0);
        word >> (status % 64) & 1 == 1
    }
}

/// The first and last code of one item of a list.
fn item_range(item: &str) -> Option<(u16, u16)> {
    let code = |s: &str| {
        let n: u16 = s.trim().parse().ok()?;
        (s.trim().len() == 3 && (100..=999).contains(&n)).then_some(n)
    };
    match item.as_bytes() {
        [d @ b'1'..=b'9', x, y]
            if x.eq_ignore_ascii_case(&b'x') && y.eq_ignore_ascii_case(&b'x') =>
        {
            let class = u16::from(d - b'0') * 100;
            Some((class, class + 99))
        }
        _ => match item.split_once('-') {
            Some((a, b)) => Some((code(a)?, code(b)?)).filter(|(a, b)| a <= b),
            None => code(item).map(|c| (c, c)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_classes_and_ranges_mix() {
        let s = StatusSet::parse("500, 502-504,4XX").unwrap();
        for code in [500, 502, 503, 504, 400, 404, 499] {
            assert!(s.contains(code), "{code}");
        }
        for code in [501, 505, 599, 399, 200, 0, 1023, u16::MAX] {
            assert!(!s.contains(code), "{code}");
        }
        assert!(StatusSet::parse("5xx").unwrap().contains(599));
    }

    #[test]
    fn anything_else_is_named_in_the_error() {
        for bad in [
            "", "5", "50x", "0500", "600-500", "abc", "502,", "1000", "x5xx", "+502",
        ] {
            let e = StatusSet::parse(bad).unwrap_err();
            assert!(!e.to_string().is_empty(), "{bad}");
        }
        assert_eq!(
            StatusSet::parse("502,5o4").unwrap_err(),
            BadStatus("5o4".to_owned())
        );
    }
}
