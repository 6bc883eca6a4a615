//! The page shell: head, skip link, navigation by role, language switch,
//! the one-line notice after an action, and the error page.

use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};

use super::i18n::{Lang, Text};
use super::session::{CSRF_FIELD, Ctx};
use crate::model::Role;
use crate::store::Total;

/// The notice shown after an action redirected back (`?msg=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Filed,
    LetterUploaded,
    Revised,
    Approved,
    Rejected,
    Revision,
    AlreadyDecided,
    Retried,
    UserAdded,
    UserDisabled,
    UserEnabled,
    AgencyAdded,
    Adopted,
    Restored,
    LoggedOut,
}

impl Notice {
    const ALL: &'static [(Notice, &'static str)] = &[
        (Notice::Filed, "filed"),
        (Notice::LetterUploaded, "letter"),
        (Notice::Revised, "revised"),
        (Notice::Approved, "approved"),
        (Notice::Rejected, "rejected"),
        (Notice::Revision, "revision"),
        (Notice::AlreadyDecided, "already_decided"),
        (Notice::Retried, "retried"),
        (Notice::UserAdded, "user_added"),
        (Notice::UserDisabled, "user_disabled"),
        (Notice::UserEnabled, "user_enabled"),
        (Notice::AgencyAdded, "agency_added"),
        (Notice::Adopted, "adopted"),
        (Notice::Restored, "restored"),
        (Notice::LoggedOut, "logged_out"),
    ];

    /// From the `msg` query parameter.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(n, _)| *n)
    }

    /// The `msg` query parameter.
    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == self)
            .map(|(_, c)| *c)
            .unwrap_or("")
    }

    fn text(self, t: &'static Text) -> &'static str {
        match self {
            Notice::Filed => t.request_filed,
            Notice::LetterUploaded => t.letter_uploaded,
            Notice::Revised => t.revised,
            Notice::Approved => t.approved_msg,
            Notice::Rejected => t.rejected_msg,
            Notice::Revision => t.revision_msg,
            Notice::AlreadyDecided => t.already_decided,
            Notice::Retried => t.retried_msg,
            Notice::UserAdded => t.user_added,
            Notice::UserDisabled => t.user_disabled,
            Notice::UserEnabled => t.user_enabled,
            Notice::AgencyAdded => t.agency_added,
            Notice::Adopted => t.drift_adopted,
            Notice::Restored => t.drift_restored,
            Notice::LoggedOut => t.logged_out,
        }
    }
}

/// A whole page for a signed-in (or anonymous) visitor.
pub fn page(ctx: &Ctx, title: &str, notice: Option<Notice>, body: Markup) -> Markup {
    shell(ctx.lang, title, Some(ctx), notice, false, body)
}

/// A page that refreshes itself every few seconds when scripts are off
/// (provisioning followed live).
pub fn live_page(ctx: &Ctx, title: &str, notice: Option<Notice>, body: Markup) -> Markup {
    shell(ctx.lang, title, Some(ctx), notice, true, body)
}

/// The error page.
pub fn error_page(lang: Lang, status: StatusCode, message: &str) -> Markup {
    let t = lang.t();
    shell(
        lang,
        t.error_title,
        None,
        None,
        false,
        html! {
            h1 { (t.error_title) " (" (status.as_u16()) ")" }
            p.error role="alert" { (message) }
            p { a href="/" { (t.back) } }
        },
    )
}

fn shell(
    lang: Lang,
    title: &str,
    ctx: Option<&Ctx>,
    notice: Option<Notice>,
    refresh: bool,
    body: Markup,
) -> Markup {
    let t = lang.t();
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (t.app_name) }
                link rel="stylesheet" href=(super::assets::CSS_PATH);
                @if refresh {
                    noscript { meta http-equiv="refresh" content="3"; }
                }
                script src=(super::assets::JS_PATH) defer {}
            }
            body {
                a.skip href="#main" { (t.skip_to_content) }
                header.top {
                    div.brand {
                        a href="/" { strong { (t.app_name) } }
                        span.tagline { (t.app_tagline) }
                    }
                    @if let Some(ctx) = ctx { (nav(ctx, t)) }
                }
                main #main tabindex="-1" {
                    @if let Some(n) = notice {
                        p.notice role="status" { (n.text(t)) }
                    }
                    (body)
                }
                footer {
                    p {
                        "Diskominfo Provinsi Kalimantan Barat · "
                        @if let Some(ctx) = ctx {
                            a href=(lang_link(ctx)) lang=(other(lang).code()) { (t.other_language) }
                        }
                    }
                }
            }
        }
    }
}

fn other(lang: Lang) -> Lang {
    match lang {
        Lang::Id => Lang::English,
        Lang::English => Lang::Id,
    }
}

fn lang_link(ctx: &Ctx) -> String {
    format!(
        "/lang/{}?back={}",
        other(ctx.lang).code(),
        super::form::url_encode(&ctx.path)
    )
}

fn nav(ctx: &Ctx, t: &'static Text) -> Markup {
    let staff = [Role::Reviewer, Role::Netadmin, Role::Admin];
    html! {
        nav aria-label="Menu" {
            ul {
                @if ctx.is(&[Role::Pd]) {
                    li { a href="/requests" { (t.nav_my_requests) } }
                    li { a href="/requests/new" { (t.nav_new_request) } }
                    li { a href="/subdomains" { (t.nav_subdomains) } }
                    li { a href="/complaints" { (t.nav_complaints) } }
                }
                @if ctx.is(&[Role::Reviewer, Role::Admin]) {
                    li { a href="/review" { (t.nav_review_queue) } }
                }
                @if ctx.is(&staff) {
                    li { a href="/requests" { (t.nav_all_requests) } }
                    li { a href="/complaints" { (t.nav_complaints) } }
                }
                @if ctx.is(&[Role::Netadmin, Role::Admin]) {
                    li { a href="/jobs" { (t.nav_jobs) } }
                    li { a href="/subdomains" { (t.nav_subdomains) } }
                    li { a href="/audit" { (t.nav_audit) } }
                    li { a href="/drift" { (t.nav_drift) } }
                }
                @if ctx.is(&[Role::Admin]) {
                    li { a href="/reports" { (t.nav_reports) } }
                    li { a href="/admin/users" { (t.nav_users) } }
                    li { a href="/admin/agencies" { (t.nav_agencies) } }
                }
                li { a href="/check" { (t.nav_check) } }
                @if ctx.session.is_none() {
                    li { a href="/complaints/new" { (t.nav_file_complaint) } }
                    li { a href="/complaints/status" { (t.complaint_status_title) } }
                }
            }
            @if let Some(s) = &ctx.session {
                form.logout method="post" action="/logout" {
                    span { (t.signed_in_as) " " strong { (s.user.username) } " (" (ctx.lang.role(s.user.role)) ")" }
                    input type="hidden" name=(CSRF_FIELD) value=(s.csrf_token);
                    button type="submit" { (t.logout) }
                }
            } @else {
                a href="/login" { (t.login_title) }
            }
        }
    }
}

/// The hidden CSRF field of a form of this session.
pub fn csrf_field(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(ctx.csrf()); }
}

/// A list of field errors at the top of a form, each naming its field.
pub fn field_errors(t: &Text, errors: &[(String, String)]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.errors role="alert" {
                p { (t.fix_fields) }
                ul { @for (field, message) in errors { li { strong { (field) } ": " (message) } } }
            }
        }
    }
}

/// A state badge.
pub fn badge(class: &str, text: &str) -> Markup {
    html! { span class={"badge " (class)} { (text) } }
}

/// Preformatted lines (UPDATE sections, records).
pub fn lines(lines: &[String]) -> Markup {
    html! { pre { @for l in lines { (l) "\n" } } }
}

/// Previous / "page n of m" / next links; `link(n)` is page n's URL. A
/// total that is a lower bound shows as "m+" and always offers the next
/// page.
pub fn pager(
    t: &Text,
    page: i64,
    per_page: i64,
    total: Total,
    link: impl Fn(i64) -> String,
) -> Markup {
    let more = !total.is_exact();
    let counted = ((total.value() + per_page - 1) / per_page.max(1)).max(1);
    let last = if more { counted.max(page) } else { counted };
    html! {
        nav.pager aria-label=(t.page_of) {
            @if page > 1 { a href=(link(page - 1)) rel="prev" { (t.previous_page) } }
            span { (t.page_of) " " (page) " / " (last) @if more { "+" } }
            @if page < last || more { a href=(link(page + 1)) rel="next" { (t.next_page) } }
        }
    }
}
