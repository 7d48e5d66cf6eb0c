//! Runs the example API. Configuration comes from the environment:
//! `TESSERA_ISSUER` (e.g. `http://127.0.0.1:8080/realms/dc`), `AUDIENCE`,
//! `CLIENT_ID` and `CLIENT_SECRET` (for the revocation feed and opaque tokens),
//! `LISTEN` (default `127.0.0.1:8090`), and `ORDERS_ENDPOINT`: the id of the
//! platform endpoint `/ingest/orders` is (absent: no such route).

use anyhow::Context;

fn required(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} must be set"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut builder = tessera_verify::Verifier::builder(required("TESSERA_ISSUER")?)
        .audience(required("AUDIENCE")?);
    if let (Ok(id), Ok(secret)) = (std::env::var("CLIENT_ID"), std::env::var("CLIENT_SECRET")) {
        builder = builder.client_credentials(id, secret);
    }
    let verifier = builder.build().await?;
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8090".to_owned());
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    println!("example resource server on http://{listen}");
    let orders = std::env::var("ORDERS_ENDPOINT").ok();
    let api = tessera_example_resource_server::router(verifier, orders.as_deref());
    axum::serve(listener, api).await?;
    Ok(())
}
