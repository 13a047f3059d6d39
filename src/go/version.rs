//! Go release versions, and the version strings that hosts report.
//!
//! Playbooks pin the Go toolchain to a release (`go 1.22.5`), and converge turns
//! that pin into a tarball name, compares it with what `go version` prints on the
//! host, and checks `GOTOOLCHAIN` values against it. Go numbers releases in two
//! schemes (go.dev/doc/toolchain "Go versions"): before 1.21 the first release of
//! a minor version is `1.20` and fixes are `1.20.1`; from 1.21 on it is `1.21.0`.
//! [`GoVersion`] accepts exactly the spellings of real releases and
//! prereleases in both schemes, so a pin that names no release fails at check time
//! rather than as a download error on the host.
//!
//! Kernel and other dotted release strings are compared with [`release_key`] and
//! [`compare_releases`].

use std::cmp::Ordering;
use std::fmt;

/// The kind of a prerelease, in release order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PreKind {
  Beta,
  Rc,
}

impl PreKind {
  fn as_str(self) -> &'static str {
    match self {
      PreKind::Beta => "beta",
      PreKind::Rc => "rc",
    }
  }
}

/// A Go release or prerelease, such as `go1.22.5`, `go1.20` or `go1.23rc1`.
///
/// Only canonical spellings parse (`1.20.0` and `1.21` name no release), so two
/// values are equal exactly when they name the same release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GoVersion {
  major: u64,
  minor: u64,
  /// `None` for `1.20` (pre-1.21 scheme) and for prereleases.
  patch: Option<u64>,
  pre: Option<(PreKind, u64)>,
}

/// Why a string is not a Go release version.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GoVersionError {
  #[error("empty go version")]
  Empty,
  #[error("go version `{0}` contains whitespace")]
  Whitespace(String),
  #[error("go version `{input}` starts with `v`")]
  VPrefix { input: String, suggestion: String },
  #[error("`{0}` is not a pinned go version")]
  Floating(String),
  #[error("`{0}` is a development build, not a release")]
  Devel(String),
  #[error("go version `{0}` has no minor version")]
  MissingMinor(String),
  #[error("go version `{0}` has more than three numbers")]
  TooManyComponents(String),
  #[error("`{input}` is a language version, not a release")]
  MissingPatch { input: String, suggestion: String },
  #[error("go release `{input}` does not exist")]
  ZeroPatch { input: String, suggestion: String },
  #[error("`{0}` is not a go version")]
  Malformed(String),
}

impl GoVersionError {
  /// What a version was expected to look like.
  pub fn reason(&self) -> String {
    match self {
      GoVersionError::MissingPatch { .. } => {
        "a release: from go 1.21 on, releases have three numbers and start at `X.Y.0`".into()
      }
      GoVersionError::ZeroPatch { .. } => {
        "a release: before go 1.21, the first release of a minor version has no `.0`".into()
      }
      GoVersionError::Floating(_) => "a fixed release such as `1.22.5`, not a moving name".into(),
      _ => "a go release such as `1.22.5`, `go1.22.5`, `1.20` or `1.23rc1`".into(),
    }
  }

  /// How to fix it.
  pub fn help(&self) -> String {
    match self {
      GoVersionError::Empty => "write a release such as `1.22.5`".into(),
      GoVersionError::Whitespace(_) => "remove the spaces: write `1.22.5` or `go1.22.5`".into(),
      GoVersionError::VPrefix { suggestion, .. } => {
        format!("go releases have no `v` (that is the module version style): write `{suggestion}`")
      }
      GoVersionError::Floating(_) => "versions are pinned so that runs are repeatable: write the release \
                                      you want, such as `1.22.5` (see https://go.dev/dl/)"
        .into(),
      GoVersionError::Devel(_) => "converge installs official releases only: pin one such as `1.22.5`".into(),
      GoVersionError::MissingMinor(input) => format!("write the minor version too, such as `{input}.22.5`"),
      GoVersionError::TooManyComponents(_) => {
        "go releases have at most three numbers, such as `1.22.5`".into()
      }
      GoVersionError::MissingPatch { suggestion, .. } | GoVersionError::ZeroPatch { suggestion, .. } => {
        format!("did you mean `{suggestion}`?")
      }
      GoVersionError::Malformed(_) => {
        "write `MAJOR.MINOR.PATCH` (`1.22.5`), optionally with `go` in front; prereleases are `1.23rc1`"
          .into()
      }
    }
  }
}

/// Parses digits with no sign and no leading zero.
fn number(s: &str) -> Option<u64> {
  let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
  if ok { s.parse().ok() } else { None }
}

impl GoVersion {
  /// Parses `1.22.5`, `go1.22.5`, `1.20`, `1.21rc1` or `go1.23beta2`.
  pub fn parse(s: &str) -> Result<GoVersion, GoVersionError> {
    let malformed = || GoVersionError::Malformed(s.to_owned());
    if s.is_empty() {
      return Err(GoVersionError::Empty);
    }
    if s.chars().any(char::is_whitespace) {
      return Err(GoVersionError::Whitespace(s.to_owned()));
    }
    let lower = s.to_ascii_lowercase();
    if ["latest", "stable", "tip", "master", "current", "newest"].contains(&lower.as_str()) {
      return Err(GoVersionError::Floating(s.to_owned()));
    }
    if lower.starts_with("devel") || lower.starts_with("godevel") {
      return Err(GoVersionError::Devel(s.to_owned()));
    }
    let rest = s.strip_prefix("go").unwrap_or(s);
    if let Some(after_v) =
      rest.strip_prefix(['v', 'V']).filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
    {
      return Err(GoVersionError::VPrefix { input: s.to_owned(), suggestion: after_v.to_owned() });
    }
    let (numbers, pre) = match rest.find(|c: char| c.is_ascii_alphabetic()) {
      Some(i) => (&rest[..i], Some(&rest[i..])),
      None => (rest, None),
    };
    let pre = match pre {
      None => None,
      Some(p) => {
        let (kind, n) = if let Some(n) = p.strip_prefix("beta") {
          (PreKind::Beta, n)
        } else if let Some(n) = p.strip_prefix("rc") {
          (PreKind::Rc, n)
        } else {
          return Err(malformed());
        };
        Some((kind, number(n).filter(|&n| n > 0).ok_or_else(malformed)?))
      }
    };
    let parts: Vec<&str> = numbers.split('.').collect();
    if parts.len() > 3 {
      return Err(GoVersionError::TooManyComponents(s.to_owned()));
    }
    let nums: Vec<u64> = parts.iter().map(|p| number(p)).collect::<Option<_>>().ok_or_else(malformed)?;
    let (major, minor, patch) = match nums[..] {
      [_] => return Err(GoVersionError::MissingMinor(s.to_owned())),
      [major, minor] => (major, minor, None),
      [major, minor, patch] if pre.is_none() => (major, minor, Some(patch)),
      _ => return Err(malformed()),
    };
    if major == 0 {
      return Err(malformed());
    }
    let prefix = if s.starts_with("go") { "go" } else { "" };
    let new_scheme = (major, minor) >= (1, 21);
    if new_scheme && patch.is_none() && pre.is_none() {
      return Err(GoVersionError::MissingPatch {
        input: s.to_owned(),
        suggestion: format!("{prefix}{major}.{minor}.0"),
      });
    }
    if !new_scheme && patch == Some(0) {
      return Err(GoVersionError::ZeroPatch {
        input: s.to_owned(),
        suggestion: format!("{prefix}{major}.{minor}"),
      });
    }
    Ok(GoVersion { major, minor, patch, pre })
  }

  pub fn major(&self) -> u64 {
    self.major
  }

  pub fn minor(&self) -> u64 {
    self.minor
  }

  /// The patch number; `0` for `1.20` and for prereleases.
  pub fn patch(&self) -> u64 {
    self.patch.unwrap_or(0)
  }

  pub fn is_prerelease(&self) -> bool {
    self.pre.is_some()
  }

  /// The version without `go`: `1.22.5`, `1.20`, `1.23rc1`.
  pub fn number(&self) -> String {
    let mut s = format!("{}.{}", self.major, self.minor);
    if let Some(patch) = self.patch {
      s.push_str(&format!(".{patch}"));
    }
    if let Some((kind, n)) = self.pre {
      s.push_str(&format!("{}{n}", kind.as_str()));
    }
    s
  }

  /// The official Linux archive: `go1.22.5.linux-amd64.tar.gz`. GOARCH `arm` is
  /// published as `armv6l`.
  pub fn tarball_name(&self, goarch: &str) -> String {
    let arch = if goarch == "arm" { "armv6l" } else { goarch };
    format!("{self}.linux-{arch}.tar.gz")
  }

  /// Release order: prereleases (beta, then rc) come before their release.
  fn order_key(&self) -> (u64, u64, u8, u64) {
    match self.pre {
      Some((PreKind::Beta, n)) => (self.major, self.minor, 0, n),
      Some((PreKind::Rc, n)) => (self.major, self.minor, 1, n),
      None => (self.major, self.minor, 2, self.patch()),
    }
  }
}

impl fmt::Display for GoVersion {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "go{}", self.number())
  }
}

impl Ord for GoVersion {
  fn cmp(&self, other: &Self) -> Ordering {
    self.order_key().cmp(&other.order_key())
  }
}

impl PartialOrd for GoVersion {
  fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
    Some(self.cmp(other))
  }
}

/// The leading numeric components of a dotted release string:
/// `6.1.0-28-amd64` → `[6, 1, 0]`, `5.10` → `[5, 10]`, `abc` → `[]`.
pub fn release_key(s: &str) -> Vec<u64> {
  let end = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
  s[..end].split('.').map_while(|p| p.parse().ok()).collect()
}

/// Compares two release strings by [`release_key`], padding the shorter with
/// zeros, so `5.10` equals `5.10.0` and is older than `6.1`.
pub fn compare_releases(a: &str, b: &str) -> Ordering {
  let (a, b) = (release_key(a), release_key(b));
  let len = a.len().max(b.len());
  let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
  (0..len).map(|i| at(&a, i).cmp(&at(&b, i))).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
}

/// Parses `go version` output, `go version go1.27.3 linux/amd64` (optionally
/// with ` X:exp` after the version), into (version, GOOS, GOARCH). Development
/// builds (`devel ...`) and anything else give `None`.
pub fn parse_go_version_output(output: &str) -> Option<(String, String, String)> {
  let words: Vec<&str> = output.trim().strip_prefix("go version ")?.split_whitespace().collect();
  let (version, platform) = match words[..] {
    [version, platform] => (version, platform),
    [version, experiments, platform] if experiments.starts_with("X:") => (version, platform),
    _ => return None,
  };
  let (goos, goarch) = platform.split_once('/')?;
  if goos.is_empty() || goarch.is_empty() || goarch.contains('/') || !version.starts_with("go") {
    return None;
  }
  Some((version.to_owned(), goos.to_owned(), goarch.to_owned()))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn parses_release_spellings() {
    let cases = [
      ("1.22.5", "1.22.5", "go1.22.5"),
      ("go1.22.5", "1.22.5", "go1.22.5"),
      ("1.21.0", "1.21.0", "go1.21.0"),
      ("1.20", "1.20", "go1.20"),
      ("1.19.13", "1.19.13", "go1.19.13"),
      ("1.21rc1", "1.21rc1", "go1.21rc1"),
      ("go1.23beta2", "1.23beta2", "go1.23beta2"),
      ("1.20rc3", "1.20rc3", "go1.20rc3"),
      ("1.27.10", "1.27.10", "go1.27.10"),
    ];
    for (input, number, display) in cases {
      let v = GoVersion::parse(input);
      assert_eq!(v.as_ref().map(GoVersion::number).ok(), Some(number.to_owned()), "{input}");
      assert_eq!(v.map(|v| v.to_string()).ok(), Some(display.to_owned()), "{input}");
    }
  }

  #[test]
  fn rejects_what_names_no_release() {
    let s = String::from;
    let cases = [
      ("", GoVersionError::Empty),
      ("1", GoVersionError::MissingMinor(s("1"))),
      ("go1", GoVersionError::MissingMinor(s("go1"))),
      ("1.22.5.1", GoVersionError::TooManyComponents(s("1.22.5.1"))),
      ("v1.22.5", GoVersionError::VPrefix { input: s("v1.22.5"), suggestion: s("1.22.5") }),
      ("latest", GoVersionError::Floating(s("latest"))),
      ("Stable", GoVersionError::Floating(s("Stable"))),
      ("1.x", GoVersionError::Malformed(s("1.x"))),
      (" 1.22.5", GoVersionError::Whitespace(s(" 1.22.5"))),
      ("1.22. 5", GoVersionError::Whitespace(s("1.22. 5"))),
      ("devel", GoVersionError::Devel(s("devel"))),
      ("devel+abc", GoVersionError::Devel(s("devel+abc"))),
      ("1.21", GoVersionError::MissingPatch { input: s("1.21"), suggestion: s("1.21.0") }),
      ("go1.23", GoVersionError::MissingPatch { input: s("go1.23"), suggestion: s("go1.23.0") }),
      ("1.20.0", GoVersionError::ZeroPatch { input: s("1.20.0"), suggestion: s("1.20") }),
      ("1.21.0rc1", GoVersionError::Malformed(s("1.21.0rc1"))),
      ("1.21rc0", GoVersionError::Malformed(s("1.21rc0"))),
      ("1.21alpha1", GoVersionError::Malformed(s("1.21alpha1"))),
      ("1.21rc", GoVersionError::Malformed(s("1.21rc"))),
      ("1.022.5", GoVersionError::Malformed(s("1.022.5"))),
      ("1..5", GoVersionError::Malformed(s("1..5"))),
      ("1.22.", GoVersionError::Malformed(s("1.22."))),
      ("0.1.0", GoVersionError::Malformed(s("0.1.0"))),
      ("go", GoVersionError::Malformed(s("go"))),
      ("-1.22.5", GoVersionError::Malformed(s("-1.22.5"))),
    ];
    for (input, want) in cases {
      assert_eq!(GoVersion::parse(input), Err(want), "{input}");
    }
  }

  #[test]
  fn errors_explain_and_help() {
    let cases = [
      ("v1.22.5", "`1.22.5`"),
      ("latest", "pinned so that runs are repeatable"),
      ("1.21", "did you mean `1.21.0`?"),
      ("1.20.0", "did you mean `1.20`?"),
      ("1", "`1.22.5`"),
    ];
    for (input, help) in cases {
      let err = GoVersion::parse(input).err();
      let text = err.as_ref().map(GoVersionError::help).unwrap_or_default();
      assert!(text.contains(help), "{input}: {text}");
      let reason = err.map(|e| e.reason()).unwrap_or_default();
      assert!(!reason.is_empty() && reason.starts_with(char::is_lowercase), "{input}: {reason}");
    }
  }

  #[test]
  fn orders_prereleases_before_releases() {
    let ordered =
      ["1.19", "1.19.1", "1.20beta1", "1.20rc1", "1.20rc2", "1.20", "1.20.1", "1.21rc1", "1.21.0"];
    let parsed: Vec<GoVersion> = ordered.iter().filter_map(|s| GoVersion::parse(s).ok()).collect();
    assert_eq!(parsed.len(), ordered.len());
    for pair in parsed.windows(2) {
      assert!(pair[0] < pair[1], "{} < {}", pair[0], pair[1]);
    }
    assert_eq!(GoVersion::parse("go1.22.5"), GoVersion::parse("1.22.5"));
  }

  #[test]
  fn tarball_names() {
    let cases = [
      ("1.22.5", "amd64", "go1.22.5.linux-amd64.tar.gz"),
      ("1.22.5", "arm", "go1.22.5.linux-armv6l.tar.gz"),
      ("1.20", "arm64", "go1.20.linux-arm64.tar.gz"),
      ("1.23rc1", "386", "go1.23rc1.linux-386.tar.gz"),
    ];
    for (version, arch, want) in cases {
      let got = GoVersion::parse(version).map(|v| v.tarball_name(arch));
      assert_eq!(got, Ok(want.to_owned()));
    }
  }

  #[test]
  fn release_keys_and_comparison() {
    let keys: [(&str, &[u64]); 6] = [
      ("6.1.0-28-amd64", &[6, 1, 0]),
      ("5.10", &[5, 10]),
      ("4.18.0-513.el8.x86_64", &[4, 18, 0]),
      ("6.8.0+", &[6, 8, 0]),
      ("abc", &[]),
      ("", &[]),
    ];
    for (input, want) in keys {
      assert_eq!(release_key(input), want, "{input}");
    }
    let cmps = [
      ("5.10", "5.10.0", Ordering::Equal),
      ("5.10", "6.1", Ordering::Less),
      ("5.9", "5.10", Ordering::Less),
      ("6.1.0-28-amd64", "6.1", Ordering::Equal),
      ("6.1.1", "6.1", Ordering::Greater),
    ];
    for (a, b, want) in cmps {
      assert_eq!(compare_releases(a, b), want, "{a} vs {b}");
    }
  }

  #[test]
  fn parses_go_version_output() {
    let own = |v: &str, os: &str, arch: &str| Some((v.to_owned(), os.to_owned(), arch.to_owned()));
    let cases = [
      ("go version go1.27.3 linux/amd64\n", own("go1.27.3", "linux", "amd64")),
      ("go version go1.22.5 X:rangefunc linux/arm64", own("go1.22.5", "linux", "arm64")),
      ("go version go1.19.8 linux/arm", own("go1.19.8", "linux", "arm")),
      ("go version devel go1.24-abc Tue Jan 1 00:00:00 2025 +0000 linux/amd64", None),
      ("go version go1.22.5 linux", None),
      ("go version go1.22.5 Y:x linux/amd64", None),
      ("bash: go: command not found", None),
      ("", None),
    ];
    for (input, want) in cases {
      assert_eq!(parse_go_version_output(input), want, "{input}");
    }
  }
}
