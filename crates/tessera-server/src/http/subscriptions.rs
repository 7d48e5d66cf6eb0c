//! `/admin/realms/{realm}/companies/{company}/subscriptions`: a company's
//! subscriptions to the realm's APIs and who is assigned to them. Realm admins
//! create, change and delete subscriptions; company admins read them and
//! manage their assignments.

use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_proto::{AuthorizationDetail, OAuthError};
use tessera_token::{
    subscription_permissions, AssignmentChange, CompanyId, Subscription, SubscriptionEdit,
    SubscriptionId, SubscriptionRequest, Timestamp, UserId,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::{Caller, RealmPath};
use super::companies::{timestamp, CompanyPath, MemberList, MemberView};
use super::error::ApiError;
use super::form::{enabled_by_default, present, JsonBody};
use super::refusals::ManagementErrors;
use super::AppState;

/// This module's routes, relative to `/admin/realms/{realm}`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, delete))
        .routes(routes!(assignees))
        .routes(routes!(assign, unassign))
}

/// `…/subscriptions/{subscription}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct SubscriptionPath {
    /// The company's id.
    pub(crate) company: String,
    /// The subscription's id.
    pub(crate) subscription: String,
}

impl SubscriptionPath {
    pub(crate) fn ids(&self) -> (CompanyId, SubscriptionId) {
        (
            CompanyId::new(&self.company),
            SubscriptionId::new(&self.subscription),
        )
    }
}

/// `…/subscriptions/{subscription}/assignments/{user}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct AssignmentPath {
    /// The company's id.
    company: String,
    /// The subscription's id.
    subscription: String,
    /// The assigned member's user id.
    user: String,
}

/// `POST …/subscriptions`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateSubscriptionBody {
    name: String,
    /// The client id of the API its tokens are for: the client that may
    /// introspect them.
    audience: String,
    /// What its tokens may do (RFC 9396 authorization details).
    #[serde(default)]
    permissions: Vec<AuthorizationDetail>,
    /// NumericDates; absent: no bound.
    #[serde(default)]
    valid_from: Option<i64>,
    #[serde(default)]
    valid_until: Option<i64>,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
}

/// `PATCH …/subscriptions/{subscription}`: the fields to change; `null`
/// clears a validity bound.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateSubscriptionBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    permissions: Option<Vec<AuthorizationDetail>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    valid_from: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    valid_until: Option<Option<i64>>,
    #[serde(default)]
    enabled: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SubscriptionView {
    id: String,
    company_id: String,
    name: String,
    audience: String,
    permissions: Vec<AuthorizationDetail>,
    /// NumericDates (seconds).
    valid_from: Option<i64>,
    valid_until: Option<i64>,
    enabled: bool,
    created_at: i64,
    updated_at: Option<i64>,
}

impl SubscriptionView {
    fn of(subscription: Subscription) -> Result<Self, ApiError> {
        let permissions = subscription_permissions(&subscription)?.to_details();
        Ok(Self {
            id: subscription.id.into(),
            company_id: subscription.company_id.into(),
            name: subscription.name,
            audience: subscription.audience,
            permissions,
            valid_from: subscription.valid_from.map(Timestamp::unix_seconds),
            valid_until: subscription.valid_until.map(Timestamp::unix_seconds),
            enabled: subscription.enabled,
            created_at: subscription.created_at.unix_seconds(),
            updated_at: subscription.updated_at.map(Timestamp::unix_seconds),
        })
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SubscriptionList {
    subscriptions: Vec<SubscriptionView>,
}

/// Create a subscription
///
/// Requires `subscription:CreateSubscription` on every subscription (a realm admin's). The permissions may be no wider than the caller's own.
#[utoipa::path(
    post,
    path = "/companies/{company}/subscriptions",
    params(RealmPath, CompanyPath),
    request_body = CreateSubscriptionBody,
    responses(
        (status = 201, description = "Created; `Location` names it", body = SubscriptionView),
        (status = 400, description = "Malformed body, unknown audience or permissions", body = OAuthError),
        ManagementErrors,
        (status = 409, description = "The company has a subscription of that name", body = OAuthError),
    ),
)]
pub(crate) async fn create(
    caller: Caller<CompanyPath>,
    JsonBody(body): JsonBody<CreateSubscriptionBody>,
) -> Result<Response, ApiError> {
    let request = SubscriptionRequest {
        name: body.name,
        audience: body.audience,
        permissions: body.permissions,
        valid_from: timestamp(body.valid_from),
        valid_until: timestamp(body.valid_until),
        enabled: body.enabled,
    };
    let subscription = caller
        .services()
        .subscriptions
        .create_subscription(
            &caller.realm,
            &caller.principal,
            &caller.path.id(),
            (request, Some(&caller.address)),
        )
        .await?;
    let path = format!(
        "/companies/{}/subscriptions/{}",
        caller.path.company, subscription.id
    );
    let view = SubscriptionView::of(subscription)?;
    Ok(caller.created(&path, Json(view)))
}

/// List a company's subscriptions
///
/// Requires `subscription:ListSubscriptions`; lists those the caller may list (a company admin: all of theirs).
#[utoipa::path(
    get,
    path = "/companies/{company}/subscriptions",
    params(RealmPath, CompanyPath),
    responses((status = 200, description = "By name", body = SubscriptionList), ManagementErrors),
)]
pub(crate) async fn list(caller: Caller<CompanyPath>) -> Result<Json<SubscriptionList>, ApiError> {
    let subscriptions = caller
        .services()
        .subscriptions
        .list_subscriptions(&caller.realm, &caller.principal, &caller.path.id())
        .await?;
    Ok(Json(SubscriptionList {
        subscriptions: subscriptions
            .into_iter()
            .map(SubscriptionView::of)
            .collect::<Result<_, _>>()?,
    }))
}

/// Read a subscription
///
/// Requires `subscription:ReadSubscriptionConfig` on it.
#[utoipa::path(
    get,
    path = "/companies/{company}/subscriptions/{subscription}",
    params(RealmPath, SubscriptionPath),
    responses(
        (status = 200, description = "The subscription", body = SubscriptionView),
        ManagementErrors,
    ),
)]
pub(crate) async fn read(
    caller: Caller<SubscriptionPath>,
) -> Result<Json<SubscriptionView>, ApiError> {
    let (company, id) = caller.path.ids();
    let subscription = caller
        .services()
        .subscriptions
        .subscription(&caller.realm, &caller.principal, (&company, &id))
        .await?;
    Ok(Json(SubscriptionView::of(subscription)?))
}

/// Edit a subscription
///
/// Requires `subscription:UpdateSubscription` on it. Disabling it, or a validity window that excludes now, makes its tokens inactive without deleting them; every verifier forgets what it cached of them within one poll of the revocation feed.
#[utoipa::path(
    patch,
    path = "/companies/{company}/subscriptions/{subscription}",
    params(RealmPath, SubscriptionPath),
    request_body = UpdateSubscriptionBody,
    responses(
        (status = 200, description = "The subscription as it is now", body = SubscriptionView),
        (status = 400, description = "Malformed body, nothing to change, or unknown permissions", body = OAuthError),
        ManagementErrors,
        (status = 409, description = "The company has a subscription of that name", body = OAuthError),
    ),
)]
pub(crate) async fn update(
    caller: Caller<SubscriptionPath>,
    JsonBody(body): JsonBody<UpdateSubscriptionBody>,
) -> Result<Json<SubscriptionView>, ApiError> {
    let (company, id) = caller.path.ids();
    let edit = SubscriptionEdit {
        name: body.name,
        permissions: body.permissions,
        valid_from: body.valid_from.map(timestamp),
        valid_until: body.valid_until.map(timestamp),
        enabled: body.enabled,
    };
    let subscription = caller
        .services()
        .subscriptions
        .update_subscription(
            &caller.realm,
            &caller.principal,
            (&company, &id),
            (edit, Some(&caller.address)),
        )
        .await?;
    Ok(Json(SubscriptionView::of(subscription)?))
}

/// Delete a subscription
///
/// Requires `subscription:DeleteSubscription` on it. Its assignments and tokens go with it, at once; the tokens are put on the revocation feed.
#[utoipa::path(
    delete,
    path = "/companies/{company}/subscriptions/{subscription}",
    params(RealmPath, SubscriptionPath),
    responses((status = 204, description = "Deleted"), ManagementErrors),
)]
pub(crate) async fn delete(caller: Caller<SubscriptionPath>) -> Result<StatusCode, ApiError> {
    let (company, id) = caller.path.ids();
    caller
        .services()
        .subscriptions
        .delete_subscription(
            &caller.realm,
            &caller.principal,
            (&company, &id),
            Some(&caller.address),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List who is assigned to a subscription
///
/// Requires `subscription:ReadSubscriptionConfig` on it.
#[utoipa::path(
    get,
    path = "/companies/{company}/subscriptions/{subscription}/assignments",
    params(RealmPath, SubscriptionPath),
    responses(
        (status = 200, description = "The assigned members, by username", body = MemberList),
        ManagementErrors,
    ),
)]
pub(crate) async fn assignees(
    caller: Caller<SubscriptionPath>,
) -> Result<Json<MemberList>, ApiError> {
    let (company, id) = caller.path.ids();
    let members = caller
        .services()
        .subscriptions
        .assignees(&caller.realm, &caller.principal, (&company, &id))
        .await?;
    Ok(Json(MemberList {
        members: members.into_iter().map(MemberView::from).collect(),
    }))
}

/// Assign a member to a subscription
///
/// Requires `subscription:AssignSubscriptionUsers` on it. Only an assigned user can receive user tokens for it. Assigning twice changes nothing.
#[utoipa::path(
    put,
    path = "/companies/{company}/subscriptions/{subscription}/assignments/{user}",
    params(RealmPath, AssignmentPath),
    responses(
        (status = 204, description = "Assigned"),
        ManagementErrors,
        (status = 409, description = "The user is no member of the company", body = OAuthError),
    ),
)]
pub(crate) async fn assign(caller: Caller<AssignmentPath>) -> Result<StatusCode, ApiError> {
    change_assignment(&caller, AssignmentChange::Assign).await
}

/// End an assignment
///
/// Requires `subscription:AssignSubscriptionUsers` on it. The user's tokens for the subscription are deleted with it, at once.
#[utoipa::path(
    delete,
    path = "/companies/{company}/subscriptions/{subscription}/assignments/{user}",
    params(RealmPath, AssignmentPath),
    responses(
        (status = 204, description = "Unassigned"),
        ManagementErrors,
        (status = 409, description = "The user was not assigned", body = OAuthError),
    ),
)]
pub(crate) async fn unassign(caller: Caller<AssignmentPath>) -> Result<StatusCode, ApiError> {
    change_assignment(&caller, AssignmentChange::Unassign).await
}

/// Assigns the path's user to the subscription, or ends the assignment.
async fn change_assignment(
    caller: &Caller<AssignmentPath>,
    change: AssignmentChange,
) -> Result<StatusCode, ApiError> {
    let (company, id, user) = caller.path.ids();
    let address = Some(caller.address.as_str());
    caller
        .services()
        .subscriptions
        .change_assignment(
            &caller.realm,
            &caller.principal,
            (&company, &id, &user),
            (change, address),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

impl AssignmentPath {
    fn ids(&self) -> (CompanyId, SubscriptionId, UserId) {
        (
            CompanyId::new(&self.company),
            SubscriptionId::new(&self.subscription),
            UserId::new(&self.user),
        )
    }
}
