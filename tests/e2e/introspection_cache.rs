//! The verifier's introspection cache: one introspection per token however
//! many requests carry it, answers kept for their TTL, least recently used out
//! first, and negative answers in a list of their own.

use std::num::NonZeroUsize;
use std::time::Duration;

use reqwest::Method;
use tessera_proto::OpaqueTokenKind;
use tessera_verify::{Verifier, VerifyError};

use crate::kit::{str_field, Env, RealmOptions, Server, API_SECRET, USER};
use crate::personal_tokens::{bearer_of, create_expose, list, TOKENS};

#[tokio::test]
async fn the_verifier_accepts_expose_tokens_by_introspection_until_the_cache_ttl_after_deletion() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start_reachable().await;
    let ttl = Duration::from_millis(700);
    let verifier = Verifier::builder(server.issuer())
        .audience("api")
        .client_credentials("api", API_SECRET.to_owned())
        .revocation_poll_interval(Duration::ZERO)
        .introspection_cache_ttl(ttl, ttl)
        .build()
        .await
        .unwrap();
    let bearer = bearer_of(&server, USER).await;
    let created = create_expose(&server, &bearer, "for the API").await;
    let secret = str_field(&created, "token");
    let verified = verifier.verify(secret).await.unwrap();
    assert_eq!(verified.username(), Some(USER));
    assert_eq!(verified.token_id(), created["id"].as_str());
    assert_eq!(verified.format(), tessera_verify::TokenFormat::Opaque);

    let reply = server
        .json_bearer(
            Method::DELETE,
            &format!("{TOKENS}/{}", str_field(&created, "id")),
            &bearer,
            None,
        )
        .await;
    assert_eq!(reply.status, 204);
    // Cached for at most the TTL, then refused.
    let deleted_at = std::time::Instant::now();
    loop {
        match verifier.verify(secret).await {
            Ok(_) => assert!(deleted_at.elapsed() < ttl + Duration::from_millis(300)),
            Err(error) => {
                assert_eq!(error, VerifyError::Inactive);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn concurrent_requests_with_one_opaque_token_share_one_introspection() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start_reachable().await;
    let verifier = Verifier::builder(server.issuer())
        .audience("api")
        .client_credentials("api", API_SECRET.to_owned())
        .build()
        .await
        .unwrap();
    let bearer = bearer_of(&server, USER).await;
    let created = create_expose(&server, &bearer, "busy").await;
    let secret = str_field(&created, "token").to_owned();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (verifier, secret) = (verifier.clone(), secret.clone());
            tokio::spawn(async move { verifier.verify(&secret).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    server.service().personal_tokens.flush_usage().await;
    // Each introspection is a recorded use: twenty requests, one introspection.
    assert_eq!(list(&server, &bearer).await[0]["use_count"], 1);
}

/// A verifier that keeps answers far longer than any test runs, so only
/// eviction can make it introspect a token twice.
async fn verifier_with_capacity(server: &Server, active: usize, inactive: usize) -> Verifier {
    Verifier::builder(server.issuer())
        .audience("api")
        .client_credentials("api", API_SECRET.to_owned())
        .introspection_cache_ttl(Duration::from_secs(300), Duration::from_secs(300))
        .introspection_cache_capacity(
            NonZeroUsize::new(active).unwrap(),
            NonZeroUsize::new(inactive).unwrap(),
        )
        .build()
        .await
        .unwrap()
}

/// How many times each of the user's tokens was introspected, by name.
async fn introspections(server: &Server, bearer: &str, name: &str) -> i64 {
    server.service().personal_tokens.flush_usage().await;
    let tokens = list(server, bearer).await;
    let token = tokens.iter().find(|token| token["name"] == name).unwrap();
    token["use_count"].as_i64().unwrap()
}

#[tokio::test]
async fn a_flood_of_forged_tokens_evicts_no_answer_for_a_real_one() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start_reachable().await;
    let verifier = verifier_with_capacity(&server, 2, 4).await;
    let bearer = bearer_of(&server, USER).await;
    let created = create_expose(&server, &bearer, "real").await;
    let secret = str_field(&created, "token");
    verifier.verify(secret).await.unwrap();
    // Well-formed, with valid checksums: each one costs an introspection.
    for n in 0..50 {
        let forged = OpaqueTokenKind::Expose
            .compose(&format!("{n:0>32}"))
            .unwrap();
        assert_eq!(verifier.verify(&forged).await, Err(VerifyError::Inactive));
    }
    verifier.verify(secret).await.unwrap();
    assert_eq!(introspections(&server, &bearer, "real").await, 1);
}

#[tokio::test]
async fn the_least_recently_used_active_answer_is_evicted_first() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start_reachable().await;
    let verifier = verifier_with_capacity(&server, 2, 4).await;
    let bearer = bearer_of(&server, USER).await;
    let mut secrets = Vec::new();
    for name in ["first", "second", "third"] {
        let created = create_expose(&server, &bearer, name).await;
        secrets.push(str_field(&created, "token").to_owned());
    }
    let [first, second, third] = [&secrets[0], &secrets[1], &secrets[2]];
    verifier.verify(first).await.unwrap();
    verifier.verify(second).await.unwrap();
    // `first` is used again, so the third answer pushes `second` out.
    verifier.verify(first).await.unwrap();
    verifier.verify(third).await.unwrap();
    verifier.verify(first).await.unwrap();
    verifier.verify(second).await.unwrap();
    assert_eq!(introspections(&server, &bearer, "first").await, 1);
    assert_eq!(introspections(&server, &bearer, "second").await, 2);
    assert_eq!(introspections(&server, &bearer, "third").await, 1);
}
