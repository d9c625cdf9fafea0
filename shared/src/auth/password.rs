use std::sync::LazyLock;

use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use super::AuthError;
use crate::domain::{Password, PasswordHash};

/// argon2id with OWASP's minimum recommendation: 19 MiB of memory, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &Password) -> Result<PasswordHash, AuthError> {
    hasher()
        .hash_password(password.expose())
        .map(|h| PasswordHash::from_phc(h.to_string()))
        .map_err(|e| AuthError::Hashing(e.to_string()))
}

/// A hash of a password nobody knows, with the same parameters as real ones. Checking a
/// login for an unknown email against it costs the same time as a real check, so response
/// times do not tell which emails have accounts.
static DUMMY_HASH: LazyLock<PasswordHash> = LazyLock::new(|| {
    let unguessable = Password::parse(&uuid::Uuid::new_v4().to_string()).expect("36 chars");
    hash_password(&unguessable).expect("hashing a fixed-size password cannot fail")
});

/// True when `password` matches `stored`. With no stored hash (unknown email) it still
/// runs a full verification, against [`DUMMY_HASH`], and answers false.
pub(super) fn verify_password(password: &Password, stored: Option<&PasswordHash>) -> bool {
    let (hash, known) = match stored {
        Some(hash) => (hash, true),
        None => (&*DUMMY_HASH, false),
    };
    let Ok(parsed) = Phc::new(hash.as_phc()) else {
        tracing::error!("a stored password hash does not parse as PHC");
        return false;
    };
    hasher().verify_password(password.expose(), &parsed).is_ok() && known
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let hash = hash_password(&Password::parse("admin123").unwrap()).unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[test]
    fn verification_accepts_only_the_right_password() {
        let right = Password::parse("admin123").unwrap();
        let wrong = Password::parse("admin124").unwrap();
        let hash = hash_password(&right).unwrap();
        assert!(verify_password(&right, Some(&hash)));
        assert!(!verify_password(&wrong, Some(&hash)));
    }

    #[test]
    fn an_unknown_account_never_verifies() {
        assert!(!verify_password(&Password::parse("admin123").unwrap(), None));
    }
}
