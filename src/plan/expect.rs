//! What a converged resource promises every consumer of the environment sees:
//! the plan's steps carry these, and [`crate::verify`] checks them on the host.

/// One declared fact a consumer should see, or a fact of the host itself.
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
  /// A `go env` setting that no resource declares but that must keep to a rule
  /// (modules on, no stray GOFLAGS, no switch to another toolchain). A
  /// [`Expect::GoEnv`] of the same name takes its place.
  GoEnvRule { name: String, rule: GoEnvRule },
  /// The `go` found first on PATH (one of `paths`) and its version.
  Go { version: String, paths: Vec<String> },
  /// A tool on PATH and the module version `go version -m` shows.
  Tool { name: String, version: String },
  /// The Go that built a tool on PATH (`go version -m`) is the Go first on PATH
  /// (gopls built by another Go misreads the standard library of this one).
  ToolGo { name: String },
  /// A kernel parameter, live (`/proc/sys`) and in the file converge writes it to.
  Sysctl { key: String, value: String, file: String },
  /// `kernel.yama.ptrace_scope` lets `dlv attach` attach to the user's processes.
  Ptrace,
  /// The SELinux type of a path, as `matchpathcon -V` checks it.
  SelinuxLabel { path: String, setype: String },
  /// A setting as the VS Code server reads it from its settings file (JSON text).
  VscodeSetting { file: String, key: String, value: String },
  /// A module proxy or checksum database answers the host over HTTP(S), with
  /// the host's proxy variables (`verify --probe`).
  Reachable { what: String, url: String },
  /// The user's running VS Code server processes started after the files the
  /// environment comes from last changed (verify adds it when one runs).
  Fresh,
}

/// What a [`Expect::GoEnvRule`] accepts.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GoEnvRule {
  /// GO111MODULE empty or `on`: `off` and `auto` put a module project in GOPATH mode.
  ModulesOn,
  /// Empty: a value nobody declared changes every build (`-mod=vendor`).
  Empty,
  /// GOTOOLCHAIN names no Go other than this version (`auto`, `local` or
  /// `go<version>`, with or without `+auto`/`+path`).
  NoOtherToolchain { version: String },
}

impl Expect {
  /// Whether the expectation is a fact of the host, checked once rather than
  /// per consumer.
  pub fn of_host(&self) -> bool {
    matches!(
      self,
      Expect::Sysctl { .. }
        | Expect::Ptrace
        | Expect::SelinuxLabel { .. }
        | Expect::VscodeSetting { .. }
        | Expect::Reachable { .. }
        | Expect::Fresh
    )
  }
}
