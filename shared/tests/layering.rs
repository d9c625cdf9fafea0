//! The library's imports run one way, the way `src/lib.rs` and the README draw it. Read off
//! the source: every `crate::…` and `super::…` path outside the files' `#[cfg(test)] mod
//! tests` (tests may look anywhere). Three rules:
//!
//! 1. a top-level module uses only modules below it in [`LAYERS`];
//! 2. inside each module, its files (siblings) use each other without a cycle (a parent's
//!    `mod.rs` and its children may use each other: that is the façade);
//! 3. only `auth` makes a `TenantScope` from an organization id.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top to bottom.
const LAYERS: &[&str] =
    &["openapi", "api", "app", "http", "config", "lifecycle", "notifications", "auth", "store", "metrics", "domain"];

/// A module path, e.g. `["store", "users"]`; `[]` is the crate root.
type ModPath = Vec<String>;

struct Source {
    module: ModPath,
    /// Whether the module is a directory (`x/mod.rs`), so `super` means its parent's parent.
    is_dir: bool,
    /// The file without comments and without its test module.
    code: String,
}

fn module_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn strip(text: &str) -> String {
    let text = text.split("\n#[cfg(test)]\nmod tests").next().unwrap_or_default();
    text.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n")
}

fn load(root: &Path) -> Vec<Source> {
    module_files(root)
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(root).unwrap().with_extension("");
            let mut module: ModPath = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
            let is_dir = matches!(module.last().map(String::as_str), Some("mod"));
            if is_dir || module == ["lib"] {
                module.pop();
            }
            Source { module, is_dir, code: strip(&std::fs::read_to_string(&path).unwrap()) }
        })
        .collect()
}

/// The paths a file names: each `crate::a::b…` and `super::a…`, as an absolute module path
/// (items included; [`resolve`] cuts them off).
fn named_paths(source: &Source) -> Vec<ModPath> {
    let code = source.code.as_bytes();
    let mut found = Vec::new();
    for start in ["crate::", "super::"] {
        let mut at = 0;
        while let Some(i) = source.code[at..].find(start).map(|i| i + at) {
            at = i + start.len();
            if i > 0 && (code[i - 1].is_ascii_alphanumeric() || code[i - 1] == b'_') {
                continue;
            }
            let rest = &source.code[i..];
            let path: Vec<&str> = rest
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or_default()
                .split("::")
                .filter(|s| !s.is_empty())
                .collect();
            let mut absolute: ModPath = if start == "crate::" {
                Vec::new()
            } else {
                let mut base = source.module.clone();
                if !source.is_dir {
                    base.pop();
                }
                base
            };
            let mut segments = path.into_iter().skip(1).peekable();
            while segments.peek() == Some(&"super") {
                segments.next();
                absolute.pop();
            }
            absolute.extend(segments.map(str::to_owned));
            found.push(absolute);
        }
    }
    found
}

/// The longest prefix of `path` that is a module of the crate.
fn resolve(path: &ModPath, modules: &BTreeSet<ModPath>) -> ModPath {
    (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| modules.contains(p)).unwrap_or_default()
}

/// Every use of one module by another: (from, to) pairs.
fn uses(sources: &[Source]) -> BTreeSet<(ModPath, ModPath)> {
    let modules: BTreeSet<ModPath> = sources.iter().map(|s| s.module.clone()).collect();
    let mut edges = BTreeSet::new();
    for source in sources {
        for named in named_paths(source) {
            let target = resolve(&named, &modules);
            if target != source.module {
                edges.insert((source.module.clone(), target));
            }
        }
    }
    edges
}

fn layer_violations(edges: &BTreeSet<(ModPath, ModPath)>) -> Vec<String> {
    let rank = |m: &ModPath| m.first().and_then(|top| LAYERS.iter().position(|l| l == top));
    edges
        .iter()
        .filter(|(from, to)| from.first() != to.first() && !from.is_empty() && !to.is_empty())
        .filter_map(|(from, to)| match (rank(from), rank(to)) {
            (Some(a), Some(b)) if a < b => None,
            (Some(_), Some(_)) => Some(format!("{} uses {}, which is not below it", from.join("::"), to.join("::"))),
            _ => Some(format!("{} or {} is not in LAYERS", from.join("::"), to.join("::"))),
        })
        .collect()
}

/// Cycles among the children of each module: `store::users` → `store::organizations` →
/// `store::users` is one; `store::users` → `store` (its façade) is not an edge here.
fn sibling_cycles(edges: &BTreeSet<(ModPath, ModPath)>) -> Vec<String> {
    let mut graph: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (from, to) in edges {
        let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
        if common == from.len().min(to.len()) {
            continue; // one is the other's ancestor: a façade edge
        }
        // Lift both ends to the children of their deepest common ancestor.
        graph.entry(from[..=common].to_vec()).or_default().insert(to[..=common].to_vec());
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((node, trail)) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if next == start {
                    let names: Vec<String> = trail.iter().chain([start]).map(|m| m.join("::")).collect();
                    if done.insert(trail.iter().cloned().collect::<BTreeSet<_>>()) {
                        cycles.push(names.join(" -> "));
                    }
                } else if !trail.contains(next) {
                    let mut longer = trail.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    cycles
}

fn scope_makers(sources: &[Source]) -> Vec<String> {
    sources
        .iter()
        .filter(|s| s.code.contains("TenantScope::verified(") && s.module.first().map(String::as_str) != Some("auth"))
        .map(|s| s.module.join("::"))
        .collect()
}

fn crate_sources() -> Vec<Source> {
    load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

#[test]
fn every_import_goes_down_the_layers() {
    let edges = uses(&crate_sources());
    assert!(edges.len() > 50, "the reader finds the crate's imports ({} found)", edges.len());
    let violations = layer_violations(&edges);
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn no_module_has_files_that_use_each_other_in_a_cycle() {
    let cycles = sibling_cycles(&uses(&crate_sources()));
    assert!(cycles.is_empty(), "{cycles:#?}");
}

#[test]
fn only_auth_makes_a_tenant_scope_from_an_id() {
    let makers = scope_makers(&crate_sources());
    assert!(makers.is_empty(), "TenantScope::verified is called in {makers:?}");
}

/// The checks above can fail: the same reader over a made-up crate with each fault.
#[test]
fn the_checks_find_what_they_forbid() {
    let source = |module: &[&str], is_dir: bool, code: &str| Source {
        module: module.iter().map(|s| s.to_string()).collect(),
        is_dir,
        code: strip(code),
    };
    let made_up = vec![
        source(&[], false, "pub mod store; pub mod auth;"),
        source(&["store"], true, "mod users; mod orgs; use crate::auth::Principal;"),
        source(&["store", "users"], false, "use super::orgs::Org; use super::Store;"),
        source(&["store", "orgs"], false, "use super::users::User;\n#[cfg(test)]\nmod tests { use crate::api::X; }"),
        source(&["auth"], false, "use crate::store::Store; // crate::api::Y in a comment"),
        source(&["api"], false, "let s = TenantScope::verified(id);"),
    ];
    let edges = uses(&made_up);
    assert_eq!(layer_violations(&edges), ["store uses auth, which is not below it"]);
    assert_eq!(sibling_cycles(&edges), ["auth -> store -> auth", "store::orgs -> store::users -> store::orgs"]);
    assert_eq!(scope_makers(&made_up), ["api"]);
}
