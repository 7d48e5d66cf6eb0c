//! The management API, under Keycloak's admin path `/admin/realms/{realm}/`.
//! JSON, bearer tokens only (see [`super::caller::Caller`]). Every route states
//! the permission it needs; the decisions are the token service's
//! ([`tessera_token::Principal`]). 401 without a valid token, 403 when the
//! caller lacks the permission, 404 for what it may not even see.

use utoipa_axum::router::OpenApiRouter;

use super::tags::tagged;

use super::{
    companies, company_tokens, endpoint_assignments, endpoint_tokens, endpoint_usage, endpoints,
    roles, subscriptions, token_profiles, users, AppState,
};

/// The management API's routes, relative to `/admin/realms/{realm}`, with
/// their OpenAPI descriptions: each module's, under its tag.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(tagged("users", users::routes()))
        .merge(tagged("users", roles::routes()))
        .merge(tagged("token profiles", token_profiles::routes()))
        .merge(tagged("companies", companies::routes()))
        .merge(tagged("company tokens", company_tokens::routes()))
        .merge(tagged("subscriptions", subscriptions::routes()))
        .merge(tagged("endpoints", endpoints::routes()))
        .merge(tagged("endpoints", endpoint_assignments::routes()))
        .merge(tagged("endpoints", endpoint_usage::routes()))
        .merge(tagged("endpoint tokens", endpoint_tokens::routes()))
}
