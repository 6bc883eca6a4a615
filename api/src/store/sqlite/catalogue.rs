//! The catalogue of granted names in SQLite, and who claims names near a
//! requested one.

use std::collections::HashSet;

use crate::store::rows::catalogue::{
    INSERT_IMPORTED, UPSERT_SUBDOMAINS, imported_rows, subdomain_rows,
};
use crate::store::rows::many;
use sqlx::types::Json;
use sqlx::{SqliteConnection, SqliteExecutor};

use crate::model::{AgencyId, RequestKind, Subdomain, SubdomainRequest};
use crate::store::codec::open_states;
use crate::store::rows::catalogue::{SubdomainRow, name_claims, subdomain_columns};
use crate::store::rows::page;
use crate::store::{ImportedName, NameClaim, Page, StoreResult, Total};

pub(super) async fn subdomain(
    ex: impl SqliteExecutor<'_>,
    name: &str,
) -> StoreResult<Option<Subdomain>> {
    let row: Option<SubdomainRow> = sqlx::query_as(concat!(
        "SELECT ",
        subdomain_columns!(),
        " FROM subdomains WHERE name = ?"
    ))
    .bind(name)
    .fetch_optional(ex)
    .await?;
    row.map(Subdomain::try_from).transpose()
}

/// A page of the catalogue by name, with the total; run both queries in
/// one read transaction so that they agree.
pub(super) async fn list(
    conn: &mut SqliteConnection,
    agency_id: Option<AgencyId>,
    limit: i64,
    offset: i64,
) -> StoreResult<Page<Subdomain>> {
    let agency = agency_id.map(|a| a.0);
    let rows: Vec<SubdomainRow> = sqlx::query_as(concat!(
        "SELECT ",
        subdomain_columns!(),
        " FROM subdomains
         WHERE ?1 IS NULL OR agency_id = ?1
         ORDER BY name LIMIT ?2 OFFSET ?3"
    ))
    .bind(agency)
    .bind(limit.max(0))
    .bind(offset.max(0))
    .fetch_all(&mut *conn)
    .await?;
    let total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM subdomains WHERE ?1 IS NULL OR agency_id = ?1")
            .bind(agency)
            .fetch_one(&mut *conn)
            .await?;
    page(rows, Total::Exact(total))
}

/// Names granted or held by open requests that are one of `ancestors`
/// or lie below `name`, each (name, agency) once.
///
/// "Below" is a suffix test on `'.' || name` with `substr`, not `LIKE`:
/// labels may hold `_` (as in `_dmarc`), which `LIKE` would read as a
/// wildcard, and `LIKE` ignores case.
pub(super) async fn claims_near(
    ex: impl SqliteExecutor<'_>,
    name: &str,
    ancestors: &[String],
) -> StoreResult<Vec<NameClaim>> {
    let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT name, agency_id FROM subdomains
         WHERE name IN (SELECT value FROM json_each(?1)) OR substr(name, -length(?2)) = ?2
         UNION
         SELECT name, agency_id FROM requests
         WHERE state IN (SELECT value FROM json_each(?3))
           AND (name IN (SELECT value FROM json_each(?1)) OR substr(name, -length(?2)) = ?2)
         ORDER BY name, agency_id",
    )
    .bind(Json(ancestors))
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
    conn: &mut SqliteConnection,
    names: &[ImportedName],
    now_ms: i64,
) -> StoreResult<HashSet<String>> {
    let (into, returning) = INSERT_IMPORTED;
    let rows = imported_rows(names, now_ms)?;
    let written: Vec<(String,)> =
        many::insert_returning::<sqlx::Sqlite, (String,)>(conn, into, &rows, returning).await?;
    Ok(written.into_iter().map(|(name,)| name).collect())
}

/// Applies a batch's activated `requests` to the catalogue: one upsert of
/// the names created or changed, one delete of those removed.
pub(super) async fn apply_many(
    conn: &mut SqliteConnection,
    requests: &[SubdomainRequest],
    now_ms: i64,
) -> StoreResult<()> {
    let (removed, kept): (Vec<&SubdomainRequest>, Vec<&SubdomainRequest>) =
        requests.iter().partition(|r| r.kind == RequestKind::Remove);
    let (into, conflict) = UPSERT_SUBDOMAINS;
    many::insert::<sqlx::Sqlite>(conn, into, &subdomain_rows(&kept, now_ms)?, conflict).await?;
    if !removed.is_empty() {
        let names: Vec<String> = removed.iter().map(|r| r.name.clone()).collect();
        sqlx::query("DELETE FROM subdomains WHERE name IN (SELECT value FROM json_each(?))")
            .bind(serde_json::json!(names).to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Gives a catalogue entry to an agency.
pub(super) async fn set_agency(
    ex: impl SqliteExecutor<'_>,
    name: &str,
    agency_id: AgencyId,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query("UPDATE subdomains SET agency_id = ?, updated_at = ? WHERE name = ?")
        .bind(agency_id.0)
        .bind(now_ms)
        .bind(name)
        .execute(ex)
        .await?;
    Ok(())
}
