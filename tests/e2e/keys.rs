use crate::kit::{str_field, verify_with_jwks, Env, RealmOptions, REALM, USER};

#[tokio::test]
async fn tokens_signed_before_a_rotation_still_verify_after_it() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let before = server.login(USER, "").await;
    let old_access = str_field(&before, "access_token");
    let old_kid = server.jwks().await["keys"][0]["kid"].clone();

    let new_kid = server.service().keys.rotate_keys(REALM).await.unwrap();
    assert_ne!(old_kid, new_kid.as_str());
    let jwks = server.jwks().await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[0], new_kid, "the active key is listed first");
    verify_with_jwks(old_access, &jwks, "api").unwrap();
    assert_eq!(server.introspect(old_access).await["active"], true);

    let after = server.login(USER, "").await;
    let new_access = str_field(&after, "access_token");
    let header = jsonwebtoken::decode_header(new_access).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid.as_str()));
    verify_with_jwks(new_access, &jwks, "api").unwrap();

    // Keys survive a restart: same JWKS, old tokens still valid.
    server.stop().await;
    let restarted = env.start().await;
    assert_eq!(restarted.jwks().await, jwks);
    assert_eq!(restarted.introspect(old_access).await["active"], true);
}

#[tokio::test]
async fn secrets_are_stored_only_as_digests_and_sealed_keys() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let login = server.login(USER, "").await;
    let refresh = str_field(&login, "refresh_token");
    let hex = |column: &str, table: &str| {
        if env.is_postgres() {
            format!("SELECT encode({column}, 'hex') FROM {table}")
        } else {
            format!("SELECT lower(hex({column})) FROM {table}")
        }
    };
    let digests = env.query_strings(&hex("digest", "refresh_tokens")).await;
    assert_eq!(digests.len(), 1);
    assert_eq!(digests[0].len(), 64, "an HMAC-SHA256 digest");
    let token_hex: String = refresh.bytes().map(|b| format!("{b:02x}")).collect();
    assert!(!digests[0].contains(&token_hex));
    let hashes = env.query_strings("SELECT password_hash FROM users").await;
    assert!(
        hashes.iter().all(|hash| hash.starts_with("$argon2id$")),
        "{hashes:?}"
    );
    // A sealed private key is nonce + ciphertext + tag: the DER header of a
    // plaintext PKCS#8 P-256 key must not appear in it.
    let sealed = env
        .query_strings(&hex("sealed_private_key", "signing_keys"))
        .await;
    assert!(!sealed[0].contains("308187020100301306072a8648ce3d0201"));
    server.stop().await;
}

#[tokio::test]
async fn a_key_planted_in_the_database_is_not_published() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    // Someone with write access to the database, but not the master key, adds a
    // "retired" key of their own so that tokens they sign would verify.
    let (forged, _) =
        tessera_keys::SigningKey::generate(tessera_keys::SigningAlgorithm::Es256).unwrap();
    let public = forged.spki_der().to_vec();
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&env.database_url)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO signing_keys (kid, realm, generation, algorithm, public_key, \
         sealed_private_key, created_at, retired_at) VALUES ($1, $2, 0, 'ES256', $3, $4, 0, $5)",
    )
    .bind(forged.kid())
    .bind(REALM)
    .bind(public)
    .bind(vec![0u8; 64])
    .bind(i64::MAX / 2)
    .execute(&mut conn)
    .await
    .unwrap();
    // Rotate so that every node reloads its keys from the database now.
    server.service().keys.rotate_keys(REALM).await.unwrap();
    let jwks = server.jwks().await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 2, "{kids:?}");
    assert!(
        !kids.contains(&forged.kid()),
        "the planted key was published"
    );
    let token = forged
        .sign_jwt("at+jwt", &serde_json::json!({"sub": "x"}))
        .unwrap();
    assert_eq!(server.introspect(&token).await["active"], false);
}
