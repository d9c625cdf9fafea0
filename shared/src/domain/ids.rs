use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[doc = $doc:literal])* $name:ident, example = $example:literal) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id (UUIDv7): its text sorts by creation time, which the
            /// store relies on for newest-first listing.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn parse(raw: &str) -> Option<Self> {
                Uuid::try_parse(raw).ok().map(Self)
            }

            /// The id's 16 bytes, for a compact binary form (an API key's locator).
            pub fn to_bytes(self) -> [u8; 16] {
                self.0.into_bytes()
            }

            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid)))
                    .description(Some(concat!($($doc),*).trim()))
                    .examples([$example])
                    .into()
            }
        }
        impl utoipa::ToSchema for $name {}

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // Hyphenated lowercase: fixed width, so lexical order is time order.
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

id_type!(
    /// An organization (tenant).
    OrgId,
    example = "0193a5b0-7e1c-7d2a-9c4e-2f1b3a4c5d6e"
);
id_type!(
    /// A user; users belong to exactly one organization.
    UserId,
    example = "0193a5b0-7e1d-7f00-8a11-5b6c7d8e9f01"
);
id_type!(
    /// A task, owned by one organization.
    TaskId,
    example = "0193a5b2-1c3d-7e4f-9a5b-6c7d8e9f0a1b"
);

id_type!(
    /// A pending invitation to join an organization.
    InvitationId,
    example = "0193a5b3-2d4e-7f50-8b6c-7d8e9f0a1b2c"
);
id_type!(
    /// An export of an organization's data, asked for by an admin.
    ExportId,
    example = "0193a5b5-4f60-7172-8d8e-9f0a1b2c3d4e"
);
id_type!(
    /// An API key: a service's credential for one organization.
    ApiKeyId,
    example = "0193a5b6-5071-7283-9e9f-0a1b2c3d4e5f"
);
id_type!(
    /// A webhook: an endpoint of the organization that events are delivered to.
    WebhookId,
    example = "0193a5b7-6182-7394-8fa0-1b2c3d4e5f60"
);
id_type!(
    /// A refresh session: one login and the chain of refresh tokens rotated from it.
    SessionId,
    example = "0193a5b4-3e5f-7061-9c7d-8e9f0a1b2c3d"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_sort_by_creation_time_as_text() {
        let ids: Vec<String> = (0..50).map(|_| TaskId::generate().to_string()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn parse_rejects_what_is_not_a_uuid() {
        assert!(TaskId::parse("not-a-uuid").is_none());
        assert!(TaskId::parse("").is_none());
        let id = TaskId::generate();
        assert_eq!(TaskId::parse(&id.to_string()), Some(id));
    }
}
