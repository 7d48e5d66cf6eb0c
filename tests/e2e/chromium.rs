//! The sign-in page in a real browser: Debian's headless Chromium, driven
//! over WebDriver (`chromedriver`), types the credentials, submits with the
//! keyboard, and the client's redirect URI receives the code, which then
//! exchanges for tokens.
//!
//! `.ci/run` installs `chromium` and `chromium-driver` and sets
//! `TESSERA_REQUIRE_BROWSER=1`, so that there the test fails without them;
//! elsewhere it says that it was skipped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::browser::{authorize_url, pkce, query_param};
use crate::kit::{Env, RealmOptions, PASSWORD, USER};

const CHROMEDRIVER: &str = "chromedriver";

/// A chromedriver process, killed when dropped.
struct Driver {
    process: Child,
    url: String,
    profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts chromedriver, or says why not: `None` when it is not installed
/// and the environment does not require it.
async fn start_driver() -> Option<Driver> {
    let port = free_port();
    let process = match Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(process) => process,
        Err(error) => {
            assert!(
                std::env::var("TESSERA_REQUIRE_BROWSER").is_err(),
                "TESSERA_REQUIRE_BROWSER is set but {CHROMEDRIVER} cannot start: {error}"
            );
            eprintln!("skipped: {CHROMEDRIVER} is not installed ({error})");
            return None;
        }
    };
    let url = format!("http://127.0.0.1:{port}");
    let profile = std::env::temp_dir().join(format!("tessera-chromium-{port}"));
    let driver = Driver {
        process,
        url,
        profile,
    };
    let status = format!("{}/status", driver.url);
    for _ in 0..100 {
        if reqwest::get(&status).await.is_ok_and(|r| r.status() == 200) {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{CHROMEDRIVER} did not answer at {status}");
}

/// A client's redirect URI: records the query of each request it receives.
async fn start_callback() -> (String, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callback", listener.local_addr().unwrap());
    let record = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/callback",
        axum::routing::get(
            move |axum::extract::RawQuery(query): axum::extract::RawQuery| {
                let record = Arc::clone(&record);
                async move {
                    record.lock().unwrap().push(query.unwrap_or_default());
                    "Signed in: you can close this window."
                }
            },
        ),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_chromium_signs_in_on_the_hosted_page() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let (callback, received) = start_callback().await;
    let env = Env::new(RealmOptions {
        extra_clients: format!(
            "[[clients]]\nclient_id = \"browser-app\"\ngrants = [\"authorization_code\"]\n\
             scopes = [\"openid\"]\nredirect_uris = [\"{callback}\"]\n"
        ),
        ..RealmOptions::default()
    })
    .await;
    let server = env.start_reachable().await;
    let (verifier, challenge) = pkce("chromium-verifier");

    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", driver.profile.display()),
            ]
        }),
    );
    let browser = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .unwrap();
    let url = authorize_url(
        &server,
        &[
            ("response_type", "code"),
            ("client_id", "browser-app"),
            ("redirect_uri", &callback),
            ("scope", "openid"),
            ("state", "chromium-state"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    browser.goto(&url).await.unwrap();
    assert_eq!(browser.title().await.unwrap(), "Sign in · Test <Realm>");
    // The stylesheet loaded under the Content-Security-Policy.
    let background = browser
        .execute(
            "return getComputedStyle(document.querySelector('button')).backgroundColor",
            vec![],
        )
        .await
        .unwrap();
    assert_ne!(
        background,
        json!("rgba(0, 0, 0, 0)"),
        "the stylesheet was blocked"
    );
    // The username field has the focus: a keyboard user starts typing.
    let focused = browser
        .execute("return document.activeElement.id", vec![])
        .await
        .unwrap();
    assert_eq!(focused, json!("username"));
    browser
        .find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(USER)
        .await
        .unwrap();
    let password = browser.find(Locator::Id("password")).await.unwrap();
    password.send_keys(PASSWORD).await.unwrap();
    password
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    // The redirect after the form is posted lands at the client's callback.
    for _ in 0..100 {
        if !received.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let current = browser.current_url().await.unwrap();
    assert!(
        current.as_str().starts_with(&callback),
        "the browser is at {current}"
    );
    let query = received.lock().unwrap().first().cloned().unwrap();
    let target = format!("{callback}?{query}");
    assert_eq!(
        query_param(&target, "state").as_deref(),
        Some("chromium-state")
    );
    let code = query_param(&target, "code").unwrap();
    let tokens = server
        .token(&[
            ("grant_type", "authorization_code"),
            ("client_id", "browser-app"),
            ("code", &code),
            ("redirect_uri", &callback),
            ("code_verifier", &verifier),
        ])
        .await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    assert!(tokens.body["id_token"].is_string());
    browser.close().await.unwrap();
}
