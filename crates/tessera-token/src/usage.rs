//! Usage tracking of personal, company and endpoint tokens, off the request
//! path.
//!
//! Each use is queued to one writer task, which records whatever has queued up
//! in one transaction. [`UsageRecorder::flush`] waits until everything queued
//! before it is committed: the server calls it on graceful shutdown, after the
//! last request has been answered, so no use is lost.

use std::time::Duration;

use tessera_store::{CompanyTokenUse, EndpointCall, Store, TokenUse};
use tokio::sync::{mpsc, oneshot};

/// Uses taken into one transaction at most.
const MAX_BATCH: usize = 1024;
/// Uses waiting beyond this make callers wait for room (back-pressure).
const QUEUE_DEPTH: usize = 65_536;
/// A failed batch is retried this often before its uses are given up (and logged).
const ATTEMPTS: u32 = 5;

enum Message {
    Use(TokenUse),
    CompanyUse(CompanyTokenUse),
    EndpointCall(EndpointCall),
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Clone)]
pub(crate) struct UsageRecorder {
    queue: mpsc::Sender<Message>,
}

impl UsageRecorder {
    pub(crate) fn spawn(store: Store) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run(store, receiver));
        Self { queue }
    }

    pub(crate) async fn record(&self, token_use: TokenUse) {
        self.send(Message::Use(token_use)).await;
    }

    pub(crate) async fn record_company(&self, token_use: CompanyTokenUse) {
        self.send(Message::CompanyUse(token_use)).await;
    }

    pub(crate) async fn record_endpoint_call(&self, call: EndpointCall) {
        self.send(Message::EndpointCall(call)).await;
    }

    async fn send(&self, message: Message) {
        if self.queue.send(message).await.is_err() {
            tracing::error!("usage recorder has stopped; a token use was not recorded");
        }
    }

    /// Returns once every use queued before this call is committed.
    pub(crate) async fn flush(&self) {
        let (done, committed) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).await.is_ok() {
            let _ = committed.await;
        }
    }
}

async fn run(store: Store, mut receiver: mpsc::Receiver<Message>) {
    let mut messages = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut messages, MAX_BATCH).await > 0 {
        let mut uses = Vec::with_capacity(messages.len());
        let mut company_uses = Vec::new();
        let mut endpoint_calls = Vec::new();
        let mut flushes = Vec::new();
        for message in messages.drain(..) {
            match message {
                Message::Use(token_use) => uses.push(token_use),
                Message::CompanyUse(token_use) => company_uses.push(token_use),
                Message::EndpointCall(call) => endpoint_calls.push(call),
                Message::Flush(done) => flushes.push(done),
            }
        }
        commit(&store, (&uses, &company_uses), &endpoint_calls).await;
        for done in flushes {
            let _ = done.send(());
        }
    }
}

async fn commit(
    store: &Store,
    (uses, company_uses): (&[TokenUse], &[CompanyTokenUse]),
    endpoint_calls: &[EndpointCall],
) {
    retrying(uses.len(), || store.record_token_uses(uses)).await;
    retrying(company_uses.len(), || {
        store.record_company_token_uses(company_uses)
    })
    .await;
    retrying(endpoint_calls.len(), || {
        store.record_endpoint_calls(endpoint_calls)
    })
    .await;
}

/// Runs one recording up to [`ATTEMPTS`] times, until it commits.
async fn retrying<F, Recording>(uses: usize, mut record: F)
where
    F: FnMut() -> Recording,
    Recording: std::future::Future<Output = Result<(), tessera_store::StoreError>>,
{
    for attempt in 1..=ATTEMPTS {
        match record().await {
            Ok(()) => return,
            Err(error) if attempt < ATTEMPTS => {
                tracing::warn!(%error, attempt, uses, "recording token uses failed; retrying");
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
            }
            Err(error) => {
                tracing::error!(%error, uses, "recording token uses failed; giving up");
            }
        }
    }
}
