//! API keys: a service's credential for one organization. A key acts for the admin who made
//! it, with the role it was given and never more than that admin has now; it is shown once,
//! when it is made, and only its hash is stored.

use aws_lc_rs::constant_time;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{
    ApiKeyId, Invalid, OpaqueToken, OrgId, Role, TokenHash, UserId, bounded_text, parsed_string_type, text_schema,
};

/// What a key is for, as its admin named it: 1 to 100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyName(String);

impl ApiKeyName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        bounded_text("name", raw, 1, 100).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
parsed_string_type!(ApiKeyName);
text_schema!(ApiKeyName, "1 to 100 characters after trimming, no control characters.", example = "CI pipeline", |b| b
    .min_length(Some(1))
    .max_length(Some(100))
    .pattern(Some(super::SINGLE_LINE_TEXT)));

/// The body of `POST /api/v1/api-keys`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "CI pipeline", "role": "member", "expires_at": "2027-06-30T00:00:00Z"}))]
pub struct ApiKeyDraft {
    #[serde(deserialize_with = "super::visible")]
    pub name: ApiKeyName,
    pub role: Role,
    /// When the key stops working; absent: never (until revoked). In the future, at most
    /// 10 years ahead.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// An API key as admins see it. Its secret is not here: it is answered once, at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub organization_id: OrgId,
    pub name: ApiKeyName,
    /// What the key may do; never more than its creator may do at the time of the request.
    pub role: Role,
    /// The key's first characters, not secret: what tells keys apart in a list and in a
    /// secret scanner's findings.
    #[schema(example = "tf_AZOltVBxcoOeng8KGywtPl8BlKW1UHFyg56fDwobLD5fAZOltVBxcoOeng8KGywt")]
    pub prefix: String,
    /// The admin the key acts for.
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// When the key last authenticated a request, to the minute (it is written at most once a
    /// minute); `null` if never.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The answer to creating a key: the key, and its secret, which is never shown again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    /// Send as `Authorization: Bearer <secret>`. Store it now: only its hash is kept.
    #[schema(
        example = "tf_AZOltVBxcoOeng8KGywtPl8BlKW1UHFyg56fDwobLD5fAZOltVBxcoOeng8KGywt_5Jv0mQw9Yc3kPzT1aB7dXeL2nR8sU4hG6iK0oMpQrSt"
    )]
    pub secret: String,
}

/// The longest a key may be made to live.
pub const MAX_API_KEY_LIFETIME: Duration = Duration::days(3653);

impl ApiKey {
    /// The key of `draft`, made by `created_by` now, with its secret. An expiry in the past
    /// or more than 10 years ahead is refused.
    pub fn new(
        draft: ApiKeyDraft,
        organization_id: OrgId,
        created_by: UserId,
        now: DateTime<Utc>,
    ) -> Result<(Self, ApiKeySecret), Invalid> {
        if let Some(expires_at) = draft.expires_at {
            if expires_at <= now {
                return Err(Invalid::new("expires_at", "must be in the future"));
            }
            if expires_at > now + MAX_API_KEY_LIFETIME {
                return Err(Invalid::new("expires_at", "must be at most 10 years ahead"));
            }
        }
        let id = ApiKeyId::generate();
        let secret = ApiKeySecret::generate(organization_id, id, created_by);
        let key = Self {
            id,
            organization_id,
            name: draft.name,
            role: draft.role,
            prefix: secret.prefix(),
            created_by,
            created_at: now,
            expires_at: draft.expires_at,
            last_used_at: None,
        };
        Ok((key, secret))
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    /// The role a request made with the key has: the key's, capped by its creator's role
    /// now, so a key never does more than the admin it acts for still may.
    pub fn effective_role(&self, creator_role: Role) -> Role {
        match (self.role, creator_role) {
            (Role::Admin, Role::Admin) => Role::Admin,
            _ => Role::Member,
        }
    }
}

/// Characters of the prefix: `tf_` and the locator, the base64url of the organization's, the
/// key's and its creator's ids (48 bytes).
const PREFIX_CHARS: usize = 3 + 64;
const TOKEN_CHARS: usize = PREFIX_CHARS + 1 + 43;

/// The whole key a client sends: `tf_<locator>_<secret>`. The locator (the organization's,
/// the key's and its creator's ids, base64url) finds the stored key and the user it acts for
/// with one read and no index; the secret (256 random bits) is what proves it, checked
/// against the stored hash. What the locator claims is trusted only once the secret matched
/// and the stored key names the same creator. Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret {
    organization_id: OrgId,
    id: ApiKeyId,
    created_by: UserId,
    secret: OpaqueToken,
}

impl ApiKeySecret {
    fn generate(organization_id: OrgId, id: ApiKeyId, created_by: UserId) -> Self {
        Self { organization_id, id, created_by, secret: OpaqueToken::generate() }
    }

    /// Whether a bearer token is meant as an API key (rather than an access token, which
    /// never starts so: a JWT starts with its base64url header, `eyJ`).
    pub fn looks_like_one(raw: &str) -> bool {
        raw.starts_with("tf_")
    }

    /// A key as a client sent it; anything not of the form is refused before any lookup.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() != TOKEN_CHARS || !raw.is_char_boundary(PREFIX_CHARS) || !raw.starts_with("tf_") {
            return None;
        }
        let (prefix, rest) = raw.split_at(PREFIX_CHARS);
        let secret = OpaqueToken::parse(rest.strip_prefix('_')?)?;
        let ids = URL_SAFE_NO_PAD.decode(&prefix[3..]).ok()?;
        let ids: [u8; 48] = ids.try_into().ok()?;
        let part = |i: usize| -> [u8; 16] { ids[i * 16..(i + 1) * 16].try_into().expect("16 of 48 bytes") };
        Some(Self {
            organization_id: OrgId::from_bytes(part(0)),
            id: ApiKeyId::from_bytes(part(1)),
            created_by: UserId::from_bytes(part(2)),
            secret,
        })
    }

    pub fn organization_id(&self) -> OrgId {
        self.organization_id
    }

    pub fn id(&self) -> ApiKeyId {
        self.id
    }

    /// The creator the key claims to act for (see the type's note).
    pub fn created_by(&self) -> UserId {
        self.created_by
    }

    /// `tf_` and the locator: not secret.
    pub fn prefix(&self) -> String {
        let mut ids = [0u8; 48];
        ids[..16].copy_from_slice(&self.organization_id.to_bytes());
        ids[16..32].copy_from_slice(&self.id.to_bytes());
        ids[32..].copy_from_slice(&self.created_by.to_bytes());
        format!("tf_{}", URL_SAFE_NO_PAD.encode(ids))
    }

    pub fn hash(&self) -> TokenHash {
        self.secret.hash()
    }

    /// Whether `stored` is this key's hash, compared in constant time.
    pub fn matches(&self, stored: &TokenHash) -> bool {
        constant_time::verify_slices_are_equal(self.hash().as_str().as_bytes(), stored.as_str().as_bytes()).is_ok()
    }

    /// The whole key, for the one answer that shows it.
    pub fn expose(&self) -> String {
        format!("{}_{}", self.prefix(), self.secret.expose())
    }
}

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeySecret({}_**redacted**)", self.prefix())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn draft(expires_at: Option<DateTime<Utc>>) -> ApiKeyDraft {
        ApiKeyDraft { name: ApiKeyName::parse("ci").unwrap(), role: Role::Member, expires_at }
    }

    #[test]
    fn a_key_parses_back_to_its_ids_and_proves_only_its_own_hash() {
        let now = Utc::now();
        let (key, secret) = ApiKey::new(draft(None), OrgId::generate(), UserId::generate(), now).unwrap();
        let raw = secret.expose();
        assert_eq!(raw.len(), TOKEN_CHARS);
        assert!(raw.starts_with(&key.prefix) && ApiKeySecret::looks_like_one(&raw));
        let back = ApiKeySecret::parse(&raw).unwrap();
        assert_eq!(
            (back.organization_id(), back.id(), back.created_by()),
            (key.organization_id, key.id, key.created_by)
        );
        assert!(back.matches(&secret.hash()));
        let (_, other) = ApiKey::new(draft(None), key.organization_id, key.created_by, now).unwrap();
        assert!(!back.matches(&other.hash()));
        assert!(!format!("{secret:?}").contains(&raw[PREFIX_CHARS + 1..]), "Debug must not show the secret");
    }

    #[test]
    fn malformed_keys_are_refused() {
        let (_, secret) = ApiKey::new(draft(None), OrgId::generate(), UserId::generate(), Utc::now()).unwrap();
        let raw = secret.expose();
        let wrong_separator = format!("{}-{}", &raw[..PREFIX_CHARS], &raw[PREFIX_CHARS + 1..]);
        let other_scheme = format!("tk_{}", &raw[3..]);
        let non_ascii = format!("{}é{}", &raw[..PREFIX_CHARS - 1], &raw[PREFIX_CHARS + 1..]);
        for bad in ["", "tf_", &raw[..raw.len() - 1], &format!("{raw}x"), &wrong_separator, &other_scheme, &non_ascii] {
            assert!(ApiKeySecret::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn an_expiry_must_be_ahead_and_within_ten_years() {
        let now = Utc::now();
        let (org, user) = (OrgId::generate(), UserId::generate());
        for bad in [now, now - Duration::seconds(1), now + MAX_API_KEY_LIFETIME + Duration::seconds(1)] {
            assert_eq!(ApiKey::new(draft(Some(bad)), org, user, now).unwrap_err().field, "expires_at");
        }
        let (key, _) = ApiKey::new(draft(Some(now + Duration::hours(1))), org, user, now).unwrap();
        assert!(!key.is_expired(now) && key.is_expired(now + Duration::hours(1)));
    }

    #[test]
    fn a_key_never_has_more_than_its_creator() {
        let (mut key, _) = ApiKey::new(draft(None), OrgId::generate(), UserId::generate(), Utc::now()).unwrap();
        key.role = Role::Admin;
        assert_eq!(key.effective_role(Role::Admin), Role::Admin);
        assert_eq!(key.effective_role(Role::Member), Role::Member);
        key.role = Role::Member;
        assert_eq!(key.effective_role(Role::Admin), Role::Member);
    }

    proptest! {
        /// Whatever a client sends as a bearer token, parsing it never panics, and what
        /// parses is of the key's exact form.
        #[test]
        fn parsing_any_text_is_total(raw in "tf_[A-Za-z0-9_é-]{0,120}") {
            if let Some(key) = ApiKeySecret::parse(&raw) {
                prop_assert_eq!(key.expose(), raw);
            }
        }

        /// Every text of the key's form parses, to the ids its locator encodes, and shows
        /// itself back unchanged.
        #[test]
        fn every_key_of_the_form_parses_to_its_ids(ids in prop::collection::vec(any::<u8>(), 48), secret in any::<[u8; 32]>()) {
            let raw = format!("tf_{}_{}", URL_SAFE_NO_PAD.encode(&ids), URL_SAFE_NO_PAD.encode(secret));
            let key = ApiKeySecret::parse(&raw).expect("a key of the form parses");
            let found = [key.organization_id().to_bytes(), key.id().to_bytes(), key.created_by().to_bytes()].concat();
            prop_assert_eq!(found, ids);
            prop_assert_eq!(key.expose(), raw);
        }
    }
}
