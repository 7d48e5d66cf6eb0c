//! `/admin/realms/{realm}/roles` and a user's realm role mappings, as
//! Keycloak's admin REST API has them: roles are the realm file's, and a
//! mapping is given or taken by name.

use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_token::{RoleMappingChange, TokenError, UserId};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::{Caller, RealmPath};
use super::error::ApiError;
use super::form::JsonBody;
use super::refusals::{MalformedBody, ManagementErrors};
use super::users::{named_user, UserPath};
use super::AppState;

/// This module's routes, relative to `/admin/realms/{realm}`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            role_mappings,
            add_role_mappings,
            remove_role_mappings
        ))
        .routes(routes!(roles))
        .routes(routes!(role))
}

/// `…/roles/{role}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct RolePath {
    /// The role's name.
    role: String,
}

/// Keycloak's `RoleRepresentation` of a realm role.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoleRepresentation {
    /// Realm roles are named, not numbered: the id is the name.
    id: String,
    name: String,
    composite: bool,
    client_role: bool,
    container_id: String,
}

impl RoleRepresentation {
    fn of(realm: &str, name: String) -> Self {
        Self {
            id: name.clone(),
            name,
            composite: false,
            client_role: false,
            container_id: realm.to_owned(),
        }
    }
}

/// A role in a role-mapping request: its name is what counts.
#[derive(Deserialize, ToSchema)]
pub(crate) struct RoleReference {
    name: String,
}

/// List the realm's roles
///
/// Requires `user:ListRoles` on every user (`*`).
#[utoipa::path(
    get,
    path = "/roles",
    params(RealmPath),
    responses((status = 200, description = "The roles", body = [RoleRepresentation]), ManagementErrors),
)]
pub(crate) async fn roles(caller: Caller) -> Result<Json<Vec<RoleRepresentation>>, ApiError> {
    let roles = caller
        .services()
        .users
        .realm_roles(&caller.realm, &caller.principal)?;
    Ok(Json(
        roles
            .into_iter()
            .map(|role| RoleRepresentation::of(&caller.realm, role))
            .collect(),
    ))
}

/// Read a realm role
///
/// Requires `user:ListRoles` on every user (`*`).
#[utoipa::path(
    get,
    path = "/roles/{role}",
    params(RealmPath, RolePath),
    responses((status = 200, description = "The role", body = RoleRepresentation), ManagementErrors),
)]
pub(crate) async fn role(caller: Caller<RolePath>) -> Result<Json<RoleRepresentation>, ApiError> {
    let roles = caller
        .services()
        .users
        .realm_roles(&caller.realm, &caller.principal)?;
    roles
        .into_iter()
        .find(|name| *name == caller.path.role)
        .map(|name| Json(RoleRepresentation::of(&caller.realm, name)))
        .ok_or(ApiError::Token(TokenError::RoleNotFound))
}

/// A user's realm roles
///
/// Requires `user:ReadUserConfig` on the user.
#[utoipa::path(
    get,
    path = "/users/{user}/role-mappings/realm",
    params(RealmPath, UserPath),
    responses((status = 200, description = "The roles", body = [RoleRepresentation]), ManagementErrors),
)]
pub(crate) async fn role_mappings(
    caller: Caller<UserPath>,
) -> Result<Json<Vec<RoleRepresentation>>, ApiError> {
    let user = named_user(&caller).await?;
    Ok(Json(
        user.roles
            .into_iter()
            .map(|role| RoleRepresentation::of(&caller.realm, role))
            .collect(),
    ))
}

/// Give a user realm roles
///
/// Requires `user:UpdateUser` on the user, every grant their roles give, and every grant the new roles give.
#[utoipa::path(
    post,
    path = "/users/{user}/role-mappings/realm",
    params(RealmPath, UserPath),
    request_body = [RoleReference],
    responses((status = 204, description = "Given"), MalformedBody, ManagementErrors),
)]
pub(crate) async fn add_role_mappings(
    caller: Caller<UserPath>,
    JsonBody(roles): JsonBody<Vec<RoleReference>>,
) -> Result<StatusCode, ApiError> {
    change_roles(&caller, roles, RoleMappingChange::Give).await
}

/// Take realm roles from a user
///
/// Requires `user:UpdateUser` on the user, every grant their roles give, and every grant the roles taken give.
#[utoipa::path(
    delete,
    path = "/users/{user}/role-mappings/realm",
    params(RealmPath, UserPath),
    request_body = [RoleReference],
    responses((status = 204, description = "Taken"), MalformedBody, ManagementErrors),
)]
pub(crate) async fn remove_role_mappings(
    caller: Caller<UserPath>,
    JsonBody(roles): JsonBody<Vec<RoleReference>>,
) -> Result<StatusCode, ApiError> {
    change_roles(&caller, roles, RoleMappingChange::Take).await
}

async fn change_roles(
    caller: &Caller<UserPath>,
    roles: Vec<RoleReference>,
    change: RoleMappingChange,
) -> Result<StatusCode, ApiError> {
    let names: Vec<String> = roles.into_iter().map(|role| role.name).collect();
    caller
        .services()
        .users
        .change_role_mappings(
            &caller.realm,
            &caller.principal,
            &UserId::new(&caller.path.user),
            (&names, change),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
