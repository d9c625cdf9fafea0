use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{AuthError, Principal};
use crate::domain::{OpaqueToken, OrgId, Role, SessionId, UserId};

/// Tokens are signed with Ed25519 (EdDSA): only the functions that issue tokens hold the
/// private key; every other function verifies with the public key alone.
const ALGORITHM: Algorithm = Algorithm::EdDSA;

/// Allowed clock difference between the issuing and the verifying function.
const LEEWAY_SECONDS: u64 = 5;

#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    /// How long a refresh session lives without being used.
    pub refresh_ttl: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: UserId,
    pub org: OrgId,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    /// The refresh session this token was issued for, so that logout can end it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<SessionId>,
    /// The credential version the token was issued under: every write re-checks it against
    /// the user's, so a password change or a logout everywhere stops the writes of tokens
    /// issued before it at once (reads trust the token until it expires). Tokens issued
    /// before it have none, and are not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cv: Option<u64>,
}

// The seed's `{access_token, token_type, expires_in}`, plus the session's refresh token.
/// The tokens of a session: an access token for requests, a refresh token to renew it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccessToken {
    /// A JWT to send as `Authorization: Bearer <access_token>`.
    #[schema(example = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl")]
    pub access_token: String,
    #[schema(example = "bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: u64,
    /// One-time token for `POST /api/v1/auth/refresh`; each use answers a new one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, example = "rt_5Jv0mQw9Yc3kPzT1aB7dXeL2nR8sU4hG6iK0oM")]
    pub refresh_token: Option<String>,
}

pub struct TokenIssuer {
    key: EncodingKey,
    settings: TokenSettings,
}

impl TokenIssuer {
    pub fn from_pem(private_key_pem: &str, settings: TokenSettings) -> Result<Self, AuthError> {
        let key = EncodingKey::from_ed_pem(private_key_pem.as_bytes()).map_err(|e| AuthError::Key(e.to_string()))?;
        Ok(Self { key, settings })
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// An access token and, for a session, its refresh token: what login, registration,
    /// invitation acceptance and refresh answer.
    pub fn issue_with_refresh(&self, principal: &Principal, refresh: &OpaqueToken) -> Result<AccessToken, AuthError> {
        let mut token = self.issue(principal)?;
        token.refresh_token = Some(refresh.expose().to_owned());
        Ok(token)
    }

    pub fn issue(&self, principal: &Principal) -> Result<AccessToken, AuthError> {
        let now = jsonwebtoken::get_current_timestamp();
        let ttl = self.settings.access_ttl.as_secs();
        let claims = Claims {
            sub: principal.user_id(),
            org: principal.org_id(),
            role: principal.role(),
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            iat: now,
            exp: now + ttl,
            sid: principal.session_id(),
            cv: principal.credential_version(),
        };
        self.sign(&claims).map(|access_token| AccessToken {
            access_token,
            token_type: "bearer",
            expires_in: ttl,
            refresh_token: None,
        })
    }

    /// Signs arbitrary claims; `issue` is the normal way in, this one lets tests build
    /// expired or foreign tokens with a real key.
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        jsonwebtoken::encode(&Header::new(ALGORITHM), claims, &self.key).map_err(|e| AuthError::Key(e.to_string()))
    }
}

pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    pub fn from_pem(public_key_pem: &str, settings: &TokenSettings) -> Result<Self, AuthError> {
        let key = DecodingKey::from_ed_pem(public_key_pem.as_bytes()).map_err(|e| AuthError::Key(e.to_string()))?;
        // `Validation::new` pins the algorithm: a token signed any other way (HS256 with the
        // public key as secret, `none`) is refused.
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        Ok(Self { key, validation })
    }

    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(|e| {
            tracing::info!(reason = %e, "access token refused");
            AuthError::InvalidToken
        })?;
        let c = data.claims;
        let principal = Principal::new(c.sub, c.org, c.role).in_session(c.sid);
        Ok(match c.cv {
            Some(version) => principal.under_credential_version(version),
            None => principal.without_credential_version(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> TokenSettings {
        TokenSettings {
            issuer: "taskflow".into(),
            audience: "taskflow-api".into(),
            access_ttl: Duration::from_secs(900),
            refresh_ttl: Duration::from_secs(3600),
        }
    }

    fn key_pair() -> (TokenIssuer, TokenVerifier) {
        let keys = crate::auth::keys::generate_signing_key_pair();
        (
            TokenIssuer::from_pem(&keys.private_pem, settings()).unwrap(),
            TokenVerifier::from_pem(&keys.public_pem, &settings()).unwrap(),
        )
    }

    fn principal() -> Principal {
        Principal::new(UserId::generate(), OrgId::generate(), Role::Member)
    }

    #[test]
    fn an_issued_token_verifies_to_the_same_principal() {
        let (issuer, verifier) = key_pair();
        let p = principal();
        let token = issuer.issue(&p).unwrap();
        assert_eq!(token.token_type, "bearer");
        assert_eq!(token.expires_in, 900);
        let back = verifier.verify(&token.access_token).unwrap();
        assert_eq!((back.user_id(), back.org_id(), back.role()), (p.user_id(), p.org_id(), p.role()));
    }

    #[test]
    fn expired_foreign_and_tampered_tokens_are_refused() {
        let (issuer, verifier) = key_pair();
        let now = jsonwebtoken::get_current_timestamp();
        let p = principal();
        let claims = |iss: &str, aud: &str, exp: u64| Claims {
            sub: p.user_id(),
            org: p.org_id(),
            role: Role::Admin,
            iss: iss.into(),
            aud: aud.into(),
            iat: now - 1000,
            exp,
            sid: None,
            cv: None,
        };
        let expired = issuer.sign(&claims("taskflow", "taskflow-api", now - 60)).unwrap();
        let other_issuer = issuer.sign(&claims("evil", "taskflow-api", now + 60)).unwrap();
        let other_audience = issuer.sign(&claims("taskflow", "other", now + 60)).unwrap();
        for token in [expired, other_issuer, other_audience] {
            assert!(matches!(verifier.verify(&token), Err(AuthError::InvalidToken)));
        }

        let good = issuer.sign(&claims("taskflow", "taskflow-api", now + 60)).unwrap();
        let mut parts: Vec<&str> = good.split('.').collect();
        let forged_payload = base64_url(&serde_json::to_vec(&claims("taskflow", "taskflow-api", now + 9999)).unwrap());
        parts[1] = &forged_payload;
        assert!(verifier.verify(&parts.join(".")).is_err(), "payload swapped under a valid signature");
        assert!(verifier.verify("not.a.token").is_err());
    }

    #[test]
    fn an_hmac_token_using_the_public_key_as_secret_is_refused() {
        let keys = crate::auth::keys::generate_signing_key_pair();
        let verifier = TokenVerifier::from_pem(&keys.public_pem, &settings()).unwrap();
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: UserId::generate(),
            org: OrgId::generate(),
            role: Role::Admin,
            iss: "taskflow".into(),
            aud: "taskflow-api".into(),
            iat: now,
            exp: now + 60,
            sid: None,
            cv: None,
        };
        let hs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(keys.public_pem.as_bytes()),
        )
        .unwrap();
        assert!(verifier.verify(&hs).is_err());
    }

    fn base64_url(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}
