//! Number series formats: `RE-{YYYY}-{seq:05}` gives `RE-2026-00042`.
//! Placeholders: `{YYYY}` and `{YY}` (the issue year), `{MM}`, `{seq}` and
//! `{seq:0N}` (the counter, zero-padded to N digits, N from 1 to 12). A
//! series that names the year counts from 1 again every year.

use chrono::{Datelike, NaiveDate};

/// The longest format.
pub const FORMAT_MAX: usize = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Year4,
    Year2,
    Month,
    Seq(usize),
}

/// A parsed number format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberFormat(Vec<Part>);

impl NumberFormat {
    /// The format, or what is wrong with it: exactly one `{seq…}`, known
    /// placeholders only, printable ASCII without spaces outside them.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() || s.len() > FORMAT_MAX {
            return Err("must be 1 to 60 characters");
        }
        let mut parts = vec![];
        let mut rest = s;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let end = after.find('}').ok_or("has an unclosed '{'")?;
                let name = &after[..end];
                parts.push(match name {
                    "YYYY" => Part::Year4,
                    "YY" => Part::Year2,
                    "MM" => Part::Month,
                    "seq" => Part::Seq(1),
                    _ => match name.strip_prefix("seq:0") {
                        Some(n) => match n.parse::<usize>() {
                            Ok(w) if (1..=12).contains(&w) => Part::Seq(w),
                            _ => return Err("pads {seq:0N} to N digits, N from 1 to 12"),
                        },
                        None => {
                            return Err("knows only {YYYY}, {YY}, {MM}, {seq} and {seq:0N}");
                        }
                    },
                });
                rest = &after[end + 1..];
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let text = &rest[..end];
                if !text.bytes().all(|b| b.is_ascii_graphic() && b != b'}') {
                    return Err("may hold printable ASCII without spaces besides its placeholders");
                }
                parts.push(Part::Text(text.to_owned()));
                rest = &rest[end..];
            }
        }
        match parts.iter().filter(|p| matches!(p, Part::Seq(_))).count() {
            1 => Ok(Self(parts)),
            _ => Err("must hold {seq} (or {seq:0N}) exactly once"),
        }
    }

    /// Whether two formats can print the same number (they differ only in
    /// how wide they pad the counter).
    pub fn overlaps(&self, other: &Self) -> bool {
        let shape = |f: &Self| -> Vec<Part> {
            f.0.iter()
                .map(|p| match p {
                    Part::Seq(_) => Part::Seq(0),
                    p => p.clone(),
                })
                .collect()
        };
        shape(self) == shape(other)
    }

    /// The counter's period key: the year when the format shows it (a new
    /// year starts at 1), else one counter for ever.
    pub fn period(&self, issued: NaiveDate) -> String {
        if self
            .0
            .iter()
            .any(|p| matches!(p, Part::Year4 | Part::Year2))
        {
            issued.year().to_string()
        } else {
            String::new()
        }
    }

    pub fn render(&self, issued: NaiveDate, seq: i64) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Year4 => format!("{:04}", issued.year()),
                Part::Year2 => format!("{:02}", issued.year() % 100),
                Part::Month => format!("{:02}", issued.month()),
                Part::Seq(w) => format!("{seq:0w$}"),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn formats_render_and_count_per_year_when_they_show_it() {
        let f = NumberFormat::parse("RE-{YYYY}-{seq:05}").unwrap();
        assert_eq!(f.render(day("2026-12-01"), 42), "RE-2026-00042");
        assert_eq!(f.period(day("2026-12-01")), "2026");
        let f = NumberFormat::parse("GS{YY}{MM}/{seq}").unwrap();
        assert_eq!(f.render(day("2027-01-09"), 7), "GS2701/7");
        let f = NumberFormat::parse("INV{seq:03}").unwrap();
        assert_eq!(f.period(day("2027-01-09")), "");
        assert_eq!(f.render(day("2027-01-09"), 1234), "INV1234");
    }

    #[test]
    fn formats_that_differ_only_in_padding_overlap() {
        let f = |s: &str| NumberFormat::parse(s).unwrap();
        assert!(f("RE{seq}").overlaps(&f("RE{seq:02}")));
        assert!(!f("RE{seq}").overlaps(&f("GS{seq}")));
        assert!(!f("RE-{YYYY}-{seq:05}").overlaps(&f("RE-{YY}-{seq:05}")));
    }

    #[test]
    fn bad_formats_are_refused() {
        for bad in [
            "",
            "RE-{YYYY}",
            "{seq}{seq}",
            "RE {seq}",
            "RE-{seq:013}",
            "RE-{seq:00}",
            "RE-{DD}-{seq}",
            "RE-{seq",
            "RE}-{seq}",
            "RÉ-{seq}",
        ] {
            assert!(NumberFormat::parse(bad).is_err(), "{bad}");
        }
    }
}
