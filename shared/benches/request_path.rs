//! The CPU our own code spends on a request, apart from the AWS calls: verifying the access
//! token, parsing and validating a body, serialising a page of tasks, and the cursor.
//! Run by `make bench` (its figures go into bench/REPORT.md); argon2id is left out, being
//! deliberately slow (login's warm figure in the report is mostly argon2).

use std::hint::black_box;
use std::time::Duration;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use taskflow::auth::keys::generate_signing_key_pair;
use taskflow::auth::{Claims, TokenSettings, TokenVerifier};
use taskflow::domain::{OrgId, Role, Task, TaskDraft, TaskId, TaskPatch, UserId};
use taskflow::store::{CursorKey, TaskFilter, TenantScope};

fn settings() -> TokenSettings {
    TokenSettings {
        issuer: "taskflow".into(),
        audience: "taskflow-api".into(),
        access_ttl: Duration::from_secs(900),
        refresh_ttl: Duration::from_secs(86_400),
    }
}

fn request_path(c: &mut Criterion) {
    let keys = generate_signing_key_pair();
    let settings = settings();
    let verifier = TokenVerifier::from_pem(&keys.public_pem, &settings).unwrap();
    let now = jsonwebtoken::get_current_timestamp();
    let claims = Claims {
        sub: UserId::generate(),
        org: OrgId::generate(),
        role: Role::Admin,
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
        iat: now,
        exp: now + 900,
        sid: None,
        cv: Some(0),
    };
    let signing_key = jsonwebtoken::EncodingKey::from_ed_pem(keys.private_pem.as_bytes()).unwrap();
    let token = jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA), &claims, &signing_key)
        .unwrap();
    c.bench_function("verify access token (Ed25519 JWT)", |b| b.iter(|| verifier.verify(black_box(&token)).unwrap()));

    let draft = r#"{"title":"Org 1 Task","description":"This is a task","priority":"high","due_date":"2026-12-01"}"#;
    c.bench_function("parse and validate a task draft", |b| {
        b.iter(|| serde_json::from_str::<TaskDraft>(black_box(draft)).unwrap())
    });
    let patch = r#"{"status":"done","due_date":null,"assignee_id":"0193a5b0-7e1d-7f00-8a11-5b6c7d8e9f01"}"#;
    c.bench_function("parse and validate a task patch", |b| {
        b.iter(|| serde_json::from_str::<TaskPatch>(black_box(patch)).unwrap())
    });

    let org = OrgId::generate();
    let page: Vec<Task> = (0..20)
        .map(|i| {
            let draft: TaskDraft =
                serde_json::from_str(&format!(r#"{{"title":"Task {i}","description":"Some words about task {i}"}}"#))
                    .unwrap();
            Task::create(draft, org, UserId::generate(), Utc::now())
        })
        .collect();
    c.bench_function("serialise a page of 20 tasks", |b| b.iter(|| serde_json::to_string(black_box(&page)).unwrap()));

    let cursors = CursorKey::new(&[7u8; 32]);
    let scope = TenantScope::for_new_organization();
    let filter = TaskFilter::new(None, None).fingerprint();
    let last = TaskId::generate();
    let cursor = cursors.encode(&scope, &filter, last);
    c.bench_function("encode a cursor", |b| b.iter(|| cursors.encode(&scope, &filter, black_box(last))));
    c.bench_function("decode a cursor", |b| {
        b.iter(|| cursors.decode(&scope, &filter, black_box(&cursor), TaskId::parse).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = request_path
}
criterion_main!(benches);
