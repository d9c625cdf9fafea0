//! What each DynamoDB call costs, logged where an operator (and `make bench`) can see it.
//!
//! One SDK interceptor on the store's client asks every data-plane call for its consumed
//! capacity (`ReturnConsumedCapacity: TOTAL`, which DynamoDB answers at no charge) and logs
//! one debug event per call under the target `taskflow::dynamodb`: the operation, read and
//! write units, whether a read was consistent, how many items a batch or transaction named,
//! and for reads how many items and bytes they read (a Query's `ScannedCount` and `Count`).
//! Turn it on with `RUST_LOG=taskflow::dynamodb=debug`. Being an interceptor, it sees every
//! call the store makes without each call site having to remember it. The units are also
//! added to the invocation's metrics (`ReadCapacityUnits`, `WriteCapacityUnits`).

use std::collections::HashMap;

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::{
    batch_get_item::{BatchGetItemInput, BatchGetItemOutput},
    batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput},
    delete_item::{DeleteItemInput, DeleteItemOutput},
    get_item::{GetItemInput, GetItemOutput},
    put_item::{PutItemInput, PutItemOutput},
    query::{QueryInput, QueryOutput},
    transact_get_items::{TransactGetItemsInput, TransactGetItemsOutput},
    transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
    update_item::{UpdateItemInput, UpdateItemOutput},
};
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity};
use aws_smithy_runtime_api::client::interceptors::context::{Input, Output};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

use crate::metrics::{self, Metric};

const LOG_TARGET: &str = "taskflow::dynamodb";

/// Capacity units of one call, split into reads and writes.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Units {
    read: f64,
    write: f64,
}

impl Units {
    /// DynamoDB answers `CapacityUnits` (and, for some calls, the read/write split); a call
    /// that does not split is all reads or all writes by its kind.
    fn of(consumed: &[ConsumedCapacity], writes: bool) -> Self {
        consumed.iter().fold(Self::default(), |sum, c| {
            let (read, write) = match (c.read_capacity_units, c.write_capacity_units) {
                (None, None) => {
                    let total = c.capacity_units.unwrap_or_default();
                    if writes { (0.0, total) } else { (total, 0.0) }
                }
                (read, write) => (read.unwrap_or_default(), write.unwrap_or_default()),
            };
            Self { read: sum.read + read, write: sum.write + write }
        })
    }
}

/// What the request asked for, noted before it is serialized (the input is gone after).
#[derive(Debug, Clone, Copy, Default)]
struct Asked {
    /// A strongly consistent read, charged twice an eventually consistent one.
    consistent: bool,
    /// Items a batch or transaction names (1 for a single-item call).
    actions: usize,
}

impl Storable for Asked {
    type Storer = StoreReplace<Self>;
}

/// What the interceptor learned from one successful call's output.
#[derive(Debug, Default, PartialEq)]
struct Observed {
    units: Units,
    /// Query only: items read (before any filter) and items returned.
    scanned: Option<i32>,
    returned: Option<i32>,
    /// GetItem and Query: the size of the items returned, by DynamoDB's item size rules.
    bytes_read: Option<usize>,
}

#[derive(Debug)]
pub(crate) struct CapacityLog;

impl Intercept for CapacityLog {
    fn name(&self) -> &'static str {
        "TaskFlowCapacityLog"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(asked) = ask_for_capacity(context.input_mut()) {
            cfg.interceptor_state().store_put(asked);
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Ok(output) = context.output_or_error() {
            let units = observe(output).units;
            metrics::add(Metric::ReadCapacityUnits, units.read);
            metrics::add(Metric::WriteCapacityUnits, units.write);
        }
        if !tracing::enabled!(target: LOG_TARGET, tracing::Level::DEBUG) {
            return Ok(());
        }
        let operation = cfg.load::<Metadata>().map(Metadata::name).unwrap_or("unknown");
        let asked = cfg.load::<Asked>().copied().unwrap_or_default();
        match context.output_or_error() {
            Ok(output) => {
                let seen = observe(output);
                tracing::debug!(
                    target: LOG_TARGET,
                    operation,
                    consistent = asked.consistent,
                    actions = asked.actions,
                    read_units = seen.units.read,
                    write_units = seen.units.write,
                    scanned = seen.scanned,
                    returned = seen.returned,
                    bytes_read = seen.bytes_read,
                    "dynamodb call"
                );
            }
            // A refused condition or a throttle: DynamoDB reports no capacity for it.
            Err(_) => {
                tracing::debug!(target: LOG_TARGET, operation, actions = asked.actions, failed = true, "dynamodb call")
            }
        }
        Ok(())
    }
}

/// Sets `ReturnConsumedCapacity: TOTAL` on a data-plane call, unless its call site chose,
/// and answers what the call asks for; `None` for control-plane calls (CreateTable, ...).
fn ask_for_capacity(input: &mut Input) -> Option<Asked> {
    let single = |consistent: Option<bool>| Asked { consistent: consistent.unwrap_or(false), actions: 1 };
    let (field, asked) = if let Some(i) = input.downcast_mut::<GetItemInput>() {
        (&mut i.return_consumed_capacity, single(i.consistent_read))
    } else if let Some(i) = input.downcast_mut::<QueryInput>() {
        (&mut i.return_consumed_capacity, single(i.consistent_read))
    } else if let Some(i) = input.downcast_mut::<PutItemInput>() {
        (&mut i.return_consumed_capacity, single(None))
    } else if let Some(i) = input.downcast_mut::<UpdateItemInput>() {
        (&mut i.return_consumed_capacity, single(None))
    } else if let Some(i) = input.downcast_mut::<DeleteItemInput>() {
        (&mut i.return_consumed_capacity, single(None))
    } else if let Some(i) = input.downcast_mut::<TransactWriteItemsInput>() {
        let actions = i.transact_items.as_ref().map_or(0, Vec::len);
        (&mut i.return_consumed_capacity, Asked { consistent: false, actions })
    } else if let Some(i) = input.downcast_mut::<TransactGetItemsInput>() {
        let actions = i.transact_items.as_ref().map_or(0, Vec::len);
        (&mut i.return_consumed_capacity, Asked { consistent: true, actions })
    } else if let Some(i) = input.downcast_mut::<BatchGetItemInput>() {
        let tables = i.request_items.iter().flat_map(|r| r.values());
        let consistent = tables.clone().all(|t| t.consistent_read == Some(true));
        let actions = tables.map(|t| t.keys.len()).sum();
        (&mut i.return_consumed_capacity, Asked { consistent, actions })
    } else if let Some(i) = input.downcast_mut::<BatchWriteItemInput>() {
        let actions = i.request_items.iter().flat_map(|r| r.values()).map(Vec::len).sum();
        (&mut i.return_consumed_capacity, Asked { consistent: false, actions })
    } else {
        return None;
    };
    field.get_or_insert(ReturnConsumedCapacity::Total);
    Some(asked)
}

fn observe(output: &Output) -> Observed {
    let one = |c: Option<&ConsumedCapacity>, writes| Units::of(c.map(std::slice::from_ref).unwrap_or_default(), writes);
    if let Some(o) = output.downcast_ref::<GetItemOutput>() {
        Observed {
            units: one(o.consumed_capacity(), false),
            bytes_read: Some(o.item.as_ref().map_or(0, item_size)),
            ..Observed::default()
        }
    } else if let Some(o) = output.downcast_ref::<QueryOutput>() {
        Observed {
            units: one(o.consumed_capacity(), false),
            scanned: Some(o.scanned_count()),
            returned: Some(o.count()),
            bytes_read: Some(o.items().iter().map(item_size).sum()),
        }
    } else if let Some(o) = output.downcast_ref::<PutItemOutput>() {
        Observed { units: one(o.consumed_capacity(), true), ..Observed::default() }
    } else if let Some(o) = output.downcast_ref::<UpdateItemOutput>() {
        Observed { units: one(o.consumed_capacity(), true), ..Observed::default() }
    } else if let Some(o) = output.downcast_ref::<DeleteItemOutput>() {
        Observed { units: one(o.consumed_capacity(), true), ..Observed::default() }
    } else if let Some(o) = output.downcast_ref::<TransactWriteItemsOutput>() {
        Observed { units: Units::of(o.consumed_capacity(), true), ..Observed::default() }
    } else if let Some(o) = output.downcast_ref::<TransactGetItemsOutput>() {
        Observed { units: Units::of(o.consumed_capacity(), false), ..Observed::default() }
    } else if let Some(o) = output.downcast_ref::<BatchGetItemOutput>() {
        Observed { units: Units::of(o.consumed_capacity(), false), ..Observed::default() }
    } else if let Some(o) = output.downcast_ref::<BatchWriteItemOutput>() {
        Observed { units: Units::of(o.consumed_capacity(), true), ..Observed::default() }
    } else {
        Observed::default()
    }
}

/// An item's size as DynamoDB bills it: each attribute's name plus its value (UTF-8 bytes
/// of strings, raw bytes of binaries, about one byte per two digits of a number, 1 byte for
/// booleans and nulls, 3 bytes of overhead plus the elements for lists and maps).
fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => 3 + map.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>(),
        _ => 0,
    }
}

fn number_size(n: &str) -> usize {
    let digits = n.chars().filter(char::is_ascii_digit).count();
    digits.div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capacity(total: f64) -> ConsumedCapacity {
        ConsumedCapacity::builder().table_name("t").capacity_units(total).build()
    }

    #[test]
    fn a_total_without_a_split_counts_as_the_calls_kind() {
        assert_eq!(Units::of(&[capacity(0.5)], false), Units { read: 0.5, write: 0.0 });
        assert_eq!(Units::of(&[capacity(1.0), capacity(2.0)], true), Units { read: 0.0, write: 3.0 });
    }

    #[test]
    fn a_split_answer_is_taken_as_given() {
        let split =
            ConsumedCapacity::builder().capacity_units(3.0).read_capacity_units(1.0).write_capacity_units(2.0).build();
        assert_eq!(Units::of(&[split], true), Units { read: 1.0, write: 2.0 });
    }

    #[test]
    fn a_query_reports_what_it_read_and_returned() {
        let output = QueryOutput::builder().scanned_count(21).count(20).consumed_capacity(capacity(1.0)).build();
        let seen = observe(&Output::erase(output));
        assert_eq!(
            seen,
            Observed {
                units: Units { read: 1.0, write: 0.0 },
                scanned: Some(21),
                returned: Some(20),
                bytes_read: Some(0)
            }
        );
    }

    #[test]
    fn every_data_plane_input_is_asked_for_its_capacity() {
        let mut input = Input::erase(GetItemInput::builder().table_name("t").consistent_read(true).build().unwrap());
        let asked = ask_for_capacity(&mut input).expect("a data-plane call");
        assert!(asked.consistent && asked.actions == 1);
        let get = input.downcast::<GetItemInput>().unwrap();
        assert_eq!(get.return_consumed_capacity, Some(ReturnConsumedCapacity::Total));
    }

    #[test]
    fn a_choice_made_at_the_call_site_is_kept() {
        let asked = QueryInput::builder().return_consumed_capacity(ReturnConsumedCapacity::Indexes).build().unwrap();
        let mut input = Input::erase(asked);
        ask_for_capacity(&mut input);
        assert_eq!(
            input.downcast::<QueryInput>().unwrap().return_consumed_capacity,
            Some(ReturnConsumedCapacity::Indexes)
        );
    }

    #[test]
    fn item_sizes_follow_dynamodbs_rules() {
        let item = HashMap::from([
            ("pk".to_owned(), AttributeValue::S("ORG#1".into())),
            ("n".to_owned(), AttributeValue::N("12345".into())),
            ("done".to_owned(), AttributeValue::Bool(true)),
            ("tags".to_owned(), AttributeValue::L(vec![AttributeValue::S("ab".into())])),
        ]);
        // pk 2+5, n 1+(3+1), done 4+1, tags 4+3+(1+2)
        assert_eq!(item_size(&item), 7 + 5 + 5 + 10);
    }
}
