//! The webhook client against receivers on loopback: what it sends, and what it refuses to
//! reach. Every address a test names is loopback, the forbidden ones included: under
//! `Reach::Public` loopback is forbidden, so a broken guard would connect to a receiver of
//! this test (and fail it), never to anything off this machine. The other forbidden ranges
//! are the address filter's unit tests (src/domain/webhook.rs).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use taskflow::domain::{Reach, WebhookSecret, WebhookUrl};
use taskflow::notifications::{Attempt, Delivery, KEPT_RESPONSE_BYTES, Verdict, WebhookClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A request as the receiver read it.
struct Received {
    head: String,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// What a receiver answers: raw HTTP, or nothing at all (it holds the connection open).
#[derive(Clone)]
enum Answer {
    Http(String),
    Silence,
}

fn answer(status: &str, extra_headers: &str, body: &str) -> Answer {
    Answer::Http(format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{extra_headers}\r\n{body}",
        body.len()
    ))
}

/// A receiver on a free loopback port: its address, the requests it read, and how many
/// connections it accepted.
async fn receiver(answer: Answer) -> (SocketAddr, mpsc::UnboundedReceiver<Received>, Arc<AtomicUsize>) {
    receiver_on("127.0.0.1:0", answer).await
}

async fn receiver_on(bind: &str, answer: Answer) -> (SocketAddr, mpsc::UnboundedReceiver<Received>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind(bind).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            counted.fetch_add(1, Ordering::SeqCst);
            let (tx, answer) = (tx.clone(), answer.clone());
            tokio::spawn(async move {
                let mut read = Vec::new();
                let mut buf = [0u8; 4096];
                let head_end = loop {
                    let n = stream.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    read.extend_from_slice(&buf[..n]);
                    if let Some(i) = read.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&read[..head_end]).into_owned();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                while read.len() < head_end + length {
                    let n = stream.read(&mut buf).await.unwrap();
                    read.extend_from_slice(&buf[..n]);
                }
                tx.send(Received { head, body: read[head_end..head_end + length].to_vec() }).ok();
                match answer {
                    Answer::Http(raw) => stream.write_all(raw.as_bytes()).await.unwrap(),
                    Answer::Silence => tokio::time::sleep(Duration::from_secs(60)).await,
                }
            });
        }
    });
    (addr, rx, connections)
}

/// A resolver answering from a table, as DNS would for names that point where a test says.
struct StubResolver(HashMap<&'static str, Vec<SocketAddr>>);

impl Resolve for StubResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let found = self.0.get(name.as_str()).cloned();
        Box::pin(async move {
            let addrs = found.ok_or_else(|| format!("no such name: {}", name.as_str()))?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

fn client(reach: Reach, names: &[(&'static str, Vec<SocketAddr>)]) -> WebhookClient {
    let resolver = Arc::new(StubResolver(names.iter().cloned().collect()));
    WebhookClient::with_resolver(reach, resolver, Duration::from_secs(2)).unwrap()
}

async fn send(client: &WebhookClient, url: &str, secrets: &[WebhookSecret]) -> Attempt {
    let url = WebhookUrl::parse(url, Reach::PublicAndLoopback).unwrap();
    let timestamp = chrono::Utc::now().timestamp();
    let delivery = Delivery { url: &url, message_id: "evt_1", timestamp, body: br#"{"a":1}"#, secrets };
    client.send(&delivery).await
}

/// Which of `secrets` verify a received delivery, by the Standard Webhooks reference library
/// (tools/verify_webhook.py, in the venv `make tools` installs).
fn verified_by_reference_library(secrets: &[&WebhookSecret], got: &Received, body: &[u8]) -> Vec<bool> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = root.join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: run `make tools` (it installs standardwebhooks)", python.display());
    let headers: serde_json::Map<String, serde_json::Value> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .into_iter()
        .map(|h| (h.to_owned(), got.header(h).unwrap().into()))
        .collect();
    let request = serde_json::json!({
        "secrets": secrets.iter().map(|s| s.expose()).collect::<Vec<_>>(),
        "headers": headers,
        "body": String::from_utf8(body.to_vec()).unwrap(),
    });
    let mut child = std::process::Command::new(python)
        .arg(root.join("tools/verify_webhook.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), request.to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "verify_webhook.py failed");
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    answer["verified"].as_array().unwrap().iter().map(|v| v.as_bool().unwrap()).collect()
}

#[tokio::test]
async fn a_delivery_is_a_signed_post_of_the_body() {
    let (addr, mut requests, _) = receiver(answer("204 No Content", "", "")).await;
    let client = client(Reach::PublicAndLoopback, &[]);
    let (old, new) = (WebhookSecret::generate(), WebhookSecret::generate());
    let attempt = send(&client, &format!("http://{addr}/hook?x=1"), &[new.clone(), old.clone()]).await;
    assert_eq!((attempt.status, attempt.verdict, attempt.error.clone()), (Some(204), Verdict::Delivered, None));

    let got = requests.recv().await.unwrap();
    assert!(got.head.starts_with("POST /hook?x=1 HTTP/1.1\r\n"), "{}", got.head);
    assert_eq!(got.body, br#"{"a":1}"#);
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("webhook-id"), Some("evt_1"));
    let timestamp: i64 = got.header("webhook-timestamp").unwrap().parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60, "timestamp {timestamp} is not now");
    let expected = format!("{} {}", new.sign("evt_1", timestamp, &got.body), old.sign("evt_1", timestamp, &got.body));
    assert_eq!(got.header("webhook-signature"), Some(expected.as_str()));

    // An independent implementation agrees: both live secrets verify, a stranger's does not,
    // and a body changed on the way verifies under none.
    let stranger = WebhookSecret::generate();
    assert_eq!(verified_by_reference_library(&[&new, &old, &stranger], &got, &got.body), [true, true, false]);
    assert_eq!(verified_by_reference_library(&[&new, &old], &got, br#"{"a":2}"#), [false, false]);
}

#[tokio::test]
async fn a_name_resolving_only_to_forbidden_addresses_is_never_connected_to() {
    let (addr, _, connections) = receiver(answer("200 OK", "", "")).await;
    // Under Reach::Public, loopback is forbidden: this name "points at an internal service".
    // (Names under .localhost may use http, so the URL itself passes.)
    let client = client(Reach::Public, &[("internal.localhost", vec![addr])]);
    let attempt =
        send(&client, &format!("http://internal.localhost:{}/", addr.port()), &[WebhookSecret::generate()]).await;
    assert_eq!((attempt.status, attempt.verdict), (None, Verdict::Failed));
    assert!(attempt.error.as_deref().unwrap().contains("resolves to no address a webhook may reach"), "{attempt:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_name_is_judged_by_every_address_it_resolves_to() {
    // Both loopback families, forbidden under Reach::Public: neither is tried. The connection
    // counts are read after the attempt ended, when any connection it made was accepted.
    let (v4, _, v4_connections) = receiver(answer("200 OK", "", "")).await;
    let (v6, _, v6_connections) = receiver_on("[::1]:0", answer("200 OK", "", "")).await;
    let client = client(Reach::Public, &[("both.localhost", vec![v6, v4])]);
    let attempt = send(&client, &format!("http://both.localhost:{}/", v4.port()), &[WebhookSecret::generate()]).await;
    assert_eq!((attempt.status, attempt.verdict), (None, Verdict::Failed));
    assert_eq!((v4_connections.load(Ordering::SeqCst), v6_connections.load(Ordering::SeqCst)), (0, 0));
}

#[tokio::test]
async fn an_address_written_in_the_url_is_judged_too() {
    let (addr, _, connections) = receiver(answer("200 OK", "", "")).await;
    let client = client(Reach::Public, &[]);
    let attempt = send(&client, &format!("http://{addr}/"), &[WebhookSecret::generate()]).await;
    assert_eq!((attempt.status, attempt.verdict), (None, Verdict::Failed));
    assert_eq!(connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_redirect_is_the_answer_and_is_not_followed() {
    let (target, _, target_connections) = receiver(answer("200 OK", "", "")).await;
    let (addr, _, _) = receiver(answer("307 Temporary Redirect", &format!("location: http://{target}/\r\n"), "")).await;
    let client = client(Reach::PublicAndLoopback, &[]);
    let attempt = send(&client, &format!("http://{addr}/"), &[WebhookSecret::generate()]).await;
    assert_eq!((attempt.status, attempt.verdict), (Some(307), Verdict::Failed));
    assert_eq!(attempt.error.as_deref(), Some("answered 307"));
    assert_eq!(target_connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn server_errors_and_throttling_are_retried_and_gone_disables() {
    for (status, verdict) in [
        ("503 Service Unavailable", Verdict::Retry),
        ("429 Too Many Requests", Verdict::Retry),
        ("410 Gone", Verdict::Gone),
        ("401 Unauthorized", Verdict::Failed),
    ] {
        let (addr, _, _) = receiver(answer(status, "", "")).await;
        let attempt =
            send(&client(Reach::PublicAndLoopback, &[]), &format!("http://{addr}/"), &[WebhookSecret::generate()])
                .await;
        assert_eq!(attempt.verdict, verdict, "{status}");
    }
}

#[tokio::test]
async fn an_endpoint_that_never_answers_times_out_and_is_retried() {
    let (addr, _, _) = receiver(Answer::Silence).await;
    let attempt =
        send(&client(Reach::PublicAndLoopback, &[]), &format!("http://{addr}/"), &[WebhookSecret::generate()]).await;
    assert_eq!((attempt.status, attempt.verdict), (None, Verdict::Retry));
    assert!(attempt.error.as_deref().unwrap().starts_with("timed out after 2"), "{attempt:?}");
    assert!(attempt.latency >= Duration::from_secs(2), "{attempt:?}");
}

#[tokio::test]
async fn a_refused_connection_is_retried() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let attempt = send(
        &client(Reach::PublicAndLoopback, &[]),
        &format!("http://127.0.0.1:{port}/"),
        &[WebhookSecret::generate()],
    )
    .await;
    assert_eq!((attempt.status, attempt.verdict), (None, Verdict::Retry));
    assert!(attempt.error.as_deref().unwrap().starts_with("could not connect"), "{attempt:?}");
}

#[tokio::test]
async fn only_the_first_kilobyte_of_an_answer_is_kept() {
    let long = "é".repeat(3000);
    let (addr, _, _) = receiver(answer("500 Internal Server Error", "", &long)).await;
    let attempt =
        send(&client(Reach::PublicAndLoopback, &[]), &format!("http://{addr}/"), &[WebhookSecret::generate()]).await;
    assert_eq!(attempt.status, Some(500));
    assert!(attempt.response.len() <= KEPT_RESPONSE_BYTES + 2, "{}", attempt.response.len());
    assert!(long.starts_with(attempt.response.trim_end_matches('\u{FFFD}')));
}
