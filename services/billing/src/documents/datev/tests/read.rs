//! Reads a written file back: lines at CRLF, fields with the quoting
//! undone.

use super::cp1252;

/// A field as read back: its text and whether it was quoted.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub text: String,
    pub quoted: bool,
}

/// Splits a file into lines at CRLF (asserting there is no other line
/// end) and lines into fields, undoing the quoting.
pub fn read(bytes: &[u8]) -> Vec<Vec<Field>> {
    assert!(bytes.ends_with(b"\r\n"), "the last line ends in CRLF");
    let text = cp1252::decode(bytes);
    let body = &text[..text.len() - 2];
    body.split("\r\n")
        .map(|line| {
            assert!(!line.contains(['\r', '\n']), "a bare CR or LF in {line:?}");
            fields(line)
        })
        .collect()
}

fn fields(line: &str) -> Vec<Field> {
    let mut out = vec![];
    let mut chars = line.chars().peekable();
    loop {
        let mut f = Field {
            text: String::new(),
            quoted: false,
        };
        if chars.peek() == Some(&'"') {
            chars.next();
            f.quoted = true;
            loop {
                match chars.next().expect("an unclosed quote") {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        f.text.push('"');
                    }
                    '"' => break,
                    c => f.text.push(c),
                }
            }
        }
        while let Some(&c) = chars.peek() {
            if c == ';' {
                break;
            }
            assert!(!f.quoted, "text after a closing quote in {line:?}");
            f.text.push(c);
            chars.next();
        }
        out.push(f);
        if chars.next().is_none() {
            return out;
        }
    }
}

/// A row's column, 1-based as DATEV counts.
pub fn col(row: &[Field], column: usize) -> &str {
    &row[column - 1].text
}
