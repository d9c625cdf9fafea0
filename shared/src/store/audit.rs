//! The audit log, in each organization's own partition: one item per event, keyed by when it
//! happened and its event id, so an entry is written once however often its event comes,
//! a page reads newest first, and a time range is a key condition. Items go by TTL after
//! the retention period, and with the organization when it is deleted. Nothing but the
//! audit writer puts them; the API only reads.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::table::keys::{AUDIT_SK_PREFIX, PK, SK, audit_sk, tenant_pk};
use super::table::page_of;
use super::table::transaction::Transaction;
use super::{Page, Store, StoreError, TenantScope};
use crate::domain::AuditEntry;
use crate::domain::events::{Actor, EventId};

#[derive(Serialize, Deserialize)]
struct AuditItem {
    pk: String,
    sk: String,
    /// The actor's id, for the `actor_id` filter (absent for the service's own changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    actor_id: Option<String>,
    #[serde(flatten)]
    entry: AuditEntry,
    /// The table's TTL attribute: epoch seconds.
    expires_at: i64,
}

/// Which entries a page asks for: by actor, by event type, within a time range (inclusive).
/// The range is a key condition; actor and type filter what it reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// A user's or an API key's id.
    pub actor: Option<uuid::Uuid>,
    pub event_type: Option<&'static str>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl AuditFilter {
    /// A stable text naming the filter, which cursors are bound to.
    pub fn fingerprint(&self) -> String {
        let at = |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp_micros().to_string()).unwrap_or_default();
        format!(
            "audit?actor={}&type={}&since={}&until={}",
            self.actor.map(|a| a.to_string()).unwrap_or_default(),
            self.event_type.unwrap_or_default(),
            at(self.since),
            at(self.until)
        )
    }
}

/// Where a page of the log ends: the sort key of the last entry read, which the next page
/// starts after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPosition(String);

impl AuditPosition {
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix(AUDIT_SK_PREFIX)?;
        let (at, event) = rest.rsplit_once('#')?;
        (DateTime::parse_from_rfc3339(at).is_ok() && EventId::parse(event).is_some()).then(|| Self(raw.to_owned()))
    }
}

impl std::fmt::Display for AuditPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a write of an entry ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entered {
    Written,
    /// The entry was there already: its event came again.
    AlreadyThere,
    /// The organization is gone or being deleted: nothing is written into its partition.
    OrganizationGone,
}

/// The stored form of `entry`, in the organization's partition, by time then event id.
fn item_of(scope: &TenantScope, entry: &AuditEntry, expires_at: i64) -> AuditItem {
    AuditItem {
        pk: tenant_pk(scope),
        sk: audit_sk(entry.occurred_at, entry.event_id),
        actor_id: match entry.actor {
            Some(Actor::User { id }) => Some(id.to_string()),
            Some(Actor::ApiKey { id }) => Some(id.to_string()),
            _ => None,
        },
        entry: entry.clone(),
        expires_at,
    }
}

pub struct AuditStore<'a> {
    pub(super) store: &'a Store,
}

impl AuditStore<'_> {
    /// Writes the entry, once, while the organization exists and is not being deleted (a
    /// condition in the same transaction, so no entry outlives a deletion that raced it).
    pub async fn enter(&self, scope: &TenantScope, entry: &AuditEntry, expires_at: i64) -> Result<Entered, StoreError> {
        let mut entered = self.enter_all(scope, &[(entry.clone(), expires_at)]).await?;
        Ok(entered.pop().unwrap_or(Entered::AlreadyThere))
    }

    /// Writes each entry (with the time its retention ends), once, while the organization
    /// exists and is not being deleted: one transaction for all of them and one check of the
    /// organization item, so a batch of events costs that item one check, not one each (the
    /// item is a single item: 1,000 write units a second, whatever the partition's split).
    /// Answers what became of each, in order. Entries found there already (a redelivered
    /// event) are left out of the next round; an entry named twice is entered once.
    pub async fn enter_all(
        &self,
        scope: &TenantScope,
        entries: &[(AuditEntry, i64)],
    ) -> Result<Vec<Entered>, StoreError> {
        let mut outcome: Vec<Option<Entered>> = vec![None; entries.len()];
        let mut seen = std::collections::HashSet::new();
        let mut pending: Vec<usize> = Vec::new();
        for (n, (entry, _)) in entries.iter().enumerate() {
            if seen.insert(entry.event_id) {
                pending.push(n);
            } else {
                outcome[n] = Some(Entered::AlreadyThere);
            }
        }
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Item {
            Organization,
            Entry(usize),
        }
        // A transaction holds 100 actions: the check and up to 99 entries.
        for chunk in pending.chunks(99) {
            let mut chunk = chunk.to_vec();
            while !chunk.is_empty() {
                let mut transaction = Transaction::new().with(Item::Organization, self.store.organization_live(scope)?);
                for &n in &chunk {
                    let (entry, expires_at) = &entries[n];
                    transaction.push(
                        Item::Entry(n),
                        self.store.put_new(serde_dynamo::to_item(item_of(scope, entry, *expires_at))?)?,
                    );
                }
                match self.store.transact(transaction).await {
                    Ok(()) => {
                        chunk.iter().for_each(|&n| outcome[n] = Some(Entered::Written));
                        break;
                    }
                    Err(e) if e.cancelled(Item::Organization) => {
                        chunk.iter().for_each(|&n| outcome[n] = Some(Entered::OrganizationGone));
                        break;
                    }
                    Err(e) => {
                        let there: Vec<usize> =
                            chunk.iter().copied().filter(|&n| e.cancelled(Item::Entry(n))).collect();
                        if there.is_empty() {
                            return Err(e.into());
                        }
                        there.iter().for_each(|&n| outcome[n] = Some(Entered::AlreadyThere));
                        chunk.retain(|n| !there.contains(n));
                    }
                }
            }
        }
        Ok(outcome.into_iter().map(|o| o.unwrap_or(Entered::AlreadyThere)).collect())
    }

    /// One page of entries, newest first, after `after`: one Query of the partition's audit
    /// range, reading at most `limit` + 1 items whatever the filter. An entry past its
    /// retention at `now` is left out: DynamoDB's TTL sweep deletes it up to days later, and
    /// the log promises to keep entries for their retention, not longer.
    pub async fn page(
        &self,
        scope: &TenantScope,
        filter: &AuditFilter,
        limit: usize,
        after: Option<AuditPosition>,
        now: DateTime<Utc>,
    ) -> Result<Page<AuditEntry, AuditPosition>, StoreError> {
        let from = match filter.since {
            Some(since) => audit_sk_bound(since, ""),
            None => AUDIT_SK_PREFIX.to_owned(),
        };
        // `~` sorts after every character of an event id, so `until` is inclusive.
        let to = match filter.until {
            Some(until) => audit_sk_bound(until, "#~"),
            None => format!("{AUDIT_SK_PREFIX}~"),
        };
        let mut query = self
            .store
            .client
            .query()
            .table_name(&self.store.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", AttributeValue::S(tenant_pk(scope)))
            .expression_attribute_values(":from", AttributeValue::S(from))
            .expression_attribute_values(":to", AttributeValue::S(to))
            .scan_index_forward(false)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        let mut conditions = vec!["expires_at > :now"];
        query = query.expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()));
        if let Some(actor) = filter.actor {
            conditions.push("actor_id = :actor");
            query = query.expression_attribute_values(":actor", AttributeValue::S(actor.to_string()));
        }
        if let Some(event_type) = filter.event_type {
            conditions.push("event_type = :type");
            query = query.expression_attribute_values(":type", AttributeValue::S(event_type.into()));
        }
        query = query.filter_expression(conditions.join(" AND "));
        if let Some(after) = after {
            query = query
                .exclusive_start_key(PK, AttributeValue::S(tenant_pk(scope)))
                .exclusive_start_key(SK, AttributeValue::S(after.0));
        }
        let out = query.send().await?;
        // Where the read stopped: with a filter, past the last match it kept.
        let stopped_at = out.last_evaluated_key.as_ref().and_then(|k| k.get(SK)).and_then(|v| v.as_s().ok()).cloned();
        // A page that matched more than `limit` ends at its last entry; one that matched
        // fewer, with more to read, ends where the read stopped.
        // So `last` is set when more entries may follow (a filtered page may be short, even empty).
        let mut page: Page<AuditItem> = page_of(out, limit, false);
        page.last = page.last.or(stopped_at);
        Ok(page.map(|i| i.entry, |sk| Some(AuditPosition(sk))))
    }
}

fn audit_sk_bound(at: DateTime<Utc>, suffix: &str) -> String {
    format!("{AUDIT_SK_PREFIX}{}{suffix}", super::table::keys::sortable_time(at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::events::{Event, EventKind, Origin, Provenance};
    use crate::domain::{OrgId, TaskId};

    #[test]
    fn a_position_is_an_audit_sort_key_and_nothing_else() {
        let sk = audit_sk(Utc::now(), EventId::generate());
        assert_eq!(AuditPosition::parse(&sk).unwrap().to_string(), sk);
        assert!(AuditPosition::parse("TASK#x").is_none());
        assert!(AuditPosition::parse("AUDIT#yesterday#0190").is_none());
        assert!(AuditPosition::parse(&format!("{sk}|x")).is_none());
    }

    #[test]
    fn an_item_round_trips_and_carries_its_actor_for_the_filter() {
        let scope = TenantScope::for_new_organization();
        let user = crate::domain::UserId::generate();
        let event = Event::new(
            OrgId::generate(),
            Utc::now(),
            &Provenance::user(user, Origin::new(Some("192.0.2.1"), Some("ua"))),
            EventKind::TaskDeleted { task_id: TaskId::generate() },
        );
        let entry = AuditEntry::of(&event);
        let item = AuditItem {
            pk: tenant_pk(&scope),
            sk: audit_sk(entry.occurred_at, entry.event_id),
            actor_id: Some(user.to_string()),
            entry: entry.clone(),
            expires_at: 1,
        };
        let raw: super::super::table::RawItem = serde_dynamo::to_item(item).unwrap();
        assert_eq!(raw["actor_id"], AttributeValue::S(user.to_string()));
        assert_eq!(raw["event_type"], AttributeValue::S("task.deleted".into()));
        let back: AuditItem = super::super::table::read_item(raw).unwrap();
        assert_eq!(back.entry, entry);
    }

    #[test]
    fn the_time_bounds_enclose_their_instants() {
        let at = Utc::now();
        let sk = audit_sk(at, EventId::generate());
        assert!(audit_sk_bound(at, "") <= sk && sk <= audit_sk_bound(at, "#~"));
        let later = at + chrono::Duration::microseconds(1);
        assert!(audit_sk(later, EventId::generate()) > audit_sk_bound(at, "#~"));
    }
}
