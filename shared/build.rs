//! Writes the OpenAPI document's list of handlers (`$OUT_DIR/handlers.rs`, included by
//! `src/openapi/mod.rs`) from the functions' manifests: each function's `route` is served by
//! its `handler` (`[package.metadata.taskflow]` of `functions/*/Cargo.toml`), whose
//! `#[utoipa::path]` documents it. Written at build time, not committed, so the list can
//! never name a handler that is gone (a rename would otherwise break the build of the very
//! tool that writes the committed files, `make gen`).

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let functions = root.join("functions");
    // Only the manifests, not the directory (which cargo would scan whole: an edit of any
    // function's main.rs would rebuild the library). A function added or removed is a member
    // added to or removed from Cargo.lock.
    println!("cargo::rerun-if-changed={}", root.join("Cargo.lock").display());
    let mut routes = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&functions).expect("functions/ is readable").flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        println!("cargo::rerun-if-changed={}", manifest.display());
        let parsed: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
        let taskflow = parsed.get("package").and_then(|p| p.get("metadata")).and_then(|m| m.get("taskflow"));
        let field = |name| taskflow.and_then(|t| t.get(name)).and_then(|v| v.as_str()).map(str::to_owned);
        if let (Some(route), Some(handler)) = (field("route"), field("handler")) {
            let (method, path) = route.split_once(' ').unwrap_or(("", &route));
            routes.push((path.to_owned(), method.to_owned(), handler));
        }
    }
    // By path, then method: the document lists its operations in this order.
    routes.sort();
    let listed: String = routes.iter().map(|(_, _, handler)| format!("    crate::api::{handler},\n")).collect();
    let code = format!("#[derive(utoipa::OpenApi)]\n#[openapi(paths(\n{listed}))]\npub(super) struct Handlers;\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("handlers.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
