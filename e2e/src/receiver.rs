//! Webhook receivers on loopback for the tests, and the check of what they received by the
//! Standard Webhooks reference library: an implementation independent of ours.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use taskflow::domain::WebhookSecret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A request as the receiver read it.
#[derive(Debug, Clone)]
pub struct Received {
    pub head: String,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// What a receiver answers: raw HTTP, or nothing at all (it holds the connection open).
#[derive(Clone)]
pub enum Answer {
    Http(String),
    Silence,
}

pub fn answer(status: &str, extra_headers: &str, body: &str) -> Answer {
    Answer::Http(format!(
        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n{extra_headers}\r\n{body}",
        body.len()
    ))
}

/// A receiver on a free loopback port: its address, the requests it read, and how many
/// connections it accepted.
pub async fn receiver(answer: Answer) -> (SocketAddr, mpsc::UnboundedReceiver<Received>, Arc<AtomicUsize>) {
    receiver_on("127.0.0.1:0", answer).await
}

pub async fn receiver_on(
    bind: &str,
    answer: Answer,
) -> (SocketAddr, mpsc::UnboundedReceiver<Received>, Arc<AtomicUsize>) {
    scripted_receiver(bind, vec![answer]).await
}

/// A receiver that gives `answers` in turn, one per request, the last one from then on.
pub async fn scripted_receiver(
    bind: &str,
    answers: Vec<Answer>,
) -> (SocketAddr, mpsc::UnboundedReceiver<Received>, Arc<AtomicUsize>) {
    assert!(!answers.is_empty(), "a receiver answers something");
    let listener = TcpListener::bind(bind).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    let script = Arc::new(Mutex::new(answers.into_iter().collect::<std::collections::VecDeque<_>>()));
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            counted.fetch_add(1, Ordering::SeqCst);
            let (tx, script) = (tx.clone(), script.clone());
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
                let answer = {
                    let mut script = script.lock().unwrap();
                    if script.len() > 1 { script.pop_front().unwrap() } else { script[0].clone() }
                };
                tx.send(Received { head, body: read[head_end..head_end + length].to_vec() }).ok();
                match answer {
                    Answer::Http(raw) => stream.write_all(raw.as_bytes()).await.unwrap_or(()),
                    Answer::Silence => tokio::time::sleep(Duration::from_secs(60)).await,
                }
            });
        }
    });
    (addr, rx, connections)
}

/// Which of `secrets` verify a received delivery with `body`, by the Standard Webhooks
/// reference library (tools/verify_webhook.py, in the venv `make tools` installs).
pub fn verified_by_reference_library(secrets: &[&WebhookSecret], got: &Received, body: &[u8]) -> Vec<bool> {
    let secrets: Vec<String> = secrets.iter().map(|s| s.expose()).collect();
    verified_by_reference_library_raw(&secrets, got, body)
}

/// The same, for secrets as the API answered them (`whsec_…`).
pub fn verified_by_reference_library_raw(secrets: &[String], got: &Received, body: &[u8]) -> Vec<bool> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let python = root.join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: run `make tools` (it installs standardwebhooks)", python.display());
    let headers: serde_json::Map<String, serde_json::Value> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .into_iter()
        .map(|h| (h.to_owned(), got.header(h).unwrap_or_else(|| panic!("no {h} header")).into()))
        .collect();
    let request = serde_json::json!({
        "secrets": secrets,
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
