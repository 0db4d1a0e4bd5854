//! The formats: each pattern takes what it should and refuses the rest.

use super::*;

#[test]
fn lines_have_something_visible_and_no_controls() {
    for ok in ["a", " Acme GmbH ", "ü", "a\u{00a0}b", "😀"] {
        assert!(LINE.matches(ok), "{ok:?}");
    }
    for bad in [
        "",
        " ",
        "\u{3000}",
        "a\nb",
        "a\u{0000}",
        "\u{0085}",
        "a\u{009f}",
        "\t",
    ] {
        assert!(!LINE.matches(bad), "{bad:?}");
    }
}

#[test]
fn prose_takes_line_breaks_but_no_other_controls() {
    assert!(PROSE.matches("first\n\tsecond\r\n"));
    assert!(PROSE.matches("\n x"));
    assert!(!PROSE.matches(" \n\t"));
    assert!(!PROSE.matches("a\u{0000}"));
    assert!(!PROSE.matches("a\u{000b}"));
}

#[test]
fn what_str_trim_removes_is_what_the_patterns_call_space() {
    // Every character `char::is_whitespace` knows is a control or in
    // `space!()`, so "visible" here and "not blank after trim" agree.
    for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
        let s = c.to_string();
        if c.is_whitespace() {
            assert!(!LINE.matches(&s), "{:#x}", c as u32);
        } else if !c.is_control() {
            assert!(LINE.matches(&s), "{:#x}", c as u32);
        }
    }
}

#[test]
fn emails() {
    for ok in ["ops@example.com", "a.b+c@x.y.de", "ü@münchen.de", "a@b..c"] {
        assert!(EMAIL.matches(ok), "{ok}");
    }
    for bad in [
        "no-at", "a@b", "a b@c.de", "@x.de", "a@.de", "a@de.", "a@b@c.de", "a@b.c\n",
    ] {
        assert!(!EMAIL.matches(bad), "{bad}");
    }
}

#[test]
fn phones() {
    assert!(PHONE.matches("+49 (30) 123-456/7 x8"));
    assert!(!PHONE.matches("12"));
    assert!(!PHONE.matches("+"));
    assert!(!PHONE.matches(&"1".repeat(21)));
    assert!(!PHONE.matches("123 abc"));
}

#[test]
fn web_urls() {
    for ok in [
        "https://acme.example",
        "HTTP://acme.example:8080/a?b#c",
        "https://www.müller.de/",
        "http://host_1",
    ] {
        assert!(WEB_URL.matches(ok), "{ok}");
    }
    for bad in [
        "ftp://x",
        "https://",
        "https://a b",
        "https://user@host",
        "https://x/a b",
        "mailto:a@b.c",
    ] {
        assert!(!WEB_URL.matches(bad), "{bad}");
    }
}

#[test]
fn tax_ids() {
    for ok in [
        "DE123456789",
        "ATU12345678",
        "FR0X123456789",
        "ESX1234567X",
        "NL123456789B01",
        "IE1234567WA",
    ] {
        assert!(VAT_ID.matches(ok) && ok.len() <= VAT_ID_MAX, "{ok}");
    }
    for bad in [
        "de123456789",
        "DE 123456789",
        "D123",
        "DE1",
        "DE1234567890123",
        "123456789",
    ] {
        assert!(!VAT_ID.matches(bad), "{bad}");
    }
    for ok in ["21/815/08150", "2181508150", "181 815 08155", "93815-08152"] {
        assert!(TAX_NUMBER.matches(ok), "{ok}");
    }
    for bad in ["", " ", "/-/", "21/815/0815a", "21\n815"] {
        assert!(!TAX_NUMBER.matches(bad), "{bad}");
    }
    for ok in [
        "04011000-1234512345-06",
        "991-01234-44",
        "04011000-06",
        "123456789012-abcDEF-99",
    ] {
        assert!(LEITWEG_ID.matches(ok), "{ok}");
    }
    let longest = format!("{}-{}-06", "1".repeat(12), "a".repeat(30));
    assert!(LEITWEG_ID.matches(&longest) && longest.len() == LEITWEG_ID_MAX);
    for bad in [
        "1-06",
        "04011000",
        "04011000-6",
        "04011000--06",
        "04011000-12 34-06",
        "0401100012345-06",
    ] {
        assert!(!LEITWEG_ID.matches(bad), "{bad}");
    }
}

#[test]
fn headers() {
    for ok in ["\"3\"", "*", " \"1\", W/\"2\" ,\"x\"", "W/\"\""] {
        assert!(IF_MATCH.matches(ok), "{ok}");
    }
    for bad in ["3", "\"3\",", "W/3", "\"a\"b\"", "*, \"3\"", ""] {
        assert!(!IF_MATCH.matches(bad), "{bad}");
    }
    assert!(IDEMPOTENCY_KEY.matches("order-4711"));
    assert!(!IDEMPOTENCY_KEY.matches("two words"));
    assert!(!IDEMPOTENCY_KEY.matches(&"k".repeat(256)));
}

#[test]
fn decimals() {
    let p = Regex::new(&decimal_pattern(8, 2)).unwrap();
    for ok in ["0", "0.5", "12345678", "12345678.99", "1.50"] {
        assert!(p.is_match(ok) && DECIMAL.matches(ok), "{ok}");
    }
    for bad in ["123456789", "1.234", "01", "-1", ".5", "5.", "1e3"] {
        assert!(!p.is_match(bad), "{bad}");
    }
    assert!(DECIMAL.matches("1.234"));
    assert!(!DECIMAL.matches("01.5"));
    assert_eq!(decimal_pattern(3, 0), "^(0|[1-9][0-9]{0,2})$");
}

#[test]
fn positive_decimals() {
    let p = Regex::new(&positive_decimal_pattern(6, 4)).unwrap();
    for ok in ["1", "0.5", "0.0001", "0.0105", "999999.9999", "2.5"] {
        assert!(p.is_match(ok), "{ok}");
    }
    for bad in [
        "0", "0.0", "0.0000", "0.00001", "1000000", "1.23456", "01", "-1", "0.", "1e3",
    ] {
        assert!(!p.is_match(bad), "{bad}");
    }
    assert_eq!(positive_decimal_pattern(2, 0), "^[1-9][0-9]{0,1}$");
}

#[test]
fn number_formats() {
    for ok in [
        "RE-{YYYY}-{seq:05}",
        "{seq}",
        "GS{YY}{MM}/{seq:012}",
        "INV{seq:03}",
    ] {
        assert!(NUMBER_FORMAT.matches(ok), "{ok}");
    }
    for bad in [
        "RE-{YYYY}",
        "{seq}{seq}",
        "RE {seq}",
        "RE-{seq:013}",
        "RE-{seq:00}",
        "INV{seq:1}",
        "{DD}{seq}",
        "RE}-{seq}",
        "",
    ] {
        assert!(!NUMBER_FORMAT.matches(bad), "{bad}");
    }
}
