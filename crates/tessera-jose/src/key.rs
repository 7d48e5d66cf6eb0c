//! Public keys and JWS verification against a set of them.

use std::collections::HashMap;
use std::mem::MaybeUninit;

use ring::digest;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::de::DeserializeOwned;

use crate::jws::{
    self, decode_segment, decode_segment_into, encode_segment, JwtError, JWT_MAX_LEN,
};
use crate::{Jwk, SigningAlgorithm};

/// Decoded JOSE headers longer than this are refused: ours are under 150 bytes.
/// Header and signature are decoded into stack buffers of these sizes, left
/// uninitialised so that no verification pays for zeroing them.
const MAX_HEADER_BYTES: usize = 1024;
/// The largest signature of our algorithms: RS256 with an 8192-bit key.
const MAX_SIGNATURE_BYTES: usize = 1024;

/// ring refuses shorter RSA keys for RS256 anyway; refusing them when the key is
/// read gives a clear error instead of failing every verification.
const RSA_MIN_MODULUS_BYTES: usize = 256;

/// Why a public key could not be built. Carries no key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyMaterialError {
    #[error("key material is invalid for {0}")]
    Invalid(SigningAlgorithm),
    #[error("JWK is not a signing key Tessera uses (kty {kty:?}, alg {alg:?})")]
    UnsupportedJwk { kty: String, alg: Option<String> },
    #[error("JWK has no kid")]
    MissingKeyId,
}

/// The public parameters of a key, per key type.
#[derive(Debug, Clone)]
enum PublicMaterial {
    /// RFC 7518 §6.2: an uncompressed P-256 point, 0x04 || x || y.
    Ec { point: Vec<u8> },
    /// RFC 8037 §2: a raw Ed25519 key.
    Okp { x: Vec<u8> },
    /// RFC 7518 §6.3: modulus and exponent, big-endian without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

/// A public key that verifies tokens. Keys Tessera creates are named by their
/// RFC 7638 thumbprint; keys read from a JWKS keep the `kid` published with them.
#[derive(Debug, Clone)]
pub struct VerifyingKey {
    kid: String,
    alg: SigningAlgorithm,
    material: PublicMaterial,
}

impl VerifyingKey {
    /// An ES256 key from its uncompressed SEC1 point.
    pub fn es256(point: Vec<u8>) -> Result<Self, KeyMaterialError> {
        if point.len() != 65 || point[0] != 4 {
            return Err(KeyMaterialError::Invalid(SigningAlgorithm::Es256));
        }
        Ok(Self::named_by_thumbprint(
            SigningAlgorithm::Es256,
            PublicMaterial::Ec { point },
        ))
    }

    /// An EdDSA key from its raw 32-byte Ed25519 public key.
    pub fn ed25519(x: Vec<u8>) -> Result<Self, KeyMaterialError> {
        if x.len() != 32 {
            return Err(KeyMaterialError::Invalid(SigningAlgorithm::EdDsa));
        }
        Ok(Self::named_by_thumbprint(
            SigningAlgorithm::EdDsa,
            PublicMaterial::Okp { x },
        ))
    }

    /// An RS256 key from its modulus and exponent (big-endian).
    pub fn rs256(n: &[u8], e: &[u8]) -> Result<Self, KeyMaterialError> {
        let material = rsa_material(n, e)?;
        Ok(Self::named_by_thumbprint(SigningAlgorithm::Rs256, material))
    }

    /// Reads a key from a JWKS. Keys that are not for signing, or of a kind or
    /// algorithm Tessera does not use, are refused.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyMaterialError> {
        let unsupported = || KeyMaterialError::UnsupportedJwk {
            kty: jwk.kty.clone(),
            alg: jwk.alg.clone(),
        };
        if jwk.use_.as_deref().is_some_and(|use_| use_ != "sig") {
            return Err(unsupported());
        }
        let kid = jwk.kid.clone().ok_or(KeyMaterialError::MissingKeyId)?;
        let member = |value: &Option<String>, alg| {
            value
                .as_deref()
                .and_then(|value| decode_segment(value).ok())
                .ok_or(KeyMaterialError::Invalid(alg))
        };
        let (alg, material) = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("EC", Some("P-256")) => {
                let alg = SigningAlgorithm::Es256;
                let (x, y) = (member(&jwk.x, alg)?, member(&jwk.y, alg)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(KeyMaterialError::Invalid(alg));
                }
                let point = [&[4u8][..], &x, &y].concat();
                (alg, PublicMaterial::Ec { point })
            }
            ("OKP", Some("Ed25519")) => {
                let alg = SigningAlgorithm::EdDsa;
                let x = member(&jwk.x, alg)?;
                if x.len() != 32 {
                    return Err(KeyMaterialError::Invalid(alg));
                }
                (alg, PublicMaterial::Okp { x })
            }
            ("RSA", None) => {
                let alg = SigningAlgorithm::Rs256;
                let material = rsa_material(&member(&jwk.n, alg)?, &member(&jwk.e, alg)?)?;
                (alg, material)
            }
            _ => return Err(unsupported()),
        };
        // RFC 7517 §4.4: when `alg` is published, the key is for that algorithm only.
        if jwk
            .alg
            .as_deref()
            .is_some_and(|named| named != alg.as_str())
        {
            return Err(unsupported());
        }
        Ok(Self { kid, alg, material })
    }

    fn named_by_thumbprint(alg: SigningAlgorithm, material: PublicMaterial) -> Self {
        let mut key = Self {
            kid: String::new(),
            alg,
            material,
        };
        key.kid = key.thumbprint();
        key
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        self.alg
    }

    pub fn to_jwk(&self) -> Jwk {
        let mut jwk = Jwk {
            kty: String::new(),
            kid: Some(self.kid.clone()),
            alg: Some(self.alg.as_str().to_owned()),
            use_: Some("sig".to_owned()),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
        };
        match &self.material {
            PublicMaterial::Ec { point } => {
                jwk.kty = "EC".to_owned();
                jwk.crv = Some("P-256".to_owned());
                jwk.x = Some(encode_segment(&point[1..33]));
                jwk.y = Some(encode_segment(&point[33..65]));
            }
            PublicMaterial::Okp { x } => {
                jwk.kty = "OKP".to_owned();
                jwk.crv = Some("Ed25519".to_owned());
                jwk.x = Some(encode_segment(x));
            }
            PublicMaterial::Rsa { n, e } => {
                jwk.kty = "RSA".to_owned();
                jwk.n = Some(encode_segment(n));
                jwk.e = Some(encode_segment(e));
            }
        }
        jwk
    }

    /// RFC 7638 §3: SHA-256 over the required members in lexicographic order.
    pub fn thumbprint(&self) -> String {
        let jwk = self.to_jwk();
        let member = |value: Option<String>| value.unwrap_or_default();
        let canonical = match &self.material {
            PublicMaterial::Ec { .. } => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                member(jwk.x),
                member(jwk.y)
            ),
            PublicMaterial::Okp { .. } => {
                format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, member(jwk.x))
            }
            PublicMaterial::Rsa { .. } => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                member(jwk.e),
                member(jwk.n)
            ),
        };
        encode_segment(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    }

    /// Checks a signature over `message` with this key's algorithm.
    pub fn verify_signature(&self, message: &[u8], signature: &[u8]) -> Result<(), JwtError> {
        let verified = match &self.material {
            PublicMaterial::Ec { point } => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
            }
            PublicMaterial::Okp { x } => {
                UnparsedPublicKey::new(&signature::ED25519, x).verify(message, signature)
            }
            PublicMaterial::Rsa { n, e } => RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                message,
                signature,
            ),
        };
        verified.map_err(|_| JwtError::BadSignature)
    }
}

fn rsa_material(n: &[u8], e: &[u8]) -> Result<PublicMaterial, KeyMaterialError> {
    let strip = |bytes: &[u8]| {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        bytes[start..].to_vec()
    };
    let (n, e) = (strip(n), strip(e));
    if n.len() < RSA_MIN_MODULUS_BYTES || e.is_empty() || e.len() > 4 {
        return Err(KeyMaterialError::Invalid(SigningAlgorithm::Rs256));
    }
    Ok(PublicMaterial::Rsa { n, e })
}

/// The keys a verifier trusts, by `kid`.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, VerifyingKey>,
}

impl KeySet {
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> Self {
        Self {
            keys: keys.into_iter().map(|key| (key.kid.clone(), key)).collect(),
        }
    }

    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.get(kid)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn keys(&self) -> impl Iterator<Item = &VerifyingKey> {
        self.keys.values()
    }

    /// Verifies the header and signature of a compact JWS and returns its claims;
    /// the caller still checks `exp`, `iss` and `aud`. The header's `alg` must be on
    /// `allowed` and be the algorithm of the key named by `kid` (RFC 8725 §3.1), so
    /// a token can never choose how it is checked.
    pub fn verify_jwt<T: DeserializeOwned>(
        &self,
        token: &str,
        expected_typ: &str,
        allowed: &[SigningAlgorithm],
    ) -> Result<T, JwtError> {
        self.verify_jws(token, expected_typ, allowed, jws::parse_claims)?
    }

    /// Like [`KeySet::verify_jwt`], but hands the verified payload to `read`, for
    /// callers that deserialize claims borrowing from it. The payload is decoded
    /// on the stack; nothing is decoded before the signature has verified.
    pub fn verify_jws<R>(
        &self,
        token: &str,
        expected_typ: &str,
        allowed: &[SigningAlgorithm],
        read: impl FnOnce(&[u8]) -> R,
    ) -> Result<R, JwtError> {
        let segments = jws::split(token)?;
        let mut header_buffer = [MaybeUninit::uninit(); MAX_HEADER_BYTES];
        let header_json =
            std::str::from_utf8(decode_segment_into(segments.header, &mut header_buffer)?)
                .map_err(|_| JwtError::Malformed)?;
        let header: jws::Header<'_> =
            serde_json::from_str(header_json).map_err(|_| JwtError::Malformed)?;
        if header.crit {
            return Err(JwtError::Malformed);
        }
        let alg: SigningAlgorithm = header
            .alg
            .parse()
            .map_err(|_| JwtError::AlgorithmNotAllowed)?;
        if !allowed.contains(&alg) {
            return Err(JwtError::AlgorithmNotAllowed);
        }
        if !jws::type_matches(header.typ.as_deref(), expected_typ) {
            return Err(JwtError::WrongType);
        }
        let kid = header.kid.as_deref().ok_or(JwtError::MissingKeyId)?;
        let key = self.keys.get(kid).ok_or(JwtError::UnknownKey)?;
        if key.alg != alg {
            return Err(JwtError::AlgorithmNotAllowed);
        }
        let mut signature_buffer = [MaybeUninit::uninit(); MAX_SIGNATURE_BYTES];
        let signature = decode_segment_into(segments.signature, &mut signature_buffer)?;
        key.verify_signature(segments.signing_input.as_bytes(), signature)?;
        let mut payload_buffer = [MaybeUninit::uninit(); JWT_MAX_LEN];
        Ok(read(decode_segment_into(
            segments.payload,
            &mut payload_buffer,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys::{ed25519_pair, sign};
    use serde_json::{json, Value};

    #[test]
    fn jwk_round_trip_keeps_kid_and_verifies() {
        let (pair, key) = ed25519_pair();
        let again = VerifyingKey::from_jwk(&key.to_jwk()).unwrap();
        assert_eq!(again.kid(), key.kid());
        assert_eq!(again.thumbprint(), key.kid());
        let set = KeySet::new([again]);
        let token = sign(
            &pair,
            &json!({"alg": "EdDSA", "typ": "at+jwt", "kid": key.kid()}),
            &json!({"sub": "a"}),
        );
        let claims: Value = set
            .verify_jwt(&token, "at+jwt", &SigningAlgorithm::ALL)
            .unwrap();
        assert_eq!(claims["sub"], "a");
        assert_eq!(
            set.verify_jwt::<Value>(&token, "at+jwt", &[SigningAlgorithm::Es256])
                .unwrap_err(),
            JwtError::AlgorithmNotAllowed
        );
    }

    #[test]
    fn header_problems_have_precise_errors() {
        let (pair, key) = ed25519_pair();
        let set = KeySet::new([key.clone()]);
        let claims = json!({"sub": "a"});
        let cases = [
            (
                json!({"alg": "EdDSA", "typ": "at+jwt"}),
                JwtError::MissingKeyId,
            ),
            (
                json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "other"}),
                JwtError::UnknownKey,
            ),
            (
                json!({"alg": "EdDSA", "typ": "JWT", "kid": key.kid()}),
                JwtError::WrongType,
            ),
            (
                json!({"alg": "HS256", "typ": "at+jwt", "kid": key.kid()}),
                JwtError::AlgorithmNotAllowed,
            ),
            (
                json!({"alg": "EdDSA", "typ": "at+jwt", "kid": key.kid(), "crit": ["exp"]}),
                JwtError::Malformed,
            ),
            (
                json!({"alg": "EdDSA", "typ": "at+jwt", "kid": key.kid(), "crit": null}),
                JwtError::Malformed,
            ),
        ];
        for (header, expected) in cases {
            let token = sign(&pair, &header, &claims);
            assert_eq!(
                set.verify_jwt::<Value>(&token, "at+jwt", &SigningAlgorithm::ALL)
                    .unwrap_err(),
                expected,
                "{header}"
            );
        }
        let not_json = sign(
            &pair,
            &json!({"alg": "EdDSA", "typ": "application/at+jwt", "kid": key.kid()}),
            &json!("just a string"),
        );
        assert_eq!(
            set.verify_jwt::<HashMap<String, Value>>(&not_json, "at+jwt", &SigningAlgorithm::ALL)
                .unwrap_err(),
            JwtError::InvalidClaims
        );
    }

    #[test]
    fn unusable_jwks_entries_are_refused() {
        let (_, key) = ed25519_pair();
        let mut jwk = key.to_jwk();
        jwk.use_ = Some("enc".into());
        assert!(VerifyingKey::from_jwk(&jwk).is_err());
        let mut jwk = key.to_jwk();
        jwk.alg = Some("ES256".into());
        assert!(VerifyingKey::from_jwk(&jwk).is_err());
        let mut jwk = key.to_jwk();
        jwk.kid = None;
        assert_eq!(
            VerifyingKey::from_jwk(&jwk).unwrap_err(),
            KeyMaterialError::MissingKeyId
        );
        let mut jwk = key.to_jwk();
        jwk.x = Some("not base64!".into());
        assert!(VerifyingKey::from_jwk(&jwk).is_err());
        let short_rsa = Jwk {
            kty: "RSA".into(),
            kid: Some("r".into()),
            alg: None,
            use_: None,
            crv: None,
            x: None,
            y: None,
            n: Some(encode_segment(&[0xab; 128])),
            e: Some("AQAB".into()),
        };
        assert!(VerifyingKey::from_jwk(&short_rsa).is_err());
        let oct = Jwk {
            kty: "oct".into(),
            ..short_rsa
        };
        assert!(VerifyingKey::from_jwk(&oct).is_err());
    }
}
