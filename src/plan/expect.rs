//! What a converged resource promises every consumer of the environment sees:
//! the plan's steps carry these, and [`crate::verify`] checks them on the host.

/// One declared fact a consumer should see.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Expect {
  /// An exported variable and its value.
  Env { name: String, value: String },
  /// A variable no consumer sees: its export left the playbook.
  Unset { name: String },
  /// A directory on PATH; `before_system` for `path prepend`: ahead of /usr/bin.
  PathEntry { dir: String, before_system: bool },
  /// A setting as `go env NAME` reports it.
  GoEnv { name: String, value: String },
  /// The `go` found first on PATH (one of `paths`) and its version.
  Go { version: String, paths: Vec<String> },
  /// A tool on PATH and the module version `go version -m` shows.
  Tool { name: String, version: String },
}
