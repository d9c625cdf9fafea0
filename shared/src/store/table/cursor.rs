//! Opaque page cursors. A cursor names the last task of a page, the tenant and the filter
//! it was made for, and carries an HMAC, so a client can neither forge one nor replay one
//! across tenants or filters: either is refused instead of silently paging elsewhere.

use super::scope::TenantScope;
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the cursor is not one this API issued")]
    Invalid,
    #[error("the cursor belongs to another query")]
    OtherQuery,
}

pub struct CursorKey(hmac::Key);

impl CursorKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// A fresh random secret (256 bits, hex) for `TASKFLOW_CURSOR_KEY`.
    pub fn generate_secret() -> String {
        let mut bytes = [0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).expect("the system RNG works");
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A cursor after `last`, for the listing named by `query` (e.g. a task filter's
    /// fingerprint), in the scope's tenant.
    pub fn encode(&self, scope: &TenantScope, query: &str, last: impl std::fmt::Display) -> String {
        let payload = format!("{}|{query}|{last}", scope.org_id());
        let tag = hmac::sign(&self.0, payload.as_bytes());
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    pub fn decode<K>(
        &self,
        scope: &TenantScope,
        query: &str,
        cursor: &str,
        parse: impl Fn(&str) -> Option<K>,
    ) -> Result<K, CursorError> {
        let (payload, tag) = cursor.split_once('.').ok_or(CursorError::Invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| CursorError::Invalid)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| CursorError::Invalid)?;
        hmac::verify(&self.0, &payload, &tag).map_err(|_| CursorError::Invalid)?;
        let payload = String::from_utf8(payload).map_err(|_| CursorError::Invalid)?;
        let mut parts = payload.split('|');
        let (Some(org), Some(fingerprint), Some(last), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CursorError::Invalid);
        };
        if org != scope.org_id().to_string() || fingerprint != query {
            return Err(CursorError::OtherQuery);
        }
        parse(last).ok_or(CursorError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{TaskId, TaskStatus, UserId};
    use crate::store::TaskFilter;

    #[test]
    fn a_cursor_round_trips_for_its_own_tenant_and_filter() {
        let key = CursorKey::new(b"k");
        let scope = TenantScope::for_new_organization();
        let filter = TaskFilter::new(Some(TaskStatus::Done), Some(UserId::generate()));
        let last = TaskId::generate();
        let cursor = key.encode(&scope, &filter.fingerprint(), last);
        assert_eq!(key.decode(&scope, &filter.fingerprint(), &cursor, TaskId::parse), Ok(last));
    }

    #[test]
    fn another_tenants_or_another_filters_cursor_is_refused() {
        let key = CursorKey::new(b"k");
        let (mine, theirs) = (TenantScope::for_new_organization(), TenantScope::for_new_organization());
        let cursor = key.encode(&theirs, &TaskFilter::default().fingerprint(), TaskId::generate());
        assert_eq!(
            key.decode(&mine, &TaskFilter::default().fingerprint(), &cursor, TaskId::parse),
            Err(CursorError::OtherQuery)
        );
        let done = TaskFilter::new(Some(TaskStatus::Done), None);
        let cursor = key.encode(&mine, &TaskFilter::default().fingerprint(), TaskId::generate());
        assert_eq!(key.decode(&mine, &done.fingerprint(), &cursor, TaskId::parse), Err(CursorError::OtherQuery));
    }

    #[test]
    fn tampered_or_foreign_key_cursors_are_refused() {
        let key = CursorKey::new(b"k");
        let scope = TenantScope::for_new_organization();
        let filter = TaskFilter::default();
        let cursor = key.encode(&scope, &filter.fingerprint(), TaskId::generate());
        let (payload, tag) = cursor.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(format!("{}|all|{}", scope.org_id(), TaskId::generate()));
        for bad in [
            format!("{forged_payload}.{tag}"),
            format!("{payload}.AAAA"),
            "garbage".to_owned(),
            String::new(),
            CursorKey::new(b"other").encode(&scope, &filter.fingerprint(), TaskId::generate()),
        ] {
            assert_eq!(
                key.decode(&scope, &filter.fingerprint(), &bad, TaskId::parse),
                Err(CursorError::Invalid),
                "{bad}"
            );
        }
    }
}
