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

async fn sqlite_schema(conn: &mut AnyConnection) -> BTreeSet<Fact> {
    let mut facts = BTreeSet::new();
    let tables = strings(
        conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .await;
    for table in tables {
        let columns = sqlx::query(&format!(
            "SELECT name, CAST(pk AS INTEGER) AS pk FROM pragma_table_info('{table}') ORDER BY pk"
        ))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let mut primary_key = Vec::new();
        for row in &columns {
            let column: String = row.try_get("name").unwrap();
            if row.try_get::<i64, _>("pk").unwrap() > 0 {
                primary_key.push(column.clone());
            }
            facts.insert(Fact::Column {
                table: table.clone(),
                column,
            });
        }
        facts.insert(Fact::PrimaryKey {
            table: table.clone(),
            columns: primary_key,
        });
        // Only indexes made by CREATE INDEX: those behind a primary key or a
        // UNIQUE constraint are the constraint's, compared as columns above.
        let indexes = sqlx::query(&format!(
            "SELECT name, CAST(\"unique\" AS INTEGER) AS u, CAST(partial AS INTEGER) AS p \
             FROM pragma_index_list('{table}') WHERE origin = 'c'"
        ))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        for row in &indexes {
            let name: String = row.try_get("name").unwrap();
            let columns = strings(
                conn,
                &format!("SELECT name FROM pragma_index_info('{name}') ORDER BY seqno"),
            )
            .await;
            facts.insert(Fact::Index {
                name,
                table: table.clone(),
                columns,
                unique: row.try_get::<i64, _>("u").unwrap() != 0,
                partial: row.try_get::<i64, _>("p").unwrap() != 0,
            });
        }
        facts.insert(Fact::Table(table));
    }
    facts
}

async fn postgres_schema(conn: &mut AnyConnection) -> BTreeSet<Fact> {
    let mut facts = BTreeSet::new();
    let tables = strings(
        conn,
        "SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = 'public'",
    )
    .await;
    for table in tables {
        for column in strings(
            conn,
            &format!(
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = '{table}'"
            ),
        )
        .await
        {
            facts.insert(Fact::Column {
                table: table.clone(),
                column,
            });
        }
        let primary_key = strings(
            conn,
            &format!(
                "SELECT CAST(a.attname AS TEXT) FROM pg_index i \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                 WHERE i.indrelid = '{table}'::regclass AND i.indisprimary \
                 ORDER BY array_position(i.indkey, a.attnum)"
            ),
        )
        .await;
        facts.insert(Fact::PrimaryKey {
            table: table.clone(),
            columns: primary_key,
        });
        // Indexes that back no constraint: the ones CREATE INDEX made.
        let indexes = sqlx::query(&format!(
            "SELECT CAST(c.relname AS TEXT) AS name, \
               CAST(CASE WHEN i.indisunique THEN 1 ELSE 0 END AS BIGINT) AS u, \
               CAST(CASE WHEN i.indpred IS NOT NULL THEN 1 ELSE 0 END AS BIGINT) AS p \
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid = '{table}'::regclass \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
        ))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        for row in &indexes {
            let name: String = row.try_get("name").unwrap();
            let columns = strings(
                conn,
                &format!(
                    "SELECT CAST(a.attname AS TEXT) FROM pg_index i \
                     JOIN pg_class c ON c.oid = i.indexrelid \
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                     WHERE c.relname = '{name}' ORDER BY array_position(i.indkey, a.attnum)"
                ),
            )
            .await;
            facts.insert(Fact::Index {
                name,
                table: table.clone(),
                columns,
                unique: row.try_get::<i64, _>("u").unwrap() != 0,
                partial: row.try_get::<i64, _>("p").unwrap() != 0,
            });
        }
        facts.insert(Fact::Table(table));
    }
    facts
}

/// Applies the migrations of the backend behind `url` through the server's own
/// start-up path.
async fn migrated(env: &Env) -> AnyConnection {
    env.start().await.stop().await;
    sqlx::any::install_default_drivers();
    AnyConnection::connect(&env.database_url).await.unwrap()
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_produce_the_same_schema() {
    let sqlite = Env::sqlite(RealmOptions::default()).await;
    let mut conn = migrated(&sqlite).await;
    let sqlite_facts = sqlite_schema(&mut conn).await;
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
    let postgres_facts = postgres_schema(&mut conn).await;
    conn.close().await.unwrap();

    let only_sqlite: Vec<_> = sqlite_facts.difference(&postgres_facts).collect();
    let only_postgres: Vec<_> = postgres_facts.difference(&sqlite_facts).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "the migrations drifted apart\nonly in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_postgres:#?}"
    );
}
