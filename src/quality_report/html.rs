//! Writing HTML safely: every value from the data goes through [`esc`], which escapes the five
//! characters that can end a text or a quoted attribute value, in HTML and in inline SVG alike.

use std::fmt;

/// `text`, displayed with `&`, `<`, `>`, `"` and `'` as character references: safe as element
/// text and as a quoted attribute value.
pub fn esc(text: &str) -> Escaped<'_> {
    Escaped(text)
}

pub struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

/// At most `max` characters of `text`, with an ellipsis when it was longer.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A count in at most 4 characters for a chart cell: `950`, `1.2k`, `34k`, `5.1M`.
pub fn compact(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=9_999 => format!("{:.1}k", n as f64 / 1e3),
        10_000..=999_999 => format!("{}k", n / 1_000),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// A share as a percentage: `0.10%`, `12.5%`.
pub fn percent(share: f64) -> String {
    let value = 100.0 * share;
    if value != 0.0 && value < 10.0 {
        format!("{value:.2}%")
    } else {
        format!("{value:.1}%")
    }
}

/// The file name of a path (the whole path when it has none).
pub fn file_name(path: &str) -> &str {
    path.rsplit('/')
        .find(|part| !part.is_empty())
        .unwrap_or(path)
}

/// An ISO 8601 UTC time (`2026-11-26T08:00:31Z`) as `2026-11-26 08:00:31`.
pub fn readable_time(iso: &str) -> String {
    iso.trim_end_matches('Z').replacen('T', " ", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_could_end_a_text_or_an_attribute() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y' ok"#).to_string(),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; ok"
        );
        assert_eq!(
            esc(r#""><img src=x onerror=alert(1)>"#).to_string(),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(esc("plain — ünïcode").to_string(), "plain — ünïcode");
        assert_eq!(esc("").to_string(), "");
        assert_eq!(esc("&amp;").to_string(), "&amp;amp;");
    }

    #[test]
    fn numbers_read_at_a_glance() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(5_000_000), "5,000,000");
        assert_eq!(compact(950), "950");
        assert_eq!(compact(1234), "1.2k");
        assert_eq!(compact(34_567), "34k");
        assert_eq!(compact(5_100_000), "5.1M");
        assert_eq!(percent(0.001), "0.10%");
        assert_eq!(percent(0.125), "12.5%");
        assert_eq!(percent(0.0), "0.0%");
    }

    #[test]
    fn shortens_on_character_boundaries() {
        assert_eq!(shorten("ünïcode", 3), "ünï…");
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(file_name("/landing/a/b.csv"), "b.csv");
        assert_eq!(file_name("b.csv"), "b.csv");
        assert_eq!(readable_time("2026-11-26T08:00:31Z"), "2026-11-26 08:00:31");
    }
}
