//! The catalogue of granted names in PostgreSQL, and who claims names
//! near a requested one.

use std::collections::HashSet;

use crate::store::rows::catalogue::{
    INSERT_IMPORTED, UPSERT_SUBDOMAINS, imported_rows, subdomain_rows,
};
use crate::store::rows::many;
use sqlx::{PgConnection, PgExecutor};

use super::requests::open_states;
use crate::model::{AgencyId, RequestKind, Subdomain, SubdomainRequest};
use crate::store::rows::catalogue::{SubdomainRow, name_claims, subdomain_columns};
use crate::store::rows::page;
use crate::store::{ImportedName, NameClaim, Page, StoreResult, Total};

pub(super) async fn subdomain(
    ex: impl PgExecutor<'_>,
    name: &str,
) -> StoreResult<Option<Subdomain>> {
    let row: Option<SubdomainRow> = sqlx::query_as(concat!(
        "SELECT ",
        subdomain_columns!(),
        " FROM subdomains WHERE name = $1"
    ))
    .bind(name)
    .fetch_optional(ex)
    .await?;
    row.map(Subdomain::try_from).transpose()
}

/// A page of the catalogue by name (bytewise, as SQLite orders), with the
/// total; run both queries in one read transaction (one snapshot) so that
/// they agree.
pub(super) async fn list(
    conn: &mut PgConnection,
    agency_id: Option<AgencyId>,
    limit: i64,
    offset: i64,
) -> StoreResult<Page<Subdomain>> {
    let agency = agency_id.map(|a| a.0);
    let rows: Vec<SubdomainRow> = sqlx::query_as(concat!(
        "SELECT ",
        subdomain_columns!(),
        " FROM subdomains
         WHERE $1::BIGINT IS NULL OR agency_id = $1
         ORDER BY name COLLATE \"C\" LIMIT $2 OFFSET $3"
    ))
    .bind(agency)
    .bind(limit.max(0))
    .bind(offset.max(0))
    .fetch_all(&mut *conn)
    .await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM subdomains WHERE $1::BIGINT IS NULL OR agency_id = $1",
    )
    .bind(agency)
    .fetch_one(&mut *conn)
    .await?;
    page(rows, Total::Exact(total))
}

/// Names granted or held by open requests that are one of `ancestors`
/// or lie below `name`, each (name, agency) once, in SQLite's order (names
/// bytewise, an unassigned name's NULL agency first).
///
/// "Below" is a suffix test on `'.' || name` with `right`, not `LIKE`:
/// labels may hold `_` (as in `_dmarc`), which `LIKE` would read as a
/// wildcard.
pub(super) async fn claims_near(
    ex: impl PgExecutor<'_>,
    name: &str,
    ancestors: &[String],
) -> StoreResult<Vec<NameClaim>> {
    let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT name, agency_id FROM (
             SELECT name, agency_id FROM subdomains
             WHERE name = ANY($1) OR right(name, length($2)) = $2
             UNION
             SELECT name, agency_id FROM requests
             WHERE state = ANY($3)
               AND (name = ANY($1) OR right(name, length($2)) = $2)
         ) AS claims
         ORDER BY name COLLATE \"C\", agency_id NULLS FIRST",
    )
    .bind(ancestors)
    .bind(format!(".{name}"))
    .bind(open_states())
    .fetch_all(ex)
    .await?;
    Ok(name_claims(rows))
}

/// Registers names imported from the zone, with no request; returns
/// those written (the catalogue held the others already: they are left
/// as they are).
pub(super) async fn insert_imported(
    conn: &mut PgConnection,
    names: &[ImportedName],
    now_ms: i64,
) -> StoreResult<HashSet<String>> {
    let (into, returning) = INSERT_IMPORTED;
    let rows = imported_rows(names, now_ms)?;
    let written: Vec<(String,)> =
        many::insert_returning::<sqlx::Postgres, (String,)>(conn, into, &rows, returning).await?;
    Ok(written.into_iter().map(|(name,)| name).collect())
}

/// Applies a batch's activated `requests` to the catalogue: one upsert of
/// the names created or changed, one delete of those removed.
pub(super) async fn apply_many(
    conn: &mut PgConnection,
    requests: &[SubdomainRequest],
    now_ms: i64,
) -> StoreResult<()> {
    let (removed, kept): (Vec<&SubdomainRequest>, Vec<&SubdomainRequest>) =
        requests.iter().partition(|r| r.kind == RequestKind::Remove);
    let (into, conflict) = UPSERT_SUBDOMAINS;
    many::insert::<sqlx::Postgres>(conn, into, &subdomain_rows(&kept, now_ms)?, conflict).await?;
    if !removed.is_empty() {
        let names: Vec<String> = removed.iter().map(|r| r.name.clone()).collect();
        sqlx::query("DELETE FROM subdomains WHERE name = ANY($1)")
            .bind(&names)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Gives a catalogue entry to an agency.
pub(super) async fn set_agency(
    ex: impl PgExecutor<'_>,
    name: &str,
    agency_id: AgencyId,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query("UPDATE subdomains SET agency_id = $1, updated_at = $2 WHERE name = $3")
        .bind(agency_id.0)
        .bind(now_ms)
        .bind(name)
        .execute(ex)
        .await?;
    Ok(())
}
