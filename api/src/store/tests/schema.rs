//! The two schemas agree: the same tables, columns and indexes after
//! each database's migrations, and the partial unique index that keeps
//! one open request per name lists exactly [`RequestState::OPEN`].

use std::collections::BTreeSet;

use super::{Db, TestDb};
use crate::model::RequestState;

on_both_databases! {
    the_open_name_index_lists_exactly_the_open_states,
}

/// `(table, column)` of every column but sqlx's bookkeeping.
async fn columns(db: &TestDb) -> BTreeSet<(String, String)> {
    let sql = match db.kind() {
        Db::Sqlite => {
            "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
               AND m.name <> '_sqlx_migrations'"
        }
        Db::Postgres => {
            "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'"
        }
    };
    db.texts(sql)
        .await
        .into_iter()
        .map(|row| (row[0].clone(), row[1].clone()))
        .collect()
}

/// `(table, index, unique or plain, partial or full)` of every index made
/// by a migration's `CREATE INDEX`, leaving out those the databases make
/// for primary keys and UNIQUE constraints on their own (and so name each
/// their own way).
async fn indexes(db: &TestDb) -> BTreeSet<[String; 4]> {
    let sql = match db.kind() {
        Db::Sqlite => {
            "SELECT m.tbl_name, m.name,
                    CASE WHEN l.\"unique\" THEN 'unique' ELSE 'plain' END,
                    CASE WHEN l.partial THEN 'partial' ELSE 'full' END
             FROM sqlite_master AS m, pragma_index_list(m.tbl_name) AS l
             WHERE m.type = 'index' AND l.name = m.name
               AND m.name NOT LIKE 'sqlite\\_autoindex\\_%' ESCAPE '\\'"
        }
        Db::Postgres => {
            "SELECT tablename::TEXT, indexname::TEXT,
                    CASE WHEN indexdef LIKE 'CREATE UNIQUE INDEX %' THEN 'unique' ELSE 'plain' END,
                    CASE WHEN indexdef LIKE '% WHERE %' THEN 'partial' ELSE 'full' END
             FROM pg_indexes
             WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations'
               AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'"
        }
    };
    db.texts(sql)
        .await
        .into_iter()
        .map(|row| {
            let [table, name, unique, partial]: [String; 4] = row.try_into().expect("four columns");
            [table, name, unique, partial]
        })
        .collect()
}

/// Run once, on both databases together: a column or an index added to
/// one migration and not the other fails here (and `database copy` would
/// fail on it).
#[tokio::test]
async fn sqlite_and_postgresql_have_the_same_columns_and_indexes() {
    let test = module_path!();
    let sqlite = TestDb::open(Db::Sqlite, test).await.expect("SQLite");
    let Some(postgres) = TestDb::open(Db::Postgres, test).await else {
        return;
    };

    let (in_sqlite, in_postgres) = (columns(&sqlite).await, columns(&postgres).await);
    // Not two empty sets agreeing.
    assert!(
        in_sqlite.contains(&("requests".to_owned(), "name".to_owned())),
        "{in_sqlite:?}"
    );
    assert_eq!(
        in_sqlite.difference(&in_postgres).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "columns in SQLite only"
    );
    assert_eq!(
        in_postgres.difference(&in_sqlite).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "columns in PostgreSQL only"
    );

    let (in_sqlite, in_postgres) = (indexes(&sqlite).await, indexes(&postgres).await);
    assert!(
        in_sqlite
            .iter()
            .any(|[_, name, ..]| name == "requests_one_open_per_name"),
        "{in_sqlite:?}"
    );
    assert_eq!(
        in_sqlite.difference(&in_postgres).collect::<Vec<_>>(),
        Vec::<&[String; 4]>::new(),
        "indexes in SQLite only (or unlike PostgreSQL's)"
    );
    assert_eq!(
        in_postgres.difference(&in_sqlite).collect::<Vec<_>>(),
        Vec::<&[String; 4]>::new(),
        "indexes in PostgreSQL only (or unlike SQLite's)"
    );
}

/// The definition of `requests_one_open_per_name` as the database keeps
/// it: unique, on the name, for the states its literal list names, which
/// are exactly `RequestState::OPEN` (`exactly_the_open_states_hold_the_name`
/// checks the same by behaviour, state by state).
async fn the_open_name_index_lists_exactly_the_open_states(db: TestDb) {
    let sql = match db.kind() {
        Db::Sqlite => {
            "SELECT sql FROM sqlite_master
             WHERE type = 'index' AND name = 'requests_one_open_per_name'"
        }
        Db::Postgres => {
            "SELECT indexdef FROM pg_indexes
             WHERE schemaname = 'public' AND indexname = 'requests_one_open_per_name'"
        }
    };
    let rows = db.texts(sql).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let definition = &rows[0][0];
    // SQLite keeps the statement as written; PostgreSQL rebuilds it:
    // `CREATE UNIQUE INDEX requests_one_open_per_name ON public.requests
    // USING btree (name) WHERE (state = ANY (ARRAY['submitted'::text, ...]))`.
    assert!(
        definition.starts_with("CREATE UNIQUE INDEX"),
        "{definition}"
    );
    let (indexed, condition) = definition
        .split_once(" WHERE ")
        .unwrap_or_else(|| panic!("not partial: {definition}"));
    let columns = indexed
        .rsplit_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(columns, _)| columns.trim());
    assert_eq!(columns, Some("name"), "{definition}");
    assert!(condition.contains("state"), "{definition}");
    // Quoted literals are every other piece between quotes.
    let states: BTreeSet<&str> = condition.split('\'').skip(1).step_by(2).collect();
    let open: BTreeSet<&str> = RequestState::OPEN.iter().map(|s| s.as_str()).collect();
    assert_eq!(states, open, "{definition}");
}
