//! The hosted pages (sign-in, logout, the device verification page, errors):
//! server-rendered HTML that needs no JavaScript, sent under a strict
//! Content-Security-Policy, with the cookies that go with them.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use tessera_token::{new_uuid, RealmState, TokenError};

use super::error::token_error_body;
use super::form::OAuthForm;
use super::AppState;

/// The browser session's cookie is per realm: one browser may be signed in
/// to several.
const SESSION_COOKIE_PREFIX: &str = "TESSERA_SESSION_";
/// The secret a page's form token is bound to (double-submit, signed).
const CSRF_COOKIE: &str = "TESSERA_CSRF";
/// Behind https every cookie name takes this prefix: browsers then accept it
/// only from this origin, Secure, for the whole site, so a sibling subdomain
/// cannot plant one (RFC 6265bis §4.1.3.2).
const HOST_PREFIX: &str = "__Host-";
/// The stylesheet's route; `Cache-Control` lets browsers keep it a day.
pub const STYLESHEET_PATH: &str = "/resources/tessera.css";
pub const STYLESHEET: &str = include_str!("../../assets/tessera.css");

/// What every page shows around its content.
pub(crate) struct Layout {
    pub title: &'static str,
    pub realm_name: String,
    pub stylesheet: String,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub(crate) struct SignInPage<'a> {
    pub layout: Layout,
    pub error: Option<&'a str>,
    pub action: String,
    pub csrf: String,
    pub flow: &'a str,
    pub request: &'a str,
    pub username: &'a str,
}

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage<'a> {
    pub layout: Layout,
    pub message: &'a str,
    pub alert: bool,
}

#[derive(Template)]
#[template(path = "logout_confirm.html")]
pub(crate) struct LogoutConfirmPage<'a> {
    pub layout: Layout,
    pub action: String,
    pub csrf: String,
    pub request: &'a str,
}

#[derive(Template)]
#[template(path = "device_code.html")]
pub(crate) struct DeviceCodePage<'a> {
    pub layout: Layout,
    pub error: Option<&'a str>,
    pub action: String,
    pub user_code: &'a str,
}

#[derive(Template)]
#[template(path = "device_confirm.html")]
pub(crate) struct DeviceConfirmPage<'a> {
    pub layout: Layout,
    pub action: String,
    pub csrf: String,
    pub user_code: &'a str,
    pub client_id: &'a str,
    pub username: &'a str,
    pub scopes: &'a [String],
}

/// A rendered page with its status, the origins its forms may lead to, and
/// the cookies it sets.
pub(crate) struct Page {
    status: StatusCode,
    html: Result<String, askama::Error>,
    form_targets: Vec<String>,
    cookies: Vec<Cookie<'static>>,
}

impl Page {
    pub fn new(status: StatusCode, template: &impl Template) -> Self {
        Self {
            status,
            html: template.render(),
            form_targets: Vec::new(),
            cookies: Vec::new(),
        }
    }

    /// Lets the page's form lead (by a redirect after it is posted) to the
    /// origin of `uri`: `form-action` governs those redirects too.
    pub fn allowing_redirect_to(mut self, uri: &str) -> Self {
        if let Some(origin) = origin(uri) {
            self.form_targets.push(origin);
        }
        self
    }

    pub fn with_cookies(mut self, cookies: impl IntoIterator<Item = Cookie<'static>>) -> Self {
        self.cookies.extend(cookies);
        self
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let html = match self.html {
            Ok(html) => html,
            Err(error) => {
                tracing::error!(%error, "a page did not render");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        let mut targets = String::from("'self'");
        for target in &self.form_targets {
            targets.push(' ');
            targets.push_str(target);
        }
        let policy = format!(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action {targets}; \
             frame-ancestors 'none'; base-uri 'none'"
        );
        let mut response = (self.status, html).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        // Fail closed: no page goes out without its policy.
        let Ok(policy) = HeaderValue::from_str(&policy) else {
            tracing::error!("a page's Content-Security-Policy is not a valid header");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        set_cookies(headers, &self.cookies);
        response
    }
}

pub(crate) fn set_cookies(headers: &mut HeaderMap, cookies: &[Cookie<'static>]) {
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            headers.append(header::SET_COOKIE, value);
        }
    }
}

/// `scheme://authority` of an absolute URI, or `scheme:` for one without an
/// authority (an app's private-use scheme), as a CSP source.
fn origin(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    let origin = match rest.strip_prefix("//") {
        Some(rest) => {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            format!("{scheme}://{}", &rest[..end])
        }
        None => format!("{scheme}:"),
    };
    // Registered URIs have no spaces; anything that could end a CSP source is refused.
    (!origin.contains([';', ',', '\'', '"'])).then_some(origin)
}

/// One browser's request to a realm's hosted pages.
pub(crate) struct Browser<'a> {
    pub state: &'a AppState,
    pub realm: Arc<RealmState>,
    headers: &'a HeaderMap,
}

impl<'a> Browser<'a> {
    pub fn new(
        state: &'a AppState,
        realm: &str,
        headers: &'a HeaderMap,
    ) -> Result<Self, TokenError> {
        Ok(Self {
            state,
            realm: state.services.realm(realm)?,
            headers,
        })
    }

    pub fn name(&self) -> &str {
        &self.realm.config.name
    }

    pub fn issuer(&self) -> &str {
        &self.realm.config.issuer
    }

    pub fn layout(&self, title: &'static str) -> Layout {
        Layout {
            title,
            realm_name: self.realm.config.display_name.clone(),
            stylesheet: format!("{}{STYLESHEET_PATH}", self.state.public_url),
        }
    }

    fn cookie(&self, name: &str) -> Option<&'a str> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|cookie| cookie.name_raw() == Some(name))
            .and_then(|cookie| cookie.value_raw())
    }

    fn secure(&self) -> bool {
        self.state.public_url.starts_with("https://")
    }

    /// `name`, with [`HOST_PREFIX`] behind https.
    fn cookie_name(&self, name: &str) -> String {
        if self.secure() {
            format!("{HOST_PREFIX}{name}")
        } else {
            name.to_owned()
        }
    }

    fn session_cookie_name(&self) -> String {
        self.cookie_name(&format!("{SESSION_COOKIE_PREFIX}{}", self.name()))
    }

    fn csrf_cookie_name(&self) -> String {
        self.cookie_name(CSRF_COOKIE)
    }

    /// The secret of the browser's session cookie for this realm, if any.
    pub fn session_cookie(&self) -> Option<&'a str> {
        self.cookie(&self.session_cookie_name())
    }

    /// RFC 6265bis: HttpOnly, SameSite=Lax (sent on the top-level navigation
    /// from a client to the authorization endpoint), Secure behind https.
    fn cookie_for(&self, name: String, value: String, same_site: SameSite) -> Cookie<'static> {
        Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(same_site)
            .secure(self.secure())
            .build()
    }

    pub fn session_cookie_set(&self, secret: &str) -> Cookie<'static> {
        self.cookie_for(self.session_cookie_name(), secret.to_owned(), SameSite::Lax)
    }

    pub fn session_cookie_cleared(&self) -> Cookie<'static> {
        let mut cookie = self.cookie_for(self.session_cookie_name(), String::new(), SameSite::Lax);
        cookie.make_removal();
        cookie
    }

    /// The form token for a page, and the CSRF cookie to (re)set with it: the
    /// browser's own CSRF secret when it has one, else a new one.
    pub fn form_token(&self) -> Result<(String, Cookie<'static>), TokenError> {
        let binding = match self.cookie(&self.csrf_cookie_name()) {
            Some(existing) if existing.len() == 36 => existing.to_owned(),
            _ => new_uuid()?,
        };
        let token = self.state.services.sign_in.form_token(&binding);
        // Strict: only this server's own pages post forms that need it.
        let cookie = self.cookie_for(self.csrf_cookie_name(), binding, SameSite::Strict);
        Ok((token, cookie))
    }

    /// Whether a posted form carries the token of this browser's CSRF cookie.
    pub fn form_token_matches(&self, token: Option<&str>) -> bool {
        match (self.cookie(&self.csrf_cookie_name()), token) {
            (Some(binding), Some(token)) => self
                .state
                .services
                .sign_in
                .form_token_matches(binding, token),
            _ => false,
        }
    }

    /// A page that says what went wrong, with the status the error maps to.
    pub fn error_page(&self, error: &TokenError) -> Response {
        error_page(Some(self), error)
    }

    pub fn message(&self, status: StatusCode, title: &'static str, message: &str) -> Page {
        let page = MessagePage {
            layout: self.layout(title),
            message,
            alert: !status.is_success(),
        };
        Page::new(status, &page)
    }
}

/// A form posted to a hosted page: the realm, the request's headers and its
/// body, as a handler's one argument.
pub(crate) struct PostedForm {
    state: AppState,
    pub realm: String,
    headers: HeaderMap,
    body: Bytes,
}

impl FromRequest<AppState> for PostedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Path(realm) = Path::<String>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let body = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            state: state.clone(),
            realm,
            headers: parts.headers,
            body,
        })
    }
}

impl PostedForm {
    /// The browser and the form, or the error page to answer instead.
    pub fn open(&self) -> Result<(Browser<'_>, OAuthForm), Box<Response>> {
        let browser = Browser::new(&self.state, &self.realm, &self.headers)
            .map_err(|error| Box::new(error_page(None, &error)))?;
        match OAuthForm::parse(&self.body) {
            Ok(form) => Ok((browser, form)),
            Err(_) => {
                let error = TokenError::InvalidRequest("The form could not be read".to_owned());
                Err(Box::new(browser.error_page(&error)))
            }
        }
    }
}

/// The error page, also for requests whose realm is unknown (`browser` is
/// then `None`). Internal errors are logged and described by nothing more
/// than "something went wrong".
pub(crate) fn error_page(browser: Option<&Browser<'_>>, error: &TokenError) -> Response {
    if error.is_internal() {
        tracing::error!(%error, "a hosted page failed");
    }
    let (status, body) = token_error_body(error);
    let description = body.error_description.unwrap_or_default();
    let layout = match browser {
        Some(browser) => browser.layout("Something went wrong"),
        None => Layout {
            title: "Something went wrong",
            realm_name: "Tessera".to_owned(),
            stylesheet: STYLESHEET_PATH.to_owned(),
        },
    };
    let page = MessagePage {
        layout,
        message: &description,
        alert: true,
    };
    let mut response = Page::new(status, &page).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_action_sources_are_origins_only() {
        assert_eq!(
            origin("https://app.example/callback?x=1").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            origin("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            origin("com.example.app:/oauth").as_deref(),
            Some("com.example.app:")
        );
        assert_eq!(origin("https://evil;script-src *"), None);
        assert_eq!(origin("no-scheme"), None);
    }
}
