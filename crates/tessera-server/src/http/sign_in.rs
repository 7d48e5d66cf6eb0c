//! The authorization endpoint (`…/protocol/openid-connect/auth`, RFC 6749
//! §4.1.1) and the sign-in form it shows (`…/login-actions/authenticate`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_token::{
    AuthorizationParams, AuthorizationRefusal, AuthorizationRequest, AuthorizationResponse,
    AuthorizationStep, ClientRedirect, TokenError,
};

use super::error::token_error_body;
use super::form::OAuthForm;
use super::pages::{error_page, set_cookies, Browser, Page, PostedForm, SignInPage};
use super::AppState;

/// Where the sign-in form goes once the user is signed in: on with an
/// authorization request, or back to the device verification page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Authorize,
    Device,
}

impl Flow {
    fn as_str(self) -> &'static str {
        match self {
            Self::Authorize => "authorize",
            Self::Device => "device",
        }
    }

    fn parse(value: Option<&str>) -> Option<Self> {
        match value? {
            "authorize" => Some(Self::Authorize),
            "device" => Some(Self::Device),
            _ => None,
        }
    }
}

pub async fn authorize_get(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    authorization(
        &state,
        &realm,
        &headers,
        query.as_deref().unwrap_or_default(),
    )
    .await
}

/// OpenID Connect Core §3.1.2.1: the same request, form-encoded in a POST.
pub async fn authorize_post(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match std::str::from_utf8(&body) {
        Ok(body) => authorization(&state, &realm, &headers, body).await,
        Err(_) => error_page(
            None,
            &TokenError::InvalidRequest("The request is not valid UTF-8".to_owned()),
        ),
    }
}

fn authorization_params(form: &OAuthForm) -> AuthorizationParams<'_> {
    AuthorizationParams {
        response_type: form.get("response_type"),
        client_id: form.get("client_id"),
        redirect_uri: form.get("redirect_uri"),
        scope: form.get("scope"),
        state: form.get("state"),
        nonce: form.get("nonce"),
        code_challenge: form.get("code_challenge"),
        code_challenge_method: form.get("code_challenge_method"),
        prompt: form.get("prompt"),
        max_age: form.get("max_age"),
        response_mode: form.get("response_mode"),
    }
}

/// Parses and validates an authorization request given as a query string.
fn parse_request(
    browser: &Browser<'_>,
    encoded: &str,
) -> Result<AuthorizationRequest, AuthorizationRefusal> {
    let form = OAuthForm::parse(encoded.as_bytes()).map_err(|_| {
        AuthorizationRefusal::Shown(TokenError::InvalidRequest(
            "Invalid authorization request (malformed or repeated parameters)".to_owned(),
        ))
    })?;
    browser
        .state
        .services
        .sign_in
        .authorization_request(browser.name(), &authorization_params(&form))
}

async fn authorization(
    state: &AppState,
    realm: &str,
    headers: &HeaderMap,
    encoded: &str,
) -> Response {
    let browser = match Browser::new(state, realm, headers) {
        Ok(browser) => browser,
        Err(error) => return error_page(None, &error),
    };
    let request = match parse_request(&browser, encoded) {
        Ok(request) => request,
        Err(refusal) => return refusal_response(&browser, refusal, StatusCode::FOUND),
    };
    let sign_in = &state.services.sign_in;
    let signed_in = match sign_in.signed_in(realm, browser.session_cookie()).await {
        Ok(signed_in) => signed_in,
        Err(error) => {
            let refusal = AuthorizationRefusal::Redirected(request.redirect(), error);
            return refusal_response(&browser, refusal, StatusCode::FOUND);
        }
    };
    match sign_in.authorize(realm, &request, signed_in.as_ref()).await {
        Ok(AuthorizationStep::Issued(response)) => code_redirect(&response, StatusCode::FOUND),
        Ok(AuthorizationStep::SignIn) => sign_in_page(
            &browser,
            (Flow::Authorize, encoded),
            (StatusCode::OK, None, ""),
            Some(&request.redirect_uri),
        ),
        Err(refusal) => refusal_response(&browser, refusal, StatusCode::FOUND),
    }
}

/// The sign-in form, for `flow` with its request (`encoded`), with an
/// error and the username typed before, if any. `redirect_uri` is where a
/// successful sign-in leads.
pub(crate) fn sign_in_page(
    browser: &Browser<'_>,
    (flow, encoded): (Flow, &str),
    (status, error, username): (StatusCode, Option<&str>, &str),
    redirect_uri: Option<&str>,
) -> Response {
    let (csrf, csrf_cookie) = match browser.form_token() {
        Ok(token) => token,
        Err(error) => return browser.error_page(&error),
    };
    let page = SignInPage {
        layout: browser.layout("Sign in"),
        error,
        action: format!("{}/login-actions/authenticate", browser.issuer()),
        csrf,
        flow: flow.as_str(),
        request: encoded,
        username,
    };
    let mut page = Page::new(status, &page).with_cookies([csrf_cookie]);
    if let Some(uri) = redirect_uri {
        page = page.allowing_redirect_to(uri);
    }
    page.into_response()
}

/// The sign-in form posted: checks its CSRF token, the request it continues
/// and the password, then signs the browser in and continues.
pub async fn authenticate(posted: PostedForm) -> Response {
    let (browser, form) = match posted.open() {
        Ok(opened) => opened,
        Err(page) => return *page,
    };
    let (state, realm) = (browser.state, browser.name());
    let Some(flow) = Flow::parse(form.get("flow")) else {
        return browser.error_page(&TokenError::missing_parameter("flow"));
    };
    let encoded = form.get("request").unwrap_or_default();
    // The request is checked again: the form only carries it.
    let request = match flow {
        Flow::Authorize => match parse_request(&browser, encoded) {
            Ok(request) => Some(request),
            Err(refusal) => return refusal_response(&browser, refusal, StatusCode::SEE_OTHER),
        },
        Flow::Device => None,
    };
    let redirect_uri = request
        .as_ref()
        .map(|request| request.redirect_uri.as_str());
    let username = form.get("username").unwrap_or_default();
    let again = |status, message| {
        sign_in_page(
            &browser,
            (flow, encoded),
            (status, Some(message), username),
            redirect_uri,
        )
    };
    if !browser.form_token_matches(form.get("csrf")) {
        return again(
            StatusCode::BAD_REQUEST,
            "This form had expired. Please sign in again.",
        );
    }
    let (Some(username), Some(password)) = (form.get("username"), form.secret("password")) else {
        return again(
            StatusCode::BAD_REQUEST,
            "Enter your username and your password.",
        );
    };
    let sign_in = &state.services.sign_in;
    let current = match sign_in.signed_in(realm, browser.session_cookie()).await {
        Ok(current) => current,
        Err(error) => return browser.error_page(&error),
    };
    let outcome = match sign_in.sign_in(realm, (username, password), current).await {
        Ok(outcome) => outcome,
        Err(error) if error.is_internal() => return browser.error_page(&error),
        Err(error) => {
            let (status, _) = token_error_body(&error);
            let mut response = again(status, sign_in_failure(&error));
            if status == StatusCode::SERVICE_UNAVAILABLE {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            return response;
        }
    };
    let cookies = [browser.session_cookie_set(outcome.cookie.expose())];
    let mut response = match request {
        Some(request) => match sign_in
            .issue_code(realm, &request, &outcome.signed_in)
            .await
        {
            Ok(response) => code_redirect(&response, StatusCode::SEE_OTHER),
            Err(refusal) => refusal_response(&browser, refusal, StatusCode::SEE_OTHER),
        },
        // Back to the verification page, with the code it was given (encoded
        // again: the form's copy is the browser's to change).
        None => {
            let user_code = OAuthForm::parse(encoded.as_bytes())
                .ok()
                .and_then(|carried| carried.get("user_code").map(str::to_owned));
            let page = format!("{}/device", browser.issuer());
            let location = match &user_code {
                Some(code) => with_query(&page, &[("user_code", code.as_str())]),
                None => page,
            };
            redirect(StatusCode::SEE_OTHER, &location)
        }
    };
    set_cookies(response.headers_mut(), &cookies);
    response
}

/// What the form says when a sign-in fails: one message for every wrong
/// username, password or locked account, as the password grant has one answer.
fn sign_in_failure(error: &TokenError) -> &'static str {
    match error {
        TokenError::AccountDisabled => "Your account is disabled. Contact your administrator.",
        TokenError::TemporarilyUnavailable => {
            "Too many sign-ins are in progress. Please try again in a moment."
        }
        TokenError::InvalidRequest(_) => "That password is too long.",
        _ => "Invalid username or password.",
    }
}

/// RFC 6749 §4.1.2: the code, `state` and (RFC 9207) `iss`, in the query.
fn code_redirect(response: &AuthorizationResponse, status: StatusCode) -> Response {
    let mut pairs = vec![("code", response.code.as_str())];
    pairs.extend(
        response
            .redirect
            .state
            .as_deref()
            .map(|state| ("state", state)),
    );
    pairs.push(("iss", response.issuer.as_str()));
    redirect(status, &with_query(&response.redirect.redirect_uri, &pairs))
}

/// A refusal shown as a page, or sent to the client (RFC 6749 §4.1.2.1).
fn refusal_response(
    browser: &Browser<'_>,
    refusal: AuthorizationRefusal,
    status: StatusCode,
) -> Response {
    match refusal {
        AuthorizationRefusal::Shown(error) => browser.error_page(&error),
        AuthorizationRefusal::Redirected(target, error) => {
            if error.is_internal() {
                tracing::error!(%error, "an authorization request failed");
            }
            error_redirect(browser.issuer(), &target, &error, status)
        }
    }
}

fn error_redirect(
    issuer: &str,
    target: &ClientRedirect,
    error: &TokenError,
    status: StatusCode,
) -> Response {
    let (_, body) = token_error_body(error);
    let description = body.error_description.unwrap_or_default();
    let mut pairs = vec![
        ("error", body.error.as_str()),
        ("error_description", description.as_str()),
    ];
    pairs.extend(target.state.as_deref().map(|state| ("state", state)));
    pairs.push(("iss", issuer));
    redirect(status, &with_query(&target.redirect_uri, &pairs))
}

/// `uri` with `pairs` added to its query (a registered URI may have one).
pub(crate) fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{query}")
}

pub(crate) fn redirect(status: StatusCode, location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(location) => (status, [(header::LOCATION, location)]).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
