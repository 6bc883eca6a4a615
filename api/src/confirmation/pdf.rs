//! A small page writer for the confirmation letter: A4 pages in the PDF
//! standard fonts Helvetica and Helvetica-Bold (nothing embedded), text
//! measured with the fonts' own metrics and wrapped to a width, rules,
//! shaded boxes and a QR code, in a flow that continues on a new page
//! rather than drawing past the bottom margin.
//!
//! Only QR modules are drawn with `re`: everything else that is filled is
//! a plain path, so the letter's modules can be counted back from the
//! content streams.

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use qrcode::{Color, QrCode};

/// A4 (ISO 216, 210 × 297 mm), in points.
pub(super) const PAGE_WIDTH: f32 = 595.28;
/// See [`PAGE_WIDTH`].
pub(super) const PAGE_HEIGHT: f32 = 841.89;

/// One of the two fonts the letter uses: PDF 32000-1 §9.6.2.2 lists both
/// among the 14 standard fonts every reader has, so none is embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Font {
    Regular,
    Bold,
}

impl Font {
    /// The name in the pages' resource dictionary.
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }

    fn base_font(self) -> &'static str {
        match self {
            Font::Regular => "Helvetica",
            Font::Bold => "Helvetica-Bold",
        }
    }

    /// Advance widths (1/1000 em) of WinAnsi codes 32–255, from Adobe's
    /// AFM files of the two fonts; 0 for codes WinAnsi leaves undefined,
    /// which [`encode`] never produces.
    fn widths(self) -> &'static [u16; 224] {
        match self {
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        }
    }

    /// The width of WinAnsi-encoded `text` at `size` points.
    pub(super) fn width(self, text: &[u8], size: f32) -> f32 {
        let widths = self.widths();
        let units: u32 = text
            .iter()
            .map(|&b| {
                b.checked_sub(32)
                    .and_then(|i| widths.get(usize::from(i)))
                    .map_or(0, |&w| u32::from(w))
            })
            .sum();
        // Exact in f32 for any text that fits on a page.
        units as f32 * size / 1000.0
    }
}

const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // 32
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 48
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // 64
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // 80
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // 96
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 0, // 112
    556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, // 128
    0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667, // 144
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333, // 160
    400, 584, 333, 333, 333, 578, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611, // 176
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, // 192
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, // 208
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278, // 224
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500, // 240
];

const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, // 32
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, // 48
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, // 64
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, // 80
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, // 96
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 0, // 112
    556, 0, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, // 128
    0, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 0, 500, 667, // 144
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333, // 160
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611, // 176
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, // 192
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, // 208
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278, // 224
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556, // 240
];

/// `text` in WinAnsiEncoding (PDF 32000-1 Annex D.2), the encoding the
/// fonts are declared with: Latin-1 as it is, the typographic marks
/// Windows-1252 adds at 0x80–0x9F, a few look-alikes transliterated, line
/// breaks and other controls as spaces, and `?` for anything else (a
/// standard font has no glyph for it).
pub(super) fn encode(text: &str) -> Vec<u8> {
    text.chars().map(win_ansi).collect()
}

fn win_ansi(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        c if c.is_control() => b' ',
        // Latin-1 above the C1 controls maps to itself.
        '\u{a0}'..='\u{ff}' => u8::try_from(u32::from(c)).unwrap_or(b'?'),
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8a,
        '‹' => 0x8b,
        'Œ' => 0x8c,
        'Ž' => 0x8e,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9a,
        '›' => 0x9b,
        'œ' => 0x9c,
        'ž' => 0x9e,
        'Ÿ' => 0x9f,
        '\u{2010}'..='\u{2012}' | '\u{2212}' => b'-',
        '\u{2015}' => 0x97,
        '\u{2032}' => b'\'',
        '\u{2033}' => b'"',
        'ı' => b'i',
        'Ł' => b'L',
        'ł' => b'l',
        _ => b'?',
    }
}

/// A font at a size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Style {
    pub font: Font,
    pub size: f32,
}

impl Style {
    pub(super) const fn new(font: Font, size: f32) -> Self {
        Self { font, size }
    }

    pub(super) fn width(self, text: &[u8]) -> f32 {
        self.font.width(text, self.size)
    }
}

/// Breaks encoded `text` into lines no wider than `width`: after spaces
/// where it can, inside a word only when the word alone is wider (long
/// TXT values, keys). The spaces stay at the end of their line, so the
/// lines joined are the text again, as a reader extracts it.
pub(super) fn wrap(text: &[u8], style: Style, width: f32) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    let mut used = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        // A word and the spaces after it.
        let word_end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        let token_end = rest[word_end..]
            .iter()
            .position(|&b| b != b' ')
            .map_or(rest.len(), |n| word_end + n);
        let (word, token) = (&rest[..word_end], &rest[..token_end]);
        let word_width = style.width(word);
        if used + word_width <= width {
            line.extend_from_slice(token);
            used += style.width(token);
            rest = &rest[token_end..];
        } else if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            used = 0.0;
        } else {
            // The word alone overflows: cut it where the line is full (at
            // least one byte, so that a narrow width still progresses),
            // or after a URL or name separator near that point.
            let mut cut = 0;
            let mut cut_width = 0.0;
            while cut < word.len() {
                let next = style.width(&word[cut..=cut]);
                if cut > 0 && cut_width + next > width {
                    break;
                }
                cut_width += next;
                cut += 1;
            }
            if cut < word.len()
                && let Some(after) = word[..cut].iter().rposition(|b| b"/?&=.".contains(b))
                && (after + 1) * 3 >= cut * 2
            {
                cut = after + 1;
            }
            lines.push(word[..cut].to_vec());
            rest = &rest[cut..];
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Where text sits between two edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    Left,
    Center,
}

/// The empty border of every page, in points.
#[derive(Debug, Clone, Copy)]
pub(super) struct Margins {
    pub top: f32,
    pub bottom: f32,
    pub left: f32,
    pub right: f32,
}

/// What the document says about itself (the reader's Properties).
#[derive(Debug, Clone)]
pub(super) struct Info {
    pub title: String,
    pub subject: String,
    /// PDF 32000-1 §7.9.4: `D:YYYYMMDDHHmmSS+HH'mm'`.
    pub created: String,
}

/// Pages being written top to bottom. The cursor `y` is the baseline of
/// the last line drawn (the top margin on a fresh page).
#[derive(Debug)]
pub(super) struct Pages {
    done: Vec<Vec<Operation>>,
    current: Vec<Operation>,
    y: f32,
    margins: Margins,
}

/// Coordinates written with two decimals: a hundredth of a point is far
/// below what a printer resolves, and the streams stay short.
fn pt(v: f32) -> Object {
    Object::Real((v * 100.0).round() / 100.0)
}

impl Pages {
    pub(super) fn new(margins: Margins) -> Self {
        Self {
            done: Vec::new(),
            current: Vec::new(),
            y: PAGE_HEIGHT - margins.top,
            margins,
        }
    }

    pub(super) fn left(&self) -> f32 {
        self.margins.left
    }

    pub(super) fn right(&self) -> f32 {
        PAGE_WIDTH - self.margins.right
    }

    /// The width between the side margins.
    pub(super) fn width(&self) -> f32 {
        self.right() - self.left()
    }

    pub(super) fn y(&self) -> f32 {
        self.y
    }

    /// Space left above the bottom margin.
    pub(super) fn room(&self) -> f32 {
        self.y - self.margins.bottom
    }

    pub(super) fn new_page(&mut self) {
        self.done.push(std::mem::take(&mut self.current));
        self.y = PAGE_HEIGHT - self.margins.top;
    }

    /// Starts a new page unless `height` fits below the cursor, so that a
    /// block that belongs together is not cut; true when it did.
    pub(super) fn keep(&mut self, height: f32) -> bool {
        if height > self.room() && self.y < PAGE_HEIGHT - self.margins.top {
            self.new_page();
            return true;
        }
        false
    }

    /// Puts the cursor at `y` on the current page (side-by-side blocks).
    pub(super) fn set_y(&mut self, y: f32) {
        self.y = y;
    }

    /// Moves the cursor down by `dy`, onto a new page if that leaves none.
    pub(super) fn skip(&mut self, dy: f32) {
        if dy >= self.room() {
            self.new_page();
        } else {
            self.y -= dy;
        }
    }

    /// Draws encoded `text` with its baseline at `(x, y)`; one text
    /// object per line, so readers extract it as one line.
    pub(super) fn text_at(&mut self, x: f32, y: f32, style: Style, text: &[u8]) {
        self.current.extend([
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec![style.font.resource().into(), style.size.into()]),
            Operation::new("Td", vec![pt(x), pt(y)]),
            Operation::new("Tj", vec![Object::string_literal(text)]),
            Operation::new("ET", vec![]),
        ]);
    }

    /// Where `text` starts to sit `align`ed between `x` and `x + width`.
    pub(super) fn aligned_x(x: f32, width: f32, style: Style, text: &[u8], align: Align) -> f32 {
        let slack = (width - style.width(text)).max(0.0);
        match align {
            Align::Left => x,
            Align::Center => x + slack / 2.0,
        }
    }

    /// The next line, `leading` below the last (on a new page when it
    /// does not fit), `align`ed between `x` and `x + width`.
    pub(super) fn line(
        &mut self,
        text: &[u8],
        style: Style,
        leading: f32,
        x: f32,
        width: f32,
        align: Align,
    ) {
        let baseline = self.next_line(leading);
        let at = Self::aligned_x(x, width, style, text, align);
        self.text_at(at, baseline, style, text);
    }

    /// Moves the cursor to the next baseline, `leading` below the last
    /// (on a new page when it does not fit), and returns it.
    pub(super) fn next_line(&mut self, leading: f32) -> f32 {
        if leading > self.room() {
            self.new_page();
        }
        self.y -= leading;
        self.y
    }

    /// `text` wrapped to `width`, line after line.
    pub(super) fn paragraph(
        &mut self,
        text: &str,
        style: Style,
        leading: f32,
        x: f32,
        width: f32,
        align: Align,
    ) {
        for line in wrap(&encode(text), style, width) {
            self.line(&line, style, leading, x, width, align);
        }
    }

    /// A horizontal rule `thickness` points thick at height `y`.
    pub(super) fn rule(&mut self, x1: f32, x2: f32, y: f32, thickness: f32) {
        self.current.extend([
            Operation::new("w", vec![pt(thickness)]),
            Operation::new("m", vec![pt(x1), pt(y)]),
            Operation::new("l", vec![pt(x2), pt(y)]),
            Operation::new("S", vec![]),
        ]);
    }

    /// A box filled with `gray` (0 black, 1 white), its lower left corner
    /// at `(x, y)`. A path rather than `re`, which is kept for QR modules.
    pub(super) fn shade(&mut self, x: f32, y: f32, width: f32, height: f32, gray: f32) {
        self.current.extend([
            Operation::new("g", vec![pt(gray)]),
            Operation::new("m", vec![pt(x), pt(y)]),
            Operation::new("l", vec![pt(x + width), pt(y)]),
            Operation::new("l", vec![pt(x + width), pt(y + height)]),
            Operation::new("l", vec![pt(x), pt(y + height)]),
            Operation::new("h", vec![]),
            Operation::new("f", vec![]),
            Operation::new("g", vec![0.into()]),
        ]);
    }

    /// Draws `code` with its top left corner at `(x, top)`: one filled
    /// square `module` points wide per dark module, none for light ones
    /// (the paper is the light colour, and the quiet zone is left blank
    /// around it by the caller).
    pub(super) fn qr(&mut self, code: &QrCode, x: f32, top: f32, module: f32) {
        let width = code.width();
        self.current.push(Operation::new("g", vec![0.into()]));
        for (i, color) in code.to_colors().into_iter().enumerate() {
            if color != Color::Dark {
                continue;
            }
            // Module indices are small (at most 177), exact in f32.
            let (col, row) = ((i % width) as f32, (i / width) as f32);
            self.current.push(Operation::new(
                "re",
                vec![
                    pt(x + col * module),
                    pt(top - (row + 1.0) * module),
                    pt(module),
                    pt(module),
                ],
            ));
        }
        self.current.push(Operation::new("f", vec![]));
    }

    /// The finished document: every page with `footer(page, pages)`
    /// centred under its bottom margin.
    pub(super) fn finish(
        mut self,
        info: &Info,
        footer: impl Fn(usize, usize) -> String,
    ) -> Result<Vec<u8>, super::ConfirmationError> {
        self.done.push(std::mem::take(&mut self.current));
        let total = self.done.len();
        let footer_style = Style::new(Font::Regular, 8.0);
        let footer_y = self.margins.bottom - 24.0;
        let (left, width) = (self.left(), self.width());

        let mut doc = Document::with_version("1.7");
        let pages_id = doc.new_object_id();
        let font = |font: Font| {
            dictionary! {
                "Type" => "Font",
                "Subtype" => "Type1",
                "BaseFont" => font.base_font(),
                "Encoding" => "WinAnsiEncoding",
            }
        };
        let regular = doc.add_object(font(Font::Regular));
        let bold = doc.add_object(font(Font::Bold));
        let resources = doc.add_object(dictionary! {
            "Font" => dictionary! {
                Font::Regular.resource() => regular,
                Font::Bold.resource() => bold,
            },
        });
        let mut kids = Vec::with_capacity(total);
        for (index, mut operations) in self.done.into_iter().enumerate() {
            let text = encode(&footer(index + 1, total));
            let x = Self::aligned_x(left, width, footer_style, &text, Align::Center);
            operations.extend([
                Operation::new("g", vec![pt(0.35)]),
                Operation::new("BT", vec![]),
                Operation::new(
                    "Tf",
                    vec![
                        footer_style.font.resource().into(),
                        footer_style.size.into(),
                    ],
                ),
                Operation::new("Td", vec![pt(x), pt(footer_y)]),
                Operation::new("Tj", vec![Object::string_literal(text)]),
                Operation::new("ET", vec![]),
                Operation::new("g", vec![0.into()]),
            ]);
            let content = Content { operations }.encode()?;
            let content_id = doc.add_object(Stream::new(dictionary! {}, content));
            let page = doc.add_object(dictionary! {
                "Type" => "Page",
                "Parent" => pages_id,
                "Contents" => content_id,
                "Resources" => resources,
            });
            kids.push(Object::Reference(page));
        }
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages",
                "Kids" => kids,
                "Count" => i64::try_from(total).unwrap_or(i64::MAX),
                "MediaBox" => vec![0.into(), 0.into(), pt(PAGE_WIDTH), pt(PAGE_HEIGHT)],
            }),
        );
        let catalog = doc.add_object(dictionary! {
            "Type" => "Catalog",
            "Pages" => pages_id,
        });
        let info_id = doc.add_object(dictionary! {
            "Title" => lopdf::text_string(&info.title),
            "Subject" => lopdf::text_string(&info.subject),
            "Creator" => Object::string_literal("dnsdesk"),
            "Producer" => Object::string_literal("dnsdesk (lopdf)"),
            "CreationDate" => Object::string_literal(info.created.as_str()),
        });
        doc.trailer.set("Root", catalog);
        doc.trailer.set("Info", info_id);
        doc.compress();
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes)?;
        Ok(bytes)
    }
}
