//! SQL text and value helpers shared by every aggregate: placeholder lists for
//! statements with a variable number of rows, booleans as integers (the one
//! column type both backends read the same through sqlx's `Any` driver), and
//! the lookups of records by one key (`find_by_key`, `all_by_key`), by a pair
//! of keys (`find_by_keys`) and of a page of a realm's (`realm_page`).

use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool};

use crate::{Page, StoreResult};

/// `$first, $first+1, …`: `count` placeholders for an `IN (…)` list.
pub(crate) fn parameter_list(count: usize, first: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, $2, …), ($n+1, …)`: placeholders for a multi-row statement.
pub(crate) fn placeholders(rows: usize, columns: usize, first: usize) -> String {
    (0..rows)
        .map(|row| {
            let cells: Vec<String> = (0..columns)
                .map(|column| format!("${}", first + row * columns + column))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A boolean column's value.
pub(crate) fn flag(value: bool) -> i64 {
    i64::from(value)
}

/// The record `sql` selects with `$1` bound to `key`, read by `from_row`;
/// none if no row.
pub(crate) async fn find_by_key<'q, T, K>(
    pool: &AnyPool,
    sql: &'q str,
    key: K,
    from_row: fn(&AnyRow) -> StoreResult<T>,
) -> StoreResult<Option<T>>
where
    K: sqlx::Encode<'q, Any> + sqlx::Type<Any> + Send + 'q,
{
    sqlx::query(sql)
        .bind(key)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Every record `sql` selects with `$1` bound to `key`, read by `from_row`.
pub(crate) async fn all_by_key<'q, T, K>(
    pool: &AnyPool,
    sql: &'q str,
    key: K,
    from_row: fn(&AnyRow) -> StoreResult<T>,
) -> StoreResult<Vec<T>>
where
    K: sqlx::Encode<'q, Any> + sqlx::Type<Any> + Send + 'q,
{
    let rows = sqlx::query(sql).bind(key).fetch_all(pool).await?;
    rows.iter().map(from_row).collect()
}

/// The record `sql` selects with `$1` and `$2` bound to `keys` (an id and
/// what scopes it, such as its realm), read by `from_row`; none if no row.
pub(crate) async fn find_by_keys<'q, T, A, B>(
    pool: &AnyPool,
    sql: &'q str,
    keys: (A, B),
    from_row: fn(&AnyRow) -> StoreResult<T>,
) -> StoreResult<Option<T>>
where
    A: sqlx::Encode<'q, Any> + sqlx::Type<Any> + Send + 'q,
    B: sqlx::Encode<'q, Any> + sqlx::Type<Any> + Send + 'q,
{
    sqlx::query(sql)
        .bind(keys.0)
        .bind(keys.1)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// A page of one table's records of the realm, each read by `from_row`: the
/// `listing` is the table (with the alias its columns use), the columns and
/// the order, as in `("companies c", "c.id, c.name", "c.name")`. One table,
/// no join: the realm column is named without its alias.
pub(crate) async fn realm_page<T>(
    pool: &AnyPool,
    (table, columns, order_by): (&str, &str, &str),
    (realm, page): (&str, Page),
    from_row: fn(&AnyRow) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let sql = format!(
        "SELECT {columns} FROM {table} WHERE realm = $1 ORDER BY {order_by} LIMIT $2 OFFSET $3"
    );
    let rows = sqlx::query(&sql)
        .bind(realm)
        .bind(page.max)
        .bind(page.first)
        .fetch_all(pool)
        .await?;
    rows.iter().map(from_row).collect()
}
