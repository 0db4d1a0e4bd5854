//! Windows-1252: single bytes for umlauts and €, transliteration for the
//! rest, no UTF-8 anywhere.

use super::*;

/// Whether `bytes` hold a UTF-8 multibyte sequence (a lead byte followed
/// by a continuation byte).
fn has_utf8_multibyte(bytes: &[u8]) -> bool {
    bytes
        .windows(2)
        .any(|w| (0xC2..=0xF4).contains(&w[0]) && (0x80..=0xBF).contains(&w[1]))
}

#[test]
fn umlauts_sharp_s_and_euro_are_single_windows_1252_bytes() {
    let mut doc = invoice("RE-2026-00001", "2026-11-05");
    doc.invoice.buyer.0.name = "Müller & Söhne Straßenbau „Äußerst“ – 5 €".into();
    let mut s = Setup::november().with(doc);
    s.exported_by = "Jürgen Öztürk".into();
    let bytes = s.run().unwrap();
    for (c, b) in [
        ('ü', 0xFC),
        ('ö', 0xF6),
        ('ß', 0xDF),
        ('Ä', 0xC4),
        ('€', 0x80),
        ('„', 0x84),
        ('“', 0x93),
        ('–', 0x96),
    ] {
        assert_eq!(cp1252::byte(c), Some(b), "{c}");
        assert!(bytes.contains(&b), "{c} as {b:#04x}");
    }
    assert!(!has_utf8_multibyte(&bytes), "no UTF-8 in the file");
    assert!(bytes.is_ascii() || std::str::from_utf8(&bytes).is_err());
    // The heading "Gegenkonto (ohne BU-Schlüssel)" has ü as one byte too.
    let heading = b"BU-Schl\xFCssel";
    assert!(bytes.windows(heading.len()).any(|w| w == heading));
    let row = &read(&bytes)[2];
    assert_eq!(
        col(row, 14),
        "RE-2026-00001 Müller & Söhne Straßenbau „Äußerst“ – 5 €"
    );
    assert_eq!(read(&bytes)[0][8].text, "Jürgen Öztürk");
}

#[test]
fn every_windows_1252_character_round_trips() {
    for b in (0x20..=0xFFu8).filter(|b| ![0x7F, 0x81, 0x8D, 0x8F, 0x90, 0x9D].contains(b)) {
        let text = cp1252::decode(&[b]);
        assert_eq!(
            cp1252::field(&format!("x{text}x"), 10),
            [b'x', b, b'x'],
            "{b:#04x}"
        );
    }
}

#[test]
fn characters_without_a_byte_are_transliterated_or_replaced() {
    let cases: [(&str, &[u8]); 9] = [
        ("Łódź", b"L\xF3dz"),
        ("Ștefan Țară", b"Stefan Tara"),
        ("Dvořák Čapek", b"Dvor\xE1k Capek"),
        ("Ĳssel", b"IJssel"),
        ("Mu\u{308}ller", b"M\xFCller"),
        ("Zu\u{30C}rich", b"Zurich"),
        ("A\u{2011}B\u{2212}C", b"A-B-C"),
        ("Šž Œ Ÿ", b"\x8A\x9E \x8C \x9F"),
        ("東京 GmbH", b"?? GmbH"),
    ];
    for (text, want) in cases {
        assert_eq!(cp1252::field(text, 60), want, "{text}");
    }
}

#[test]
fn fields_lose_control_characters_and_keep_their_length() {
    assert_eq!(cp1252::field("  a\tb\nc\u{7}d\u{200B}e  ", 60), b"a b cde");
    assert_eq!(cp1252::field("ÄÖÜäöüß€", 5), b"\xC4\xD6\xDC\xE4\xF6");
    assert_eq!(cp1252::field("№ 5", 60), b"No 5");
}
