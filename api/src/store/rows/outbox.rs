//! The rows of `outbox`.

use super::requests::stored_letter;
use crate::model::{MailAttachment, OutgoingMail, RequestId};
use crate::store::codec::corrupt;
use crate::store::{StoreError, StoreResult};

/// The columns of `outbox` that [`MailRow`] reads.
macro_rules! mail_columns {
    () => {
        "id, request_id, recipient, subject, body, attachment_sha256, attachment_size, \
         attachment_name, attempts"
    };
}
pub(in crate::store) use mail_columns;

/// A row of `outbox`.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct MailRow {
    id: i64,
    request_id: Option<i64>,
    recipient: String,
    subject: String,
    body: String,
    attachment_sha256: Option<String>,
    attachment_size: Option<i64>,
    attachment_name: Option<String>,
    attempts: i64,
}

impl TryFrom<MailRow> for OutgoingMail {
    type Error = StoreError;

    fn try_from(row: MailRow) -> StoreResult<Self> {
        let letter = stored_letter(
            "outbox.attachment_sha256",
            row.attachment_sha256,
            row.attachment_size,
        )?;
        let attachment = match (letter, row.attachment_name) {
            (Some(letter), Some(file_name)) => Some(MailAttachment { letter, file_name }),
            (None, None) => None,
            _ => {
                return Err(corrupt(
                    "outbox.attachment_name",
                    "an attachment needs both its file and its name",
                ));
            }
        };
        Ok(OutgoingMail {
            id: row.id,
            request_id: row.request_id.map(RequestId),
            recipient: row.recipient,
            subject: row.subject,
            body: row.body,
            attachment,
            attempts: row.attempts,
        })
    }
}

/// Fails with "mail not found" when an update of one mail changed no row.
pub(in crate::store) fn found(changed: u64) -> StoreResult<()> {
    if changed == 0 {
        return Err(StoreError::NotFound("mail"));
    }
    Ok(())
}
