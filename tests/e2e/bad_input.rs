//! Hostile and malformed requests: each gets the right error and writes nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use crate::kit::{assert_error, str_field, Env, RealmOptions, Server, PASSWORD, REALM, USER};

const TOKEN_PATH: &str = "/realms/test-realm/protocol/openid-connect/token";

async fn userinfo_status(server: &Server, token: &str) -> u16 {
    server
        .get_bearer(
            &format!("/realms/{REALM}/protocol/openid-connect/userinfo"),
            token,
        )
        .await
        .status
        .as_u16()
}

#[tokio::test]
async fn malformed_requests_are_rejected_without_writes() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    server.login(USER, "").await;
    let before = env.row_counts().await;

    let json_body = server
        .post_raw(
            TOKEN_PATH,
            "application/json",
            br#"{"grant_type":"password"}"#.to_vec(),
        )
        .await;
    assert_error(&json_body, 400, "invalid_request");
    let no_content_type = server
        .post_raw(TOKEN_PATH, "", b"grant_type=password".to_vec())
        .await;
    assert_error(&no_content_type, 400, "invalid_request");
    let form = "application/x-www-form-urlencoded";
    let duplicate = server
        .post_raw(
            TOKEN_PATH,
            form,
            b"grant_type=password&grant_type=client_credentials".to_vec(),
        )
        .await;
    assert_error(&duplicate, 400, "invalid_request");
    let garbage = server
        .post_raw(TOKEN_PATH, form, b"%%%&&&===".to_vec())
        .await;
    assert_error(&garbage, 400, "invalid_request");
    let mut not_utf8 = b"grant_type=password&client_id=app&username=".to_vec();
    not_utf8.extend_from_slice(&[0xff, 0xfe]);
    assert_error(
        &server.post_raw(TOKEN_PATH, form, not_utf8).await,
        400,
        "invalid_request",
    );
    let percent_not_utf8 = server
        .post_raw(
            TOKEN_PATH,
            form,
            b"grant_type=password&client_id=app&username=%FF%FE&password=x".to_vec(),
        )
        .await;
    assert_error(&percent_not_utf8, 400, "invalid_request");
    let oversized = server
        .post_raw(
            TOKEN_PATH,
            form,
            format!("grant_type=password&junk={}", "a".repeat(200_000)).into_bytes(),
        )
        .await;
    assert_eq!(oversized.status, 413, "{}", oversized.text);
    assert_eq!(oversized.body["error"], "invalid_request");
    let unknown_realm = server
        .post_raw(
            "/realms/ghost/protocol/openid-connect/token",
            form,
            b"grant_type=password".to_vec(),
        )
        .await;
    assert_eq!(unknown_realm.status, 404);
    assert_eq!(server.get("/no/such/path").await.status, 404);

    for username in [
        "' OR '1'='1",
        "alice'; DROP TABLE users; --",
        "alice\" --",
        "%",
        "_lice",
    ] {
        let reply = server
            .token(&[
                ("grant_type", "password"),
                ("client_id", "app"),
                ("username", username),
                ("password", "' OR 1=1 --"),
            ])
            .await;
        assert_error(&reply, 401, "invalid_grant");
    }
    let sql_client = server
        .token(&[
            ("grant_type", "password"),
            ("client_id", "app' OR '1'='1"),
            ("username", USER),
            ("password", PASSWORD),
        ])
        .await;
    assert_error(&sql_client, 401, "invalid_client");
    let sql_refresh = server.refresh("tsr_rt_' OR 1=1 --").await;
    assert_error(&sql_refresh, 400, "invalid_grant");
    // The five wrong logins were counted as attempts (one row per username,
    // known or not); nothing else was written.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let expected: Vec<(String, i64)> = before
        .into_iter()
        .map(|(table, n)| {
            let n = if table == "login_attempts" { n + 5 } else { n };
            (table, n)
        })
        .collect();
    assert_eq!(
        env.row_counts().await,
        expected,
        "a rejected request wrote to the database"
    );
    server.login(USER, "").await;
}

#[tokio::test]
async fn forged_and_expired_jwts_are_rejected() {
    let env = Env::new(RealmOptions::tokens(r#"access_token_lifetime = "2s""#)).await;
    let server = env.start().await;
    let login = server.login(USER, "").await;
    let access = str_field(&login, "access_token");
    assert_eq!(userinfo_status(&server, access).await, 200);
    let id_token_as_access = str_field(&server.login(USER, "openid").await, "id_token").to_owned();
    let before = env.row_counts().await;

    let parts: Vec<&str> = access.split('.').collect();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let kid = str_field(&header, "kid");

    let none_header =
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "at+jwt", "kid": kid}).to_string());
    let alg_none = format!("{none_header}.{}.", parts[1]);

    // The classic key-confusion attack: HS256 keyed with the public key.
    let info = server.get(&format!("/realms/{REALM}")).await;
    let public_key = str_field(&info.body, "public_key");
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.typ = Some("at+jwt".to_owned());
    hs_header.kid = Some(kid.to_owned());
    let hs256 = jsonwebtoken::encode(
        &hs_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(public_key.as_bytes()),
    )
    .unwrap();

    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[10] ^= 0x01;
    let tampered_signature = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        URL_SAFE_NO_PAD.encode(&signature)
    );
    let mut forged_claims = claims.clone();
    forged_claims["preferred_username"] = json!("admin");
    let tampered_payload = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged_claims.to_string()),
        parts[2]
    );

    for (name, token) in [
        ("alg none", alg_none.as_str()),
        ("HS256 with public key", hs256.as_str()),
        ("tampered signature", tampered_signature.as_str()),
        ("tampered payload", tampered_payload.as_str()),
        ("id token", id_token_as_access.as_str()),
        ("garbage", "a.b.c"),
        ("huge", &"a".repeat(10_000)),
    ] {
        assert_eq!(userinfo_status(&server, token).await, 401, "{name}");
        assert_eq!(server.introspect(token).await["active"], false, "{name}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(userinfo_status(&server, access).await, 401, "expired");
    assert_eq!(server.introspect(access).await["active"], false, "expired");
    assert_eq!(
        env.row_counts().await,
        before,
        "a rejected token wrote to the database"
    );
}

#[tokio::test]
async fn userinfo_without_a_token_asks_for_one() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let reply = server
        .get(&format!("/realms/{REALM}/protocol/openid-connect/userinfo"))
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.headers["www-authenticate"],
        r#"Bearer realm="tessera""#
    );
    let login = server.login(USER, "").await;
    let by_form = server
        .http
        .post(server.realm_url("/protocol/openid-connect/userinfo"))
        .form(&[("access_token", str_field(&login, "access_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(by_form.status(), 200);
}
