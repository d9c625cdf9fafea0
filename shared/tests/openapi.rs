//! The OpenAPI document: the committed copy is current, and what it promises holds across
//! every operation.

use std::path::Path;

use serde_json::Value;

fn document() -> Value {
    serde_json::from_str(&taskflow::openapi::to_json()).expect("the document is JSON")
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            found.push((method.to_uppercase(), path.clone(), operation.clone()));
        }
    }
    found
}

#[test]
fn the_committed_openapi_json_is_what_the_code_generates() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.json");
    let committed = std::fs::read_to_string(&path).expect("openapi.json at the repository root: run `make openapi`");
    assert!(
        committed == taskflow::openapi::to_json(),
        "openapi.json differs from what the code generates: run `make openapi` and commit the result"
    );
}

#[test]
fn it_is_openapi_3_1_with_the_bearer_scheme() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
}

#[test]
fn every_operation_has_a_unique_id_and_documents_its_failures() {
    let doc = document();
    let mut ids = std::collections::HashSet::new();
    for (method, path, operation) in operations(&doc) {
        let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        let responses = operation["responses"].as_object().unwrap();
        let public = ["/health", "/openapi.json", "/docs"].contains(&path.as_str());
        if !public {
            assert!(responses.contains_key("500"), "{method} {path} does not document 500");
        }
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                let target = response["$ref"].as_str().unwrap_or_default();
                assert!(target.starts_with("#/components/responses/"), "{method} {path} {status} is not a problem");
            }
        }
        if operation.get("requestBody").is_some() {
            for status in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(status), "{method} {path} takes a body but does not document {status}");
            }
        }
    }
}

#[test]
fn authenticated_operations_name_the_bearer_scheme_and_answer_401() {
    let public = [
        "/health",
        "/openapi.json",
        "/docs",
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/password-reset",
    ];
    let token_in_body = [
        "/api/v1/auth/refresh",
        "/api/v1/auth/accept-invitation",
        "/api/v1/auth/password-reset/confirm",
        "/api/v1/auth/verify-email",
    ];
    for (method, path, operation) in operations(&document()) {
        if public.contains(&path.as_str()) || token_in_body.contains(&path.as_str()) {
            assert!(operation.get("security").is_none(), "{method} {path} needs no access token");
            continue;
        }
        assert_eq!(operation["security"], serde_json::json!([{"bearer": []}]), "{method} {path}");
        assert!(operation["responses"].get("401").is_some(), "{method} {path} does not document 401");
    }
}

#[test]
fn limits_are_schema_constraints() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["TaskTitle"]["maxLength"], 200);
    assert_eq!(schemas["TaskDescription"]["maxLength"], 5000);
    assert_eq!(schemas["Password"]["minLength"], 8);
    assert_eq!(schemas["OrgSlug"]["pattern"], "^[a-z0-9]+(-[a-z0-9]+)*$");
    assert_eq!(schemas["TaskStatus"]["enum"], serde_json::json!(["todo", "in_progress", "done"]));
    assert_eq!(schemas["TaskDraft"]["additionalProperties"], false);
    let list = doc["paths"]["/api/v1/tasks"]["get"]["parameters"].as_array().unwrap();
    let limit = list.iter().find(|p| p["name"] == "limit").expect("limit parameter");
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 100);
}

/// Every `$ref` names a component the document has (a response group that names an
/// unregistered response makes the whole document unusable to clients and fuzzers).
#[test]
fn every_reference_resolves() {
    fn refs(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target.clone());
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let doc = document();
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(!found.is_empty());
    for target in found {
        let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("{target} is not local"));
        assert!(doc.pointer(pointer).is_some(), "{target} names nothing in the document");
    }
}
