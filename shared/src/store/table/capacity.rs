//! What each DynamoDB call costs, logged where an operator (and `make bench`) can see it.
//!
//! One SDK interceptor on the store's client asks every data-plane call for its consumed
//! capacity (`ReturnConsumedCapacity: TOTAL`, which DynamoDB answers at no charge) and logs
//! one debug event per call under the target `taskflow::dynamodb`: the operation, read and
//! write units, whether a read was consistent, how many items a batch or transaction named,
//! for reads how many items and bytes they read (a Query's `ScannedCount` and `Count`), the
//! kind of item a single-item call names (its sort key's leading label, `TASK`, `RATE_LIMIT`:
//! never an id or an address), its attempts and its milliseconds from start to end, retries
//! included.
//! Turn it on with `RUST_LOG=taskflow::dynamodb=debug`. Being an interceptor, it sees every
//! call the store makes without each call site having to remember it. The units are also
//! added to the invocation's metrics (`ReadCapacityUnits`, `WriteCapacityUnits`).

use std::collections::HashMap;
use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextRef,
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
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

use super::keys::{GUARD_SK, PK, SK};
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
#[derive(Debug, Clone, Default)]
struct Asked {
    /// A strongly consistent read, charged twice an eventually consistent one.
    consistent: bool,
    /// Items a batch or transaction names (1 for a single-item call).
    actions: usize,
    /// A single-item call's kind of item, from its sort key (see [`item_kind`]).
    item: Option<String>,
    /// When the call began: before its serialization, so its retries are in its latency.
    started: Option<Instant>,
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
        // Once per call, before its attempts: the time below spans its retries.
        let asked = ask_for_capacity(context.input_mut()).unwrap_or_default();
        cfg.interceptor_state().store_put(Asked { started: Some(Instant::now()), ..asked });
        Ok(())
    }

    /// Once per call, after its last attempt, however it ended (a timeout included), so a
    /// retried call is one line with its attempts and its whole time.
    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let output = context.output_or_error().and_then(Result::ok);
        if let Some(output) = output {
            let units = observe(output).units;
            metrics::add(Metric::ReadCapacityUnits, units.read);
            metrics::add(Metric::WriteCapacityUnits, units.write);
        }
        if !tracing::enabled!(target: LOG_TARGET, tracing::Level::DEBUG) {
            return Ok(());
        }
        let operation = cfg.load::<Metadata>().map(Metadata::name).unwrap_or("unknown");
        let attempts = cfg.load::<RequestAttempts>().map(RequestAttempts::attempts);
        let asked = cfg.load::<Asked>().cloned().unwrap_or_default();
        let (item, elapsed_ms) = (asked.item.as_deref(), asked.started.map(|s| s.elapsed().as_secs_f64() * 1000.0));
        match output {
            Some(output) => {
                let seen = observe(output);
                tracing::debug!(
                    target: LOG_TARGET,
                    operation,
                    item,
                    elapsed_ms,
                    attempts,
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
            // A refused condition, a throttle, a timeout: DynamoDB reports no capacity for it.
            None => {
                tracing::debug!(
                    target: LOG_TARGET,
                    operation,
                    item,
                    elapsed_ms,
                    attempts,
                    actions = asked.actions,
                    failed = true,
                    "dynamodb call"
                )
            }
        }
        Ok(())
    }
}

/// Sets `ReturnConsumedCapacity: TOTAL` on a data-plane call, unless its call site chose,
/// and answers what the call asks for; `None` for control-plane calls (CreateTable, ...).
fn ask_for_capacity(input: &mut Input) -> Option<Asked> {
    let single = |consistent: Option<bool>, key: Option<&HashMap<String, AttributeValue>>| Asked {
        consistent: consistent.unwrap_or(false),
        actions: 1,
        item: key.and_then(item_kind),
        started: None,
    };
    let many = |consistent: bool, actions: usize| Asked { consistent, actions, ..Asked::default() };
    let (field, asked) = if let Some(i) = input.downcast_mut::<GetItemInput>() {
        let asked = single(i.consistent_read, i.key.as_ref());
        (&mut i.return_consumed_capacity, asked)
    } else if let Some(i) = input.downcast_mut::<QueryInput>() {
        (&mut i.return_consumed_capacity, single(i.consistent_read, None))
    } else if let Some(i) = input.downcast_mut::<PutItemInput>() {
        let asked = single(None, i.item.as_ref());
        (&mut i.return_consumed_capacity, asked)
    } else if let Some(i) = input.downcast_mut::<UpdateItemInput>() {
        let asked = single(None, i.key.as_ref());
        (&mut i.return_consumed_capacity, asked)
    } else if let Some(i) = input.downcast_mut::<DeleteItemInput>() {
        let asked = single(None, i.key.as_ref());
        (&mut i.return_consumed_capacity, asked)
    } else if let Some(i) = input.downcast_mut::<TransactWriteItemsInput>() {
        let actions = i.transact_items.as_ref().map_or(0, Vec::len);
        (&mut i.return_consumed_capacity, many(false, actions))
    } else if let Some(i) = input.downcast_mut::<TransactGetItemsInput>() {
        let actions = i.transact_items.as_ref().map_or(0, Vec::len);
        (&mut i.return_consumed_capacity, many(true, actions))
    } else if let Some(i) = input.downcast_mut::<BatchGetItemInput>() {
        let tables = i.request_items.iter().flat_map(|r| r.values());
        let consistent = tables.clone().all(|t| t.consistent_read == Some(true));
        let actions = tables.map(|t| t.keys.len()).sum();
        (&mut i.return_consumed_capacity, many(consistent, actions))
    } else if let Some(i) = input.downcast_mut::<BatchWriteItemInput>() {
        let actions = i.request_items.iter().flat_map(|r| r.values()).map(Vec::len).sum();
        (&mut i.return_consumed_capacity, many(false, actions))
    } else {
        return None;
    };
    field.get_or_insert(ReturnConsumedCapacity::Total);
    Some(asked)
}

/// The kind of item a key names: its sort key's leading run of capital letters and
/// underscores (`TASK#0193…` is `TASK`, `RATE_LIMIT` itself), or for a global lookup item
/// (sort key `GUARD`) its partition key's (`EMAIL#…` is `EMAIL`). Only that run is kept, and
/// ids, addresses and token hashes are never capitals, so none of them reaches the log.
fn item_kind(key: &HashMap<String, AttributeValue>) -> Option<String> {
    let label = |name: &str| {
        let AttributeValue::S(value) = key.get(name)? else { return None };
        let label: String = value.chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').collect();
        (!label.is_empty()).then_some(label)
    };
    match label(SK)? {
        guard if guard == GUARD_SK => label(PK).or(Some(guard)),
        kind => Some(kind),
    }
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
    fn a_single_item_call_names_its_kind_of_item_and_nothing_after_it() {
        let key = |pk: &str, sk: &str| {
            HashMap::from([
                (PK.to_owned(), AttributeValue::S(pk.into())),
                (SK.to_owned(), AttributeValue::S(sk.into())),
            ])
        };
        let tenant = "ORG#0193a5b0-7e1d-7f00-8a11-5b6c7d8e9f01";
        let item_of_get = |pk: &str, sk: &str| {
            let get = GetItemInput::builder().table_name("t").set_key(Some(key(pk, sk))).build().unwrap();
            ask_for_capacity(&mut Input::erase(get)).unwrap().item
        };
        let update =
            UpdateItemInput::builder().table_name("t").set_key(Some(key(tenant, "RATE_LIMIT"))).build().unwrap();
        assert_eq!(ask_for_capacity(&mut Input::erase(update)).unwrap().item.as_deref(), Some("RATE_LIMIT"));
        let put = PutItemInput::builder().table_name("t").set_item(Some(key(tenant, "TASK#0193a5b0"))).build().unwrap();
        assert_eq!(ask_for_capacity(&mut Input::erase(put)).unwrap().item.as_deref(), Some("TASK"));
        assert_eq!(item_of_get(tenant, "IDEMPOTENCY#0193a5b0#9f2c").as_deref(), Some("IDEMPOTENCY"));
        assert_eq!(item_of_get("EMAIL#ada@example.com", "GUARD").as_deref(), Some("EMAIL"));
        assert_eq!(item_of_get("ada@example.com", "GUARD").as_deref(), Some("GUARD"));
        for unlabelled in ["0193a5b0", "idempotency#x", ""] {
            assert_eq!(item_of_get(tenant, unlabelled), None, "{unlabelled}");
        }
        let query = QueryInput::builder().table_name("t").build().unwrap();
        assert_eq!(ask_for_capacity(&mut Input::erase(query)).unwrap().item, None);
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
