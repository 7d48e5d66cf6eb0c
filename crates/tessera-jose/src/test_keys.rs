//! An Ed25519 key pair and a signer for tests: this crate holds no private-key
//! code, so tests sign with ring directly.

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::Value;

use crate::{encode_segment, VerifyingKey};

pub(crate) fn ed25519_pair() -> (Ed25519KeyPair, VerifyingKey) {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let key = VerifyingKey::ed25519(pair.public_key().as_ref().to_vec()).unwrap();
    (pair, key)
}

pub(crate) fn sign(pair: &Ed25519KeyPair, header: &Value, claims: &Value) -> String {
    sign_bytes(pair, header, claims.to_string().as_bytes())
}

/// Signs any payload bytes, JSON or not.
pub(crate) fn sign_bytes(pair: &Ed25519KeyPair, header: &Value, payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        encode_segment(header.to_string().as_bytes()),
        encode_segment(payload)
    );
    let signature = encode_segment(pair.sign(input.as_bytes()).as_ref());
    format!("{input}.{signature}")
}
