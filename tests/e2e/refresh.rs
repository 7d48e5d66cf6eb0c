use std::time::Duration;

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

    // A retry within the grace window (the client lost the response) succeeds.
    let retry = server.refresh(token_1).await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    let token_3 = str_field(&retry.body, "refresh_token");

    tokio::time::sleep(Duration::from_millis(1300)).await;
    // After the window, reuse means theft: the whole family dies.
    assert_error(&server.refresh(token_1).await, 400, "invalid_grant");
    assert_error(&server.refresh(token_2).await, 400, "invalid_grant");
    assert_error(&server.refresh(token_3).await, 400, "invalid_grant");
    assert_eq!(server.introspect(token_2).await["active"], false);
    let access = str_field(&second.body, "access_token");
    assert_eq!(server.introspect(access).await["active"], false);
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
async fn rotation_can_be_turned_off() {
    let env = Env::new(RealmOptions::tokens("refresh_rotation = false")).await;
    let server = env.start().await;
    let token = str_field(&server.login(USER, "").await, "refresh_token").to_owned();
    for _ in 0..3 {
        let reply = server.refresh(&token).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(str_field(&reply.body, "refresh_token"), token);
    }
}
