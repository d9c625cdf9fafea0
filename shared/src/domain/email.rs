use super::{Invalid, parsed_string_type, text_schema};

/// An email address, normalised to lower case: addresses are unique across the whole
/// service, case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// RFC 5321 caps a forward path at 254 octets.
    pub const MAX_LEN: usize = 254;

    /// A deliberately plain check (one `@`, a dotted domain, no spaces): the only real test
    /// of an address is mail reaching it.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let email = raw.trim().to_lowercase();
        let invalid = || Invalid::new("email", "must be an email address like name@example.com");
        if email.len() > Self::MAX_LEN {
            return Err(Invalid::new("email", format!("must be at most {} characters", Self::MAX_LEN)));
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_ok =
            domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains("..");
        if local.is_empty()
            || !domain_ok
            || domain.contains('@')
            || email.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

parsed_string_type!(Email);
text_schema!(
    Email,
    "An email address, unique across TaskFlow and compared case-insensitively (answered in lower case).",
    example = "admin@acme.com",
    |b| b
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Email)))
        .max_length(Some(Self::MAX_LEN))
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(Email::parse("  Admin@Acme.COM ").unwrap().as_str(), "admin@acme.com");
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in ["", "admin", "admin@", "@acme.com", "a@b", "a@@b.com", "a b@c.com", "a@.com", "a@b..com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Email::parse(&format!("{}@x.io", "a".repeat(260))).is_err());
    }
}
