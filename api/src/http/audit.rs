//! `GET /api/v1/audit`: the audit log for network admins and admins, as a
//! JSON page or, with `format=csv` or `format=jsonl`, every matching entry
//! as a download.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ErrorBody};
use super::extract::CurrentUser;
use crate::app::App;
use crate::audit::AuditEntry;
use crate::error::ServiceError;
use crate::service::audit::{self, AuditQuery};

/// An entry as stored (time in UTC), with its time in WIB for people.
#[derive(Debug, Serialize)]
pub struct EntryView {
    #[serde(flatten)]
    pub entry: AuditEntry,
    /// e.g. `28 November 2026, 17.44 WIB`.
    pub at_wib: String,
}

/// A page of audit entries, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<EntryView>,
    /// How many entries match, counted up to 1,000.
    pub total: i64,
    /// False when more than `total` entries match: narrow the filter.
    pub total_exact: bool,
}

/// How to answer.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FormatParam {
    /// `json` (a page, default), `csv` or `jsonl` (every match, oldest
    /// first).
    pub format: Option<String>,
}

/// Read the audit log (netadmin, admin).
#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery, FormatParam), tag = "audit",
    responses((status = 200, body = AuditPage), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    State(app): State<Arc<App>>,
    CurrentUser(user): CurrentUser,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
    format: Result<Query<FormatParam>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let bad_query = |e: axum::extract::rejection::QueryRejection| {
        ApiError::malformed(Some("query".to_owned()), e.body_text())
    };
    let Query(query) = query.map_err(bad_query)?;
    let Query(format) = format.map_err(bad_query)?;
    let filter = audit::filter(app.store.as_ref(), &query).await?;
    match format.format.as_deref().unwrap_or("json") {
        "json" => {
            let page = audit::page(app.store.as_ref(), &user, &filter).await?;
            Ok(Json(AuditPage {
                items: page
                    .items
                    .into_iter()
                    .map(|entry| EntryView {
                        at_wib: crate::calendar::format_wib(entry.at),
                        entry,
                    })
                    .collect(),
                total: page.total.value(),
                total_exact: page.total.is_exact(),
            })
            .into_response())
        }
        "csv" => {
            let entries = audit::export(app.store.as_ref(), &user, &filter).await?;
            Ok(download(
                "text/csv; charset=utf-8",
                "audit.csv",
                to_csv(&entries),
            ))
        }
        "jsonl" => {
            let entries = audit::export(app.store.as_ref(), &user, &filter).await?;
            let mut body = String::new();
            for entry in &entries {
                body.push_str(&serde_json::to_string(entry).unwrap_or_default());
                body.push('\n');
            }
            Ok(download("application/jsonl", "audit.jsonl", body))
        }
        _ => Err(ApiError(ServiceError::invalid(
            "format",
            "must be json, csv or jsonl",
        ))),
    }
}

pub(crate) fn download(content_type: &'static str, file: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// RFC 4180 CSV with a header row; `detail` as canonical JSON.
pub(crate) fn to_csv(entries: &[AuditEntry]) -> String {
    let mut out =
        String::from("seq,at,action,actor,agency_id,name,request_id,detail,prev_hash,hash\r\n");
    for e in entries {
        let at =
            e.at.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
        let fields = [
            e.seq.to_string(),
            at,
            e.action.clone(),
            e.actor.clone(),
            e.agency_id.map(|a| a.to_string()).unwrap_or_default(),
            e.name.clone().unwrap_or_default(),
            e.request_id.map(|r| r.to_string()).unwrap_or_default(),
            crate::audit::canonical_json(&e.detail),
            e.prev_hash.clone(),
            e.hash.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Quotes a field when it holds a comma, quote or line break (RFC 4180
/// §2.6-2.7); a leading `=`, `+`, `-` or `@` is prefixed with `'` so a
/// spreadsheet never runs it as a formula.
pub(crate) fn csv_field(field: &str) -> String {
    let field = if field.starts_with(['=', '+', '-', '@']) {
        format!("'{field}")
    } else {
        field.to_owned()
    };
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
