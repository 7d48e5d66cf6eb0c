//! RSA key generation and public-key encodings. ring signs and verifies RS256 but
//! cannot generate RSA keys or read their parts, so the `rsa` crate does exactly
//! that, and nothing else: no signing or decryption happens with it.

use rsa::{
    pkcs1::DecodeRsaPublicKey,
    pkcs8::{EncodePrivateKey, EncodePublicKey},
    traits::PublicKeyParts,
    RsaPrivateKey, RsaPublicKey,
};

use crate::KeyError;

/// NIST SP 800-57's minimum for keys in use beyond 2030 would be 3072; 2048 is what
/// Keycloak and most verifiers expect today, and ring refuses anything smaller.
const RSA_BITS: usize = 2048;

/// A new RSA key as a PKCS#8 document.
pub(crate) fn generate_pkcs8() -> Result<Vec<u8>, KeyError> {
    let key =
        RsaPrivateKey::new(&mut rand_core::OsRng, RSA_BITS).map_err(|_| KeyError::Generation)?;
    let document = key.to_pkcs8_der().map_err(|_| KeyError::Generation)?;
    Ok(document.as_bytes().to_vec())
}

/// Modulus and exponent (big-endian) and the SubjectPublicKeyInfo DER of a DER
/// RSAPublicKey; `None` when it does not parse or is shorter than 2048 bits.
pub(crate) fn public_parts(rsa_public_key: &[u8]) -> Option<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let key = RsaPublicKey::from_pkcs1_der(rsa_public_key).ok()?;
    if key.n().bits() < RSA_BITS {
        return None;
    }
    let spki = key.to_public_key_der().ok()?;
    Some((
        key.n().to_bytes_be(),
        key.e().to_bytes_be(),
        spki.as_bytes().to_vec(),
    ))
}
