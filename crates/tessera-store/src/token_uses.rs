//! Recording token uses in batches, for personal and company tokens alike
//! (and inserting event rows in batches, for endpoint calls too):
//! per token one counter update however many uses the batch holds, and the
//! accepted uses' events written in as few statements as the backend likes.
//! Refused uses are only counted, so that a flood of them cannot grow an
//! audit trail.

use std::collections::HashMap;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use crate::sql::placeholders;
use crate::{Backend, Store, StoreResult, Timestamp, UseOutcome};

/// Rows per multi-row insert of use events on PostgreSQL: far below its
/// parameter limit for the widest event row.
const EVENTS_PER_STATEMENT: usize = 256;

/// How much a stored token has been used, as its row counts it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    pub use_count: i64,
    /// Uses that were refused (expired, user inactive, another audience, a
    /// disabled profile).
    pub refused_uses: i64,
}

impl TokenUsage {
    pub(crate) fn from_row(row: &AnyRow) -> StoreResult<Self> {
        Ok(Self {
            last_used_at: row.try_get("last_used_at")?,
            last_used_ip: row.try_get("last_used_ip")?,
            use_count: row.try_get("use_count")?,
            refused_uses: row.try_get("refused_uses")?,
        })
    }
}

/// A stored token with its usage, as lists and lookups read it; never its
/// secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked<T> {
    pub token: T,
    pub usage: TokenUsage,
}

impl<T> Tracked<T> {
    /// The token right after it is stored: never used yet.
    pub fn unused(token: T) -> Self {
        Self {
            token,
            usage: TokenUsage::default(),
        }
    }
}

/// How a token was presented once: by which client, from where, when, and
/// what came of it; the last four columns of every use event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presentation {
    /// The client that presented or checked the token.
    pub client_id: Option<String>,
    pub address: Option<String>,
    pub outcome: UseOutcome,
    pub at: Timestamp,
}

impl Presentation {
    pub fn new(
        (client_id, address): (Option<&str>, Option<&str>),
        outcome: UseOutcome,
        at: Timestamp,
    ) -> Self {
        Self {
            client_id: client_id.map(str::to_owned),
            address: address.map(str::to_owned),
            outcome,
            at,
        }
    }

    /// Binds `client_id, address, outcome, at`, in that order.
    pub(crate) fn bind_to<'q>(&'q self, query: EventQuery<'q>) -> EventQuery<'q> {
        query
            .bind(&self.client_id)
            .bind(&self.address)
            .bind(self.outcome.as_str())
            .bind(self.at)
    }
}

/// A use of a token, as a batch records it.
pub(crate) trait RecordedUse {
    fn token_id(&self) -> &str;
    fn presentation(&self) -> &Presentation;
}

/// A use type with the fields `token_id` and `presentation`.
macro_rules! recorded_use {
    ($use:ty) => {
        impl $crate::token_uses::RecordedUse for $use {
            fn token_id(&self) -> &str {
                self.token_id.as_str()
            }

            fn presentation(&self) -> &$crate::token_uses::Presentation {
                &self.presentation
            }
        }
    };
}
pub(crate) use recorded_use;

/// The table of one family of tokens and of its events.
pub(crate) struct UseTables<U> {
    /// The tokens' table, with `use_count`, `last_used_at`, `last_used_ip`,
    /// `refused_uses` and `last_refused_at` columns.
    pub(crate) tokens: &'static str,
    /// `INSERT INTO events (…) VALUES`: the start of the event insert.
    pub(crate) insert_events: &'static str,
    pub(crate) event_columns: usize,
    /// Binds one event row's values, in the order of `insert_events`.
    pub(crate) bind_event: BindEvent<U>,
}

/// Per token: how many uses, and the latest.
fn tally<'a, U: RecordedUse>(uses: &[&'a U]) -> HashMap<&'a str, (i64, &'a U)> {
    let mut per_token: HashMap<&str, (i64, &U)> = HashMap::new();
    for token_use in uses {
        let entry = per_token
            .entry(token_use.token_id())
            .or_insert((0, token_use));
        entry.0 += 1;
        if token_use.presentation().at >= entry.1.presentation().at {
            entry.1 = token_use;
        }
    }
    per_token
}

impl Store {
    /// Records a batch of uses in one transaction: per token, the count, the
    /// time and address of the last use, and an event per accepted use;
    /// refused uses are only counted (see [`UseOutcome::is_refused`]).
    pub(crate) async fn record_use_batch<U: RecordedUse>(
        &self,
        tables: &UseTables<U>,
        uses: &[U],
    ) -> StoreResult<()> {
        if uses.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        record_uses(&mut tx, self.backend, tables, uses).await?;
        Ok(tx.commit().await?)
    }
}

/// Records `uses` inside the caller's transaction.
async fn record_uses<U: RecordedUse>(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    tables: &UseTables<U>,
    uses: &[U],
) -> StoreResult<()> {
    let (refused, accepted): (Vec<&U>, Vec<&U>) = uses
        .iter()
        .partition(|token_use| token_use.presentation().outcome.is_refused());
    let counted = format!(
        "UPDATE {} SET use_count = use_count + $1, last_used_at = $2, last_used_ip = $3 \
         WHERE id = $4",
        tables.tokens
    );
    for (token_id, (count, last)) in tally(&accepted) {
        sqlx::query(&counted)
            .bind(count)
            .bind(last.presentation().at)
            .bind(&last.presentation().address)
            .bind(token_id)
            .execute(&mut *conn)
            .await?;
    }
    let refusals = format!(
        "UPDATE {} SET refused_uses = refused_uses + $1, last_refused_at = $2 WHERE id = $3",
        tables.tokens
    );
    for (token_id, (count, last)) in tally(&refused) {
        sqlx::query(&refusals)
            .bind(count)
            .bind(last.presentation().at)
            .bind(token_id)
            .execute(&mut *conn)
            .await?;
    }
    insert_event_rows(
        conn,
        backend,
        (tables.insert_events, tables.event_columns),
        &accepted,
        tables.bind_event,
    )
    .await
}

/// An event insert being bound.
pub(crate) type EventQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// Binds one event row's values, in the order of its insert's columns.
pub(crate) type BindEvent<R> = for<'q> fn(EventQuery<'q>, &'q R) -> EventQuery<'q>;

/// Inserts `rows` with `insert` (`INSERT INTO … (…) VALUES`, `columns` of
/// them) inside the caller's transaction.
pub(crate) async fn insert_event_rows<R>(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    (insert, columns): (&str, usize),
    rows: &[&R],
    bind: BindEvent<R>,
) -> StoreResult<()> {
    // PostgreSQL: one multi-row statement per chunk, since a round trip per
    // event would make the writer, not the requests, the limit under load.
    // SQLite runs in-process: one prepared single-row statement per event is
    // cheaper there than re-parsing (and binding by name) a statement with
    // thousands of parameters.
    let rows_per_statement = match backend {
        Backend::Postgres => EVENTS_PER_STATEMENT,
        Backend::Sqlite => 1,
    };
    for chunk in rows.chunks(rows_per_statement) {
        let sql = format!("{insert} {}", placeholders(chunk.len(), columns, 1));
        let mut query = sqlx::query(&sql).persistent(rows_per_statement == 1);
        for row in chunk {
            query = bind(query, row);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}
