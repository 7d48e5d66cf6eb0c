//! Answers the management routes share.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;

/// 201 Created, with `Location` naming the new resource at `path` (under the
/// realm's management API, `/admin/realms/{realm}`) and `body` if any.
pub(crate) fn created(
    state: &AppState,
    (realm, path): (&str, &str),
    body: impl IntoResponse,
) -> Response {
    let location = format!("{}/admin/realms/{realm}{path}", state.public_url);
    let mut response = (StatusCode::CREATED, body).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
