use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Email, Invalid, OrgId, UserId, text_schema};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Member,
}

// The password hash is not here: it lives with the login credentials, so no code path
// that answers with a `User` can leak it.
/// A member of an organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub role: Role,
    pub organization_id: OrgId,
    pub created_at: DateTime<Utc>,
    /// Whether the user proved they read mail at this address: by the link of the
    /// verification mail, by accepting an invitation sent there, or by a password reset.
    /// Until then they get no task mail and cannot invite. Users stored before verification
    /// existed read as unverified.
    #[serde(default)]
    pub email_verified: bool,
}

/// A password as the client sent it, checked for length only (OWASP: at least 8, and a cap
/// so that hashing cannot be used to burn CPU). Its `Debug` hides it, so it cannot reach a log.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let chars = raw.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            return Err(Invalid::new(
                "password",
                format!("must be {} to {} characters", Self::MIN_CHARS, Self::MAX_CHARS),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

text_schema!(Password, "8 to 128 characters. Never answered, never logged.", example = "admin123", |b| b
    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Password)))
    .min_length(Some(Self::MIN_CHARS))
    .max_length(Some(Self::MAX_CHARS))
    .write_only(true));

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(**redacted**)")
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Password::parse(&raw).map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_length_is_bounded_in_characters() {
        assert!(Password::parse("admin12").is_err());
        assert!(Password::parse("admin123").is_ok());
        assert!(Password::parse(&"é".repeat(128)).is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn password_debug_never_shows_the_secret() {
        let p = Password::parse("hunter2hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
