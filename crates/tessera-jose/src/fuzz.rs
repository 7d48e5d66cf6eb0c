//! Fuzz targets for what a verifier reads from outside: compact JWS tokens and
//! JWK Sets. `PROPTEST_CASES` sets the run length.

use std::sync::OnceLock;

use proptest::prelude::*;
use ring::signature::Ed25519KeyPair;
use serde_json::{Map, Value};
use tessera_proto::strategies::{json_object, json_value};

use crate::test_keys::{ed25519_pair, sign_bytes};
use crate::{Jwks, JwtError, KeySet, SigningAlgorithm, VerifyingKey, JWT_MAX_LEN};

const TYP: &str = "at+jwt";

/// One key for the whole run: generating is the slow part.
fn signer() -> &'static (Ed25519KeyPair, VerifyingKey) {
    static SIGNER: OnceLock<(Ed25519KeyPair, VerifyingKey)> = OnceLock::new();
    SIGNER.get_or_init(ed25519_pair)
}

fn base64url(max: usize) -> impl Strategy<Value = String> {
    let alphabet: Vec<char> = ('A'..='Z')
        .chain('a'..='z')
        .chain('0'..='9')
        .chain(['-', '_'])
        .collect();
    prop::collection::vec(prop::sample::select(alphabet), 0..=max)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Any string, three base64url segments, or one far beyond the length cap.
fn jws_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        (base64url(200), base64url(400), base64url(400))
            .prop_map(|(header, payload, signature)| format!("{header}.{payload}.{signature}")),
        "[A-Za-z0-9_.=+/-]{0,600}",
        (JWT_MAX_LEN - 8..JWT_MAX_LEN + 8).prop_map(|len| "a.b.".repeat(len / 4)),
    ]
}

/// A JOSE header that is often right in each field and sometimes wrong in any way.
fn header() -> impl Strategy<Value = Value> {
    let kid = signer().1.kid().to_owned();
    let alg = prop_oneof![
        4 => Just(Value::from("EdDSA")),
        1 => Just(Value::from("ES256")),
        1 => Just(Value::from("none")),
        1 => Just(Value::from("HS256")),
        1 => json_value(),
    ];
    let typ = prop_oneof![
        2 => Just(Value::from(TYP)),
        1 => Just(Value::from("application/AT+JWT")),
        1 => Just(Value::from("JWT")),
        1 => json_value(),
    ];
    let kid = prop_oneof![3 => Just(Value::from(kid)), 1 => json_value()];
    (
        prop::option::weighted(0.9, alg),
        prop::option::weighted(0.9, typ),
        prop::option::weighted(0.9, kid),
        prop::option::weighted(0.1, json_value()),
        json_object(&["jku", "x5u", "cty", "b64"]),
    )
        .prop_map(|(alg, typ, kid, crit, mut extra)| {
            for (name, value) in [("alg", alg), ("typ", typ), ("kid", kid), ("crit", crit)] {
                if let Some(value) = value {
                    extra.insert(name.to_owned(), value);
                }
            }
            Value::Object(extra)
        })
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_object(&["sub", "exp", "aud", "iss"])
            .prop_map(|claims| Value::Object(claims).to_string().into_bytes()),
        json_value().prop_map(|value| value.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn jwk_field(name: &'static str) -> BoxedStrategy<Value> {
    let known = match name {
        "kty" => prop::sample::select(vec!["EC", "OKP", "RSA", "oct"]).boxed(),
        "crv" => prop::sample::select(vec!["P-256", "Ed25519", "P-384"]).boxed(),
        "alg" => prop::sample::select(vec!["ES256", "EdDSA", "RS256", "none"]).boxed(),
        "use" => prop::sample::select(vec!["sig", "enc"]).boxed(),
        _ => Just("AQAB").boxed(),
    }
    .prop_map(Value::from);
    prop_oneof![
        3 => known,
        3 => base64url(700).prop_map(Value::from),
        1 => json_value(),
    ]
    .boxed()
}

fn jwk() -> impl Strategy<Value = Value> {
    let names = ["kty", "kid", "alg", "use", "crv", "x", "y", "n", "e"];
    let fields: Vec<_> = names
        .into_iter()
        .map(|name| prop::option::weighted(0.7, jwk_field(name)).prop_map(move |v| (name, v)))
        .collect();
    fields.prop_map(|fields| {
        let object: Map<String, Value> = fields
            .into_iter()
            .filter_map(|(name, value)| value.map(|value| (name.to_owned(), value)))
            .collect();
        Value::Object(object)
    })
}

proptest! {
    /// Nothing but a token signed by a key of the set verifies: every other
    /// string is refused, none makes the parser panic.
    #[test]
    fn fuzz_jws_parser_refuses_what_no_key_signed(token in jws_like()) {
        let keys = KeySet::new([signer().1.clone()]);
        let verified = keys.verify_jwt::<Value>(&token, TYP, &SigningAlgorithm::ALL);
        prop_assert!(verified.is_err());
        if token.len() > JWT_MAX_LEN {
            prop_assert_eq!(verified, Err(JwtError::TooLong));
        }
    }

    /// Correctly signed tokens with any header and payload: a token is
    /// accepted only with the key's own algorithm and id, the right type, no
    /// `crit`, and a JSON payload (RFC 8725 §3.1).
    #[test]
    fn fuzz_signed_tokens_pass_only_with_a_sound_header(header in header(), payload in payload()) {
        let (pair, key) = signer();
        let token = sign_bytes(pair, &header, &payload);
        let keys = KeySet::new([key.clone()]);
        if keys.verify_jwt::<Value>(&token, TYP, &SigningAlgorithm::ALL).is_ok() {
            prop_assert_eq!(&header["alg"], "EdDSA");
            prop_assert_eq!(header["kid"].as_str(), Some(key.kid()));
            prop_assert!(header.get("crit").is_none());
            let typ = header["typ"].as_str().unwrap_or_default().to_ascii_lowercase();
            prop_assert!(typ == TYP || typ == "application/at+jwt");
        }
    }

    /// JWK Sets from an issuer (or from whoever answers in its place): every
    /// document parses or is refused, and every key in it is read or refused.
    #[test]
    fn fuzz_jwks_documents_are_read_or_refused(keys in prop::collection::vec(jwk(), 0..4)) {
        let document = serde_json::json!({ "keys": keys }).to_string();
        if let Ok(jwks) = serde_json::from_str::<Jwks>(&document) {
            for jwk in &jwks.keys {
                if let Ok(key) = VerifyingKey::from_jwk(jwk) {
                    let again = VerifyingKey::from_jwk(&key.to_jwk());
                    prop_assert_eq!(again.map(|again| again.algorithm()), Ok(key.algorithm()));
                }
            }
        }
    }
}
