//! JSON strings, by hand: quoting for the report file and the trace format
//! the library writes, and unquoting for the trace reader.
//!
//! The library writes JSON without serde so that a program built with it
//! does not build serde's derive macros (and their syn, quote and
//! proc-macro2) for one line format; the command, which reads these lines
//! back with serde, is where serde lives.

use std::fmt::Write as _;

/// Appends `s` as a JSON string, quotes included: `"`, `\` and control
/// characters escaped, everything else as it is (JSON text is UTF-8).
pub(crate) fn put_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// Only the trace reader parses (compiled with the `checks` feature).
#[cfg(feature = "checks")]
/// The string a JSON string literal (quotes included, nothing after them)
/// stands for, or why it is not one.
pub(crate) fn parse_str(text: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not UTF-8".to_owned())?;
    let inner = text
        .strip_prefix('"')
        .ok_or_else(|| "does not start with a quote".to_owned())?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                return if at + 1 == inner.len() {
                    Ok(out)
                } else {
                    Err("text after the closing quote".to_owned())
                };
            }
            '\\' => {
                let Some((_, escape)) = chars.next() else {
                    break;
                };
                match escape {
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    '/' => out.push('/'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => {
                        let first = hex4(&mut chars)?;
                        let code = match first {
                            0xD800..=0xDBFF => {
                                // A high surrogate must be followed by an
                                // escaped low one; together they are one
                                // character beyond the BMP.
                                let (Some((_, '\\')), Some((_, 'u'))) =
                                    (chars.next(), chars.next())
                                else {
                                    return Err("a high surrogate without its low half".to_owned());
                                };
                                let second = hex4(&mut chars)?;
                                if !(0xDC00..=0xDFFF).contains(&second) {
                                    return Err("a high surrogate without its low half".to_owned());
                                }
                                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                            }
                            0xDC00..=0xDFFF => {
                                return Err("a low surrogate without its high half".to_owned())
                            }
                            code => code,
                        };
                        out.push(char::from_u32(code).ok_or_else(|| "not a character".to_owned())?);
                    }
                    other => return Err(format!("unknown escape `\\{other}`")),
                }
            }
            c if (c as u32) < 0x20 => return Err("an unescaped control character".to_owned()),
            c => out.push(c),
        }
    }
    Err("no closing quote".to_owned())
}

#[cfg(feature = "checks")]
/// Four hex digits of a `\u` escape.
fn hex4(chars: &mut std::str::CharIndices<'_>) -> Result<u32, String> {
    let mut code = 0;
    for _ in 0..4 {
        let digit = chars
            .next()
            .and_then(|(_, c)| c.to_digit(16))
            .ok_or_else(|| "a `\\u` escape without four hex digits".to_owned())?;
        code = code * 16 + digit;
    }
    Ok(code)
}

#[cfg(all(test, feature = "checks"))]
mod tests {
    use super::*;

    #[test]
    fn every_character_survives_a_round_trip() {
        let samples = [
            "",
            "plain",
            "quote \" backslash \\ slash /",
            "controls \u{0}\u{1}\u{1f}\n\r\t",
            "non-ASCII é ü 名前 🦀",
        ];
        for s in samples {
            let mut quoted = String::new();
            put_str(&mut quoted, s);
            assert_eq!(parse_str(quoted.as_bytes()).unwrap(), s, "{quoted}");
        }
    }

    #[test]
    fn surrogate_pairs_decode_and_lone_halves_are_refused() {
        assert_eq!(parse_str(br#""\ud83e\udd80""#).unwrap(), "🦀");
        assert!(parse_str(br#""\ud83e""#).is_err());
        assert!(parse_str(br#""\udd80""#).is_err());
        assert!(parse_str(br#""\ud83e\u0041""#).is_err());
    }

    #[test]
    fn malformed_strings_are_refused() {
        for bad in [
            &b"\"open"[..],
            b"bare",
            b"\"a\"b",
            b"\"\\x\"",
            b"\"\\u12\"",
            b"\"\x01\"",
            b"\"\\",
        ] {
            assert!(
                parse_str(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
