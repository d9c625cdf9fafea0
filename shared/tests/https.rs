//! The functions' HTTPS client against a real TLS endpoint: a TLS proxy in front of the
//! DynamoDB emulator (moto_server, started by `make test`), with a certificate from a CA made
//! here by the `openssl` command. The client trusts exactly the roots it is given, so the
//! built-in Amazon roots refuse this endpoint and a CA bundle holding the test CA accepts it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use aws_config::BehaviorVersion;
use taskflow::store::Store;
use taskflow::store::schema::TABLE;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A CA and a certificate for 127.0.0.1 it signed, in a fresh directory: (ca.pem, cert, key).
fn certificates() -> (PathBuf, PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("taskflow-https-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str| dir.join(name);
    std::fs::write(
        file("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let steps: [&[&str]; 3] = [
        &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=TaskFlow test CA"],
        &["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1"],
        &["x509", "-req", "-CAcreateserial", "-days", "1"],
    ];
    let paths: [&[(&str, PathBuf)]; 3] = [
        &[("-keyout", file("ca-key.pem")), ("-out", file("ca.pem"))],
        &[("-keyout", file("key.pem")), ("-out", file("leaf.csr"))],
        &[
            ("-in", file("leaf.csr")),
            ("-CA", file("ca.pem")),
            ("-CAkey", file("ca-key.pem")),
            ("-extfile", file("leaf.ext")),
            ("-out", file("cert.pem")),
        ],
    ];
    for (args, files) in steps.iter().zip(paths) {
        let mut command = Command::new("openssl");
        command.args(*args);
        for (flag, path) in files {
            command.arg(flag).arg(path);
        }
        let done = command.output().expect("the openssl command runs (apt-get install openssl)");
        assert!(done.status.success(), "openssl: {}", String::from_utf8_lossy(&done.stderr));
    }
    (file("ca.pem"), file("cert.pem"), file("key.pem"))
}

/// Terminates TLS on a free loopback port and relays each connection to `upstream`.
async fn tls_proxy(cert: &Path, key: &Path, upstream: String) -> String {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(cert).unwrap().collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    // The provider named, not the process default: which one that is depends on the features
    // the whole workspace unifies.
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                let (Ok(mut client), Ok(mut server)) =
                    (acceptor.accept(client).await, TcpStream::connect(upstream).await)
                else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    format!("https://{address}")
}

/// The functions' SDK configuration, with the HTTPS client trusting `roots`, aimed at `endpoint`.
async fn sdk_trusting(roots: Vec<u8>, endpoint: &str) -> aws_config::SdkConfig {
    let https = taskflow::config::https_client(roots).expect("an HTTPS client");
    aws_config::defaults(BehaviorVersion::latest()).http_client(https).endpoint_url(endpoint).load().await
}

#[tokio::test]
async fn the_client_trusts_exactly_the_roots_it_is_given() {
    let emulator = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL: run the tests with `make test`");
    let upstream = emulator.strip_prefix("http://").expect("a plain-HTTP loopback emulator").trim_end_matches('/');
    let (ca, cert, key) = certificates();
    let endpoint = tls_proxy(&cert, &key, upstream.to_owned()).await;
    let table = format!("https-test-{}", uuid::Uuid::new_v4().simple());

    // A CA bundle that holds the test CA, as AWS_CA_BUNDLE gives it: calls go through, the
    // store's included.
    let sdk = sdk_trusting(std::fs::read(&ca).unwrap(), &endpoint).await;
    TABLE.create(&aws_sdk_dynamodb::Client::new(&sdk), &table).await.expect("a table created over TLS");
    let store = Store::from_sdk(&sdk, &table);
    let scope = taskflow::store::TenantScope::for_new_organization();
    assert!(store.organizations().get(&scope).await.expect("a read over TLS").is_none());

    // The built-in roots (Amazon Trust Services) do not vouch for this endpoint.
    let sdk = sdk_trusting(taskflow::config::AMAZON_TRUST_SERVICES.to_vec(), &endpoint).await;
    let refused = Store::from_sdk(&sdk, &table).organizations().get(&scope).await;
    let error = format!("{:?}", refused.expect_err("an endpoint outside the trusted roots is refused"));
    assert!(error.contains("UnknownIssuer"), "{error}");
}
