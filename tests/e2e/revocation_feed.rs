use serde_json::Value;

use crate::kit::{assert_error, str_field, unverified_claims, Env, RealmOptions, API_SECRET, USER};

const FEED: &str = "/protocol/openid-connect/revocations";
/// The default access-token lifetime (5 min) plus the feed's 60 s of leeway.
const SESSION_RELEVANCE_SECS: i64 = 300 + 60;

/// The `until` of the feed entry naming `id` as `kind` (`sid` or `jti`).
fn listed(feed: &Value, kind: &str, id: &str) -> Option<i64> {
    feed["revocations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry[kind] == id)
        .map(|entry| entry["until"].as_i64().unwrap())
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn claim(token: &str, name: &str) -> String {
    str_field(&unverified_claims(token), name).to_owned()
}

#[tokio::test]
async fn logout_revoke_reuse_and_disabling_a_user_all_reach_the_feed() {
    let env = Env::new(RealmOptions::tokens(r#"reuse_grace = "0s""#)).await;
    let server = env.start().await;
    let first = server.revocation_feed(None).await;
    assert_eq!(first["revocations"], serde_json::json!([]));
    let cursor = str_field(&first, "next_cursor").to_owned();

    let logged_out = server.login(USER, "").await;
    let reply = server.logout(str_field(&logged_out, "refresh_token")).await;
    assert_eq!(reply.status, 204, "{}", reply.text);

    let revoked = server.login(USER, "").await;
    let reply = server
        .post_form(
            "/protocol/openid-connect/revoke",
            &[
                ("client_id", "app"),
                ("token", str_field(&revoked, "access_token")),
            ],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    let reused = server.login(USER, "").await;
    let old_refresh = str_field(&reused, "refresh_token");
    assert_eq!(server.refresh(old_refresh).await.status, 200);
    assert_error(&server.refresh(old_refresh).await, 400, "invalid_grant");

    let service_token = server
        .post_form_basic(
            "/protocol/openid-connect/token",
            "api",
            API_SECRET,
            &[("grant_type", "client_credentials")],
        )
        .await;
    let service_token = str_field(&service_token.body, "access_token").to_owned();
    let reply = server
        .post_form_basic(
            "/protocol/openid-connect/revoke",
            "api",
            API_SECRET,
            &[("token", &service_token)],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    let bob_sessions = [server.login("bob", "").await, server.login("bob", "").await];
    server
        .service()
        .users
        .set_user_enabled(crate::kit::REALM, "bob", false)
        .await
        .unwrap();
    let untouched = server.login(USER, "").await;

    let feed = server.revocation_feed(Some(&cursor)).await;
    let now = now_secs();
    let sessions = [
        &logged_out,
        &revoked,
        &reused,
        &bob_sessions[0],
        &bob_sessions[1],
    ];
    for session in sessions {
        let sid = claim(str_field(session, "access_token"), "sid");
        let until = listed(&feed, "sid", &sid).unwrap_or_else(|| panic!("{sid} missing: {feed}"));
        assert!(
            (until - now - SESSION_RELEVANCE_SECS).abs() <= 5,
            "until {until}, now {now}"
        );
    }
    let exp: i64 = unverified_claims(&service_token)["exp"].as_i64().unwrap();
    let jti = claim(&service_token, "jti");
    assert_eq!(listed(&feed, "jti", &jti), Some(exp + 60));
    let untouched_sid = claim(str_field(&untouched, "access_token"), "sid");
    assert_eq!(listed(&feed, "sid", &untouched_sid), None);
    assert_eq!(feed["revocations"].as_array().unwrap().len(), 6, "{feed}");

    // Without a cursor the feed lists everything that still matters; polling with
    // the newest cursor repeats recent entries (the windows overlap) but is never short.
    let everything = server.revocation_feed(None).await;
    assert_eq!(everything["revocations"], feed["revocations"]);
    let next = server
        .revocation_feed(Some(str_field(&feed, "next_cursor")))
        .await;
    assert!(str_field(&next, "next_cursor").parse::<i64>().unwrap() >= cursor.parse().unwrap());
    assert_eq!(next["revocations"], feed["revocations"]);
}

#[tokio::test]
async fn the_feed_is_for_confidential_clients_and_checks_its_cursor() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let anonymous = server
        .get(&format!("/realms/{}{FEED}", crate::kit::REALM))
        .await;
    assert_error(&anonymous, 401, "invalid_client");
    let public = server.get_basic(FEED, "app", "").await;
    assert_error(&public, 401, "invalid_client");
    let wrong_secret = server.get_basic(FEED, "api", "not-the-secret").await;
    assert_eq!(wrong_secret.status, 401, "{}", wrong_secret.text);
    for bad in [
        "abc",
        "-5",
        "1.5",
        "99999999999999999999999",
        "1.xyz.id",
        "1.sid.",
        "x.sid.id",
    ] {
        let reply = server
            .get_basic(&format!("{FEED}?since={bad}"), "api", API_SECRET)
            .await;
        assert_error(&reply, 400, "invalid_request");
    }
    for bad in ["0", "1001", "x", "-1"] {
        let reply = server
            .get_basic(&format!("{FEED}?limit={bad}"), "api", API_SECRET)
            .await;
        assert_error(&reply, 400, "invalid_request");
    }
    let duplicated = server
        .get_basic(&format!("{FEED}?since=1&since=2"), "api", API_SECRET)
        .await;
    assert_error(&duplicated, 400, "invalid_request");
    let unknown_realm = server.get(&format!("/realms/nope{FEED}")).await;
    assert_eq!(unknown_realm.status, 404);
}

/// A full page says so; its cursor continues right after its last entry, so
/// reading page after page yields every entry exactly once.
#[tokio::test]
async fn the_feed_is_paged_and_continuation_cursors_neither_skip_nor_repeat() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let mut sessions = Vec::new();
    for _ in 0..5 {
        let login = server.login(USER, "").await;
        let reply = server.logout(str_field(&login, "refresh_token")).await;
        assert_eq!(reply.status, 204, "{}", reply.text);
        sessions.push(str_field(&login, "session_state").to_owned());
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("{FEED}?limit=2&since={cursor}"),
            None => format!("{FEED}?limit=2"),
        };
        let reply = server.get_basic(&path, "api", API_SECRET).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        pages += 1;
        let entries = reply.body["revocations"].as_array().unwrap();
        assert!(entries.len() <= 2);
        seen.extend(
            entries
                .iter()
                .map(|entry| str_field(entry, "sid").to_owned()),
        );
        cursor = Some(str_field(&reply.body, "next_cursor").to_owned());
        if reply.body["has_more"] != true {
            break;
        }
        assert_eq!(entries.len(), 2);
    }
    assert_eq!(pages, 3);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "repeated: {seen:?}");
    sessions.sort();
    assert_eq!(unique, sessions);
}

/// A deleted expose token is listed as long as a verifier may still hold a
/// cached answer for it (plus leeway), not until its own far expiry.
#[tokio::test]
async fn a_deleted_expose_token_stays_on_the_feed_as_long_as_a_cache_can_hold_it() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let bearer = &server.account_token(USER).await;
    let body = serde_json::json!({"type": "expose", "name": "long", "password": crate::kit::PASSWORD,
        "lifetime": 30 * 24 * 3600});
    let created = server
        .json_bearer(
            reqwest::Method::POST,
            "/account/tokens",
            bearer,
            Some(&body),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = str_field(&created.body, "id");
    let deleted = server
        .json_bearer(
            reqwest::Method::DELETE,
            &format!("/account/tokens/{id}"),
            bearer,
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    let until = listed(&server.revocation_feed(None).await, "jti", id).unwrap();
    let expected = now_secs() + tessera_proto::MAX_INTROSPECTION_CACHE_SECONDS as i64 + 60;
    assert!(
        (expected - 5..=expected + 5).contains(&until),
        "{until} vs {expected}"
    );
}
