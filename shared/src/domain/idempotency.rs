//! The `Idempotency-Key` a client sends to make a POST safe to retry (IETF
//! draft-ietf-httpapi-idempotency-key-header).

/// A client's key: 1 to 255 visible ASCII characters, sent bare (`abc`) or as the draft's
/// structured-field string (`"abc"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let inner = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(raw);
        let visible = inner.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"');
        (visible && (1..=Self::MAX_LEN).contains(&inner.len())).then(|| Self(inner.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_visible_ascii_bare_or_quoted() {
        assert_eq!(IdempotencyKey::parse("8e03978e-40d5").unwrap().as_str(), "8e03978e-40d5");
        assert_eq!(IdempotencyKey::parse("\"8e03978e-40d5\"").unwrap().as_str(), "8e03978e-40d5");
        assert_eq!(IdempotencyKey::parse(&"k".repeat(255)).unwrap().as_str().len(), 255);
        for bad in ["", "\"\"", "has space", "tab\there", "ünï", "\"half", &"k".repeat(256)] {
            assert_eq!(IdempotencyKey::parse(bad), None, "{bad:?}");
        }
    }
}
