//! Page layout without a PDF: text is measured with the embedded font's
//! own shaping (rustybuzz, as krilla draws it), wrapped, and placed as
//! drawing operations on A4 pages that the content flows onto. Kept apart
//! from krilla so pagination is plain data.

use rustybuzz::{Face, UnicodeBuffer};

/// A4 in points.
pub const PAGE_W: f32 = 595.28;
pub const PAGE_H: f32 = 841.89;
/// The text area.
pub const LEFT: f32 = 56.0;
pub const RIGHT: f32 = PAGE_W - 48.0;
pub const TOP: f32 = 48.0;
/// Content stops above the footer.
pub const BOTTOM: f32 = PAGE_H - 64.0;

/// What is drawn; `y` is the text's baseline, from the top of the page.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        gray: bool,
        text: String,
    },
    /// A horizontal line.
    Rule {
        x1: f32,
        x2: f32,
        y: f32,
        width: f32,
    },
    /// A light-gray filled rectangle (table heads).
    Shade { x: f32, y: f32, w: f32, h: f32 },
}

/// The font, regular and bold, as shaping faces.
pub struct Fonts {
    regular: Face<'static>,
    bold: Face<'static>,
}

impl Fonts {
    pub fn new(regular: &'static [u8], bold: &'static [u8]) -> Option<Self> {
        Some(Self {
            regular: Face::from_slice(regular, 0)?,
            bold: Face::from_slice(bold, 0)?,
        })
    }

    fn face(&self, bold: bool) -> &Face<'static> {
        if bold { &self.bold } else { &self.regular }
    }

    /// The width of `text` in points.
    pub fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        if text.is_empty() {
            return 0.0;
        }
        let face = self.face(bold);
        let mut buf = UnicodeBuffer::new();
        buf.push_str(text);
        buf.guess_segment_properties();
        let shaped = rustybuzz::shape(face, &[], buf);
        let advance: i64 = shaped
            .glyph_positions()
            .iter()
            .map(|p| i64::from(p.x_advance))
            .sum();
        advance as f32 / face.units_per_em() as f32 * size
    }

    /// `text` as one line the font can draw: tabs and other whitespace
    /// become spaces, control characters go, characters without a glyph
    /// in both weights become `?` (PDF/A forbids the .notdef glyph).
    pub fn clean(&self, text: &str) -> String {
        text.chars()
            .filter_map(|c| {
                if c.is_whitespace() {
                    Some(' ')
                } else if c.is_control() || is_invisible_format(c) {
                    None
                } else if self.regular.glyph_index(c).is_some()
                    && self.bold.glyph_index(c).is_some()
                {
                    Some(c)
                } else {
                    Some('?')
                }
            })
            .collect()
    }

    /// `text` wrapped to `max_w`: paragraphs at line breaks, lines at
    /// spaces, words longer than a line at characters.
    pub fn wrap(&self, text: &str, size: f32, bold: bool, max_w: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in text.lines() {
            let para = self.clean(para);
            let mut line = String::new();
            for word in para.split(' ').filter(|w| !w.is_empty()) {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.width(&candidate, size, bold) <= max_w {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // The word alone: break it where it must.
                for ch in word.chars() {
                    line.push(ch);
                    if self.width(&line, size, bold) > max_w && line.chars().count() > 1 {
                        line.pop();
                        lines.push(std::mem::take(&mut line));
                        line.push(ch);
                    }
                }
            }
            // One empty line between paragraphs at most.
            if !(line.is_empty() && lines.last().is_some_and(String::is_empty)) {
                lines.push(line);
            }
        }
        // No trailing empty lines; at least one line.
        while lines.len() > 1 && lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
        lines
    }

    /// [`Self::wrap`], at most `max_lines` lines; a cut text ends in `…`.
    pub fn wrap_max(
        &self,
        text: &str,
        size: f32,
        bold: bool,
        max_w: f32,
        max_lines: usize,
    ) -> Vec<String> {
        let mut lines = self.wrap(text, size, bold, max_w);
        if lines.len() > max_lines {
            lines.truncate(max_lines.max(1));
            if let Some(last) = lines.last_mut() {
                *last = self.ellipsis(&format!("{last} …"), size, bold, max_w);
            }
        }
        lines
    }

    /// `text` on one line of `max_w`, cut with `…` if it does not fit.
    pub fn ellipsis(&self, text: &str, size: f32, bold: bool, max_w: f32) -> String {
        let text = self.clean(text);
        if self.width(&text, size, bold) <= max_w {
            return text;
        }
        let mut chars: Vec<char> = text.chars().collect();
        while !chars.is_empty() {
            chars.pop();
            let cut: String = chars.iter().collect::<String>().trim_end().to_owned() + "…";
            if self.width(&cut, size, bold) <= max_w {
                return cut;
            }
        }
        "…".to_owned()
    }
}

/// Invisible formatting characters (soft hyphen, zero-width and
/// direction marks, BOM, tags): shaped, they give glyphs without a
/// Unicode mapping, which PDF/A-3u forbids; on paper they show nothing.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{AD}' | '\u{34F}' | '\u{61C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFF0}'..='\u{FFFB}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// Pages being filled, top to bottom.
pub struct Layout<'f> {
    pub fonts: &'f Fonts,
    pub pages: Vec<Vec<Op>>,
    /// The next free position on the current page.
    pub y: f32,
    /// Printed at the top of every page after the first.
    running_head: String,
}

impl<'f> Layout<'f> {
    pub fn new(fonts: &'f Fonts, running_head: String) -> Self {
        Self {
            fonts,
            pages: vec![Vec::new()],
            y: TOP,
            running_head,
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("a layout has a page")
    }

    /// Makes room for `h` points: a new page when the current one has not
    /// that much left. Returns whether a page was begun.
    pub fn ensure(&mut self, h: f32) -> bool {
        if self.y + h <= BOTTOM {
            return false;
        }
        self.pages.push(Vec::new());
        self.y = TOP;
        let head = self
            .fonts
            .ellipsis(&self.running_head, 7.5, false, RIGHT - LEFT);
        self.text(LEFT, self.y + 7.5, 7.5, false, true, head);
        self.rule(LEFT, RIGHT, self.y + 11.0, 0.4);
        self.y += 24.0;
        true
    }

    /// Text whose left edge is at `x`.
    pub fn text(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        gray: bool,
        text: impl Into<String>,
    ) {
        let text = self.fonts.clean(&text.into());
        if text.trim().is_empty() {
            return;
        }
        self.ops().push(Op::Text {
            x,
            y,
            size,
            bold,
            gray,
            text,
        });
    }

    /// Text whose right edge is at `x`.
    pub fn text_right(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        gray: bool,
        text: impl Into<String>,
    ) {
        let text = self.fonts.clean(&text.into());
        let w = self.fonts.width(&text, size, bold);
        self.text(x - w, y, size, bold, gray, text);
    }

    pub fn rule(&mut self, x1: f32, x2: f32, y: f32, width: f32) {
        self.ops().push(Op::Rule { x1, x2, y, width });
    }

    pub fn shade(&mut self, x: f32, y: f32, w: f32, h: f32) {
        self.ops().push(Op::Shade { x, y, w, h });
    }

    /// A wrapped paragraph across the text area that may flow onto
    /// further pages; advances `y`.
    pub fn paragraph(&mut self, text: &str, size: f32, bold: bool, gray: bool) {
        let lead = size * 1.3;
        for line in self.fonts.wrap(text, size, bold, RIGHT - LEFT) {
            self.ensure(lead);
            self.text(LEFT, self.y + size, size, bold, gray, line);
            self.y += lead;
        }
    }

    /// A section heading that keeps `keep` points of what follows with it.
    pub fn heading(&mut self, text: &str, keep: f32) {
        self.ensure(16.0 + keep);
        self.text(LEFT, self.y + 9.5, 9.5, true, false, text);
        self.y += 16.0;
    }

    /// The footer of every page: `left` and the page count.
    pub fn finish(mut self, left: &str) -> Vec<Vec<Op>> {
        let n = self.pages.len();
        let left = self.fonts.ellipsis(left, 7.0, false, RIGHT - LEFT - 110.0);
        for (i, page) in self.pages.iter_mut().enumerate() {
            let y = PAGE_H - 40.0;
            page.push(Op::Rule {
                x1: LEFT,
                x2: RIGHT,
                y: y - 10.0,
                width: 0.4,
            });
            page.push(Op::Text {
                x: LEFT,
                y,
                size: 7.0,
                bold: false,
                gray: true,
                text: left.clone(),
            });
            let count = format!("Seite / Page {} / {n}", i + 1);
            let w = self.fonts.width(&count, 7.0, false);
            page.push(Op::Text {
                x: RIGHT - w,
                y,
                size: 7.0,
                bold: false,
                gray: true,
                text: count,
            });
        }
        std::mem::take(&mut self.pages)
    }
}
