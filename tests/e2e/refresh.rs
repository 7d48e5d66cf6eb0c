use std::time::Duration;

use serde_json::Value;

use crate::kit::{assert_error, str_field, verify_with_jwks, Env, RealmOptions, USER};

#[tokio::test]
async fn refresh_rotates_and_reuse_after_grace_kills_the_family() {
    let env = Env::new(RealmOptions::tokens(r#"reuse_grace = "1s""#)).await;
    let server = env.start().await;
    let first = server.login(USER, "openid").await;
    let token_1 = str_field(&first, "refresh_token");

    let second = server.refresh(token_1).await;
    assert_eq!(second.status, 200, "{}", second.text);
    let token_2 = str_field(&second.body, "refresh_token");
    assert_ne!(token_1, token_2, "rotated");
    assert_eq!(second.body["session_state"], first["session_state"]);
    assert_eq!(second.body["scope"], "openid profile");
    verify_with_jwks(
        str_field(&second.body, "access_token"),
        &server.jwks().await,
        "api",
    )
    .unwrap();

    tokio::time::sleep(Duration::from_millis(1300)).await;
    // After the window, reuse means theft: the whole family dies.
    let reuse = server.refresh(token_1).await;
    assert_error(&reuse, 400, "invalid_grant");
    assert_eq!(
        reuse.body["error_description"],
        "Refresh token reuse detected; session revoked"
    );
    assert_error(&server.refresh(token_2).await, 400, "invalid_grant");
    let access = str_field(&second.body, "access_token");
    assert_eq!(server.introspect(access).await["active"], false);
}

/// Refresh tokens that can still be used: unconsumed, in a live family.
const LIVE_TOKENS: &str = "SELECT COUNT(*) FROM refresh_tokens t \
     JOIN refresh_families f ON f.id = t.family_id \
     WHERE t.consumed_at IS NULL AND f.revoked_at IS NULL";

/// RFC 9700 §4.14.2: a consumed token has at most one live successor.
#[tokio::test]
async fn a_retry_inside_the_grace_window_replaces_the_successor_and_the_dead_one_kills_the_family()
{
    let env = Env::new(RealmOptions::tokens(r#"reuse_grace = "30s""#)).await;
    let server = env.start().await;
    let token_1 = str_field(&server.login(USER, "").await, "refresh_token").to_owned();
    let lost = server.refresh(&token_1).await;
    assert_eq!(lost.status, 200, "{}", lost.text);
    let token_2 = str_field(&lost.body, "refresh_token");

    // The client lost that answer and retries: it gets a new successor...
    let retry = server.refresh(&token_1).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    let token_3 = str_field(&retry.body, "refresh_token");
    assert_eq!(retry.body["session_state"], lost.body["session_state"]);
    assert_eq!(env.query_i64(LIVE_TOKENS).await, 1, "one live chain");

    // ...and the successor it replaced is dead: presenting it is reuse.
    let reuse = server.refresh(token_2).await;
    assert_error(&reuse, 400, "invalid_grant");
    assert_eq!(
        reuse.body["error_description"],
        "Refresh token reuse detected; session revoked"
    );
    assert_error(&server.refresh(token_3).await, 400, "invalid_grant");
    assert_error(&server.refresh(&token_1).await, 400, "invalid_grant");
    assert_eq!(env.query_i64(LIVE_TOKENS).await, 0);
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_leave_at_most_one_live_successor() {
    let env = Env::new(RealmOptions::tokens(r#"reuse_grace = "30s""#)).await;
    let server = env.start().await;
    let token = str_field(&server.login(USER, "").await, "refresh_token").to_owned();
    let url = server.realm_url("/protocol/openid-connect/token");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let http = server.http.clone();
            let url = url.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("client_id", "app"),
                    ("refresh_token", token.as_str()),
                ];
                let reply = http.post(url).form(&form).send().await.unwrap();
                (
                    reply.status().as_u16(),
                    reply.json::<Value>().await.unwrap(),
                )
            })
        })
        .collect();
    let mut returned = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        returned.push(str_field(&body, "refresh_token").to_owned());
    }
    assert_eq!(env.query_i64(LIVE_TOKENS).await, 1, "one live chain");

    // Every returned token tried: at most one works, and a dead one kills the family.
    let mut successors = Vec::new();
    for token in &returned {
        let reply = server.refresh(token).await;
        if reply.status == 200 {
            successors.push(str_field(&reply.body, "refresh_token").to_owned());
        } else {
            assert_error(&reply, 400, "invalid_grant");
        }
    }
    assert!(successors.len() <= 1, "{} tokens worked", successors.len());
    for successor in &successors {
        assert_error(&server.refresh(successor).await, 400, "invalid_grant");
    }
    assert_eq!(env.query_i64(LIVE_TOKENS).await, 0);
    assert_eq!(
        env.query_i64("SELECT COUNT(*) FROM refresh_families WHERE revoked_at IS NULL")
            .await,
        0,
        "the family is revoked"
    );
}

#[tokio::test]
async fn each_refresh_token_works_once_in_a_chain() {
    let env = Env::new(RealmOptions::tokens(r#"reuse_grace = "0s""#)).await;
    let server = env.start().await;
    let mut token = str_field(&server.login(USER, "").await, "refresh_token").to_owned();
    for _ in 0..5 {
        let reply = server.refresh(&token).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        token = str_field(&reply.body, "refresh_token").to_owned();
    }
    let reply = server.refresh(&token).await;
    assert_eq!(reply.status, 200);
    // With no grace window even an immediate retry is reuse.
    assert_error(&server.refresh(&token).await, 400, "invalid_grant");
    assert_error(
        &server
            .refresh(str_field(&reply.body, "refresh_token"))
            .await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn refresh_can_narrow_but_not_widen_scope() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let login = server.login(USER, "openid email").await;
    let token = str_field(&login, "refresh_token");
    let wider = server
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "app"),
            ("refresh_token", token),
            ("scope", "openid offline_access"),
        ])
        .await;
    assert_error(&wider, 400, "invalid_scope");
    let narrower = server
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "app"),
            ("refresh_token", token),
            ("scope", "email"),
        ])
        .await;
    assert_eq!(narrower.status, 200, "{}", narrower.text);
    assert_eq!(narrower.body["scope"], "email");
    assert!(narrower.body.get("id_token").is_none());
}

#[tokio::test]
async fn idle_and_absolute_session_lifetimes_are_enforced() {
    let env = Env::new(RealmOptions::tokens(
        "session_idle = \"1s\"\nsession_max = \"3s\"",
    ))
    .await;
    let server = env.start().await;
    let login = server.login(USER, "").await;
    assert_eq!(login["refresh_expires_in"], 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_error(
        &server.refresh(str_field(&login, "refresh_token")).await,
        400,
        "invalid_grant",
    );

    // Refreshing inside the idle window keeps the session only until its absolute end.
    let mut token = str_field(&server.login(USER, "").await, "refresh_token").to_owned();
    let mut refreshed = 0;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let reply = server.refresh(&token).await;
        if reply.status != 200 {
            assert_error(&reply, 400, "invalid_grant");
            break;
        }
        refreshed += 1;
        token = str_field(&reply.body, "refresh_token").to_owned();
    }
    assert!(
        (4..=6).contains(&refreshed),
        "session_max ends the session, got {refreshed}"
    );
}

#[tokio::test]
async fn rotation_can_be_turned_off_for_a_confidential_client() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let secret = "keeper-secret-0123456789";
    let path = "/protocol/openid-connect/token";
    let login = server
        .post_form_basic(
            path,
            "keeper",
            secret,
            &[
                ("grant_type", "password"),
                ("username", USER),
                ("password", crate::kit::PASSWORD),
            ],
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    let token = str_field(&login.body, "refresh_token").to_owned();
    for _ in 0..3 {
        let form = [("grant_type", "refresh_token"), ("refresh_token", &token)];
        let reply = server.post_form_basic(path, "keeper", secret, &form).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(str_field(&reply.body, "refresh_token"), token);
    }
}
