//! Outgoing mail: the confirmation queued with its letter attached, and
//! delivery marked sent or failed.

use super::TestDb;
use super::fixture::{Fixture, mail};
use crate::model::{Letter, MailAttachment};
use crate::store::StoreError;

on_both_databases! {
    activation_records_the_confirmation_and_attaches_it_to_the_mail,
    half_an_attachment_is_refused_by_the_schema,
    mail_is_marked_sent_or_failed,
}

async fn activation_records_the_confirmation_and_attaches_it_to_the_mail(db: TestDb) {
    let f = Fixture::new(db).await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    let job = f.to_verifying(request.id).await;
    let confirmation = MailAttachment {
        letter: Letter {
            sha256: "ab".repeat(32),
            size: 4_321,
        },
        file_name: "konfirmasi-DNS-2026-000001.pdf".to_owned(),
    };
    let active = f
        .activate(request.id, &job, Some(confirmation.clone()))
        .await;
    assert_eq!(active.confirmation, Some(confirmation.letter.clone()));
    assert_eq!(
        f.store
            .request(request.id)
            .await
            .expect("read")
            .expect("request")
            .confirmation,
        Some(confirmation.letter.clone())
    );
    let pending = f.store.pending_mail(10).await.expect("mail");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attachment, Some(confirmation.clone()));
    // The letter's hash is in the audit chain with its issue.
    assert_eq!(
        f.count(&format!(
            "SELECT COUNT(*) FROM audit_log
             WHERE {} = 'abababababababababababababababababababababababababababababababab'",
            f.db.json_text("detail", "confirmation_sha256")
        ))
        .await,
        1
    );

    // Mail queued on its own stays plain text, and so does a confirmation
    // without a letter.
    f.store.queue_mail(mail()).await.expect("queue");
    let other = f.submit("spmb.kalbarprov.go.id").await;
    let job = f.to_verifying(other.id).await;
    let plain = f.activate(other.id, &job, None).await;
    assert_eq!(plain.confirmation, None);
    let pending = f.store.pending_mail(10).await.expect("mail");
    assert_eq!(pending.len(), 3);
    assert!(pending[1..].iter().all(|m| m.attachment.is_none()));
}

async fn half_an_attachment_is_refused_by_the_schema(db: TestDb) {
    let f = Fixture::new(db).await;
    let half =
        f.db.execute(
            "INSERT INTO outbox (recipient, subject, body, attachment_sha256, created_at)
             VALUES ('a@b.test', 's', 'b', 'abc', 0)",
        )
        .await;
    assert!(half.is_err(), "{half:?}");
    // Refused for the half attachment, not for the rest of the row.
    f.db.execute(
        "INSERT INTO outbox (recipient, subject, body, attachment_sha256, attachment_size,
             attachment_name, created_at)
         VALUES ('a@b.test', 's', 'b', 'abc', 3, 'a.pdf', 0)",
    )
    .await
    .expect("a whole attachment");
}

async fn mail_is_marked_sent_or_failed(db: TestDb) {
    let f = Fixture::new(db).await;
    let request = f.submit("ppdb.kalbarprov.go.id").await;
    let job = f.to_verifying(request.id).await;
    f.activate(request.id, &job, None).await;
    let id = f.store.pending_mail(10).await.expect("pending")[0].id;
    f.store
        .mark_mail_failed(id, "connection refused")
        .await
        .expect("failed");
    assert_eq!(
        f.store.pending_mail(10).await.expect("pending")[0].attempts,
        1
    );
    f.store.mark_mail_sent(id).await.expect("sent");
    assert!(f.store.pending_mail(10).await.expect("pending").is_empty());
    assert!(matches!(
        f.store.mark_mail_sent(999).await,
        Err(StoreError::NotFound(_))
    ));
}
