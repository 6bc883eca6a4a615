//! The confirmation letter (Surat Konfirmasi Aktivasi Subdomain, step d
//! of the service standard): a PDF made when a request goes active,
//! stored with the request, attached to the PD's e-mail and downloadable.
//!
//! [`render`] is pure: the same letter gives the same bytes, so a worker
//! that renders again after a crash stores the same content-addressed
//! file. The text is Indonesian; the layout follows an official letter of
//! the provincial government: letterhead, title, number and subject,
//! addressee, body, the records as a table, closing, and the issuing
//! unit's block beside a QR code of the public check page.

mod pdf;
#[cfg(test)]
mod tests;

use provisioner::record::RecordInput;
use qrcode::QrCode;
use time::{Date, OffsetDateTime};

use crate::calendar::{WIB, format_wib};
use crate::model::RequestKind;
use pdf::{Align, Font, Info, Margins, Pages, Style, encode, wrap};

/// Everything a confirmation letter states, gathered from the stored
/// request, its history and the verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmationLetter {
    /// The request's reference, e.g. `DNS/2026/000123`; also the letter's
    /// number.
    pub reference: String,
    pub kind: RequestKind,
    pub agency_name: String,
    /// The agency's short code, e.g. `DISDIK`.
    pub agency_code: String,
    /// The subdomain, lowercase, without the trailing dot.
    pub name: String,
    /// The zone it lies in, without the trailing dot.
    pub zone: String,
    /// What the name holds now; ignored for a removal.
    pub records: Vec<RecordInput>,
    /// The number of the PD's request letter (surat permintaan).
    pub letter_number: String,
    pub letter_date: Date,
    pub submitted_at: OffsetDateTime,
    /// The reviewer's approval; None only for a request filed without one.
    pub approved_at: Option<OffsetDateTime>,
    /// The approving reviewer's username.
    pub approved_by: Option<String>,
    /// When the primary accepted the UPDATE (or, after a lost answer, when
    /// the zone was found to hold it).
    pub written_at: Option<OffsetDateTime>,
    /// The zone's SOA serial right after the update.
    pub serial: Option<u32>,
    /// When every authoritative server was found to serve the records.
    pub verified_at: OffsetDateTime,
    /// The authoritative servers that answered with the records.
    pub servers: Vec<String>,
    /// How long resolvers may cache a negative answer for the zone (RFC
    /// 2308 §5: the lesser of the SOA's TTL and its MINIMUM field), in
    /// seconds; None when it could not be read.
    pub negative_ttl: Option<u32>,
    pub issuer: IssuingUnit,
    /// The public check page for the name; the QR code encodes it.
    pub check_url: String,
}

/// Who issues the letter, as its letterhead and closing name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuingUnit {
    /// First line of the letterhead, e.g. `Pemerintah Provinsi Kalimantan
    /// Barat`.
    pub government: String,
    /// The office, e.g. `Dinas Komunikasi dan Informatika`.
    pub office: String,
    /// The office's region, e.g. `Provinsi Kalimantan Barat`.
    pub region: String,
    /// The unit that handles subdomains, e.g. `Bidang Aplikasi
    /// Informatika`.
    pub unit: String,
    /// Where letters are dated, e.g. `Pontianak`.
    pub city: String,
    /// The office's address under the letterhead, when configured; the
    /// unit's name is printed there otherwise.
    pub address: Option<String>,
}

impl Default for IssuingUnit {
    /// Bidang Aplikasi Informatika, Dinas Komunikasi dan Informatika
    /// Provinsi Kalimantan Barat, in Pontianak.
    fn default() -> Self {
        Self {
            government: "Pemerintah Provinsi Kalimantan Barat".to_owned(),
            office: "Dinas Komunikasi dan Informatika".to_owned(),
            region: "Provinsi Kalimantan Barat".to_owned(),
            unit: "Bidang Aplikasi Informatika".to_owned(),
            city: "Pontianak".to_owned(),
            address: None,
        }
    }
}

/// Why a letter could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfirmationError {
    /// The check URL is longer than a QR code holds (2,953 bytes).
    #[error("the check URL does not fit in a QR code: {0}")]
    Qr(#[from] qrcode::types::QrError),
    #[error("cannot build the PDF: {0}")]
    Pdf(#[from] lopdf::Error),
    #[error("cannot write the PDF: {0}")]
    Write(#[from] std::io::Error),
}

/// The file name the letter is sent and downloaded under:
/// `konfirmasi-DNS-2026-000123.pdf`.
pub fn file_name(reference: &str) -> String {
    let stem: String = reference
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("konfirmasi-{stem}.pdf")
}

/// Page margins: 2.5 cm at the binding edge, about 2 cm elsewhere, with
/// room for the footer under the bottom one.
const MARGINS: Margins = Margins {
    top: 48.0,
    bottom: 64.0,
    left: 70.0,
    right: 57.0,
};
const BODY: Style = Style::new(Font::Regular, 10.5);
const BODY_BOLD: Style = Style::new(Font::Bold, 10.5);
const BODY_LEADING: f32 = 14.5;
const SMALL: Style = Style::new(Font::Regular, 9.0);
const SMALL_BOLD: Style = Style::new(Font::Bold, 9.0);
const SMALL_LEADING: f32 = 12.0;
/// The QR code's side, quiet zone excluded: about 2.7 cm.
const QR_SIDE: f32 = 78.0;

/// The record table's column headings, in drawing order.
const TABLE_HEADINGS: [&str; 4] = ["No.", "Jenis", "Nilai", "TTL (detik)"];

/// Renders the letter as a PDF: one A4 page normally, more when the
/// records are long.
pub fn render(letter: &ConfirmationLetter) -> Result<Vec<u8>, ConfirmationError> {
    let qr = QrCode::new(letter.check_url.as_bytes())?;
    let mut pages = Pages::new(MARGINS);
    letterhead(&mut pages, &letter.issuer);
    heading(&mut pages, letter);
    body(&mut pages, letter);
    if letter.kind != RequestKind::Remove {
        records_table(&mut pages, &letter.records);
    }
    history(&mut pages, letter);
    pages.skip(6.0);
    pages.paragraph(
        &cache_note(letter),
        SMALL,
        SMALL_LEADING,
        pages.left(),
        pages.width(),
        Align::Left,
    );
    pages.skip(6.0);
    pages.paragraph(
        "Demikian surat konfirmasi ini kami sampaikan. Atas perhatian dan kerja sama Saudara, \
         kami ucapkan terima kasih.",
        BODY,
        BODY_LEADING,
        pages.left(),
        pages.width(),
        Align::Left,
    );
    pages.skip(10.0);
    closing(&mut pages, letter, &qr);
    let info = Info {
        title: format!("{} {}", title(letter.kind), letter.reference),
        subject: format!("{}: {}", perihal(letter.kind), letter.name),
        created: pdf_date(letter.verified_at),
    };
    let reference = letter.reference.clone();
    pages.finish(&info, move |page, total| footer(&reference, page, total))
}

/// The footer of every page.
fn footer(reference: &str, page: usize, total: usize) -> String {
    format!("Surat konfirmasi {reference} \u{b7} halaman {page} dari {total}")
}

fn title(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Create => "SURAT KONFIRMASI AKTIVASI SUBDOMAIN",
        RequestKind::Change => "SURAT KONFIRMASI PERUBAHAN SUBDOMAIN",
        RequestKind::Remove => "SURAT KONFIRMASI PENGHAPUSAN SUBDOMAIN",
    }
}

fn perihal(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Create => "Konfirmasi aktivasi subdomain",
        RequestKind::Change => "Konfirmasi perubahan rekaman subdomain",
        RequestKind::Remove => "Konfirmasi penghapusan subdomain",
    }
}

/// The letterhead (kop surat): government and office in capitals,
/// centred, over a thick and a thin rule.
fn letterhead(pages: &mut Pages, issuer: &IssuingUnit) {
    let (x, width) = (pages.left(), pages.width());
    let lines = [
        (
            issuer.government.to_uppercase(),
            Style::new(Font::Bold, 13.0),
            15.0,
        ),
        (
            issuer.office.to_uppercase(),
            Style::new(Font::Bold, 15.5),
            19.0,
        ),
        (
            issuer
                .address
                .clone()
                .unwrap_or_else(|| issuer.unit.clone()),
            Style::new(Font::Regular, 9.5),
            13.0,
        ),
    ];
    for (text, style, leading) in lines {
        pages.paragraph(&text, style, leading, x, width, Align::Center);
    }
    let y = pages.y() - 7.0;
    pages.rule(x, x + width, y, 2.0);
    pages.rule(x, x + width, y - 3.0, 0.6);
    pages.set_y(y - 3.0);
}

/// Title, then number, date and subject, then the addressee.
fn heading(pages: &mut Pages, letter: &ConfirmationLetter) {
    let (x, width) = (pages.left(), pages.width());
    pages.skip(10.0);
    let title_style = Style::new(Font::Bold, 12.0);
    let text = encode(title(letter.kind));
    pages.line(&text, title_style, 16.0, x, width, Align::Center);
    let start = Pages::aligned_x(x, width, title_style, &text, Align::Center);
    let under = pages.y() - 2.0;
    pages.rule(start, start + title_style.width(&text), under, 0.8);
    pages.skip(10.0);
    label_rows(
        pages,
        BODY,
        BODY_LEADING,
        62.0,
        &[
            ("Nomor", letter.reference.clone()),
            (
                "Tanggal",
                date_text(letter.verified_at.to_offset(WIB).date()),
            ),
            (
                "Perihal",
                format!("{} {}", perihal(letter.kind), letter.name),
            ),
        ],
    );
    pages.skip(10.0);
    pages.paragraph(
        &format!(
            "Yth. Kepala {} ({})",
            letter.agency_name, letter.agency_code
        ),
        BODY,
        BODY_LEADING,
        x,
        width,
        Align::Left,
    );
    pages.paragraph("di Tempat", BODY, BODY_LEADING, x, width, Align::Left);
}

/// The body: which request, and what became of the name.
fn body(pages: &mut Pages, letter: &ConfirmationLetter) {
    let (x, width) = (pages.left(), pages.width());
    pages.skip(10.0);
    pages.paragraph("Dengan hormat,", BODY, BODY_LEADING, x, width, Align::Left);
    pages.skip(4.0);
    let verified = format_wib(letter.verified_at);
    let outcome = match letter.kind {
        RequestKind::Create => format!(
            "subdomain {} telah aktif sejak {verified} dengan rekaman DNS sebagai berikut:",
            letter.name
        ),
        RequestKind::Change => format!(
            "rekaman DNS subdomain {} telah diubah dan berlaku sejak {verified} sebagai berikut:",
            letter.name
        ),
        RequestKind::Remove => format!(
            "subdomain {} telah dihapus dari zona {} pada {verified}, sehingga nama tersebut \
             tidak lagi memiliki rekaman DNS.",
            letter.name, letter.zone
        ),
    };
    let asked = match letter.kind {
        RequestKind::Create => "permohonan subdomain",
        RequestKind::Change => "permohonan perubahan rekaman subdomain",
        RequestKind::Remove => "permohonan penghapusan subdomain",
    };
    let text = format!(
        "Menindaklanjuti surat Saudara nomor {} tanggal {} perihal {asked}, yang kami terima pada \
         {} dan tercatat dengan nomor registrasi {}, dengan ini kami sampaikan bahwa {outcome}",
        letter.letter_number,
        date_text(letter.letter_date),
        format_wib(letter.submitted_at),
        letter.reference,
    );
    pages.paragraph(&text, BODY, BODY_LEADING, x, width, Align::Left);
}

/// The records, one row each, values wrapped in their column; a row that
/// reaches the bottom margin goes on under the headings repeated on the
/// next page.
fn records_table(pages: &mut Pages, records: &[RecordInput]) {
    let x = pages.left();
    let width = pages.width();
    let widths = [24.0, 52.0, width - 24.0 - 52.0 - 70.0, 70.0];
    let starts = [
        x,
        x + widths[0],
        x + widths[0] + widths[1],
        x + width - widths[3],
    ];
    let pad = 4.0;
    let value_width = widths[2] - 2.0 * pad;
    pages.skip(6.0);
    table_headings(pages, &starts, pad);
    for (i, record) in records.iter().enumerate() {
        let mut lines = wrap(&encode(&record.value), SMALL, value_width);
        if !record.glue.is_empty() {
            let glue = format!("glue: {}", record.glue.join(", "));
            lines.extend(wrap(&encode(&glue), SMALL, value_width));
        }
        let ttl = record
            .ttl
            .map_or_else(|| "bawaan zona".to_owned(), |t| t.to_string());
        // Keep a row's first lines with its number and type.
        let first = lines.len().min(3) as f32 * SMALL_LEADING + 2.0 * pad;
        if pages.room() < first {
            pages.new_page();
            table_headings(pages, &starts, pad);
        }
        pages.skip(pad - 2.0);
        for (n, line) in lines.iter().enumerate() {
            if n > 0 && pages.room() < SMALL_LEADING + pad {
                pages.new_page();
                table_headings(pages, &starts, pad);
            }
            let y = pages.next_line(SMALL_LEADING);
            if n == 0 {
                // Number, type and TTL first, so that a reader extracting
                // the text finds the value's lines in one piece.
                pages.text_at(starts[0] + pad, y, SMALL, &encode(&(i + 1).to_string()));
                pages.text_at(starts[1] + pad, y, SMALL_BOLD, &encode(&record.rtype));
                pages.text_at(starts[3] + pad, y, SMALL, &encode(&ttl));
            }
            pages.text_at(starts[2] + pad, y, SMALL, line);
        }
        let y = pages.y() - pad;
        pages.rule(x, x + width, y, 0.4);
        pages.set_y(y);
    }
}

/// The table's heading row: shaded, ruled above and below.
fn table_headings(pages: &mut Pages, starts: &[f32; 4], pad: f32) {
    let (x, width) = (pages.left(), pages.width());
    let height = 16.0;
    let top = pages.y();
    pages.shade(x, top - height, width, height, 0.88);
    pages.rule(x, x + width, top, 0.6);
    pages.rule(x, x + width, top - height, 0.6);
    for (heading, start) in TABLE_HEADINGS.iter().zip(starts) {
        pages.text_at(start + pad, top - 11.5, SMALL_BOLD, &encode(heading));
    }
    pages.set_y(top - height);
}

/// How the request was handled, step by step.
fn history(pages: &mut Pages, letter: &ConfirmationLetter) {
    pages.skip(10.0);
    pages.paragraph(
        "Riwayat penyelesaian permohonan:",
        BODY_BOLD,
        BODY_LEADING,
        pages.left(),
        pages.width(),
        Align::Left,
    );
    let approval = match (letter.approved_at, &letter.approved_by) {
        (Some(at), Some(by)) => format!("{} oleh {by}", format_wib(at)),
        (Some(at), None) => format_wib(at),
        (None, _) => "-".to_owned(),
    };
    let written = match (letter.written_at, letter.serial) {
        (Some(at), Some(serial)) => format!("{}, nomor seri SOA {serial}", format_wib(at)),
        (Some(at), None) => format_wib(at),
        (None, Some(serial)) => format!("nomor seri SOA {serial}"),
        (None, None) => "-".to_owned(),
    };
    let verified = if letter.servers.is_empty() {
        format_wib(letter.verified_at)
    } else {
        format!(
            "{} pada {} server otoritatif: {}",
            format_wib(letter.verified_at),
            letter.servers.len(),
            letter.servers.join(", ")
        )
    };
    label_rows(
        pages,
        BODY,
        BODY_LEADING,
        150.0,
        &[
            ("Permohonan diterima", format_wib(letter.submitted_at)),
            ("Disetujui", approval),
            ("Diterapkan di server primer", written),
            ("Diverifikasi", verified),
        ],
    );
}

/// What resolvers may still answer: the note the PD needs when a name
/// does not resolve everywhere at once.
fn cache_note(letter: &ConfirmationLetter) -> String {
    let negative = match letter.negative_ttl {
        Some(secs) => format!(
            "TTL negatif zona {}, yaitu {secs} detik{}",
            letter.zone,
            minutes(secs)
        ),
        None => format!(
            "TTL negatif zona {} (nilai minimum pada rekaman SOA zona)",
            letter.zone
        ),
    };
    match letter.kind {
        RequestKind::Create => format!(
            "Catatan: resolver DNS yang telah menanyakan nama ini sebelum diaktifkan dapat masih \
             menyimpan jawaban negatif (nama tidak ditemukan) paling lama selama {negative}. \
             Apabila subdomain belum dapat diakses dari suatu jaringan, mohon tunggu hingga \
             waktu tersebut berlalu."
        ),
        RequestKind::Change => format!(
            "Catatan: resolver DNS dapat masih memberikan rekaman lama hingga TTL rekaman tersebut \
             berakhir, dan resolver yang telah menanyakan jenis rekaman yang baru ditambahkan \
             sebelum perubahan dapat masih menyimpan jawaban negatif paling lama selama \
             {negative}."
        ),
        RequestKind::Remove => "Catatan: resolver DNS yang telah menyimpan rekaman nama ini \
             sebelum dihapus dapat masih memberikannya hingga TTL rekaman tersebut berakhir."
            .to_owned(),
    }
}

/// ` (5 menit)` for whole minutes, ` (sekitar 2 menit)` otherwise, and
/// nothing under a minute.
fn minutes(secs: u32) -> String {
    match secs {
        0..60 => String::new(),
        s if s % 60 == 0 => format!(" ({} menit)", s / 60),
        s => format!(" (sekitar {} menit)", s.saturating_add(30) / 60),
    }
}

/// The issuing unit's block on the right, the QR code of the check page
/// with its address on the left, kept together on one page.
fn closing(pages: &mut Pages, letter: &ConfirmationLetter, qr: &QrCode) {
    let issuer = &letter.issuer;
    let (x, width) = (pages.left(), pages.width());
    let block_x = x + width * 0.55;
    let block_width = width - width * 0.55;
    let signature = [
        (
            format!(
                "{}, {}",
                issuer.city,
                date_text(letter.verified_at.to_offset(WIB).date())
            ),
            BODY,
        ),
        (format!("{},", issuer.unit), BODY_BOLD),
        (issuer.office.clone(), BODY),
        (issuer.region.clone(), BODY),
    ];
    let issued_by = "Dokumen elektronik, diterbitkan oleh dnsdesk.";
    let caption = "Status subdomain dapat diperiksa di:";
    let url_width = width * 0.5;
    let url_lines = wrap(&encode(&letter.check_url), SMALL, url_width);
    let signature_height = signature.len() as f32 * BODY_LEADING + 36.0 + SMALL_LEADING;
    let qr_height = 4.0 + QR_SIDE + 4.0 + (1 + url_lines.len()) as f32 * SMALL_LEADING;
    pages.keep(signature_height.max(qr_height) + 4.0);

    let top = pages.y();
    for (text, style) in &signature {
        pages.paragraph(
            text,
            *style,
            BODY_LEADING,
            block_x,
            block_width,
            Align::Left,
        );
    }
    pages.skip(36.0);
    pages.paragraph(
        issued_by,
        SMALL,
        SMALL_LEADING,
        block_x,
        block_width,
        Align::Left,
    );
    let signature_bottom = pages.y();

    // The code's quiet zone (4 modules) is the white around it.
    // A module size in whole hundredths of a point keeps every module's
    // corner exact in the stream, so neighbours meet without hairlines.
    let module = (QR_SIDE / qr.width() as f32 * 100.0).floor() / 100.0;
    let qr_top = top - 4.0;
    pages.qr(qr, x, qr_top, module);
    pages.set_y(qr_top - QR_SIDE - 4.0);
    pages.paragraph(caption, SMALL, SMALL_LEADING, x, url_width, Align::Left);
    for line in &url_lines {
        pages.line(line, SMALL, SMALL_LEADING, x, url_width, Align::Left);
    }
    pages.set_y(pages.y().min(signature_bottom));
}

/// Rows of `label : value`, the values wrapped beside their labels.
fn label_rows(
    pages: &mut Pages,
    style: Style,
    leading: f32,
    label_width: f32,
    rows: &[(&str, String)],
) {
    let x = pages.left();
    let colon = x + label_width;
    let value_x = colon + 8.0;
    let value_width = pages.right() - value_x;
    for (label, value) in rows {
        for (n, line) in wrap(&encode(value), style, value_width).iter().enumerate() {
            let y = pages.next_line(leading);
            if n == 0 {
                pages.text_at(x, y, style, &encode(label));
                pages.text_at(colon, y, style, b":");
            }
            pages.text_at(value_x, y, style, line);
        }
    }
}

/// A date as Indonesian letters write it: `28 November 2026`.
fn date_text(date: Date) -> String {
    // The calendar's formatter knows the month names; the date is the
    // part before the time.
    let full = format_wib(date.midnight().assume_offset(WIB));
    match full.split_once(", ") {
        Some((day, _)) => day.to_owned(),
        None => full,
    }
}

/// PDF 32000-1 §7.9.4 date, in WIB: `D:20261128140500+07'00'`.
fn pdf_date(at: OffsetDateTime) -> String {
    let t = at.to_offset(WIB);
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}+07'00'",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
