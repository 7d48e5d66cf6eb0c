use crate::kit::{assert_error, str_field, Env, RealmOptions, API_SECRET, REALM, USER};

#[tokio::test]
async fn revoking_a_refresh_token_kills_its_family() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let login = server.login(USER, "").await;
    let refresh = str_field(&login, "refresh_token");
    let access = str_field(&login, "access_token");
    let reply = server
        .post_form(
            "/protocol/openid-connect/revoke",
            &[("client_id", "app"), ("token", refresh)],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(server.introspect(refresh).await["active"], false);
    assert_eq!(server.introspect(access).await["active"], false);
    assert_error(&server.refresh(refresh).await, 400, "invalid_grant");
}

#[tokio::test]
async fn revoking_an_access_token_ends_its_session() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let login = server.login(USER, "").await;
    let access = str_field(&login, "access_token");
    let other = server.login(USER, "").await;
    let reply = server
        .post_form(
            "/protocol/openid-connect/revoke",
            &[
                ("client_id", "app"),
                ("token", access),
                ("token_type_hint", "access_token"),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(server.introspect(access).await["active"], false);
    let userinfo = server
        .get_bearer(
            &format!("/realms/{REALM}/protocol/openid-connect/userinfo"),
            access,
        )
        .await;
    assert_eq!(userinfo.status, 401);
    assert!(userinfo.headers["www-authenticate"]
        .to_str()
        .unwrap()
        .contains(r#"error="invalid_token""#));
    assert_error(
        &server.refresh(str_field(&login, "refresh_token")).await,
        400,
        "invalid_grant",
    );
    // Another session of the same user is untouched.
    assert_eq!(
        server.introspect(str_field(&other, "access_token")).await["active"],
        true
    );
}

#[tokio::test]
async fn revoking_a_client_credentials_token_revokes_just_that_token() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let grant = [("grant_type", "client_credentials")];
    let path = "/protocol/openid-connect/token";
    let first = server
        .post_form_basic(path, "api", API_SECRET, &grant)
        .await;
    let second = server
        .post_form_basic(path, "api", API_SECRET, &grant)
        .await;
    let first = str_field(&first.body, "access_token");
    let second = str_field(&second.body, "access_token");
    let reply = server
        .post_form_basic(
            "/protocol/openid-connect/revoke",
            "api",
            API_SECRET,
            &[("token", first)],
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(server.introspect(first).await["active"], false);
    assert_eq!(server.introspect(second).await["active"], true);
}

#[tokio::test]
async fn revocation_of_unknown_tokens_succeeds_and_of_foreign_tokens_is_refused() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    for token in [
        "nonsense",
        "tsr_rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000",
        "a.b.c",
    ] {
        let reply = server
            .post_form(
                "/protocol/openid-connect/revoke",
                &[("client_id", "app"), ("token", token)],
            )
            .await;
        assert_eq!(reply.status, 200, "{token}: {}", reply.text);
    }
    let login = server.login(USER, "").await;
    let reply = server
        .post_form(
            "/protocol/openid-connect/revoke",
            &[
                ("client_id", "other-app"),
                ("token", str_field(&login, "refresh_token")),
            ],
        )
        .await;
    assert_error(&reply, 400, "invalid_token");
    let still_live = server.refresh(str_field(&login, "refresh_token")).await;
    assert_eq!(still_live.status, 200, "{}", still_live.text);
    let missing = server
        .post_form("/protocol/openid-connect/revoke", &[("client_id", "app")])
        .await;
    assert_error(&missing, 400, "invalid_request");
}

#[tokio::test]
async fn logout_ends_the_session_and_answers_204() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let login = server.login(USER, "").await;
    let refresh = str_field(&login, "refresh_token");
    let wrong_client = server
        .post_form(
            "/protocol/openid-connect/logout",
            &[("client_id", "other-app"), ("refresh_token", refresh)],
        )
        .await;
    assert_error(&wrong_client, 400, "invalid_grant");
    let missing = server
        .post_form("/protocol/openid-connect/logout", &[("client_id", "app")])
        .await;
    assert_error(&missing, 400, "invalid_request");
    let reply = server.logout(refresh).await;
    assert_eq!(reply.status, 204);
    assert!(reply.text.is_empty());
    assert_eq!(server.introspect(refresh).await["active"], false);
    assert_eq!(
        server.introspect(str_field(&login, "access_token")).await["active"],
        false
    );
    assert_error(&server.refresh(refresh).await, 400, "invalid_grant");
}

#[tokio::test]
async fn introspection_is_for_confidential_clients_only() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let login = server.login(USER, "").await;
    let access = str_field(&login, "access_token");
    let public = server
        .post_form(
            "/protocol/openid-connect/token/introspect",
            &[("client_id", "app"), ("token", access)],
        )
        .await;
    assert_error(&public, 401, "invalid_client");
    let wrong_secret = server
        .post_form_basic(
            "/protocol/openid-connect/token/introspect",
            "api",
            "wrong-secret-wrong-secret",
            &[("token", access)],
        )
        .await;
    assert_error(&wrong_secret, 401, "unauthorized_client");
    for garbage in ["garbage", "tsr_rt_garbage", "eyJ.eyJ.sig"] {
        let reply = server.introspect(garbage).await;
        assert_eq!(reply, serde_json::json!({"active": false}), "{garbage}");
    }
}
