//! The two listeners and the limits on what one client can hold: health and
//! metrics only on the management listener; slow and idle connections cut off.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::kit::{Env, RealmOptions, USER};

#[tokio::test]
async fn health_and_metrics_are_served_on_the_management_listener_only() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start().await;
    server.login(USER, "").await;
    for path in ["/health/live", "/health/ready"] {
        let reply = server.get_management(path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.body["status"], "UP");
    }
    let metrics = server.metrics().await;
    assert!(metrics.contains(
        r#"tessera_http_requests_total{endpoint="/protocol/openid-connect/token",grant="password",outcome="success"} 1"#
    ), "{metrics}");
    assert!(metrics.contains("tessera_http_request_duration_seconds_bucket"));
    // The public listener knows none of them.
    for path in ["/metrics", "/health/live", "/health/ready"] {
        assert_eq!(server.get(path).await.status, 404, "{path}");
    }
    // The realm endpoints are not on the management listener either.
    let realm = server.get_management("/realms/test-realm").await;
    assert_eq!(realm.status, 404);
}

#[tokio::test]
async fn a_management_port_that_cannot_be_bound_is_a_clear_start_up_error() {
    let env = Env::new(RealmOptions::default()).await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = env.config();
    config.management_listen = taken.local_addr().unwrap();
    let error = tessera_server::start(&config, std::future::pending())
        .await
        .err()
        .expect("the start must fail");
    let message = format!("{error:#}");
    assert!(message.contains("management listener"), "{message}");
    assert!(
        message.contains(&taken.local_addr().unwrap().to_string()),
        "{message}"
    );
}

/// Reads until the server closes the connection (or `limit` passes); returns
/// how long it took and what was read.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (started.elapsed(), received),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => panic!("the connection was still open after {limit:?}"),
        }
    }
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_disconnected_and_others_are_still_served() {
    let env = Env::new(RealmOptions::default()).await;
    let mut config = env.config();
    config.header_read_timeout = Duration::from_millis(600);
    let server = env.start_with(config).await;
    let addr = server.running.as_ref().unwrap().addr;

    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /realms/test-realm HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let trickler = tokio::spawn(async move {
        // One header line every 200 ms, for at most 5 s: never the blank line.
        let started = std::time::Instant::now();
        for i in 0..25 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if slow
                .write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
        (slow, started.elapsed())
    });
    // Meanwhile another client is served as usual.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.get("/realms/test-realm").await.status, 200);
    let (mut slow, trickled) = trickler.await.unwrap();
    let (_, received) = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    // Cut off near the 600 ms limit, long before the 5 s the trickle would last
    // (the bound leaves room for a slow machine, not for a missing timeout).
    assert!(
        trickled < Duration::from_secs(3),
        "trickled for {trickled:?}"
    );
    // Closed without an answer to the unfinished request (hyper may write a 408).
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    server.login(USER, "").await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let env = Env::new(RealmOptions::default()).await;
    let mut config = env.config();
    config.header_read_timeout = Duration::from_millis(500);
    let server = env.start_with(config).await;
    let addr = server.running.as_ref().unwrap().addr;
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /realms/test-realm HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (elapsed, received) = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(String::from_utf8_lossy(&received).starts_with("HTTP/1.1 200"));
    assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408() {
    let env = Env::new(RealmOptions::default()).await;
    let mut config = env.config();
    config.body_timeout = Duration::from_millis(500);
    let server = env.start_with(config).await;
    let addr = server.running.as_ref().unwrap().addr;
    let before = env.row_counts().await;
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(
            b"POST /realms/test-realm/protocol/openid-connect/token HTTP/1.1\r\nHost: x\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
              grant_type=password",
        )
        .await
        .unwrap();
    let (_, received) = read_until_closed(&mut stalled, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&received);
    assert!(
        text.starts_with("HTTP/1.1 408") || text.starts_with("HTTP/1.1 400"),
        "{text}"
    );
    assert_eq!(env.row_counts().await, before);
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_is_free() {
    let env = Env::new(RealmOptions::default()).await;
    let mut config = env.config();
    config.max_connections = 1;
    config.header_read_timeout = Duration::from_millis(800);
    let server = env.start_with(config).await;
    let addr = server.running.as_ref().unwrap().addr;
    // One idle connection holds the only place...
    let _holder = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // ...so the next request is served only once the idle one is cut off.
    let started = Instant::now();
    assert_eq!(server.get("/realms/test-realm").await.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_request_handled_for_too_long_is_answered_408_and_frees_its_login_slot() {
    let env = Env::new(RealmOptions::default()).await;
    let mut config = env.config();
    // Shorter than one argon2id verification.
    config.request_timeout = Duration::from_millis(2);
    let server = env.start_with(config).await;
    let reply = server
        .password_login("app", USER, crate::kit::PASSWORD)
        .await;
    assert_eq!(reply.status, 408, "{}", reply.text);
    assert_eq!(reply.body["error"], "invalid_request", "{}", reply.text);
    // The abandoned attempt gives its brute-force slot back, uncounted.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        env.query_i64(
            "SELECT CAST(COALESCE(SUM(in_flight + failures), 0) AS BIGINT) FROM login_attempts"
        )
        .await,
        0
    );
}
