//! The management API, under Keycloak's admin path `/admin/realms/{realm}/`.
//! JSON, bearer tokens only (see [`super::caller::Caller`]). Every route states
//! the permission it needs; the decisions are the token service's
//! ([`tessera_token::Principal`]). 401 without a valid token, 403 when the
//! caller lacks the permission, 404 for what it may not even see.

use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    companies, company_tokens, endpoint_assignments, endpoint_tokens, endpoint_usage, endpoints,
    subscriptions, token_profiles, users, AppState,
};

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
        .routes(routes!(companies::list, companies::create))
        .routes(routes!(
            companies::read,
            companies::update,
            companies::delete
        ))
        .routes(routes!(companies::members))
        .routes(routes!(companies::put_member, companies::remove_member))
        .routes(routes!(companies::events))
        .routes(routes!(company_tokens::overview))
        .routes(routes!(subscriptions::list, subscriptions::create))
        .routes(routes!(
            subscriptions::read,
            subscriptions::update,
            subscriptions::delete
        ))
        .routes(routes!(subscriptions::assignees))
        .routes(routes!(subscriptions::assign, subscriptions::unassign))
        .routes(routes!(
            company_tokens::list,
            company_tokens::create,
            company_tokens::delete_many
        ))
        .routes(routes!(company_tokens::rename, company_tokens::delete_one))
        .routes(routes!(endpoints::list, endpoints::create))
        .routes(routes!(
            endpoints::read,
            endpoints::update,
            endpoints::delete
        ))
        .routes(routes!(endpoints::regenerate))
        .routes(routes!(endpoints::reveal_primary))
        .routes(routes!(endpoint_assignments::token_view))
        .routes(routes!(
            endpoint_assignments::assign,
            endpoint_assignments::unassign
        ))
        .routes(routes!(endpoint_usage::calls))
        .routes(routes!(endpoint_usage::callers))
        .routes(routes!(endpoint_tokens::list, endpoint_tokens::create))
        .routes(routes!(
            endpoint_tokens::read,
            endpoint_tokens::update,
            endpoint_tokens::delete
        ))
        .routes(routes!(endpoint_tokens::reveal))
}
