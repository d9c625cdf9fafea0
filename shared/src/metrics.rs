//! Metrics as CloudWatch Embedded Metric Format (EMF) documents: each invocation ends with
//! one JSON line on stdout, which CloudWatch Logs turns into metrics as it takes the log in.
//! No API call, so no latency on the answer and no permission beyond writing logs.
//!
//! Every metric is aggregated by `Kind` (`api`, `queue` or `schedule`: what the template's
//! alarms watch); the few in [`PER_FUNCTION`] also by `Kind` + `Function`. Each distinct
//! combination of a name and dimension values is a custom metric of its own, billed monthly
//! while it is written: all fourteen per function would be ~390 metrics, these are at most
//! ~165 (the README has the figures). The organization, the request id and the status
//! are therefore *properties*: searchable in Logs Insights, never dimensions.
//!
//! What an invocation counts is kept in a task-local accumulator that [`measure`] opens and
//! writes out; [`add`] called anywhere below it (the store's capacity interceptor, the
//! mailer) adds to it, and does nothing outside one.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde_json::{Map, Value, json};

/// Where the metrics go; the template sets `TaskFlow/<stack name>`, so that two stacks in
/// one account and region keep theirs apart.
pub const NAMESPACE_VARIABLE: &str = "TASKFLOW_METRICS_NAMESPACE";
const DEFAULT_NAMESPACE: &str = "TaskFlow";
/// What sort of invocation a document is of: its `Kind` dimension, three values in all, so
/// that an alarm can watch every API function (or every consumer) with one metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An API Gateway request.
    Api,
    /// A batch of queue messages.
    Queue,
    /// A scheduled run.
    Schedule,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Api => "api",
            Kind::Queue => "queue",
            Kind::Schedule => "schedule",
        }
    }
}

/// What is counted. Each is written under its [`Metric::name`] at the document's root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    /// 1 on an instance's first invocation, else 0 (its sum counts cold starts).
    ColdStart,
    /// The invocation's own time, from the event to the answer.
    Latency,
    /// An API request, and its answer by status class.
    Requests,
    Status2xx,
    Status3xx,
    Status4xx,
    Status5xx,
    /// Requests refused with 429 (a throttle of ours).
    Throttled,
    /// DynamoDB capacity units the invocation consumed, as DynamoDB reported them.
    ReadCapacityUnits,
    WriteCapacityUnits,
    /// Queue messages a consumer was handed, and those it reported as failed.
    Messages,
    MessagesFailed,
    /// Mails SES accepted, and mails not sent (refused, or SES's answer lost).
    MailsSent,
    MailsFailed,
    /// Mails not sent because their organization's budget for the day was spent.
    MailsDropped,
}

impl Metric {
    pub const ALL: [Metric; 15] = [
        Metric::ColdStart,
        Metric::Latency,
        Metric::Requests,
        Metric::Status2xx,
        Metric::Status3xx,
        Metric::Status4xx,
        Metric::Status5xx,
        Metric::Throttled,
        Metric::ReadCapacityUnits,
        Metric::WriteCapacityUnits,
        Metric::Messages,
        Metric::MessagesFailed,
        Metric::MailsSent,
        Metric::MailsFailed,
        Metric::MailsDropped,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::ColdStart => "ColdStart",
            Metric::Latency => "Latency",
            Metric::Requests => "Requests",
            Metric::Status2xx => "Status2xx",
            Metric::Status3xx => "Status3xx",
            Metric::Status4xx => "Status4xx",
            Metric::Status5xx => "Status5xx",
            Metric::Throttled => "Throttled",
            Metric::ReadCapacityUnits => "ReadCapacityUnits",
            Metric::WriteCapacityUnits => "WriteCapacityUnits",
            Metric::Messages => "Messages",
            Metric::MessagesFailed => "MessagesFailed",
            Metric::MailsSent => "MailsSent",
            Metric::MailsFailed => "MailsFailed",
            Metric::MailsDropped => "MailsDropped",
        }
    }

    /// One of EMF's units (CloudWatch's `StandardUnit`); capacity units are counts.
    fn unit(self) -> &'static str {
        match self {
            Metric::Latency => "Milliseconds",
            _ => "Count",
        }
    }

    /// The status class an API answer counts under (1xx answers are not ours to give).
    pub fn of_status(status: u16) -> Option<Metric> {
        match status / 100 {
            2 => Some(Metric::Status2xx),
            3 => Some(Metric::Status3xx),
            4 => Some(Metric::Status4xx),
            5 => Some(Metric::Status5xx),
            _ => None,
        }
    }
}

/// The metrics also kept per function: what the dashboard shows by function. Lambda's own
/// per-function metrics (invocations, errors, duration, throttles) come at no charge.
pub const PER_FUNCTION: [Metric; 4] = [Metric::Requests, Metric::Status5xx, Metric::Latency, Metric::ColdStart];

/// A property: written at the document's root, never a dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Property {
    OrgId,
    RequestId,
    Status,
}

impl Property {
    fn name(self) -> &'static str {
        match self {
            Property::OrgId => "org_id",
            Property::RequestId => "request_id",
            Property::Status => "status",
        }
    }
}

/// What one invocation counted.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Measurements {
    values: BTreeMap<Metric, f64>,
    properties: BTreeMap<Property, String>,
}

impl Measurements {
    pub fn value(&self, metric: Metric) -> Option<f64> {
        self.values.get(&metric).copied()
    }

    /// The EMF document of these measurements, as `function` wrote them at `timestamp_ms`.
    pub fn document(&self, namespace: &str, kind: Kind, function: &str, timestamp_ms: i64) -> Value {
        let definition = |m: &Metric| json!({ "Name": m.name(), "Unit": m.unit() });
        let by_kind: Vec<Value> = self.values.keys().map(definition).collect();
        let by_function: Vec<Value> = self.values.keys().filter(|m| PER_FUNCTION.contains(m)).map(definition).collect();
        let mut directives = vec![json!({ "Namespace": namespace, "Dimensions": [["Kind"]], "Metrics": by_kind })];
        if !by_function.is_empty() {
            directives
                .push(json!({ "Namespace": namespace, "Dimensions": [["Kind", "Function"]], "Metrics": by_function }));
        }
        let mut root = Map::new();
        root.insert("_aws".into(), json!({ "Timestamp": timestamp_ms, "CloudWatchMetrics": directives }));
        root.insert("Kind".into(), kind.name().into());
        root.insert("Function".into(), function.into());
        for (metric, value) in &self.values {
            root.insert(metric.name().into(), json!(value));
        }
        for (property, value) in &self.properties {
            root.insert(property.name().into(), value.clone().into());
        }
        Value::Object(root)
    }
}

tokio::task_local! {
    static CURRENT: RefCell<Measurements>;
}

/// Adds `value` to `metric` of the invocation being measured; nothing outside one.
pub fn add(metric: Metric, value: f64) {
    let _ = CURRENT.try_with(|m| *m.borrow_mut().values.entry(metric).or_default() += value);
}

/// Sets a property of the invocation being measured; nothing outside one.
pub fn set(property: Property, value: impl std::fmt::Display) {
    let _ = CURRENT.try_with(|m| m.borrow_mut().properties.insert(property, value.to_string()));
}

static COLD: AtomicBool = AtomicBool::new(true);

/// Runs one invocation with an accumulator of its own, then writes its EMF document (with
/// its latency and whether it was the instance's first) to stdout, one line, as the log's
/// JSON lines are. The function's name is the runtime's `AWS_LAMBDA_FUNCTION_NAME`.
pub async fn measure<F: Future>(kind: Kind, invocation: F) -> F::Output {
    let started = Instant::now();
    let (output, mut measured) = CURRENT
        .scope(RefCell::new(Measurements::default()), async {
            let output = invocation.await;
            (output, CURRENT.with(|m| m.take()))
        })
        .await;
    let cold = COLD.swap(false, Ordering::Relaxed);
    measured.values.insert(Metric::ColdStart, if cold { 1.0 } else { 0.0 });
    measured.values.insert(Metric::Latency, started.elapsed().as_secs_f64() * 1000.0);
    let namespace = std::env::var(NAMESPACE_VARIABLE).unwrap_or_else(|_| DEFAULT_NAMESPACE.to_owned());
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let document = measured.document(&namespace, kind, &function, chrono::Utc::now().timestamp_millis());
    // One write of the whole line: the log subscriber writes its lines the same way, so
    // the two never interleave within a line. A failed write loses a metric, nothing more.
    let mut line = document.to_string();
    line.push('\n');
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn what_is_added_inside_an_invocation_is_summed_and_nothing_leaks_outside() {
        add(Metric::MailsSent, 5.0);
        let measured = CURRENT
            .scope(RefCell::new(Measurements::default()), async {
                add(Metric::ReadCapacityUnits, 0.5);
                add(Metric::ReadCapacityUnits, 1.0);
                set(Property::OrgId, "org");
                CURRENT.with(|m| m.take())
            })
            .await;
        assert_eq!(measured.value(Metric::ReadCapacityUnits), Some(1.5));
        assert_eq!(measured.value(Metric::MailsSent), None);
        assert_eq!(measured.properties.get(&Property::OrgId).map(String::as_str), Some("org"));
    }

    #[test]
    fn a_document_defines_each_metric_it_carries_and_keeps_properties_out_of_dimensions() {
        let mut measured = Measurements::default();
        measured.values.insert(Metric::Requests, 1.0);
        measured.values.insert(Metric::Latency, 2.5);
        measured.values.insert(Metric::ReadCapacityUnits, 0.5);
        measured.properties.insert(Property::OrgId, "o-1".into());
        let doc = measured.document("TaskFlow/test", Kind::Api, "tasks-get", 1_700_000_000_000);
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        let latency = json!({"Name": "Latency", "Unit": "Milliseconds"});
        let requests = json!({"Name": "Requests", "Unit": "Count"});
        let capacity = json!({"Name": "ReadCapacityUnits", "Unit": "Count"});
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"],
            json!([
                {"Namespace": "TaskFlow/test", "Dimensions": [["Kind"]], "Metrics": [latency, requests, capacity]},
                {"Namespace": "TaskFlow/test", "Dimensions": [["Kind", "Function"]], "Metrics": [latency, requests]},
            ])
        );
        assert_eq!((doc["Latency"].as_f64(), doc["Requests"].as_f64()), (Some(2.5), Some(1.0)));
        assert_eq!(
            (&doc["Kind"], &doc["Function"], &doc["org_id"]),
            (&json!("api"), &json!("tasks-get"), &json!("o-1"))
        );
    }

    #[test]
    fn names_are_distinct_from_each_other_and_from_the_dimensions_and_properties() {
        let mut names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.extend(["Kind", "Function", "_aws"]);
        names.extend([Property::OrgId, Property::RequestId, Property::Status].map(Property::name));
        let count = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn a_document_of_no_per_function_metric_has_no_per_function_directive() {
        let mut measured = Measurements::default();
        measured.values.insert(Metric::MailsSent, 1.0);
        let doc = measured.document("TaskFlow/test", Kind::Queue, "notifications-mailer", 0);
        assert_eq!(doc["_aws"]["CloudWatchMetrics"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn statuses_count_by_class() {
        assert_eq!(Metric::of_status(201), Some(Metric::Status2xx));
        assert_eq!(Metric::of_status(304), Some(Metric::Status3xx));
        assert_eq!(Metric::of_status(429), Some(Metric::Status4xx));
        assert_eq!(Metric::of_status(503), Some(Metric::Status5xx));
        assert_eq!(Metric::of_status(101), None);
    }
}
