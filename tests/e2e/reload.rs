//! Realm files are read again on SIGHUP: a new realm is served, a broken file
//! changes nothing, a removed realm is gone, and a realm that stays keeps its
//! keys and sessions. No restart.

use std::time::Duration;

use crate::kit::{str_field, Env, RealmOptions, Server, USER};

const SECOND_REALM: &str = r#"
name = "second"

[[clients]]
client_id = "app"
grants = ["password", "refresh_token"]

[[users]]
username = "carol"
password = "carol-password-123"
"#;

const DISCOVERY: &str = "/realms/second/.well-known/openid-configuration";

/// Sends this process a SIGHUP: the server under test is in it (nextest runs
/// every test in a process of its own).
fn hang_up() {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Polls until the server has counted `count` reloads with `outcome`, for at
/// most 5 s.
async fn wait_for_reloads(server: &Server, outcome: &str, count: u64) {
    let line = format!("tessera_realm_reloads_total{{outcome=\"{outcome}\"}} {count}");
    for _ in 0..100 {
        if server.metrics().await.lines().any(|l| l == line) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {line:?} in {}", server.metrics().await);
}

#[tokio::test]
async fn sighup_reloads_the_realm_files_without_a_restart() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let session = server.login(USER, "").await;
    let jwks_before = server.jwks().await;
    assert_eq!(server.get(DISCOVERY).await.status, 404);
    let second = env.dir.join("realms").join("second.toml");

    // A file that does not load leaves the running configuration as it was.
    std::fs::write(&second, "name = \"second\"\n[[clients]]\nclient_id = 7\n").unwrap();
    hang_up();
    wait_for_reloads(&server, "refused", 1).await;
    assert_eq!(server.get(DISCOVERY).await.status, 404);
    assert_eq!(server.get("/realms/test-realm").await.status, 200);

    // A new realm is served, with its users, at once.
    std::fs::write(&second, SECOND_REALM).unwrap();
    hang_up();
    wait_for_reloads(&server, "applied", 1).await;
    assert_eq!(server.get(DISCOVERY).await.status, 200);
    let login = server
        .post_raw(
            "/realms/second/protocol/openid-connect/token",
            "application/x-www-form-urlencoded",
            b"grant_type=password&client_id=app&username=carol&password=carol-password-123"
                .to_vec(),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.text);

    // The realm that stayed kept its keys and its sessions.
    assert_eq!(server.jwks().await, jwks_before);
    let refreshed = server.refresh(str_field(&session, "refresh_token")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);

    // A realm whose file is removed is gone.
    std::fs::remove_file(&second).unwrap();
    hang_up();
    wait_for_reloads(&server, "applied", 2).await;
    assert_eq!(server.get(DISCOVERY).await.status, 404);
    assert_eq!(server.get("/realms/test-realm").await.status, 200);
}
