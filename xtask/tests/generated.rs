//! Every file `make gen` writes is what it writes now: a manifest changed without `make gen`,
//! or a generated file edited by hand, fails here with the files named.

use std::process::Command;

#[test]
fn every_generated_file_is_what_the_manifests_make() {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask")).args(["gen", "--check"]).output().expect("xtask runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
