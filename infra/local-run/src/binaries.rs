//! The functions' binaries, built as `cargo build` builds them (the dev profile), and where
//! cargo put them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use aftercare_localstack::repository_root;

use crate::{RunError, FUNCTIONS};

/// Builds the binaries of `functions` (quick when they are up to date) and returns, for each,
/// the path of its executable as cargo reports it (inside `CARGO_TARGET_DIR` when that is set).
pub fn build_functions(functions: &[&str]) -> Result<BTreeMap<String, PathBuf>, RunError> {
    let failed = |detail: String| RunError::Build {
        functions: functions.join(", "),
        detail,
    };
    if let Some(unknown) = functions.iter().find(|f| !FUNCTIONS.contains(f)) {
        return Err(RunError::UnknownFunction((*unknown).to_owned()));
    }
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command
        .args(["build", "--quiet", "--locked"])
        .arg("--message-format=json-render-diagnostics");
    for function in functions {
        command.args(["--bin", function]);
    }
    let output = command
        .current_dir(repository_root())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| failed(format!("cargo build: {e}")))?;
    if !output.status.success() {
        return Err(failed(format!(
            "cargo build failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let built = executables(&String::from_utf8_lossy(&output.stdout));
    functions
        .iter()
        .map(|function| {
            built
                .get(*function)
                .map(|path| ((*function).to_owned(), path.clone()))
                .ok_or_else(|| failed(format!("cargo reported no executable for {function}")))
        })
        .collect()
}

/// The executables of binary targets among cargo's JSON `messages`, by target name.
fn executables(messages: &str) -> BTreeMap<String, PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| {
            message["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"))
        })
        .filter_map(|message| {
            Some((
                message["target"]["name"].as_str()?.to_owned(),
                PathBuf::from(message["executable"].as_str()?),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_binary_targets_with_an_executable_are_taken_from_cargos_messages() {
        let messages = [
            r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"order_events"},"executable":null}"#,
            r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"order-events"},"executable":"/t/debug/order-events"}"#,
            r#"{"reason":"build-finished","success":true}"#,
            "not json",
        ]
        .join("\n");
        let found = executables(&messages);
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            [(
                "order-events".to_owned(),
                PathBuf::from("/t/debug/order-events")
            )]
        );
    }

    #[test]
    fn an_unknown_function_is_not_built() {
        let error = build_functions(&["order-event"]).unwrap_err();
        assert!(matches!(error, RunError::UnknownFunction(name) if name == "order-event"));
    }
}
