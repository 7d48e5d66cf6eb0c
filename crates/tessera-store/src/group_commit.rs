//! Group commit: one writer task that batches writes into one transaction.
//!
//! Every refresh writes (consume the old token, insert the new one) and every write
//! must be durable before the answer leaves. Committing each request on its own
//! costs an fsync and a handful of statements per request; on SQLite the writers
//! also serialise on the file lock, whose busy handler sleeps for milliseconds at a
//! time. Instead, one task owns the hot-path writes: it takes every write waiting
//! in its queue, applies them all in one transaction ([`GroupWrite::apply_batch`]),
//! commits once, and only then answers each caller. A token is never returned
//! before it is durable, and one fsync covers the whole batch. If the database
//! refuses the batch, nothing was committed and each write is retried on its own.
//!
//! This module knows nothing of what the writes are: the command type
//! (`session_write.rs`) says how one write, and a batch of them, are applied.

use std::future::Future;

use sqlx::{AnyConnection, AnyPool};
use tokio::sync::{mpsc, oneshot};

use crate::{begin_write, Backend, StoreError, StoreResult};

/// Writes taken into one transaction at most.
const MAX_BATCH: usize = 512;
/// Writes waiting beyond this make callers wait for room (back-pressure).
const QUEUE_DEPTH: usize = 8192;

/// A write the group committer can apply alone or batched with others of its type.
/// Each answers `Ok(bool)`, whose meaning the write defines.
pub(crate) trait GroupWrite: std::fmt::Debug + Send + Sync + 'static {
    /// Applies the write inside the caller's transaction.
    fn apply(&self, conn: &mut AnyConnection) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Applies every write of `batch` inside the caller's transaction, one
    /// outcome per write in order. An `Err` means the transaction must not be
    /// committed.
    fn apply_batch(
        batch: &[&Self],
        conn: &mut AnyConnection,
    ) -> impl Future<Output = StoreResult<Vec<StoreResult<bool>>>> + Send;
}

struct Job<W> {
    write: W,
    done: oneshot::Sender<StoreResult<bool>>,
}

/// Handle to the writer task; cloned with the store.
#[derive(Debug)]
pub(crate) struct GroupCommitter<W> {
    jobs: mpsc::Sender<Job<W>>,
}

impl<W> Clone for GroupCommitter<W> {
    fn clone(&self) -> Self {
        Self {
            jobs: self.jobs.clone(),
        }
    }
}

impl<W: std::fmt::Debug> std::fmt::Debug for Job<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("write", &self.write)
            .finish_non_exhaustive()
    }
}

impl<W: GroupWrite> GroupCommitter<W> {
    pub(crate) fn spawn(pool: AnyPool, backend: Backend) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run((pool, backend), queue));
        Self { jobs }
    }

    /// Queues `write` and waits until the transaction holding it has committed.
    pub(crate) async fn submit(&self, write: W) -> StoreResult<bool> {
        let (done, outcome) = oneshot::channel();
        self.jobs
            .send(Job { write, done })
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        outcome.await.map_err(|_| StoreError::WriterStopped)?
    }
}

async fn run<W: GroupWrite>(db: (AnyPool, Backend), mut queue: mpsc::Receiver<Job<W>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let outcomes = match commit_together(&db, &batch).await {
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
                    outcomes.push(commit_alone(&db, &job.write).await);
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

async fn commit_alone<W: GroupWrite>(
    (pool, backend): &(AnyPool, Backend),
    write: &W,
) -> StoreResult<bool> {
    let mut tx = begin_write(pool, *backend).await?;
    let outcome = write.apply(&mut tx).await?;
    tx.commit().await?;
    Ok(outcome)
}

async fn commit_together<W: GroupWrite>(
    (pool, backend): &(AnyPool, Backend),
    batch: &[Job<W>],
) -> StoreResult<Vec<StoreResult<bool>>> {
    let writes: Vec<&W> = batch.iter().map(|job| &job.write).collect();
    let mut tx = begin_write(pool, *backend).await?;
    let outcomes = W::apply_batch(&writes, &mut tx).await?;
    tx.commit().await?;
    Ok(outcomes)
}
