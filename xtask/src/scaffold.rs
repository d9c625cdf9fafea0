//! `xtask new NAME "METHOD /api/v1/..."` (`make function`): one new HTTP function.
//!
//! It writes, from the templates below, the function's crate (its manifest and its `main`)
//! and a handler stub answering 501 with its `#[utoipa::path]` (appended to the group's
//! module under `shared/src/api/`, or a new module); then `make gen` writes everything that
//! follows from the manifest (template.yaml, the router, the README's row, the sample
//! event). The OpenAPI document lists the handler from the manifest (`shared/build.rs`). What is left by hand is the handler's logic, its
//! permissions and environment in the manifest, and its tests (README, Adding a route).

use std::path::Path;

use crate::Error;
use crate::manifest::{METHODS, Workspace};

/// What every authenticated function may call: its organization's request counter
/// (shared/src/store/rate_limits.rs) and the lookup of an API key with its creator
/// (TransactGetItems, which needs GetItem; shared/src/store/api_keys.rs).
const RATE_COUNTER_PERMISSIONS: [&str; 4] = [
    "dynamodb:GetItem table",
    "dynamodb:UpdateItem table",
    "dynamodb:PutItem table",
    "dynamodb:ConditionCheckItem table",
];
/// What every authenticated function reads (token settings, via App::from_env).
const TOKEN_TUNING: [&str; 4] = [
    "TASKFLOW_JWT_ISSUER",
    "TASKFLOW_JWT_AUDIENCE",
    "TASKFLOW_ACCESS_TOKEN_TTL_SECONDS",
    "TASKFLOW_REFRESH_TOKEN_TTL_SECONDS",
];

/// A new function's name, route and where its handler goes.
#[derive(Debug, PartialEq)]
pub struct NewFunction {
    pub name: String,
    pub method: String,
    pub path: String,
    /// The handler's module under `shared/src/api/` and its name: `tasks-archive` is
    /// `tasks::archive`.
    pub group: String,
    pub action: String,
}

/// Words a module or function cannot be named (Rust's strict and reserved keywords).
const KEYWORDS: [&str; 52] = [
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become",
    "box", "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield", "union",
];

/// A Rust identifier that is no keyword: a lowercase letter, then letters, digits or `_`.
fn is_identifier(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_lowercase())
        && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !KEYWORDS.contains(&word)
}

fn is_kebab_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() >= 2
        && parts.iter().all(|p| p.starts_with(|c: char| c.is_ascii_lowercase()))
        && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

/// The path's parameters, in order; `None` when a segment is neither a lowercase literal nor
/// a `{snake_case}` parameter, or a parameter repeats.
fn api_path_parameters(path: &str) -> Option<Vec<&str>> {
    let rest = path.strip_prefix("/api/v1/")?;
    let mut parameters = Vec::new();
    for segment in rest.split('/') {
        if let Some(parameter) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if !is_identifier(parameter) || parameters.contains(&parameter) {
                return None;
            }
            parameters.push(parameter);
        } else if !(segment.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && segment.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        {
            return None;
        }
    }
    Some(parameters)
}

/// Where `name`'s handler goes: the longest leading part of the name that is a module of
/// `shared/src/api/` already (`api-keys-rotate` → `api_keys::rotate`), else its first word.
fn group_and_action(root: &Path, name: &str) -> (String, String) {
    let parts: Vec<&str> = name.split('-').collect();
    let split = (1..parts.len())
        .rev()
        .find(|&n| root.join("shared/src/api").join(format!("{}.rs", parts[..n].join("_"))).is_file())
        .unwrap_or(1);
    (parts[..split].join("_"), parts[split..].join("_"))
}

/// Checks the name and route against the workspace: a kebab-case `<group>-<action>` name not
/// taken, whose group and action are Rust names; a `/api/v1/...` route not served.
pub fn parse(workspace: &Workspace, name: &str, route: &str) -> Result<NewFunction, Error> {
    if !is_kebab_name(name) {
        return Err(
            format!("NAME must be kebab-case with a group and an action, e.g. tasks-archive (not {name:?})").into()
        );
    }
    if workspace.root.join("functions").join(name).exists() {
        return Err(format!("functions/{name} exists already").into());
    }
    let (group, action) = group_and_action(&workspace.root, name);
    if !is_identifier(&group) || !is_identifier(&action) || group == "mod" {
        return Err(format!(
            "NAME {name:?} makes the handler api::{group}::{action}, which Rust cannot name: choose other words"
        )
        .into());
    }
    let (method, path) = match route.split_once(' ') {
        Some((method, path)) if METHODS.contains(&method) && api_path_parameters(path).is_some() => (method, path),
        _ => {
            return Err(format!(
                "ROUTE must be \"<{}> /api/v1/...\", path parameters as {{id}}, each once (not {route:?})",
                METHODS.join("|")
            )
            .into());
        }
    };
    if workspace.routes()?.iter().any(|r| r.method == method && r.path == path) {
        return Err(format!("{method} {path} is routed already").into());
    }
    let module = workspace.root.join("shared/src/api").join(format!("{group}.rs"));
    let text = std::fs::read_to_string(&module).unwrap_or_default();
    if text.contains(&format!("fn {action}(")) || text.contains(&format!("fn {action}<")) {
        return Err(format!("shared/src/api/{group}.rs has a function {action} already: choose another NAME").into());
    }
    Ok(NewFunction { name: name.to_owned(), method: method.to_owned(), path: path.to_owned(), group, action })
}

fn toml_list(values: &[&str]) -> String {
    values.iter().map(|v| format!("  \"{v}\",\n")).collect()
}

fn manifest(new: &NewFunction) -> String {
    let NewFunction { name, method, path, group, action } = new;
    let parameters = api_path_parameters(path).unwrap_or_default();
    let sample = if parameters.is_empty() {
        String::new()
    } else {
        let listed: Vec<String> = parameters.iter().map(|p| format!("{p} = \"${{{}}}\"", p.to_uppercase())).collect();
        format!(
            "\n# What its sample event (events/{name}.json) sends; ${{NAME}}s are filled in by whoever\n\
             # invokes it (README, Sample events).\n[package.metadata.taskflow.sample]\npath = {{ {} }}\n",
            listed.join(", ")
        )
    };
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition.workspace = true
publish.workspace = true
license.workspace = true

# The function is its main over the library, where the tests are: no test harness of its own
# to link for `cargo test` (one per function, each linking the SDK).
[[bin]]
name = "{name}"
path = "src/main.rs"
test = false

[dependencies]
taskflow.workspace = true
lambda_http.workspace = true
tokio.workspace = true

# This function's manifest: everything the deployment and the local stack know of it.
# `make gen` (xtask/src/generate.rs) writes its template.yaml resource, its local route, its row of
# the README's route table and events/<name>.json from it; nothing else is written by hand.
# `permissions` are "action resource" (resources: [workspace.metadata.taskflow.resources]);
# `environment` the variables its resource sets (values: [workspace.metadata.taskflow.variables]),
# `tuning` those it reads with defaults in the code. The local stack starts it with only these.
[package.metadata.taskflow]
route = "{method} {path}"
handler = "{group}::{action}"
permissions = [
{permissions}]
environment = []
tuning = [
{tuning}]
{sample}"#,
        permissions = toml_list(&RATE_COUNTER_PERMISSIONS),
        tuning = toml_list(&TOKEN_TUNING),
    )
}

fn main_rs(new: &NewFunction) -> String {
    let NewFunction { method, path, group, action, .. } = new;
    format!(
        r#"//! `{method} {path}`
use taskflow::{{api, http}};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {{
    taskflow::app::init_tracing();
    let sdk = taskflow::config::sdk_config().await?;
    let app = taskflow::app::App::from_env(&sdk)?;
    http::serve(|req| api::{group}::{action}(&app, req)).await
}}
"#
    )
}

fn handler(new: &NewFunction) -> String {
    let NewFunction { method, path, group, action, .. } = new;
    let parameters: Vec<String> = path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|p| format!("(\"{p}\" = String, Path, description = \"The {}.\")", p.replace('_', " ")))
        .collect();
    let parameters =
        if parameters.is_empty() { String::new() } else { format!("\n    params({}),", parameters.join(", ")) };
    let mut words = action.split('_');
    let operation: String = words
        .next()
        .into_iter()
        .map(str::to_owned)
        .chain(words.map(|w| w[..1].to_uppercase() + &w[1..]))
        .chain(std::iter::once(crate::manifest::camel(group)))
        .collect();
    format!(
        r#"
/// `{method} {path}`: scaffolded by `make function`; its logic is not written yet.
#[utoipa::path(
    {lower}, path = "{path}", tag = "{group}", operation_id = "{operation}",
    summary = "Not implemented yet",
    security(("bearer" = [])),{parameters}
    responses(
        (status = 501, response = crate::http::error_responses::NotImplemented),
        crate::http::error_responses::AuthenticatedErrors,
    )
)]
pub async fn {action}(app: &crate::app::App, req: lambda_http::Request) -> Result<lambda_http::Response<lambda_http::Body>, crate::http::ApiError> {{
    let _principal = super::authenticate(app, &req).await?;
    Err(crate::http::ApiError::NotImplemented("{method} {path}"))
}}
"#,
        lower = method.to_lowercase(),
    )
}

/// Writes the new function's files; `make gen` writes the rest.
pub fn write(root: &Path, new: &NewFunction) -> Result<(), Error> {
    let crate_dir = root.join("functions").join(&new.name);
    std::fs::create_dir_all(crate_dir.join("src"))?;
    std::fs::write(crate_dir.join("Cargo.toml"), manifest(new))?;
    std::fs::write(crate_dir.join("src/main.rs"), main_rs(new))?;

    let api = root.join("shared/src/api");
    let module = api.join(format!("{}.rs", new.group));
    let stub = handler(new);
    if module.exists() {
        let text = std::fs::read_to_string(&module)?;
        if text.contains(&format!("pub async fn {}(", new.action)) {
            return Err(format!("api::{}::{} exists already", new.group, new.action).into());
        }
        std::fs::write(&module, text.trim_end().to_owned() + "\n" + &stub)?;
    } else {
        // A new group: its module, declared beside the others (kept sorted).
        std::fs::write(&module, format!("//! The `{}` routes.\n{stub}", new.group))?;
        let mod_rs = api.join("mod.rs");
        let text = std::fs::read_to_string(&mod_rs)?;
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let declared: Vec<usize> =
            lines.iter().enumerate().filter(|(_, l)| l.starts_with("pub mod ")).map(|(i, _)| i).collect();
        let (first, last) = (*declared.first().ok_or("api/mod.rs declares no module")?, *declared.last().unwrap());
        lines.insert(last + 1, format!("pub mod {};", new.group));
        lines[first..=last + 1].sort();
        std::fs::write(&mod_rs, lines.join("\n") + "\n")?;
    }
    Ok(())
}

pub fn run(name: &str, route: &str) -> Result<(), Error> {
    let root = crate::manifest::repository_root();
    let workspace = Workspace::load(&root)?;
    let new = parse(&workspace, name, route).map_err(|e| format!("make function: {e}"))?;
    // Nothing half-written: when a step fails, what the scaffold wrote is taken back.
    let module = root.join("shared/src/api").join(format!("{}.rs", new.group));
    let mod_rs = root.join("shared/src/api/mod.rs");
    let before = [
        (module.clone(), std::fs::read_to_string(&module).ok()),
        (mod_rs.clone(), std::fs::read_to_string(&mod_rs).ok()),
    ];
    if let Err(e) = write(&root, &new).and_then(|()| crate::generate::run_at(&root, false)) {
        let _ = std::fs::remove_dir_all(root.join("functions").join(&new.name));
        for (path, text) in before {
            let _ = match text {
                Some(text) => std::fs::write(&path, text),
                None => std::fs::remove_file(&path),
            };
        }
        let _ = crate::generate::run_at(&root, false);
        return Err(format!("make function: {e} (nothing was kept)").into());
    }
    // The new member in Cargo.lock (no new dependency, so offline), and rustfmt's layout.
    for command in [&["update", "--workspace", "--offline", "--quiet"][..], &["fmt", "--all"][..]] {
        let status = std::process::Command::new("cargo").args(command).current_dir(&root).status()?;
        if !status.success() {
            return Err(format!("cargo {} failed", command.join(" ")).into());
        }
    }
    println!(
        "functions/{name}: {} {} answers 501 until its handler is written (shared/src/api/{}.rs); \
         README, Adding a route, lists what is left.",
        new.method, new.path, new.group
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_or_taken_name_or_route_is_refused() {
        let workspace = Workspace::load_here().unwrap();
        for (name, route, reason) in [
            ("archive", "POST /api/v1/tasks/{id}/archive", "kebab-case"),
            ("Tasks-archive", "POST /api/v1/tasks/{id}/archive", "kebab-case"),
            ("tasks-get", "GET /api/v1/tasks/{id}/x", "exists already"),
            ("tasks-fetch", "GET /api/v1/tasks/{id}", "routed already"),
            ("tasks-archive", "FETCH /api/v1/tasks", "ROUTE must be"),
            ("tasks-archive", "POST /tasks/archive", "ROUTE must be"),
            ("tasks-archive", "POST /api/v1/tasks/:id", "ROUTE must be"),
            ("tasks-archive", "POST /api/v1/tasks/{Id}", "ROUTE must be"),
            ("tasks-archive", "POST /api/v1/tasks//x", "ROUTE must be"),
            ("tasks-archive", "POST /api/v1/tasks/{id}/x/{id}", "ROUTE must be"),
            ("tasks-archive", "PUT /api/v1/tasks/{id}/archive", "ROUTE must be"),
            ("tasks-move", "POST /api/v1/tasks/{id}/move", "Rust cannot name"),
            ("type-list", "GET /api/v1/types", "Rust cannot name"),
            ("tasks-2fa", "GET /api/v1/tasks/2fa", "kebab-case"),
            ("mod-list", "GET /api/v1/mods", "Rust cannot name"),
            ("tasks-check-assignee", "POST /api/v1/tasks/check", "has a function check_assignee already"),
        ] {
            let refused = parse(&workspace, name, route).unwrap_err().to_string();
            assert!(refused.contains(reason), "{name} {route}: {refused}");
        }
    }

    #[test]
    fn a_name_becomes_a_group_and_an_action() {
        let workspace = Workspace::load_here().unwrap();
        let new = parse(&workspace, "tasks-bulk-archive", "POST /api/v1/tasks/bulk-archive").unwrap();
        assert_eq!((new.group.as_str(), new.action.as_str()), ("tasks", "bulk_archive"));
        assert!(handler(&new).contains("operation_id = \"bulkArchiveTasks\""));
        assert!(manifest(&new).contains("handler = \"tasks::bulk_archive\""));
        let key = parse(&workspace, "api-keys-rotate", "POST /api/v1/api-keys/{id}/rotate").unwrap();
        assert_eq!((key.group.as_str(), key.action.as_str()), ("api_keys", "rotate"), "the longest existing module");
        assert!(manifest(&key).contains("path = { id = \"${ID}\" }"));
    }
}
