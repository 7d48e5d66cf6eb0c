//! The SQLite and PostgreSQL migrations are separate files; this keeps them
//! describing one schema. Both are applied to fresh databases and their
//! catalogues compared: the same tables, the same columns, the same primary
//! keys and the same explicit indexes (name, table, columns, uniqueness and
//! whether it is partial). Column types differ on purpose and are not compared.

use std::collections::BTreeSet;

use sqlx::{AnyConnection, Connection, Row};

use crate::kit::{Env, RealmOptions};

/// One fact of a schema, comparable across backends.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Fact {
    Table(String),
    Column {
        table: String,
        column: String,
    },
    PrimaryKey {
        table: String,
        columns: Vec<String>,
    },
    Index {
        name: String,
        table: String,
        columns: Vec<String>,
        unique: bool,
        partial: bool,
    },
}

async fn strings(conn: &mut AnyConnection, sql: &str) -> Vec<String> {
    sqlx::query(sql)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String, _>(0).unwrap())
        .collect()
}

/// Where a backend's catalogue keeps each fact: queries naming one table (or
/// index) by `{}`. The index query answers `name`, `u` (unique) and `p`
/// (partial) for the indexes CREATE INDEX made; those behind a primary key or
/// a UNIQUE constraint belong to the constraint and are left out.
struct Catalogue {
    tables: &'static str,
    columns: &'static str,
    primary_key: &'static str,
    indexes: &'static str,
    index_columns: &'static str,
}

const SQLITE: Catalogue = Catalogue {
    tables: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    columns: "SELECT name FROM pragma_table_info('{}')",
    primary_key: "SELECT name FROM pragma_table_info('{}') WHERE pk > 0 ORDER BY pk",
    indexes: "SELECT name, CAST(\"unique\" AS INTEGER) AS u, CAST(partial AS INTEGER) AS p \
              FROM pragma_index_list('{}') WHERE origin = 'c'",
    index_columns: "SELECT name FROM pragma_index_info('{}') ORDER BY seqno",
};

const POSTGRES: Catalogue = Catalogue {
    tables: "SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = 'public'",
    columns: "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
              WHERE table_schema = 'public' AND table_name = '{}'",
    primary_key: "SELECT CAST(a.attname AS TEXT) FROM pg_index i \
                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                  WHERE i.indrelid = '{}'::regclass AND i.indisprimary \
                  ORDER BY array_position(i.indkey, a.attnum)",
    indexes: "SELECT CAST(c.relname AS TEXT) AS name, \
                CAST(CASE WHEN i.indisunique THEN 1 ELSE 0 END AS BIGINT) AS u, \
                CAST(CASE WHEN i.indpred IS NOT NULL THEN 1 ELSE 0 END AS BIGINT) AS p \
              FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
              WHERE i.indrelid = '{}'::regclass \
                AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
    index_columns: "SELECT CAST(a.attname AS TEXT) FROM pg_index i \
                    JOIN pg_class c ON c.oid = i.indexrelid \
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                    WHERE c.relname = '{}' ORDER BY array_position(i.indkey, a.attnum)",
};

async fn schema(conn: &mut AnyConnection, catalogue: &Catalogue) -> BTreeSet<Fact> {
    let about = |sql: &str, name: &str| sql.replace("{}", name);
    let mut facts = BTreeSet::new();
    for table in strings(conn, catalogue.tables).await {
        for column in strings(conn, &about(catalogue.columns, &table)).await {
            facts.insert(Fact::Column {
                table: table.clone(),
                column,
            });
        }
        facts.insert(Fact::PrimaryKey {
            table: table.clone(),
            columns: strings(conn, &about(catalogue.primary_key, &table)).await,
        });
        let indexes = sqlx::query(&about(catalogue.indexes, &table))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        for row in &indexes {
            let name: String = row.try_get("name").unwrap();
            facts.insert(Fact::Index {
                columns: strings(conn, &about(catalogue.index_columns, &name)).await,
                name,
                table: table.clone(),
                unique: row.try_get::<i64, _>("u").unwrap() != 0,
                partial: row.try_get::<i64, _>("p").unwrap() != 0,
            });
        }
        facts.insert(Fact::Table(table));
    }
    facts
}

/// A connection to the test environment's database, migrated through the
/// server's own start-up path.
async fn migrated(env: &Env) -> AnyConnection {
    env.start().await.stop().await;
    sqlx::any::install_default_drivers();
    AnyConnection::connect(&env.database_url).await.unwrap()
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_produce_the_same_schema() {
    let sqlite = Env::sqlite(RealmOptions::default()).await;
    let mut conn = migrated(&sqlite).await;
    let sqlite_facts = schema(&mut conn, &SQLITE).await;
    conn.close().await.unwrap();
    assert!(
        sqlite_facts
            .iter()
            .any(|fact| matches!(fact, Fact::Index { .. })),
        "the SQLite catalogue reading found no index: {sqlite_facts:#?}"
    );

    let env = Env::new(RealmOptions::default()).await;
    if !env.is_postgres() {
        eprintln!("TESSERA_TEST_POSTGRES_URL is unset: compared on the PostgreSQL run only");
        return;
    }
    let mut conn = migrated(&env).await;
    let postgres_facts = schema(&mut conn, &POSTGRES).await;
    conn.close().await.unwrap();

    let only_sqlite: Vec<_> = sqlite_facts.difference(&postgres_facts).collect();
    let only_postgres: Vec<_> = postgres_facts.difference(&sqlite_facts).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "the migrations drifted apart\nonly in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_postgres:#?}"
    );
}
