//! Delivers queued e-mail (step d of the service standard: the PD is
//! told). Mail rows are written in the same transaction as the event they
//! report, so none is lost; delivery is at-least-once, with a stable
//! Message-ID per row so a repeat after a crash is recognisable.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::app::App;
use crate::error::ServiceError;
use crate::mailer::{MailMessage, Mailer, PdfAttachment};
use crate::model::OutgoingMail;

/// How often pending mail is looked for without a wake-up.
const POLL: Duration = Duration::from_secs(30);

/// Sends pending mail until `shutdown` turns true.
///
/// Only the instance that runs the periodic work sends
/// ([`crate::periodic`]): two instances reading the same outbox would send
/// each mail twice.
pub async fn run(app: Arc<App>, mailer: Mailer, mut shutdown: watch::Receiver<bool>) {
    let mut leading = app.leading.clone();
    loop {
        if !crate::periodic::until_leading(&mut leading, &mut shutdown).await {
            break;
        }
        deliver_pending(&app, &mailer).await;
        tokio::select! {
            _ = app.mail_queued.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Delivers what is pending now; failures stay queued for the next round.
pub async fn deliver_pending(app: &App, mailer: &Mailer) {
    let pending = match app.store.pending_mail(50).await {
        Ok(pending) => pending,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the outbox");
            return;
        }
    };
    for mail in pending {
        let attachment = match attachment_of(app, &mail) {
            Ok(attachment) => attachment,
            Err(e) => {
                tracing::warn!(mail = mail.id, error = %e, "attachment unreadable; will retry");
                if let Err(e) = app.store.mark_mail_failed(mail.id, &e.to_string()).await {
                    tracing::error!(mail = mail.id, error = %e, "cannot update the outbox");
                }
                continue;
            }
        };
        let message = MailMessage {
            id: mail.id,
            to: mail.recipient.clone(),
            subject: mail.subject.clone(),
            body: mail.body.clone(),
            attachment,
        };
        let result = match mailer.deliver(&message).await {
            Ok(()) => app.store.mark_mail_sent(mail.id).await,
            Err(e) if e.is_retryable() => {
                tracing::warn!(mail = mail.id, error = %e, "mail not delivered; will retry");
                app.store.mark_mail_failed(mail.id, &e.to_string()).await
            }
            Err(e) => {
                tracing::error!(mail = mail.id, error = %e, "mail refused for good; left in the outbox table");
                app.store.abandon_mail(mail.id, &e.to_string()).await
            }
        };
        if let Err(e) = result {
            tracing::error!(mail = mail.id, error = %e, "cannot update the outbox");
        }
    }
}

/// The stored PDF a mail carries, read from the letter store.
///
/// A file that is gone (removed from the data directory by hand) will not
/// come back: the mail goes without it, so the PD is still told, and the
/// loss is logged. Any other read error is worth retrying.
fn attachment_of(app: &App, mail: &OutgoingMail) -> Result<Option<PdfAttachment>, ServiceError> {
    let Some(attachment) = &mail.attachment else {
        return Ok(None);
    };
    match app.letters.read(&attachment.letter) {
        Ok(bytes) => Ok(Some(PdfAttachment {
            file_name: attachment.file_name.clone(),
            bytes,
        })),
        Err(ServiceError::NotFound(_)) => {
            tracing::error!(
                mail = mail.id,
                sha256 = %attachment.letter.sha256,
                "the attached letter is missing from the letter store; sending the mail without it"
            );
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
