use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Invalid, OrgId, bounded_text, parsed_string_type, text_schema};

/// An organization's display name: 1 to 100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgName(String);

impl OrgName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        bounded_text("name", raw, 1, 100).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
parsed_string_type!(OrgName);
text_schema!(OrgName, "1 to 100 characters after trimming, no control characters.", example = "Acme Corp", |b| b
    .min_length(Some(1))
    .max_length(Some(100))
    .pattern(Some(super::SINGLE_LINE_TEXT)));

/// The organization's URL-safe handle, unique across the service: lower-case letters and
/// digits in groups joined by single hyphens, 3 to 63 characters (a DNS label, so it can
/// become a subdomain later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSlug(String);

impl OrgSlug {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let invalid = || {
            Invalid::new(
                "organization_slug",
                "must be 3 to 63 lower-case letters, digits and single hyphens, like acme-corp",
            )
        };
        let ok_len = (3..=63).contains(&raw.len());
        let ok_groups =
            raw.split('-').all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        if ok_len && ok_groups { Ok(Self(raw.to_owned())) } else { Err(invalid()) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
parsed_string_type!(OrgSlug);
text_schema!(
    OrgSlug,
    "The organization's permanent handle, unique across TaskFlow: lower-case letters, digits and single hyphens.",
    example = "acme-corp",
    |b| b.min_length(Some(3)).max_length(Some(63)).pattern(Some("^[a-z0-9]+(-[a-z0-9]+)*$"))
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Organization {
    pub id: OrgId,
    pub name: OrgName,
    pub slug: OrgSlug,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_dns_labels() {
        for good in ["acme-corp", "techstart-inc", "a1b", "abc"] {
            assert!(OrgSlug::parse(good).is_ok(), "{good}");
        }
        for bad in ["ab", "Acme", "-acme", "acme-", "ac--me", "ac me", "acmé", &"a".repeat(64)] {
            assert!(OrgSlug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(OrgName::parse("  Acme Corp ").unwrap().as_str(), "Acme Corp");
        assert!(OrgName::parse("   ").is_err());
        assert!(OrgName::parse(&"x".repeat(101)).is_err());
        assert!(OrgName::parse("a\u{0}b").is_err());
    }
}
