//! Delivers queued e-mail (step d of the service standard: the PD is
//! told). Mail rows are written in the same transaction as the event they
//! report, so none is lost; delivery is at-least-once, with a stable
//! Message-ID per row so a repeat after a crash is recognisable.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::app::App;
use crate::mailer::{MailMessage, Mailer};

/// How often pending mail is looked for without a wake-up.
const POLL: Duration = Duration::from_secs(30);

/// Sends pending mail until `shutdown` turns true.
pub async fn run(app: Arc<App>, mailer: Mailer, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
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
        let message = MailMessage {
            id: mail.id,
            to: mail.recipient.clone(),
            subject: mail.subject.clone(),
            body: mail.body.clone(),
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
