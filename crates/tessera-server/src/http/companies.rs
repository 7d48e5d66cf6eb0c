//! `/admin/realms/{realm}/companies`: companies, their members and their
//! audit trail. Realm admins create, rename and delete companies; a member
//! holding the company role `company-admin` manages the members of theirs.

use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_proto::OAuthError;
use tessera_token::{
    Company, CompanyEvent, CompanyId, Member, Page, Timestamp, UserId, MAX_COMPANY_PAGE,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::{Caller, RealmPath};
use super::error::ApiError;
use super::form::{JsonBody, QueryParams};
use super::refusals::{MalformedBody, MalformedQuery, ManagementErrors};
use super::AppState;

/// This module's routes, relative to `/admin/realms/{realm}`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, delete))
        .routes(routes!(members))
        .routes(routes!(put_member, remove_member))
        .routes(routes!(events))
}

/// Companies or events per page when `max` is not given.
const DEFAULT_PAGE: i64 = 100;

/// `…/companies/{company}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct CompanyPath {
    /// The company's id.
    pub(crate) company: String,
}

impl CompanyPath {
    pub(crate) fn id(&self) -> CompanyId {
        CompanyId::new(&self.company)
    }
}

/// `…/companies/{company}/members/{user}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct MemberPath {
    /// The company's id.
    company: String,
    /// The member's user id.
    user: String,
}

impl MemberPath {
    fn ids(&self) -> (CompanyId, UserId) {
        (CompanyId::new(&self.company), UserId::new(&self.user))
    }
}

/// A page: `max` items from the `first`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// How many to skip (default 0).
    first: Option<i64>,
    /// How many at most (default 100, at most 500).
    max: Option<i64>,
}

impl PageQuery {
    pub(crate) fn page(&self) -> Page {
        Page {
            first: self.first.unwrap_or(0).max(0),
            max: self.max.unwrap_or(DEFAULT_PAGE).clamp(0, MAX_COMPANY_PAGE),
        }
    }
}

/// `GET …/events`: a page of the trail, newest first.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventQuery {
    /// Only events older than this event id (the `next_before` of the
    /// previous page).
    before: Option<i64>,
    /// How many at most (default 100, at most 500).
    max: Option<i64>,
}

/// `POST …/companies` and `PATCH …/companies/{company}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CompanyBody {
    name: String,
}

/// `PUT …/members/{user}`: the member's roles in the company.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberBody {
    /// Company roles; `company-admin` manages the company.
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CompanyView {
    id: String,
    name: String,
    /// NumericDate (seconds).
    created_at: i64,
}

impl From<Company> for CompanyView {
    fn from(company: Company) -> Self {
        Self {
            id: company.id.into(),
            name: company.name,
            created_at: company.created_at.unix_seconds(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CompanyList {
    companies: Vec<CompanyView>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MemberView {
    user_id: String,
    username: String,
    roles: Vec<String>,
    /// NumericDate (seconds): when they joined, or were assigned.
    added_at: i64,
}

impl From<Member> for MemberView {
    fn from(member: Member) -> Self {
        Self {
            user_id: member.user.id.into(),
            username: member.user.username,
            roles: member.roles,
            added_at: member.added_at.unix_seconds(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MemberList {
    pub(crate) members: Vec<MemberView>,
}

/// One entry of the audit trail.
#[derive(Serialize, ToSchema)]
pub(crate) struct CompanyEventView {
    id: i64,
    /// `company_created`, `member_added`, `user_assigned`, `token_created`,
    /// `token_used`, `token_deleted`, …
    event: String,
    subscription_id: Option<String>,
    /// The user the event concerns.
    user_id: Option<String>,
    token_id: Option<String>,
    /// `management` (a caller of this API), `operator` (the CLI); none for a use.
    actor: Option<String>,
    /// The acting user.
    actor_id: Option<String>,
    /// For a use: the client that introspected the token.
    client_id: Option<String>,
    address: Option<String>,
    /// `success`, or a use's outcome.
    outcome: String,
    /// NumericDate (seconds).
    at: i64,
}

impl From<CompanyEvent> for CompanyEventView {
    fn from(event: CompanyEvent) -> Self {
        Self {
            id: event.id,
            event: event.event.as_str().to_owned(),
            subscription_id: event.subscription_id.map(String::from),
            user_id: event.user_id.map(String::from),
            token_id: event.token_id.map(String::from),
            actor: event.actor.map(|actor| actor.as_str().to_owned()),
            actor_id: event.actor_id.map(String::from),
            client_id: event.client_id,
            address: event.address,
            outcome: event.outcome.as_str().to_owned(),
            at: event.at.unix_seconds(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CompanyEventPage {
    events: Vec<CompanyEventView>,
    /// Pass as `before` for the next page; absent on the last.
    next_before: Option<i64>,
}

/// Create a company
///
/// Requires `company:CreateCompany` on every company (a realm admin's).
#[utoipa::path(
    post,
    path = "/companies",
    params(RealmPath),
    request_body = CompanyBody,
    responses(
        (status = 201, description = "Created; `Location` names it", body = CompanyView),
        MalformedBody,
        ManagementErrors,
        (status = 409, description = "The realm has a company of that name", body = OAuthError),
    ),
)]
pub(crate) async fn create(
    caller: Caller,
    JsonBody(body): JsonBody<CompanyBody>,
) -> Result<Response, ApiError> {
    let company = caller
        .services()
        .companies
        .create_company(
            &caller.realm,
            &caller.principal,
            body.name,
            Some(&caller.address),
        )
        .await?;
    let path = format!("/companies/{}", company.id);
    Ok(caller.created(&path, Json(CompanyView::from(company))))
}

/// List companies
///
/// Requires `company:ListCompanies`: on every company, it lists all of the realm's; otherwise the caller's own companies where it is `company-admin` or holds it on them.
#[utoipa::path(
    get,
    path = "/companies",
    params(RealmPath, PageQuery),
    responses(
        (status = 200, description = "By name", body = CompanyList),
        MalformedQuery,
        ManagementErrors,
    ),
)]
pub(crate) async fn list(
    caller: Caller,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<CompanyList>, ApiError> {
    let companies = caller
        .services()
        .companies
        .list_companies(&caller.realm, &caller.principal, query.page())
        .await?;
    Ok(Json(CompanyList {
        companies: companies.into_iter().map(CompanyView::from).collect(),
    }))
}

/// Read a company
///
/// Requires `company:ReadCompanyConfig` on it (a company admin holds it on theirs). Another company answers 404.
#[utoipa::path(
    get,
    path = "/companies/{company}",
    params(RealmPath, CompanyPath),
    responses((status = 200, description = "The company", body = CompanyView), ManagementErrors),
)]
pub(crate) async fn read(caller: Caller<CompanyPath>) -> Result<Json<CompanyView>, ApiError> {
    let company = caller
        .services()
        .companies
        .company(&caller.realm, &caller.principal, &caller.path.id())
        .await?;
    Ok(Json(company.into()))
}

/// Rename a company
///
/// Requires `company:UpdateCompany` on it.
#[utoipa::path(
    patch,
    path = "/companies/{company}",
    params(RealmPath, CompanyPath),
    request_body = CompanyBody,
    responses(
        (status = 200, description = "The company as it is now", body = CompanyView),
        MalformedBody,
        ManagementErrors,
        (status = 409, description = "The realm has a company of that name", body = OAuthError),
    ),
)]
pub(crate) async fn update(
    caller: Caller<CompanyPath>,
    JsonBody(body): JsonBody<CompanyBody>,
) -> Result<Json<CompanyView>, ApiError> {
    let company = caller
        .services()
        .companies
        .rename_company(
            &caller.realm,
            &caller.principal,
            &caller.path.id(),
            (body.name, Some(&caller.address)),
        )
        .await?;
    Ok(Json(company.into()))
}

/// Delete a company
///
/// Requires `company:DeleteCompany` on it. Its members, subscriptions and tokens go with it, at once; the tokens are put on the revocation feed.
#[utoipa::path(
    delete,
    path = "/companies/{company}",
    params(RealmPath, CompanyPath),
    responses((status = 204, description = "Deleted"), ManagementErrors),
)]
pub(crate) async fn delete(caller: Caller<CompanyPath>) -> Result<StatusCode, ApiError> {
    caller
        .services()
        .companies
        .delete_company(
            &caller.realm,
            &caller.principal,
            &caller.path.id(),
            Some(&caller.address),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// List a company's members
///
/// Requires `company:ReadCompanyConfig` on it.
#[utoipa::path(
    get,
    path = "/companies/{company}/members",
    params(RealmPath, CompanyPath),
    responses((status = 200, description = "By username", body = MemberList), ManagementErrors),
)]
pub(crate) async fn members(caller: Caller<CompanyPath>) -> Result<Json<MemberList>, ApiError> {
    let members = caller
        .services()
        .companies
        .members(&caller.realm, &caller.principal, &caller.path.id())
        .await?;
    Ok(Json(MemberList {
        members: members.into_iter().map(MemberView::from).collect(),
    }))
}

/// Add a member, or set a member's roles
///
/// Requires `company:ManageCompanyMembers` on the company. The user must be a user of the realm.
#[utoipa::path(
    put,
    path = "/companies/{company}/members/{user}",
    params(RealmPath, MemberPath),
    request_body = MemberBody,
    responses(
        (status = 201, description = "Added"),
        (status = 204, description = "Their roles replaced"),
        (status = 400, description = "Malformed body or role", body = OAuthError),
        ManagementErrors,
    ),
)]
pub(crate) async fn put_member(
    caller: Caller<MemberPath>,
    JsonBody(body): JsonBody<MemberBody>,
) -> Result<StatusCode, ApiError> {
    let (company, user) = caller.path.ids();
    let added = caller
        .services()
        .companies
        .put_member(
            &caller.realm,
            &caller.principal,
            (&company, &user),
            (body.roles, Some(&caller.address)),
        )
        .await?;
    Ok(if added {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    })
}

/// Remove a member
///
/// Requires `company:ManageCompanyMembers` on the company. Their assignments and every token of theirs in the company go with them, at once.
#[utoipa::path(
    delete,
    path = "/companies/{company}/members/{user}",
    params(RealmPath, MemberPath),
    responses((status = 204, description = "Removed"), ManagementErrors),
)]
pub(crate) async fn remove_member(caller: Caller<MemberPath>) -> Result<StatusCode, ApiError> {
    let (company, user) = caller.path.ids();
    caller
        .services()
        .companies
        .remove_member(
            &caller.realm,
            &caller.principal,
            (&company, &user),
            Some(&caller.address),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Read a company's audit trail
///
/// Requires `company:ReadCompanyEvents` on it. Who did what, newest first, and every use of its tokens.
#[utoipa::path(
    get,
    path = "/companies/{company}/events",
    params(RealmPath, CompanyPath, EventQuery),
    responses(
        (status = 200, description = "A page of events", body = CompanyEventPage),
        MalformedQuery,
        ManagementErrors,
    ),
)]
pub(crate) async fn events(
    caller: Caller<CompanyPath>,
    QueryParams(query): QueryParams<EventQuery>,
) -> Result<Json<CompanyEventPage>, ApiError> {
    let max = query.max.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_COMPANY_PAGE);
    let events = caller
        .services()
        .companies
        .events(
            &caller.realm,
            &caller.principal,
            &caller.path.id(),
            (query.before, max),
        )
        .await?;
    let full = i64::try_from(events.len()).unwrap_or(i64::MAX) >= max;
    let next_before = events.last().filter(|_| full).map(|event| event.id);
    Ok(Json(CompanyEventPage {
        events: events.into_iter().map(CompanyEventView::from).collect(),
        next_before,
    }))
}

/// A NumericDate from the API, as the services take it.
pub(crate) fn timestamp(seconds: Option<i64>) -> Option<Timestamp> {
    seconds.map(Timestamp::from_unix_seconds)
}
