//! An API protected by `tessera-verify`, in the two styles the library offers:
//!
//! - `GET /me` takes the [`Authenticated`] extractor: any valid token.
//! - `GET /reports` takes the extractor and requires the `email` scope in the
//!   handler (403 `insufficient_scope` otherwise).
//! - `/datablocks` sits behind [`RequireBearerLayer`], which requires the realm
//!   role `user` before any handler runs.
//! - `GET /devices/{device}/resources` requires the permission
//!   `device:AccessDeviceResources` on that device, as a token profile's
//!   `authorization_details` grant it.
//! - `/ingest/orders` (GET, POST, DELETE), when the platform gives it an
//!   endpoint id, sits behind [`RequireEndpointTokenLayer`]: the endpoint
//!   check decides, and the handler learns which application called.
//! - `GET /health` is public.

use axum::extract::{FromRef, Path};
use axum::http::Method;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};
use tessera_verify::axum::{
    AuthError, Authenticated, RequireBearerLayer, RequireEndpointTokenLayer, Resource,
};
use tessera_verify::{EndpointCaller, EndpointTokenKind, VerifiedToken, Verifier};

#[derive(Clone)]
struct AppState {
    verifier: Verifier,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// The API; with `orders_endpoint`, the id of the platform endpoint that
/// `/ingest/orders` is, that route takes endpoint tokens.
pub fn router(verifier: Verifier, orders_endpoint: Option<&str>) -> Router {
    let datablocks = Router::new()
        .route("/datablocks", get(datablocks))
        .layer(RequireBearerLayer::new(verifier.clone()).role("user"));
    // A route layer, so that the layer sees the route's `{device}`.
    let devices = Router::new()
        .route("/devices/{device}/resources", get(device_resources))
        .route_layer(RequireBearerLayer::new(verifier.clone()).permission(
            "device",
            "AccessDeviceResources",
            Resource::PathParam("device".to_owned()),
        ));
    let mut api = Router::new()
        .route("/health", get(|| async { Json(json!({"status": "UP"})) }))
        .route("/me", get(me))
        .route("/reports", get(reports))
        .merge(datablocks)
        .merge(devices);
    if let Some(endpoint) = orders_endpoint {
        api = api.merge(
            Router::new()
                .route("/ingest/orders", get(orders).post(orders).delete(orders))
                .layer(RequireEndpointTokenLayer::new(verifier.clone(), endpoint)),
        );
    }
    api.with_state(AppState { verifier })
}

fn describe(token: &VerifiedToken) -> Value {
    json!({
        "subject": token.subject(),
        "client_id": token.client_id(),
        "username": token.username(),
        "scopes": token.scopes().collect::<Vec<_>>(),
        "roles": token.roles().collect::<Vec<_>>(),
        "session_id": token.session_id(),
    })
}

async fn me(Authenticated(token): Authenticated) -> Json<Value> {
    Json(describe(&token))
}

async fn reports(auth: Authenticated) -> Result<Json<Value>, AuthError> {
    auth.require_scope("email")?;
    Ok(Json(json!({"owner": auth.0.subject(), "reports": []})))
}

async fn datablocks(Authenticated(token): Authenticated) -> Json<Value> {
    Json(json!({"owner": token.subject(), "datablocks": ["sales-2026", "weather"]}))
}

async fn device_resources(
    Path(device): Path<String>,
    Authenticated(token): Authenticated,
) -> Json<Value> {
    Json(json!({
        "device": device,
        "profile": token.profile_token_id(),
        "resources": ["temperature", "humidity"],
    }))
}

/// Which application made the call, as the endpoint check said.
async fn orders(method: Method, caller: Option<Extension<EndpointCaller>>) -> Json<Value> {
    let caller = caller.map(|Extension(caller)| {
        json!({
            "kind": match caller.kind {
                EndpointTokenKind::Primary => "primary",
                EndpointTokenKind::Secondary => "secondary",
            },
            "token_id": caller.token_id,
            "name": caller.name,
        })
    });
    Json(json!({"method": method.as_str(), "caller": caller}))
}
