//! What reading an access token's claims costs once its signature has
//! verified: the server does it for every JWT it introspects, for userinfo,
//! and for every account or management call made with an access token.
//!
//! Run: `cargo bench -p tessera-proto --bench claims`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tessera_proto::AccessTokenClaims;

/// The payload of a password-grant access token as Tessera issues it.
const PAYLOAD: &str = r#"{"iss":"http://127.0.0.1:8080/realms/bench","sub":"0b9a4f6e-2f5c-4d3e-9a1b-6c7d8e9f0a1b","aud":["account","api"],"exp":1796400300,"iat":1796400000,"jti":"5f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0","client_id":"app","scope":"openid profile email","azp":"app","typ":"Bearer","sid":"9e8d7c6b-5a49-4837-a625-14f3e2d1c0b9","preferred_username":"alice","email":"alice@example.org","realm_access":{"roles":["user","viewer"]}}"#;

fn claims(c: &mut Criterion) {
    c.bench_function("access token claims from JSON", |b| {
        b.iter(|| serde_json::from_str::<AccessTokenClaims>(black_box(PAYLOAD)))
    });
}

criterion_group!(benches, claims);
criterion_main!(benches);
