//! Delivering one queued e-mail: as an RFC 5322 `.eml` file in the outbox
//! directory, or to an SMTP relay. A mail is plain text, or text with one
//! PDF attached (the confirmation letter) as a `multipart/mixed` message
//! (RFC 2046 §5.1.3).
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
use lettre::message::header::{ContentTransferEncoding, ContentType, ContentTypeErr};
use lettre::message::{Attachment, Mailbox, Mailboxes, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::MailSettings;

/// Longest file-name slug taken from a subject.
const SLUG_MAX: usize = 48;

/// One e-mail to deliver: plain UTF-8 text to one recipient, with at
/// most one PDF attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailMessage {
    /// The outbox row; it makes the Message-ID and the file name.
    pub id: i64,
    /// One address, bare (`it@disdik.kalbarprov.go.id`) or with a display
    /// name (`Dinas Pendidikan <it@disdik.kalbarprov.go.id>`).
    pub to: String,
    pub subject: String,
    pub body: String,
    pub attachment: Option<PdfAttachment>,
}

/// A PDF sent with a mail. `Debug` shows its size, not its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct PdfAttachment {
    /// The name the recipient sees, e.g. `konfirmasi-DNS-2026-000123.pdf`.
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for PdfAttachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PdfAttachment")
            .field("file_name", &self.file_name)
            .field("bytes", &self.bytes.len())
            .finish()
    }
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
    /// The attachment's media type was refused by lettre's parser (it is
    /// a constant: a failure is a bug, and retrying cannot help).
    #[error("cannot compose mail {id}: attachment type: {source}")]
    AttachmentType { id: i64, source: ContentTypeErr },
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
    /// relays without 8BITMIME. With an attachment, that text is the first
    /// part of a `multipart/mixed` message and the PDF (base64) the second.
    pub fn compose(&self, mail: &MailMessage) -> Result<Message, MailError> {
        let to = parse_recipient(&mail.to)?;
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(one_line(&mail.subject))
            .message_id(Some(self.message_id(mail.id)));
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .header(ContentTransferEncoding::QuotedPrintable)
            .body(mail.body.clone());
        let message = match &mail.attachment {
            None => builder.singlepart(text),
            Some(pdf) => {
                let pdf_type = ContentType::parse("application/pdf").map_err(|source| {
                    MailError::AttachmentType {
                        id: mail.id,
                        source,
                    }
                })?;
                let attachment =
                    Attachment::new(one_line(&pdf.file_name)).body(pdf.bytes.clone(), pdf_type);
                builder.multipart(MultiPart::mixed().singlepart(text).singlepart(attachment))
            }
        };
        message.map_err(|source| MailError::Compose {
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
mod tests;
