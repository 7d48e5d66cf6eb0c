//! The purge job deletes dead rows, and nothing else.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::kit::{str_field, unverified_claims, Env, RealmOptions, PASSWORD, REALM, USER};

const RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
const DAY_MS: i64 = 24 * 3600 * 1000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn the_purge_deletes_dead_rows_and_nothing_else() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let sid = |login: &serde_json::Value| str_field(login, "session_state").to_owned();

    // Live: a fresh session, and a session refreshed just now (its consumed
    // token is recent: still needed for reuse detection).
    let live = server.login(USER, "").await;
    let refreshed = server.login(USER, "").await;
    let next = server.refresh(str_field(&refreshed, "refresh_token")).await;
    assert_eq!(next.status, 200);
    // A session whose token consumed long ago must go, but not the session.
    let old_chain = server.login(USER, "").await;
    assert_eq!(
        server
            .refresh(str_field(&old_chain, "refresh_token"))
            .await
            .status,
        200
    );
    let old = now_ms() - 100 * DAY_MS;
    env.execute(&format!(
        "UPDATE refresh_tokens SET consumed_at = {old} \
         WHERE consumed_at IS NOT NULL AND family_id = '{}'",
        sid(&old_chain)
    ))
    .await;
    // Dead: a session whose last token expired, one past its absolute end,
    // one revoked two minutes ago.
    let idle = server.login(USER, "").await;
    env.execute(&format!(
        "UPDATE refresh_tokens SET expires_at = 1 WHERE family_id = '{}'",
        sid(&idle)
    ))
    .await;
    let ended = server.login(USER, "").await;
    env.execute(&format!(
        "UPDATE refresh_families SET expires_at = 1 WHERE id = '{}'",
        sid(&ended)
    ))
    .await;
    let revoked = server.login(USER, "").await;
    let logout = server.logout(str_field(&revoked, "refresh_token")).await;
    assert_eq!(logout.status, 204);
    env.execute(&format!(
        "UPDATE refresh_families SET revoked_at = {} WHERE id = '{}'",
        now_ms() - 120_000,
        sid(&revoked)
    ))
    .await;
    // A session revoked just now stays a little (requests in flight).
    let just_revoked = server.login(USER, "").await;
    server
        .logout(str_field(&just_revoked, "refresh_token"))
        .await;
    // Feed entries: the two logouts' are live; an expired one goes.
    env.execute(
        "INSERT INTO revocations (realm, kind, id, revoked_at, relevant_until) \
         VALUES ('test-realm', 'jti', 'long-gone', 1, 2)",
    )
    .await;
    // Events: one old, one recent.
    let bearer = &server.account_token(USER).await;
    for name in ["old", "new"] {
        let body = json!({"type": "expose", "name": name, "password": PASSWORD});
        let created = server
            .json_bearer(Method::POST, "/account/tokens", bearer, Some(&body))
            .await;
        assert_eq!(created.status, 201);
    }
    env.execute(&format!(
        "UPDATE token_events SET at = {old} WHERE token_id = \
         (SELECT id FROM personal_tokens WHERE name = 'old')"
    ))
    .await;
    // Company events: the old company's creation goes, the new one's stays.
    for name in ["Old company", "New company"] {
        server
            .service()
            .companies
            .create_company(
                REALM,
                &tessera_token::Principal::operator(),
                name.to_owned(),
                None,
            )
            .await
            .unwrap();
    }
    env.execute(&format!(
        "UPDATE company_events SET at = {old} WHERE company_id = \
         (SELECT id FROM companies WHERE name = 'Old company')"
    ))
    .await;
    // Login attempts: an idle row of an unknown username goes; the others
    // (recent, or locked) stay.
    let unknown = server
        .token(&[
            ("grant_type", "password"),
            ("client_id", "app"),
            ("username", "nobody"),
            ("password", "guess"),
        ])
        .await;
    assert_eq!(unknown.status, 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    env.execute(&format!(
        "UPDATE login_attempts SET in_flight_since = {old}, failures_since = {old} \
         WHERE failures = 1"
    ))
    .await;
    let attempts_before = env.query_i64("SELECT COUNT(*) FROM login_attempts").await;

    let families = "SELECT id FROM refresh_families ORDER BY id";
    let before_families = env.query_strings(families).await;
    let report = purge(&server).await;

    let mut expected: Vec<String> = [&live, &refreshed, &old_chain, &just_revoked]
        .iter()
        .map(|login| sid(login))
        .collect();
    expected.push(str_field(&unverified_claims(bearer), "sid").to_owned());
    expected.sort();
    assert_eq!(
        env.query_strings(families).await,
        expected,
        "{before_families:?}"
    );
    assert_eq!(report.dead_families, 3, "{report:?}");
    assert_eq!(report.expired_refresh_tokens, 1, "{report:?}");
    assert_eq!(report.consumed_refresh_tokens, 1, "{report:?}");
    assert_eq!(report.revocations, 1, "{report:?}");
    assert_eq!(report.token_events, 1, "{report:?}");
    assert_eq!(report.company_events, 1, "{report:?}");
    assert_eq!(report.login_attempts, 1, "{report:?}");
    assert_eq!(
        env.query_i64("SELECT COUNT(*) FROM login_attempts").await,
        attempts_before - 1
    );
    // What stays still works: the live sessions refresh.
    assert_eq!(
        server
            .refresh(str_field(&live, "refresh_token"))
            .await
            .status,
        200
    );
    assert_eq!(
        server
            .refresh(str_field(&next.body, "refresh_token"))
            .await
            .status,
        200
    );
    let events = env
        .query_strings("SELECT event FROM token_events ORDER BY id")
        .await;
    assert_eq!(events, ["created"]);
    assert_eq!(
        env.query_i64("SELECT COUNT(*) FROM revocations").await,
        2,
        "the logouts' entries stay"
    );
    // A second purge finds nothing more.
    let again = purge(&server).await;
    assert_eq!(again.total(), 0, "{again:?}");
}

#[tokio::test]
async fn expired_codes_device_authorizations_and_browser_sessions_are_purged() {
    use crate::browser::{authorize_url, exchange, pkce, sign_in_for_code, web_request, Browser};
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    let (verifier, challenge) = pkce("purge-verifier");
    let mut kept = Browser::new();
    let old_code = sign_in_for_code(&mut kept, &server, &challenge, "openid").await;
    let kept_session = env.query_strings("SELECT id FROM browser_sessions").await;
    env.execute("UPDATE authorization_codes SET expires_at = 1")
        .await;
    let fresh_code = sign_in_for_code(&mut kept, &server, &challenge, "openid").await;
    let mut gone = Browser::new();
    sign_in_for_code(&mut gone, &server, &challenge, "openid").await;
    env.execute(&format!(
        "UPDATE browser_sessions SET expires_at = 1 WHERE id <> '{}'",
        kept_session[0]
    ))
    .await;
    let expired = crate::device_flow::start(&server, "cli", "openid").await;
    env.execute("UPDATE device_authorizations SET expires_at = 1")
        .await;
    let pending = crate::device_flow::start(&server, "cli", "openid").await;

    let report = purge(&server).await;
    assert_eq!(report.authorization_codes, 1, "{report:?}");
    assert_eq!(report.device_authorizations, 1, "{report:?}");
    assert_eq!(report.browser_sessions, 1, "{report:?}");
    assert_eq!(
        env.query_strings("SELECT id FROM browser_sessions").await,
        kept_session
    );
    // What stays works: the fresh code, the kept browser's single sign-on,
    // the pending device code; what went is unknown.
    assert_eq!(exchange(&server, &fresh_code, &verifier).await.status, 200);
    assert_eq!(exchange(&server, &old_code, &verifier).await.status, 400);
    let reply = kept
        .get(&authorize_url(&server, &web_request(&challenge, "openid")))
        .await;
    assert_eq!(reply.status, 302, "{}", reply.text);
    for (started, error) in [
        (&pending, "authorization_pending"),
        (&expired, "invalid_grant"),
    ] {
        let poll = crate::device_flow::poll(&server, str_field(&started.body, "device_code")).await;
        assert_eq!(poll.body["error"], error, "{}", poll.text);
    }
}

/// One run of the purge job, as the server runs it every minute.
async fn purge(server: &crate::kit::Server) -> tessera_token::PurgeReport {
    server
        .service()
        .maintenance
        .purge_dead_rows(RETENTION)
        .await
        .unwrap()
}
