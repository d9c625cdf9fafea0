//! The table's definition — keys, indexes, TTL attribute — exists here once. The local
//! bootstrap and the tests create the table from it; the deployment template is checked
//! against it.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};

use super::error::StoreError;
use super::keys::{OWNER, PK, SK};

pub struct IndexDefinition {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
}

pub struct TableDefinition {
    pub partition_key: &'static str,
    pub sort_key: &'static str,
    /// All indexes project every attribute: a filtered page is answered from the index alone.
    pub indexes: &'static [IndexDefinition],
    pub ttl_attribute: &'static str,
}

pub const TASKS_BY_STATUS: &str = "tasks-by-status";
pub const TASKS_BY_ASSIGNEE: &str = "tasks-by-assignee";
pub const TASKS_BY_ASSIGNEE_STATUS: &str = "tasks-by-assignee-status";
pub const OUTBOX_BY_AGE: &str = "outbox-by-age";
pub const LOOKUPS_BY_OWNER: &str = "lookups-by-owner";

pub const STATUS_PK: &str = "status_pk";
pub const ASSIGNEE_PK: &str = "assignee_pk";
pub const ASSIGNEE_STATUS_PK: &str = "assignee_status_pk";
pub const OUTBOX_PK: &str = "outbox_pk";
pub const OUTBOX_AT: &str = "outbox_at";

pub const TABLE: TableDefinition = TableDefinition {
    partition_key: PK,
    sort_key: SK,
    indexes: &[
        IndexDefinition { name: TASKS_BY_STATUS, partition_key: STATUS_PK, sort_key: SK },
        IndexDefinition { name: TASKS_BY_ASSIGNEE, partition_key: ASSIGNEE_PK, sort_key: SK },
        IndexDefinition { name: TASKS_BY_ASSIGNEE_STATUS, partition_key: ASSIGNEE_STATUS_PK, sort_key: SK },
        IndexDefinition { name: OUTBOX_BY_AGE, partition_key: OUTBOX_PK, sort_key: OUTBOX_AT },
        IndexDefinition { name: LOOKUPS_BY_OWNER, partition_key: OWNER, sort_key: PK },
    ],
    ttl_attribute: "expires_at",
};

impl TableDefinition {
    /// Every attribute used as a key anywhere, once.
    pub fn key_attributes(&self) -> Vec<&'static str> {
        let mut names = vec![self.partition_key, self.sort_key];
        for index in self.indexes {
            for name in [index.partition_key, index.sort_key] {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// Creates the table (on-demand) with its indexes and TTL. An existing table is left
    /// as it is, so running the bootstrap twice is harmless.
    pub async fn create(&self, client: &Client, table_name: &str) -> Result<(), StoreError> {
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("name and type are set")
        };
        let mut request = client
            .create_table()
            .table_name(table_name)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(self.partition_key, KeyType::Hash))
            .key_schema(key(self.sort_key, KeyType::Range));
        for name in self.key_attributes() {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("name and type are set"),
            );
        }
        for index in self.indexes {
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index.name)
                    .key_schema(key(index.partition_key, KeyType::Hash))
                    .key_schema(key(index.sort_key, KeyType::Range))
                    .projection(Projection::builder().projection_type(ProjectionType::All).build())
                    .build()
                    .expect("name and keys are set"),
            );
        }
        match request.send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {
                return Ok(());
            }
            Err(e) => return Err(StoreError::dynamo(e)),
        }
        client
            .update_time_to_live()
            .table_name(table_name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(self.ttl_attribute)
                    .enabled(true)
                    .build()
                    .expect("name and flag are set"),
            )
            .send()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_attributes_are_listed_once_each() {
        assert_eq!(
            TABLE.key_attributes(),
            vec![PK, SK, STATUS_PK, ASSIGNEE_PK, ASSIGNEE_STATUS_PK, OUTBOX_PK, OUTBOX_AT, OWNER]
        );
    }
}
