//! Fuzz targets for what a resource server is handed or told: bearer JWTs
//! (signed by the issuer's key but with any claims), introspection answers and
//! revocation-feed pages. `PROPTEST_CASES` sets the run length.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use serde_json::{Map, Value};
use tessera_jose::{KeySet, SigningAlgorithm};
use tessera_keys::SigningKey;
use tessera_proto::strategies::{json_object, json_value};
use tessera_proto::{IntrospectionResponse, RevocationFeed};

use crate::revocations::RevokedSet;
use crate::{VerifiedToken, Verifier};

const ISSUER: &str = "https://id.example/realms/r";
const AUDIENCE: &str = "api";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// One key and one verifier for the whole run.
fn fixture() -> &'static (SigningKey, Verifier) {
    static FIXTURE: OnceLock<(SigningKey, Verifier)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (key, _) = SigningKey::generate(SigningAlgorithm::EdDsa).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let verifier = runtime
            .block_on(
                Verifier::builder(ISSUER)
                    .audience(AUDIENCE)
                    .fixed_keys(KeySet::new([key.verifying_key().clone()]))
                    .build(),
            )
            .unwrap();
        (key, verifier)
    })
}

/// Times near now, and the extremes that overflow careless arithmetic.
fn instant() -> impl Strategy<Value = Value> {
    let now = now();
    prop_oneof![
        4 => (-7_200i64..7_200).prop_map(move |offset| Value::from(now + offset)),
        1 => prop::sample::select(vec![i64::MIN, i64::MAX, 0, -1]).prop_map(Value::from),
        1 => json_value(),
    ]
}

fn claim(name: &'static str) -> BoxedStrategy<Value> {
    let likely = match name {
        "iss" => prop_oneof![4 => Just(ISSUER.to_owned()), 1 => Just(format!("{ISSUER}/"))]
            .prop_map(Value::from)
            .boxed(),
        "aud" => prop_oneof![
            2 => Just(Value::from(AUDIENCE)),
            2 => Just(serde_json::json!(["other", AUDIENCE])),
            1 => Just(serde_json::json!(["other"])),
            1 => Just(serde_json::json!([AUDIENCE, 7])),
        ]
        .boxed(),
        "exp" | "iat" | "nbf" => instant().boxed(),
        "realm_access" => prop::collection::vec(".{0,8}", 0..4)
            .prop_map(|roles| serde_json::json!({ "roles": roles }))
            .boxed(),
        _ => ".{0,16}".prop_map(Value::from).boxed(),
    };
    prop_oneof![12 => likely, 1 => json_value()].boxed()
}

const OPTIONAL_CLAIMS: [&str; 4] = ["nbf", "sid", "preferred_username", "realm_access"];

fn claims() -> impl Strategy<Value = Map<String, Value>> {
    let names = [
        "iss",
        "aud",
        "exp",
        "iat",
        "nbf",
        "sub",
        "jti",
        "client_id",
        "scope",
        "sid",
        "preferred_username",
        "realm_access",
    ];
    let fields: Vec<_> = names
        .into_iter()
        .map(|name| {
            let present = if OPTIONAL_CLAIMS.contains(&name) {
                0.5
            } else {
                0.97
            };
            prop::option::weighted(present, claim(name)).prop_map(move |v| (name, v))
        })
        .collect();
    (fields, json_object(&["typ", "azp", "acr"])).prop_map(|(fields, mut extra)| {
        for (name, value) in fields {
            if let Some(value) = value {
                extra.insert(name.to_owned(), value);
            }
        }
        extra
    })
}

fn introspection_answer() -> impl Strategy<Value = Value> {
    let names = &[
        "active",
        "scope",
        "client_id",
        "username",
        "token_type",
        "exp",
        "iat",
        "sub",
        "aud",
        "iss",
        "jti",
        "sid",
        "realm_access",
        "token_id",
        "name",
        "company_id",
        "subscription_id",
        "preferred_username",
    ];
    (any::<bool>(), json_object(names)).prop_map(|(active, mut answer)| {
        answer.entry("active").or_insert(Value::Bool(active));
        Value::Object(answer)
    })
}

fn feed_page() -> impl Strategy<Value = Value> {
    let entry = json_object(&["sid", "jti", "until"]).prop_map(Value::Object);
    (
        prop::collection::vec(entry, 0..8),
        json_object(&["next_cursor", "has_more"]),
    )
        .prop_map(|(revocations, mut page)| {
            page.insert("revocations".to_owned(), Value::Array(revocations));
            page.entry("next_cursor").or_insert(Value::from("c"));
            Value::Object(page)
        })
}

proptest! {
    /// A token signed by the issuer's key is accepted only when every claim
    /// check holds, whatever the claims' types and values (no overflow at the
    /// extremes of `exp`, `iat` and `nbf`).
    #[test]
    fn fuzz_signed_claims_pass_only_when_every_check_holds(claims in claims()) {
        let (key, verifier) = fixture();
        let token = key.sign_jwt("at+jwt", &claims).unwrap();
        if let Ok(verified) = verifier.verify_jwt_with_cached_keys(&token) {
            prop_assert_eq!(&claims["iss"], ISSUER);
            let aud = &claims["aud"];
            prop_assert!(aud == AUDIENCE || aud.as_array().is_some_and(|many| many.contains(&Value::from(AUDIENCE))));
            let exp = claims["exp"].as_i64().unwrap_or(i64::MIN);
            prop_assert!(exp.saturating_add(30) > now());
            prop_assert_eq!(verified.expires_at(), Some(exp));
        }
    }

    /// Strings handed over as bearer tokens: all refused, none panics.
    #[test]
    fn fuzz_bearer_strings_are_refused(token in prop_oneof![any::<String>(), "[A-Za-z0-9_.-]{0,400}"]) {
        prop_assert!(fixture().1.verify_jwt_with_cached_keys(&token).is_err());
    }

    /// Introspection answers from the issuer (or whoever answers for it): read
    /// or refused; an answer yields a token only when active with a subject,
    /// or as a userless company token, with a company and a subscription; only
    /// a company token has a company, and its user is the subject.
    #[test]
    fn fuzz_introspection_answers_are_read_or_refused(answer in introspection_answer()) {
        if let Ok(answer) = serde_json::from_value::<IntrospectionResponse>(answer) {
            let verified = VerifiedToken::from_introspection(&answer);
            let company = answer.company_id.is_some() && answer.subscription_id.is_some();
            prop_assert_eq!(verified.is_some(), answer.active && (answer.sub.is_some() || company));
            if let Some(verified) = verified {
                let seen = verified.company();
                prop_assert_eq!(seen.is_some(), company);
                if let Some(seen) = seen {
                    prop_assert_eq!(seen.user_id, answer.sub.as_deref());
                    prop_assert_eq!(seen.company_id, answer.company_id.as_deref().unwrap_or_default());
                    prop_assert!(verified.profile_token_id().is_none());
                }
            }
        }
    }

    /// Revocation-feed pages: read or refused; merged entries are kept only
    /// while they matter.
    #[test]
    fn fuzz_feed_pages_are_read_or_refused(page in feed_page(), now in any::<i64>()) {
        if let Ok(feed) = serde_json::from_value::<RevocationFeed>(page) {
            let revoked = RevokedSet::default();
            revoked.merge(&feed, now);
            let live = feed.revocations.iter().filter(|entry| entry.until > now).count();
            prop_assert!(revoked.len() <= 2 * live);
        }
    }
}
