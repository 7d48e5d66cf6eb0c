//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the browser
//! session ends with its online sessions, only toward registered URIs, and
//! only with the consent of the browser's own user.

use reqwest::StatusCode;
use serde_json::Value;

use crate::browser::{
    authorize_url, exchange, field, location, pkce, query_param, session_cookie, sign_in_for_code,
    submit_sign_in, web_request, Browser,
};
use crate::browser_refusals::assert_shown;
use crate::kit::{Env, RealmOptions, PASSWORD, USER};

#[tokio::test]
async fn rp_initiated_logout_ends_the_browser_session_and_its_online_sessions() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (verifier, challenge) = pkce("logout-verifier");
    let mut browser = Browser::new();
    let code = sign_in_for_code(&mut browser, &server, &challenge, "openid").await;
    let online = exchange(&server, &code, &verifier).await;
    let offline_code = {
        let reply = browser
            .get(&authorize_url(
                &server,
                &web_request(&challenge, "openid offline_access"),
            ))
            .await;
        query_param(&location(&reply), "code").unwrap()
    };
    let offline = exchange(&server, &offline_code, &verifier).await;
    assert_eq!(offline.status, 200, "{}", offline.text);
    let id_token = online.body["id_token"].as_str().unwrap();

    // An unregistered post-logout URI is shown, never followed; nothing ends.
    let logout = server.realm_url("/protocol/openid-connect/logout");
    let refused = browser
        .get(&format!(
            "{logout}?{}",
            serde_urlencoded::to_string([
                ("id_token_hint", id_token),
                ("post_logout_redirect_uri", "http://evil.test/"),
            ])
            .unwrap()
        ))
        .await;
    assert_shown(
        &refused,
        StatusCode::BAD_REQUEST,
        "Invalid parameter: redirect_uri",
    );
    let refused = browser
        .get(&format!(
            "{logout}?post_logout_redirect_uri=http%3A%2F%2Fapp.test%2Fbye"
        ))
        .await;
    assert_shown(&refused, StatusCode::BAD_REQUEST, "Missing parameter");

    let reply = browser
        .get(&format!(
            "{logout}?{}",
            serde_urlencoded::to_string([
                ("id_token_hint", id_token),
                ("post_logout_redirect_uri", "http://app.test/bye"),
                ("state", "bye-state"),
            ])
            .unwrap()
        ))
        .await;
    assert_eq!(reply.status, 303, "{}", reply.text);
    assert_eq!(location(&reply), "http://app.test/bye?state=bye-state");
    assert!(
        browser.cookie(&session_cookie()).is_none(),
        "cookie cleared"
    );
    let refresh = |token: &Value| {
        let token = token["refresh_token"].as_str().unwrap().to_owned();
        let server = &server;
        async move { server.refresh_for("web", &token).await }
    };
    assert_eq!(
        refresh(&online.body).await.status,
        400,
        "online session ended"
    );
    let offline = refresh(&offline.body).await;
    assert_eq!(offline.status, 200, "offline session outlives logout");
    let page = browser
        .get(&authorize_url(&server, &web_request(&challenge, "openid")))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("name=\"password\""),
        "signed out: the form again"
    );

    // Without a hint, a signed-in browser is asked first.
    let signed_in = submit_sign_in(&mut browser, &server, &page, (USER, PASSWORD)).await;
    assert_eq!(signed_in.status, 303);
    let ask = browser.get(&format!("{logout}?client_id=web")).await;
    assert_eq!(ask.status, 200, "{}", ask.text);
    assert!(ask.text.contains("Sign out"));
    assert!(
        browser.cookie(&session_cookie()).is_some(),
        "nothing ended yet"
    );
    let confirm = server.realm_url("/protocol/openid-connect/logout/confirm");
    let forged = browser
        .post(
            &confirm,
            &[("csrf", "forged"), ("request", "client_id=web")],
        )
        .await;
    assert_eq!(forged.status, 400);
    assert!(browser.cookie(&session_cookie()).is_some());
    let done = browser
        .post(
            &confirm,
            &[
                ("csrf", &field(&ask.text, "csrf")),
                ("request", &field(&ask.text, "request")),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.text.contains("You are signed out."));
    assert!(browser.cookie(&session_cookie()).is_none());
    // The same request as a form POST (RP-Initiated Logout 1.0 §2).
    let code = sign_in_for_code(&mut browser, &server, &challenge, "openid").await;
    let tokens = exchange(&server, &code, &verifier).await;
    let posted = browser
        .post(
            &logout,
            &[
                ("id_token_hint", tokens.body["id_token"].as_str().unwrap()),
                ("post_logout_redirect_uri", "http://app.test/bye"),
            ],
        )
        .await;
    assert_eq!(posted.status, 303, "{}", posted.text);
    assert_eq!(location(&posted), "http://app.test/bye");
    assert!(browser.cookie(&session_cookie()).is_none());
    assert_eq!(refresh(&tokens.body).await.status, 400);
    // Keycloak's logout by refresh token still works at the same endpoint.
    let reply = server
        .post_form(
            "/protocol/openid-connect/logout",
            &[
                ("client_id", "web"),
                (
                    "refresh_token",
                    offline.body["refresh_token"].as_str().unwrap(),
                ),
            ],
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
}

#[tokio::test]
async fn a_logout_hint_for_another_user_asks_before_signing_out() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (verifier, challenge) = pkce("hint-verifier");
    // The attacker's own, valid ID token.
    let mut attacker = Browser::new();
    let page = attacker
        .get(&authorize_url(&server, &web_request(&challenge, "openid")))
        .await;
    let signed_in = submit_sign_in(&mut attacker, &server, &page, ("bob", PASSWORD)).await;
    let code = query_param(&location(&signed_in), "code").unwrap();
    let hint = exchange(&server, &code, &verifier).await.body["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut victim = Browser::new();
    let code = sign_in_for_code(&mut victim, &server, &challenge, "openid").await;
    let tokens = exchange(&server, &code, &verifier).await;
    let logout = format!(
        "{}?{}",
        server.realm_url("/protocol/openid-connect/logout"),
        serde_urlencoded::to_string([
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", "http://app.test/bye"),
        ])
        .unwrap()
    );
    let reply = victim.get(&logout).await;
    assert_eq!(reply.status, 200, "asked, not signed out: {}", reply.text);
    assert!(reply.text.contains("Do you want to sign out"));
    assert!(victim.cookie(&session_cookie()).is_some());
    let refresh = server
        .refresh_for("web", tokens.body["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refresh.status, 200, "the victim's session lives");
}
