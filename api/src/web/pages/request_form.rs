//! The request form: filing a new subdomain, a change or a removal (with
//! the signed letter), revising a request sent back, and the availability
//! hint while a PD types the name.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::{Deserialize, Serialize};

use super::requests::parse_id;
use crate::app::App;
use crate::error::ServiceError;
use crate::model::{RequestKind, Role, SubdomainRequest};
use crate::service::submit::{self, RequestInput};
use crate::service::views;
use crate::web::error::WebError;
use crate::web::form::MultiForm;
use crate::web::i18n::Text;
use crate::web::layout::{self, Notice, csrf_field, field_errors};
use crate::web::session::Ctx;
/// Rows of the records editor shown without scripts.
const EDITOR_ROWS: usize = 3;

/// Query of the new-request page: a change or removal starts from a
/// granted name.
#[derive(Debug, Deserialize)]
pub struct NewParams {
    kind: Option<String>,
    name: Option<String>,
}

/// What the request form shows again after an error.
#[derive(Debug, Default)]
struct Draft {
    kind: Option<RequestKind>,
    name: String,
    records: Vec<provisioner::record::RecordInput>,
    purpose: String,
    letter_number: String,
    letter_date: String,
}

/// `GET /requests/new`.
pub async fn new_page(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(p): Query<NewParams>,
) -> Result<Response, WebError> {
    ctx.user_with(&[Role::Pd])?;
    let kind = p
        .kind
        .as_deref()
        .and_then(|k| k.parse::<RequestKind>().ok());
    let mut draft = Draft {
        kind,
        name: p.name.clone().unwrap_or_default(),
        ..Draft::default()
    };
    if let (Some(RequestKind::Change), Some(name)) = (kind, &p.name)
        && let Ok(Some(granted)) = app.store.subdomain(name).await
    {
        draft.records = granted.records;
    }
    Ok(request_form(&ctx, &draft, &[], StatusCode::OK))
}

fn request_form(
    ctx: &Ctx,
    draft: &Draft,
    errors: &[(String, String)],
    status: StatusCode,
) -> Response {
    let lang = ctx.lang;
    let t = lang.t();
    let kind = draft.kind.unwrap_or(RequestKind::Create);
    let invalid = |field: &str| {
        errors
            .iter()
            .any(|(f, _)| f == field || f.starts_with(&format!("{field}[")))
    };
    let rows = draft.records.len().max(if kind == RequestKind::Remove {
        0
    } else {
        EDITOR_ROWS
    });
    let title = match kind {
        RequestKind::Create => t.new_request_title,
        RequestKind::Change => t.change_records,
        RequestKind::Remove => t.remove_subdomain,
    };
    let body = html! {
        h1 { (title) }
        p { (t.new_request_intro) }
        (field_errors(t, errors))
        form method="post" action="/requests" enctype="multipart/form-data" {
            (csrf_field(ctx))
            input type="hidden" name="kind" value=(kind.as_str());
            label for="name" { (t.name) span.hint #name-help { (t.name_hint) } }
            @if kind == RequestKind::Create {
                input #name type="text" name="name" value=(draft.name) required autocapitalize="none"
                    spellcheck="false" inputmode="url" data-availability="/names/availability"
                    aria-invalid=[invalid("name").then_some("true")]
                    aria-describedby="name-help name-status";
            } @else {
                input #name type="text" name="name" value=(draft.name) required readonly
                    aria-describedby="name-help name-status";
            }
            span.hint #name-status aria-live="polite" data-checking=(t.checking) {}
            @if kind != RequestKind::Remove {
                (records_editor(t, &draft.records, rows, errors))
            }
            label for="purpose" { (t.purpose) }
            textarea #purpose name="purpose" required maxlength="2000"
                aria-invalid=[invalid("purpose").then_some("true")] { (draft.purpose) }
            label for="letter_number" { (t.letter_number) }
            input #letter_number type="text" name="letter_number" value=(draft.letter_number) required maxlength="100"
                aria-invalid=[invalid("letter_number").then_some("true")];
            label for="letter_date" { (t.letter_date) }
            input #letter_date type="date" name="letter_date" value=(draft.letter_date) required
                aria-invalid=[invalid("letter_date").then_some("true")];
            label for="letter" { (t.letter_file) span.hint { (t.letter_file_hint) } }
            input #letter type="file" name="letter" accept="application/pdf,.pdf" required
                aria-invalid=[invalid("letter").then_some("true")];
            div.actions { button #submit-request type="submit" { (t.submit_request) } }
        }
    };
    (status, layout::page(ctx, title, None, body)).into_response()
}

/// The records editor: `rows` rows of type, value, TTL and glue, filled
/// from `records`; a script adds more rows.
fn records_editor(
    t: &Text,
    records: &[provisioner::record::RecordInput],
    rows: usize,
    errors: &[(String, String)],
) -> Markup {
    let invalid = |i: usize| {
        let field = format!("records[{i}]");
        errors.iter().any(|(f, _)| f.starts_with(&field))
    };
    html! {
        fieldset #records {
            legend { (t.records) }
            p.hint { (t.records_hint) }
            @for i in 0..rows {
                @let r = records.get(i);
                div.record-row {
                    label for={"record-type-" (i)} { (t.record_type) }
                    select #{"record-type-" (i)} name="record_type" {
                        @for ty in RECORD_TYPES {
                            option selected[r.is_some_and(|r| r.rtype.eq_ignore_ascii_case(ty))] { (ty) }
                        }
                    }
                    label for={"record-value-" (i)} { (t.record_value) }
                    input #{"record-value-" (i)} type="text" name="record_value" spellcheck="false"
                        autocapitalize="none" value=(r.map(|r| r.value.as_str()).unwrap_or(""))
                        aria-invalid=[invalid(i).then_some("true")];
                    label for={"record-ttl-" (i)} { (t.record_ttl) }
                    input #{"record-ttl-" (i)} type="number" name="record_ttl" min="60" max="86400"
                        inputmode="numeric" value=(r.and_then(|r| r.ttl).map(|v| v.to_string()).unwrap_or_default());
                    label for={"record-glue-" (i)} { "Glue (NS)" }
                    input #{"record-glue-" (i)} type="text" name="record_glue" spellcheck="false"
                        value=(r.map(|r| r.glue.join(", ")).unwrap_or_default());
                }
            }
            button.secondary #add-record type="button" hidden { (t.add_record) }
        }
    }
}

/// The types the editor offers (the record policy decides which pass).
const RECORD_TYPES: [&str; 8] = ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA"];

/// `POST /requests`: files the request and its letter together. The letter
/// is checked first, so a bad PDF files nothing.
pub async fn create(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    multipart: Multipart,
) -> Result<Response, WebError> {
    let user = ctx.user_with(&[Role::Pd])?;
    let form = MultiForm::read(multipart)
        .await
        .map_err(|e| WebError::service(e, ctx.lang))?;
    ctx.check_csrf(form.get("csrf"))?;
    let kind = form.get("kind").parse::<RequestKind>().ok();
    let records = if kind == Some(RequestKind::Remove) {
        Ok(Vec::new())
    } else {
        form.records()
    };
    let mut draft = Draft {
        kind,
        name: form.get("name").to_owned(),
        records: Vec::new(),
        purpose: form.get("purpose").to_owned(),
        letter_number: form.get("letter_number").to_owned(),
        letter_date: form.get("letter_date").to_owned(),
    };
    let result = async {
        let records = records?;
        draft.records = records.clone();
        let bytes = form
            .letter
            .as_deref()
            .ok_or_else(|| ServiceError::invalid("letter", "choose the signed letter (PDF)"))?;
        // Validates and stores the PDF by content hash; harmless if the
        // request is then refused.
        app.letters.save(bytes)?;
        let request = submit::submit(
            &app,
            user,
            RequestInput {
                kind,
                name: draft.name.clone(),
                records,
                purpose: draft.purpose.clone(),
                letter_number: draft.letter_number.clone(),
                letter_date: draft.letter_date.clone(),
            },
        )
        .await?;
        submit::attach_letter(&app, user, request.id, bytes).await?;
        Ok::<_, ServiceError>(request)
    }
    .await;
    match result {
        Ok(request) => Ok(Redirect::to(&format!(
            "/requests/{}?msg={}",
            request.id,
            Notice::Filed.code()
        ))
        .into_response()),
        Err(e) => match field_error(&e) {
            Some((status, field)) => Ok(request_form(
                &ctx,
                &draft,
                &[(field, e.to_string())],
                status,
            )),
            None => Err(WebError::service(e, ctx.lang)),
        },
    }
}

/// The field a use case's error is about, for showing it on the form.
pub fn field_error(e: &ServiceError) -> Option<(StatusCode, String)> {
    match e {
        ServiceError::Invalid { field, .. } => {
            Some((StatusCode::UNPROCESSABLE_ENTITY, field.clone()))
        }
        ServiceError::TooLarge { field, .. } => {
            Some((StatusCode::PAYLOAD_TOO_LARGE, field.clone()))
        }
        ServiceError::UnsupportedMedia { field, .. } => {
            Some((StatusCode::UNSUPPORTED_MEDIA_TYPE, field.clone()))
        }
        ServiceError::Conflict { field, .. } => Some((
            StatusCode::CONFLICT,
            field.clone().unwrap_or_else(|| "name".to_owned()),
        )),
        _ => None,
    }
}

/// `GET /requests/{id}/revise`: the request's form, filled in, for a PD
/// asked to revise it.
pub async fn revise_page(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let user = ctx.user_with(&[Role::Pd])?;
    let id = parse_id(&id, ctx.lang)?;
    let detail = views::request_detail(&app, user, id)
        .await
        .map_err(|e| WebError::service(e, ctx.lang))?;
    let r = detail.request;
    Ok(revise_form(&ctx, &r, &r.records, &[], StatusCode::OK))
}

fn revise_form(
    ctx: &Ctx,
    r: &SubdomainRequest,
    records: &[provisioner::record::RecordInput],
    errors: &[(String, String)],
    status: StatusCode,
) -> Response {
    let t = ctx.lang.t();
    let rows = records.len().max(if r.kind == RequestKind::Remove {
        0
    } else {
        EDITOR_ROWS
    });
    let body = html! {
        h1 { (t.revise_title) ": " (r.name) }
        (field_errors(t, errors))
        form method="post" action={"/requests/" (r.id) "/revise"} {
            (csrf_field(ctx))
            @if r.kind != RequestKind::Remove {
                (records_editor(t, records, rows, &[]))
            }
            label for="purpose" { (t.purpose) }
            textarea #purpose name="purpose" required { (r.purpose) }
            label for="letter_number" { (t.letter_number) }
            input #letter_number type="text" name="letter_number" value=(r.letter_number) required;
            label for="letter_date" { (t.letter_date) }
            input #letter_date type="date" name="letter_date" value=(r.letter_date.to_string()) required;
            div.actions { button type="submit" { (t.revise_button) } }
        }
    };
    (status, layout::page(ctx, t.revise_title, None, body)).into_response()
}

/// The revision form.
#[derive(Debug, Deserialize)]
pub struct ReviseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    record_type: Vec<String>,
    #[serde(default)]
    record_value: Vec<String>,
    #[serde(default)]
    record_ttl: Vec<String>,
    #[serde(default)]
    record_glue: Vec<String>,
    purpose: String,
    letter_number: String,
    letter_date: String,
}

/// `POST /requests/{id}/revise`.
pub async fn revise(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let user = ctx.user_with(&[Role::Pd])?;
    let lang = ctx.lang;
    let id = parse_id(&id, lang)?;
    // Repeated fields (the records editor) need serde_html_form's lists.
    let form: ReviseForm = serde_html_form::from_bytes(&body)
        .map_err(|e| WebError::service(ServiceError::invalid("form", e.to_string()), lang))?;
    ctx.check_csrf(&form.csrf)?;
    let current = views::request_detail(&app, user, id)
        .await
        .map_err(|e| WebError::service(e, lang))?
        .request;
    let records = crate::web::form::records_from_rows(
        &form.record_type,
        &form.record_value,
        &form.record_ttl,
        &form.record_glue,
    );
    let shown_records = records.as_ref().map(Vec::clone).unwrap_or_default();
    let result = match records {
        Ok(records) => {
            submit::revise(
                &app,
                user,
                id,
                RequestInput {
                    kind: Some(current.kind),
                    name: current.name.clone(),
                    records,
                    purpose: form.purpose.clone(),
                    letter_number: form.letter_number.clone(),
                    letter_date: form.letter_date.clone(),
                },
            )
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(
            Redirect::to(&format!("/requests/{id}?msg={}", Notice::Revised.code())).into_response(),
        ),
        Err(e) => match field_error(&e) {
            Some((status, field)) => {
                let mut shown = current.clone();
                shown.purpose = form.purpose;
                shown.letter_number = form.letter_number;
                Ok(revise_form(
                    &ctx,
                    &shown,
                    &shown_records,
                    &[(field, e.to_string())],
                    status,
                ))
            }
            None => Err(WebError::service(e, lang)),
        },
    }
}

/// The availability hint's answer.
#[derive(Debug, Serialize)]
pub struct Availability {
    available: bool,
    message: String,
}

/// Query of the availability hint.
#[derive(Debug, Deserialize)]
pub struct NameQuery {
    name: String,
}

/// `GET /names/availability?name=`: whether a PD could file this name now.
pub async fn availability(
    State(app): State<Arc<App>>,
    ctx: Ctx,
    Query(q): Query<NameQuery>,
) -> Result<Json<Availability>, WebError> {
    let user = ctx.user_with(&[Role::Pd])?;
    Ok(Json(
        match submit::check_new_name(&app, user, &q.name).await {
            Ok(name) => Availability {
                available: true,
                message: format!("{name}: {}", ctx.lang.t().name_free),
            },
            Err(e @ (ServiceError::Invalid { .. } | ServiceError::Conflict { .. })) => {
                Availability {
                    available: false,
                    message: e.to_string(),
                }
            }
            Err(e) => return Err(WebError::service(e, ctx.lang)),
        },
    ))
}
