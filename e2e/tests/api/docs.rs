//! The API's description as its users meet it: `GET /openapi.json` serves the document the
//! code generates, and `GET /docs` renders it in a real browser (headless Chromium) with
//! nothing loaded from outside the API.

use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::Api;
use reqwest::{Method, StatusCode, header};

/// Debian's package, which `make test` installs when it is missing.
fn chromium() -> PathBuf {
    let path = PathBuf::from(std::env::var("TASKFLOW_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    assert!(
        path.exists(),
        "{} is missing: `make test` installs Debian's chromium (apt-get install chromium), or set TASKFLOW_CHROMIUM",
        path.display()
    );
    path
}

/// Chromium as the machine allows it: no sandbox (tests may run as root), and none of its
/// background calls to Google, which a closed network refuses.
fn headless(profile: &Path) -> Command {
    let mut command = Command::new(chromium());
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--virtual-time-budget=30000",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/docs")
}

#[tokio::test]
async fn openapi_json_is_the_document_the_code_generates() {
    let api = Api::from_env();
    let response = api.request(Method::GET, "/openapi.json", None).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(response.text().await.unwrap(), taskflow::openapi::to_json());
}

#[tokio::test]
async fn the_docs_page_loads_nothing_from_outside_the_api() {
    let api = Api::from_env();
    let response = api.request(Method::GET, "/docs", None).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let policy = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(policy.contains("default-src 'none'") && policy.contains("connect-src 'self'"), "{policy}");
    let page = response.text().await.unwrap();
    assert!(page.contains("SwaggerUIBundle"), "Swagger UI is inlined");
    for external in ["src=\"http", "src='http", "href=\"http", "href='http", "src=\"//", "href=\"//"] {
        assert!(!page.contains(external), "the page references an external resource ({external})");
    }
}

#[tokio::test]
async fn the_docs_page_lists_the_task_endpoints_in_chromium() {
    let api = Api::from_env();
    let out = target_dir();
    std::fs::create_dir_all(&out).unwrap();
    let profile = std::env::temp_dir().join(format!("taskflow-chromium-{}", e2e::unique()));
    let url = api.url("/docs");

    let dom = headless(&profile).arg("--dump-dom").arg(&url).output().expect("chromium runs");
    let dom_text = String::from_utf8_lossy(&dom.stdout).into_owned();
    std::fs::write(out.join("docs.html"), &dom_text).unwrap();
    assert!(dom.status.success(), "chromium failed: {}", String::from_utf8_lossy(&dom.stderr));
    for rendered in [
        "data-path=\"/api/v1/tasks\"",
        "data-path=\"/api/v1/tasks/{id}\"",
        "Create a task",
        "List tasks",
        "Update a task",
        "Delete a task",
    ] {
        assert!(
            dom_text.contains(rendered),
            "the rendered page lacks {rendered:?} (DOM saved in target/docs/docs.html)"
        );
    }

    let screenshot = out.join("docs.png");
    let _ = std::fs::remove_file(&screenshot);
    let shot = headless(&profile)
        .arg("--window-size=1280,2200")
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(shot.status.success(), "chromium failed: {}", String::from_utf8_lossy(&shot.stderr));
    let png = std::fs::read(&screenshot).expect("a screenshot in target/docs/docs.png");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "the screenshot is not a rendered page");
    let _ = std::fs::remove_dir_all(&profile);
}
