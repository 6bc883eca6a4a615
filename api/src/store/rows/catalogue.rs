//! The rows of `subdomains`, and the claims near a requested name.

use crate::model::{AgencyId, RequestId, Subdomain};
use crate::store::codec::{from_ms, parse_json};
use crate::store::{NameClaim, StoreError, StoreResult};

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
