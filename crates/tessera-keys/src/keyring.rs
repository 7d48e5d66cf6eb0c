use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tessera_jose::{encode_segment, Jwks, JwtError, KeySet, SigningAlgorithm, VerifyingKey};

use crate::KeyError;

/// SubjectPublicKeyInfo DER prefixes (RFC 5480 for P-256, RFC 8410 for Ed25519);
/// the raw public key follows each.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// RFC 8017 Appendix C / RFC 3279 §2.3.1: AlgorithmIdentifier for rsaEncryption
/// (OID 1.2.840.113549.1.1.1 with NULL parameters).
const RSA_ALGORITHM_IDENTIFIER: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

enum KeyPairInner {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
    Rs256(RsaKeyPair),
}

/// A private signing key, held only in memory in its opened form.
pub struct SigningKey {
    pair: KeyPairInner,
    public: VerifyingKey,
    /// DER SubjectPublicKeyInfo, as Keycloak publishes it in the realm's `public_key`.
    spki: Vec<u8>,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.public.kid())
            .field("alg", &self.public.algorithm())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a new key; returns it with its PKCS#8 document, which the caller
    /// seals before storing.
    pub fn generate(alg: SigningAlgorithm) -> Result<(Self, Vec<u8>), KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = match alg {
            SigningAlgorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            }
            SigningAlgorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng),
            // ring cannot generate RSA keys.
            SigningAlgorithm::Rs256 => {
                let pkcs8 = crate::rsa_keys::generate_pkcs8()?;
                return Ok((Self::from_pkcs8(alg, &pkcs8)?, pkcs8));
            }
        }
        .map_err(|_| KeyError::Generation)?;
        let key = Self::from_pkcs8(alg, pkcs8.as_ref())?;
        Ok((key, pkcs8.as_ref().to_vec()))
    }

    pub fn from_pkcs8(alg: SigningAlgorithm, pkcs8: &[u8]) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let invalid = |_| KeyError::InvalidKeyMaterial(alg);
        let pair = match alg {
            SigningAlgorithm::Es256 => KeyPairInner::Es256(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng)
                    .map_err(invalid)?,
            ),
            SigningAlgorithm::EdDsa => {
                KeyPairInner::EdDsa(Ed25519KeyPair::from_pkcs8(pkcs8).map_err(invalid)?)
            }
            SigningAlgorithm::Rs256 => {
                KeyPairInner::Rs256(RsaKeyPair::from_pkcs8(pkcs8).map_err(invalid)?)
            }
        };
        let invalid = || KeyError::InvalidKeyMaterial(alg);
        let (public, spki) = match &pair {
            KeyPairInner::Es256(pair) => {
                let point = pair.public_key().as_ref();
                (
                    VerifyingKey::es256(point.to_vec()).map_err(|_| invalid())?,
                    [&P256_SPKI_PREFIX[..], point].concat(),
                )
            }
            KeyPairInner::EdDsa(pair) => {
                let raw = pair.public_key().as_ref();
                (
                    VerifyingKey::ed25519(raw.to_vec()).map_err(|_| invalid())?,
                    [&ED25519_SPKI_PREFIX[..], raw].concat(),
                )
            }
            KeyPairInner::Rs256(pair) => {
                let parts = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
                (
                    VerifyingKey::rs256(&parts.n, &parts.e).map_err(|_| invalid())?,
                    rsa_spki(pair.public().as_ref()),
                )
            }
        };
        Ok(Self {
            pair,
            public,
            spki,
            rng,
        })
    }

    pub fn kid(&self) -> &str {
        self.public.kid()
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// DER SubjectPublicKeyInfo of the public key.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// Signs `claims` as a compact JWS with the given `typ` header.
    pub fn sign_jwt<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, KeyError> {
        let header = HeaderOut {
            alg: self.public.algorithm().as_str(),
            typ,
            kid: self.public.kid(),
        };
        let header = serde_json::to_vec(&header).map_err(|_| KeyError::Signing)?;
        let payload = serde_json::to_vec(claims).map_err(|_| KeyError::Signing)?;
        let mut token = encode_segment(&header);
        token.push('.');
        token.push_str(&encode_segment(&payload));
        let signature = match &self.pair {
            KeyPairInner::Es256(pair) => pair
                .sign(&self.rng, token.as_bytes())
                .map_err(|_| KeyError::Signing)?
                .as_ref()
                .to_vec(),
            KeyPairInner::EdDsa(pair) => pair.sign(token.as_bytes()).as_ref().to_vec(),
            KeyPairInner::Rs256(pair) => {
                let mut signature = vec![0u8; pair.public().modulus_len()];
                pair.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &self.rng,
                    token.as_bytes(),
                    &mut signature,
                )
                .map_err(|_| KeyError::Signing)?;
                signature
            }
        };
        token.push('.');
        token.push_str(&encode_segment(&signature));
        Ok(token)
    }
}

/// A realm's keys: the one that signs now, and every key whose tokens may still be valid.
#[derive(Debug)]
pub struct KeyRing {
    active: SigningKey,
    verifying: KeySet,
}

impl KeyRing {
    /// `previous` are the retired keys still published; the active key is always included.
    pub fn new(active: SigningKey, previous: Vec<VerifyingKey>) -> Self {
        let verifying = KeySet::new(
            previous
                .into_iter()
                .filter(|key| key.kid() != active.kid())
                .chain([active.public.clone()]),
        );
        Self { active, verifying }
    }

    pub fn active(&self) -> &SigningKey {
        &self.active
    }

    /// The published keys: the active key first, then the others in a stable order.
    pub fn published_keys(&self) -> Vec<&VerifyingKey> {
        let mut others: Vec<&VerifyingKey> = self
            .verifying
            .keys()
            .filter(|key| key.kid() != self.active.kid())
            .collect();
        others.sort_by(|a, b| a.kid().cmp(b.kid()));
        std::iter::once(&self.active.public).chain(others).collect()
    }

    pub fn jwks(&self) -> Jwks {
        let keys = self
            .published_keys()
            .into_iter()
            .map(VerifyingKey::to_jwk)
            .collect();
        Jwks { keys }
    }

    /// Verifies signature and header of a JWT and returns its claims. The caller
    /// still checks `exp`, `iss` and `aud`.
    pub fn verify_jwt<T: DeserializeOwned>(
        &self,
        token: &str,
        expected_typ: &str,
    ) -> Result<T, JwtError> {
        self.verifying
            .verify_jwt(token, expected_typ, &SigningAlgorithm::ALL)
    }
}

/// SubjectPublicKeyInfo (RFC 5280 §4.1) around a DER RSAPublicKey.
fn rsa_spki(rsa_public_key: &[u8]) -> Vec<u8> {
    let mut bit_string = vec![0x03];
    push_der_length(&mut bit_string, rsa_public_key.len() + 1);
    bit_string.push(0); // no unused bits
    bit_string.extend_from_slice(rsa_public_key);
    let mut spki = vec![0x30];
    push_der_length(&mut spki, RSA_ALGORITHM_IDENTIFIER.len() + bit_string.len());
    spki.extend_from_slice(&RSA_ALGORITHM_IDENTIFIER);
    spki.extend_from_slice(&bit_string);
    spki
}

/// X.690 §8.1.3 definite length: short form below 128, else long form.
fn push_der_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let significant = &bytes[bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1)..];
    out.push(0x80 | significant.len() as u8);
    out.extend_from_slice(significant);
}

#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'a str,
    typ: &'a str,
    kid: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde_json::{json, Value};
    use tessera_jose::JWT_MAX_LEN;

    fn ring_for(alg: SigningAlgorithm) -> KeyRing {
        KeyRing::new(SigningKey::generate(alg).unwrap().0, vec![])
    }

    #[test]
    fn signed_tokens_verify_for_every_algorithm() {
        for alg in [
            SigningAlgorithm::Es256,
            SigningAlgorithm::EdDsa,
            SigningAlgorithm::Rs256,
        ] {
            let ring = ring_for(alg);
            let token = ring
                .active()
                .sign_jwt("at+jwt", &json!({"sub": "a"}))
                .unwrap();
            let claims: Value = ring.verify_jwt(&token, "at+jwt").unwrap();
            assert_eq!(claims["sub"], "a");
            assert_eq!(
                ring.verify_jwt::<Value>(&token, "JWT").unwrap_err(),
                JwtError::WrongType
            );
        }
    }

    #[test]
    fn reloaded_key_keeps_its_kid_and_verifies_old_tokens() {
        let (key, pkcs8) = SigningKey::generate(SigningAlgorithm::Es256).unwrap();
        let token = key.sign_jwt("at+jwt", &json!({})).unwrap();
        let again = SigningKey::from_pkcs8(SigningAlgorithm::Es256, &pkcs8).unwrap();
        assert_eq!(key.kid(), again.kid());
        let (newer, _) = SigningKey::generate(SigningAlgorithm::Es256).unwrap();
        let ring = KeyRing::new(newer, vec![again.verifying_key().clone()]);
        assert_eq!(ring.jwks().keys.len(), 2);
        ring.verify_jwt::<Value>(&token, "at+jwt").unwrap();
    }

    #[test]
    fn forged_and_malformed_tokens_are_rejected() {
        let ring = ring_for(SigningAlgorithm::Es256);
        let token = ring
            .active()
            .sign_jwt("at+jwt", &json!({"sub": "a"}))
            .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(
            json!({"alg": "none", "typ": "at+jwt", "kid": ring.active().kid()}).to_string(),
        );
        let tampered_payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin"}"#);
        let cases = [
            (
                format!("{none_header}.{}.", parts[1]),
                JwtError::AlgorithmNotAllowed,
            ),
            (
                format!("{}.{tampered_payload}.{}", parts[0], parts[2]),
                JwtError::BadSignature,
            ),
            (format!("{}.{}", parts[0], parts[1]), JwtError::Malformed),
            (format!("{token}.x"), JwtError::Malformed),
            ("a.b.c".to_owned(), JwtError::Malformed),
            ("x".repeat(JWT_MAX_LEN + 1), JwtError::TooLong),
        ];
        for (bad, expected) in cases {
            assert_eq!(
                ring.verify_jwt::<Value>(&bad, "at+jwt").unwrap_err(),
                expected,
                "{bad}"
            );
        }
        let other = ring_for(SigningAlgorithm::Es256);
        assert_eq!(
            other.verify_jwt::<Value>(&token, "at+jwt").unwrap_err(),
            JwtError::UnknownKey
        );
    }

    #[test]
    fn rsa_keys_publish_n_and_e_and_survive_a_reload() {
        let (key, pkcs8) = SigningKey::generate(SigningAlgorithm::Rs256).unwrap();
        let jwk = key.verifying_key().to_jwk();
        assert_eq!(jwk.kty, "RSA");
        assert_eq!(jwk.e.as_deref(), Some("AQAB"));
        assert!(jwk.n.clone().unwrap().len() >= 342, "2048-bit modulus");
        assert!(jwk.crv.is_none() && jwk.x.is_none());
        let again = SigningKey::from_pkcs8(SigningAlgorithm::Rs256, &pkcs8).unwrap();
        assert_eq!(again.kid(), key.kid());
        let token = key.sign_jwt("at+jwt", &json!({"sub": "r"})).unwrap();
        let ring = KeyRing::new(again, vec![]);
        ring.verify_jwt::<Value>(&token, "at+jwt").unwrap();
        // A header claiming another algorithm for the RSA key is refused.
        let header = URL_SAFE_NO_PAD
            .encode(json!({"alg": "ES256", "typ": "at+jwt", "kid": key.kid()}).to_string());
        let rest = token.split_once('.').unwrap().1;
        assert_eq!(
            ring.verify_jwt::<Value>(&format!("{header}.{rest}"), "at+jwt")
                .unwrap_err(),
            JwtError::AlgorithmNotAllowed
        );
        // The hand-written SubjectPublicKeyInfo is what the rsa crate encodes.
        use rsa::pkcs1::DecodeRsaPublicKey;
        use rsa::pkcs8::EncodePublicKey;
        let KeyPairInner::Rs256(pair) = &key.pair else {
            unreachable!()
        };
        let parsed = rsa::RsaPublicKey::from_pkcs1_der(pair.public().as_ref()).unwrap();
        assert_eq!(
            key.spki_der(),
            parsed.to_public_key_der().unwrap().as_bytes()
        );
    }

    #[test]
    fn spki_has_the_expected_length() {
        assert_eq!(
            ring_for(SigningAlgorithm::Es256).active().spki_der().len(),
            91
        );
        assert_eq!(
            ring_for(SigningAlgorithm::EdDsa).active().spki_der().len(),
            44
        );
    }
}
