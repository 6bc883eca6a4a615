//! Filing a complaint: on the public form (rate-limited per client), by a
//! PD for its agency, or recorded by staff from one of the standard's
//! other channels with the time the office received it; each field
//! checked, the error naming it.

use std::net::IpAddr;
use std::time::Instant;

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use super::{MAX_TEXT, names};
use crate::app::App;
use crate::calendar::WIB;
use crate::error::ServiceError;
use crate::model::{Complaint, ComplaintChannel, User};
use crate::service::text_field;
use crate::store::NewComplaint;
use crate::web::ratelimit::RateLimiter;

/// Complaints filed without signing in per client: 5 at once, then 2 a
/// minute. An office behind one address can still file a handful.
pub fn filing_limiter() -> RateLimiter {
    RateLimiter::new(5, 2)
}

/// A complaint as sent by the public form, a PD, or staff recording one.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ComplaintInput {
    /// The complainant's name.
    pub name: String,
    /// A phone number or e-mail address to reach the complainant (staff
    /// recording a complaint may write any contact, e.g. a social media
    /// account).
    pub contact: String,
    /// The request the complaint is about, e.g. `DNS/2026/000123`.
    pub request_reference: Option<String>,
    pub description: String,
    /// Staff only: the channel it came through (not `web_form` or
    /// `pd_portal`, which are dnsdesk's own).
    pub channel: Option<ComplaintChannel>,
    /// Staff only: when the office received it, RFC 3339 or
    /// `2026-03-17T10:00` (WIB); default now.
    pub received_at: Option<String>,
}

/// Files a complaint: on the public form (`who` None; rate-limited per
/// `client`), by a PD with its agency, or, by staff, recorded from another
/// channel.
#[tracing::instrument(skip_all, err, fields(channel))]
pub async fn file(
    app: &App,
    who: Option<&User>,
    client: IpAddr,
    input: ComplaintInput,
) -> Result<Complaint, ServiceError> {
    let new = match who {
        Some(user) if user.role.is_staff() => recorded(app, user, input)?,
        Some(user) => {
            let agency = user.agency_id.ok_or(ServiceError::Forbidden(
                "only a PD with an agency files complaints from its pages".to_owned(),
            ))?;
            let mut new = filed(app, input, ComplaintChannel::PdPortal)?;
            new.agency_id = Some(agency);
            new.filed_by = Some(user.id);
            new
        }
        None => {
            app.complaint_filings
                .take(client, Instant::now())
                .map_err(|secs| ServiceError::TooManyAttempts {
                    retry_after_secs: secs,
                })?;
            filed(app, input, ComplaintChannel::WebForm)?
        }
    };
    tracing::Span::current().record("channel", new.channel.as_str());
    Ok(app.store.insert_complaint(new).await?)
}

/// A complaint the complainant files in dnsdesk: received now, through
/// `channel`, with a contact the office can answer.
fn filed(
    app: &App,
    input: ComplaintInput,
    channel: ComplaintChannel,
) -> Result<NewComplaint, ServiceError> {
    if input.channel.is_some() {
        return Err(ServiceError::invalid(
            "channel",
            "is set by staff recording a complaint only",
        ));
    }
    if input.received_at.is_some() {
        return Err(ServiceError::invalid(
            "received_at",
            "is set by staff recording a complaint only",
        ));
    }
    let contact = text_field("contact", &input.contact, 200, true)?;
    if !is_phone(&contact) && !is_email(&contact) {
        return Err(ServiceError::invalid(
            "contact",
            "must be a phone number (e.g. 0812 3456 7890) or an e-mail address",
        ));
    }
    Ok(NewComplaint {
        channel,
        complainant_name: text_field("name", &input.name, 100, true)?,
        contact,
        request_reference: reference(input.request_reference.as_deref())?,
        description: text_field("description", &input.description, MAX_TEXT, true)?,
        agency_id: None,
        filed_by: None,
        received_at: app.now(),
    })
}

/// A complaint staff took through another channel.
fn recorded(app: &App, user: &User, input: ComplaintInput) -> Result<NewComplaint, ServiceError> {
    let channel = input.channel.filter(|c| c.is_recorded()).ok_or_else(|| {
        ServiceError::invalid(
            "channel",
            format!("must be one of {}", names(ComplaintChannel::RECORDED)),
        )
    })?;
    let now = app.now();
    let received_at = match input.received_at.as_deref().map(str::trim) {
        None | Some("") => now,
        Some(text) => parse_received(text)?,
    };
    if received_at > now {
        return Err(ServiceError::invalid("received_at", "is in the future"));
    }
    Ok(NewComplaint {
        channel,
        complainant_name: text_field("name", &input.name, 100, true)?,
        // However the complainant can be reached through that channel.
        contact: text_field("contact", &input.contact, 200, true)?,
        request_reference: reference(input.request_reference.as_deref())?,
        description: text_field("description", &input.description, MAX_TEXT, true)?,
        agency_id: None,
        filed_by: Some(user.id),
        received_at,
    })
}

/// RFC 3339, or a local `2026-03-17T10:00` (as a browser's
/// `datetime-local` field sends it) read as WIB; to the millisecond, as
/// the store keeps it.
pub fn parse_received(text: &str) -> Result<OffsetDateTime, ServiceError> {
    let parsed = OffsetDateTime::parse(text, &Rfc3339).or_else(|_| {
        time::PrimitiveDateTime::parse(
            text,
            format_description!("[year]-[month]-[day]T[hour]:[minute]"),
        )
        .map(|local| local.assume_offset(WIB))
    });
    let at = parsed.map_err(|_| {
        ServiceError::invalid(
            "received_at",
            "must be a time like 2026-03-17T10:00 (WIB) or 2026-03-17T10:00:00+07:00",
        )
    })?;
    let ms = u32::from(at.millisecond());
    Ok(at.replace_nanosecond(ms * 1_000_000).unwrap_or(at))
}

/// The optional request reference, trimmed; empty is none.
fn reference(text: Option<&str>) -> Result<Option<String>, ServiceError> {
    let text = text_field("request_reference", text.unwrap_or(""), 50, false)?;
    Ok((!text.is_empty()).then_some(text))
}

/// Digits with the usual separators, 8 to 15 digits (E.164 at most).
pub(super) fn is_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    (8..=15).contains(&digits)
        && text
            .trim_start_matches('+')
            .chars()
            .all(|c| c.is_ascii_digit() || " -().".contains(c))
}

pub(super) use crate::service::admin::is_email;
