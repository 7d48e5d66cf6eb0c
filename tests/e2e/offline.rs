use crate::kit::{assert_error, str_field, Env, RealmOptions, USER};

#[tokio::test]
async fn offline_token_survives_logout_of_other_sessions_and_restart() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let offline = server.login(USER, "offline_access").await;
    assert_eq!(offline["refresh_expires_in"], 0);
    assert_eq!(offline["scope"], "offline_access profile");
    let offline_token = str_field(&offline, "refresh_token").to_owned();

    let online = server.login(USER, "").await;
    let logout = server.logout(str_field(&online, "refresh_token")).await;
    assert_eq!(logout.status, 204, "{}", logout.text);
    assert_error(
        &server.refresh(str_field(&online, "refresh_token")).await,
        400,
        "invalid_grant",
    );

    let after_logout = server.refresh(&offline_token).await;
    assert_eq!(after_logout.status, 200, "{}", after_logout.text);
    assert_eq!(after_logout.body["refresh_expires_in"], 0);
    let next = str_field(&after_logout.body, "refresh_token").to_owned();

    server.stop().await;
    let restarted = env.start().await;
    let after_restart = restarted.refresh(&next).await;
    assert_eq!(after_restart.status, 200, "{}", after_restart.text);
    assert_eq!(after_restart.body["scope"], "offline_access profile");
}

#[tokio::test]
async fn offline_access_needs_a_client_that_allows_it() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let before = env.row_counts().await;
    let reply = server
        .token(&[
            ("grant_type", "password"),
            ("client_id", "no-offline"),
            ("username", USER),
            ("password", crate::kit::PASSWORD),
            ("scope", "openid offline_access"),
        ])
        .await;
    assert_error(&reply, 400, "unauthorized_client");
    assert_eq!(env.row_counts().await, before);
}
