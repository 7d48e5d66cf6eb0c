//! What the authorization endpoint, the code exchange and the sign-in form
//! refuse, and how: shown or redirected, with the right error, writing nothing.

use reqwest::StatusCode;

use crate::browser::{
    authorize_url, exchange, field, location, pkce, query_param, session_cookie, sign_in_for_code,
    submit_sign_in, web_request, Browser, PORTAL_CALLBACK, PORTAL_SECRET, WEB_CALLBACK,
};
use crate::kit::{Env, RealmOptions, Reply, PASSWORD, USER};

/// A refusal shown as a page: never a redirect.
pub fn assert_shown(reply: &Reply, status: StatusCode, description: &str) {
    assert_eq!(reply.status, status, "{}", reply.text);
    assert!(reply.headers.get("location").is_none());
    assert!(
        reply.text.contains(description),
        "{description} in {}",
        reply.text
    );
}

/// A refusal redirected to the client with `error` and the request's state.
fn assert_redirected(reply: &Reply, error: &str) {
    assert_eq!(reply.status, 302, "{}", reply.text);
    let target = location(reply);
    assert!(target.starts_with(&format!("{WEB_CALLBACK}?")), "{target}");
    assert_eq!(
        query_param(&target, "error").as_deref(),
        Some(error),
        "{target}"
    );
    assert_eq!(query_param(&target, "state").as_deref(), Some("st-123"));
    assert!(query_param(&target, "code").is_none());
}

#[tokio::test]
async fn bad_authorization_requests_are_redirected_except_a_bad_client_or_redirect_uri() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (_, challenge) = pkce("errors-verifier");
    let mut browser = Browser::new();
    let before = env.row_counts().await;
    let with = |changes: &[(&'static str, Option<&'static str>)]| {
        let mut request = web_request(&challenge, "openid");
        for (name, value) in changes {
            request.retain(|(key, _)| key != name);
            if let Some(value) = value {
                request.push((name, value));
            }
        }
        authorize_url(&server, &request)
    };
    for (changes, description) in [
        (vec![("client_id", None)], "Missing parameter: client_id"),
        (vec![("client_id", Some("nobody"))], "Invalid client"),
        (
            vec![("redirect_uri", None)],
            "Missing parameter: redirect_uri",
        ),
        (
            vec![("redirect_uri", Some("http://app.test/callback/../evil"))],
            "Invalid parameter: redirect_uri",
        ),
        (
            vec![("redirect_uri", Some("http://app.test/callbackx"))],
            "Invalid parameter: redirect_uri",
        ),
        (
            vec![("redirect_uri", Some("http://app.test/other"))],
            "Invalid parameter: redirect_uri",
        ),
        // `app` registers no redirect URI at all.
        (
            vec![("client_id", Some("app"))],
            "Invalid parameter: redirect_uri",
        ),
    ] {
        let reply = browser.get(&with(&changes)).await;
        let status = if description == "Invalid client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_shown(&reply, status, description);
    }
    for (changes, error) in [
        (vec![("response_type", None)], "invalid_request"),
        (
            vec![("response_type", Some("token"))],
            "unsupported_response_type",
        ),
        (
            vec![("code_challenge", None), ("code_challenge_method", None)],
            "invalid_request",
        ),
        (
            vec![("code_challenge_method", Some("plain"))],
            "invalid_request",
        ),
        (vec![("code_challenge_method", None)], "invalid_request"),
        (
            vec![("code_challenge", Some("too-short"))],
            "invalid_request",
        ),
        (vec![("scope", Some("openid admin"))], "invalid_scope"),
        (vec![("prompt", Some("none login"))], "invalid_request"),
        (vec![("prompt", Some("sideways"))], "invalid_request"),
        (vec![("max_age", Some("soon"))], "invalid_request"),
        (vec![("response_mode", Some("fragment"))], "invalid_request"),
    ] {
        assert_redirected(&browser.get(&with(&changes)).await, error);
    }
    // A registered redirect URI with a query keeps it.
    let reply = browser
        .get(&with(&[
            ("redirect_uri", Some("http://app.test/other?tab=1")),
            ("response_type", Some("token")),
        ]))
        .await;
    assert!(location(&reply).starts_with("http://app.test/other?tab=1&error="));
    // A client without the code grant, at its own registered URI.
    let reply = browser
        .get(&authorize_url(
            &server,
            &[
                ("response_type", "code"),
                ("client_id", "cli"),
                ("redirect_uri", "http://cli.test/cb"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ))
        .await;
    assert_eq!(reply.status, 302);
    assert_eq!(
        query_param(&location(&reply), "error").as_deref(),
        Some("unauthorized_client")
    );
    // A repeated parameter, and an unknown realm.
    let url = format!("{}&client_id=web", with(&[]));
    assert_shown(
        &browser.get(&url).await,
        StatusCode::BAD_REQUEST,
        "malformed or repeated",
    );
    let reply = browser
        .get(&server.url("/realms/nowhere/protocol/openid-connect/auth?client_id=web"))
        .await;
    assert_shown(&reply, StatusCode::NOT_FOUND, "Realm does not exist");
    assert_eq!(
        env.row_counts().await,
        before,
        "a refused request writes nothing"
    );
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_redirect_uri_verifier_and_lifetime() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (verifier, challenge) = pkce("bound-verifier");
    let mut browser = Browser::new();
    let code = sign_in_for_code(&mut browser, &server, &challenge, "openid").await;
    let (wrong_verifier, _) = pkce("another-verifier");
    let attempt = |form: Vec<(&'static str, String)>| {
        let server = &server;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            server.token(&form).await
        }
    };
    let base = |code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("client_id", "web".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", WEB_CALLBACK.to_owned()),
        ]
    };
    let before = env.row_counts().await;
    for (form, description) in [
        (
            {
                let mut form = base(&code);
                form.push(("code_verifier", wrong_verifier.clone()));
                form
            },
            "PKCE verification failed",
        ),
        (base(&code), "PKCE code verifier not specified"),
        (
            {
                let mut form = base(&code);
                form[3].1 = "http://app.test/other?tab=1".to_owned();
                form.push(("code_verifier", verifier.clone()));
                form
            },
            "Incorrect redirect_uri",
        ),
        (
            {
                let mut form = base(&code);
                form.remove(3);
                form.push(("code_verifier", verifier.clone()));
                form
            },
            "Incorrect redirect_uri",
        ),
        (
            {
                let mut form = base("tsr_ac_notarealcode");
                form.push(("code_verifier", verifier.clone()));
                form
            },
            "Code not valid",
        ),
        (
            {
                let mut form = base(&code);
                form[1].1 = "other-app".to_owned();
                form.push(("code_verifier", verifier.clone()));
                form
            },
            "Client not allowed for the authorization code flow",
        ),
    ] {
        let reply = attempt(form).await;
        assert_eq!(reply.status, 400, "{}", reply.text);
        assert_eq!(
            reply.body["error_description"], description,
            "{}",
            reply.text
        );
    }
    let missing = server
        .token(&[("grant_type", "authorization_code"), ("client_id", "web")])
        .await;
    assert_eq!(missing.body["error_description"], "Missing parameter: code");
    // Another client presenting the code: refused, and the code stays unused.
    let stolen = server
        .post_form_basic(
            "/protocol/openid-connect/token",
            "portal",
            PORTAL_SECRET,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", WEB_CALLBACK),
            ],
        )
        .await;
    assert_eq!(stolen.status, 400);
    assert_eq!(stolen.body["error_description"], "Code not valid");
    assert_eq!(
        env.row_counts().await,
        before,
        "a refused exchange writes nothing"
    );
    // The rightful exchange still works after those refusals.
    assert_eq!(exchange(&server, &code, &verifier).await.status, 200);

    // A code past its 60 seconds, and a verifier where no challenge was sent.
    let (verifier, challenge) = pkce("late-verifier");
    let late = sign_in_for_code(&mut browser, &server, &challenge, "openid").await;
    env.execute("UPDATE authorization_codes SET expires_at = 0 WHERE consumed_at IS NULL")
        .await;
    let reply = exchange(&server, &late, &verifier).await;
    assert_eq!(
        reply.body["error_description"], "Code not valid",
        "{}",
        reply.text
    );
    let portal = browser
        .get(&authorize_url(
            &server,
            &[
                ("response_type", "code"),
                ("client_id", "portal"),
                ("redirect_uri", PORTAL_CALLBACK),
            ],
        ))
        .await;
    let portal_code = query_param(&location(&portal), "code").unwrap();
    let downgrade = server
        .post_form_basic(
            "/protocol/openid-connect/token",
            "portal",
            PORTAL_SECRET,
            &[
                ("grant_type", "authorization_code"),
                ("code", &portal_code),
                ("redirect_uri", PORTAL_CALLBACK),
                ("code_verifier", &verifier),
            ],
        )
        .await;
    assert_eq!(
        downgrade.body["error_description"],
        "PKCE code verifier given, but no challenge was"
    );
}

#[tokio::test]
async fn the_sign_in_form_checks_its_csrf_token_and_counts_failures_like_the_password_grant() {
    let env = Env::new(RealmOptions {
        brute_force: "max_failures = 3\nwindow = \"1m\"\nlockout = \"1m\"".to_owned(),
        ..RealmOptions::default()
    })
    .await;
    let server = env.start().await;
    let (_, challenge) = pkce("csrf-verifier");
    let mut browser = Browser::new();
    let page = browser
        .get(&authorize_url(&server, &web_request(&challenge, "openid")))
        .await;
    let before = env.row_counts().await;
    let post = |csrf: String| {
        let request = field(&page.text, "request");
        async move {
            let mut form = vec![
                ("flow", "authorize".to_owned()),
                ("request", request),
                ("username", USER.to_owned()),
                ("password", PASSWORD.to_owned()),
            ];
            if !csrf.is_empty() {
                form.push(("csrf", csrf));
            }
            form
        }
    };
    let target = server.realm_url("/login-actions/authenticate");
    for csrf in [String::new(), "forged".to_owned()] {
        let form = post(csrf).await;
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = browser.post(&target, &form).await;
        assert_eq!(reply.status, 400, "{}", reply.text);
        assert!(reply.text.contains("This form had expired"));
        assert!(browser.cookie(&session_cookie()).is_none());
    }
    // The token's issue time is part of what it proves: moved back two hours
    // (past the form's lifetime), it no longer fits.
    let token = field(&page.text, "csrf");
    let (issued, mac) = token.split_once('.').unwrap();
    let aged = format!("{}.{mac}", issued.parse::<i64>().unwrap() - 7200);
    let form = post(aged).await;
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(browser.post(&target, &form).await.status, 400);
    // A token from another browser's cookie does not fit this browser's.
    let mut other = Browser::new();
    let other_page = other
        .get(&authorize_url(&server, &web_request(&challenge, "openid")))
        .await;
    let form = post(field(&other_page.text, "csrf")).await;
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(browser.post(&target, &form).await.status, 400);
    assert_eq!(
        env.row_counts().await,
        before,
        "no session, no login attempt"
    );

    // Three wrong passwords lock the account: the right one then gets the
    // same answer as a wrong one, and so does an unknown user.
    let mut page = page;
    for _ in 0..3 {
        page = submit_sign_in(&mut browser, &server, &page, (USER, "wrong")).await;
        assert_eq!(page.status, 401);
    }
    for (username, password) in [(USER, PASSWORD), ("nobody-at-all", PASSWORD)] {
        let reply = submit_sign_in(&mut browser, &server, &page, (username, password)).await;
        assert_eq!(reply.status, 401, "{}", reply.text);
        assert!(reply.text.contains("Invalid username or password."));
    }
    let reply = submit_sign_in(&mut browser, &server, &page, ("disabled", PASSWORD)).await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.text.contains("Your account is disabled"),
        "{}",
        reply.text
    );
    let reply = submit_sign_in(&mut browser, &server, &page, (USER, "")).await;
    assert_eq!(reply.status, 400);
    assert!(reply
        .text
        .contains("Enter your username and your password."));
    assert!(browser.cookie(&session_cookie()).is_none());
}
