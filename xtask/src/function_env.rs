//! `xtask function-env <binary> [args...]`: runs one function of the local stack with only the
//! environment it has when deployed.
//!
//! `tools/stack.sh` makes this the Cargo runner of `cargo lambda watch` (which starts each
//! function with `cargo run --bin <name>`), so a function is handed the variables the Lambda
//! runtime provides, the ones every function may read (`[workspace.metadata.taskflow]`) and
//! the ones its manifest declares (`environment`, `tuning`), and nothing else. A variable a
//! function reads without declaring it is missing here as it would be in AWS, where the
//! template (written from the same manifest) gives each function only what it declares.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::Error;
use crate::manifest::Workspace;

/// Set by the Lambda runtime itself (reserved variables), plus the locale and search path a
/// process needs. AWS_ENDPOINT_URL and AWS_EC2_METADATA_DISABLED stand in locally for AWS's
/// own endpoints and credentials.
const RUNTIME: [&str; 16] = [
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_EXECUTION_ENV",
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "TZ",
    "LANG",
    "PATH",
    "LD_LIBRARY_PATH",
    "AWS_ENDPOINT_URL",
    "AWS_EC2_METADATA_DISABLED",
];
const RUNTIME_PREFIX: &str = "AWS_LAMBDA_";

/// Every variable `function` may be started with, beyond the runtime's own.
pub fn declared(workspace: &Workspace, function: &str) -> Option<BTreeSet<String>> {
    let own = workspace.functions.get(function)?;
    let everyone = &workspace.taskflow;
    Some(everyone.globals.iter().chain(&everyone.tuning).chain(&own.environment).chain(&own.tuning).cloned().collect())
}

/// Of `environ`, what `function` is started with.
pub fn environment_for(
    workspace: &Workspace,
    function: &str,
    environ: impl IntoIterator<Item = (String, String)>,
) -> Option<Vec<(String, String)>> {
    let allowed = declared(workspace, function)?;
    Some(
        environ
            .into_iter()
            .filter(|(name, _)| {
                allowed.contains(name) || RUNTIME.contains(&name.as_str()) || name.starts_with(RUNTIME_PREFIX)
            })
            .collect(),
    )
}

/// Replaces this process with `binary`, its arguments and the function's environment.
pub fn exec(binary: &str, args: &[String]) -> Result<(), Error> {
    let function = Path::new(binary).file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let workspace = Workspace::read(&crate::manifest::repository_root())?;
    let environment = environment_for(&workspace, function, std::env::vars()).ok_or_else(|| {
        format!("xtask function-env: {function} is not a function of this repository (functions/{function})")
    })?;
    let error = Command::new(binary).args(args).env_clear().envs(environment).exec();
    Err(format!("xtask function-env: {binary}: {error}").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_function_gets_what_it_declares_what_everyone_gets_and_the_runtimes_own_only() {
        let workspace = Workspace::load_here().unwrap();
        let given = env(&[
            ("TASKFLOW_EVENT_TOPIC_ARN", "arn"),
            ("TASKFLOW_TABLE_NAME", "t"),
            ("TASKFLOW_JWT_ISSUER", "i"),
            ("AWS_LAMBDA_FUNCTION_NAME", "f"),
            ("PATH", "/bin"),
            ("TASKFLOW_MAIL_FROM", "m"),
            ("TASKFLOW_EXPORT_BUCKET", "b"),
            ("HOME", "/root"),
        ]);
        let got = environment_for(&workspace, "tasks-create", given).unwrap();
        let names: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "TASKFLOW_EVENT_TOPIC_ARN",
                "TASKFLOW_TABLE_NAME",
                "TASKFLOW_JWT_ISSUER",
                "AWS_LAMBDA_FUNCTION_NAME",
                "PATH"
            ]
        );
    }

    #[test]
    fn a_name_that_is_no_function_is_refused() {
        let workspace = Workspace::load_here().unwrap();
        assert!(environment_for(&workspace, "cargo", env(&[("PATH", "/bin")])).is_none());
        assert!(environment_for(&workspace, "../shared", env(&[])).is_none());
    }
}
