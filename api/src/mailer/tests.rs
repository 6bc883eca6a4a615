//! Tests of the mailer module.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::*;
use crate::config::SmtpSettings;

const FROM: &str = "dnsdesk <dnsdesk@kalbarprov.go.id>";

fn outbox(dir: &Path) -> Mailer {
    Mailer::new(
        FROM,
        MailTransport::Outbox {
            dir: dir.to_owned(),
        },
    )
    .expect("mailer")
}

fn confirmation() -> MailMessage {
    MailMessage {
        id: 42,
        to: "it@disdik.kalbarprov.go.id".to_owned(),
        subject: "[dnsdesk] Subdomain aktif — ppid.disdik.kalbarprov.go.id (café)".to_owned(),
        body: "Yth. Dinas Pendidikan,\n\n\
               Dengan hormat, bersama ini kami sampaikan bahwa subdomain \
               ppid.disdik.kalbarprov.go.id telah aktif — sesuai permohonan Saudara \
               nomor 005/123/DISDIK-B (résumé: A = 203.0.113.10).\n\
               Baris dengan spasi di akhir \n\n\
               Hormat kami,\nBidang Aplikasi Informatika\n"
            .to_owned(),
        attachment: None,
    }
}

/// Headers (unfolded, RFC 2047 words decoded) and the decoded body of
/// an RFC 5322 message with a single text part.
fn parse_eml(bytes: &[u8]) -> (Vec<(String, String)>, String) {
    let (headers, body) = split_message(bytes);
    let encoding = header(&headers, "Content-Transfer-Encoding");
    assert_eq!(encoding, "quoted-printable");
    (headers, decode_quoted_printable(&body))
}

/// Header fields, name and value, in order.
type Headers = Vec<(String, String)>;

/// The headers and the raw body of a message, or of one MIME part.
fn split_message(bytes: &[u8]) -> (Headers, String) {
    let text = std::str::from_utf8(bytes).expect("a message is ASCII");
    assert!(text.is_ascii(), "non-ASCII byte in the message");
    let (head, body) = text.split_once("\r\n\r\n").expect("header/body separator");
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().expect("continuation after a header");
            last.1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').expect("header line");
            headers.push((name.to_owned(), value.trim_start().to_owned()));
        }
    }
    let headers = headers
        .into_iter()
        .map(|(name, value)| (name, decode_words(&value)))
        .collect::<Vec<_>>();
    (headers, body.to_owned())
}

/// The top-level headers of a `multipart/...` message and its parts
/// (headers and raw body each), split at the boundary its Content-Type
/// names (RFC 2046 §5.1.1).
fn parse_multipart(bytes: &[u8]) -> (Headers, Vec<(Headers, String)>) {
    let (headers, body) = split_message(bytes);
    let content_type = header(&headers, "Content-Type").to_owned();
    let boundary = content_type
        .split_once("boundary=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(boundary, _)| boundary.to_owned())
        .expect("a boundary");
    let delimiter = format!("--{boundary}");
    let mut sections = body.split(delimiter.as_str());
    assert_eq!(sections.next(), Some(""), "no preamble");
    let mut parts = Vec::new();
    for section in sections {
        if section.starts_with("--") {
            break;
        }
        let part = section
            .strip_prefix("\r\n")
            .and_then(|p| p.strip_suffix("\r\n"))
            .expect("a part between line breaks");
        parts.push(split_message(part.as_bytes()));
    }
    (headers, parts)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    let mut values = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str());
    let value = values.next().unwrap_or_else(|| panic!("no {name} header"));
    assert!(values.next().is_none(), "{name} header twice");
    value
}

/// RFC 2047 `=?utf-8?b?...?=` words; whitespace between two encoded
/// words is dropped.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut bytes = Vec::new();
    let mut previous_encoded = false;
    for word in value.split_whitespace() {
        let encoded = word
            .strip_prefix("=?utf-8?b?")
            .and_then(|w| w.strip_suffix("?="));
        match encoded {
            Some(b64) => {
                if !previous_encoded && !out.is_empty() {
                    out.push(' ');
                }
                bytes.extend(BASE64.decode(b64).expect("base64 word"));
                previous_encoded = true;
            }
            None => {
                if !bytes.is_empty() {
                    out.push_str(&String::from_utf8(std::mem::take(&mut bytes)).expect("utf-8"));
                }
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(word);
                previous_encoded = false;
            }
        }
    }
    if !bytes.is_empty() {
        out.push_str(&String::from_utf8(bytes).expect("utf-8"));
    }
    out
}

/// RFC 2045 §6.7 quoted-printable, CRLF line breaks.
fn decode_quoted_printable(body: &str) -> String {
    let mut out = Vec::new();
    let mut lines = body.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        let (line, soft) = match line.strip_suffix('=') {
            Some(rest) => (rest, true),
            None => (line, false),
        };
        let raw = line.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'=' {
                let hex = std::str::from_utf8(&raw[i + 1..i + 3]).expect("hex");
                out.push(u8::from_str_radix(hex, 16).expect("hex digit"));
                i += 3;
            } else {
                out.push(raw[i]);
                i += 1;
            }
        }
        if !soft && lines.peek().is_some() {
            out.extend_from_slice(b"\r\n");
        }
    }
    String::from_utf8(out).expect("utf-8 body")
}

/// The text sent equals the text queued, up to CRLF line breaks and
/// the line break lettre adds after a body.
fn assert_same_text(sent: &str, queued: &str) {
    assert_eq!(
        sent.replace("\r\n", "\n").trim_end_matches('\n'),
        queued.trim_end_matches('\n')
    );
}

fn eml_files(dir: &Path) -> Vec<String> {
    let mut names = std::fs::read_dir(dir)
        .expect("read outbox")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect::<Vec<_>>();
    names.sort();
    names
}

#[tokio::test]
async fn outbox_writes_a_parseable_message() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data/outbox");
    let mail = confirmation();
    outbox(&dir).deliver(&mail).await.expect("delivered");

    let name = "42-dnsdesk-subdomain-aktif-ppid-disdik-kalbarprov.eml";
    assert_eq!(eml_files(&dir), vec![name.to_owned()]);
    let (headers, body) = parse_eml(&std::fs::read(dir.join(name)).expect("read eml"));
    assert_eq!(header(&headers, "From"), FROM);
    assert_eq!(header(&headers, "To"), "it@disdik.kalbarprov.go.id");
    assert_eq!(header(&headers, "Subject"), mail.subject);
    assert_eq!(
        header(&headers, "Message-ID"),
        "<dnsdesk-mail-42@kalbarprov.go.id>"
    );
    assert_eq!(header(&headers, "MIME-Version"), "1.0");
    assert_eq!(
        header(&headers, "Content-Type"),
        "text/plain; charset=utf-8"
    );
    header(&headers, "Date");
    assert_same_text(&body, &mail.body);
}

#[tokio::test]
async fn an_attachment_travels_as_a_pdf_part_beside_the_same_text() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Every byte value: a real PDF holds binary streams.
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend(0u8..=255);
    pdf.extend_from_slice(b"\n%%EOF\n");
    let mail = MailMessage {
        attachment: Some(PdfAttachment {
            file_name: "konfirmasi-DNS-2026-000123.pdf".to_owned(),
            bytes: pdf.clone(),
        }),
        ..confirmation()
    };
    outbox(tmp.path()).deliver(&mail).await.expect("delivered");
    let files = eml_files(tmp.path());
    assert_eq!(
        files,
        vec!["42-dnsdesk-subdomain-aktif-ppid-disdik-kalbarprov.eml".to_owned()]
    );
    let eml = std::fs::read(tmp.path().join(&files[0])).expect("read eml");
    let (headers, parts) = parse_multipart(&eml);
    assert_eq!(header(&headers, "To"), "it@disdik.kalbarprov.go.id");
    assert_eq!(header(&headers, "Subject"), mail.subject);
    assert_eq!(
        header(&headers, "Message-ID"),
        "<dnsdesk-mail-42@kalbarprov.go.id>"
    );
    assert!(
        header(&headers, "Content-Type").starts_with("multipart/mixed;"),
        "{headers:?}"
    );
    assert_eq!(parts.len(), 2, "{parts:?}");

    let (text_headers, text) = &parts[0];
    assert_eq!(
        header(text_headers, "Content-Type"),
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        header(text_headers, "Content-Transfer-Encoding"),
        "quoted-printable"
    );
    assert_same_text(&decode_quoted_printable(text), &mail.body);

    let (pdf_headers, encoded) = &parts[1];
    assert_eq!(header(pdf_headers, "Content-Type"), "application/pdf");
    assert_eq!(
        header(pdf_headers, "Content-Disposition"),
        "attachment; filename=\"konfirmasi-DNS-2026-000123.pdf\""
    );
    assert_eq!(header(pdf_headers, "Content-Transfer-Encoding"), "base64");
    let decoded = BASE64
        .decode(encoded.split_whitespace().collect::<String>())
        .expect("base64");
    assert_eq!(decoded, pdf);
    assert!(!format!("{:?}", mail.attachment).contains("37, 80, 68, 70"));
}

#[tokio::test]
async fn redelivery_replaces_the_same_file_with_the_same_message_id() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mail = confirmation();
    outbox(tmp.path()).deliver(&mail).await.expect("first");
    let first = eml_files(tmp.path());
    // As after a crash between writing and marking the mail sent: a new
    // mailer delivers the same row again.
    outbox(tmp.path()).deliver(&mail).await.expect("again");
    let files = eml_files(tmp.path());
    assert_eq!(files, first, "one file, no temporary files left");
    let (headers, body) = parse_eml(&std::fs::read(tmp.path().join(&files[0])).expect("read eml"));
    assert_eq!(
        header(&headers, "Message-ID"),
        "<dnsdesk-mail-42@kalbarprov.go.id>"
    );
    assert_same_text(&body, &mail.body);
}

#[tokio::test]
async fn an_invalid_recipient_is_not_retryable_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mailer = outbox(tmp.path());
    for to in [
        "disdik.kalbarprov.go.id",
        "it@disdik.kalbarprov.go.id, kepala@disdik.kalbarprov.go.id",
        "Dinas <it@disdik.kalbarprov.go.id> lainnya",
        "",
    ] {
        let mail = MailMessage {
            to: to.to_owned(),
            ..confirmation()
        };
        let err = mailer.deliver(&mail).await.expect_err(to);
        assert!(
            matches!(&err, MailError::InvalidRecipient { address, .. } if address == to),
            "{err}"
        );
        assert!(!err.is_retryable());
        assert!(err.to_string().contains(&format!("{to:?}")), "{err}");
    }
    assert!(eml_files(tmp.path()).is_empty());
}

#[tokio::test]
async fn a_named_recipient_is_accepted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mail = MailMessage {
        to: "\"Dinas Pendidikan, Bidang TI\" <it@disdik.kalbarprov.go.id>".to_owned(),
        ..confirmation()
    };
    let message = outbox(tmp.path()).compose(&mail).expect("composed");
    assert_eq!(
        message
            .envelope()
            .to()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec!["it@disdik.kalbarprov.go.id".to_owned()]
    );
}

#[tokio::test]
async fn an_unwritable_outbox_is_retryable_and_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, b"").expect("write");
    let dir = file.join("outbox");
    let err = outbox(&dir)
        .deliver(&confirmation())
        .await
        .expect_err("cannot create a directory under a file");
    assert!(matches!(&err, MailError::Outbox { dir: d, id: 42, .. } if *d == dir));
    assert!(err.is_retryable());
    assert!(
        err.to_string().contains(&dir.display().to_string()),
        "{err}"
    );
}

#[test]
fn a_subject_cannot_inject_headers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mail = MailMessage {
        subject: "Subdomain aktif\r\nBcc: attacker@example.net".to_owned(),
        ..confirmation()
    };
    let message = outbox(tmp.path()).compose(&mail).expect("composed");
    let (headers, _) = parse_eml(&message.formatted());
    assert_eq!(
        header(&headers, "Subject"),
        "Subdomain aktif Bcc: attacker@example.net"
    );
    assert!(!headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("Bcc")));
    assert_eq!(message.envelope().to().len(), 1);
}

#[test]
fn file_names_are_short_ascii_and_stable() {
    let name = |id, subject: &str| {
        file_name(&MailMessage {
            id,
            subject: subject.to_owned(),
            ..confirmation()
        })
    };
    assert_eq!(name(7, ""), "7-mail.eml");
    assert_eq!(name(7, "— é —"), "7-mail.eml");
    assert_eq!(
        name(8, "Permohonan dikembalikan!"),
        "8-permohonan-dikembalikan.eml"
    );
    let long = name(9, &"abcd ".repeat(40));
    assert_eq!(long, format!("9-{}abcd.eml", "abcd-".repeat(8)));
    let one_word = name(9, &"x".repeat(60));
    assert_eq!(one_word, format!("9-{}.eml", "x".repeat(SLUG_MAX)));
}

#[test]
fn passwords_never_show_in_debug() {
    let transport = MailTransport::Smtp {
        host: "smtp.kalbarprov.go.id".to_owned(),
        port: 25,
        username: Some("dnsdesk".to_owned()),
        password: Some(Secret::new("rahasia-sekali".to_owned())),
    };
    let mailer = Mailer::new(FROM, transport.clone()).expect("mailer");
    for text in [format!("{transport:?}"), format!("{mailer:?}")] {
        assert!(!text.contains("rahasia"), "{text}");
    }
    assert!(format!("{transport:?}").contains("<secret>"));
}

#[test]
fn settings_choose_the_transport() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let outbox_dir = tmp.path().join("outbox");
    let settings = MailSettings::default();
    let mailer = Mailer::from_settings(&settings, outbox_dir.clone()).expect("mailer");
    assert_eq!(
        mailer.transport(),
        &MailTransport::Outbox {
            dir: outbox_dir.clone()
        }
    );
    assert_eq!(mailer.message_id(3), "<dnsdesk-mail-3@kalbarprov.go.id>");

    let password_file = tmp.path().join("smtp.password");
    std::fs::write(&password_file, "rahasia\n").expect("write");
    let relay = |username: Option<&str>, password_file: Option<PathBuf>| MailSettings {
        smtp: Some(SmtpSettings {
            host: "smtp.kalbarprov.go.id".to_owned(),
            port: 587,
            username: username.map(str::to_owned),
            password_file,
        }),
        ..MailSettings::default()
    };
    let transport = MailTransport::from_settings(
        &relay(Some("dnsdesk"), Some(password_file.clone())),
        outbox_dir.clone(),
    )
    .expect("smtp");
    assert_eq!(
        transport,
        MailTransport::Smtp {
            host: "smtp.kalbarprov.go.id".to_owned(),
            port: 587,
            username: Some("dnsdesk".to_owned()),
            password: Some(Secret::new("rahasia".to_owned())),
        }
    );
    let err = MailTransport::from_settings(&relay(Some("dnsdesk"), None), outbox_dir.clone())
        .expect_err("no password");
    assert!(
        matches!(err, MailError::IncompleteCredentials { .. }),
        "{err}"
    );
    let missing = tmp.path().join("absent.password");
    let err = MailTransport::from_settings(
        &relay(Some("dnsdesk"), Some(missing.clone())),
        outbox_dir.clone(),
    )
    .expect_err("absent file");
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );
    let err = MailTransport::from_settings(&relay(None, None), outbox_dir.clone()).map(|t| {
        matches!(
            t,
            MailTransport::Smtp {
                username: None,
                password: None,
                ..
            }
        )
    });
    assert!(matches!(err, Ok(true)));

    let bad_from = MailSettings {
        from: "dnsdesk".to_owned(),
        smtp: None,
    };
    let err = Mailer::from_settings(&bad_from, outbox_dir).expect_err("bad sender");
    assert!(matches!(err, MailError::InvalidSender { .. }), "{err}");
    assert!(!err.is_retryable());
}

/// What a minimal SMTP server saw during one session.
#[derive(Debug, Default)]
struct Session {
    commands: Vec<String>,
    data: String,
}

/// A one-connection SMTP server on a port-0 listener, answering RCPT
/// with `rcpt_reply` and accepting anything else it understands.
async fn smtp_sink(rcpt_reply: &'static str) -> (SocketAddr, JoinHandle<Session>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let mut session = Session::default();
        write.write_all(b"220 sink ESMTP\r\n").await.expect("greet");
        while let Some(line) = lines.next_line().await.expect("read") {
            let verb = line
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            session.commands.push(line);
            let reply = match verb.as_str() {
                "EHLO" => "250-sink\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
                "AUTH" => "235 2.7.0 accepted\r\n",
                "MAIL" => "250 2.1.0 ok\r\n",
                "RCPT" => rcpt_reply,
                "DATA" => {
                    write.write_all(b"354 go ahead\r\n").await.expect("354");
                    let mut data = Vec::new();
                    while let Some(line) = lines.next_line().await.expect("data") {
                        if line == "." {
                            break;
                        }
                        data.push(line.strip_prefix('.').map_or(line.clone(), str::to_owned));
                    }
                    session.data = data.join("\r\n");
                    "250 2.0.0 queued\r\n"
                }
                "QUIT" => {
                    write.write_all(b"221 bye\r\n").await.expect("221");
                    break;
                }
                _ => "502 5.5.2 not implemented\r\n",
            };
            write.write_all(reply.as_bytes()).await.expect("reply");
        }
        session
    });
    (addr, task)
}

fn relay(addr: SocketAddr, credentials: Option<(&str, &str)>) -> Mailer {
    Mailer::new(
        FROM,
        MailTransport::Smtp {
            host: addr.ip().to_string(),
            port: addr.port(),
            username: credentials.map(|(u, _)| u.to_owned()),
            password: credentials.map(|(_, p)| Secret::new(p.to_owned())),
        },
    )
    .expect("mailer")
}

async fn finished(task: JoinHandle<Session>) -> Session {
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("SMTP session ends")
        .expect("sink task")
}

#[tokio::test]
async fn smtp_delivers_with_credentials() {
    let (addr, sink) = smtp_sink("250 2.1.5 ok\r\n").await;
    let mail = confirmation();
    relay(addr, Some(("dnsdesk", "rahasia")))
        .deliver(&mail)
        .await
        .expect("delivered");
    let session = finished(sink).await;
    let auth = session
        .commands
        .iter()
        .find_map(|c| c.strip_prefix("AUTH PLAIN "))
        .expect("AUTH PLAIN");
    assert_eq!(BASE64.decode(auth).expect("base64"), b"\0dnsdesk\0rahasia");
    assert!(
        session
            .commands
            .iter()
            .any(|c| c.starts_with("MAIL FROM:<dnsdesk@kalbarprov.go.id>"))
    );
    assert!(
        session
            .commands
            .iter()
            .any(|c| c.starts_with("RCPT TO:<it@disdik.kalbarprov.go.id>"))
    );
    let (headers, body) = parse_eml(session.data.as_bytes());
    assert_eq!(
        header(&headers, "Message-ID"),
        "<dnsdesk-mail-42@kalbarprov.go.id>"
    );
    assert_eq!(header(&headers, "Subject"), mail.subject);
    assert_same_text(&body, &mail.body);
}

#[tokio::test]
async fn smtp_without_credentials_does_not_authenticate() {
    let (addr, sink) = smtp_sink("250 2.1.5 ok\r\n").await;
    relay(addr, None)
        .deliver(&confirmation())
        .await
        .expect("delivered");
    let session = finished(sink).await;
    assert!(!session.commands.iter().any(|c| c.starts_with("AUTH")));
}

#[tokio::test]
async fn a_permanent_refusal_is_not_retryable() {
    let (addr, sink) = smtp_sink("550 5.1.1 no such mailbox\r\n").await;
    let err = relay(addr, None)
        .deliver(&confirmation())
        .await
        .expect_err("refused");
    assert!(matches!(err, MailError::Refused { .. }), "{err}");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    finished(sink).await;
}

#[tokio::test]
async fn a_transient_refusal_is_retryable() {
    let (addr, sink) = smtp_sink("451 4.3.0 try again later\r\n").await;
    let err = relay(addr, None)
        .deliver(&confirmation())
        .await
        .expect_err("deferred");
    assert!(matches!(err, MailError::Relay { .. }), "{err}");
    assert!(err.is_retryable());
    finished(sink).await;
}

#[tokio::test]
async fn an_unreachable_relay_is_retryable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    let err = relay(addr, None)
        .deliver(&confirmation())
        .await
        .expect_err("nobody listens");
    assert!(matches!(err, MailError::Relay { .. }), "{err}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}
