//! The `GOPROXY` chain: parsing, checking and explaining it.
//!
//! `go env -w` writes any `GOPROXY` string without looking at it (domain.md
//! §3.2), and the go command only complains when a download needs the proxy, so a
//! typo in a playbook would surface much later as a failed `go install` on some
//! host. This module checks the chain up front, entry by entry, with byte ranges
//! so diagnostics can point into the string, and explains chains that parse but
//! do not do what they seem to ([`ProxyChain::warnings`]).
//!
//! The rules follow `cmd/go/internal/modfetch/proxy.go` (`proxyList`,
//! `newProxyRepo`): entries are separated by `,` (fall back on 404/410 only) or
//! `|` (fall back on any error); `off` and `direct` end the list, and the go
//! command ignores everything after them. converge is stricter than the go
//! command in two places: it rejects empty entries and spaces, which go silently
//! skips and trims, and `file:/path`, which go accepts but which converge wants
//! written `file:///path`.

use std::fmt;
use std::ops::Range;

/// One entry of the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyEntry {
  /// A proxy URL, as written (`goproxy.cn` stays without its implied `https://`).
  Url(String),
  /// Fetch from version control.
  Direct,
  /// Forbid downloads.
  Off,
}

impl ProxyEntry {
  fn as_str(&self) -> &str {
    match self {
      ProxyEntry::Url(url) => url,
      ProxyEntry::Direct => "direct",
      ProxyEntry::Off => "off",
    }
  }
}

/// The separator after an entry: when the go command moves on to the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
  /// `,`: only when the proxy answers 404 or 410.
  NotFound,
  /// `|`: on any error, timeouts and 5xx included.
  AnyError,
}

impl Fallback {
  fn as_char(self) -> char {
    match self {
      Fallback::NotFound => ',',
      Fallback::AnyError => '|',
    }
  }
}

/// A parsed `GOPROXY` value. Each entry carries the separator that follows it
/// (`None` for the last).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyChain {
  pub entries: Vec<(ProxyEntry, Option<Fallback>)>,
}

/// What is wrong with one entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProxyErrorKind {
  #[error("empty `GOPROXY` entry")]
  Empty,
  #[error("`GOPROXY` entry `{0}` contains whitespace")]
  Whitespace(String),
  #[error("`{word}` is not a `GOPROXY` keyword")]
  UnknownWord { word: String, suggestion: Option<&'static str> },
  #[error("`GOPROXY` does not support the `{scheme}` scheme")]
  UnsupportedScheme { scheme: String },
  #[error("`GOPROXY` entry `{0}` has no host")]
  MissingHost(String),
  #[error("`{0}` is not an absolute `file:///` URL")]
  FileNotAbsolute(String),
  #[error("`GOPROXY` entry `{0}` is a path, not a URL")]
  BarePath(String),
}

impl ProxyErrorKind {
  /// What an entry was expected to be.
  pub fn reason(&self) -> String {
    match self {
      ProxyErrorKind::Empty => "an entry between every two separators".into(),
      ProxyErrorKind::Whitespace(_) => {
        "an entry without spaces (the go command trims them, converge does not)".into()
      }
      ProxyErrorKind::UnknownWord { .. } => {
        "a URL, `direct` or `off` (a word without `.`, `:` or `/` is taken as a keyword)".into()
      }
      ProxyErrorKind::UnsupportedScheme { .. } | ProxyErrorKind::MissingHost(_) => {
        "a proxy URL with scheme `https`, `http` or `file`".into()
      }
      ProxyErrorKind::FileNotAbsolute(_) | ProxyErrorKind::BarePath(_) => {
        "a `file:///` URL with an absolute path, such as `file:///srv/goproxy`".into()
      }
    }
  }

  /// How to fix it.
  pub fn help(&self) -> String {
    match self {
      ProxyErrorKind::Empty => {
        "remove the doubled or trailing separator: `https://proxy.golang.org,direct`".into()
      }
      ProxyErrorKind::Whitespace(_) => "remove the spaces: `https://proxy.golang.org,direct`".into(),
      ProxyErrorKind::UnknownWord { suggestion: Some(s), .. } => format!("did you mean `{s}`?"),
      ProxyErrorKind::UnknownWord { suggestion: None, .. } => {
        "use `direct` to fetch from version control, `off` to forbid downloads, or a full URL".into()
      }
      ProxyErrorKind::UnsupportedScheme { .. } => {
        "the go command accepts `https://`, `http://` and `file:///` proxies".into()
      }
      ProxyErrorKind::MissingHost(_) => "write the proxy's host, such as `https://proxy.golang.org`".into(),
      ProxyErrorKind::FileNotAbsolute(url) | ProxyErrorKind::BarePath(url) => {
        let path = url.trim_start_matches("file:").trim_start_matches('/');
        format!("write `file:///{path}` (three slashes, then the absolute path)")
      }
    }
  }
}

/// An entry that does not parse, with its byte range in the `GOPROXY` string.
/// The range of an empty entry covers the separators around it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct ProxyError {
  pub kind: ProxyErrorKind,
  pub range: Range<usize>,
}

/// A chain that works, but not the way it may look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxyWarningKind {
  /// Entries after `off` or `direct`: the go command never reads them.
  Unreachable { after: &'static str, count: usize },
  /// A `|` separator: the next entry is tried on any error, not just not-found.
  AnyError { from: String, to: String },
}

/// A warning about a chain, with the byte range it is about in
/// [`ProxyChain::to_goenv`] (which is the parsed string itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyWarning {
  pub kind: ProxyWarningKind,
  pub range: Range<usize>,
}

impl fmt::Display for ProxyWarning {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match &self.kind {
      ProxyWarningKind::Unreachable { after, count: 1 } => {
        write!(f, "the `GOPROXY` entry after `{after}` is never used")
      }
      ProxyWarningKind::Unreachable { after, count } => {
        write!(f, "the {count} `GOPROXY` entries after `{after}` are never used")
      }
      ProxyWarningKind::AnyError { from, to } => {
        write!(f, "`GOPROXY` falls back from `{from}` to `{to}` on any error")
      }
    }
  }
}

impl ProxyWarning {
  /// Why it deserves attention.
  pub fn reason(&self) -> String {
    match &self.kind {
      ProxyWarningKind::Unreachable { after, .. } => {
        format!("the go command stops reading the list at `{after}`")
      }
      ProxyWarningKind::AnyError { .. } => {
        "`|` moves on after any error, timeouts and server errors included, while `,` moves on only after \
         404 or 410"
          .into()
      }
    }
  }

  /// What to do about it.
  pub fn help(&self) -> String {
    match &self.kind {
      ProxyWarningKind::Unreachable { after, .. } => {
        format!("remove the entries after `{after}`, or move them before it")
      }
      ProxyWarningKind::AnyError { .. } => {
        "keep `|` only if falling back on outages is intended; it can also hide a misconfigured proxy, \
         and a private module may leak to the next proxy; otherwise use `,`"
          .into()
      }
    }
  }
}

/// Words that mean "no proxy" in other tools.
const OFF_WORDS: &[&str] = &["none", "no", "false", "disable", "disabled", "never", "0"];
/// Words that mean "straight from the source" in other tools.
const DIRECT_WORDS: &[&str] = &["vcs", "git", "source", "origin", "noproxy"];

fn suggest_keyword(word: &str) -> Option<&'static str> {
  let lower = word.to_ascii_lowercase();
  if OFF_WORDS.contains(&lower.as_str()) {
    return Some("off");
  }
  if DIRECT_WORDS.contains(&lower.as_str()) {
    return Some("direct");
  }
  ["direct", "off"].into_iter().find(|k| strsim::damerau_levenshtein(&lower, k) <= k.len() / 3)
}

/// Checks one entry of the chain.
pub fn validate_entry(entry: &str) -> Result<ProxyEntry, ProxyErrorKind> {
  match entry {
    "" => return Err(ProxyErrorKind::Empty),
    "direct" => return Ok(ProxyEntry::Direct),
    "off" => return Ok(ProxyEntry::Off),
    _ => {}
  }
  if entry.chars().any(char::is_whitespace) {
    return Err(ProxyErrorKind::Whitespace(entry.to_owned()));
  }
  // proxyList: anything containing ":/" must be a full URL; other entries with
  // `.`, `:` or `/` get `https://`; single words are keywords.
  if let Some(colon) = entry.find(":/").filter(|&i| i > 0) {
    let scheme = entry[..colon].to_ascii_lowercase();
    let rest = &entry[colon + 1..];
    return match scheme.as_str() {
      "https" | "http" => match rest.strip_prefix("//") {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(ProxyEntry::Url(entry.to_owned())),
        _ => Err(ProxyErrorKind::MissingHost(entry.to_owned())),
      },
      "file" if rest.starts_with("///") && rest.len() > 3 => Ok(ProxyEntry::Url(entry.to_owned())),
      "file" => Err(ProxyErrorKind::FileNotAbsolute(entry.to_owned())),
      _ => Err(ProxyErrorKind::UnsupportedScheme { scheme: entry[..colon].to_owned() }),
    };
  }
  if entry.starts_with('/') {
    return Err(ProxyErrorKind::BarePath(entry.to_owned()));
  }
  if let Some((scheme, _)) = entry.split_once("://") {
    // `://` at the very start.
    return Err(ProxyErrorKind::UnsupportedScheme { scheme: scheme.to_owned() });
  }
  if !entry.contains(['.', ':', '/']) {
    return Err(ProxyErrorKind::UnknownWord { word: entry.to_owned(), suggestion: suggest_keyword(entry) });
  }
  if entry.starts_with(['.', ':']) {
    return Err(ProxyErrorKind::MissingHost(entry.to_owned()));
  }
  Ok(ProxyEntry::Url(entry.to_owned()))
}

impl ProxyChain {
  /// Parses a `GOPROXY` string such as `https://a|https://b,direct`, reporting
  /// every bad entry.
  pub fn parse(s: &str) -> Result<ProxyChain, Vec<ProxyError>> {
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    let mut start = 0;
    loop {
      let next = s[start..].find([',', '|']).map(|i| start + i);
      let end = next.unwrap_or(s.len());
      let fallback =
        next.map(|i| if s.as_bytes()[i] == b'|' { Fallback::AnyError } else { Fallback::NotFound });
      match validate_entry(&s[start..end]) {
        Ok(entry) => entries.push((entry, fallback)),
        Err(kind) => {
          let range = match kind {
            ProxyErrorKind::Empty => start.saturating_sub(1)..next.map_or(end, |i| i + 1),
            _ => start..end,
          };
          errors.push(ProxyError { kind, range });
        }
      }
      match next {
        Some(i) => start = i + 1,
        None => break,
      }
    }
    if errors.is_empty() { Ok(ProxyChain { entries }) } else { Err(errors) }
  }

  /// The `GOPROXY` string, as parsed.
  pub fn to_goenv(&self) -> String {
    let mut s = String::new();
    for (entry, fallback) in &self.entries {
      s.push_str(entry.as_str());
      if let Some(f) = fallback {
        s.push(f.as_char());
      }
    }
    s
  }

  /// The byte range of each entry in [`ProxyChain::to_goenv`].
  fn ranges(&self) -> Vec<Range<usize>> {
    let mut at = 0;
    let mut ranges = Vec::with_capacity(self.entries.len());
    for (entry, fallback) in &self.entries {
      let len = entry.as_str().len();
      ranges.push(at..at + len);
      at += len + usize::from(fallback.is_some());
    }
    ranges
  }

  /// Things that parse but probably do not do what was meant.
  pub fn warnings(&self) -> Vec<ProxyWarning> {
    let ranges = self.ranges();
    let mut warnings = Vec::new();
    let terminal = self.entries.iter().position(|(e, _)| matches!(e, ProxyEntry::Direct | ProxyEntry::Off));
    // Separators after the terminal entry are never looked at either.
    let pairs = self.entries.windows(2).zip(&ranges);
    for (pair, range) in pairs.take(terminal.unwrap_or(usize::MAX)) {
      if pair[0].1 == Some(Fallback::AnyError) {
        let (from, to) = (pair[0].0.as_str().to_owned(), pair[1].0.as_str().to_owned());
        warnings.push(ProxyWarning {
          kind: ProxyWarningKind::AnyError { from, to },
          range: range.end..range.end + 1,
        });
      }
    }
    if let Some(t) = terminal.filter(|&t| t + 1 < self.entries.len()) {
      let after = if self.entries[t].0 == ProxyEntry::Off { "off" } else { "direct" };
      let count = self.entries.len() - t - 1;
      let (first, last) = (&ranges[t + 1], &ranges[ranges.len() - 1]);
      warnings.push(ProxyWarning {
        kind: ProxyWarningKind::Unreachable { after, count },
        range: first.start..last.end,
      });
    }
    warnings
  }
}

#[cfg(test)]
#[allow(clippy::type_complexity)]
mod tests {
  use super::*;
  use Fallback::{AnyError, NotFound};
  use ProxyEntry::{Direct, Off};

  fn url(s: &str) -> ProxyEntry {
    ProxyEntry::Url(s.to_owned())
  }

  #[test]
  fn validates_entries() {
    let s = String::from;
    let cases: Vec<(&str, Result<ProxyEntry, ProxyErrorKind>)> = vec![
      ("direct", Ok(Direct)),
      ("off", Ok(Off)),
      ("https://proxy.golang.org", Ok(url("https://proxy.golang.org"))),
      ("http://10.0.0.1:3000/go", Ok(url("http://10.0.0.1:3000/go"))),
      ("HTTPS://Proxy.Example", Ok(url("HTTPS://Proxy.Example"))),
      ("file:///tmp/fproxy", Ok(url("file:///tmp/fproxy"))),
      ("goproxy.cn", Ok(url("goproxy.cn"))),
      ("localhost:3000", Ok(url("localhost:3000"))),
      ("athens.corp/go", Ok(url("athens.corp/go"))),
      ("", Err(ProxyErrorKind::Empty)),
      ("https://a b", Err(ProxyErrorKind::Whitespace(s("https://a b")))),
      (" direct", Err(ProxyErrorKind::Whitespace(s(" direct")))),
      ("ftp://mirror", Err(ProxyErrorKind::UnsupportedScheme { scheme: s("ftp") })),
      ("git+ssh://x", Err(ProxyErrorKind::UnsupportedScheme { scheme: s("git+ssh") })),
      ("://x", Err(ProxyErrorKind::UnsupportedScheme { scheme: s("") })),
      ("https://", Err(ProxyErrorKind::MissingHost(s("https://")))),
      ("https:///path", Err(ProxyErrorKind::MissingHost(s("https:///path")))),
      ("https:/x", Err(ProxyErrorKind::MissingHost(s("https:/x")))),
      (".example", Err(ProxyErrorKind::MissingHost(s(".example")))),
      ("file:/tmp/p", Err(ProxyErrorKind::FileNotAbsolute(s("file:/tmp/p")))),
      ("file://tmp/p", Err(ProxyErrorKind::FileNotAbsolute(s("file://tmp/p")))),
      ("file:///", Err(ProxyErrorKind::FileNotAbsolute(s("file:///")))),
      ("/srv/goproxy", Err(ProxyErrorKind::BarePath(s("/srv/goproxy")))),
      ("Direct", Err(ProxyErrorKind::UnknownWord { word: s("Direct"), suggestion: Some("direct") })),
      ("drect", Err(ProxyErrorKind::UnknownWord { word: s("drect"), suggestion: Some("direct") })),
      ("OFF", Err(ProxyErrorKind::UnknownWord { word: s("OFF"), suggestion: Some("off") })),
      ("none", Err(ProxyErrorKind::UnknownWord { word: s("none"), suggestion: Some("off") })),
      ("noproxy", Err(ProxyErrorKind::UnknownWord { word: s("noproxy"), suggestion: Some("direct") })),
      ("proxy", Err(ProxyErrorKind::UnknownWord { word: s("proxy"), suggestion: None })),
    ];
    for (input, want) in cases {
      assert_eq!(validate_entry(input), want, "{input:?}");
    }
  }

  #[test]
  fn parses_chains_and_renders_them_back() {
    let cases = [
      (
        "https://proxy.golang.org,direct",
        vec![(url("https://proxy.golang.org"), Some(NotFound)), (Direct, None)],
      ),
      (
        "https://a|https://b,direct",
        vec![(url("https://a"), Some(AnyError)), (url("https://b"), Some(NotFound)), (Direct, None)],
      ),
      ("off", vec![(Off, None)]),
      ("goproxy.cn|direct", vec![(url("goproxy.cn"), Some(AnyError)), (Direct, None)]),
    ];
    for (input, entries) in cases {
      let chain = ProxyChain::parse(input);
      assert_eq!(chain, Ok(ProxyChain { entries }), "{input}");
      assert_eq!(chain.map(|c| c.to_goenv()).ok().as_deref(), Some(input));
    }
  }

  #[test]
  fn reports_every_bad_entry_with_its_range() {
    let cases: Vec<(&str, Vec<(ProxyErrorKind, Range<usize>)>)> = vec![
      ("", vec![(ProxyErrorKind::Empty, 0..0)]),
      ("a.b,,direct", vec![(ProxyErrorKind::Empty, 3..5)]),
      ("a.b,", vec![(ProxyErrorKind::Empty, 3..4)]),
      ("|a.b", vec![(ProxyErrorKind::Empty, 0..1)]),
      (
        "ftp://x,https://ok|Direct",
        vec![
          (ProxyErrorKind::UnsupportedScheme { scheme: "ftp".into() }, 0..7),
          (ProxyErrorKind::UnknownWord { word: "Direct".into(), suggestion: Some("direct") }, 19..25),
        ],
      ),
    ];
    for (input, want) in cases {
      let want: Vec<ProxyError> = want.into_iter().map(|(kind, range)| ProxyError { kind, range }).collect();
      assert_eq!(ProxyChain::parse(input), Err(want), "{input:?}");
    }
  }

  #[test]
  fn warns_about_surprising_chains() {
    use ProxyWarningKind::{AnyError as Any, Unreachable};
    let cases: Vec<(&str, Vec<(ProxyWarningKind, Range<usize>)>)> = vec![
      ("https://proxy.golang.org,direct", vec![]),
      ("https://a,off", vec![]),
      ("off,https://a", vec![(Unreachable { after: "off", count: 1 }, 4..13)]),
      ("https://a,direct,https://b|https://c", vec![(Unreachable { after: "direct", count: 2 }, 17..36)]),
      ("https://a|https://b", vec![(Any { from: "https://a".into(), to: "https://b".into() }, 9..10)]),
      (
        "https://a|direct|https://b",
        vec![
          (Any { from: "https://a".into(), to: "direct".into() }, 9..10),
          (Unreachable { after: "direct", count: 1 }, 17..26),
        ],
      ),
    ];
    for (input, want) in cases {
      let want: Vec<ProxyWarning> =
        want.into_iter().map(|(kind, range)| ProxyWarning { kind, range }).collect();
      assert_eq!(ProxyChain::parse(input).map(|c| c.warnings()), Ok(want), "{input}");
    }
  }

  #[test]
  fn messages_are_lowercase_with_help() {
    let errors = ["", "a b", "Direct", "ftp://x", "https://", "file:/x", "/x", "proxy"];
    for input in errors {
      let kind = validate_entry(input).err();
      let texts = kind.map(|k| [k.to_string(), k.reason(), k.help()]).unwrap_or_default();
      for text in texts {
        assert!(text.starts_with(|c: char| c.is_lowercase() || c == '`'), "{input:?}: {text}");
      }
    }
    let help = validate_entry("file:/srv/p").err().map(|k| k.help()).unwrap_or_default();
    assert!(help.contains("`file:///srv/p`"), "{help}");
    let warnings = ProxyChain::parse("https://a|off,x.y").map(|c| c.warnings()).unwrap_or_default();
    let texts: Vec<String> =
      warnings.iter().map(|w| format!("{w} / {} / {}", w.reason(), w.help())).collect();
    assert_eq!(texts.len(), 2);
    assert!(texts[0].contains("any error") && texts[0].contains("timeouts"), "{}", texts[0]);
    assert!(texts[1].starts_with("the `GOPROXY` entry after `off` is never used"), "{}", texts[1]);
  }
}
