//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at Keycloak's
//! `…/protocol/openid-connect/logout`: a browser is sent here by its client,
//! its session ends (with the online sessions started from it), and it goes
//! back to a registered `post_logout_redirect_uri`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_token::{LogoutParams, LogoutRequest, TokenError};

use super::form::OAuthForm;
use super::oidc::{self, ClientForm};
use super::pages::{error_page, set_cookies, Browser, LogoutConfirmPage, Page, PostedForm};
use super::sign_in::{redirect, with_query};
use super::AppState;

pub async fn logout_get(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let encoded = query.unwrap_or_default();
    match OAuthForm::parse(encoded.as_bytes()) {
        Ok(form) => browser_logout(&state, &realm, &headers, (&form, &encoded)).await,
        Err(error) => error.into_response(),
    }
}

/// A POST is a browser's logout request sent as a form (RP-Initiated Logout
/// 1.0 §2 allows it) when it names an ID token or a post-logout redirect and
/// no refresh token; any other is Keycloak's logout by a client, which ends
/// the session of its `refresh_token`.
pub async fn logout_post(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match OAuthForm::parse(&body) {
        Ok(form) => form,
        Err(error) => return error.into_response(),
    };
    let from_browser = form.get("refresh_token").is_none()
        && (form.get("id_token_hint").is_some() || form.get("post_logout_redirect_uri").is_some());
    if !from_browser {
        return match ClientForm::from_form(&state, realm, &headers, form) {
            Ok(client) => oidc::logout(State(state), client).await.into_response(),
            Err(error) => error.into_response(),
        };
    }
    let encoded = std::str::from_utf8(&body).unwrap_or_default();
    browser_logout(&state, &realm, &headers, (&form, encoded)).await
}

fn logout_params(form: &OAuthForm) -> LogoutParams<'_> {
    LogoutParams {
        id_token_hint: form.get("id_token_hint"),
        client_id: form.get("client_id"),
        post_logout_redirect_uri: form.get("post_logout_redirect_uri"),
        state: form.get("state"),
    }
}

/// With a valid ID token hint of the browser's own user, the client's request
/// is enough; otherwise a signed-in browser is asked first (§2), so that
/// another site cannot sign the user out.
async fn browser_logout(
    state: &AppState,
    realm: &str,
    headers: &HeaderMap,
    (form, encoded): (&OAuthForm, &str),
) -> Response {
    let browser = match Browser::new(state, realm, headers) {
        Ok(browser) => browser,
        Err(error) => return error_page(None, &error),
    };
    let sign_in = &state.services.sign_in;
    let request = match sign_in.logout_request(realm, &logout_params(form)) {
        Ok(request) => request,
        Err(error) => return browser.error_page(&error),
    };
    let signed_in = match sign_in.signed_in(realm, browser.session_cookie()).await {
        Ok(signed_in) => signed_in,
        Err(error) => return browser.error_page(&error),
    };
    if !request.confirmed_for(signed_in.as_ref()) {
        let (csrf, csrf_cookie) = match browser.form_token() {
            Ok(token) => token,
            Err(error) => return browser.error_page(&error),
        };
        let page = LogoutConfirmPage {
            layout: browser.layout("Sign out"),
            action: format!(
                "{}/protocol/openid-connect/logout/confirm",
                browser.issuer()
            ),
            csrf,
            request: encoded,
        };
        let mut page = Page::new(StatusCode::OK, &page).with_cookies([csrf_cookie]);
        if let Some(target) = &request.redirect {
            page = page.allowing_redirect_to(&target.redirect_uri);
        }
        return page.into_response();
    }
    log_out(&browser, &request, signed_in).await
}

/// The confirmation page's form: the request it carries is checked again.
pub async fn confirm(posted: PostedForm) -> Response {
    let (browser, form) = match posted.open() {
        Ok(opened) => opened,
        Err(page) => return *page,
    };
    let (state, realm) = (browser.state, browser.name());
    if !browser.form_token_matches(form.get("csrf")) {
        return browser
            .message(
                StatusCode::BAD_REQUEST,
                "Sign out",
                "This form had expired. Go back and sign out again.",
            )
            .into_response();
    }
    let encoded = form.get("request").unwrap_or_default();
    let Ok(carried) = OAuthForm::parse(encoded.as_bytes()) else {
        let error = TokenError::InvalidRequest("Invalid logout request".to_owned());
        return browser.error_page(&error);
    };
    let sign_in = &state.services.sign_in;
    let request = match sign_in.logout_request(realm, &logout_params(&carried)) {
        Ok(request) => request,
        Err(error) => return browser.error_page(&error),
    };
    let signed_in = match sign_in.signed_in(realm, browser.session_cookie()).await {
        Ok(signed_in) => signed_in,
        Err(error) => return browser.error_page(&error),
    };
    log_out(&browser, &request, signed_in).await
}

async fn log_out(
    browser: &Browser<'_>,
    request: &LogoutRequest,
    signed_in: Option<tessera_token::SignedIn>,
) -> Response {
    let sign_in = &browser.state.services.sign_in;
    if let Err(error) = sign_in
        .log_out(browser.name(), request, signed_in.as_ref())
        .await
    {
        return browser.error_page(&error);
    }
    let mut response = match &request.redirect {
        Some(target) => {
            let pairs: Vec<(&str, &str)> = target
                .state
                .as_deref()
                .map(|state| ("state", state))
                .into_iter()
                .collect();
            let location = if pairs.is_empty() {
                target.redirect_uri.clone()
            } else {
                with_query(&target.redirect_uri, &pairs)
            };
            redirect(StatusCode::SEE_OTHER, &location)
        }
        None => browser
            .message(StatusCode::OK, "Signed out", "You are signed out.")
            .into_response(),
    };
    set_cookies(response.headers_mut(), &[browser.session_cookie_cleared()]);
    response
}
