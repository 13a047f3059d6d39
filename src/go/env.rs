//! What `go env -w` accepts, and how it rewrites the go env file.
//!
//! converge sets Go variables by editing the user's go env file
//! (`~/.config/go/env`) the way `go env -w` would, so that the result is
//! byte-for-byte what the go command itself would have written (domain.md §3.1)
//! and hashes stay stable across runs. [`check_write`] refuses what
//! `checkEnvWrite` in `cmd/go/internal/envcmd/env.go` refuses (§3.2), and also
//! values that `go env -w` writes but that break the go command later
//! (`GOPROXY`, `GOFLAGS`, `GOTOOLCHAIN`, `GOSUMDB`, `GOCACHE`), so mistakes show at
//! check time instead of on the host.

use crate::go::proxy::ProxyChain;
use crate::go::version::GoVersion;

/// Every variable the go command knows (`cfg.KnownEnv` of Go 1.2x, plus those
/// `go env` prints but reads elsewhere: `GODEBUG`, `GOTELEMETRY`,
/// `GOTELEMETRYDIR`, `GOVERSION`, `GOMOD`, `GCCGOTOOLDIR`).
pub const KNOWN: &[&str] = &[
  "AR",
  "CC",
  "CGO_CFLAGS",
  "CGO_CFLAGS_ALLOW",
  "CGO_CFLAGS_DISALLOW",
  "CGO_CPPFLAGS",
  "CGO_CPPFLAGS_ALLOW",
  "CGO_CPPFLAGS_DISALLOW",
  "CGO_CXXFLAGS",
  "CGO_CXXFLAGS_ALLOW",
  "CGO_CXXFLAGS_DISALLOW",
  "CGO_ENABLED",
  "CGO_FFLAGS",
  "CGO_FFLAGS_ALLOW",
  "CGO_FFLAGS_DISALLOW",
  "CGO_LDFLAGS",
  "CGO_LDFLAGS_ALLOW",
  "CGO_LDFLAGS_DISALLOW",
  "CXX",
  "FC",
  "GCCGO",
  "GCCGOTOOLDIR",
  "GO111MODULE",
  "GO386",
  "GOAMD64",
  "GOARCH",
  "GOARM",
  "GOARM64",
  "GOAUTH",
  "GOBIN",
  "GOCACHE",
  "GOCACHEPROG",
  "GODEBUG",
  "GOENV",
  "GOEXE",
  "GOEXPERIMENT",
  "GOFIPS140",
  "GOFLAGS",
  "GOGCCFLAGS",
  "GOHOSTARCH",
  "GOHOSTOS",
  "GOINSECURE",
  "GOMIPS",
  "GOMIPS64",
  "GOMOD",
  "GOMODCACHE",
  "GONOPROXY",
  "GONOSUMDB",
  "GOOS",
  "GOPATH",
  "GOPPC64",
  "GOPRIVATE",
  "GOPROXY",
  "GORISCV64",
  "GOROOT",
  "GOSUMDB",
  "GOTELEMETRY",
  "GOTELEMETRYDIR",
  "GOTMPDIR",
  "GOTOOLCHAIN",
  "GOTOOLDIR",
  "GOVCS",
  "GOVERSION",
  "GOWASM",
  "GOWORK",
  "GO_EXTLINK_ENABLED",
  "PKG_CONFIG",
];

/// Whether the go command knows the variable (see [`KNOWN`]).
pub fn is_go_variable(name: &str) -> bool {
  KNOWN.contains(&name)
}

/// Why `go env -w NAME=VALUE` would fail, or leave a go command that fails.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GoEnvError {
  #[error("`{name}` cannot be modified with `go env -w`")]
  ReadOnly { name: String, reason: &'static str },
  #[error("`{name}` can only be set using the OS environment")]
  OsEnvOnly { name: String },
  #[error("unknown go command variable `{name}`")]
  Unknown { name: String, suggestion: Option<&'static str> },
  #[error("invalid `{name}` value: {reason}")]
  InvalidValue { name: String, reason: String, help: String },
}

impl GoEnvError {
  pub fn name(&self) -> &str {
    match self {
      GoEnvError::ReadOnly { name, .. }
      | GoEnvError::OsEnvOnly { name }
      | GoEnvError::Unknown { name, .. }
      | GoEnvError::InvalidValue { name, .. } => name,
    }
  }

  /// Why the write is refused.
  pub fn reason(&self) -> String {
    match self {
      GoEnvError::ReadOnly { reason, .. } => (*reason).into(),
      GoEnvError::OsEnvOnly { name } => {
        format!("the go command reads `{name}` from the process environment only, never from the go env file")
      }
      GoEnvError::Unknown { name, .. } => format!("the go command has no variable `{name}`"),
      GoEnvError::InvalidValue { reason, .. } => reason.clone(),
    }
  }

  /// How to fix it.
  pub fn help(&self) -> String {
    match self {
      GoEnvError::ReadOnly { name, .. } => match name.as_str() {
        "GOROOT" => {
          "install go into the directory you want and put its `bin` on `PATH`; the go command finds \
                     `GOROOT` from its own location (and go 1.19 accepts `go env -w GOROOT`, then breaks)"
            .into()
        }
        "GOTELEMETRY" | "GOTELEMETRYDIR" => {
          "use `go telemetry off`, `go telemetry local` or `go telemetry on`".into()
        }
        "GOWORK" => "select a workspace with a `go.work` file, or export `GOWORK` in the shell".into(),
        "GOVERSION" => "pin the go release itself instead (`go 1.22.5`), or set `GOTOOLCHAIN`".into(),
        _ => format!("remove the setting: the go command computes `{name}` itself"),
      },
      GoEnvError::OsEnvOnly { name } => format!("export `{name}` from a shell startup file instead"),
      GoEnvError::Unknown { name, suggestion } => {
        let upper = name.to_ascii_uppercase();
        let case = if *name != upper { "go variables are upper case; " } else { "" };
        match suggestion {
          Some(s) => format!("{case}did you mean `{s}`?"),
          None => format!("{case}`go help environment` lists the variables the go command reads"),
        }
      }
      GoEnvError::InvalidValue { help, .. } => help.clone(),
    }
  }
}

/// Variables `go env -w` refuses with "cannot be modified", and why.
fn read_only_reason(name: &str) -> Option<&'static str> {
  Some(match name {
    "GOROOT" => "`GOROOT` is where the running go command is installed",
    "GOWORK" => "`GOWORK` is found from the working directory's `go.work`",
    "GOTELEMETRY" | "GOTELEMETRYDIR" => "telemetry is configured with `go telemetry`",
    "GOVERSION" => "`GOVERSION` is the version of the installed toolchain",
    "GOMOD" => "`GOMOD` is the `go.mod` of the working directory",
    "GOEXE" | "GOGCCFLAGS" | "GOHOSTARCH" | "GOHOSTOS" | "GOTOOLDIR" => "it is computed by the go command",
    // Printed by `go env` but not in `cfg.KnownEnv`: `go env -w` calls it unknown.
    "GCCGOTOOLDIR" => "it is computed by the go command for gccgo, and `go env -w` rejects it as unknown",
    _ => return None,
  })
}

/// The closest known name, for "did you mean"; on a tie, a name with the same
/// letters (`GOAPTH` → `GOPATH`, not `GOAUTH`).
fn suggest(name: &str) -> Option<&'static str> {
  let upper = name.to_ascii_uppercase();
  let letters = |s: &str| {
    let mut b = s.as_bytes().to_vec();
    b.sort_unstable();
    b
  };
  KNOWN
    .iter()
    .map(|k| (strsim::damerau_levenshtein(&upper, k), letters(k) != letters(&upper), *k))
    .filter(|&(d, _, k)| d <= 2 && d < k.len() / 2)
    .min()
    .map(|(_, _, k)| k)
}

/// Checks `go env -w NAME=VALUE` before converge writes it. An empty value is
/// always accepted: it makes the go command use its default.
pub fn check_write(name: &str, value: &str) -> Result<(), GoEnvError> {
  if let Some(reason) = read_only_reason(name) {
    return Err(GoEnvError::ReadOnly { name: name.to_owned(), reason });
  }
  if name == "GOENV" || name == "GODEBUG" {
    return Err(GoEnvError::OsEnvOnly { name: name.to_owned() });
  }
  if !is_go_variable(name) {
    return Err(GoEnvError::Unknown { name: name.to_owned(), suggestion: suggest(name) });
  }
  check_value(name, value).map_err(|(reason, help)| GoEnvError::InvalidValue {
    name: name.to_owned(),
    reason,
    help,
  })
}

type Invalid = (String, String);

fn invalid(reason: impl Into<String>, help: impl Into<String>) -> Invalid {
  (reason.into(), help.into())
}

fn check_value(name: &str, value: &str) -> Result<(), Invalid> {
  if let Err(r) = crate::host::shell::dialect::GoEnvFile::check(value) {
    return Err(invalid(r.reason, r.help));
  }
  if value.is_empty() {
    return Ok(());
  }
  match name {
    "GO111MODULE" if !["auto", "on", "off"].contains(&value) => Err(invalid(
      format!("`{value}` is not one of `on`, `off`, `auto` or empty"),
      "modules are on by default since go 1.16: remove the setting, or write `on`",
    )),
    "GOPATH" => value.split(':').try_for_each(|entry| absolute_path("GOPATH", entry, "/home/dev/go")),
    "GOMODCACHE" => absolute_path(name, value, "/home/dev/go/pkg/mod"),
    "GOTMPDIR" => absolute_path(name, value, "/var/tmp/go"),
    "GOBIN" => absolute_path(name, value, "/home/dev/go/bin"),
    "GOCACHE" if value == "off" => Err(invalid(
      "the build cache cannot be turned off since go 1.12",
      "remove the setting, or point `GOCACHE` at a directory such as `/home/dev/.cache/go-build`",
    )),
    "GOCACHE" => absolute_path(name, value, "/home/dev/.cache/go-build"),
    "CC" | "CXX" => check_compiler(value),
    "GOTOOLCHAIN" => check_toolchain(value),
    "GOPROXY" => match ProxyChain::parse(value) {
      Ok(_) => Ok(()),
      Err(errors) => {
        let first = errors.first().map(|e| (e.to_string(), e.kind.help())).unwrap_or_default();
        let more = if errors.len() > 1 { format!(" (and {} more)", errors.len() - 1) } else { String::new() };
        Err(invalid(format!("{}{more}", first.0), first.1))
      }
    },
    "GOFLAGS" => check_goflags(value),
    "GOSUMDB" => check_gosumdb(value),
    _ => Ok(()),
  }
}

fn absolute_path(name: &str, path: &str, example: &str) -> Result<(), Invalid> {
  if path.starts_with('/') {
    return Ok(());
  }
  let reason = if path.is_empty() {
    "the list has an empty entry".to_owned()
  } else if path.starts_with('~') {
    format!("`{path}` starts with `~`, which the go command does not expand")
  } else {
    format!("`{path}` is a relative path")
  };
  let help = if path.contains('$') || path.starts_with('~') {
    format!("variables and `~` are not expanded in go env values: write the full path, such as `{example}`")
  } else {
    format!("`{name}` must be an absolute path, such as `{example}`")
  };
  Err(invalid(reason, help))
}

/// `CC` and `CXX`: the program (first word, quotes allowed) must be absolute
/// or a bare name looked up in `PATH`.
fn check_compiler(value: &str) -> Result<(), Invalid> {
  let value = value.trim_start();
  let program = match value.chars().next() {
    None => {
      return Err(invalid("the value is only spaces", "write a compiler such as `gcc` or `/usr/bin/clang`"));
    }
    Some(q @ ('"' | '\'')) => match value[1..].find(q) {
      Some(end) => &value[1..=end],
      None => return Err(invalid("the value has an unterminated quote", "close the quote")),
    },
    Some(_) => value.split_whitespace().next().unwrap_or(value),
  };
  if program.starts_with('/') || !program.contains('/') {
    Ok(())
  } else {
    Err(invalid(
      format!("program `{program}` is a relative path"),
      "write a bare name found in `PATH` (`gcc`) or an absolute path (`/usr/bin/gcc`)",
    ))
  }
}

/// `GOTOOLCHAIN`: `local`, `auto`, `path`, or `local`/`goX.Y.Z` with an optional
/// `+auto` or `+path`.
fn check_toolchain(value: &str) -> Result<(), Invalid> {
  let help = "write `local`, `auto`, `path`, `go1.22.5`, `go1.22.5+auto` or `go1.22.5+path`";
  if value == "auto" || value == "path" {
    return Ok(());
  }
  let (min, suffix) = match value.split_once('+') {
    Some((min, suffix)) => (min, Some(suffix)),
    None => (value, None),
  };
  if let Some(suffix) = suffix.filter(|s| *s != "auto" && *s != "path") {
    return Err(invalid(format!("`+{suffix}` is not `+auto` or `+path`"), help));
  }
  if min == "local" {
    return Ok(());
  }
  if !min.starts_with("go") {
    return Err(invalid(format!("`{min}` is not `local` or a toolchain name such as `go1.22.5`"), help));
  }
  GoVersion::parse(min).map(|_| ()).map_err(|e| invalid(e.to_string(), e.help()))
}

/// `GOFLAGS`: space-separated flags, as `base.InitGOFLAGS` requires.
fn check_goflags(value: &str) -> Result<(), Invalid> {
  for flag in value.split_whitespace() {
    if !flag.starts_with('-') || flag == "-" || flag == "--" || flag.starts_with("---") {
      let help = if flag.starts_with('-') {
        "write each flag as `-name` or `-name=value`".to_owned()
      } else {
        format!("flags start with `-`: did you mean `-{flag}`? values cannot contain spaces")
      };
      return Err(invalid(format!("`{flag}` is not a flag"), help));
    }
  }
  Ok(())
}

/// `GOSUMDB`: `off`, a known database, or `name+hash+key` optionally followed by
/// a URL (`modfetch/sumdb.go: dbDial`). Only `sum.golang.org` and
/// `sum.golang.google.cn` may be named without their key.
fn check_gosumdb(value: &str) -> Result<(), Invalid> {
  let help = "write `sum.golang.org`, `off`, or `name+hash+key [url]` for a private checksum database";
  if value == "off" {
    return Ok(());
  }
  let fields: Vec<&str> = value.split_whitespace().collect();
  let (key, url) = match fields[..] {
    [key] => (key, None),
    [key, url] => (key, Some(url)),
    _ => return Err(invalid("expected a key and at most one URL", help)),
  };
  if let Some(url) =
    url.filter(|u| u.contains("://") && !u.starts_with("https://") && !u.starts_with("http://"))
  {
    return Err(invalid(format!("`{url}` is not an `https` or `http` URL"), help));
  }
  if matches!(key, "sum.golang.org" | "sum.golang.google.cn") {
    return Ok(());
  }
  let mut parts = key.splitn(3, '+');
  let (name, hash, data) = (parts.next().unwrap_or(""), parts.next(), parts.next());
  let name_ok = !name.is_empty()
    && !name.starts_with(['.', '/', '-'])
    && !name.ends_with('/')
    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._/:".contains(&b));
  if !name_ok {
    return Err(invalid(format!("`{name}` is not a checksum database host"), help));
  }
  match (hash, data) {
    (None, _) => Err(invalid(
      format!("checksum database `{name}` is unknown, so its public key is needed"),
      format!("write `{name}+<hash>+<key>` with the database's verifier key"),
    )),
    (Some(hash), Some(data))
      if hash.len() == 8
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && !data.is_empty()
        && data.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)) =>
    {
      Ok(())
    }
    _ => Err(invalid(format!("`{key}` is not a verifier key `name+hash+key`"), help)),
  }
}

/// The `KEY=VALUE` pairs the go command reads from an env file: lines without
/// `=` or whose first byte is not `A`-`Z` are ignored, values are raw bytes (no
/// quotes, no trimming), and when a key repeats the last line wins (it is kept
/// at that line's position).
pub fn parse_env_file(text: &str) -> Vec<(String, String)> {
  let pairs: Vec<(&str, &str)> = text
    .split('\n')
    .filter(|line| line.starts_with(|c: char| c.is_ascii_uppercase()))
    .filter_map(|line| line.split_once('='))
    .collect();
  pairs
    .iter()
    .enumerate()
    .filter(|(i, (key, _))| !pairs[i + 1..].iter().any(|(k, _)| k == key))
    .map(|(_, (k, v))| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// The key of a `KEY=VALUE` line as `go env -w` sees it (`lineToKey`): empty for
/// lines without `=` or with `#` before it.
fn line_key(line: &str) -> &str {
  match line.split_once('=') {
    Some((key, _)) if !key.contains('#') => key,
    _ => "",
  }
}

/// The env file after `go env -w` of `set` (`updateEnvFile`): duplicate keys keep
/// their last line, set keys replace their line in place or are appended, each
/// run of `KEY=VALUE` lines is sorted by key, other lines stay, and the file ends
/// with a newline. Values are written raw: check them with [`check_write`]
/// first. If `set` names a key twice, the last value wins.
pub fn write_env_file(existing: &str, set: &[(String, String)]) -> String {
  let mut lines: Vec<String> = existing.split_inclusive('\n').map(str::to_owned).collect();
  if let Some(last) = lines.last_mut().filter(|l| !l.ends_with('\n')) {
    last.push('\n');
  }
  // Drop all but the last copy; the dropped lines become empty strings, which
  // (as in go) also separate sorted runs.
  let mut last: Vec<(String, usize)> = Vec::new();
  for i in 0..lines.len() {
    let key = line_key(&lines[i]).to_owned();
    if key.is_empty() {
      continue;
    }
    match last.iter_mut().find(|(k, _)| *k == key) {
      Some((_, at)) => {
        lines[*at].clear();
        *at = i;
      }
      None => last.push((key, i)),
    }
  }
  for (n, (key, value)) in set.iter().enumerate() {
    if set[n + 1..].iter().any(|(k, _)| k == key) {
      continue;
    }
    let line = format!("{key}={value}\n");
    match last.iter().find(|(k, _)| k == key) {
      Some(&(_, at)) => lines[at] = line,
      None => lines.push(line),
    }
  }
  let mut start = 0;
  for i in 0..=lines.len() {
    if i == lines.len() || line_key(&lines[i]).is_empty() {
      lines[start..i].sort_by(|a, b| line_key(a).cmp(line_key(b)));
      start = i + 1;
    }
  }
  lines.concat()
}

#[cfg(test)]
mod tests;
