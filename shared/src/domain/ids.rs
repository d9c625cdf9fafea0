use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
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
        }

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
    OrgId
);
id_type!(
    /// A user; users belong to exactly one organization.
    UserId
);
id_type!(
    /// A task, owned by one organization.
    TaskId
);

id_type!(
    /// A pending invitation to join an organization.
    InvitationId
);
id_type!(
    /// A refresh session: one login and the chain of refresh tokens rotated from it.
    SessionId
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
