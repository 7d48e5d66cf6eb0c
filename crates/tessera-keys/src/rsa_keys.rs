//! RSA key generation. ring signs and verifies RS256 but cannot generate RSA keys,
//! so the `rsa` crate does exactly that, and nothing else: no signing, verification
//! or decryption happens with it.

use rsa::pkcs8::EncodePrivateKey;
use rsa::RsaPrivateKey;

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
