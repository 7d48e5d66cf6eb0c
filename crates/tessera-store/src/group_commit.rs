//! Group commit for the token hot path.
//!
//! Every refresh writes (consume the old token, insert the new one) and every write
//! must be durable before the answer leaves. Committing each request on its own
//! costs an fsync and a handful of statements per request; on SQLite the writers
//! also serialise on the file lock, whose busy handler sleeps for milliseconds at a
//! time. Instead, one task owns the hot-path writes: it takes every write waiting
//! in its queue, applies them all in one transaction with one statement per kind
//! of row, commits once, and only then answers each caller. A token is never
//! returned before it is durable, and one fsync covers the whole batch. If the
//! batch fails, nothing was committed and each write is retried on its own.

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use crate::{
    refresh::{consume_tokens, insert_families, insert_tokens, lock_live_families},
    SessionWrite, Store, StoreError, StoreResult,
};

/// Writes taken into one transaction at most.
const MAX_BATCH: usize = 512;
/// Writes waiting beyond this make callers wait for room (back-pressure).
const QUEUE_DEPTH: usize = 8192;

struct Job {
    write: SessionWrite,
    done: oneshot::Sender<StoreResult<bool>>,
}

/// Handle to the writer task; cloned with the store.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommitter {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("write", &self.write)
            .finish_non_exhaustive()
    }
}

impl GroupCommitter {
    pub(crate) fn spawn(pool: AnyPool) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run(pool, queue));
        Self { jobs }
    }

    async fn submit(&self, write: SessionWrite) -> StoreResult<bool> {
        let (done, outcome) = oneshot::channel();
        self.jobs
            .send(Job { write, done })
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        outcome.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn run(pool: AnyPool, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let outcomes = match commit_together(&pool, &batch).await {
            Ok(outcomes) => outcomes,
            // The database is unreachable or the pool exhausted: retrying each write
            // would only queue every caller behind a string of timeouts.
            Err(StoreError::Database(error)) if !matches!(error, sqlx::Error::Database(_)) => {
                tracing::error!(%error, writes = batch.len(), "group commit failed");
                let message = error.to_string();
                batch
                    .iter()
                    .map(|_| Err(StoreError::GroupCommit(message.clone())))
                    .collect()
            }
            // One write was refused by the database: nothing was committed. Apply
            // each write on its own so that only the failing one fails.
            Err(error) => {
                if batch.len() > 1 {
                    tracing::warn!(%error, writes = batch.len(), "group commit failed; retrying writes one by one");
                }
                let mut outcomes = Vec::with_capacity(batch.len());
                for job in &batch {
                    outcomes.push(commit_alone(&pool, &job.write).await);
                }
                outcomes
            }
        };
        for (job, outcome) in batch.drain(..).zip(outcomes) {
            // The caller may have gone away (client disconnected); the write stands.
            let _ = job.done.send(outcome);
        }
    }
}

async fn commit_alone(pool: &AnyPool, write: &SessionWrite) -> StoreResult<bool> {
    let mut tx = pool.begin().await?;
    let outcome = write.apply(&mut tx).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Applies the whole batch in one transaction with one statement per kind of
/// row: insert new families, lock the live families of every rotation, consume
/// every rotated token of a live family (`RETURNING` says which were still
/// unconsumed: those rotations won), insert every new token.
async fn commit_together(pool: &AnyPool, batch: &[Job]) -> StoreResult<Vec<StoreResult<bool>>> {
    let mut families = Vec::new();
    let mut rotated_families: Vec<&str> = Vec::new();
    let mut consumed_at = 0;
    for job in batch {
        match &job.write {
            SessionWrite::CreateFamily { family, .. } => families.push(family),
            SessionWrite::Rotate {
                now, replacement, ..
            } => {
                let family = replacement.family_id.as_str();
                if !rotated_families.contains(&family) {
                    rotated_families.push(family);
                }
                consumed_at = consumed_at.max(*now);
            }
            _ => {}
        }
    }
    let mut tx = pool.begin().await?;
    insert_families(&mut tx, &families).await?;
    let live = lock_live_families(&mut tx, &rotated_families, consumed_at).await?;
    let rotated: Vec<&[u8]> = batch
        .iter()
        .filter_map(|job| match &job.write {
            SessionWrite::Rotate {
                digest,
                replacement,
                ..
            } if live.contains(&replacement.family_id) => Some(digest.as_slice()),
            _ => None,
        })
        .collect();
    let mut unconsumed = consume_tokens(&mut tx, &rotated, consumed_at).await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut tokens = Vec::with_capacity(batch.len());
    for job in batch {
        match &job.write {
            SessionWrite::CreateFamily { first_token, .. } => {
                tokens.push(first_token);
                outcomes.push(Ok(true));
            }
            SessionWrite::Rotate {
                digest,
                replacement,
                ..
            } => {
                // The first rotation of a digest in the batch wins; a duplicate loses.
                let won = unconsumed.remove(digest.as_slice());
                if won {
                    tokens.push(replacement);
                }
                outcomes.push(Ok(won));
            }
            // Rarer writes (grace-window replays, login attempts): one statement each.
            other => outcomes.push(Ok(other.apply(&mut tx).await?)),
        }
    }
    insert_tokens(&mut tx, &tokens).await?;
    tx.commit().await?;
    Ok(outcomes)
}

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

impl Store {
    /// Applies a hot-path write through the group committer.
    pub(crate) async fn write_session(&self, write: SessionWrite) -> StoreResult<bool> {
        self.group_commit.submit(write).await
    }
}
