//! The webhook client against receivers on loopback, in this process (no stack needed): what
//! it sends, and what it refuses to reach. Every address a test names is loopback, the forbidden ones included: under
//! `Reach::Public` loopback is forbidden, so a broken guard would connect to a receiver of
//! this test (and fail it), never to anything off this machine. The other forbidden ranges
//! are the address filter's unit tests (src/domain/webhook.rs).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use e2e::receiver::{Answer, answer, receiver, receiver_on, verified_by_reference_library};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use taskflow::domain::{Reach, WebhookSecret, WebhookUrl};
use taskflow::notifications::{Attempt, Delivery, KEPT_RESPONSE_BYTES, Verdict, WebhookClient};

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
    let kept = attempt.response.len();
    assert!((KEPT_RESPONSE_BYTES - 2..=KEPT_RESPONSE_BYTES + 2).contains(&kept), "{kept}");
    assert!(long.starts_with(attempt.response.trim_end_matches('\u{FFFD}')));
}
