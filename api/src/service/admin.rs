//! Bootstrap and administration: agencies, users, API tokens, and turning
//! a presented token back into its user.

use sha2::{Digest, Sha256};

use crate::audit::{AuditAction, AuditActor, AuditEvent};
use crate::error::ServiceError;
use crate::model::{Agency, Role, User};
use crate::store::{NewAgency, NewUser, Store};

/// Prefix of every API token, so leaked tokens are easy to scan for.
pub const TOKEN_PREFIX: &str = "dnsdesk_";

/// Adds an agency (PD).
pub async fn add_agency(
    store: &dyn Store,
    code: &str,
    name: &str,
    email: &str,
    by: AuditActor,
) -> Result<Agency, ServiceError> {
    let code = code.trim().to_ascii_uppercase();
    if !(2..=20).contains(&code.len())
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ServiceError::invalid(
            "code",
            "must be 2-20 letters, digits, hyphens or underscores",
        ));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ServiceError::invalid("name", "must be 1-200 characters"));
    }
    let email = check_email(email)?;
    Ok(store
        .create_agency(
            NewAgency {
                code,
                name: name.to_owned(),
                email,
            },
            by,
        )
        .await?)
}

/// Adds a user; a PD user names its agency by code.
pub async fn add_user(
    store: &dyn Store,
    username: &str,
    role: &str,
    agency_code: Option<&str>,
    password_hash: Option<String>,
    by: AuditActor,
) -> Result<User, ServiceError> {
    let username = username.trim().to_ascii_lowercase();
    if !(2..=64).contains(&username.len())
        || !username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    {
        return Err(ServiceError::invalid(
            "username",
            "must be 2-64 characters: a-z, 0-9, dot, hyphen, underscore",
        ));
    }
    let role: Role = role.parse().map_err(|_| {
        ServiceError::invalid("role", "must be one of pd, reviewer, netadmin, admin")
    })?;
    let agency_id = match (role, agency_code) {
        (Role::Pd, Some(code)) => Some(
            store
                .agency_by_code(code.trim())
                .await?
                .ok_or_else(|| ServiceError::invalid("agency", "no agency has this code"))?
                .id,
        ),
        (Role::Pd, None) => {
            return Err(ServiceError::invalid("agency", "is required for a pd user"));
        }
        (_, Some(_)) => {
            return Err(ServiceError::invalid(
                "agency",
                "only pd users belong to an agency",
            ));
        }
        (_, None) => None,
    };
    Ok(store
        .create_user(
            NewUser {
                username,
                role,
                agency_id,
                password_hash,
            },
            by,
        )
        .await?)
}

/// Creates an API token for a user and returns it: the only time it is
/// ever shown. Only its SHA-256 is stored.
pub async fn create_token(
    store: &dyn Store,
    username: &str,
    by: AuditActor,
) -> Result<String, ServiceError> {
    let user = store
        .user_by_username(&username.trim().to_ascii_lowercase())
        .await?
        .ok_or_else(|| ServiceError::invalid("username", "no such user"))?;
    let token = format!("{TOKEN_PREFIX}{}", super::accounts::random_token());
    store.create_token(user.id, &token_hash(&token), by).await?;
    Ok(token)
}

/// Gives a managed name to the agency with `code` (an imported name left
/// unassigned, or a name moving between agencies).
pub async fn assign_name(
    store: &dyn Store,
    name: &str,
    code: &str,
    by: AuditActor,
) -> Result<crate::model::Subdomain, ServiceError> {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    let agency = store
        .agency_by_code(code.trim())
        .await?
        .ok_or_else(|| ServiceError::invalid("agency", "no agency has this code"))?;
    if store.subdomain(&name).await?.is_none() {
        return Err(ServiceError::invalid("name", "is not a managed name"));
    }
    Ok(store.assign_name(&name, agency.id, by).await?)
}

/// The user a bearer token belongs to.
pub async fn authenticate(store: &dyn Store, token: &str) -> Result<User, ServiceError> {
    let token = token.trim();
    let reason = if token.starts_with(TOKEN_PREFIX) {
        match store.user_by_token(&token_hash(token)).await? {
            Some(user) => return Ok(user),
            None => "unknown or revoked token, or a disabled user",
        }
    } else {
        "not a dnsdesk token"
    };
    // On record, without the token (a mistyped one may be nearly right).
    store
        .append_audit(
            AuditEvent::new(AuditAction::AuthFailed, AuditActor::Anonymous)
                .with_detail(serde_json::json!({ "method": "bearer token", "reason": reason })),
        )
        .await?;
    Err(ServiceError::Unauthenticated)
}

/// The SHA-256 (hex) under which a token is stored: API tokens and
/// session cookies alike; the token itself never is.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn check_email(email: &str) -> Result<String, ServiceError> {
    let email = email.trim();
    if is_email(email) {
        Ok(email.to_owned())
    } else {
        Err(ServiceError::invalid("email", "is not an e-mail address"))
    }
}

/// `local@domain.tld`, no spaces or angle brackets: enough to catch a
/// typo; delivery is the real test.
pub(crate) fn is_email(text: &str) -> bool {
    text.len() <= 254
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>')
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rules() {
        assert!(check_email("it@disdik.kalbarprov.go.id").is_ok());
        for bad in ["", "nope", "a@b", "a @b.c", "@b.c", "a@.b"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_hash_stably() {
        assert_eq!(token_hash("x"), token_hash("x"));
        assert_ne!(token_hash("x"), token_hash("y"));
        assert_eq!(token_hash("x").len(), 64);
    }
}
