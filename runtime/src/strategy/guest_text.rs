//! Text a guest wrote (log lines, panic and refusal messages) made safe to put
//! in the host's own output: it is data, so nothing in it may end a log line,
//! move a terminal's cursor, colour it or reorder what a reader sees.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` could change how surrounding host output reads: control
/// characters (newlines, escapes, carriage returns) and Unicode's bidirectional
/// overrides and isolates.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

/// `text` with every unsafe character written as an escape (`\n`, `\r`, `\t`,
/// `\u{1b}`); text without one is returned as is.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn forged_lines_and_terminal_codes_are_escaped() {
        assert_eq!(
            escape("ok\n2026-01-01 INFO pqap: halted"),
            "ok\\n2026-01-01 INFO pqap: halted"
        );
        assert_eq!(escape("\u{1b}[31mred\u{1b}[0m"), "\\u{1b}[31mred\\u{1b}[0m");
        assert_eq!(escape("a\rb\tc"), "a\\rb\\tc");
        assert_eq!(escape("abc\u{202E}cba"), "abc\\u{202e}cba");
        assert!(matches!(escape("plain text, ünïcödé"), Cow::Borrowed(_)));
    }

    proptest! {
        #[test]
        fn escaped_text_holds_no_unsafe_character(s in any::<String>()) {
            let e = escape(&s);
            prop_assert!(!e.chars().any(unsafe_char));
            // Safe text passes unchanged.
            if !s.chars().any(unsafe_char) {
                prop_assert_eq!(e.as_ref(), s.as_str());
            }
        }
    }
}
