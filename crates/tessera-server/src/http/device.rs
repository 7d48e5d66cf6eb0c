//! The device authorization grant's endpoints (RFC 8628): the device's
//! `…/protocol/openid-connect/auth/device`, and the verification page
//! (`…/device`) where its user enters the code and approves.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_proto::DeviceAuthorizationResponse;
use tessera_token::{DeviceDecision, SignedIn, TokenError};

use super::error::ApiError;
use super::form::OAuthForm;
use super::oidc::ClientForm;
use super::pages::{error_page, Browser, DeviceCodePage, DeviceConfirmPage, Page, PostedForm};
use super::sign_in::{sign_in_page, Flow};
use super::AppState;

/// RFC 8628 §3.1–3.2.
pub async fn start(
    State(state): State<AppState>,
    client: ClientForm,
) -> Result<Json<DeviceAuthorizationResponse>, ApiError> {
    let started = state
        .services
        .oauth
        .start_device_authorization(&client.realm, &client.credentials, client.form.get("scope"))
        .await?;
    Ok(Json(started))
}

/// RFC 8628 §3.3: sign in first, then enter the code (or follow
/// `verification_uri_complete`), then approve or deny.
pub async fn page(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let browser = match Browser::new(&state, &realm, &headers) {
        Ok(browser) => browser,
        Err(error) => return error_page(None, &error),
    };
    let encoded = query.unwrap_or_default();
    let signed_in = match signed_in(&browser).await {
        Ok(Some(signed_in)) => signed_in,
        Ok(None) => {
            return sign_in_page(
                &browser,
                (Flow::Device, &encoded),
                (StatusCode::OK, None, ""),
                None,
            )
        }
        Err(error) => return browser.error_page(&error),
    };
    let user_code = OAuthForm::parse(encoded.as_bytes())
        .ok()
        .and_then(|form| form.get("user_code").map(str::to_owned));
    match user_code {
        None => code_page(&browser, StatusCode::OK, None, ""),
        Some(user_code) => confirm_page(&browser, &signed_in, &user_code).await,
    }
}

/// The approval (or denial) posted from the confirmation page.
pub async fn decide(posted: PostedForm) -> Response {
    let (browser, form) = match posted.open() {
        Ok(opened) => opened,
        Err(page) => return *page,
    };
    let (state, realm) = (browser.state, browser.name());
    let user_code = form.get("user_code").unwrap_or_default();
    if !browser.form_token_matches(form.get("csrf")) {
        return code_page(
            &browser,
            StatusCode::BAD_REQUEST,
            Some("This form had expired. Please enter the code again."),
            user_code,
        );
    }
    let signed_in = match signed_in(&browser).await {
        Ok(Some(signed_in)) => signed_in,
        Ok(None) => {
            let encoded =
                serde_urlencoded::to_string([("user_code", user_code)]).unwrap_or_default();
            return sign_in_page(
                &browser,
                (Flow::Device, &encoded),
                (StatusCode::UNAUTHORIZED, Some("Please sign in first."), ""),
                None,
            );
        }
        Err(error) => return browser.error_page(&error),
    };
    let decision = match form.get("decision") {
        Some("approve") => DeviceDecision::Approved,
        Some("deny") => DeviceDecision::Denied,
        _ => return browser.error_page(&TokenError::missing_parameter("decision")),
    };
    let decided = state
        .services
        .sign_in
        .decide_device(realm, user_code, &signed_in, decision)
        .await;
    match decided {
        Ok(()) => {
            let (title, message) = match decision {
                DeviceDecision::Approved => (
                    "Device signed in",
                    "Your device is signed in. You can close this page and go back to it.",
                ),
                DeviceDecision::Denied => (
                    "Request denied",
                    "The device was not signed in. You can close this page.",
                ),
            };
            browser
                .message(StatusCode::OK, title, message)
                .into_response()
        }
        Err(TokenError::UnknownUserCode) => code_page(
            &browser,
            StatusCode::BAD_REQUEST,
            Some(UNKNOWN_CODE),
            user_code,
        ),
        Err(error) => browser.error_page(&error),
    }
}

const UNKNOWN_CODE: &str = "That code is unknown or has expired. Check the code on your device.";

async fn signed_in(browser: &Browser<'_>) -> Result<Option<SignedIn>, TokenError> {
    browser
        .state
        .services
        .sign_in
        .signed_in(browser.name(), browser.session_cookie())
        .await
}

fn code_page(
    browser: &Browser<'_>,
    status: StatusCode,
    error: Option<&str>,
    user_code: &str,
) -> Response {
    let page = DeviceCodePage {
        layout: browser.layout("Sign in a device"),
        error,
        action: format!("{}/device", browser.issuer()),
        user_code,
    };
    Page::new(status, &page).into_response()
}

async fn confirm_page(browser: &Browser<'_>, signed_in: &SignedIn, user_code: &str) -> Response {
    let pending = browser
        .state
        .services
        .sign_in
        .pending_device(browser.name(), user_code)
        .await;
    let pending = match pending {
        Ok(pending) => pending,
        Err(TokenError::UnknownUserCode) => {
            return code_page(
                browser,
                StatusCode::BAD_REQUEST,
                Some(UNKNOWN_CODE),
                user_code,
            )
        }
        Err(error) => return browser.error_page(&error),
    };
    let (csrf, csrf_cookie) = match browser.form_token() {
        Ok(token) => token,
        Err(error) => return browser.error_page(&error),
    };
    let page = DeviceConfirmPage {
        layout: browser.layout("Sign in a device"),
        action: format!("{}/device", browser.issuer()),
        csrf,
        user_code: &pending.user_code,
        client_id: &pending.client_id,
        username: &signed_in.user.username,
        scopes: &pending.scopes,
    };
    Page::new(StatusCode::OK, &page)
        .with_cookies([csrf_cookie])
        .into_response()
}
