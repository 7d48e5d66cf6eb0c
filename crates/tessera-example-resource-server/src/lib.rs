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
//! - `GET /health` is public.

use axum::{
    extract::{FromRef, Path},
    routing::get,
    Json, Router,
};
use serde_json::{json, Value};
use tessera_verify::{
    axum::{AuthError, Authenticated, RequireBearerLayer, Resource},
    VerifiedToken, Verifier,
};

#[derive(Clone)]
struct AppState {
    verifier: Verifier,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

pub fn router(verifier: Verifier) -> Router {
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
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "UP"})) }))
        .route("/me", get(me))
        .route("/reports", get(reports))
        .merge(datablocks)
        .merge(devices)
        .with_state(AppState { verifier })
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
