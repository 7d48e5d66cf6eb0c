//! The management API, under Keycloak's admin path `/admin/realms/{realm}/`.
//! JSON, bearer tokens only (see [`super::caller::Caller`]). Every route states
//! the permission it needs; the decisions are the token service's
//! ([`tessera_token::Principal`]). 401 without a valid token, 403 when the
//! caller lacks the permission, 404 for what it may not even see.

use utoipa_axum::{router::OpenApiRouter, routes};

use super::{token_profiles, users, AppState};

/// The management API's routes, relative to `/admin/realms/{realm}`, with
/// their OpenAPI descriptions.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::count))
        .routes(routes!(users::read, users::update, users::delete))
        .routes(routes!(users::reset_password))
        .routes(routes!(
            users::role_mappings,
            users::add_role_mappings,
            users::remove_role_mappings
        ))
        .routes(routes!(users::roles))
        .routes(routes!(users::role))
        .routes(routes!(
            token_profiles::list,
            token_profiles::create,
            token_profiles::delete_many
        ))
        .routes(routes!(
            token_profiles::read,
            token_profiles::update,
            token_profiles::delete_one
        ))
}
