use email_address::{EmailAddress, Options};

use super::{Invalid, parsed_string_type, text_schema};

/// An email address in one canonical form, so that one mailbox is one account: an RFC 5321
/// `addr-spec` (`local@domain`, no display name, comment, quoted local part or address
/// literal), the domain IDNA-normalised to ASCII (punycode, UTS #46), the local part in
/// Unicode NFC, and the whole address lower-cased. Addresses are unique across the whole service in this form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// RFC 5321 caps a forward path at 254 octets.
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let invalid = || Invalid::new("email", "must be an email address like name@example.com");
        let raw = raw.trim();
        if raw.len() > Self::MAX_LEN {
            return Err(Invalid::new("email", format!("must be at most {} characters", Self::MAX_LEN)));
        }
        // Quoted local parts make one mailbox spellable several ways ("a"@x and a@x); no
        // mail provider hands them out, so they are refused rather than canonicalised.
        let (local, domain) = raw.rsplit_once('@').ok_or_else(invalid)?;
        if local.contains('"') || local.contains('@') {
            return Err(invalid());
        }
        let domain = idna::domain_to_ascii_strict(domain).map_err(|_| invalid())?;
        let local = icu_normalizer::ComposingNormalizerBorrowed::new_nfc().normalize(local).to_lowercase();
        let email = format!("{local}@{domain}");
        let options = Options::default().without_display_text().without_domain_literal().with_required_tld();
        EmailAddress::parse_with_options(&email, options).map_err(|_| invalid())?;
        if email.len() > Self::MAX_LEN {
            return Err(Invalid::new("email", format!("must be at most {} characters", Self::MAX_LEN)));
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
    "An email address (`local@domain`, no display name), unique across TaskFlow: compared and answered lower-cased, with an internationalised domain in its punycode form.",
    example = "admin@acme.com",
    |b| b
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Email)))
        .max_length(Some(Self::MAX_LEN))
);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        assert_eq!(Email::parse("  Admin@Acme.COM ").unwrap().as_str(), "admin@acme.com");
    }

    #[test]
    fn internationalised_domains_become_punycode() {
        assert_eq!(Email::parse("Jürgen@Bücher.Example").unwrap().as_str(), "jürgen@xn--bcher-kva.example");
        assert_eq!(Email::parse("a@BÜCHER.example"), Email::parse("a@xn--bcher-kva.example"));
    }

    #[test]
    fn composed_and_decomposed_spellings_are_one_mailbox() {
        assert_eq!(Email::parse("j\u{fc}rgen@example.com"), Email::parse("ju\u{308}rgen@example.com"));
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in ["", "admin", "admin@", "@acme.com", "a@b", "a@@b.com", "a b@c.com", "a@.com", "a@b..com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Email::parse(&format!("{}@x.io", "a".repeat(260))).is_err());
    }

    #[test]
    fn display_names_comments_quotes_and_literals_are_refused() {
        for bad in [
            "x<a1@acme.test>",
            "Alice <alice@acme.test>",
            "<alice@acme.test>",
            "alice(comment)@acme.test",
            "\"alice\"@acme.test",
            "\"a@b\"@acme.test",
            "alice@[127.0.0.1]",
            "alice@acme.test (Alice)",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    proptest! {
        /// Whatever is accepted is already canonical: parsing it again changes nothing, so a
        /// stored address reads back as itself.
        #[test]
        fn an_accepted_address_is_a_fixed_point(raw in "\\PC{0,40}@\\PC{0,40}") {
            if let Ok(email) = Email::parse(&raw) {
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email.clone()));
                prop_assert!(email.as_str().len() <= Email::MAX_LEN);
                prop_assert_eq!(email.as_str().to_lowercase(), email.as_str());
                prop_assert!(email.as_str().rsplit_once('@').unwrap().1.is_ascii(), "the domain is punycode");
            }
        }

        /// Spellings of one mailbox that differ in case or surrounding blanks are one account.
        #[test]
        fn case_and_blanks_do_not_make_another_account(local in "[a-zA-Z0-9._%+-]{1,20}", domain in "[a-zA-Z0-9]{1,15}\\.[a-zA-Z]{2,6}") {
            let plain = Email::parse(&format!("{local}@{domain}"));
            let shouted = Email::parse(&format!("  {}@{} ", local.to_uppercase(), domain.to_uppercase()));
            prop_assert_eq!(plain, shouted);
        }

        /// Anything with a display name is refused, whatever the name.
        #[test]
        fn a_display_name_is_never_accepted(name in "\\PC{0,20}", local in "[a-z0-9]{1,10}") {
            let with_name = format!("{name}<{local}@acme.test>");
            prop_assert!(Email::parse(&with_name).is_err());
        }
    }
}
