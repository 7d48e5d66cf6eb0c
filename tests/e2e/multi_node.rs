//! Two server processes on one database behave as one.

use std::time::Duration;

use crate::kit::{assert_error, str_field, verify_with_jwks, Env, RealmOptions, REALM, USER};

#[tokio::test]
async fn two_nodes_share_refresh_state_and_keys() {
    let env = Env::new(RealmOptions::tokens(r#"reuse_grace = "0s""#)).await;
    let node_a = env.start().await;
    let node_b = env.start().await;
    assert_eq!(node_a.jwks().await, node_b.jwks().await);

    let login = node_a.login(USER, "").await;
    let first = str_field(&login, "refresh_token");
    verify_with_jwks(
        str_field(&login, "access_token"),
        &node_b.jwks().await,
        "api",
    )
    .unwrap();
    assert_eq!(
        node_b.introspect(str_field(&login, "access_token")).await["active"],
        true
    );

    let rotated = node_a.refresh(first).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    // The token rotated through A is rejected by B, and that reuse kills the family.
    assert_error(&node_b.refresh(first).await, 400, "invalid_grant");
    assert_error(
        &node_a
            .refresh(str_field(&rotated.body, "refresh_token"))
            .await,
        400,
        "invalid_grant",
    );

    // A rotation on one node reaches the other at its next key refresh (1 s in tests).
    let new_kid = node_a.service().keys.rotate_keys(REALM).await.unwrap();
    let mut converged = false;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let jwks_b = node_b.jwks().await;
        if jwks_b["keys"][0]["kid"] == new_kid.as_str() {
            assert_eq!(jwks_b, node_a.jwks().await);
            converged = true;
            break;
        }
    }
    assert!(converged, "node B did not pick up the rotated key");
    let on_b = node_b.login(USER, "").await;
    verify_with_jwks(
        str_field(&on_b, "access_token"),
        &node_a.jwks().await,
        "api",
    )
    .unwrap();
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_across_nodes_yield_one_winner() {
    let env = Env::new(RealmOptions::tokens(r#"reuse_grace = "0s""#)).await;
    let node_a = env.start().await;
    let node_b = env.start().await;
    let login = node_a.login(USER, "").await;
    let token = str_field(&login, "refresh_token");
    let (a, b) = tokio::join!(node_a.refresh(token), node_b.refresh(token));
    let statuses = [a.status.as_u16(), b.status.as_u16()];
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(
        statuses.contains(&400),
        "{statuses:?}: exactly one rotation may win"
    );
}
