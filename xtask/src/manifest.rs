//! The functions' manifests (`[package.metadata.taskflow]` of `functions/*/Cargo.toml`) and
//! the workspace's (`[workspace.metadata.taskflow]`), read as typed data: the one place a
//! function's route, queue, schedule, permissions, environment and sizing are written. The
//! generator (`generate.rs`), the local stack's bootstrap and poller, and the per-function
//! environment all read them from here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;

/// The HTTP methods a route may have: those the API's CORS configuration allows
/// (`AllowMethods` in deploy/template.base.yaml).
pub const METHODS: [&str; 4] = ["GET", "POST", "PATCH", "DELETE"];

#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    pub taskflow: WorkspaceManifest,
    /// Every function, by crate name (the directory under `functions/`, also its binary).
    pub functions: BTreeMap<String, Manifest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceManifest {
    /// Variables the template's Globals set for every function.
    pub globals: Vec<String>,
    /// Variables every function may read, with defaults in the code.
    pub tuning: Vec<String>,
    /// A permission's resource name, as the template writes it (a CloudFormation expression).
    pub resources: BTreeMap<String, String>,
    /// An `environment` variable's value, as the template writes it.
    pub variables: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// "METHOD /path": the route it serves (an HTTP function: one binary per route).
    pub route: Option<String>,
    /// Its handler under `taskflow::api` (e.g. `tasks::create`), whose `#[utoipa::path]`
    /// documents the route: the OpenAPI document lists the handlers named here.
    pub handler: Option<String>,
    /// Its logical id in template.yaml when not `<CamelName>Function` (kept from before).
    pub id: Option<String>,
    /// Why it is sized or shaped as it is: the comment above its resource.
    pub about: Option<String>,
    pub memory: Option<u32>,
    pub timeout: Option<u32>,
    /// cfn-lint checks that do not apply to it (`about` says why).
    #[serde(default)]
    pub lint_ignore: Vec<String>,
    /// "action resource" pairs, resources named in [`WorkspaceManifest::resources`].
    pub permissions: Vec<String>,
    /// Variables its resource sets (values in [`WorkspaceManifest::variables`]).
    pub environment: Vec<String>,
    /// Variables it reads that have defaults in the code.
    pub tuning: Vec<String>,
    /// The queue it consumes (a consumer of the event topic).
    pub queue: Option<Queue>,
    /// The schedule it runs on.
    pub schedule: Option<Schedule>,
    /// What its sample event carries (events/<name>.json).
    pub sample: Option<Sample>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    /// The event topic's consumer it is (`taskflow::domain::events::Consumer::name`): the
    /// event types its subscription lets through.
    pub consumer: String,
    /// Logical ids in template.yaml.
    pub id: String,
    pub dead_letter_id: String,
    pub subscription_id: String,
    pub alarm_id: String,
    /// The queue's name in the local stack, and the variable prefix its URLs are exported as
    /// (`<local_variable>_URL`; the dead-letter queue's `..._DLQ_URL` without `_QUEUE`).
    pub local_name: String,
    pub local_variable: String,
    pub visibility_timeout: u32,
    /// Locally, when the consumer times its own retries (see bootstrap.rs); else 2 s.
    pub local_visibility_timeout: Option<u32>,
    pub max_receive_count: u32,
    pub batch_size: u32,
    pub batching_window: Option<u32>,
    pub about: Option<String>,
    /// The description of the alarm on its dead-letter queue.
    pub alarm: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// The event's name in the template.
    pub event: String,
    /// An EventBridge schedule expression, e.g. `rate(1 minute)`.
    pub rate: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    pub body: Option<toml::Value>,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub path: BTreeMap<String, String>,
    /// A queue consumer's sample: the TaskFlow event's kind-specific fields.
    pub event: Option<toml::Table>,
}

/// One route of one function.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub path: String,
    pub method: String,
    pub function: String,
}

impl Manifest {
    /// Its route, parsed; a malformed one is an error naming the function.
    pub fn route(&self, function: &str) -> Result<Option<Route>, Error> {
        let Some(route) = &self.route else { return Ok(None) };
        match route.split_once(' ') {
            Some((method, path)) if METHODS.contains(&method) && path.starts_with('/') && !path.contains(' ') => {
                Ok(Some(Route { path: path.to_owned(), method: method.to_owned(), function: function.to_owned() }))
            }
            _ => Err(format!("functions/{function}/Cargo.toml: route {route:?} is not \"METHOD /path\"").into()),
        }
    }

    /// Its permissions as (action, resource name) pairs.
    pub fn permissions(&self, function: &str) -> Result<Vec<(&str, &str)>, Error> {
        self.permissions
            .iter()
            .map(|p| {
                p.split_once(' ').ok_or_else(|| {
                    format!("functions/{function}/Cargo.toml: permission {p:?} is not \"action resource\"").into()
                })
            })
            .collect()
    }

    pub fn logical_id(&self, function: &str) -> String {
        self.id.clone().unwrap_or_else(|| format!("{}Function", camel(function)))
    }
}

/// `tasks-create` → `TasksCreate`.
pub fn camel(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

impl Workspace {
    /// The workspace at the root of this repository (where xtask's own crate sits).
    pub fn load_here() -> Result<Self, Error> {
        Self::load(&repository_root())
    }

    /// The workspace at `root`, checked (`validate`): what the generator, the bootstrap and
    /// the poller work from.
    pub fn load(root: &Path) -> Result<Self, Error> {
        let workspace = Self::read(root)?;
        workspace.validate()?;
        Ok(workspace)
    }

    /// The manifests as they are, unchecked: for what runs at every function's start (the
    /// local environment filter), which needs one function's lists, not the whole
    /// workspace's checks (each reads every file of shared/src).
    pub fn read(root: &Path) -> Result<Self, Error> {
        #[derive(Deserialize)]
        struct Top {
            workspace: WorkspaceTable,
        }
        #[derive(Deserialize)]
        struct WorkspaceTable {
            metadata: WorkspaceMetadata,
        }
        #[derive(Deserialize)]
        struct WorkspaceMetadata {
            taskflow: WorkspaceManifest,
        }
        #[derive(Deserialize)]
        struct Package {
            package: PackageTable,
        }
        #[derive(Deserialize)]
        struct PackageTable {
            name: String,
            metadata: Option<PackageMetadata>,
        }
        #[derive(Deserialize)]
        struct PackageMetadata {
            taskflow: Option<Manifest>,
        }

        let top: Top = read_toml(&root.join("Cargo.toml"))?;
        let mut functions = BTreeMap::new();
        for entry in std::fs::read_dir(root.join("functions"))? {
            let path = entry?.path().join("Cargo.toml");
            if !path.is_file() {
                continue;
            }
            let package: Package = read_toml(&path)?;
            let manifest = package
                .package
                .metadata
                .and_then(|m| m.taskflow)
                .ok_or_else(|| format!("{}: no [package.metadata.taskflow]", path.display()))?;
            functions.insert(package.package.name, manifest);
        }
        Ok(Workspace { root: root.to_owned(), taskflow: top.workspace.metadata.taskflow, functions })
    }

    /// Every route, by path then method.
    pub fn routes(&self) -> Result<Vec<Route>, Error> {
        let mut routes = Vec::new();
        for (name, manifest) in &self.functions {
            routes.extend(manifest.route(name)?);
        }
        routes.sort();
        Ok(routes)
    }

    /// The queue consumers, with their function's name.
    pub fn consumers(&self) -> impl Iterator<Item = (&str, &Queue)> {
        self.functions.iter().filter_map(|(name, m)| m.queue.as_ref().map(|q| (name.as_str(), q)))
    }

    /// What a manifest names must exist: its resources and variables, its consumer; each
    /// function is reached one way; no route is served twice.
    fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        let read_by_the_library = variables_named_in(&self.root.join("shared/src"))?;
        for (name, m) in &self.functions {
            let file = format!("functions/{name}/Cargo.toml");
            let kinds =
                usize::from(m.route.is_some()) + usize::from(m.queue.is_some()) + usize::from(m.schedule.is_some());
            if kinds != 1 {
                problems.push(format!("{file}: give exactly one of `route`, [..queue] or [..schedule]"));
            }
            if m.route.is_some() != m.handler.is_some() {
                problems.push(format!("{file}: a `route` and its `handler` go together"));
            }
            for (action, resource) in m.permissions(name)? {
                if !self.taskflow.resources.contains_key(resource) {
                    problems.push(format!(
                        "{file}: permission {action} on {resource:?}, which [workspace.metadata.taskflow.resources] does not name"
                    ));
                }
            }
            for variable in &m.environment {
                if !self.taskflow.variables.contains_key(variable) {
                    problems.push(format!(
                        "{file}: environment {variable}, whose value [workspace.metadata.taskflow.variables] does not give"
                    ));
                }
            }
            if let Some(queue) = &m.queue
                && taskflow::domain::events::Consumer::named(&queue.consumer).is_none()
            {
                problems.push(format!("{file}: queue.consumer {:?} is no Consumer of the event topic", queue.consumer));
            }
            for (action, _) in m.permissions(name)? {
                let well_formed = action.split_once(':').is_some_and(|(service, operation)| {
                    !service.is_empty()
                        && service.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                        && operation.starts_with(|c: char| c.is_ascii_uppercase())
                        && operation.chars().all(|c| c.is_ascii_alphanumeric())
                });
                if !well_formed {
                    problems.push(format!("{file}: {action:?} is not an IAM action (service:Operation)"));
                }
            }
            for variable in m.environment.iter().chain(&m.tuning) {
                // A secret's `<NAME>_SECRET_ARN` is read as `<NAME>` (config::secret).
                let read_as = variable.strip_suffix("_SECRET_ARN").unwrap_or(variable);
                if !read_by_the_library.contains(read_as) {
                    problems.push(format!(
                        "{file}: the library reads no variable {variable} (shared/src names it nowhere)"
                    ));
                }
            }
            if let Some(schedule) = &m.schedule
                && !schedule.event.chars().all(|c| c.is_ascii_alphanumeric())
            {
                problems.push(format!(
                    "{file}: schedule.event {:?} is not a template name (letters, digits)",
                    schedule.event
                ));
            }
            if let Some(sample) = &m.sample {
                let route = m.route(name)?;
                let parameters: BTreeSet<&str> = route
                    .as_ref()
                    .map(|r| r.path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect())
                    .unwrap_or_default();
                if sample.path.keys().map(String::as_str).collect::<BTreeSet<_>>() != parameters {
                    problems.push(format!(
                        "{file}: [..sample] path must give exactly its route's parameters {parameters:?}"
                    ));
                }
                if route.is_none() && (sample.body.is_some() || !sample.query.is_empty()) {
                    problems.push(format!("{file}: [..sample] body and query are for a route's sample"));
                }
                if m.queue.is_none() && sample.event.is_some() {
                    problems.push(format!("{file}: [..sample] event is for a queue consumer's sample"));
                }
            }
        }
        // One queue per consumer: two would each get every event (a mail sent twice).
        let mut consumed = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for (name, m) in &self.functions {
            let mut own = vec![m.logical_id(name)];
            if let Some(queue) = &m.queue {
                if !consumed.insert(queue.consumer.as_str()) {
                    problems.push(format!("two functions consume the queue of {:?}", queue.consumer));
                }
                own.extend(
                    [&queue.id, &queue.dead_letter_id, &queue.subscription_id, &queue.alarm_id].map(Clone::clone),
                );
            }
            for id in own {
                if !ids.insert(id.clone()) {
                    problems.push(format!("functions/{name}/Cargo.toml: the logical id {id} is taken already"));
                }
            }
        }
        let routes = self.routes()?;
        for pair in routes.windows(2) {
            if pair[0].path == pair[1].path && pair[0].method == pair[1].method {
                problems.push(format!(
                    "{} {} is routed to both {} and {}",
                    pair[0].method, pair[0].path, pair[0].function, pair[1].function
                ));
            }
        }
        let consumers: Vec<_> = self.consumers().map(|(_, q)| q.consumer.as_str()).collect();
        for consumer in taskflow::domain::events::Consumer::ALL {
            if !consumers.contains(&consumer.name()) {
                problems.push(format!(
                    "no function consumes the queue of the event topic's consumer {:?}",
                    consumer.name()
                ));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("\n").into()) }
    }
}

/// Every `"TASKFLOW_..."`, `"AWS_..."` or `"RUST_LOG"` string literal in the Rust files under
/// `dir`: the variables the library may read.
fn variables_named_in(dir: &Path) -> Result<BTreeSet<String>, Error> {
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(variables_named_in(&path)?);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path)?;
            // After each quote, a run of name characters closed by a quote (however the file's
            // other quotes pair up).
            for (at, _) in text.match_indices('"') {
                let rest = &text[at + 1..];
                let end = rest.find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'));
                if let Some(end) = end
                    && rest[end..].starts_with('"')
                {
                    let literal = &rest[..end];
                    if literal.starts_with("TASKFLOW_") || literal.starts_with("AWS_") || literal == "RUST_LOG" {
                        found.insert(literal.to_owned());
                    }
                }
            }
        }
    }
    Ok(found)
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// The repository xtask works on: the nearest directory at or above the current one whose
/// Cargo.toml is a workspace (so the scaffold's test can run it on a scratch copy), else the
/// one xtask was built in.
pub fn repository_root() -> PathBuf {
    let here = std::env::current_dir().unwrap_or_default();
    here.ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|t| t.lines().any(|line| line.trim() == "[workspace]"))
        })
        .map(Path::to_owned)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the repository").to_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repository's workspace with `change` made to it: what `validate` says.
    fn refusal(change: impl FnOnce(&mut Workspace)) -> String {
        let mut workspace = Workspace::load_here().expect("the repository's manifests are valid");
        change(&mut workspace);
        workspace.validate().expect_err("the change is refused").to_string()
    }

    fn function<'a>(workspace: &'a mut Workspace, name: &str) -> &'a mut Manifest {
        workspace.functions.get_mut(name).expect("a function of the repository")
    }

    #[test]
    fn a_misspelt_variable_is_refused_not_dropped() {
        let refused = refusal(|w| function(w, "tasks-list").tuning.push("TASKFLOW_JWT_ISUER".into()));
        assert!(
            refused.contains("functions/tasks-list/Cargo.toml: the library reads no variable TASKFLOW_JWT_ISUER"),
            "{refused}"
        );
        let refused = refusal(|w| function(w, "tasks-list").environment.push("TASKFLOW_NOTHING_SECRET_ARN".into()));
        assert!(refused.contains("TASKFLOW_NOTHING_SECRET_ARN"), "{refused}");
    }

    #[test]
    fn a_permission_must_name_a_known_resource_and_an_iam_action() {
        let refused = refusal(|w| function(w, "tasks-get").permissions.push("dynamodb:GetItem tabel".into()));
        assert!(
            refused.contains("\"tabel\", which [workspace.metadata.taskflow.resources] does not name"),
            "{refused}"
        );
        let refused = refusal(|w| function(w, "tasks-get").permissions.push("dynamodb-GetItem table".into()));
        assert!(refused.contains("is not an IAM action"), "{refused}");
    }

    #[test]
    fn one_queue_per_consumer_and_one_resource_per_logical_id() {
        let refused = refusal(|w| {
            let mut queue = function(w, "audit-writer").queue.clone().unwrap();
            queue.id = "OtherQueue".into();
            queue.dead_letter_id = "OtherDeadLetterQueue".into();
            queue.subscription_id = "OtherSubscription".into();
            queue.alarm_id = "OtherAlarm".into();
            let mailer = function(w, "notifications-mailer");
            mailer.queue = Some(queue);
        });
        assert!(refused.contains("two functions consume the queue of \"audit-writer\""), "{refused}");
        let refused = refusal(|w| function(w, "tasks-get").id = Some("TasksListFunction".into()));
        assert!(refused.contains("the logical id TasksListFunction is taken already"), "{refused}");
    }

    #[test]
    fn a_function_is_reached_one_way_and_a_route_by_one_function() {
        let refused = refusal(|w| function(w, "tasks-get").route = Some("GET /api/v1/tasks".into()));
        assert!(refused.contains("GET /api/v1/tasks is routed to both"), "{refused}");
        let refused = refusal(|w| function(w, "tasks-get").handler = None);
        assert!(refused.contains("a `route` and its `handler` go together"), "{refused}");
        let refused = refusal(|w| function(w, "audit-writer").route = Some("GET /api/v1/x".into()));
        assert!(refused.contains("exactly one of `route`, [..queue] or [..schedule]"), "{refused}");
    }

    #[test]
    fn a_sample_gives_exactly_its_routes_parameters() {
        let refused = refusal(|w| {
            function(w, "tasks-get").sample.as_mut().unwrap().path = BTreeMap::from([("task".into(), "x".into())]);
        });
        assert!(refused.contains("[..sample] path must give exactly its route's parameters"), "{refused}");
    }
}
