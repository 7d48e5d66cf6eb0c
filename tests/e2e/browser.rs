//! Browser sign-in over HTTP: the authorization-code flow with PKCE driven as
//! a browser would (follow the redirect, post the form, exchange the code),
//! every refusal the authorization endpoint and the exchange make, code
//! replay, single sign-on across clients, and RP-initiated logout.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

use crate::kit::{Env, RealmOptions, Reply, Server, PASSWORD, PUBLIC_URL, REALM, USER};

pub const WEB_CALLBACK: &str = "http://app.test/callback";
pub const PORTAL_CALLBACK: &str = "https://portal.test/cb";
pub const PORTAL_SECRET: &str = "portal-secret-0123456789";

/// A browser without JavaScript: keeps its cookies, follows nothing by itself.
pub struct Browser {
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(cookie, _)| cookie == name)
            .map(|(_, value)| value.as_str())
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Reply {
        let header = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if header.is_empty() {
            request
        } else {
            request.header("cookie", header)
        };
        let response = request.send().await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(cookie, _)| cookie != name);
            if !attributes.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        Server::reply(response).await
    }

    pub async fn get(&mut self, url: &str) -> Reply {
        let request = self.http.get(url);
        self.send(request).await
    }

    /// A GET with exactly this `Cookie` header, whatever the jar holds.
    pub async fn send_with_cookie(&mut self, url: &str, cookie: &str) -> Reply {
        let request = self.http.get(url).header("cookie", cookie);
        self.send(request).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Reply {
        let request = self.http.post(url).form(form);
        self.send(request).await
    }
}

/// The session cookie's name in the test realm.
pub fn session_cookie() -> String {
    format!("TESSERA_SESSION_{REALM}")
}

/// The value of a form field on a page (as the browser would submit it).
pub fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    unescape(&html[start..end])
}

/// Undoes HTML escaping: named and decimal character references.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find(';').unwrap();
        let entity = &rest[start + 1..end];
        let decoded = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            _ => char::from_u32(entity.strip_prefix('#').unwrap().parse().unwrap()).unwrap(),
        };
        out.push(decoded);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

pub fn location(reply: &Reply) -> String {
    reply.headers["location"].to_str().unwrap().to_owned()
}

/// A query parameter of a URL, decoded.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    pairs
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

/// A PKCE verifier and its S256 challenge (RFC 7636 §4.1–4.2).
pub fn pkce(seed: &str) -> (String, String) {
    let verifier = format!("{seed:-<43}");
    let challenge = URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ));
    (verifier, challenge)
}

/// The authorization endpoint's URL with `params`.
pub fn authorize_url(server: &Server, params: &[(&str, &str)]) -> String {
    format!(
        "{}?{}",
        server.realm_url("/protocol/openid-connect/auth"),
        serde_urlencoded::to_string(params).unwrap()
    )
}

/// The claims of a JWT, unverified (the tests verify signatures elsewhere).
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// `web`'s request for `openid` (plus `scope`), with PKCE, state and nonce.
pub fn web_request<'a>(challenge: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", "web"),
        ("redirect_uri", WEB_CALLBACK),
        ("scope", scope),
        ("state", "st-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

/// Submits the sign-in form on `page` with `password`.
pub async fn submit_sign_in(
    browser: &mut Browser,
    server: &Server,
    page: &Reply,
    (username, password): (&str, &str),
) -> Reply {
    assert!(
        page.text.contains("name=\"password\""),
        "no sign-in form: {}",
        page.text
    );
    let (csrf, flow, request) = (
        field(&page.text, "csrf"),
        field(&page.text, "flow"),
        field(&page.text, "request"),
    );
    browser
        .post(
            &server.realm_url("/login-actions/authenticate"),
            &[
                ("csrf", csrf.as_str()),
                ("flow", flow.as_str()),
                ("request", request.as_str()),
                ("username", username),
                ("password", password),
            ],
        )
        .await
}

/// The code `web` gets for `browser`, signing in with the form unless the
/// browser is signed in already.
pub async fn sign_in_for_code(
    browser: &mut Browser,
    server: &Server,
    challenge: &str,
    scope: &str,
) -> String {
    let page = browser
        .get(&authorize_url(server, &web_request(challenge, scope)))
        .await;
    let reply = if page.status == 302 {
        page
    } else {
        let reply = submit_sign_in(browser, server, &page, (USER, PASSWORD)).await;
        assert_eq!(reply.status, 303, "{}", reply.text);
        reply
    };
    let target = location(&reply);
    assert!(target.starts_with(&format!("{WEB_CALLBACK}?")), "{target}");
    query_param(&target, "code").unwrap()
}

pub async fn exchange(server: &Server, code: &str, verifier: &str) -> Reply {
    server
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "web"),
            ("code", code),
            ("redirect_uri", WEB_CALLBACK),
            ("code_verifier", verifier),
        ])
        .await
}

#[tokio::test]
async fn a_browser_signs_in_with_pkce_and_a_second_client_reuses_the_session() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (verifier, challenge) = pkce("first-verifier");
    let mut browser = Browser::new();

    let page = browser
        .get(&authorize_url(
            &server,
            &web_request(&challenge, "openid profile"),
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self' http://app.test",
        "style-src 'self'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // Labelled fields, the realm's display name escaped, no script at all.
    for fragment in [
        "<label for=\"username\">",
        "<label for=\"password\">",
        "autocomplete=\"current-password\"",
        "Test &#60;Realm&#62;",
        &format!("action=\"{PUBLIC_URL}/realms/{REALM}/login-actions/authenticate\""),
    ] {
        assert!(page.text.contains(fragment), "{fragment} in {}", page.text);
    }
    assert!(!page.text.contains("<script"));
    let csrf_cookie = page.headers["set-cookie"].to_str().unwrap();
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Strict"));

    let wrong = submit_sign_in(&mut browser, &server, &page, (USER, "wrong password")).await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.text.contains("Invalid username or password."),
        "{}",
        wrong.text
    );
    assert!(wrong.text.contains("role=\"alert\""));
    assert!(
        wrong.text.contains(&format!("value=\"{USER}\"")),
        "the username is kept"
    );
    assert!(browser.cookie(&session_cookie()).is_none());

    let signed_in = submit_sign_in(&mut browser, &server, &wrong, (USER, PASSWORD)).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    let target = location(&signed_in);
    assert!(
        target.starts_with("http://app.test/callback?code=tsr_ac_"),
        "{target}"
    );
    assert_eq!(query_param(&target, "state").as_deref(), Some("st-123"));
    assert_eq!(
        query_param(&target, "iss").as_deref(),
        Some(format!("{PUBLIC_URL}/realms/{REALM}").as_str())
    );
    let session = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with(&session_cookie()))
        .unwrap();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(!session.contains("Secure"), "the public URL is http");

    let code = query_param(&target, "code").unwrap();
    let tokens = exchange(&server, &code, &verifier).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let id = claims(tokens.body["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["aud"], "web");
    let auth_time = id["auth_time"].as_i64().unwrap();
    assert!(auth_time <= id["iat"].as_i64().unwrap());
    assert_eq!(tokens.body["scope"], "openid profile");
    let access = tokens.body["access_token"].as_str().unwrap();
    let info = server.userinfo(access).await;
    assert_eq!(info.status, 200);
    assert_eq!(info.body["preferred_username"], USER);
    let refreshed = server
        .refresh_for("web", tokens.body["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    let refreshed_id = claims(refreshed.body["id_token"].as_str().unwrap());
    assert_eq!(
        refreshed_id["auth_time"], auth_time,
        "auth_time is the sign-in's"
    );

    // A second client: the browser is signed in, so no form (single sign-on).
    let portal = browser
        .get(&authorize_url(
            &server,
            &[
                ("response_type", "code"),
                ("client_id", "portal"),
                ("redirect_uri", PORTAL_CALLBACK),
                ("scope", "openid"),
            ],
        ))
        .await;
    assert_eq!(portal.status, 302, "{}", portal.text);
    let target = location(&portal);
    assert!(
        target.starts_with(&format!("{PORTAL_CALLBACK}?code=")),
        "{target}"
    );
    assert_eq!(query_param(&target, "state"), None);
    let portal_tokens = server
        .post_form_basic(
            "/protocol/openid-connect/token",
            "portal",
            PORTAL_SECRET,
            &[
                ("grant_type", "authorization_code"),
                ("code", &query_param(&target, "code").unwrap()),
                ("redirect_uri", PORTAL_CALLBACK),
            ],
        )
        .await;
    assert_eq!(portal_tokens.status, 200, "{}", portal_tokens.text);
    let portal_id = claims(portal_tokens.body["id_token"].as_str().unwrap());
    assert_eq!(portal_id["auth_time"], auth_time);
    assert_eq!(portal_id["sub"], id["sub"]);

    // prompt=none answers silently while signed in; prompt=login and a
    // max_age already passed ask for the password again.
    let (_, challenge) = pkce("second-verifier");
    let mut silent = web_request(&challenge, "openid");
    silent.push(("prompt", "none"));
    let reply = browser.get(&authorize_url(&server, &silent)).await;
    assert_eq!(reply.status, 302);
    assert!(query_param(&location(&reply), "code").is_some());
    for extra in [("prompt", "login"), ("max_age", "0")] {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let mut request = web_request(&challenge, "openid");
        request.push(extra);
        let reply = browser.get(&authorize_url(&server, &request)).await;
        assert_eq!(reply.status, 200, "{extra:?}");
        assert!(reply.text.contains("name=\"password\""));
    }

    // Another browser, not signed in: prompt=none is login_required, redirected.
    let mut stranger = Browser::new();
    let reply = stranger.get(&authorize_url(&server, &silent)).await;
    assert_eq!(reply.status, 302);
    let target = location(&reply);
    assert_eq!(
        query_param(&target, "error").as_deref(),
        Some("login_required")
    );
    assert_eq!(query_param(&target, "state").as_deref(), Some("st-123"));
}

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_the_tokens_issued_from_it() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (verifier, challenge) = pkce("replay-verifier");
    let mut browser = Browser::new();
    let code = sign_in_for_code(&mut browser, &server, &challenge, "openid").await;
    let first = exchange(&server, &code, &verifier).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let access = first.body["access_token"].as_str().unwrap();
    let sid = claims(access)["sid"].as_str().unwrap().to_owned();

    let replay = exchange(&server, &code, &verifier).await;
    assert_eq!(replay.status, 400);
    assert_eq!(replay.body["error"], "invalid_grant");
    assert_eq!(replay.body["error_description"], "Code not valid");
    let refresh = server
        .refresh_for("web", first.body["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refresh.status, 400, "{}", refresh.text);
    assert_eq!(refresh.body["error"], "invalid_grant");
    let info = server.userinfo(access).await;
    assert_eq!(info.status, 401);
    let feed = server.revocation_feed(None).await;
    assert!(
        feed["revocations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["sid"] == sid.as_str()),
        "{feed}"
    );
}

#[tokio::test]
async fn concurrent_exchanges_of_one_code_yield_one_session() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (verifier, challenge) = pkce("race-verifier");
    let mut browser = Browser::new();
    let code = sign_in_for_code(&mut browser, &server, &challenge, "openid").await;
    // Started together, answered in any order.
    let joined = tokio::join!(
        exchange(&server, &code, &verifier),
        exchange(&server, &code, &verifier),
        exchange(&server, &code, &verifier),
        exchange(&server, &code, &verifier),
        exchange(&server, &code, &verifier),
    );
    let replies = [joined.0, joined.1, joined.2, joined.3, joined.4];
    let won: Vec<&Reply> = replies.iter().filter(|reply| reply.status == 200).collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(replies
        .iter()
        .filter(|reply| reply.status != 200)
        .all(|reply| reply.body["error"] == "invalid_grant"));
    // The winner's session is revoked by the losers' replay.
    let refresh = server
        .refresh_for("web", won[0].body["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refresh.status, 400, "{}", refresh.text);
}

/// Every statement of browser sign-in, for the plan check: the form, a
/// code and its exchange, single sign-on, a replay, a refresh, logout.
pub async fn walk_sign_in(server: &Server) {
    let (verifier, challenge) = pkce("walk-verifier");
    let mut browser = Browser::new();
    let code = sign_in_for_code(&mut browser, server, &challenge, "openid").await;
    let tokens = exchange(server, &code, &verifier).await;
    assert_eq!(exchange(server, &code, &verifier).await.status, 400);
    let code = sign_in_for_code(&mut browser, server, &challenge, "openid").await;
    let tokens_again = exchange(server, &code, &verifier).await;
    let refresh = tokens_again.body["refresh_token"].as_str().unwrap();
    server.refresh_for("web", refresh).await;
    let hint = tokens_again.body["id_token"].as_str().unwrap();
    let logout = browser
        .get(&format!(
            "{}?id_token_hint={hint}",
            server.realm_url("/protocol/openid-connect/logout")
        ))
        .await;
    assert_eq!(logout.status, 200, "{}", logout.text);
    assert_eq!(tokens.status, 200);
}

#[tokio::test]
async fn behind_an_https_public_url_the_cookies_are_secure() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env
        .start_with(tessera_server::ServeConfig {
            public_url: Some("https://tessera.test".to_owned()),
            ..env.config()
        })
        .await;
    let (_, challenge) = pkce("secure-verifier");
    let mut browser = Browser::new();
    let page = browser
        .get(&authorize_url(&server, &web_request(&challenge, "openid")))
        .await;
    // Behind https the names take the __Host- prefix: no sibling subdomain
    // can plant them.
    let csrf = page.headers["set-cookie"].to_str().unwrap();
    assert!(
        csrf.starts_with("__Host-TESSERA_CSRF=") && csrf.contains("Secure"),
        "{csrf}"
    );
    assert!(csrf.contains("Path=/"));
    let signed_in = submit_sign_in(&mut browser, &server, &page, (USER, PASSWORD)).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    let session: Vec<&str> = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap())
        .filter(|value| value.starts_with(&format!("__Host-{}", session_cookie())))
        .collect();
    assert_eq!(session.len(), 1);
    assert!(
        session[0].contains("Secure") && session[0].contains("HttpOnly"),
        "{session:?}"
    );
}

#[tokio::test]
async fn every_sign_in_renews_the_cookie_and_another_user_replaces_the_session() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (verifier, challenge) = pkce("renew-verifier");
    let mut browser = Browser::new();
    let code = sign_in_for_code(&mut browser, &server, &challenge, "openid").await;
    let alice = exchange(&server, &code, &verifier).await;
    let first_cookie = browser.cookie(&session_cookie()).unwrap().to_owned();

    // prompt=login: the same user again gets a new secret; the old one is dead.
    let mut request = web_request(&challenge, "openid");
    request.push(("prompt", "login"));
    let page = browser.get(&authorize_url(&server, &request)).await;
    let again = submit_sign_in(&mut browser, &server, &page, (USER, PASSWORD)).await;
    assert_eq!(again.status, 303, "{}", again.text);
    let second_cookie = browser.cookie(&session_cookie()).unwrap().to_owned();
    assert_ne!(first_cookie, second_cookie);
    let mut old = Browser::new();
    let cookie = format!("{}={first_cookie}", session_cookie());
    let reply = old
        .send_with_cookie(
            &authorize_url(&server, &web_request(&challenge, "openid")),
            &cookie,
        )
        .await;
    assert_eq!(reply.status, 200, "the old secret signs nobody in");

    // Another user signs in in the same browser: alice's browser session ends,
    // with her online session.
    let page = browser.get(&authorize_url(&server, &request)).await;
    let bob = submit_sign_in(&mut browser, &server, &page, ("bob", PASSWORD)).await;
    assert_eq!(bob.status, 303, "{}", bob.text);
    assert_ne!(browser.cookie(&session_cookie()).unwrap(), second_cookie);
    let refresh = server
        .refresh_for("web", alice.body["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refresh.status, 400, "{}", refresh.text);
}
