//! The functions' metrics as the local stack's log holds them: every Embedded Metric Format
//! document checked against the specification (read independently of the code that writes
//! them), and an organization's requests found in them with what they counted.

use std::collections::BTreeMap;

use e2e::{Api, eventually, unique};
use reqwest::Method;
use serde_json::{Value, json};

/// CloudWatch's standard units, the only ones a metric definition may name.
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];
/// A log event's largest size, which an EMF document shares.
const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// The EMF documents of the log: every line that is a JSON object with an `_aws` member.
///
/// The stack's log is shared with cargo-lambda's builds, and cargo writes a status word
/// (`    Blocking`) apart from the rest of its line; a function's document written between the
/// two lands after that word. Only such a prefix (blanks and one word, nothing of JSON) is
/// taken off: a function writing anything else before its document still fails here.
fn documents(log: &str) -> Vec<(String, Value)> {
    log.lines()
        .filter(|line| line.contains("\"_aws\""))
        .map(|line| {
            let line = e2e::without_a_build_status_word(line);
            let doc: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("an EMF document must be a whole log line of JSON ({e}): {line}"));
            (line.to_owned(), doc)
        })
        .collect()
}

fn only_members(object: &Value, allowed: &[&str], what: &str) -> Result<(), String> {
    let object = object.as_object().ok_or(format!("{what} is not an object"))?;
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(format!("{what} has a member the specification does not define: {extra}")),
        None => Ok(()),
    }
}

/// The specification's rules for one document (its structure, its references to the root's
/// members, its limits).
fn check(line: &str, doc: &Value, now_ms: i64) -> Result<(), String> {
    if line.len() > MAX_EVENT_BYTES {
        return Err(format!("{} bytes: larger than a log event", line.len()));
    }
    let root = doc.as_object().ok_or("the root is not an object")?;
    let metadata = &root["_aws"];
    only_members(metadata, &["Timestamp", "CloudWatchMetrics"], "_aws")?;
    let timestamp = metadata["Timestamp"].as_i64().ok_or("Timestamp is not an integer of milliseconds")?;
    if timestamp < now_ms - 14 * 24 * 3_600_000 || timestamp > now_ms + 2 * 3_600_000 {
        return Err(format!("Timestamp {timestamp} is not within two weeks before and two hours after now"));
    }
    let directives = metadata["CloudWatchMetrics"].as_array().ok_or("CloudWatchMetrics is not an array")?;
    if directives.is_empty() {
        return Err("CloudWatchMetrics is empty".into());
    }
    for directive in directives {
        only_members(directive, &["Namespace", "Dimensions", "Metrics"], "a MetricDirective")?;
        let namespace = directive["Namespace"].as_str().ok_or("Namespace is not a string")?;
        if namespace.is_empty() || namespace.chars().count() > 255 || namespace.trim().is_empty() {
            return Err(format!("Namespace {namespace:?} is not 1 to 255 characters of which some are not spaces"));
        }
        for set in directive["Dimensions"].as_array().ok_or("Dimensions is not an array")? {
            let keys = set.as_array().ok_or("a DimensionSet is not an array")?;
            if keys.len() > 30 {
                return Err("a DimensionSet has more than 30 dimensions".into());
            }
            for key in keys {
                let key = key.as_str().ok_or("a dimension key is not a string")?;
                let value =
                    root.get(key).and_then(Value::as_str).ok_or(format!("dimension {key} has no string member"))?;
                if value.is_empty() || value.chars().count() > 1024 {
                    return Err(format!("dimension {key}'s value {value:?} is not 1 to 1024 characters"));
                }
            }
        }
        let definitions = directive["Metrics"].as_array().ok_or("Metrics is not an array")?;
        if definitions.len() > 100 {
            return Err("a MetricDirective has more than 100 metrics".into());
        }
        let mut names = Vec::new();
        for definition in definitions {
            only_members(definition, &["Name", "Unit", "StorageResolution"], "a MetricDefinition")?;
            let name = definition["Name"].as_str().ok_or("a metric Name is not a string")?;
            if name.is_empty() || name.chars().count() > 255 {
                return Err(format!("metric name {name:?} is not 1 to 255 characters"));
            }
            if let Some(unit) = definition.get("Unit")
                && !unit.as_str().is_some_and(|u| UNITS.contains(&u))
            {
                return Err(format!("{name}: {unit} is not a CloudWatch unit"));
            }
            if let Some(resolution) = definition.get("StorageResolution")
                && resolution != 1
                && resolution != 60
            {
                return Err(format!("{name}: StorageResolution {resolution} is neither 1 nor 60"));
            }
            let value = root.get(name).ok_or(format!("metric {name} has no member at the root"))?;
            let numbers = match value {
                Value::Array(values) if values.len() <= 100 => values.iter().all(Value::is_number),
                value => value.is_number(),
            };
            if !numbers {
                return Err(format!("metric {name}'s value {value} is not a number or up to 100 of them"));
            }
            names.push(name);
        }
        names.sort_unstable();
        if names.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err("a metric is defined twice".into());
        }
    }
    Ok(())
}

fn value(doc: &Value, metric: &str) -> f64 {
    doc[metric].as_f64().unwrap_or_else(|| panic!("no {metric} in {doc}"))
}

#[test]
fn the_specification_check_refuses_what_the_specification_forbids() {
    let now = chrono::Utc::now().timestamp_millis();
    let good = json!({
        "_aws": {"Timestamp": now, "CloudWatchMetrics": [{"Namespace": "TaskFlow/t", "Dimensions": [["Kind"]],
            "Metrics": [{"Name": "Requests", "Unit": "Count"}]}]},
        "Kind": "api", "Requests": 1,
    });
    assert_eq!(check(&good.to_string(), &good, now), Ok(()));
    let broken = |change: &dyn Fn(&mut Value)| {
        let mut doc = good.clone();
        change(&mut doc);
        check(&doc.to_string(), &doc, now)
    };
    assert!(broken(&|d| d["_aws"]["Timestamp"] = json!(now + 3 * 3_600_000)).is_err());
    assert!(broken(&|d| d["_aws"]["Timestamp"] = json!("now")).is_err());
    assert!(broken(&|d| d["Kind"] = json!(3)).is_err(), "a dimension's value must be a string");
    assert!(broken(&|d| d["Requests"] = json!("1")).is_err(), "a metric's value must be a number");
    assert!(broken(&|d| d.as_object_mut().unwrap().remove("Requests").map(drop).unwrap()).is_err());
    assert!(broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Requests")).is_err());
    assert!(broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!(" ")).is_err());
    assert!(broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Extra"] = json!(1)).is_err());
    assert!(broken(&|d| d["_aws"]["CloudWatchMetrics"] = json!([])).is_err());
}

#[test]
fn only_a_build_status_word_is_taken_off_a_documents_line() {
    let doc = r#"{"_aws":{}}"#;
    assert_eq!(e2e::without_a_build_status_word(&format!("    Blocking{doc}")), doc);
    // Two cold starts waiting on one lock: cargo's word twice before the document.
    assert_eq!(e2e::without_a_build_status_word(&format!("    Blocking    Blocking{doc}")), doc);
    assert_eq!(e2e::without_a_build_status_word(doc), doc);
    for written_by_a_function in [format!("metrics: {doc}"), format!("INFO {doc}"), format!("[1]{doc}")] {
        assert_eq!(e2e::without_a_build_status_word(&written_by_a_function), written_by_a_function);
    }
}

#[tokio::test]
async fn every_function_writes_valid_metric_documents_and_an_organizations_requests_are_counted() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let token = tenant.admin.token.as_str();
    api.create_task(token, json!({"title": format!("metrics {}", unique())})).await;
    let missing = format!("/api/v1/tasks/{}", uuid::Uuid::new_v4());
    let (status, _) = api.call(Method::GET, &missing, Some(token), None).await;
    assert_eq!(status, 404);
    let (status, _) = api.call(Method::GET, "/api/v1/tasks", Some(token), None).await;
    assert_eq!(status, 200);

    // Ours, by function, once all three are written (each after its answer).
    let ours = |log: &str| -> BTreeMap<String, Value> {
        documents(log)
            .into_iter()
            .filter(|(_, doc)| doc["org_id"] == tenant.org_id.as_str())
            .map(|(_, doc)| (doc["Function"].as_str().unwrap_or_default().to_owned(), doc))
            .collect()
    };
    let wanted = ["tasks-create", "tasks-get", "tasks-list"];
    assert!(
        eventually(30, || async { wanted.iter().all(|f| ours(&e2e::function_log()).contains_key(*f)) }).await,
        "no metrics document of the organization's requests in the function log"
    );
    let log = e2e::function_log();
    let now = chrono::Utc::now().timestamp_millis();
    let all = documents(&log);
    for (line, doc) in &all {
        if let Err(problem) = check(line, doc, now) {
            panic!("not a valid EMF document ({problem}): {line}");
        }
    }

    let ours = ours(&log);
    let created = &ours["tasks-create"];
    assert_eq!((value(created, "Requests"), value(created, "Status2xx")), (1.0, 1.0), "{created}");
    assert_eq!(created["status"], "201");
    assert!(value(created, "WriteCapacityUnits") > 0.0, "the create's writes are counted: {created}");
    let refused = &ours["tasks-get"];
    assert_eq!((value(refused, "Status4xx"), refused["status"].as_str()), (1.0, Some("404")), "{refused}");
    assert!(refused.get("Status2xx").is_none(), "{refused}");
    let listed = &ours["tasks-list"];
    assert!(value(listed, "ReadCapacityUnits") > 0.0, "the list's Query is counted: {listed}");
    for doc in ours.values() {
        assert_eq!(doc["Kind"], "api");
        assert!(value(doc, "Latency") >= 0.0);
    }

    // The organization is a property, never a dimension; nothing secret is in a document.
    for (line, doc) in &all {
        for directive in doc["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            for set in directive["Dimensions"].as_array().unwrap() {
                assert!(set.as_array().unwrap().iter().all(|k| k == "Kind" || k == "Function"), "{line}");
            }
        }
        assert!(!line.contains(token), "an access token in a metrics document");
    }
    // Each function's first document is of an instance's first invocation.
    let mut first: BTreeMap<&str, &Value> = BTreeMap::new();
    for (_, doc) in &all {
        let cold = value(doc, "ColdStart");
        assert!(cold == 0.0 || cold == 1.0, "{doc}");
        first.entry(doc["Function"].as_str().unwrap()).or_insert(doc);
    }
    for (function, doc) in &first {
        assert_eq!(value(doc, "ColdStart"), 1.0, "{function}'s first document is a cold start: {doc}");
    }
    // The verification mail of the tenant's registration went out through the mailer.
    let mailer: Vec<&Value> = all.iter().map(|(_, d)| d).filter(|d| d["Function"] == "notifications-mailer").collect();
    assert!(mailer.iter().all(|d| d["Kind"] == "queue" && value(d, "Messages") >= 1.0), "{mailer:?}");
    assert!(mailer.iter().map(|d| d["MailsSent"].as_f64().unwrap_or_default()).sum::<f64>() >= 1.0, "{mailer:?}");
}
