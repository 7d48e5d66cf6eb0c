//! The device authorization grant (RFC 8628) for command-line add-ons: the
//! device gets its codes, the user signs in and approves on the verification
//! page, and the device's polls get each answer the RFC names.

use reqwest::StatusCode;
use serde_json::Value;

use crate::browser::{field, location, session_cookie, submit_sign_in, Browser};
use crate::kit::{Env, RealmOptions, Reply, Server, PASSWORD, PUBLIC_URL, REALM, USER};

pub async fn start(server: &Server, client: &str, scope: &str) -> Reply {
    server
        .post_form(
            "/protocol/openid-connect/auth/device",
            &[("client_id", client), ("scope", scope)],
        )
        .await
}

pub async fn poll(server: &Server, device_code: &str) -> Reply {
    server
        .token(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", "cli"),
            ("device_code", device_code),
        ])
        .await
}

fn assert_error(reply: &Reply, error: &str) {
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.body["error"], error, "{}", reply.text);
}

/// The verification page as the user reaches it from `verification_uri_complete`
/// (rewritten from the public URL to the test server).
fn verification_url(server: &Server, started: &Value) -> String {
    let complete = started["verification_uri_complete"].as_str().unwrap();
    complete.replace(PUBLIC_URL, &server.base)
}

/// Signs the browser in from the verification page and returns the
/// confirmation page it is sent back to.
async fn sign_in_on_verification_page(
    browser: &mut Browser,
    server: &Server,
    started: &Value,
) -> Reply {
    let page = browser.get(&verification_url(server, started)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(field(&page.text, "flow"), "device");
    let signed_in = submit_sign_in(browser, server, &page, (USER, PASSWORD)).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    let back = location(&signed_in);
    assert_eq!(back, started["verification_uri_complete"]);
    browser.get(&back.replace(PUBLIC_URL, &server.base)).await
}

async fn decide(browser: &mut Browser, server: &Server, page: &Reply, decision: &str) -> Reply {
    browser
        .post(
            &server.realm_url("/device"),
            &[
                ("csrf", &field(&page.text, "csrf")),
                ("user_code", &field(&page.text, "user_code")),
                ("decision", decision),
            ],
        )
        .await
}

#[tokio::test]
async fn an_add_on_signs_in_through_the_device_grant() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let started = start(&server, "cli", "openid offline_access").await;
    assert_eq!(started.status, 200, "{}", started.text);
    let body = &started.body;
    let device_code = body["device_code"].as_str().unwrap();
    let user_code = body["user_code"].as_str().unwrap();
    assert!(device_code.starts_with("tsr_dc_"));
    assert_eq!(user_code.len(), 9, "XXXX-XXXX: {user_code}");
    assert_eq!(
        body["verification_uri"],
        format!("{PUBLIC_URL}/realms/{REALM}/device")
    );
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["interval"], 1);

    // Polling before the user has decided: pending, then slow_down when early.
    assert_error(&poll(&server, device_code).await, "authorization_pending");
    assert_error(&poll(&server, device_code).await, "slow_down");

    let mut browser = Browser::new();
    let confirm = sign_in_on_verification_page(&mut browser, &server, &started.body).await;
    assert_eq!(confirm.status, 200, "{}", confirm.text);
    for fragment in [
        "<strong>cli</strong>",
        "<strong>alice</strong>",
        "<li>offline_access</li>",
    ] {
        assert!(
            confirm.text.contains(fragment),
            "{fragment} in {}",
            confirm.text
        );
    }
    assert!(confirm.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    // A forged decision is refused and decides nothing.
    let forged = browser
        .post(
            &server.realm_url("/device"),
            &[
                ("csrf", "forged"),
                ("user_code", user_code),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(forged.status, 400);
    assert_error(&poll(&server, device_code).await, "slow_down");

    let approved = decide(&mut browser, &server, &confirm, "approve").await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert!(approved.text.contains("Your device is signed in"));
    let tokens = poll(&server, device_code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    assert_eq!(tokens.body["scope"], "openid offline_access");
    assert!(tokens.body["id_token"].is_string());
    assert_eq!(tokens.body["refresh_expires_in"], 0, "an offline token");
    let access = tokens.body["access_token"].as_str().unwrap();
    let info = server.userinfo(access).await;
    assert_eq!(info.body["preferred_username"], USER);
    // Once: the device code is spent, and the page no longer knows the code.
    assert_error(&poll(&server, device_code).await, "invalid_grant");
    let again = browser.get(&verification_url(&server, &started.body)).await;
    assert_eq!(again.status, 400);
    assert!(again.text.contains("That code is unknown or has expired"));

    // Signed in already: the next device goes straight to the confirmation.
    let second = start(&server, "cli", "openid").await;
    let page = browser.get(&verification_url(&server, &second.body)).await;
    assert_eq!(page.status, 200);
    let denied = decide(&mut browser, &server, &page, "deny").await;
    assert_eq!(denied.status, 200);
    assert!(denied.text.contains("The device was not signed in"));
    assert_error(
        &poll(&server, second.body["device_code"].as_str().unwrap()).await,
        "access_denied",
    );
    // Typing the code by hand, in any case and without the dash, works too.
    let third = start(&server, "cli", "openid").await;
    let typed = third.body["user_code"]
        .as_str()
        .unwrap()
        .replace('-', "")
        .to_lowercase();
    let page = browser.get(&server.realm_url("/device")).await;
    assert!(page.text.contains("<label for=\"user_code\">"));
    let page = browser
        .get(&server.realm_url(&format!("/device?user_code={typed}")))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(field(&page.text, "user_code"), third.body["user_code"]);
}

#[tokio::test]
async fn device_codes_expire_and_bad_device_requests_are_refused() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let before = env.row_counts().await;
    let refused = start(&server, "web", "openid").await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body["error"], "unauthorized_client");
    let refused = start(&server, "cli", "openid admin").await;
    assert_eq!(refused.body["error"], "invalid_scope");
    let refused = start(&server, "nobody", "openid").await;
    assert_eq!(refused.status, 401);
    for code in ["tsr_dc_forged", "not-a-code"] {
        assert_error(&poll(&server, code).await, "invalid_grant");
    }
    let missing = server
        .token(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", "cli"),
        ])
        .await;
    assert_eq!(
        missing.body["error_description"],
        "Missing parameter: device_code"
    );
    assert_eq!(
        env.row_counts().await,
        before,
        "a refused request writes nothing"
    );
    let mut browser = Browser::new();
    let page = browser
        .get(&server.realm_url("/device?user_code=BCDF-GHJK"))
        .await;
    let signed_in = submit_sign_in(&mut browser, &server, &page, (USER, PASSWORD)).await;
    assert_eq!(signed_in.status, 303);
    assert!(browser.cookie(&session_cookie()).is_some());
    let before_unknown = env.row_counts().await;
    for code in ["BCDF-GHJK", "nonsense"] {
        let page = browser
            .get(&server.realm_url(&format!("/device?user_code={code}")))
            .await;
        assert_eq!(page.status, 400, "{}", page.text);
        assert!(page.text.contains("That code is unknown or has expired"));
    }
    assert_eq!(
        env.row_counts().await,
        before_unknown,
        "unknown codes write nothing"
    );

    // Past its lifetime, the code is expired for the device and gone from the page.
    let started = start(&server, "cli", "openid").await;
    let device_code = started.body["device_code"].as_str().unwrap();
    env.execute("UPDATE device_authorizations SET expires_at = 0")
        .await;
    assert_error(&poll(&server, device_code).await, "expired_token");
    let page = browser.get(&verification_url(&server, &started.body)).await;
    assert_eq!(page.status, 400);
    // Another client cannot poll with this client's device code.
    let other = server
        .token(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", "app"),
            ("device_code", device_code),
        ])
        .await;
    assert_eq!(other.body["error"], "unauthorized_client");
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
}

/// Every statement of the device grant, for the plan check.
pub async fn walk_device_flow(server: &Server) {
    let started = start(server, "cli", "openid").await;
    let device_code = started.body["device_code"].as_str().unwrap();
    poll(server, device_code).await;
    poll(server, device_code).await;
    let mut browser = Browser::new();
    let confirm = sign_in_on_verification_page(&mut browser, server, &started.body).await;
    decide(&mut browser, server, &confirm, "approve").await;
    assert_eq!(poll(server, device_code).await.status, 200);
}

#[tokio::test]
async fn an_approval_ends_with_the_browser_session_that_gave_it() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let started = start(&server, "cli", "openid").await;
    let mut browser = Browser::new();
    let confirm = sign_in_on_verification_page(&mut browser, &server, &started.body).await;
    assert_eq!(
        decide(&mut browser, &server, &confirm, "approve")
            .await
            .status,
        200
    );
    // The user signs out (asked, then confirmed) before the device polls.
    let ask = browser
        .get(&server.realm_url("/protocol/openid-connect/logout"))
        .await;
    let done = browser
        .post(
            &server.realm_url("/protocol/openid-connect/logout/confirm"),
            &[("csrf", &field(&ask.text, "csrf")), ("request", "")],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(browser.cookie(&session_cookie()).is_none());
    let polled = poll(&server, started.body["device_code"].as_str().unwrap()).await;
    assert_error(&polled, "access_denied");
}
