//! The rows of `subdomains`, and the claims near a requested name.

use std::collections::HashMap;

use crate::model::{AgencyId, RequestId, Subdomain, SubdomainRequest};
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

/// Rows per INSERT of catalogue entries: five values each.
const ENTRIES_PER_INSERT: usize = 1_000;

/// Writes the catalogue entries of a batch's activated `requests` that
/// create or change a name (one upsert); removals are the caller's.
pub(in crate::store) async fn upsert_entries<DB>(
    conn: &mut DB::Connection,
    requests: &[&SubdomainRequest],
    now_ms: i64,
) -> StoreResult<()>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    // One row per name (an upsert may not touch a row twice): the last.
    let mut latest: HashMap<&str, &SubdomainRequest> = HashMap::new();
    for request in requests {
        latest.insert(request.name.as_str(), request);
    }
    let mut rows = Vec::with_capacity(latest.len());
    for request in latest.into_values() {
        let records = serde_json::to_string(&request.records)
            .map_err(|e| StoreError::Database(sqlx::Error::Encode(e.into())))?;
        rows.push((request, records));
    }
    for chunk in rows.chunks(ENTRIES_PER_INSERT) {
        let mut upsert = sqlx::QueryBuilder::<DB>::new(
            "INSERT INTO subdomains (name, agency_id, records, request_id, updated_at) ",
        );
        upsert.push_values(chunk, |mut row, (request, records)| {
            row.push_bind(request.name.clone())
                .push_bind(request.agency_id.0)
                .push_bind(records.clone())
                .push_bind(request.id.0)
                .push_bind(now_ms);
        });
        upsert.push(
            " ON CONFLICT (name) DO UPDATE SET agency_id = excluded.agency_id, \
             records = excluded.records, request_id = excluded.request_id, \
             updated_at = excluded.updated_at",
        );
        upsert.build().execute(&mut *conn).await?;
    }
    Ok(())
}
