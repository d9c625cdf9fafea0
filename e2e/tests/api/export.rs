//! Exporting an organization, tried as someone who wants it broken: ten thousand tasks (a
//! document of several upload parts), Unicode, a refused upload, a poll by a demoted admin
//! or by another organization, and the organization's deletion afterwards.

use std::collections::BTreeSet;

use e2e::{Api, Fault, MAIL_DEADLINE, Tenant, bulk_tasks, dynamodb, eventually, mails_about};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use taskflow::domain::{EXPORT_FORMAT, ExportDocument};

/// The issue asks for an export of at least 10,000 tasks.
const BULK_TASKS: usize = 10_000;
/// How long an export may take here: 10,000 items read from an emulator that shares two
/// cores with the whole suite.
const EXPORT_DEADLINE: u64 = 180;
/// The bucket the local stack makes (xtask/src/bootstrap.rs).
const BUCKET: &str = "taskflow-exports";

async fn s3() -> aws_sdk_s3::Client {
    // The functions' own configuration of the client: path-style against the emulator.
    let sdk = taskflow::config::sdk_config().await.expect("SDK configuration");
    let config = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build();
    aws_sdk_s3::Client::from_conf(config)
}

/// The keys of the organization's export objects.
async fn export_objects(s3: &aws_sdk_s3::Client, org_id: &str) -> Vec<String> {
    let listed = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(format!("exports/{org_id}/"))
        .send()
        .await
        .expect("list the export bucket");
    listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
}

/// The route that starts an export, and the deprecated one that answers as it does.
const EXPORTS: &str = "/api/v1/organizations/me/exports";
const DEPRECATED_EXPORT: &str = "/api/v1/organizations/me/export";

/// Starts an export: its `Location`, which must be its own poll URL, and its body.
async fn start_export(api: &Api, token: &str) -> (String, Value) {
    let response = api.request(Method::POST, EXPORTS, Some(token)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let headers = response.headers().clone();
    let (_, body) = e2e::read(response).await;
    let location = headers["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/organizations/me/exports/{}", body["id"].as_str().unwrap()));
    assert_eq!(headers["retry-after"], "2");
    assert_eq!(headers["cache-control"], "no-store");
    (location, body)
}

/// Polls the export until it is no longer pending, as a client would: every `Retry-After`.
async fn finished_export(api: &Api, token: &str, location: &str) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(EXPORT_DEADLINE);
    loop {
        let (status, body) = api.call(Method::GET, location, Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["status"] != "pending" {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "the export is still pending: {body}");
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn an_export_of_ten_thousand_tasks_is_one_checked_document_without_secrets_behind_an_expiring_link() {
    let api = Api::from_env();
    let db = dynamodb().await;
    let tenant = api.tenant().await;
    let member = api.member(&tenant).await;
    let invitee = format!("invitee-{}@example.com", e2e::unique());
    api.invite(&tenant, &invitee, "member").await;
    let made = api
        .create_task(&tenant.admin.token, json!({"title": "Ünïcødé ✓ 任务 🚀", "assignee_id": member.user_id}))
        .await;
    // Descriptions of a thousand characters, not all ASCII: ten thousand of them make a
    // document of more than one 8 MiB upload part.
    let description = "Beschreibung ✓ — 説明 🚀 ".repeat(50);
    let mut ids: BTreeSet<String> =
        bulk_tasks(&db, &tenant, BULK_TASKS, Some(&description)).await.into_iter().collect();
    ids.insert(made["id"].as_str().unwrap().to_owned());

    // Only an admin.
    let (status, _) = api.call(Method::POST, EXPORTS, Some(&member.token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api.call(Method::GET, DEPRECATED_EXPORT, Some(&member.token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the deprecated route refuses a member too");

    // One export at a time: its first read is held, and asking again meanwhile answers the
    // same export.
    let held = Fault::delay("DynamoDB_20120810.Query", &format!("ORG#{}\"", tenant.org_id), 5000, 1).await;
    let (location, first) = start_export(&api, &tenant.admin.token).await;
    assert_eq!(first["status"], "pending", "{first}");
    let (again, _) = start_export(&api, &tenant.admin.token).await;
    assert_eq!(again, location, "a second export while the first runs");
    // The deprecated GET answers as the POST does (the same running export), and says so.
    let old = api.request(Method::GET, DEPRECATED_EXPORT, Some(&tenant.admin.token)).send().await.unwrap();
    assert_eq!(old.status(), StatusCode::ACCEPTED);
    assert_eq!(old.headers()["location"], location.as_str(), "the deprecated route answers the running export");
    assert_eq!(old.headers()["deprecation"], "@1796601600");
    assert_eq!(old.headers()["link"], "</api/v1/organizations/me/exports>; rel=\"successor-version\"");

    let export = finished_export(&api, &tenant.admin.token, &location).await;
    assert_eq!(held.hits().await, 1);
    assert_eq!(export["status"], "ready", "{export}");
    assert_eq!(export["id"], first["id"]);
    assert_eq!((export["users"].as_u64(), export["invitations"].as_u64()), (Some(2), Some(1)), "{export}");
    assert_eq!(export["tasks"].as_u64(), Some(ids.len() as u64));
    assert_eq!(export["unreadable_items"], 0);
    let size = export["size_bytes"].as_u64().unwrap();
    assert!(size > taskflow::lifecycle::PART_SIZE as u64, "{size} bytes fit in one part: no multipart upload");

    // The link: signed, on the emulator's loopback address, expiring in 15 minutes.
    let url = export["download_url"].as_str().expect("a download link");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(url.contains("X-Amz-Expires=900") && url.contains("X-Amz-Signature="), "{url}");
    let expires: chrono::DateTime<chrono::Utc> = export["download_expires_at"].as_str().unwrap().parse().unwrap();
    let left = expires - chrono::Utc::now();
    assert!(left > chrono::Duration::minutes(14) && left <= chrono::Duration::minutes(15), "{left}");

    let download = reqwest::get(url).await.expect("the link answers");
    assert_eq!(download.status(), StatusCode::OK);
    let disposition = download.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert_eq!(
        disposition,
        format!("attachment; filename=\"taskflow-export-{}.json\"", export["id"].as_str().unwrap())
    );
    let bytes = download.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, size);
    assert_eq!(sha256_hex(&bytes), export["sha256"].as_str().unwrap(), "the recorded checksum");

    // No secret in it: no password hash, no token or its hash.
    let text = std::str::from_utf8(&bytes).expect("UTF-8");
    for secret in ["password", "argon2", "token", "hash", "nonce"] {
        assert!(!text.contains(secret), "the document holds {secret:?}");
    }
    let document: ExportDocument = serde_json::from_slice(&bytes).expect("the document has the documented shape");
    assert_eq!(document.format, EXPORT_FORMAT);
    assert_eq!(document.export_id.to_string(), export["id"].as_str().unwrap());
    assert_eq!(
        (document.organization.id.to_string(), document.organization.slug.as_str()),
        (tenant.org_id.clone(), tenant.slug.as_str())
    );
    let users: BTreeSet<String> = document.users.iter().map(|u| u.email.as_str().to_owned()).collect();
    assert_eq!(users, BTreeSet::from([tenant.admin.email.clone(), member.email.clone()]));
    assert_eq!(document.invitations.iter().map(|i| i.email.as_str()).collect::<Vec<_>>(), [invitee.as_str()]);
    let exported: BTreeSet<String> = document.tasks.iter().map(|t| t.id.to_string()).collect();
    assert_eq!(exported.len(), document.tasks.len(), "a task twice");
    assert_eq!(exported, ids, "the tasks exported are the tasks stored");
    let unicode = document.tasks.iter().find(|t| t.id.to_string() == made["id"].as_str().unwrap()).unwrap();
    assert_eq!(unicode.title.as_str(), "Ünïcødé ✓ 任务 🚀");
    assert!(
        document
            .tasks
            .iter()
            .filter(|t| t.id != unicode.id)
            .all(|t| t.description.as_ref().map(|d| d.as_str()) == Some(description.as_str()))
    );

    // Each poll signs a new link; asking again just after answers the finished export
    // instead of reading ten thousand tasks again.
    let (_, polled) = api.call(Method::GET, &location, Some(&tenant.admin.token), None).await;
    assert_eq!(polled["sha256"], export["sha256"]);
    let (next, body) = start_export(&api, &tenant.admin.token).await;
    assert_eq!((next.as_str(), body["status"].as_str()), (location.as_str(), Some("ready")), "{body}");

    // Gone again: ten thousand items make every later transaction's copy of the table in the
    // emulator slow (moto copies the whole table per transaction), for the rest of the suite.
    let (status, body) = api.delete_organization(&tenant, &tenant.slug).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

#[tokio::test]
async fn an_export_is_its_admins_alone_and_a_demoted_admins_token_gets_nothing() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let stranger = api.tenant().await;
    let member = api.member(&tenant).await;
    let (location, _) = start_export(&api, &tenant.admin.token).await;
    let export = finished_export(&api, &tenant.admin.token, &location).await;
    assert_eq!(export["status"], "ready", "{export}");

    // Another organization's admin: not found, like an export that does not exist.
    let (status, _) = api.call(Method::GET, &location, Some(&stranger.admin.token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let missing = format!("/api/v1/organizations/me/exports/{}", uuid::Uuid::now_v7());
    assert_eq!(api.call(Method::GET, &missing, Some(&tenant.admin.token), None).await.0, StatusCode::NOT_FOUND);
    let (status, problem) =
        api.call(Method::GET, "/api/v1/organizations/me/exports/not-an-id", Some(&tenant.admin.token), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(api.call(Method::GET, &location, None, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api.call(Method::GET, &location, Some(&member.token), None).await.0, StatusCode::FORBIDDEN);

    // Promoted, the member polls; demoted again, their token still says admin and gets 403.
    let user = format!("/api/v1/users/{}", member.user_id);
    let (status, _) = api.call(Method::PATCH, &user, Some(&tenant.admin.token), Some(json!({"role": "admin"}))).await;
    assert_eq!(status, StatusCode::OK);
    let promoted = api.token(&member.email).await;
    let (status, body) = api.call(Method::GET, &location, Some(&promoted), None).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ready")));
    let (status, _) = api.call(Method::PATCH, &user, Some(&tenant.admin.token), Some(json!({"role": "member"}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api.call(Method::GET, &location, Some(&promoted), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a demoted admin's token: {body}");
    assert!(body.get("download_url").is_none());
    let (status, _) = api.call(Method::POST, EXPORTS, Some(&promoted), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a demoted admin's token starts no export");
}

#[tokio::test]
async fn a_refused_upload_is_tried_again_keeps_one_document_and_the_deletion_takes_the_exports_away() {
    let api = Api::from_env();
    let s3 = s3().await;
    let tenant: Tenant = api.tenant().await;
    let neighbour = api.tenant().await;
    api.create_task(&tenant.admin.token, json!({"title": "to take along"})).await;

    // S3 refuses every attempt of the first invocation (the SDK's three): its message comes
    // back, and the next invocation writes the document.
    let refused = Fault::inject(&format!("PUT /{BUCKET}/exports/{}/*", tenant.org_id), "", "error", 3).await;
    let (location, _) = start_export(&api, &tenant.admin.token).await;
    let export = finished_export(&api, &tenant.admin.token, &location).await;
    assert_eq!(export["status"], "ready", "{export}");
    assert_eq!(refused.hits().await, 3);
    // A message comes back while its attempt still runs (the local visibility timeout is 2 s)
    // and pollers run side by side, as in Lambda: an attempt that lost deletes its own
    // document after the winner recorded its.
    let one = eventually(30, || async { export_objects(&s3, &tenant.org_id).await.len() == 1 }).await;
    assert!(one, "one document, whatever the attempts: {:?}", export_objects(&s3, &tenant.org_id).await);
    let (neighbour_location, _) = start_export(&api, &neighbour.admin.token).await;
    let neighbours = finished_export(&api, &neighbour.admin.token, &neighbour_location).await;
    assert_eq!(neighbours["status"], "ready", "{neighbours}");

    // Deleting the organization deletes its exports, and only its own.
    let (status, body) = api.delete_organization(&tenant, &tenant.slug).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let deleted = eventually(MAIL_DEADLINE * 2, || async {
        mails_about(&tenant.admin.email, "Your organization has been deleted").await == 1
    })
    .await;
    assert!(deleted, "no done mail");
    assert_eq!(export_objects(&s3, &tenant.org_id).await, Vec::<String>::new(), "its exports are gone");
    assert_eq!(export_objects(&s3, &neighbour.org_id).await.len(), 1, "the neighbour's export stays");
    let url = neighbours["download_url"].as_str().unwrap();
    assert_eq!(reqwest::get(url).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn each_download_link_handed_out_is_an_audit_entry_naming_who_and_which_export() {
    let api = Api::from_env();
    let tenant = api.tenant().await;
    let other_admin = api.member(&tenant).await;
    let path = format!("/api/v1/users/{}", other_admin.user_id);
    let promote = json!({"role": "admin"});
    assert_eq!(api.call(Method::PATCH, &path, Some(&tenant.admin.token), Some(promote)).await.0, StatusCode::OK);
    let other_token = api.token(&other_admin.email).await;

    let (location, started) = start_export(&api, &tenant.admin.token).await;
    let export = finished_export(&api, &tenant.admin.token, &location).await;
    assert!(export["download_url"].is_string(), "{export}");
    // Another admin fetches a link to the first admin's export: that is recorded too.
    let (status, again) = api.call(Method::GET, &location, Some(&other_token), None).await;
    assert!(status == StatusCode::OK && again["download_url"].is_string(), "{again}");

    let downloads = || async {
        let (_, log) = api
            .call(Method::GET, "/api/v1/audit-log?event_type=export.downloaded", Some(&tenant.admin.token), None)
            .await;
        log["items"].as_array().cloned().unwrap_or_default()
    };
    assert!(eventually(60, || async { downloads().await.len() == 2 }).await, "{:?}", downloads().await);
    let entries = downloads().await;
    let actors: BTreeSet<String> = entries.iter().map(|e| e["actor"]["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(actors, BTreeSet::from([tenant.admin.user_id.clone(), other_admin.user_id.clone()]));
    for entry in &entries {
        assert_eq!(entry["target"], json!({"type": "export", "id": started["id"]}), "{entry}");
        assert!(entry["occurred_at"].is_string() && entry["source_ip"].is_string(), "{entry}");
    }
}
