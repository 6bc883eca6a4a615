//! The errors use cases return, each mapped to one HTTP status in
//! `http::error` and nowhere else.

use crate::store::{Constraint, StoreError};

/// Why a use case did not go through.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// Bad input; `field` names it (e.g. `records[1].value`).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// No such thing, or not visible to this user (a PD asking for another
    /// agency's request gets this, not `Forbidden`, so it learns nothing).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The user's role does not allow this action.
    #[error("{0}")]
    Forbidden(String),
    /// No or bad credentials.
    #[error("authentication required")]
    Unauthenticated,
    /// The action clashes with the current state of things.
    #[error("{message}")]
    Conflict {
        code: ConflictCode,
        message: String,
        field: Option<String>,
    },
    /// Too many failed sign-ins (or checks) from this client or for this
    /// account; try again after the given number of seconds.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    /// An upload over the size limit.
    #[error("{field} is larger than {limit} bytes")]
    TooLarge { field: String, limit: usize },
    /// An upload of the wrong kind.
    #[error("{field}: {message}")]
    UnsupportedMedia { field: String, message: String },
    #[error(transparent)]
    Store(StoreError),
    #[error("file storage: {0}")]
    Io(#[from] std::io::Error),
}

/// Machine-readable reasons for a 409.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictCode {
    /// The name is active, pending, or already in the zone.
    NameTaken,
    /// The name lies below, or above, another agency's name.
    NameOwnedByOther,
    /// The request is not in a state that allows the action.
    InvalidState,
    /// The request changed since it was read.
    Stale,
    /// The plan the reviewer saw is not the plan now.
    PlanChanged,
    /// The zone does not hold what the plan expects.
    ZoneChanged,
    /// The request has no letter yet.
    LetterMissing,
    /// A unique value is taken (agency code, username).
    Duplicate,
}

impl ConflictCode {
    /// The code in API errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NameTaken => "name_taken",
            Self::NameOwnedByOther => "name_owned_by_other_agency",
            Self::InvalidState => "invalid_state",
            Self::Stale => "stale",
            Self::PlanChanged => "plan_changed",
            Self::ZoneChanged => "zone_changed",
            Self::LetterMissing => "letter_missing",
            Self::Duplicate => "duplicate",
        }
    }
}

impl ServiceError {
    /// Bad input in `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A 409 with a code.
    pub fn conflict(code: ConflictCode, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
            field: None,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Conflict(Constraint::OpenRequestForName) => Self::Conflict {
                code: ConflictCode::NameTaken,
                message: "another request for this name is still open".to_owned(),
                field: Some("name".to_owned()),
            },
            StoreError::Conflict(Constraint::AgencyCode) => Self::Conflict {
                code: ConflictCode::Duplicate,
                message: "an agency with this code exists".to_owned(),
                field: Some("code".to_owned()),
            },
            StoreError::Conflict(Constraint::Username) => Self::Conflict {
                code: ConflictCode::Duplicate,
                message: "a user with this username exists".to_owned(),
                field: Some("username".to_owned()),
            },
            StoreError::StateMismatch { actual, .. } => Self::conflict(
                ConflictCode::InvalidState,
                format!("the request is {actual}; this action is not possible now"),
            ),
            StoreError::VersionMismatch { .. } => Self::conflict(
                ConflictCode::Stale,
                "the request changed meanwhile; reload it and try again",
            ),
            other => Self::Store(other),
        }
    }
}
