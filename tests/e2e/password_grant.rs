use std::time::Duration;

use crate::kit::{self, str_field, verify_with_jwks, Env, RealmOptions, API_SECRET, REALM, USER};

#[tokio::test]
async fn password_grant_token_verifies_and_is_accepted_everywhere() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let reply = server
        .token(&[
            ("grant_type", "password"),
            ("client_id", "app"),
            ("username", USER),
            ("password", kit::PASSWORD),
            ("scope", "openid"),
            // Keycloak client libraries send these empty on every call.
            ("code", ""),
            ("redirect_uri", ""),
        ])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.headers["cache-control"], "no-store");
    let body = &reply.body;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["refresh_expires_in"], 1800);
    assert_eq!(body["not-before-policy"], 0);
    assert_eq!(body["scope"], "openid profile");
    assert!(str_field(body, "refresh_token").starts_with("tsr_rt_"));
    assert!(body["id_token"].is_string());
    let access = str_field(body, "access_token");

    let claims = verify_with_jwks(access, &server.jwks().await, "api").unwrap();
    assert_eq!(claims["azp"], "app");
    assert_eq!(claims["client_id"], "app");
    assert_eq!(claims["typ"], "Bearer");
    assert_eq!(claims["preferred_username"], USER);
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["realm_access"]["roles"][0], "user");
    assert_eq!(claims["sid"], body["session_state"]);
    assert!(claims["jti"].is_string());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert!(verify_with_jwks(access, &server.jwks().await, "someone-else").is_err());

    let info = server
        .get_bearer(
            &format!("/realms/{REALM}/protocol/openid-connect/userinfo"),
            access,
        )
        .await;
    assert_eq!(info.status, 200, "{}", info.text);
    assert_eq!(info.body["preferred_username"], USER);
    assert_eq!(info.body["sub"], claims["sub"]);

    let introspection = server.introspect(access).await;
    assert_eq!(introspection["active"], true);
    assert_eq!(introspection["username"], USER);
    assert_eq!(introspection["client_id"], "app");
    // A refresh token is active only to its own client (here a public one,
    // which cannot introspect at all); see audiences.rs for the owner's view.
    let refresh_introspection = server.introspect(str_field(body, "refresh_token")).await;
    assert_eq!(refresh_introspection, serde_json::json!({"active": false}));
}

#[tokio::test]
async fn legacy_auth_prefix_serves_the_same_realm() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let reply = server
        .http
        .post(server.url(&format!(
            "/auth/realms/{REALM}/protocol/openid-connect/token"
        )))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "app"),
            ("username", USER),
            ("password", kit::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body: serde_json::Value = reply.json().await.unwrap();
    let jwks = server
        .get(&format!(
            "/auth/realms/{REALM}/protocol/openid-connect/certs"
        ))
        .await;
    verify_with_jwks(str_field(&body, "access_token"), &jwks.body, "api").unwrap();
    let discovery = server
        .get(&format!(
            "/auth/realms/{REALM}/.well-known/openid-configuration"
        ))
        .await;
    assert_eq!(
        discovery.body["issuer"],
        format!("{}/realms/{REALM}", kit::PUBLIC_URL)
    );
}

#[tokio::test]
async fn client_credentials_token_has_the_client_as_subject() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    for reply in [
        server
            .post_form_basic(
                "/protocol/openid-connect/token",
                "api",
                API_SECRET,
                &[("grant_type", "client_credentials")],
            )
            .await,
        server
            .token(&[
                ("grant_type", "client_credentials"),
                ("client_id", "api"),
                ("client_secret", API_SECRET),
            ])
            .await,
    ] {
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert!(reply.body.get("refresh_token").is_none());
        let claims = verify_with_jwks(
            str_field(&reply.body, "access_token"),
            &server.jwks().await,
            "api",
        )
        .unwrap();
        assert_eq!(claims["sub"], "api");
        assert_eq!(claims["preferred_username"], "service-account-api");
        assert!(claims.get("sid").is_none());
    }
}

#[tokio::test]
async fn eddsa_realm_tokens_verify() {
    let env = Env::new(RealmOptions::tokens(r#"algorithm = "EdDSA""#)).await;
    let server = env.start().await;
    let body = server.login(USER, "").await;
    let jwks = server.jwks().await;
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    verify_with_jwks(str_field(&body, "access_token"), &jwks, "api").unwrap();
}

#[tokio::test]
async fn rs256_realm_tokens_verify() {
    let env = Env::new(RealmOptions::tokens(r#"algorithm = "RS256""#)).await;
    let server = env.start().await;
    let body = server.login(USER, "").await;
    let jwks = server.jwks().await;
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
    verify_with_jwks(str_field(&body, "access_token"), &jwks, "api").unwrap();
    let discovery = server
        .get(&format!("/realms/{REALM}/.well-known/openid-configuration"))
        .await;
    assert_eq!(
        discovery.body["id_token_signing_alg_values_supported"][0],
        "RS256"
    );
    // Keycloak adapters read the realm's RSA public key from here.
    let info = server.get(&format!("/realms/{REALM}")).await;
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(str_field(&info.body, "public_key"))
        .unwrap();
    assert_eq!(der.len(), 294, "2048-bit RSA SubjectPublicKeyInfo");
}

#[tokio::test]
async fn discovery_realm_info_and_health() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let issuer = format!("{}/realms/{REALM}", kit::PUBLIC_URL);
    for path in [
        format!("/realms/{REALM}/.well-known/openid-configuration"),
        format!("/realms/{REALM}/.well-known/oauth-authorization-server"),
        format!("/.well-known/oauth-authorization-server/realms/{REALM}"),
    ] {
        let doc = server.get(&path).await;
        assert_eq!(doc.status, 200, "{path}");
        assert_eq!(doc.body["issuer"], issuer);
        assert_eq!(
            doc.body["token_endpoint"],
            format!("{issuer}/protocol/openid-connect/token")
        );
        assert_eq!(
            doc.body["jwks_uri"],
            format!("{issuer}/protocol/openid-connect/certs")
        );
        assert_eq!(
            doc.body["grant_types_supported"],
            serde_json::json!([
                "authorization_code",
                "password",
                "refresh_token",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:device_code"
            ])
        );
        for (field, path) in [
            ("authorization_endpoint", "auth"),
            ("device_authorization_endpoint", "auth/device"),
            ("end_session_endpoint", "logout"),
        ] {
            assert_eq!(
                doc.body[field],
                format!("{issuer}/protocol/openid-connect/{path}")
            );
        }
        assert_eq!(
            doc.body["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(
            doc.body["response_types_supported"],
            serde_json::json!(["code"])
        );
    }
    let info = server.get(&format!("/realms/{REALM}")).await;
    assert_eq!(info.status, 200);
    assert_eq!(info.body["realm"], REALM);
    assert_eq!(
        info.body["token-service"],
        format!("{issuer}/protocol/openid-connect")
    );
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(str_field(&info.body, "public_key"))
        .unwrap();
    assert_eq!(der.len(), 91, "P-256 SubjectPublicKeyInfo");
    server.login(USER, "").await;
}

/// A database dump alone allows no offline guessing: stored hashes are of the
/// password peppered with a subkey of the master key. Imported (unpeppered)
/// hashes are upgraded at the next successful login. The SQLite file is 0600.
#[tokio::test]
async fn passwords_are_peppered_and_imported_hashes_upgraded_at_the_next_login() {
    use argon2::password_hash::PasswordVerifier;
    use argon2::{Argon2, PasswordHash};
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let stored = env
        .query_strings(&format!(
            "SELECT password_hash FROM users WHERE username = '{USER}'"
        ))
        .await;
    let dumped = PasswordHash::new(&stored[0]).unwrap();
    assert!(Argon2::default()
        .verify_password(crate::kit::PASSWORD.as_bytes(), &dumped)
        .is_err());

    // An imported argon2id hash (as from another system): plain, not peppered.
    let imported = {
        use argon2::password_hash::rand_core::OsRng;
        use argon2::password_hash::{PasswordHasher, SaltString};
        Argon2::default()
            .hash_password(b"imported-password", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string()
    };
    assert!(server
        .service()
        .users
        .add_user_if_absent(tessera_token::NewUserRequest {
            realm: REALM.to_owned(),
            username: "carol".to_owned(),
            email: None,
            password: tessera_proto::SecretString::new(imported.clone()),
            enabled: true,
            valid_until: None,
            roles: vec![],
        })
        .await
        .unwrap());
    let peppered = "SELECT password_peppered FROM users WHERE username = 'carol'";
    assert_eq!(env.query_i64(peppered).await, 0);
    let login = |password: &'static str| {
        let server = &server;
        async move {
            server
                .token(&[
                    ("grant_type", "password"),
                    ("client_id", "app"),
                    ("username", "carol"),
                    ("password", password),
                ])
                .await
        }
    };
    assert_eq!(login("imported-password").await.status, 200);
    let mut upgraded = false;
    for _ in 0..100 {
        if env.query_i64(peppered).await == 1 {
            upgraded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(upgraded, "the hash was not upgraded");
    let now_stored = env
        .query_strings("SELECT password_hash FROM users WHERE username = 'carol'")
        .await;
    assert_ne!(now_stored[0], imported);
    assert_eq!(login("imported-password").await.status, 200);
    assert_eq!(login("wrong-password").await.status, 401);

    if !env.is_postgres() {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.dir.join("tessera.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
