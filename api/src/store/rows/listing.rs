//! The statements of the lists people page through (requests, the review
//! queue, the audit log), built with only the conditions a filter sets.
//!
//! A generic `(?1 IS NULL OR state = ?1)` cannot use an index: SQLite
//! plans a statement once whatever is bound, and PostgreSQL's generic plan
//! does the same. Each list therefore gets the statement of its filter,
//! the values bound in order, in either dialect. The page's `LIMIT` and
//! `OFFSET` follow the filter's values.
//!
//! A list's total is counted up to [`COUNT_CAP`]: an exact `COUNT(*)` of
//! the largest state over years of requests (or of a million audit
//! entries) reads every matching index entry on every page view, which is
//! what made a page cost milliseconds. Past the cap the total is a lower
//! bound ([`Total::AtLeast`]); nobody pages through more than a thousand
//! entries, they narrow the filter.

use sqlx::AssertSqlSafe;

use crate::store::codec::like_escape;
use crate::store::{AuditFilter, RequestFilter, RequestOrder, StoreResult, Total};

/// The most rows a list's total counts.
pub const COUNT_CAP: i64 = 1_000;

/// How a database numbers a statement's parameters and matches a pattern
/// ignoring ASCII case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::store) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    fn parameter(self, n: usize) -> String {
        match self {
            Self::Sqlite => format!("?{n}"),
            Self::Postgres => format!("${n}"),
        }
    }

    /// What a list's transaction runs first. PostgreSQL plans a prepared
    /// statement once it has run a few times (a generic plan), for any
    /// value: for `state = $1` it expects a sixth of the table, so the
    /// count of a rare state (`submitted`, the review queue) reads rows
    /// until it has a thousand, that is the whole table. Planned for the
    /// values at hand (a fraction of a millisecond), each list reads only
    /// its index. SQLite's planner does not look at values.
    fn setup(self) -> Option<&'static str> {
        match self {
            Self::Sqlite => None,
            Self::Postgres => Some("SET LOCAL plan_cache_mode = force_custom_plan"),
        }
    }

    /// `LIKE` ignores ASCII case in SQLite; PostgreSQL says so.
    fn like(self) -> &'static str {
        match self {
            Self::Sqlite => "LIKE",
            Self::Postgres => "ILIKE",
        }
    }
}

/// A value a list statement binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::store) enum Value {
    Int(i64),
    Text(String),
}

/// A list's statements: the page and its capped count, which bind the
/// same `values`.
#[derive(Debug, Clone)]
pub(in crate::store) struct ListStatements {
    /// Run first, in the same transaction.
    pub setup: Option<&'static str>,
    pub page: String,
    pub count: String,
    pub values: Vec<Value>,
}

impl ListStatements {
    /// The total of a list whose capped count found `counted` rows.
    pub fn total(counted: i64) -> Total {
        if counted > COUNT_CAP {
            Total::AtLeast(COUNT_CAP)
        } else {
            Total::Exact(counted)
        }
    }
}

/// Runs `statements` on `conn`: the page and the total, in that order
/// (run both in one read transaction for a total that matches the page).
pub(in crate::store) async fn fetch<DB, R>(
    conn: &mut DB::Connection,
    statements: ListStatements,
) -> StoreResult<(Vec<R>, Total)>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'r> R: sqlx::FromRow<'r, DB::Row> + Send + Unpin,
    for<'r> (i64,): sqlx::FromRow<'r, DB::Row>,
{
    if let Some(setup) = statements.setup {
        sqlx::query::<DB>(setup).execute(&mut *conn).await?;
    }
    let mut page = sqlx::query_as::<DB, R>(AssertSqlSafe(statements.page));
    let mut count = sqlx::query_scalar::<DB, i64>(AssertSqlSafe(statements.count));
    for value in statements.values {
        (page, count) = match value {
            Value::Int(v) => (page.bind(v), count.bind(v)),
            Value::Text(v) => (page.bind(v.clone()), count.bind(v)),
        };
    }
    let rows = page.fetch_all(&mut *conn).await?;
    let counted = count.fetch_one(&mut *conn).await?;
    Ok((rows, ListStatements::total(counted)))
}

/// A filter's conditions, joined by `AND`, and the values they bind.
struct Conditions {
    dialect: Dialect,
    sql: Vec<String>,
    values: Vec<Value>,
}

impl Conditions {
    fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            sql: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Binds `value`; returns its parameter.
    fn bind(&mut self, value: Value) -> String {
        self.values.push(value);
        self.dialect.parameter(self.values.len())
    }

    fn push(&mut self, condition: String) {
        self.sql.push(condition);
    }

    /// The page and count of `table`'s rows matching, page ordered by
    /// `order`.
    /// `limit` and `offset` are written into the page's statement, not
    /// bound: a plan made for `LIMIT $n` expects a tenth of the matches,
    /// so it may read the table and sort it, where `LIMIT 50` walks 50
    /// entries of an index. They are numbers from the paging, never text
    /// from a request.
    fn statements(
        self,
        columns: &str,
        table: &str,
        order: &str,
        (limit, offset): (i64, i64),
    ) -> ListStatements {
        let filter = if self.sql.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.sql.join(" AND "))
        };
        let (limit, offset) = (limit.max(0), offset.max(0));
        ListStatements {
            setup: self.dialect.setup(),
            page: format!(
                "SELECT {columns} FROM {table}{filter} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
            ),
            count: format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM {table}{filter} LIMIT {}) AS capped",
                COUNT_CAP + 1
            ),
            values: self.values,
        }
    }
}

/// The statements of the requests list: newest first, or the review
/// queue's order (due first). A state uses `requests_state (state, id)`
/// or `requests_state_due (state, due_at)`, an agency
/// `requests_agency_state` or `requests_agency`; a name is a substring,
/// which filters the rows the others select.
pub(in crate::store) fn requests(
    dialect: Dialect,
    columns: &str,
    filter: &RequestFilter,
) -> ListStatements {
    let mut c = Conditions::new(dialect);
    if let Some(agency) = filter.agency_id {
        let p = c.bind(Value::Int(agency.0));
        c.push(format!("agency_id = {p}"));
    }
    if let Some(state) = filter.state {
        let p = c.bind(Value::Text(state.as_str().to_owned()));
        c.push(format!("state = {p}"));
    }
    if let Some(name) = &filter.name {
        let p = c.bind(Value::Text(format!("%{}%", like_escape(name))));
        c.push(format!("name {} {p} ESCAPE '\\'", dialect.like()));
    }
    let order = match filter.order {
        RequestOrder::Newest => "id DESC",
        RequestOrder::DueFirst => "due_at, id",
    };
    c.statements(columns, "requests", order, (filter.limit, filter.offset))
}

/// The statements of the audit search, newest first. A name is that name
/// and every name below it: the reversed name (`name_rev`) equal to the
/// name's reverse or starting with it and a dot, a range of the
/// `audit_log_name_rev` index. An action with a dot is one action; without,
/// a family (`dns.%`).
pub(in crate::store) fn audit(
    dialect: Dialect,
    columns: &str,
    filter: &AuditFilter,
) -> ListStatements {
    let mut c = Conditions::new(dialect);
    if let Some(from) = filter.from {
        let p = c.bind(Value::Int(from));
        c.push(format!("at >= {p}"));
    }
    if let Some(to) = filter.to {
        let p = c.bind(Value::Int(to));
        c.push(format!("at < {p}"));
    }
    if let Some(agency) = filter.agency_id {
        let p = c.bind(Value::Int(agency));
        c.push(format!("agency_id = {p}"));
    }
    if let Some(name) = &filter.name {
        let reversed = reverse_name(name);
        // Below `x` in reverse: after "x." and before "x/" ('/' follows
        // '.'), compared byte by byte (PostgreSQL's column is COLLATE "C").
        let exact = c.bind(Value::Text(reversed.clone()));
        let after = c.bind(Value::Text(format!("{reversed}.")));
        let before = c.bind(Value::Text(format!("{reversed}/")));
        c.push(format!(
            "(name_rev = {exact} OR (name_rev > {after} AND name_rev < {before}))"
        ));
    }
    if let Some(actor) = &filter.actor {
        let p = c.bind(Value::Text(actor.clone()));
        c.push(format!("actor = {p}"));
    }
    if let Some(action) = &filter.action {
        if action.contains('.') {
            let p = c.bind(Value::Text(action.clone()));
            c.push(format!("action = {p}"));
        } else {
            let p = c.bind(Value::Text(format!("{}.%", like_escape(action))));
            c.push(format!("action {} {p} ESCAPE '\\'", dialect.like()));
        }
    }
    c.statements(
        columns,
        "audit_log",
        "seq DESC",
        (filter.limit, filter.offset),
    )
}

/// What `audit_log.name_rev` holds for `name`: its characters in reverse
/// order, in lower case, so that the names below one (its suffixes after a
/// dot) are a range of an index. The migrations fill it the same way for
/// the entries before them.
pub(in crate::store) fn reverse_name(name: &str) -> String {
    name.to_ascii_lowercase().chars().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AgencyId, RequestState};

    #[test]
    fn a_request_filter_binds_only_what_it_sets() {
        let filter = RequestFilter {
            state: Some(RequestState::Submitted),
            order: RequestOrder::DueFirst,
            limit: 50,
            ..RequestFilter::default()
        };
        let s = requests(Dialect::Postgres, "id", &filter);
        assert_eq!(
            s.page,
            "SELECT id FROM requests WHERE state = $1 ORDER BY due_at, id LIMIT 50 OFFSET 0"
        );
        assert_eq!(
            s.count,
            "SELECT COUNT(*) FROM (SELECT 1 FROM requests WHERE state = $1 LIMIT 1001) AS capped"
        );
        assert_eq!(s.values, vec![Value::Text("submitted".into())]);

        let filter = RequestFilter {
            agency_id: Some(AgencyId(7)),
            name: Some("50%".into()),
            limit: 20,
            offset: 40,
            ..RequestFilter::default()
        };
        let s = requests(Dialect::Sqlite, "id", &filter);
        assert_eq!(
            s.page,
            "SELECT id FROM requests WHERE agency_id = ?1 AND name LIKE ?2 ESCAPE '\\' \
             ORDER BY id DESC LIMIT 20 OFFSET 40"
        );
        assert_eq!(s.values, vec![Value::Int(7), Value::Text("%50\\%%".into())]);
        let s = requests(Dialect::Sqlite, "id", &RequestFilter::default());
        assert_eq!(
            s.page,
            "SELECT id FROM requests ORDER BY id DESC LIMIT 0 OFFSET 0"
        );
    }

    #[test]
    fn a_name_in_the_audit_search_is_a_range_of_reversed_names() {
        let filter = AuditFilter {
            name: Some("Disdik.kalbarprov.go.id".into()),
            action: Some("dns".into()),
            ..AuditFilter::default()
        };
        let s = audit(Dialect::Sqlite, "seq", &filter);
        assert_eq!(
            s.page,
            "SELECT seq FROM audit_log WHERE (name_rev = ?1 OR (name_rev > ?2 AND name_rev < ?3)) \
             AND action LIKE ?4 ESCAPE '\\' ORDER BY seq DESC LIMIT 0 OFFSET 0"
        );
        let reversed = "di.og.vorprablak.kidsid";
        assert_eq!(
            s.values,
            vec![
                Value::Text(reversed.into()),
                Value::Text(format!("{reversed}.")),
                Value::Text(format!("{reversed}/")),
                Value::Text("dns.%".into()),
            ]
        );
        // Exactly the name and the names below it: not a name that merely
        // ends with the same letters.
        let inside = |n: &str| {
            let r = reverse_name(n);
            r == reversed
                || (r.as_str() > "di.og.vorprablak.kidsid."
                    && r.as_str() < "di.og.vorprablak.kidsid/")
        };
        assert!(inside("disdik.kalbarprov.go.id"));
        assert!(inside("ppid.disdik.kalbarprov.go.id"));
        assert!(inside("a.b.disdik.kalbarprov.go.id"));
        assert!(!inside("xdisdik.kalbarprov.go.id"));
        assert!(!inside("x-disdik.kalbarprov.go.id"));
        assert!(!inside("kalbarprov.go.id"));
    }

    #[test]
    fn a_total_past_the_cap_is_a_lower_bound() {
        assert_eq!(ListStatements::total(0), Total::Exact(0));
        assert_eq!(ListStatements::total(COUNT_CAP), Total::Exact(COUNT_CAP));
        assert_eq!(
            ListStatements::total(COUNT_CAP + 1),
            Total::AtLeast(COUNT_CAP)
        );
    }
}
