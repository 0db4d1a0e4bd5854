//! Windows-1252, the character set DATEV reads a file without a BOM in.
//! It is Latin-1 except for 0x80–0x9F, where Latin-1 has control codes and
//! Windows-1252 has €, typographic quotes, dashes, Š, Ž, Œ and a few more.
//! Text that has no byte there is transliterated where a plain letter says
//! the same (Łódź → Lodz, Ș → S, a non-breaking hyphen → -); what is left
//! becomes `?`. Line breaks and tabs, which DATEV forbids inside a field,
//! become spaces; other control characters are dropped.

/// What 0x80..=0x9F mean in Windows-1252; `'\0'` where the byte is unused.
const HIGH: [char; 32] = [
    '€', '\0', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\0', 'Ž', '\0', //
    '\0', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\0', 'ž', 'Ÿ',
];

/// The plain letter of each character of Latin Extended-A (U+0100..=U+017F);
/// Ĳ/ĳ (U+0132/3) are spelt out, Œ, œ, Š, š, Ÿ, Ž, ž have bytes of their own.
const LATIN_EXTENDED_A: &[u8; 128] = b"AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiIiJjKkk\
LlLlLlLlLlNnNnNnnNnOoOoOoOoRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";

/// Base letters and the Windows-1252 character a combining mark makes of
/// them: text in decomposed form (u + U+0308) becomes ü again.
const COMPOSE: [(char, &str, &str); 8] = [
    ('\u{300}', "AEIOUaeiou", "ÀÈÌÒÙàèìòù"),
    ('\u{301}', "AEIOUYaeiouy", "ÁÉÍÓÚÝáéíóúý"),
    ('\u{302}', "AEIOUaeiou", "ÂÊÎÔÛâêîôû"),
    ('\u{303}', "ANOano", "ÃÑÕãñõ"),
    ('\u{308}', "AEIOUYaeiouy", "ÄËÏÖÜŸäëïöüÿ"),
    ('\u{30A}', "Aa", "Åå"),
    ('\u{327}', "Cc", "Çç"),
    ('\u{30C}', "SZsz", "ŠŽšž"),
];

/// The byte of `c`, if Windows-1252 has one.
pub fn byte(c: char) -> Option<u8> {
    let cp = u32::from(c);
    if cp < 0x80 || (0xA0..=0xFF).contains(&cp) {
        return u8::try_from(cp).ok();
    }
    HIGH.iter()
        .position(|&h| h == c && h != '\0')
        .and_then(|i| u8::try_from(0x80 + i).ok())
}

/// A plain spelling of a character Windows-1252 lacks.
fn fold(c: char) -> Option<&'static str> {
    let cp = u32::from(c);
    if (0x100..=0x17F).contains(&cp) {
        return Some(match cp {
            0x132 => "IJ",
            0x133 => "ij",
            _ => {
                let i = usize::try_from(cp - 0x100).ok()?;
                // ASCII letters only, so a one-byte str.
                std::str::from_utf8(&LATIN_EXTENDED_A[i..=i]).ok()?
            }
        });
    }
    Some(match c {
        'Ș' => "S",
        'ș' => "s",
        'Ț' | 'Ţ' => "T",
        'ț' | 'ţ' => "t",
        '\u{2010}'..='\u{2012}' | '\u{2015}' | '\u{2212}' => "-",
        '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => "",
        '\u{201B}' | '\u{2032}' => "'",
        '\u{201F}' | '\u{2033}' => "\"",
        '№' => "No",
        _ => return None,
    })
}

fn compose(base: char, mark: char) -> Option<char> {
    let (_, bases, composed) = COMPOSE.iter().find(|(m, _, _)| *m == mark)?;
    let i = bases.chars().position(|b| b == base)?;
    composed.chars().nth(i)
}

/// `text` as Windows-1252 bytes, for a field: transliterated, without
/// control characters, trimmed, at most `max` bytes (one byte per
/// character).
pub fn field(text: &str, max: usize) -> Vec<u8> {
    let mut chars: Vec<char> = Vec::with_capacity(text.len());
    for c in text.chars() {
        if ('\u{300}'..='\u{36F}').contains(&c) {
            if let Some(last) = chars.last_mut()
                && let Some(composed) = compose(*last, c)
            {
                *last = composed;
            }
            continue;
        }
        match c {
            '\t' | '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => chars.push(' '),
            c if c.is_control() => {}
            c if byte(c).is_some() => chars.push(c),
            c => match fold(c) {
                Some(s) => chars.extend(s.chars()),
                None => chars.push('?'),
            },
        }
    }
    let text: String = chars.into_iter().collect();
    text.trim().chars().filter_map(byte).take(max).collect()
}

/// `text` as Windows-1252 bytes, where it is known to fit (headings, ASCII
/// values); anything else still becomes `?`.
pub fn encode(text: &str) -> Vec<u8> {
    text.chars().map(|c| byte(c).unwrap_or(b'?')).collect()
}

/// The text Windows-1252 bytes stand for (unused bytes as U+FFFD).
#[cfg(test)]
pub fn decode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => match HIGH[usize::from(b - 0x80)] {
                '\0' => '\u{FFFD}',
                c => c,
            },
            b => char::from(b),
        })
        .collect()
}
