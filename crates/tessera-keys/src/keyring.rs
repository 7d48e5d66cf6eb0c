use std::{collections::HashMap, fmt};

use ring::{
    digest,
    rand::SystemRandom,
    signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, UnparsedPublicKey},
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::{
    jwt::{self, HeaderOut, JwtError},
    KeyError, SigningAlgorithm,
};

/// SubjectPublicKeyInfo DER prefixes (RFC 5480 for P-256, RFC 8410 for Ed25519);
/// the raw public key follows each.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// One JSON Web Key (RFC 7517) as published in the JWKS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kid: String,
    pub kty: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// The public parameters of a key as JWK members (base64url), per key type.
#[derive(Debug, Clone)]
enum JwkMembers {
    /// RFC 7518 §6.2: P-256.
    Ec { x: String, y: String },
    /// RFC 8037 §2: Ed25519.
    Okp { x: String },
    /// RFC 7518 §6.3.
    Rsa { n: String, e: String },
}

/// A public key that verifies tokens, identified by its RFC 7638 thumbprint.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    kid: String,
    alg: SigningAlgorithm,
    /// SEC1 point (ES256), raw key (EdDSA) or DER RSAPublicKey (RS256): what ring verifies with.
    public: Vec<u8>,
    members: JwkMembers,
    spki: Vec<u8>,
}

impl VerifyingKey {
    pub fn new(alg: SigningAlgorithm, public: Vec<u8>) -> Result<Self, KeyError> {
        let invalid = || KeyError::InvalidKeyMaterial(alg);
        let (members, spki) = match alg {
            // Uncompressed SEC1 point: 0x04 || x (32 bytes) || y (32 bytes).
            SigningAlgorithm::Es256 if public.len() == 65 && public[0] == 4 => (
                JwkMembers::Ec {
                    x: jwt::encode_segment(&public[1..33]),
                    y: jwt::encode_segment(&public[33..65]),
                },
                [&P256_SPKI_PREFIX[..], &public].concat(),
            ),
            SigningAlgorithm::EdDsa if public.len() == 32 => (
                JwkMembers::Okp {
                    x: jwt::encode_segment(&public),
                },
                [&ED25519_SPKI_PREFIX[..], &public].concat(),
            ),
            SigningAlgorithm::Rs256 => {
                let (n, e, spki) = crate::rsa_keys::public_parts(&public).ok_or_else(invalid)?;
                (
                    JwkMembers::Rsa {
                        n: jwt::encode_segment(&n),
                        e: jwt::encode_segment(&e),
                    },
                    spki,
                )
            }
            _ => return Err(invalid()),
        };
        let kid = thumbprint(&members);
        Ok(Self {
            kid,
            alg,
            public,
            members,
            spki,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn public_key_bytes(&self) -> &[u8] {
        &self.public
    }

    pub fn to_jwk(&self) -> Jwk {
        let mut jwk = Jwk {
            kid: self.kid.clone(),
            kty: String::new(),
            alg: self.alg.as_str().to_owned(),
            use_: "sig".to_owned(),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
        };
        match &self.members {
            JwkMembers::Ec { x, y } => {
                jwk.kty = "EC".to_owned();
                jwk.crv = Some("P-256".to_owned());
                jwk.x = Some(x.clone());
                jwk.y = Some(y.clone());
            }
            JwkMembers::Okp { x } => {
                jwk.kty = "OKP".to_owned();
                jwk.crv = Some("Ed25519".to_owned());
                jwk.x = Some(x.clone());
            }
            JwkMembers::Rsa { n, e } => {
                jwk.kty = "RSA".to_owned();
                jwk.n = Some(n.clone());
                jwk.e = Some(e.clone());
            }
        }
        jwk
    }

    /// DER SubjectPublicKeyInfo, as Keycloak publishes it in the realm's `public_key`.
    pub fn spki_der(&self) -> Vec<u8> {
        self.spki.clone()
    }

    fn verify_signature(&self, message: &[u8], signature: &[u8]) -> Result<(), JwtError> {
        let algorithm: &dyn signature::VerificationAlgorithm = match self.alg {
            SigningAlgorithm::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
            SigningAlgorithm::EdDsa => &signature::ED25519,
            SigningAlgorithm::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        };
        UnparsedPublicKey::new(algorithm, &self.public)
            .verify(message, signature)
            .map_err(|_| JwtError::BadSignature)
    }
}

/// RFC 7638 §3: SHA-256 over the required members in lexicographic order.
fn thumbprint(members: &JwkMembers) -> String {
    let canonical = match members {
        JwkMembers::Ec { x, y } => format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
        JwkMembers::Okp { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
        JwkMembers::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
    };
    jwt::encode_segment(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
}

enum KeyPairInner {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
    Rs256(RsaKeyPair),
}

/// A private signing key, held only in memory in its opened form.
pub struct SigningKey {
    pair: KeyPairInner,
    public: VerifyingKey,
    rng: SystemRandom,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.public.kid)
            .field("alg", &self.public.alg)
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
        let public = match &pair {
            KeyPairInner::Es256(pair) => pair.public_key().as_ref().to_vec(),
            KeyPairInner::EdDsa(pair) => pair.public_key().as_ref().to_vec(),
            KeyPairInner::Rs256(pair) => pair.public().as_ref().to_vec(),
        };
        Ok(Self {
            pair,
            public: VerifyingKey::new(alg, public)?,
            rng,
        })
    }

    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// Signs `claims` as a compact JWS with the given `typ` header.
    pub fn sign_jwt<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, KeyError> {
        let header = HeaderOut {
            alg: self.public.alg.as_str(),
            typ,
            kid: &self.public.kid,
        };
        let header = serde_json::to_vec(&header).map_err(|_| KeyError::Signing)?;
        let payload = serde_json::to_vec(claims).map_err(|_| KeyError::Signing)?;
        let mut token = jwt::encode_segment(&header);
        token.push('.');
        token.push_str(&jwt::encode_segment(&payload));
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
        token.push_str(&jwt::encode_segment(&signature));
        Ok(token)
    }
}

/// A realm's keys: the one that signs now, and every key whose tokens may still be valid.
#[derive(Debug)]
pub struct KeyRing {
    active: SigningKey,
    verifying: HashMap<String, VerifyingKey>,
}

impl KeyRing {
    /// `previous` are the retired keys still published; the active key is always included.
    pub fn new(active: SigningKey, previous: Vec<VerifyingKey>) -> Self {
        let mut verifying: HashMap<String, VerifyingKey> = previous
            .into_iter()
            .map(|key| (key.kid.clone(), key))
            .collect();
        verifying.insert(active.public.kid.clone(), active.public.clone());
        Self { active, verifying }
    }

    pub fn active(&self) -> &SigningKey {
        &self.active
    }

    /// The JWKS: the active key first, then the others in a stable order.
    pub fn jwks(&self) -> Jwks {
        let mut others: Vec<&VerifyingKey> = self
            .verifying
            .values()
            .filter(|key| key.kid != self.active.public.kid)
            .collect();
        others.sort_by(|a, b| a.kid.cmp(&b.kid));
        let keys = std::iter::once(&self.active.public)
            .chain(others)
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
        let jws = jwt::split(token)?;
        if jws.header.crit.is_some() {
            return Err(JwtError::Malformed);
        }
        let alg: SigningAlgorithm = jws
            .header
            .alg
            .parse()
            .map_err(|_| JwtError::AlgorithmNotAllowed)?;
        if !jwt::type_matches(jws.header.typ.as_deref(), expected_typ) {
            return Err(JwtError::WrongType);
        }
        let key = jws
            .header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying.get(kid))
            .ok_or(JwtError::UnknownKey)?;
        if key.alg != alg {
            return Err(JwtError::AlgorithmNotAllowed);
        }
        key.verify_signature(jws.signing_input.as_bytes(), &jws.signature)?;
        jwt::parse_claims(&jws.payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JWT_MAX_LEN;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use serde_json::{json, Value};

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
        assert!(jwk.n.unwrap().len() >= 342, "2048-bit modulus");
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
        assert!(VerifyingKey::new(SigningAlgorithm::Rs256, vec![1, 2, 3]).is_err());
    }

    #[test]
    fn spki_has_the_expected_length() {
        assert_eq!(
            ring_for(SigningAlgorithm::Es256)
                .active()
                .verifying_key()
                .spki_der()
                .len(),
            91
        );
        assert_eq!(
            ring_for(SigningAlgorithm::EdDsa)
                .active()
                .verifying_key()
                .spki_der()
                .len(),
            44
        );
    }
}
