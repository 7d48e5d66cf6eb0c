//! A stock OpenID Connect relying-party library (the `openidconnect` crate),
//! unmodified, against Tessera: discovery, the authorization URL with PKCE,
//! state and nonce, the code exchange, and the ID token's verification
//! (signature from the JWKS, issuer, audience, expiry, nonce); then userinfo.
//! The test plays the user in between: it follows the redirect and posts the
//! sign-in form.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::browser::{location, query_param, submit_sign_in, Browser, WEB_CALLBACK};
use crate::kit::{Env, RealmOptions, PASSWORD, USER};

#[tokio::test]
async fn the_openidconnect_crate_completes_the_code_flow_with_pkce() {
    let env = Env::new(RealmOptions::default()).await;
    let server = env.start_reachable().await;
    // The library's advice: an HTTP client that follows no redirects.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let issuer = IssuerUrl::new(server.issuer()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http)
        .await
        .unwrap();
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new("web".into()), None)
        .set_redirect_uri(RedirectUrl::new(WEB_CALLBACK.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    let mut browser = Browser::new();
    let page = browser.get(url.as_str()).await;
    let signed_in = submit_sign_in(&mut browser, &server, &page, (USER, PASSWORD)).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    let callback = location(&signed_in);
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some(state.secret().as_str())
    );
    let code = query_param(&callback, "code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().expect("an ID token for the openid scope");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();
    assert_eq!(
        claims.preferred_username().map(|name| name.as_str()),
        Some(USER)
    );
    assert!(claims.auth_time().is_some());
    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(
        info.email().map(|email| email.as_str()),
        Some("alice@example.com")
    );
}
