//! Tests of the confirmation letter: rendered, then read back as any PDF
//! reader would (lopdf's text extraction and content parser).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use lopdf::Document;
use qrcode::{Color, QrCode};
use time::macros::{date, datetime};

use super::pdf::{Font, PAGE_WIDTH, Style, encode, wrap};
use super::*;

const URL: &str = "https://dnsdesk.kalbarprov.go.id/check?name=ppdb.kalbarprov.go.id";

fn record(rtype: &str, value: &str, ttl: Option<u32>) -> RecordInput {
    RecordInput {
        rtype: rtype.to_owned(),
        value: value.to_owned(),
        ttl,
        glue: Vec::new(),
    }
}

fn letter(kind: RequestKind, records: Vec<RecordInput>) -> ConfirmationLetter {
    ConfirmationLetter {
        reference: "DNS/2026/000123".to_owned(),
        kind,
        agency_name: "Dinas Pendidikan".to_owned(),
        agency_code: "DISDIK".to_owned(),
        name: "ppdb.kalbarprov.go.id".to_owned(),
        zone: "kalbarprov.go.id".to_owned(),
        records,
        letter_number: "005/123/DISDIK-B/2026".to_owned(),
        letter_date: date!(2026 - 11 - 20),
        submitted_at: datetime!(2026-11-23 01:15 UTC),
        approved_at: Some(datetime!(2026-11-27 03:40 UTC)),
        approved_by: Some("reviewer1".to_owned()),
        written_at: Some(datetime!(2026-11-28 07:04:58 UTC)),
        serial: Some(2026112803),
        verified_at: datetime!(2026-11-28 07:05:03 UTC),
        servers: vec!["192.0.2.53:53".to_owned(), "198.51.100.53:53".to_owned()],
        negative_ttl: Some(300),
        issuer: IssuingUnit::default(),
        check_url: URL.to_owned(),
    }
}

fn create_letter() -> ConfirmationLetter {
    letter(
        RequestKind::Create,
        vec![
            record("A", "203.0.113.80", Some(300)),
            record("AAAA", "2001:db8::80", Some(300)),
            record("TXT", "v=spf1 include:_spf.kalbarprov.go.id -all", None),
        ],
    )
}

/// The text of every page, in order, as extracted.
fn text_of(pdf: &[u8]) -> (Document, String) {
    let doc = Document::load_mem(pdf).expect("a PDF lopdf reads");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).expect("text");
    (doc, text)
}

/// The extracted text as one line, without the footers and the table
/// headings repeated on continuation pages: what a value wrapped over
/// lines and pages reads as.
fn flat(doc: &Document, text: &str, reference: &str) -> String {
    let total = doc.get_pages().len();
    let mut flat = text.replace('\n', "");
    for page in 1..=total {
        flat = flat.replace(&footer(reference, page, total), "");
    }
    flat.replace(&TABLE_HEADINGS.concat(), "")
}

/// Every `re` of every page: (x, y, width).
fn rectangles(doc: &Document) -> Vec<(f32, f32, f32)> {
    let mut out = Vec::new();
    for page in doc.get_pages().values() {
        let content = doc.get_and_decode_page_content(*page).expect("content");
        for op in content.operations.iter().filter(|op| op.operator == "re") {
            let n: Vec<f32> = op
                .operands
                .iter()
                .map(|o| o.as_float().expect("number"))
                .collect();
            assert_eq!(n.len(), 4, "{op:?}");
            assert!((n[2] - n[3]).abs() < 1e-3, "modules are square: {op:?}");
            out.push((n[0], n[1], n[2]));
        }
    }
    out
}

/// The QR drawn on the letter is the code of `url`: as many squares as
/// the code has dark modules, each where that module is.
fn assert_qr_of(doc: &Document, url: &str) {
    let code = QrCode::new(url.as_bytes()).expect("code");
    let width = code.width();
    let expected: BTreeSet<(usize, usize)> = code
        .to_colors()
        .into_iter()
        .enumerate()
        .filter(|(_, c)| *c == Color::Dark)
        .map(|(i, _)| (i % width, i / width))
        .collect();
    let drawn = rectangles(doc);
    assert_eq!(drawn.len(), expected.len(), "one square per dark module");
    let module = drawn[0].2;
    // The finder pattern puts dark modules in the first row and column.
    let left = drawn.iter().map(|r| r.0).fold(f32::INFINITY, f32::min);
    let top = drawn
        .iter()
        .map(|r| r.1 + module)
        .fold(f32::NEG_INFINITY, f32::max);
    let at: BTreeSet<(usize, usize)> = drawn
        .iter()
        .map(|&(x, y, _)| {
            (
                ((x - left) / module).round() as usize,
                ((top - y - module) / module).round() as usize,
            )
        })
        .collect();
    assert_eq!(at, expected);
}

/// No text runs past the right margin or into the footer: reads each
/// text object's font, size and position and measures its string.
fn assert_text_inside_margins(doc: &Document) {
    for page in doc.get_pages().values() {
        let content = doc.get_and_decode_page_content(*page).expect("content");
        let (mut font, mut size, mut x, mut y) = (Font::Regular, 0.0, 0.0, 0.0);
        for op in &content.operations {
            match op.operator.as_str() {
                "Tf" => {
                    font = match op.operands[0].as_name().expect("font") {
                        b"F1" => Font::Regular,
                        b"F2" => Font::Bold,
                        other => panic!("unknown font {other:?}"),
                    };
                    size = op.operands[1].as_float().expect("size");
                }
                "Td" => {
                    x = op.operands[0].as_float().expect("x");
                    y = op.operands[1].as_float().expect("y");
                }
                "Tj" => {
                    let text = op.operands[0].as_str().expect("string");
                    let visible = text.trim_ascii_end();
                    let right = x + Style::new(font, size).width(visible);
                    assert!(
                        right <= PAGE_WIDTH - MARGINS.right + 0.01,
                        "{:?} ends at {right}",
                        String::from_utf8_lossy(text)
                    );
                    assert!(x >= MARGINS.left - 0.01, "starts at {x}");
                    let is_footer = size == 8.0;
                    assert!(
                        is_footer || y >= MARGINS.bottom - 0.01,
                        "{:?} at {y}, under the bottom margin",
                        String::from_utf8_lossy(text)
                    );
                }
                _ => {}
            }
        }
    }
}

#[test]
fn a_creation_letter_states_the_request_records_note_and_check_page() {
    let letter = create_letter();
    let pdf = render(&letter).expect("render");
    assert!(pdf.starts_with(b"%PDF-"));
    let (doc, text) = text_of(&pdf);
    assert_eq!(doc.get_pages().len(), 1, "one page: {text}");
    for expected in [
        "PEMERINTAH PROVINSI KALIMANTAN BARAT",
        "DINAS KOMUNIKASI DAN INFORMATIKA",
        "SURAT KONFIRMASI AKTIVASI SUBDOMAIN",
        "DNS/2026/000123",
        "Yth. Kepala Dinas Pendidikan (DISDIK)",
        "ppdb.kalbarprov.go.id",
        "005/123/DISDIK-B/2026",
        "20 November 2026",
        "28 November 2026, 14.05 WIB",
        "203.0.113.80",
        "2001:db8::80",
        "v=spf1 include:_spf.kalbarprov.go.id -all",
        "bawaan zona",
        "reviewer1",
        "nomor seri SOA 2026112803",
        "192.0.2.53:53, 198.51.100.53:53",
        "Bidang Aplikasi Informatika,",
        "Pontianak, 28 November 2026",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from\n{text}");
    }
    let flat = flat(&doc, &text, &letter.reference);
    assert!(
        flat.contains("menyimpan jawaban negatif (nama tidak ditemukan) paling lama selama TTL negatif zona kalbarprov.go.id, yaitu 300 detik (5 menit)."),
        "{flat}"
    );
    assert!(flat.contains(URL), "{flat}");
    assert!(!text.contains("dihapus"));
    assert_qr_of(&doc, URL);
    assert_text_inside_margins(&doc);
}

#[test]
fn rendering_is_deterministic() {
    let letter = create_letter();
    assert_eq!(
        render(&letter).expect("first"),
        render(&letter).expect("second")
    );
    let mut other = letter.clone();
    other.serial = Some(2026112804);
    assert_ne!(
        render(&letter).expect("first"),
        render(&other).expect("changed")
    );
}

#[test]
fn an_unknown_negative_ttl_is_named_without_a_number() {
    let mut letter = create_letter();
    letter.negative_ttl = None;
    let (doc, text) = text_of(&render(&letter).expect("render"));
    let flat = flat(&doc, &text, &letter.reference);
    assert!(
        flat.contains("TTL negatif zona kalbarprov.go.id (nilai minimum pada rekaman SOA zona)"),
        "{flat}"
    );
    assert!(!flat.contains("detik ("), "{flat}");
}

#[test]
fn a_removal_letter_says_removed_and_lists_no_records() {
    // Records given to a removal are not printed: a removed name holds
    // nothing.
    let letter = letter(
        RequestKind::Remove,
        vec![record("A", "203.0.113.99", Some(300))],
    );
    let (doc, text) = text_of(&render(&letter).expect("render"));
    let flat = flat(&doc, &text, &letter.reference);
    assert!(
        text.contains("SURAT KONFIRMASI PENGHAPUSAN SUBDOMAIN"),
        "{text}"
    );
    assert!(
        flat.contains("subdomain ppdb.kalbarprov.go.id telah dihapus dari zona kalbarprov.go.id"),
        "{flat}"
    );
    assert!(text.contains("DNS/2026/000123") && text.contains("Dinas Pendidikan"));
    for heading in TABLE_HEADINGS {
        assert!(!text.contains(heading), "{heading:?} in\n{text}");
    }
    assert!(!text.contains("203.0.113.99"));
    assert!(flat.contains(URL));
    assert_qr_of(&doc, URL);
}

/// A DKIM-like TXT value: one long word after a few short ones.
fn long_txt(len: usize) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut value = "v=DKIM1; k=rsa; p=".to_owned();
    let mut seed: u32 = 0x2026_1128;
    while value.len() < len {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        value.push(char::from(B64[(seed >> 26) as usize]));
    }
    value
}

#[test]
fn a_long_txt_value_is_wrapped_inside_the_margins() {
    let value = long_txt(2_000);
    let letter = letter(
        RequestKind::Create,
        vec![
            record("TXT", &value, Some(3600)),
            record("A", "203.0.113.80", Some(300)),
        ],
    );
    let (doc, text) = text_of(&render(&letter).expect("render"));
    let flat = flat(&doc, &text, &letter.reference);
    assert!(flat.contains(&value), "the value, whole, in\n{text}");
    assert!(text.contains("203.0.113.80"));
    assert!(flat.contains(URL));
    assert_text_inside_margins(&doc);
    assert_qr_of(&doc, URL);
}

#[test]
fn records_too_long_for_a_page_continue_on_the_next_under_repeated_headings() {
    let value = long_txt(8_000);
    let letter = letter(
        RequestKind::Change,
        vec![
            record("TXT", &value, None),
            record("AAAA", "2001:db8::80", Some(300)),
        ],
    );
    let (doc, text) = text_of(&render(&letter).expect("render"));
    let total = doc.get_pages().len();
    assert!(total >= 3, "{total} pages");
    for page in 1..=total {
        assert!(text.contains(&footer(&letter.reference, page, total)));
    }
    assert!(
        text.matches("Nilai").count() >= 2,
        "headings repeated:\n{text}"
    );
    let flat = flat(&doc, &text, &letter.reference);
    assert!(flat.contains(&value));
    assert!(text.contains("2001:db8::80"));
    assert!(text.contains("SURAT KONFIRMASI PERUBAHAN SUBDOMAIN"));
    assert_text_inside_margins(&doc);
    assert_qr_of(&doc, URL);
}

#[test]
fn text_outside_latin_1_is_transliterated_or_replaced() {
    assert_eq!(encode("café – “ok”"), b"caf\xe9 \x96 \x93ok\x94");
    assert_eq!(encode("a\nb\tc"), b"a b c");
    assert_eq!(encode("Ł✓"), b"L?");
    let mut letter = create_letter();
    letter.agency_name = "Dinas Pariwisata – Café ✓".to_owned();
    let (_, text) = text_of(&render(&letter).expect("render"));
    assert!(text.contains("Dinas Pariwisata – Café ?"), "{text}");
}

#[test]
fn wrapped_lines_fit_and_join_back_to_the_text() {
    let style = Style::new(Font::Regular, 10.0);
    let text = encode(
        "Menindaklanjuti surat Saudara nomor 005/123 tentang subdomain ppdb, kami sampaikan bahwa itu aktif.",
    );
    for width in [40.0, 100.0, 250.0, 1000.0] {
        let lines = wrap(&text, style, width);
        assert_eq!(lines.concat(), text, "width {width}");
        for line in &lines {
            assert!(
                style.width(line.trim_ascii_end()) <= width,
                "{line:?} at {width}"
            );
        }
    }
    assert_eq!(wrap(b"", style, 100.0), vec![Vec::<u8>::new()]);
    // A word wider than the line is cut, never dropped.
    let word = b"abcdefghijklmnopqrstuvwxyz";
    let lines = wrap(word, style, 30.0);
    assert!(lines.len() > 1);
    assert_eq!(lines.concat(), word);
    // A URL breaks after a separator near the end of the line.
    let url = encode(URL);
    let lines = wrap(&url, style, style.width(&url[..URL.len() - 8]));
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].ends_with(b"ppdb."),
        "{:?}",
        String::from_utf8_lossy(&lines[0])
    );
}

#[test]
fn names_and_durations_read_as_people_write_them() {
    assert_eq!(
        file_name("DNS/2026/000123"),
        "konfirmasi-DNS-2026-000123.pdf"
    );
    assert_eq!(minutes(30), "");
    assert_eq!(minutes(300), " (5 menit)");
    assert_eq!(minutes(90), " (sekitar 2 menit)");
    assert_eq!(date_text(date!(2026 - 01 - 05)), "5 Januari 2026");
    assert_eq!(
        pdf_date(datetime!(2026-11-28 07:05:03 UTC)),
        "D:20261128140503+07'00'"
    );
}

#[test]
fn a_url_too_long_for_a_qr_code_is_an_error() {
    let mut letter = create_letter();
    letter.check_url = format!("https://x/check?name={}", "a".repeat(4_000));
    assert!(matches!(render(&letter), Err(ConfirmationError::Qr(_))));
}
