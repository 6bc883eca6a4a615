//! Delivering one queued e-mail: as an RFC 5322 `.eml` file in the outbox
//! directory, or to an SMTP relay.
//!
//! Queueing, retrying and marking mail sent belong to [`crate::outbox`];
//! this module only turns one [`MailMessage`] into a message and hands it
//! over. Delivery is at-least-once, so every message carries a Message-ID
//! derived from its outbox row (`<dnsdesk-mail-{id}@{domain}>`, the domain
//! of the sender address): a repeat after a crash is recognisably the same
//! mail, and in the outbox directory it overwrites the same file. RFC 5322
//! §3.6.4: "it is the meaning that the sender of the message wishes to
//! convey (i.e., whether this is the same message or a different message)
//! that determines whether or not the "Message-ID:" field changes". The id
//! is globally unique as long as one database sends as that domain.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use lettre::Address;
use lettre::address::AddressError;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, Mailboxes, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::MailSettings;

/// Longest file-name slug taken from a subject.
const SLUG_MAX: usize = 48;

/// One e-mail to deliver: plain UTF-8 text to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailMessage {
    /// The outbox row; it makes the Message-ID and the file name.
    pub id: i64,
    /// One address, bare (`it@disdik.kalbarprov.go.id`) or with a display
    /// name (`Dinas Pendidikan <it@disdik.kalbarprov.go.id>`).
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// A password. `Debug` prints `<secret>`, and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(password: String) -> Self {
        Self(password)
    }

    /// The password, for authenticating only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// Where mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// `.eml` files in `dir`, named `<id>-<slug>.eml`, for an administrator
    /// or another program to pick up.
    Outbox { dir: PathBuf },
    /// A relay speaking plain SMTP (no TLS): it is expected on the
    /// office's trusted network, as the configuration documents.
    Smtp {
        host: String,
        port: u16,
        username: Option<String>,
        password: Option<Secret>,
    },
}

impl MailTransport {
    /// The transport `settings` describe: the SMTP relay if one is
    /// configured (its password read from its file now), else the outbox
    /// directory.
    pub fn from_settings(settings: &MailSettings, outbox_dir: PathBuf) -> Result<Self, MailError> {
        let Some(smtp) = &settings.smtp else {
            return Ok(Self::Outbox { dir: outbox_dir });
        };
        let password = match &smtp.password_file {
            Some(path) => Some(read_password(path)?),
            None => None,
        };
        if smtp.username.is_some() != password.is_some() {
            return Err(MailError::IncompleteCredentials {
                host: smtp.host.clone(),
            });
        }
        Ok(Self::Smtp {
            host: smtp.host.clone(),
            port: smtp.port,
            username: smtp.username.clone(),
            password,
        })
    }
}

/// Reads a password file: the password alone, a final line break ignored.
fn read_password(path: &Path) -> Result<Secret, MailError> {
    let text = std::fs::read_to_string(path).map_err(|source| MailError::PasswordFile {
        path: path.to_owned(),
        source,
    })?;
    let password = text.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(MailError::EmptyPassword {
            path: path.to_owned(),
        });
    }
    Ok(Secret::new(password.to_owned()))
}

/// Why a mail was not delivered, or a mailer not built. Each names the
/// address, file, directory or relay at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The recipient is not one valid address. Retrying cannot help.
    #[error("invalid recipient address {address:?}: {source}")]
    InvalidRecipient {
        address: String,
        source: AddressError,
    },
    /// The configured sender is not a valid address.
    #[error("invalid sender address {address:?}: {source}")]
    InvalidSender {
        address: String,
        source: AddressError,
    },
    /// A username without a password file, or the reverse.
    #[error("SMTP relay {host}: a username needs a password file, and a password file a username")]
    IncompleteCredentials { host: String },
    #[error("cannot read SMTP password file {path}: {source}")]
    PasswordFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("SMTP password file {path} is empty")]
    EmptyPassword { path: PathBuf },
    /// The message cannot be assembled from its parts.
    #[error("cannot compose mail {id}: {source}")]
    Compose {
        id: i64,
        source: lettre::error::Error,
    },
    /// The outbox directory cannot be created or written.
    #[error("cannot write mail {id} to outbox {dir}: {source}")]
    Outbox {
        id: i64,
        dir: PathBuf,
        source: std::io::Error,
    },
    /// The relay answered with a permanent (5xx) refusal (RFC 5321
    /// §4.2.1: "the SMTP client SHOULD NOT repeat the exact request").
    #[error("SMTP relay {relay} refused mail {id} to {to}: {source}")]
    Refused {
        relay: String,
        id: i64,
        to: String,
        source: lettre::transport::smtp::Error,
    },
    /// The relay could not be reached, timed out, or answered with a
    /// transient (4xx) refusal.
    #[error("SMTP relay {relay} did not take mail {id}: {source}")]
    Relay {
        relay: String,
        id: i64,
        source: lettre::transport::smtp::Error,
    },
}

impl MailError {
    /// Whether delivering the same mail again later may succeed without
    /// anyone changing it: a full disk, an unreachable or busy relay. An
    /// invalid address or a permanent refusal is not retryable.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Outbox { .. } | Self::Relay { .. })
    }
}

/// Delivers mail from one sender through one transport.
#[derive(Debug, Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: MailTransport,
    delivery: Delivery,
}

/// The transport made ready to use.
#[derive(Debug, Clone)]
enum Delivery {
    Outbox(PathBuf),
    Smtp(SmtpRelay),
}

/// A relay ready to use. lettre's transport hides its credentials in
/// `Debug`.
#[derive(Debug, Clone)]
struct SmtpRelay {
    /// `host:port`, for errors.
    name: String,
    client: AsyncSmtpTransport<Tokio1Executor>,
}

impl Mailer {
    /// A mailer sending as `from` (e.g. `dnsdesk <dnsdesk@kalbarprov.go.id>`)
    /// through `transport`.
    pub fn new(from: &str, transport: MailTransport) -> Result<Self, MailError> {
        let from = from
            .parse::<Mailbox>()
            .map_err(|source| MailError::InvalidSender {
                address: from.to_owned(),
                source,
            })?;
        let delivery = match &transport {
            MailTransport::Outbox { dir } => Delivery::Outbox(dir.clone()),
            MailTransport::Smtp {
                host,
                port,
                username,
                password,
            } => {
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
                        .port(*port);
                if let (Some(username), Some(password)) = (username, password) {
                    builder = builder.credentials(Credentials::new(
                        username.clone(),
                        password.expose().to_owned(),
                    ));
                }
                Delivery::Smtp(SmtpRelay {
                    name: format!("{host}:{port}"),
                    client: builder.build(),
                })
            }
        };
        Ok(Self {
            from,
            transport,
            delivery,
        })
    }

    /// The mailer the configuration describes; `outbox_dir` is used when no
    /// SMTP relay is configured.
    pub fn from_settings(settings: &MailSettings, outbox_dir: PathBuf) -> Result<Self, MailError> {
        Self::new(
            &settings.from,
            MailTransport::from_settings(settings, outbox_dir)?,
        )
    }

    /// Where this mailer delivers.
    pub fn transport(&self) -> &MailTransport {
        &self.transport
    }

    /// The Message-ID of mail `id`: the same on every delivery attempt.
    pub fn message_id(&self, id: i64) -> String {
        format!("<dnsdesk-mail-{id}@{}>", self.from.email.domain())
    }

    /// The message as it will be sent: plain UTF-8 text, quoted-printable
    /// so the Indonesian text stays readable in an `.eml` file and passes
    /// relays without 8BITMIME.
    pub fn compose(&self, mail: &MailMessage) -> Result<Message, MailError> {
        let to = parse_recipient(&mail.to)?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(one_line(&mail.subject))
            .message_id(Some(self.message_id(mail.id)))
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .header(ContentTransferEncoding::QuotedPrintable)
                    .body(mail.body.clone()),
            )
            .map_err(|source| MailError::Compose {
                id: mail.id,
                source,
            })
    }

    /// Delivers one mail. In the outbox directory it replaces the file of
    /// an earlier attempt at the same mail.
    #[tracing::instrument(skip_all, fields(mail = mail.id))]
    pub async fn deliver(&self, mail: &MailMessage) -> Result<(), MailError> {
        let message = self.compose(mail)?;
        match &self.delivery {
            Delivery::Smtp(relay) => {
                relay.client.send(message).await.map_err(|source| {
                    if source.is_permanent() {
                        MailError::Refused {
                            relay: relay.name.clone(),
                            id: mail.id,
                            to: mail.to.clone(),
                            source,
                        }
                    } else {
                        MailError::Relay {
                            relay: relay.name.clone(),
                            id: mail.id,
                            source,
                        }
                    }
                })?;
                tracing::debug!(relay = %relay.name, "mail handed to the relay");
            }
            Delivery::Outbox(dir) => {
                let path = write_to_outbox(dir, &file_name(mail), message.formatted())
                    .await
                    .map_err(|source| MailError::Outbox {
                        id: mail.id,
                        dir: dir.clone(),
                        source,
                    })?;
                tracing::debug!(path = %path.display(), "mail written to the outbox");
            }
        }
        Ok(())
    }
}

/// Exactly one mailbox. A list (`a@x, b@y`) or trailing text is refused
/// rather than half delivered: lettre's mailbox parser stops after the
/// first mailbox and ignores the rest, so bare addresses are checked whole
/// as an [`Address`] and named ones as a one-element [`Mailboxes`].
fn parse_recipient(address: &str) -> Result<Mailbox, MailError> {
    let invalid = |source| MailError::InvalidRecipient {
        address: address.to_owned(),
        source,
    };
    let trimmed = address.trim();
    if !trimmed.contains('<') {
        return trimmed
            .parse::<Address>()
            .map(Mailbox::from)
            .map_err(invalid);
    }
    let mut list = trimmed.parse::<Mailboxes>().map_err(invalid)?.into_iter();
    match (list.next(), list.next()) {
        (Some(mailbox), None) if trimmed.ends_with('>') => Ok(mailbox),
        _ => Err(invalid(AddressError::InvalidInput)),
    }
}

/// A header value on one line: line breaks in a subject would otherwise be
/// a header injection.
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `<id>-<slug>.eml`, the slug made of the subject's ASCII letters and
/// digits (at most [`SLUG_MAX`], cut at a word boundary) so the name is
/// portable and the same on every attempt.
fn file_name(mail: &MailMessage) -> String {
    let mut slug = String::new();
    for c in mail.subject.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    if slug.len() > SLUG_MAX {
        // All ASCII, so any index is a char boundary.
        let mid_word = slug.as_bytes()[SLUG_MAX] != b'-';
        slug.truncate(SLUG_MAX);
        if mid_word && let Some(boundary) = slug.rfind('-') {
            slug.truncate(boundary);
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("{}-mail.eml", mail.id)
    } else {
        format!("{}-{slug}.eml", mail.id)
    }
}

/// Writes `bytes` as `dir/name` so that no reader, and no crash, ever sees
/// half a file: a hidden temporary file in the same directory is written,
/// flushed to disk and renamed over `name`; then the directory itself is
/// flushed so the rename survives a power loss before the mail is marked
/// sent.
async fn write_to_outbox(dir: &Path, name: &str, bytes: Vec<u8>) -> std::io::Result<PathBuf> {
    let dir = dir.to_owned();
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir)?;
        let mut file = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)?;
        file.write_all(&bytes)?;
        file.as_file().sync_all()?;
        let path = dir.join(&name);
        file.persist(&path).map_err(|e| e.error)?;
        sync_dir(&dir)?;
        Ok(path)
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    // Directories cannot be opened for syncing here; the rename is as
    // durable as the platform makes it.
    Ok(())
}

#[cfg(test)]
mod tests {
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
        }
    }

    /// Headers (unfolded, RFC 2047 words decoded) and the decoded body of
    /// an RFC 5322 message with a single text part.
    fn parse_eml(bytes: &[u8]) -> (Vec<(String, String)>, String) {
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
        let encoding = header(&headers, "Content-Transfer-Encoding");
        assert_eq!(encoding, "quoted-printable");
        (headers, decode_quoted_printable(body))
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
                        out.push_str(
                            &String::from_utf8(std::mem::take(&mut bytes)).expect("utf-8"),
                        );
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
        let (headers, body) =
            parse_eml(&std::fs::read(tmp.path().join(&files[0])).expect("read eml"));
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
}
