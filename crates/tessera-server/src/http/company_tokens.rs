//! Company tokens: `…/subscriptions/{subscription}/tokens` (generate, list,
//! rename, delete) and the company's overview, `…/companies/{company}/tokens`.
//! A new token's secret is answered this once, as JSON or, for a client that
//! accepts `text/csv`, as a CSV file to download (RFC 4180); nothing of the
//! CSV is kept.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use tessera_proto::OAuthError;
use tessera_token::{
    CompanyId, CompanyToken, CompanyTokenFilter, CompanyTokenHolder, CompanyTokenId,
    CompanyTokenRequest, CompanyTokenSelection, SubscriptionId, Tracked, UserId,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::caller::{Caller, RealmPath};
use super::companies::{CompanyPath, PageQuery};
use super::error::ApiError;
use super::form::{JsonBody, QueryParams};
use super::refusals::{MalformedBody, MalformedQuery, ManagementErrors};
use super::subscriptions::SubscriptionPath;
use super::token_usage::UsageView;
use super::AppState;

/// This module's routes, relative to `/admin/realms/{realm}`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(overview))
        .routes(routes!(list, create, delete_many))
        .routes(routes!(rename, delete_one))
}

const CSV: &str = "text/csv";

/// `…/tokens/{token}`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct TokenPath {
    /// The company's id.
    company: String,
    /// The subscription's id.
    subscription: String,
    /// The token's id.
    token: String,
}

/// Whose tokens: one user's, or only the userless ones (not both).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HolderQuery {
    /// Only this user's tokens.
    user: Option<String>,
    /// Only userless tokens.
    #[serde(default)]
    userless: bool,
}

impl HolderQuery {
    fn user_id(&self) -> Option<UserId> {
        self.user.as_ref().map(UserId::new)
    }

    /// Whose tokens, with `user_id` from [`HolderQuery::user_id`].
    fn holder<'a>(&self, user_id: Option<&'a UserId>) -> Result<CompanyTokenHolder<'a>, ApiError> {
        match (user_id, self.userless) {
            (Some(_), true) => Err(ApiError::BadRequest(
                "give user or userless, not both".to_owned(),
            )),
            (Some(user), false) => Ok(CompanyTokenHolder::User(user)),
            (None, true) => Ok(CompanyTokenHolder::Userless),
            (None, false) => Ok(CompanyTokenHolder::Anyone),
        }
    }
}

/// `GET …/companies/{company}/tokens`: one subscription's only.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SubscriptionQuery {
    /// Only this subscription's tokens.
    subscription: Option<String>,
}

/// `POST …/tokens`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTokenBody {
    /// The assigned member the token is for; absent: a userless token.
    #[serde(default)]
    user_id: Option<String>,
    name: String,
    /// Seconds; absent: the realm's default, at most its maximum.
    #[serde(default)]
    lifetime: Option<u64>,
}

/// `PATCH …/tokens/{token}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RenameTokenBody {
    name: String,
}

/// A company token as listed: never its secret.
#[derive(Serialize, ToSchema)]
pub(crate) struct CompanyTokenView {
    id: String,
    name: String,
    company_id: String,
    subscription_id: String,
    /// Absent for a userless token.
    user_id: Option<String>,
    /// NumericDates (seconds).
    created_at: i64,
    expires_at: i64,
    #[serde(flatten)]
    usage: UsageView,
    /// The token's prefix and last four characters.
    hint: String,
}

impl From<Tracked<CompanyToken>> for CompanyTokenView {
    fn from(Tracked { token, usage }: Tracked<CompanyToken>) -> Self {
        Self {
            id: token.id.into(),
            name: token.name,
            company_id: token.company_id.into(),
            subscription_id: token.subscription_id.into(),
            user_id: token.user_id.map(String::from),
            created_at: token.created_at.unix_seconds(),
            expires_at: token.expires_at.unix_seconds(),
            usage: usage.into(),
            hint: token.hint,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CompanyTokenList {
    tokens: Vec<CompanyTokenView>,
}

/// The creation answer: the listing fields and the token, shown this once.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedCompanyToken {
    #[serde(flatten)]
    listed: CompanyTokenView,
    token: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DeletedTokens {
    deleted: u64,
}

/// Whether the client asked for the CSV file rather than JSON.
fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|media| {
            media
                .split(';')
                .next()
                .is_some_and(|kind| kind.trim().eq_ignore_ascii_case(CSV))
        })
}

/// One CSV field (RFC 4180 §2): quoted when it holds a comma, a quote or a
/// line break, its quotes doubled.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// The new token as a CSV file: a header row and the token's row, CRLF line
/// ends (RFC 4180 §2).
fn csv_file(token: &CreatedCompanyToken, username: Option<&str>) -> String {
    let listed = &token.listed;
    let row = [
        listed.id.as_str(),
        listed.name.as_str(),
        token.token.as_str(),
        username.unwrap_or_default(),
        listed.company_id.as_str(),
        listed.subscription_id.as_str(),
        &listed.created_at.to_string(),
        &listed.expires_at.to_string(),
    ]
    .map(csv_field)
    .join(",");
    format!("token_id,name,token,user,company,subscription,created,expires\r\n{row}\r\n")
}

/// Generate a token for a subscription
///
/// Requires `subscription:CreateSubscriptionTokens` on it (a company admin holds it on theirs). A user token needs its user assigned to the subscription; without `user_id` the token is userless. Answers the token this once: as JSON, or with `Accept: text/csv` as a CSV file to download (token id, name, token, user, company, subscription, created, expires).
#[utoipa::path(
    post,
    path = "/companies/{company}/subscriptions/{subscription}/tokens",
    params(RealmPath, SubscriptionPath),
    request_body = CreateTokenBody,
    responses(
        (status = 201, description = "Generated; `Location` names it", body = CreatedCompanyToken),
        (status = 400, description = "Malformed body or lifetime", body = OAuthError),
        ManagementErrors,
        (status = 409, description = "The user is not assigned, or a token limit is reached", body = OAuthError),
    ),
)]
pub(crate) async fn create(
    caller: Caller<SubscriptionPath>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateTokenBody>,
) -> Result<Response, ApiError> {
    let (company, subscription) = caller.path.ids();
    let request = CompanyTokenRequest {
        user: body.user_id.map(UserId::new),
        name: body.name,
        lifetime: body.lifetime.map(std::time::Duration::from_secs),
    };
    let generated = caller
        .services()
        .subscriptions
        .create_company_token(
            &caller.realm,
            &caller.principal,
            (&company, &subscription),
            (request, Some(&caller.address)),
        )
        .await?;
    let location = format!(
        "/companies/{}/subscriptions/{}/tokens/{}",
        caller.path.company, caller.path.subscription, generated.token.id
    );
    let created_token = CreatedCompanyToken {
        listed: Tracked::unused(generated.token).into(),
        token: generated.secret.expose().to_owned(),
    };
    if !wants_csv(&headers) {
        return Ok(caller.created(&location, Json(created_token)));
    }
    let file = csv_file(&created_token, generated.username.as_deref());
    let disposition = format!(
        "attachment; filename=\"token-{}.csv\"",
        created_token.listed.id
    );
    let mut response = caller.created(&location, file);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(disposition) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// List a subscription's tokens
///
/// Requires `subscription:ListSubscriptionTokens` on it. Newest first; never a secret.
#[utoipa::path(
    get,
    path = "/companies/{company}/subscriptions/{subscription}/tokens",
    params(RealmPath, SubscriptionPath, HolderQuery, PageQuery),
    responses(
        (status = 200, description = "The tokens", body = CompanyTokenList),
        MalformedQuery,
        ManagementErrors,
    ),
)]
pub(crate) async fn list(
    caller: Caller<SubscriptionPath>,
    QueryParams(holder): QueryParams<HolderQuery>,
    QueryParams(page): QueryParams<PageQuery>,
) -> Result<Json<CompanyTokenList>, ApiError> {
    let (company, subscription) = caller.path.ids();
    let user = holder.user_id();
    let filter = CompanyTokenFilter {
        subscription: Some(&subscription),
        holder: holder.holder(user.as_ref())?,
    };
    listing(&caller, &company, (filter, page)).await
}

/// Overview of a company's tokens
///
/// Requires `subscription:ListSubscriptionTokens` (a company admin holds it on theirs); shows the tokens of the subscriptions the caller may list. Filter by subscription, by user, or userless only.
#[utoipa::path(
    get,
    path = "/companies/{company}/tokens",
    params(RealmPath, CompanyPath, SubscriptionQuery, HolderQuery, PageQuery),
    responses(
        (status = 200, description = "The tokens, newest first", body = CompanyTokenList),
        MalformedQuery,
        ManagementErrors,
    ),
)]
pub(crate) async fn overview(
    caller: Caller<CompanyPath>,
    QueryParams(only): QueryParams<SubscriptionQuery>,
    QueryParams(holder): QueryParams<HolderQuery>,
    QueryParams(page): QueryParams<PageQuery>,
) -> Result<Json<CompanyTokenList>, ApiError> {
    let subscription = only.subscription.as_ref().map(SubscriptionId::new);
    let user = holder.user_id();
    let filter = CompanyTokenFilter {
        subscription: subscription.as_ref(),
        holder: holder.holder(user.as_ref())?,
    };
    let company = caller.path.id();
    listing(&caller, &company, (filter, page)).await
}

async fn listing<P>(
    caller: &Caller<P>,
    company: &CompanyId,
    (filter, page): (CompanyTokenFilter<'_>, PageQuery),
) -> Result<Json<CompanyTokenList>, ApiError> {
    let tokens = caller
        .services()
        .subscriptions
        .company_tokens(
            &caller.realm,
            &caller.principal,
            company,
            (filter, page.page()),
        )
        .await?;
    Ok(Json(CompanyTokenList {
        tokens: tokens.into_iter().map(CompanyTokenView::from).collect(),
    }))
}

/// Rename a token
///
/// Requires `subscription:UpdateSubscriptionTokens` on the subscription.
#[utoipa::path(
    patch,
    path = "/companies/{company}/subscriptions/{subscription}/tokens/{token}",
    params(RealmPath, TokenPath),
    request_body = RenameTokenBody,
    responses(
        (status = 200, description = "The token as it is now", body = CompanyTokenView),
        MalformedBody,
        ManagementErrors,
    ),
)]
pub(crate) async fn rename(
    caller: Caller<TokenPath>,
    JsonBody(body): JsonBody<RenameTokenBody>,
) -> Result<Json<CompanyTokenView>, ApiError> {
    let (company, subscription, token) = caller.path.ids();
    let token = caller
        .services()
        .subscriptions
        .rename_company_token(
            &caller.realm,
            &caller.principal,
            (&company, &subscription, &token),
            (body.name, Some(&caller.address)),
        )
        .await?;
    Ok(Json(token.into()))
}

/// Delete a token
///
/// Requires `subscription:DeleteSubscriptionTokens` on the subscription. The token is put on the revocation feed.
#[utoipa::path(
    delete,
    path = "/companies/{company}/subscriptions/{subscription}/tokens/{token}",
    params(RealmPath, TokenPath),
    responses((status = 204, description = "Deleted"), ManagementErrors),
)]
pub(crate) async fn delete_one(caller: Caller<TokenPath>) -> Result<StatusCode, ApiError> {
    let (company, subscription, token) = caller.path.ids();
    let selection = CompanyTokenSelection::One(&token);
    deletion(&caller, (&company, &subscription), selection).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete all of a user's tokens, or all userless tokens
///
/// Requires `subscription:DeleteSubscriptionTokens` on the subscription. Give `user` or `userless=true`.
#[utoipa::path(
    delete,
    path = "/companies/{company}/subscriptions/{subscription}/tokens",
    params(RealmPath, SubscriptionPath, HolderQuery),
    responses(
        (status = 200, description = "How many were deleted", body = DeletedTokens),
        (status = 400, description = "Neither user nor userless given", body = OAuthError),
        ManagementErrors,
    ),
)]
pub(crate) async fn delete_many(
    caller: Caller<SubscriptionPath>,
    QueryParams(holder): QueryParams<HolderQuery>,
) -> Result<Json<DeletedTokens>, ApiError> {
    let (company, subscription) = caller.path.ids();
    let user = holder.user_id();
    let selection = match holder.holder(user.as_ref())? {
        CompanyTokenHolder::User(user) => CompanyTokenSelection::User(user),
        CompanyTokenHolder::Userless => CompanyTokenSelection::Userless,
        CompanyTokenHolder::Anyone => {
            return Err(ApiError::BadRequest(
                "give user or userless=true: whose tokens to delete".to_owned(),
            ))
        }
    };
    let deleted = deletion(&caller, (&company, &subscription), selection).await?;
    Ok(Json(DeletedTokens { deleted }))
}

async fn deletion<P>(
    caller: &Caller<P>,
    (company, subscription): (&CompanyId, &SubscriptionId),
    selection: CompanyTokenSelection<'_>,
) -> Result<u64, ApiError> {
    Ok(caller
        .services()
        .subscriptions
        .delete_company_tokens(
            &caller.realm,
            &caller.principal,
            (company, subscription),
            (selection, Some(&caller.address)),
        )
        .await?)
}

impl TokenPath {
    fn ids(&self) -> (CompanyId, SubscriptionId, CompanyTokenId) {
        (
            CompanyId::new(&self.company),
            SubscriptionId::new(&self.subscription),
            CompanyTokenId::new(&self.token),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn csv_is_chosen_by_the_accept_header() {
        let mut headers = HeaderMap::new();
        assert!(!wants_csv(&headers));
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!wants_csv(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json;q=0.5, Text/CSV; charset=utf-8"),
        );
        assert!(wants_csv(&headers));
    }
}
