//! Bundles Swagger UI into one self-contained page at build time: the npm registry's
//! `swagger-ui-dist`, at the version and integrity `package-lock.json` pins, is installed
//! into OUT_DIR (install scripts off: the package's only one is telemetry) and its script
//! and styles are inlined into `page.html`. The page then loads nothing from a CDN.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

/// What `npm ci` installs from; with `page.html`, what makes cargo run this script again.
const NPM_FILES: [&str; 2] = ["package.json", "package-lock.json"];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for file in NPM_FILES.iter().chain(&["page.html"]) {
        println!("cargo::rerun-if-changed={file}");
    }

    let npm_dir = out.join("npm");
    fs::create_dir_all(&npm_dir).expect("create OUT_DIR/npm");
    for file in NPM_FILES {
        fs::copy(manifest.join(file), npm_dir.join(file)).unwrap_or_else(|e| panic!("copy {file}: {e}"));
    }
    // Every run installs afresh: cargo reruns this script only when a pinned file changed, and
    // a kept node_modules would then hold the old version.
    npm_ci(&npm_dir);
    let dist = npm_dir.join("node_modules/swagger-ui-dist");

    let bundle = read(&dist.join("swagger-ui-bundle.js"));
    let css = read(&dist.join("swagger-ui.css"));
    let page = read(&manifest.join("page.html"))
        .replacen("/*SWAGGER_UI_CSS*/", &inline_safe(&css, "</style"), 1)
        .replacen("/*SWAGGER_UI_BUNDLE*/", &inline_safe(&bundle, "</script"), 1);
    fs::write(out.join("docs.html"), page).expect("write OUT_DIR/docs.html");
}

fn npm_ci(dir: &Path) {
    let status = Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "the docs function bundles Swagger UI from npm, and running npm failed ({e}). \
                 Install Node.js and npm (Debian: apt-get install nodejs npm) and build again."
            )
        });
    assert!(status.success(), "npm ci for swagger-ui-dist failed ({status}); see its output above");
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Text inlined in an HTML element must not close it early: `</script` (in any case) inside
/// the bundle's string literals becomes `<\/script`, which JavaScript and CSS read as the
/// same text.
fn inline_safe(text: &str, closing_tag: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut safe = String::with_capacity(text.len());
    let mut rest = 0;
    for (at, _) in lower.match_indices(closing_tag) {
        safe.push_str(&text[rest..at + 1]);
        safe.push('\\');
        rest = at + 1;
    }
    safe.push_str(&text[rest..]);
    safe
}
