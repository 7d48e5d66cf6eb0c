//! `/admin/realms/{realm}/users`: the subset of Keycloak's admin
//! REST API that its tooling uses for users, with Keycloak's representations
//! (camelCase, unknown fields ignored) and status codes: 201 with `Location`
//! on create, 204 on update and delete, 409 on a taken username.

use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_proto::{OAuthError, SecretString};
use tessera_token::{Page, User, UserChanges, UserFilter, UserId, UserRequest, MAX_USERS_PER_PAGE};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::{Caller, RealmPath};
use super::error::ApiError;
use super::form::{JsonBody, QueryParams};
use super::refusals::{MalformedBody, ManagementErrors};
use super::AppState;

/// This module's routes, relative to `/admin/realms/{realm}`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(count))
        .routes(routes!(read, update, delete))
        .routes(routes!(reset_password))
}

/// Keycloak's page size when `max` is not given.
const DEFAULT_PAGE: i64 = 100;

/// `…/users/{user}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct UserPath {
    /// The user's id.
    pub(crate) user: String,
}

/// `GET …/users` and `…/users/count`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UserQuery {
    /// Users whose username contains this (ignoring case), or is it with `exact`.
    username: Option<String>,
    /// Users whose username, email, first or last name contains this.
    search: Option<String>,
    /// With `username`: the whole username, not a part.
    #[serde(default)]
    exact: bool,
    /// How many users to skip (default 0).
    first: Option<i64>,
    /// How many users at most (default 100, at most 1000).
    max: Option<i64>,
}

impl UserQuery {
    fn filter(&self) -> UserFilter {
        UserFilter {
            username: self.username.clone().filter(|name| !name.is_empty()),
            exact: self.exact,
            search: self
                .search
                .clone()
                .map(|search| search.trim_matches('*').to_owned())
                .filter(|search| !search.is_empty()),
        }
    }
}

/// Keycloak's `UserRepresentation`, the fields Tessera keeps.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserRepresentation {
    id: String,
    username: String,
    enabled: bool,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    /// Milliseconds since the epoch, as Keycloak gives it.
    created_timestamp: i64,
}

impl From<User> for UserRepresentation {
    fn from(user: User) -> Self {
        Self {
            id: user.id.into(),
            username: user.username,
            enabled: user.enabled,
            email: user.email,
            first_name: user.first_name,
            last_name: user.last_name,
            created_timestamp: user.created_at.millis(),
        }
    }
}

/// `POST …/users`: Keycloak's `UserRepresentation`; fields Tessera does not
/// keep are ignored, as Keycloak ignores unknown ones.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewUserRepresentation {
    username: String,
    /// Keycloak's default: a user created without it is disabled.
    #[serde(default)]
    enabled: bool,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    #[serde(default)]
    credentials: Vec<CredentialRepresentation>,
}

/// `PUT …/users/{user}`: the fields to change.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserUpdateRepresentation {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    enabled: Option<bool>,
}

/// Keycloak's `CredentialRepresentation`: a password.
#[derive(Deserialize, ToSchema)]
pub(crate) struct CredentialRepresentation {
    #[serde(rename = "type", default = "password_type")]
    kind: String,
    #[schema(value_type = String)]
    value: SecretString,
    /// Must be false: Tessera has no required actions to make the user change it.
    #[serde(default)]
    temporary: bool,
}

fn password_type() -> String {
    "password".to_owned()
}

impl CredentialRepresentation {
    fn into_password(self) -> Result<SecretString, ApiError> {
        if self.kind != "password" {
            return Err(ApiError::BadRequest(format!(
                "credential type {:?} is not supported; use \"password\"",
                self.kind
            )));
        }
        if self.temporary {
            return Err(ApiError::BadRequest(
                "temporary passwords are not supported".to_owned(),
            ));
        }
        Ok(self.value)
    }
}

/// Search the realm's users
///
/// Requires `user:ListUsers` on every user (`*`).
#[utoipa::path(
    get,
    path = "/users",
    params(RealmPath, UserQuery),
    responses(
        (status = 200, description = "A page of users, by username", body = [UserRepresentation]),
        (status = 400, description = "Bad first or max, or a query parameter that does not parse", body = OAuthError),
        ManagementErrors,
    ),
)]
pub(crate) async fn list(
    caller: Caller,
    QueryParams(query): QueryParams<UserQuery>,
) -> Result<Json<Vec<UserRepresentation>>, ApiError> {
    let page = Page {
        first: query.first.unwrap_or(0),
        max: query.max.unwrap_or(DEFAULT_PAGE),
    };
    let users = caller
        .services()
        .users
        .find_users(&caller.realm, &caller.principal, &query.filter(), page)
        .await?;
    Ok(Json(
        users.into_iter().map(UserRepresentation::from).collect(),
    ))
}

/// Count the realm's users a search finds
///
/// Requires `user:ListUsers` on every user (`*`).
#[utoipa::path(
    get,
    path = "/users/count",
    params(RealmPath, UserQuery),
    responses(
        (status = 200, description = "How many", body = i64),
        (status = 400, description = "A query parameter that does not parse", body = OAuthError),
        ManagementErrors,
    ),
)]
pub(crate) async fn count(
    caller: Caller,
    QueryParams(query): QueryParams<UserQuery>,
) -> Result<Json<i64>, ApiError> {
    Ok(Json(
        caller
            .services()
            .users
            .count_users(&caller.realm, &caller.principal, &query.filter())
            .await?,
    ))
}

/// Create a user
///
/// Requires `user:CreateUser` on every user (`*`). The user has no roles yet.
#[utoipa::path(
    post,
    path = "/users",
    params(RealmPath),
    request_body = NewUserRepresentation,
    responses(
        (status = 201, description = "Created; `Location` names the user"),
        MalformedBody,
        ManagementErrors,
        (status = 409, description = "User exists with same username", body = OAuthError),
    ),
)]
pub(crate) async fn create(
    caller: Caller,
    JsonBody(body): JsonBody<NewUserRepresentation>,
) -> Result<Response, ApiError> {
    let mut passwords = body.credentials.into_iter();
    let password = passwords
        .next()
        .map(CredentialRepresentation::into_password)
        .transpose()?;
    if passwords.next().is_some() {
        return Err(ApiError::BadRequest(
            "give at most one credential".to_owned(),
        ));
    }
    let request = UserRequest {
        username: body.username,
        email: body.email,
        first_name: body.first_name,
        last_name: body.last_name,
        enabled: body.enabled,
        password,
    };
    let user = caller
        .services()
        .users
        .create_user(&caller.realm, &caller.principal, request)
        .await?;
    let path = format!("/users/{}", user.id);
    Ok(caller.created(&path, ()))
}

/// Read a user
///
/// Requires `user:ReadUserConfig` on the user.
#[utoipa::path(
    get,
    path = "/users/{user}",
    params(RealmPath, UserPath),
    responses((status = 200, description = "The user", body = UserRepresentation), ManagementErrors),
)]
pub(crate) async fn read(caller: Caller<UserPath>) -> Result<Json<UserRepresentation>, ApiError> {
    Ok(Json(named_user(&caller).await?.into()))
}

/// The user the path names, if the caller may read them.
pub(crate) async fn named_user(caller: &Caller<UserPath>) -> Result<User, ApiError> {
    Ok(caller
        .services()
        .users
        .user(
            &caller.realm,
            &caller.principal,
            &UserId::new(&caller.path.user),
        )
        .await?)
}

/// Edit a user
///
/// Requires `user:UpdateUser` on the user, and every grant their roles give. Disabling a user revokes all of their sessions and tokens.
#[utoipa::path(
    put,
    path = "/users/{user}",
    params(RealmPath, UserPath),
    request_body = UserUpdateRepresentation,
    responses((status = 204, description = "Changed"), MalformedBody, ManagementErrors),
)]
pub(crate) async fn update(
    caller: Caller<UserPath>,
    JsonBody(body): JsonBody<UserUpdateRepresentation>,
) -> Result<StatusCode, ApiError> {
    let changes = UserChanges {
        email: body.email,
        first_name: body.first_name,
        last_name: body.last_name,
        enabled: body.enabled,
    };
    caller
        .services()
        .users
        .update_user(
            &caller.realm,
            &caller.principal,
            &UserId::new(&caller.path.user),
            changes,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a user's password
///
/// Requires `user:UpdateUser` on the user, and every grant their roles give.
#[utoipa::path(
    put,
    path = "/users/{user}/reset-password",
    params(RealmPath, UserPath),
    request_body = CredentialRepresentation,
    responses(
        (status = 204, description = "Set"),
        (status = 400, description = "Malformed body, or a temporary password", body = OAuthError),
        ManagementErrors,
    ),
)]
pub(crate) async fn reset_password(
    caller: Caller<UserPath>,
    JsonBody(body): JsonBody<CredentialRepresentation>,
) -> Result<StatusCode, ApiError> {
    caller
        .services()
        .users
        .reset_password(
            &caller.realm,
            &caller.principal,
            &UserId::new(&caller.path.user),
            body.into_password()?,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete a user
///
/// Requires `user:DeleteUser` on the user, and every grant their roles give. Their sessions and tokens are revoked.
#[utoipa::path(
    delete,
    path = "/users/{user}",
    params(RealmPath, UserPath),
    responses((status = 204, description = "Deleted"), ManagementErrors),
)]
pub(crate) async fn delete(caller: Caller<UserPath>) -> Result<StatusCode, ApiError> {
    caller
        .services()
        .users
        .delete_user_by_id(
            &caller.realm,
            &caller.principal,
            &UserId::new(&caller.path.user),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The default page stays within the bound the service enforces.
const _: () = assert!(DEFAULT_PAGE <= MAX_USERS_PER_PAGE);
