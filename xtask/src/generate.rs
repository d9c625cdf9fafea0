//! `xtask gen`: every file that follows from the functions' manifests, written from them.
//!
//! - `template.yaml`: `deploy/template.base.yaml` (written by hand: parameters, the API, the
//!   table, the topic, secrets, bucket, alarms, dashboard) with, at its `# make gen` line, each
//!   consumer's queue, dead-letter queue, subscription (for the types `Consumer` wants) and
//!   alarm, the topic's queue policy, and every function's resource;
//! - the local router (`[workspace.metadata.lambda.watch.router]` in Cargo.toml), which
//!   `cargo lambda watch` serves as API Gateway would;
//! - the README's route table;
//! - `events/<function>.json`, one sample event per function;
//! - the LocalStack init hook's table (`localstack/init/ready.d/table.json`, from the code's
//!   table definition) and its queues and subscriptions (the blocks after its `# make gen:`
//!   lines), as the template makes them.
//!
//! `xtask gen --check` fails, naming the files, when a committed one differs from what it
//! writes; the `generated` test runs it, so a manifest changed without `make gen` is caught.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::{Value, json};
use taskflow::domain::events::Consumer;

use crate::Error;
use crate::manifest::{Manifest, Queue, Route, Workspace};

const BASE_TEMPLATE: &str = "deploy/template.base.yaml";
const MARKER: &str = "  # make gen: ";
const ROUTER_HEADER: &str = "[workspace.metadata.lambda.watch.router]";
const LOCALSTACK_HOOK: &str = "localstack/init/ready.d/01-taskflow.sh";
const LOCALSTACK_TABLE: &str = "localstack/init/ready.d/table.json";
const README_TABLE: &str = "| Route | Function |\n| --- | --- |\n";

/// A fixed instant for the samples, so that they do not change on every run.
const SAMPLE_TIME: &str = "02/Dec/2026:09:00:00 +0000";
const SAMPLE_TIME_EPOCH_MS: u64 = 1_796_202_000_000;
const SAMPLE_OCCURRED_AT: &str = "2026-12-02T09:00:00Z";

/// Every generated file: its path under the root and its contents.
pub fn generate(workspace: &Workspace) -> Result<BTreeMap<PathBuf, String>, Error> {
    let read = |path: &str| {
        std::fs::read_to_string(workspace.root.join(path)).map_err(|e| Error::from(format!("{path}: {e}")))
    };
    let routes = workspace.routes()?;
    let mut files = BTreeMap::new();
    files.insert(PathBuf::from("template.yaml"), template(workspace, &read(BASE_TEMPLATE)?)?);
    files.insert(PathBuf::from("Cargo.toml"), router(&read("Cargo.toml")?, &routes)?);
    files.insert(PathBuf::from("README.md"), route_table(&read("README.md")?, &routes)?);
    files.insert(PathBuf::from(LOCALSTACK_HOOK), localstack_hook(workspace, &read(LOCALSTACK_HOOK)?)?);
    files.insert(PathBuf::from(LOCALSTACK_TABLE), serde_json::to_string_pretty(&localstack_table())? + "\n");
    let public = public_operations()?;
    for (name, manifest) in &workspace.functions {
        let event = sample_event(name, manifest, &public)?;
        files.insert(PathBuf::from(format!("events/{name}.json")), serde_json::to_string_pretty(&event)? + "\n");
    }
    Ok(files)
}

/// Writes every generated file; with `check`, writes nothing and fails naming the stale ones
/// (and sample events of functions that no longer exist).
pub fn run(check: bool) -> Result<(), Error> {
    run_at(&crate::manifest::repository_root(), check)
}

pub fn run_at(root: &std::path::Path, check: bool) -> Result<(), Error> {
    let workspace = Workspace::load(root)?;
    let files = generate(&workspace)?;
    let mut stale = Vec::new();
    for (path, contents) in &files {
        let full = workspace.root.join(path);
        if std::fs::read_to_string(&full).ok().as_deref() != Some(contents.as_str()) {
            stale.push(path.display().to_string());
            if !check {
                std::fs::write(&full, contents)?;
            }
        }
    }
    for entry in std::fs::read_dir(workspace.root.join("events"))? {
        let path = PathBuf::from("events").join(entry?.file_name());
        if !files.contains_key(&path) {
            stale.push(format!("{} (no such function)", path.display()));
            if !check {
                std::fs::remove_file(workspace.root.join(&path))?;
            }
        }
    }
    match (check, stale.is_empty()) {
        (true, false) => Err(format!(
            "generated files differ from the manifests (functions/*/Cargo.toml, {BASE_TEMPLATE}): {}; run `make gen`",
            stale.join(", ")
        )
        .into()),
        (false, false) => {
            eprintln!("make gen: wrote {}", stale.join(", "));
            Ok(())
        }
        (_, true) => Ok(()),
    }
}

fn template(workspace: &Workspace, base: &str) -> Result<String, Error> {
    let at = base.find(MARKER).ok_or_else(|| format!("{BASE_TEMPLATE} has lost its `{}` line", MARKER.trim()))?;
    let marker_end =
        at + base[at..].find("\n\n").ok_or("the `# make gen` comment is not followed by a blank line")? + 2;
    let mut out = String::from(
        "# Written by `make gen` (xtask/src/generate.rs) from deploy/template.base.yaml and the functions'\n\
         # manifests (functions/*/Cargo.toml): edit those, not this file.\n",
    );
    out.push_str(&base[..at]);
    let consumers: Vec<(&str, &Queue)> = workspace.consumers().collect();
    out.push_str(&queue_policy(&consumers));
    for (_, queue) in &consumers {
        out.push_str(&consumer_resources(queue)?);
    }
    for (name, manifest) in &workspace.functions {
        out.push_str(&function_resource(workspace, name, manifest)?);
    }
    out.push_str(&base[marker_end..]);
    Ok(out)
}

/// `text` as a YAML scalar that reads back as itself whatever it holds (`: `, ` #`, quotes):
/// a JSON string, which YAML reads as a double-quoted one.
fn yaml_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// `text` as comment lines at `indent`, wrapped before 96 columns.
fn comment(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + 2 + line.len() + 1 + word.len() > 95 {
            writeln!(out, "{indent}# {line}").unwrap();
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        writeln!(out, "{indent}# {line}").unwrap();
    }
    out
}

fn queue_policy(consumers: &[(&str, &Queue)]) -> String {
    let ids: Vec<&str> = consumers
        .iter()
        .map(|(_, q)| q.id.as_str())
        .chain(consumers.iter().map(|(_, q)| q.dead_letter_id.as_str()))
        .collect();
    let mut out = comment(
        "The topic may send to each consumer's queue and to its dead-letter queue (where SNS puts what it \
         could not hand to the queue).",
        "  ",
    );
    out.push_str("  EventQueuePolicy:\n    Type: AWS::SQS::QueuePolicy\n    Properties:\n      Queues:\n");
    for id in &ids {
        writeln!(out, "        - !Ref {id}").unwrap();
    }
    out.push_str(
        "      PolicyDocument:\n        Statement:\n          - Effect: Allow\n            Principal:\n              \
         Service: sns.amazonaws.com\n            Action: sqs:SendMessage\n            Resource:\n",
    );
    for id in &ids {
        writeln!(out, "              - !GetAtt {id}.Arn").unwrap();
    }
    out.push_str(
        "            Condition:\n              ArnEquals:\n                aws:SourceArn: !Ref EventTopic\n\n",
    );
    out
}

fn consumer_resources(queue: &Queue) -> Result<String, Error> {
    let consumer = Consumer::named(&queue.consumer).ok_or("validated: a known consumer")?;
    let mut out = String::new();
    if let Some(about) = &queue.about {
        out.push_str(&comment(about, "  "));
    }
    let (id, dlq) = (&queue.id, &queue.dead_letter_id);
    write!(
        out,
        "  {id}:\n    Type: AWS::SQS::Queue\n    Properties:\n      VisibilityTimeout: {}\n      \
         SqsManagedSseEnabled: true\n      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt {dlq}.Arn\n        \
         maxReceiveCount: {}\n\n",
        queue.visibility_timeout, queue.max_receive_count
    )?;
    write!(
        out,
        "  {dlq}:\n    Type: AWS::SQS::Queue\n    Metadata:\n      cfn-lint:\n        config:\n          \
         ignore_checks:\n            - ES6000 # this is the dead-letter queue itself: it has no redrive policy of its own\n    \
         Properties:\n      MessageRetentionPeriod: 1209600 # 14 days to inspect and redrive\n      \
         SqsManagedSseEnabled: true\n\n"
    )?;
    write!(
        out,
        "  {}:\n    Type: AWS::SNS::Subscription\n    Properties:\n      TopicArn: !Ref EventTopic\n      \
         Protocol: sqs\n      Endpoint: !GetAtt {id}.Arn\n      RawMessageDelivery: true\n      \
         # What SNS could not hand to the queue waits in the consumer's dead-letter queue.\n      \
         RedrivePolicy:\n        deadLetterTargetArn: !GetAtt {dlq}.Arn\n",
        queue.subscription_id
    )?;
    if let Some(types) = consumer.event_types() {
        writeln!(out, "      FilterPolicy:\n        type: [{}]", types.join(", "))?;
    }
    out.push('\n');
    write!(
        out,
        "  {}:\n    Type: AWS::CloudWatch::Alarm\n    Properties:\n      AlarmDescription: {}\n      \
         Namespace: AWS/SQS\n      MetricName: ApproximateNumberOfMessagesVisible\n      Dimensions:\n        \
         - Name: QueueName\n          Value: !GetAtt {dlq}.QueueName\n      Statistic: Maximum\n      Period: 300\n      \
         EvaluationPeriods: 1\n      Threshold: 0\n      ComparisonOperator: GreaterThanThreshold\n      \
         TreatMissingData: notBreaching\n      AlarmActions: [!Ref AlarmTopicArn]\n\n",
        queue.alarm_id,
        yaml_string(&queue.alarm)
    )?;
    Ok(out)
}

fn function_resource(workspace: &Workspace, name: &str, m: &Manifest) -> Result<String, Error> {
    let mut out = String::new();
    if let Some(about) = &m.about {
        out.push_str(&comment(about, "  "));
    }
    writeln!(out, "  {}:\n    Type: AWS::Serverless::Function\n    Metadata:", m.logical_id(name))?;
    if !m.lint_ignore.is_empty() {
        out.push_str("      cfn-lint:\n        config:\n          ignore_checks:\n");
        for check in &m.lint_ignore {
            writeln!(out, "            - {check}")?;
        }
    }
    write!(out, "      BuildMethod: rust-cargolambda\n      BuildProperties:\n        Binary: {name}\n")?;
    out.push_str("    Properties:\n      CodeUri: .\n");
    if let Some(memory) = m.memory {
        writeln!(out, "      MemorySize: {memory}")?;
    }
    if let Some(timeout) = m.timeout {
        writeln!(out, "      Timeout: {timeout}")?;
    }
    if !m.environment.is_empty() {
        out.push_str("      Environment:\n        Variables:\n");
        for variable in &m.environment {
            writeln!(out, "          {variable}: {}", workspace.taskflow.variables[variable])?;
        }
    }
    out.push_str("      Events:\n");
    if let Some(route) = m.route(name)? {
        write!(
            out,
            "        Api:\n          Type: HttpApi\n          Properties:\n            ApiId: !Ref HttpApi\n            \
             Method: {}\n            Path: {}\n",
            route.method, route.path
        )?;
    }
    if let Some(queue) = &m.queue {
        write!(
            out,
            "        Queue:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt {}.Arn\n            \
             BatchSize: {}\n",
            queue.id, queue.batch_size
        )?;
        if let Some(window) = queue.batching_window {
            writeln!(out, "            MaximumBatchingWindowInSeconds: {window}")?;
        }
        out.push_str("            FunctionResponseTypes:\n              - ReportBatchItemFailures\n");
    }
    if let Some(schedule) = &m.schedule {
        write!(
            out,
            "        {}:\n          Type: Schedule\n          Properties:\n            Schedule: {}\n",
            schedule.event,
            yaml_string(&schedule.rate)
        )?;
    }
    // One statement per resource, its actions in the order the manifest lists them.
    let mut statements: Vec<(&str, Vec<&str>)> = Vec::new();
    for (action, resource) in m.permissions(name)? {
        match statements.iter_mut().find(|(r, _)| *r == resource) {
            Some((_, actions)) => actions.push(action),
            None => statements.push((resource, vec![action])),
        }
    }
    if !statements.is_empty() {
        out.push_str("      Policies:\n        - Statement:\n");
        for (resource, actions) in statements {
            out.push_str("            - Effect: Allow\n              Action:\n");
            for action in actions {
                writeln!(out, "                - {action}")?;
            }
            writeln!(out, "              Resource: {}", workspace.taskflow.resources[resource])?;
        }
    }
    out.push('\n');
    Ok(out)
}

/// Cargo.toml with its router table written from the routes.
fn router(cargo: &str, routes: &[Route]) -> Result<String, Error> {
    let start =
        cargo.find(ROUTER_HEADER).ok_or("Cargo.toml has lost its router table header")? + ROUTER_HEADER.len() + 1;
    let end = start + cargo[start..].find("\n\n").ok_or("Cargo.toml's router table is not followed by a blank line")?;
    let mut table = String::new();
    let mut by_path: Vec<(&str, Vec<&Route>)> = Vec::new();
    for route in routes {
        match by_path.last_mut() {
            Some((path, list)) if *path == route.path => list.push(route),
            _ => by_path.push((&route.path, vec![route])),
        }
    }
    for (i, (path, list)) in by_path.iter().enumerate() {
        if i > 0 {
            table.push('\n');
        }
        let entries: Vec<String> =
            list.iter().map(|r| format!("{{ method = \"{}\", function = \"{}\" }}", r.method, r.function)).collect();
        if entries.len() == 1 {
            write!(table, "\"{path}\" = [{}]", entries[0])?;
        } else {
            write!(table, "\"{path}\" = [\n{}]", entries.iter().map(|e| format!("  {e},\n")).collect::<String>())?;
        }
    }
    Ok(format!("{}{}{}", &cargo[..start], table, &cargo[end..]))
}

/// The README with its route table written from the routes.
fn route_table(readme: &str, routes: &[Route]) -> Result<String, Error> {
    let start =
        readme.find(README_TABLE).ok_or("README.md has lost its `| Route | Function |` table")? + README_TABLE.len();
    let end = start + readme[start..].find("\n\n").map_or(readme.len() - start, |i| i + 1);
    let rows: String = routes.iter().map(|r| format!("| `{} {}` | `{}` |\n", r.method, r.path, r.function)).collect();
    Ok(format!("{}{}{}", &readme[..start], rows, &readme[end..]))
}

/// `text` with the block after its line `marker` (up to the next blank line) replaced.
fn replace_block(text: &str, marker: &str, block: &str, file: &str) -> Result<String, Error> {
    let at = text.find(marker).ok_or_else(|| format!("{file} has lost its line {marker:?}"))?;
    let start = at + text[at..].find('\n').ok_or("a marker line ends")? + 1;
    let end = start + text[start..].find("\n\n").map_or(text.len() - start, |i| i + 1);
    Ok(format!("{}{block}{}", &text[..start], &text[end..]))
}

/// The LocalStack init hook with each consumer's queue and subscription, as the template's.
fn localstack_hook(workspace: &Workspace, hook: &str) -> Result<String, Error> {
    let mut queues = String::new();
    let mut subscriptions = String::new();
    for (_, queue) in workspace.consumers() {
        writeln!(queues, "queue_with_dead_letters {}", queue.local_name)?;
        let consumer = Consumer::named(&queue.consumer).ok_or("validated: a known consumer")?;
        match consumer.event_types() {
            Some(types) => writeln!(subscriptions, "subscribe {} '{}'", queue.local_name, json!({ "type": types }))?,
            None => writeln!(subscriptions, "subscribe {}", queue.local_name)?,
        }
    }
    let hook = replace_block(hook, "# make gen: the consumers' queues", &queues, LOCALSTACK_HOOK)?;
    replace_block(&hook, "# make gen: the consumers' subscriptions", &subscriptions, LOCALSTACK_HOOK)
}

/// The table as `aws dynamodb create-table --cli-input-json` takes it, from the code's
/// definition (the one the bootstrap creates and the template declares).
fn localstack_table() -> Value {
    use taskflow::store::schema::TABLE;
    let key_schema = |partition: &str, sort: &str| json!([{"AttributeName": partition, "KeyType": "HASH"}, {"AttributeName": sort, "KeyType": "RANGE"}]);
    json!({
        "TableName": "taskflow",
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": TABLE.key_attributes().iter()
            .map(|a| json!({"AttributeName": a, "AttributeType": "S"})).collect::<Vec<_>>(),
        "KeySchema": key_schema(TABLE.partition_key, TABLE.sort_key),
        "GlobalSecondaryIndexes": TABLE.indexes.iter().map(|i| json!({
            "IndexName": i.name,
            "KeySchema": key_schema(i.partition_key, i.sort_key),
            "Projection": {"ProjectionType": "ALL"},
        })).collect::<Vec<_>>(),
    })
}

/// The (method, path) of every operation the OpenAPI document marks as needing no token.
fn public_operations() -> Result<Vec<(String, String)>, Error> {
    let document: Value = serde_json::from_str(&taskflow::openapi::to_json())?;
    let mut public = Vec::new();
    for (path, item) in document["paths"].as_object().ok_or("the OpenAPI document has no paths")? {
        for (method, operation) in item.as_object().into_iter().flatten() {
            if operation.get("security").is_none() {
                public.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    Ok(public)
}

fn toml_to_json(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => json!(s),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => json!(f),
        toml::Value::Boolean(b) => json!(b),
        toml::Value::Datetime(d) => json!(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect()),
    }
}

/// The sample event for `sam local invoke` and the local stack's Invoke API (README, Sample
/// events): an API Gateway HTTP API (payload 2.0) request for a route, an SQS batch of one
/// TaskFlow event for a queue consumer, an EventBridge schedule event for a scheduled job.
/// What a sample cannot know is a `${NAME}` placeholder, filled in by whoever invokes it.
fn sample_event(name: &str, m: &Manifest, public: &[(String, String)]) -> Result<Value, Error> {
    let sample = m.sample.as_ref();
    if let Some(route) = m.route(name)? {
        let (method, path) = (&route.method, &route.path);
        let path_parameters = sample.map(|s| s.path.clone()).unwrap_or_default();
        let mut raw_path = String::new();
        for segment in path.split('/').skip(1) {
            raw_path.push('/');
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(parameter) => raw_path.push_str(path_parameters.get(parameter).ok_or_else(|| {
                    format!("functions/{name}/Cargo.toml: [..sample] path gives no value for {{{parameter}}}")
                })?),
                None => raw_path.push_str(segment),
            }
        }
        let query = sample.map(|s| s.query.clone()).unwrap_or_default();
        let mut headers =
            json!({"accept": "application/json", "host": "localhost:8000", "user-agent": "taskflow-sample-event"});
        if !public.iter().any(|(m, p)| m == method && p == path) {
            headers["authorization"] = json!("Bearer ${ACCESS_TOKEN}");
        }
        let mut event = json!({
            "version": "2.0",
            "routeKey": format!("{method} {path}"),
            "rawPath": raw_path,
            "rawQueryString": query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"),
            "requestContext": {
                "accountId": "123456789012", "apiId": "local", "domainName": "localhost", "domainPrefix": "localhost",
                "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                         "userAgent": "taskflow-sample-event"},
                "requestId": format!("sample-{name}"), "routeKey": format!("{method} {path}"), "stage": "$default",
                "time": SAMPLE_TIME, "timeEpoch": SAMPLE_TIME_EPOCH_MS,
            },
            "isBase64Encoded": false,
        });
        if !query.is_empty() {
            event["queryStringParameters"] = json!(query);
        }
        if !path_parameters.is_empty() {
            event["pathParameters"] = json!(path_parameters);
        }
        if let Some(body) = sample.and_then(|s| s.body.as_ref()) {
            headers["content-type"] = json!("application/json");
            event["body"] = json!(serde_json::to_string(&toml_to_json(body))?);
        }
        event["headers"] = headers;
        return Ok(event);
    }
    if let Some(queue) = &m.queue {
        let kind = sample
            .and_then(|s| s.event.as_ref())
            .ok_or_else(|| format!("functions/{name}/Cargo.toml: a queue consumer's [..sample] needs its `event`"))?;
        let mut body = json!({
            "schema_version": 2, "event_id": "${EVENT_ID}", "organization_id": "${ORGANIZATION_ID}",
            "occurred_at": SAMPLE_OCCURRED_AT, "actor": {"type": "user", "id": "${USER_ID}"},
        });
        for (key, value) in kind {
            body[key] = toml_to_json(value);
        }
        return Ok(json!({"Records": [{
            "messageId": format!("sample-{name}"), "receiptHandle": format!("sample-{name}"),
            "body": serde_json::to_string(&body)?,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": SAMPLE_TIME_EPOCH_MS.to_string()},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{}", queue.local_name),
            "awsRegion": "us-east-1",
        }]}));
    }
    Ok(json!({
        "version": "0", "id": "sample-schedule", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": SAMPLE_OCCURRED_AT, "region": "us-east-1",
        "resources": [format!("arn:aws:events:us-east-1:123456789012:rule/taskflow-{name}")],
        "detail": {},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str, function: &str) -> Route {
        Route { path: path.into(), method: method.into(), function: function.into() }
    }

    #[test]
    fn a_comment_wraps_before_96_columns_and_keeps_every_word() {
        let text = "word ".repeat(60);
        let lines = comment(&text, "  ");
        assert!(lines.lines().all(|l| l.len() <= 95 && l.starts_with("  # ")), "{lines}");
        assert_eq!(lines.split_whitespace().filter(|w| *w == "word").count(), 60);
    }

    #[test]
    fn a_yaml_string_keeps_what_plain_yaml_would_cut_or_misread() {
        assert_eq!(yaml_string("a: b #c \"d\""), r#""a: b #c \"d\"""#);
    }

    #[test]
    fn the_router_groups_a_paths_methods_and_keeps_the_rest_of_cargo_toml() {
        let cargo = "[a]\nx = 1\n\n[workspace.metadata.lambda.watch.router]\n\"/old\" = []\n\n[b]\ny = 2\n";
        let routes = [route("GET", "/t", "t-list"), route("POST", "/t", "t-create"), route("GET", "/u", "u-get")];
        let written = router(cargo, &routes).unwrap();
        assert_eq!(
            written,
            "[a]\nx = 1\n\n[workspace.metadata.lambda.watch.router]\n\"/t\" = [\n  \
             { method = \"GET\", function = \"t-list\" },\n  { method = \"POST\", function = \"t-create\" },\n]\n\
             \"/u\" = [{ method = \"GET\", function = \"u-get\" }]\n\n[b]\ny = 2\n"
        );
        assert!(router("[a]\n", &routes).is_err(), "a Cargo.toml without the table is refused");
    }

    #[test]
    fn the_route_table_and_a_block_replace_only_their_rows() {
        let readme = format!("intro\n\n{README_TABLE}| `GET /x` | `x` |\n\nafter\n");
        let written = route_table(&readme, &[route("GET", "/y", "y-get")]).unwrap();
        assert_eq!(written, format!("intro\n\n{README_TABLE}| `GET /y` | `y-get` |\n\nafter\n"));
        let hook = "a\n# make gen: q\nold 1\nold 2\n\nb\n";
        assert_eq!(replace_block(hook, "# make gen: q", "new\n", "hook").unwrap(), "a\n# make gen: q\nnew\n\nb\n");
        assert!(replace_block(hook, "# make gen: z", "", "hook").unwrap_err().to_string().contains("hook has lost"));
    }
}
