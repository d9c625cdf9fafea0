//! The project's own tooling (never deployed): `cargo xtask <command>`, or the make targets
//! over it.
//!
//! `xtask gen [--check]`  writes template.yaml, the local router, the README's route table and
//!                        the sample events from the functions' manifests (`generate.rs`); with
//!                        `--check`, fails when a committed one differs.
//! `xtask new NAME ROUTE`  scaffolds one HTTP function (`scaffold.rs`; `make function`).
//! `xtask keys DIR`    writes a fresh Ed25519 signing key pair and a cursor secret into
//!                        DIR, unless they are already there (they are git-ignored).
//! `xtask bootstrap KEY_DIR`
//!                        creates the table (from the one definition in `taskflow`), the
//!                        notification queue with its dead-letter queue, the SES sender
//!                        identity and the secrets (from KEY_DIR) in the emulator the standard
//!                        AWS variables point at, and prints `export` lines for their URLs/ARNs.
//! `xtask schema`      prints the table definition as JSON, for the deployment drift tests.
//! `xtask consumers`   prints the event topic's consumers as JSON (the event types each
//!                        receives, its function and queue), for the same tests.
//! `xtask function-env BINARY [ARGS...]`
//!                        runs one function with only the environment it has when deployed
//!                        (`function_env.rs`; the local stack's Cargo runner).
//! `xtask openapi`     prints the API's OpenAPI document (`make openapi` commits it).
//! `xtask sqs-poller`  the local stand-in for Lambda's SQS event source mapping and the
//!                        re-publisher's schedule (see `poller.rs`).

mod bootstrap;
mod function_env;
mod generate;
mod manifest;
mod poller;
mod scaffold;

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use taskflow::auth::keys::generate_signing_key_pair;
use taskflow::store::CursorKey;
use taskflow::store::schema::TABLE;

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, binary, rest @ ..] = args.as_slice()
        && command == "function-env"
    {
        return function_env::exec(binary, rest);
    }
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["new", name, route] => scaffold::run(name, route),
        ["gen"] => generate::run(false),
        ["gen", "--check"] => generate::run(true),
        ["keys", dir] => write_keys(Path::new(dir)),
        ["bootstrap", key_dir] => bootstrap::run(Path::new(key_dir)).await,
        ["sqs-poller"] => poller::run().await,
        ["schema"] => print_schema(),
        ["consumers"] => print_consumers(),
        ["openapi"] => {
            print!("{}", taskflow::openapi::to_json());
            Ok(())
        }
        _ => {
            Err("usage: xtask gen [--check] | xtask new NAME ROUTE | xtask function-env BINARY [ARGS...] | xtask keys DIR | xtask bootstrap KEY_DIR | xtask sqs-poller | xtask schema | xtask consumers | xtask openapi".into())
        }
    }
}

fn write_secret(path: &Path, contents: &str) -> Result<(), Error> {
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

fn write_keys(dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(dir)?;
    let private = dir.join("jwt-private.pem");
    if !private.exists() {
        let pair = generate_signing_key_pair();
        write_secret(&private, &pair.private_pem)?;
        write_secret(&dir.join("jwt-public.pem"), &pair.public_pem)?;
    }
    // 256-bit keys (HMAC, and the webhook secrets' sealing); the generator is the cursor key's.
    for name in ["cursor-secret", "mail-token-secret", "webhook-sealing-secret"] {
        let path = dir.join(name);
        if !path.exists() {
            write_secret(&path, &CursorKey::generate_secret())?;
        }
    }
    Ok(())
}

fn print_schema() -> Result<(), Error> {
    let indexes: Vec<_> = TABLE
        .indexes
        .iter()
        .map(|i| serde_json::json!({"name": i.name, "partition_key": i.partition_key, "sort_key": i.sort_key}))
        .collect();
    let schema = serde_json::json!({
        "partition_key": TABLE.partition_key,
        "sort_key": TABLE.sort_key,
        "key_attributes": TABLE.key_attributes(),
        "indexes": indexes,
        "ttl_attribute": TABLE.ttl_attribute,
    });
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(())
}

fn print_consumers() -> Result<(), Error> {
    use taskflow::domain::events::{Consumer, EVENT_TYPES};
    let workspace = manifest::Workspace::load_here()?;
    let consumers: Vec<_> = workspace
        .consumers()
        .map(|(function, queue)| {
            let consumer = Consumer::named(&queue.consumer).expect("a loaded workspace names known consumers");
            serde_json::json!({
                "function": function,
                "local_queue": queue.local_name,
                "template_queue": queue.id,
                "event_types": consumer.event_types(),
            })
        })
        .collect();
    let document = serde_json::json!({"event_types": EVENT_TYPES, "consumers": consumers});
    println!("{}", serde_json::to_string_pretty(&document)?);
    Ok(())
}
