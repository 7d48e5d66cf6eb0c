//! Group commit for the token hot path.
//!
//! SQLite has one writer at a time and makes every commit durable with an fsync.
//! Letting each request commit on its own serialises them on the file lock, whose
//! busy handler sleeps for milliseconds at a time. Instead, one task owns the
//! hot-path writes: it takes every write waiting in its queue, applies them in one
//! transaction (each inside a savepoint, so one failing write cannot spoil the
//! others), commits once, and only then answers each caller. A token is never
//! returned before it is durable, and one fsync covers the whole batch.

use sqlx::{AnyPool, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::{refresh::SessionWrite, Store, StoreError, StoreResult};

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
        let outcomes = match commit(&pool, &batch).await {
            Ok(outcomes) => outcomes,
            Err(error) => {
                tracing::error!(%error, writes = batch.len(), "group commit failed");
                let message = error.to_string();
                batch
                    .iter()
                    .map(|_| Err(StoreError::GroupCommit(message.clone())))
                    .collect()
            }
        };
        for (job, outcome) in batch.drain(..).zip(outcomes) {
            // The caller may have gone away (client disconnected); the write stands.
            let _ = job.done.send(outcome);
        }
    }
}

async fn commit(pool: &AnyPool, batch: &[Job]) -> Result<Vec<StoreResult<bool>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        tx.execute("SAVEPOINT hot_write").await?;
        let outcome = job.write.apply(&mut tx).await;
        if outcome.is_err() {
            tx.execute("ROLLBACK TO SAVEPOINT hot_write").await?;
        }
        tx.execute("RELEASE SAVEPOINT hot_write").await?;
        outcomes.push(outcome);
    }
    tx.commit().await?;
    Ok(outcomes)
}

impl Store {
    /// Applies a hot-path write: through the group committer where there is one
    /// (SQLite), else in a transaction of its own (PostgreSQL commits concurrent
    /// transactions together by itself).
    pub(crate) async fn write_session(&self, write: SessionWrite) -> StoreResult<bool> {
        match &self.group_commit {
            Some(committer) => committer.submit(write).await,
            None => {
                let mut tx = self.pool.begin().await?;
                let outcome = write.apply(&mut tx).await?;
                tx.commit().await?;
                Ok(outcome)
            }
        }
    }
}
