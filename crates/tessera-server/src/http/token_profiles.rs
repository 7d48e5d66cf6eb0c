//! `/admin/realms/{realm}/users/{user}/token-profiles`: a user's token
//! profiles. Creating one answers its token, this once.

use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_proto::{AuthorizationDetail, OAuthError};
use tessera_token::{
    profile_permissions, PersonalToken, Timestamp, TokenError, TokenProfileChanges,
    TokenProfileRequest, Tracked, UserId,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::{Caller, RealmPath};
use super::error::ApiError;
use super::form::{enabled_by_default, JsonBody};
use super::refusals::{MalformedBody, ManagementErrors};
use super::token_usage::UsageView;
use super::AppState;

/// This module's routes, relative to `/admin/realms/{realm}`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create, delete_many))
        .routes(routes!(read, update, delete_one))
}

/// `…/users/{user}/token-profiles`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ProfilesPath {
    /// The owner's user id.
    user: String,
}

/// `…/users/{user}/token-profiles/{token_id}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ProfilePath {
    /// The owner's user id.
    user: String,
    /// The profile's id, chosen by its owner.
    token_id: String,
}

/// `POST …/token-profiles`. Unknown fields are refused, so a typo is an error
/// rather than a silently ignored setting.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateProfileBody {
    token_id: String,
    name: String,
    #[serde(default)]
    permissions: Vec<AuthorizationDetail>,
    /// NumericDate; absent: the token does not expire.
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
}

/// `PATCH …/token-profiles/{token_id}`: the fields to change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateProfileBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    permissions: Option<Vec<AuthorizationDetail>>,
}

/// `DELETE …/token-profiles`: the profiles to delete, all or none.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeleteProfilesBody {
    token_ids: Vec<String>,
}

/// A token profile as listed: never its token.
#[derive(Serialize, ToSchema)]
pub(crate) struct ProfileView {
    token_id: String,
    name: String,
    enabled: bool,
    /// RFC 9396 authorization details.
    permissions: Vec<AuthorizationDetail>,
    /// NumericDates (seconds).
    created_at: i64,
    updated_at: Option<i64>,
    expires_at: Option<i64>,
    #[serde(flatten)]
    usage: UsageView,
    /// The token's prefix and last four characters.
    hint: String,
}

impl ProfileView {
    fn of(Tracked { token, usage }: Tracked<PersonalToken>) -> Result<Self, ApiError> {
        let permissions = profile_permissions(&token)?.to_details();
        let Some(profile) = token.profile else {
            return Err(ApiError::Token(TokenError::TokenNotFound));
        };
        Ok(Self {
            token_id: profile.profile_id,
            name: token.name,
            enabled: profile.enabled,
            permissions,
            created_at: token.created_at.unix_seconds(),
            updated_at: profile.updated_at.map(Timestamp::unix_seconds),
            expires_at: token.expires_at.map(Timestamp::unix_seconds),
            usage: usage.into(),
            hint: token.hint,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ProfileList {
    token_profiles: Vec<ProfileView>,
}

/// The creation answer: the listing fields and the token, shown this once.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedProfileView {
    #[serde(flatten)]
    listed: ProfileView,
    token: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DeletedProfiles {
    deleted: usize,
}

/// Create a token profile
///
/// Requires `token:CreateToken` on the new profile's id (a user holds every action on their own profiles; only `admin` reaches another user's). The permissions may be no wider than the caller's own. Answers the token, this once.
#[utoipa::path(
    post,
    path = "/users/{user}/token-profiles",
    params(RealmPath, ProfilesPath),
    request_body = CreateProfileBody,
    responses(
        (status = 201, description = "Created; `Location` names the profile", body = CreatedProfileView),
        (status = 400, description = "Malformed body, or permissions unknown to the realm", body = OAuthError),
        ManagementErrors,
        (status = 409, description = "The owner already has a profile with this token_id, or holds the most tokens allowed", body = OAuthError),
        (status = 413, description = "Body too large", body = OAuthError),
    ),
)]
pub(crate) async fn create(
    caller: Caller<ProfilesPath>,
    JsonBody(body): JsonBody<CreateProfileBody>,
) -> Result<Response, ApiError> {
    let request = TokenProfileRequest {
        token_id: body.token_id,
        name: body.name,
        permissions: body.permissions,
        expires_at: body.expires_at.map(Timestamp::from_unix_seconds),
        enabled: body.enabled,
    };
    let (profile, token) = caller
        .services()
        .token_profiles
        .create_token_profile(
            &caller.realm,
            &caller.principal,
            &UserId::new(&caller.path.user),
            request,
            Some(&caller.address),
        )
        .await?;
    let listed = ProfileView::of(Tracked::unused(profile))?;
    let path = format!(
        "/users/{}/token-profiles/{}",
        caller.path.user, listed.token_id
    );
    let body = CreatedProfileView {
        listed,
        token: token.expose().to_owned(),
    };
    Ok(caller.created(&path, Json(body)))
}

/// List a user's token profiles
///
/// Requires `token:ListTokens`; lists only the profiles the caller may list.
#[utoipa::path(
    get,
    path = "/users/{user}/token-profiles",
    params(RealmPath, ProfilesPath),
    responses(
        (status = 200, description = "The profiles, never their tokens", body = ProfileList),
        ManagementErrors,
    ),
)]
pub(crate) async fn list(caller: Caller<ProfilesPath>) -> Result<Json<ProfileList>, ApiError> {
    let profiles = caller
        .services()
        .token_profiles
        .list_token_profiles(
            &caller.realm,
            &caller.principal,
            &UserId::new(&caller.path.user),
        )
        .await?;
    let token_profiles = profiles
        .into_iter()
        .map(ProfileView::of)
        .collect::<Result<_, _>>()?;
    Ok(Json(ProfileList { token_profiles }))
}

/// Read a token profile
///
/// Requires `token:ReadTokenConfig` on the profile.
#[utoipa::path(
    get,
    path = "/users/{user}/token-profiles/{token_id}",
    params(RealmPath, ProfilePath),
    responses(
        (status = 200, description = "The profile, never its token", body = ProfileView),
        ManagementErrors,
    ),
)]
pub(crate) async fn read(caller: Caller<ProfilePath>) -> Result<Json<ProfileView>, ApiError> {
    let profile = caller
        .services()
        .token_profiles
        .token_profile(
            &caller.realm,
            &caller.principal,
            &UserId::new(&caller.path.user),
            &caller.path.token_id,
        )
        .await?;
    Ok(Json(ProfileView::of(profile)?))
}

/// Edit a token profile
///
/// Requires `token:UpdateToken` on the profile; new permissions may be no wider than the caller's. Takes effect at the next introspection, and at every verifier within one poll of the revocation feed.
#[utoipa::path(
    patch,
    path = "/users/{user}/token-profiles/{token_id}",
    params(RealmPath, ProfilePath),
    request_body = UpdateProfileBody,
    responses(
        (status = 200, description = "The profile as it is now", body = ProfileView),
        (status = 400, description = "Malformed body, nothing to change, or unknown permissions", body = OAuthError),
        ManagementErrors,
    ),
)]
pub(crate) async fn update(
    caller: Caller<ProfilePath>,
    JsonBody(body): JsonBody<UpdateProfileBody>,
) -> Result<Json<ProfileView>, ApiError> {
    let changes = TokenProfileChanges {
        name: body.name,
        enabled: body.enabled,
        permissions: body.permissions,
    };
    let profile = caller
        .services()
        .token_profiles
        .update_token_profile(
            &caller.realm,
            &caller.principal,
            (&UserId::new(&caller.path.user), &caller.path.token_id),
            changes,
            Some(&caller.address),
        )
        .await?;
    Ok(Json(ProfileView::of(profile)?))
}

/// Delete a token profile
///
/// Requires `token:DeleteToken` on the profile.
#[utoipa::path(
    delete,
    path = "/users/{user}/token-profiles/{token_id}",
    params(RealmPath, ProfilePath),
    responses(
        (status = 204, description = "DeletedProfiles; its token is refused from now on"),
        ManagementErrors,
    ),
)]
pub(crate) async fn delete_one(caller: Caller<ProfilePath>) -> Result<StatusCode, ApiError> {
    let token_ids = [caller.path.token_id.clone()];
    delete(&caller, &caller.path.user, &token_ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete several token profiles at once
///
/// Requires `token:DeleteToken` on each. All of them are deleted, or (when one is not found) none.
#[utoipa::path(
    delete,
    path = "/users/{user}/token-profiles",
    params(RealmPath, ProfilesPath),
    request_body = DeleteProfilesBody,
    responses(
        (status = 200, description = "How many were deleted", body = DeletedProfiles),
        MalformedBody,
        ManagementErrors,
    ),
)]
pub(crate) async fn delete_many(
    caller: Caller<ProfilesPath>,
    JsonBody(body): JsonBody<DeleteProfilesBody>,
) -> Result<Json<DeletedProfiles>, ApiError> {
    let deleted = delete(&caller, &caller.path.user, &body.token_ids).await?;
    Ok(Json(DeletedProfiles { deleted }))
}

async fn delete<P>(
    caller: &Caller<P>,
    user: &str,
    token_ids: &[String],
) -> Result<usize, ApiError> {
    Ok(caller
        .services()
        .token_profiles
        .delete_token_profiles(
            &caller.realm,
            &caller.principal,
            &UserId::new(user),
            token_ids,
            Some(&caller.address),
        )
        .await?)
}
