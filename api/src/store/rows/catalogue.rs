//! The rows of `subdomains`, and the claims near a requested name.

use std::collections::HashMap;

use crate::model::{AgencyId, RequestId, Subdomain, SubdomainRequest};
use crate::store::codec::{from_ms, parse_json};
use crate::store::rows::many::{Bind, json};
use crate::store::{ImportedName, NameClaim, StoreError, StoreResult};

/// The columns of `subdomains` that [`SubdomainRow`] reads.
macro_rules! subdomain_columns {
    () => {
        "name, agency_id, records, request_id, updated_at"
    };
}
pub(in crate::store) use subdomain_columns;

/// A row of `subdomains`.
#[derive(sqlx::FromRow)]
pub(in crate::store) struct SubdomainRow {
    name: String,
    agency_id: Option<i64>,
    records: String,
    request_id: Option<i64>,
    updated_at: i64,
}

impl TryFrom<SubdomainRow> for Subdomain {
    type Error = StoreError;

    fn try_from(row: SubdomainRow) -> StoreResult<Self> {
        Ok(Subdomain {
            name: row.name,
            agency_id: row.agency_id.map(AgencyId),
            records: parse_json("subdomains.records", &row.records)?,
            request_id: row.request_id.map(RequestId),
            updated_at: from_ms("subdomains.updated_at", row.updated_at)?,
        })
    }
}

/// Claims read as (name, agency) pairs.
pub(in crate::store) fn name_claims(rows: Vec<(String, Option<i64>)>) -> Vec<NameClaim> {
    rows.into_iter()
        .map(|(name, agency_id)| NameClaim {
            name,
            agency_id: agency_id.map(AgencyId),
        })
        .collect()
}

/// The statement that writes catalogue entries ([`subdomain_rows`]), and
/// its conflict clause.
/// The statement registering names imported from the zone, with no
/// request: a name the catalogue holds already is left as it is, and the
/// names written are returned.
pub(in crate::store) const INSERT_IMPORTED: (&str, &str) = (
    "INSERT INTO subdomains (name, agency_id, records, request_id, updated_at) ",
    " ON CONFLICT (name) DO NOTHING RETURNING name",
);

/// The rows of imported `names` at `now_ms` ([`INSERT_IMPORTED`]).
pub(in crate::store) fn imported_rows(
    names: &[ImportedName],
    now_ms: i64,
) -> StoreResult<Vec<Vec<Bind>>> {
    names
        .iter()
        .map(|n| {
            Ok(vec![
                n.name.as_str().into(),
                n.agency_id.map(|a| a.0).into(),
                json(&n.records)?,
                None::<i64>.into(),
                now_ms.into(),
            ])
        })
        .collect()
}

pub(in crate::store) const UPSERT_SUBDOMAINS: (&str, &str) = (
    "INSERT INTO subdomains (name, agency_id, records, request_id, updated_at) ",
    " ON CONFLICT (name) DO UPDATE SET agency_id = excluded.agency_id, \
     records = excluded.records, request_id = excluded.request_id, \
     updated_at = excluded.updated_at",
);

/// The catalogue entries of activated `requests` that create or change a
/// name, one per name (the last: an upsert may not touch a row twice).
pub(in crate::store) fn subdomain_rows(
    requests: &[&SubdomainRequest],
    now_ms: i64,
) -> StoreResult<Vec<Vec<Bind>>> {
    let mut latest: HashMap<&str, &SubdomainRequest> = HashMap::new();
    for request in requests {
        latest.insert(request.name.as_str(), request);
    }
    latest
        .into_values()
        .map(|request| {
            Ok(vec![
                request.name.clone().into(),
                request.agency_id.0.into(),
                json(&request.records)?,
                request.id.0.into(),
                now_ms.into(),
            ])
        })
        .collect()
}
