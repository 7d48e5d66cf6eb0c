use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, NONCE_LEN};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::KeyError;

const MASTER_KEY_LEN: usize = 32;
// Domain-separation labels: each subkey is HMAC(master, label), so a digest can
// never be confused with an encryption key even though both come from one secret.
const SEALING_LABEL: &[u8] = b"tessera/v1/seal-signing-keys";
const DIGEST_LABEL: &[u8] = b"tessera/v1/secret-digest";
const PEPPER_LABEL: &[u8] = b"tessera/v1/password-pepper";

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("master key must be {MASTER_KEY_LEN} bytes encoded as base64")]
    Invalid,
    #[error("the system random generator failed")]
    Random,
}

/// The installation's root secret. `Debug` is redacted.
pub struct MasterKey([u8; MASTER_KEY_LEN]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn generate() -> Result<Self, MasterKeyError> {
        let mut bytes = [0u8; MASTER_KEY_LEN];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| MasterKeyError::Random)?;
        Ok(Self(bytes))
    }

    /// Parses the key file's content: base64 of 32 bytes, surrounding whitespace ignored.
    pub fn from_base64(text: &str) -> Result<Self, MasterKeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| MasterKeyError::Invalid)?;
        let bytes: [u8; MASTER_KEY_LEN] = bytes.try_into().map_err(|_| MasterKeyError::Invalid)?;
        Ok(Self(bytes))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    fn subkey(&self, label: &[u8]) -> [u8; 32] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let tag = hmac::sign(&key, label);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    pub fn sealer(&self) -> Result<Sealer, KeyError> {
        let unbound = UnboundKey::new(&aead::AES_256_GCM, &self.subkey(SEALING_LABEL))
            .map_err(|_| KeyError::Generation)?;
        Ok(Sealer {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        })
    }

    pub fn digester(&self) -> SecretDigester {
        SecretDigester(hmac::Key::new(
            hmac::HMAC_SHA256,
            &self.subkey(DIGEST_LABEL),
        ))
    }

    pub fn password_pepper(&self) -> PasswordPepper {
        PasswordPepper(hmac::Key::new(
            hmac::HMAC_SHA256,
            &self.subkey(PEPPER_LABEL),
        ))
    }
}

/// The pepper of password hashes: a password is HMAC'd under a subkey of the
/// master key before argon2id sees it, so a database dump alone allows no
/// offline guessing (the master key never is in the database).
#[derive(Clone)]
pub struct PasswordPepper(hmac::Key);

impl fmt::Debug for PasswordPepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordPepper(<redacted>)")
    }
}

impl PasswordPepper {
    /// What argon2id hashes instead of the password itself.
    pub fn pepper(&self, password: &str) -> [u8; 32] {
        let tag = hmac::sign(&self.0, password.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

/// Encrypts signing keys at rest with AES-256-GCM. The sealed form is
/// `nonce || ciphertext || tag`; the key id is bound as associated data so a
/// sealed key cannot be swapped onto another key's row.
pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    pub fn seal(&self, plaintext: &[u8], associated: &str) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| KeyError::Generation)?;
        let mut in_out = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| KeyError::Generation)?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&in_out);
        Ok(sealed)
    }

    pub fn open(&self, sealed: &[u8], associated: &str) -> Result<Vec<u8>, KeyError> {
        if sealed.len() < NONCE_LEN {
            return Err(KeyError::Unseal);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Unseal)?;
        let mut in_out = ciphertext.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(associated.as_bytes()), &mut in_out)
            .map_err(|_| KeyError::Unseal)?;
        Ok(plaintext.to_vec())
    }
}

/// Keyed digest (HMAC-SHA256) under which tokens and client secrets are stored
/// and looked up. A leaked database gives no usable secret and, without the
/// master key, no way to test guesses offline.
#[derive(Clone)]
pub struct SecretDigester(hmac::Key);

impl fmt::Debug for SecretDigester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigester(<redacted>)")
    }
}

impl SecretDigester {
    pub fn digest(&self, secret: &str) -> Vec<u8> {
        hmac::sign(&self.0, secret.as_bytes()).as_ref().to_vec()
    }

    /// Constant-time comparison of a presented secret with a stored digest.
    pub fn matches(&self, secret: &str, stored_digest: &[u8]) -> bool {
        hmac::verify(&self.0, secret.as_bytes(), stored_digest).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_the_same_key_and_id() {
        let master = MasterKey::generate().unwrap();
        let sealer = master.sealer().unwrap();
        let sealed = sealer.seal(b"private", "kid-1").unwrap();
        assert_eq!(sealer.open(&sealed, "kid-1").unwrap(), b"private");
        assert!(sealer.open(&sealed, "kid-2").is_err());
        let other = MasterKey::generate().unwrap().sealer().unwrap();
        assert!(other.open(&sealed, "kid-1").is_err());
        assert!(sealer.open(&sealed[..5], "kid-1").is_err());
    }

    #[test]
    fn master_key_round_trips_and_rejects_garbage() {
        let master = MasterKey::generate().unwrap();
        let again = MasterKey::from_base64(&format!("{}\n", master.to_base64())).unwrap();
        assert_eq!(master.digester().digest("x"), again.digester().digest("x"));
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(!format!("{master:?}").contains(&master.to_base64()));
    }

    #[test]
    fn digests_match_only_their_secret() {
        let digester = MasterKey::generate().unwrap().digester();
        let stored = digester.digest("secret");
        assert!(digester.matches("secret", &stored));
        assert!(!digester.matches("Secret", &stored));
    }
}
