//! Logins under load: the bounded hashing queue, brute-force slots shared by
//! concurrent attempts, and the length cap on passwords.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::errors::{password_form, password_verifications};
use crate::kit::{assert_error, Env, RealmOptions, Server, PASSWORD, USER};

/// One password grant for `app`, as a spawned task: (status, Retry-After, body).
fn spawn_login(
    server: &Server,
    username: String,
    password: String,
) -> tokio::task::JoinHandle<(u16, Option<String>, Value)> {
    let http = server.http.clone();
    let url = server.realm_url("/protocol/openid-connect/token");
    tokio::spawn(async move {
        let form = password_form("app", &username, &password);
        let reply = http.post(url).form(&form).send().await.unwrap();
        let status = reply.status().as_u16();
        let retry_after = reply
            .headers()
            .get("retry-after")
            .map(|value| value.to_str().unwrap().to_owned());
        (status, retry_after, reply.json().await.unwrap())
    })
}

fn assert_told_to_retry(status: u16, retry_after: Option<&str>, body: &Value) {
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    let seconds: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=10).contains(&seconds));
}

/// A service account used by many jobs at once: every correct login succeeds,
/// at once or after being told to retry; none is called invalid.
#[tokio::test]
async fn concurrent_correct_logins_of_one_user_all_succeed_or_are_told_to_retry() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let mut pending: Vec<usize> = (0..32).collect();
    let mut rounds = 0;
    while !pending.is_empty() {
        rounds += 1;
        assert!(rounds <= 20, "{} logins never got through", pending.len());
        let tasks: Vec<_> = pending
            .iter()
            .map(|&i| (i, spawn_login(&server, USER.into(), PASSWORD.into())))
            .collect();
        pending.clear();
        for (i, task) in tasks {
            let (status, retry_after, body) = task.await.unwrap();
            if status == 200 {
                assert!(body["access_token"].is_string());
            } else {
                assert_told_to_retry(status, retry_after.as_deref(), &body);
                pending.push(i);
            }
        }
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Concurrent guesses still cannot outrun the lockout: attempts in flight hold
/// slots, so no more passwords are checked than the limit allows, and the right
/// password arriving among them is refused like any other.
#[tokio::test]
async fn concurrent_wrong_passwords_lock_the_account_after_the_configured_number() {
    let options = RealmOptions {
        brute_force: "max_failures = 5\nwindow = \"1m\"\nlockout = \"1m\"".to_owned(),
        ..RealmOptions::default()
    };
    let env = Env::new(options).await;
    let server = env.start().await;
    let before = password_verifications(&server).await;
    let wrong: Vec<_> = (0..32)
        .map(|i| spawn_login(&server, USER.into(), format!("guess-{i}")))
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let right = spawn_login(&server, USER.into(), PASSWORD.into());
    let mut refused = 0;
    for task in wrong {
        let (status, retry_after, body) = task.await.unwrap();
        if status == 503 {
            assert_told_to_retry(status, retry_after.as_deref(), &body);
        } else {
            assert_eq!(status, 401, "{body}");
            assert_eq!(body["error_description"], "Invalid user credentials");
            refused += 1;
        }
    }
    assert!(refused >= 5, "{refused}");
    let (status, _, body) = right.await.unwrap();
    assert_ne!(
        status, 200,
        "the right password got past the lockout: {body}"
    );

    // Exactly the limit of failures was counted, and the account is locked.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        env.query_i64("SELECT MAX(failures) FROM login_attempts")
            .await,
        5
    );
    let locked = server.token(&password_form("app", USER, PASSWORD)).await;
    assert_error(&locked, 401, "invalid_grant");
    // Every attempt cost one hash (real or dummy) at most; none was refused
    // after a real check of the right password.
    assert!(password_verifications(&server).await - before <= 34);
}

/// A flood of password grants fills the hashing queue; the rest are told to
/// come back before anything is read or written, and the queue drains.
#[tokio::test]
async fn a_full_hashing_queue_answers_503_before_reading_the_user() {
    let env = Env::new(RealmOptions::default()).await;
    let mut config = env.config();
    config.storage.password_queue = 2;
    let server = env.start_with(config).await;
    let flood: Vec<_> = (0..24)
        .map(|i| spawn_login(&server, format!("nobody-{i}"), "guess".into()))
        .collect();
    let mut shed = 0;
    let mut checked = 0;
    for task in flood {
        let (status, retry_after, body) = task.await.unwrap();
        if status == 503 {
            assert_told_to_retry(status, retry_after.as_deref(), &body);
            shed += 1;
        } else {
            assert_eq!(status, 401, "{body}");
            checked += 1;
        }
    }
    assert!(shed > 0, "nothing was shed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Only the attempts that got a place were counted (one row per username),
    // each under a keyed digest of its username (32 bytes), never the name.
    assert_eq!(
        env.query_i64("SELECT COUNT(*) FROM login_attempts").await,
        checked
    );
    assert_eq!(
        env.query_i64("SELECT COUNT(*) FROM login_attempts WHERE LENGTH(subject) <> 32")
            .await,
        0
    );
    // Once the flood has passed, logins work again.
    server.login(USER, "").await;
}

#[tokio::test]
async fn overlong_passwords_are_refused_before_hashing_and_write_nothing() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let before = env.row_counts().await;
    let verifications = password_verifications(&server).await;
    let long = "x".repeat(tessera_token::MAX_PASSWORD_BYTES + 1);
    let reply = server.token(&password_form("app", USER, &long)).await;
    assert_error(&reply, 400, "invalid_request");
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(password_verifications(&server).await, verifications);
    assert_eq!(env.row_counts().await, before);
    // The longest allowed password is checked as usual.
    let longest = "x".repeat(tessera_token::MAX_PASSWORD_BYTES);
    let reply = server.token(&password_form("app", USER, &longest)).await;
    assert_error(&reply, 401, "invalid_grant");
}
