//! Diagnostics: what converge says about bad input.
//!
//! A [`Diagnostic`] has a stable [`Code`], a message, labelled spans (the first
//! is the primary one) and an optional help line. Library code only builds them;
//! `main` decides how to print them (miette's graphical report for people, JSON
//! for editors and CI), so nothing deep in the code prints.

use crate::source::{Sources, Span};
use serde::Serialize;

/// How bad a diagnostic is. Errors make `converge check` exit 1; warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
  Error,
  Warning,
}

macro_rules! codes {
  ($($variant:ident = $code:literal, $severity:ident, $title:literal;)*) => {
    /// Every diagnostic converge can emit. The code string of each is stable: it
    /// is printed, documented in the book's diagnostics reference, and matched by
    /// tools. Never reuse a retired code.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Code { $($variant,)* }

    impl Code {
      pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

      pub fn as_str(self) -> &'static str {
        match self { $(Code::$variant => $code,)* }
      }

      pub fn severity(self) -> Severity {
        match self { $(Code::$variant => Severity::$severity,)* }
      }

      /// A one-line description, used in the book's table of codes.
      pub fn title(self) -> &'static str {
        match self { $(Code::$variant => $title,)* }
      }
    }
  };
}

codes! {
  Syntax = "E100", Error, "the text does not follow the grammar";
  YamlHabit = "E101", Error, "a YAML `key: value` pair where `key = value` was meant";
  SingleQuotes = "E102", Error, "a string in single quotes";
  UnquotedPath = "E103", Error, "an unquoted shell path or variable";
  UnquotedDecimal = "E104", Error, "an unquoted number with a dot, such as a version";
  Io = "E105", Error, "a file could not be read";
  NoPlaybook = "E106", Error, "no playbook was given and none was found";
  UnknownStatement = "E200", Error, "a statement or resource kind that does not exist";
  UnknownAttribute = "E201", Error, "an attribute that the statement does not take";
  MissingAttribute = "E202", Error, "a required attribute or label is missing";
  WrongType = "E203", Error, "a value of the wrong type";
  DuplicateAttribute = "E204", Error, "an attribute given twice";
  Shape = "E205", Error, "a statement with parts it does not take";
  NotAllowedHere = "E206", Error, "a statement in a place where it has no meaning";
  InvalidEscape = "E207", Error, "a string escape that does not exist";
  ConnectionPlugin = "E260", Error, "an `ansible_connection` converge cannot use (only ssh and local)";
  ConnectionPort = "E261", Error, "an `ansible_port` or `ansible_ssh_port` that is not a port";
  SshArgs = "E262", Error, "an `ansible_ssh_common_args` or `ansible_ssh_extra_args` option converge cannot honour";
  UndefinedInventoryGroup = "E230", Error, "an inventory `:vars` or `:children` section that names an undefined group";
  GroupPriority = "E231", Error, "an `ansible_group_priority` that is not a whole number";
  ConnectionTemplate = "E232", Error, "a templated connection variable that cannot be rendered for its host";
  InventoryYaml = "E233", Error, "a YAML inventory or vars file that Ansible would skip in part or cannot read";
  InventoryScript = "E234", Error, "a dynamic inventory script that fails or prints no usable inventory";
  UndefinedVariable = "E300", Error, "a template uses a variable that is not defined";
  UndefinedTarget = "E301", Error, "a host or group that the inventory does not define";
  DuplicateName = "E302", Error, "two resources with the same name for one host";
  UnknownReference = "E303", Error, "`after` or `notify` names no resource or handler";
  OrderingCycle = "E304", Error, "explicit ordering forms a cycle";
  TemplateSyntax = "E305", Error, "a template that minijinja cannot parse";
  UnknownFact = "E306", Error, "a fact that converge does not gather";
  DuplicateDefinition = "E307", Error, "a host, group or variable defined twice";
  GroupCycle = "E308", Error, "groups that contain each other";
  TemplateRender = "E309", Error, "a template that fails when rendered";
  FactInPath = "E310", Error, "a path on the host that uses facts, which are gathered only after paths are read";
  GoVersion = "E400", Error, "not a Go release version";
  Sha256 = "E401", Error, "a sha256 that is not 64 hexadecimal digits";
  GoProxy = "E402", Error, "an entry that GOPROXY does not accept";
  GoEnvReadOnly = "E403", Error, "a variable that `go env -w` refuses to write";
  GoEnvUnknown = "E404", Error, "a name that is not a Go environment variable";
  GoEnvValue = "E405", Error, "a value that `go env -w` or the go command rejects";
  ModulePath = "E406", Error, "a Go tool given by a bad module path or version";
  ExportName = "E407", Error, "a name that cannot be an environment variable";
  ExportWithoutValue = "E408", Error, "`export NAME` without a value";
  SysctlKey = "E409", Error, "not a sysctl key";
  FileMode = "E410", Error, "a file mode, owner or state that is not valid";
  Assertion = "E411", Error, "an assertion that cannot be evaluated";
  SelinuxType = "E412", Error, "not an SELinux type";
  RelativePath = "E413", Error, "a relative path where an absolute one is needed";
  Inventory = "E414", Error, "an inventory entry that cannot be read";
  Port = "E415", Error, "a port outside 1-65535";
  HostName = "E416", Error, "a host name or address that is neither a DNS name nor an IP address";
  UserName = "E417", Error, "a login user that is not a POSIX user name";
  ExportValue = "E420", Error, "a value that some consumer would run, expand or read differently";
  SysctlValue = "E421", Error, "a sysctl value that its key or sysctl.d cannot take";
  GoExportOverrides = "W500", Warning, "a shell export of a Go variable overrides `go env -w`";
  ProxyAnyError = "W501", Warning, "GOPROXY falls back on any error, not only on not-found";
  ProxyUnreachable = "W502", Warning, "GOPROXY entries after `off` or `direct` are never used";
  SumdbOff = "W503", Warning, "GOSUMDB=off turns off checksum verification for every module";
  PathAppendGo = "W504", Warning, "appending a Go bin directory lets an older distro `go` win";
  GoTargetInGoEnv = "W505", Warning, "GOOS or GOARCH in the go env file changes every build and `go install` on the host";
  NoProxyForAll = "W506", Warning, "GONOPROXY or GOPRIVATE matches every module, so no proxy is ever used";
  ProxyDirectOnly = "W507", Warning, "`proxy [direct]` alone: every module is fetched from its origin";
  HttpProxyOnly = "W508", Warning, "HTTP_PROXY without HTTPS_PROXY: GOPROXY's https URLs bypass the proxy";
  NoProxyMissesPrivate = "W509", Warning, "NO_PROXY does not cover a GOPRIVATE host, so private fetches go through the proxy";
  GopathMode = "W510", Warning, "GO111MODULE=off or auto puts the go command in GOPATH mode";
  ToolchainDownload = "W511", Warning, "GOTOOLCHAIN=auto with no proxy to download a toolchain from";
  SettingContradicts = "W512", Warning, "a VS Code setting contradicts a Go setting declared elsewhere";
  ClientOnlySetting = "W513", Warning, "a VS Code client setting in the server's machine settings, where it does nothing";
  UnknownGoSetting = "W514", Warning, "a `go.*` VS Code setting the Go extension does not have";
  SettingOtherGo = "W515", Warning, "a VS Code Go path that is missing or is another Go than the declared toolchain";
  ToolMisfitsGo = "W516", Warning, "a gopls or dlv release that does not fit the declared Go toolchain";
  Unsupported = "E600", Error, "a resource kind this build cannot plan or apply";
  AssertionFailed = "E601", Error, "a host fact does not satisfy an `assert`";
  HostLacks = "E602", Error, "the host lacks what the resource manages (a sysctl key, a command)";
  ControllerFile = "E603", Error, "a file on the controller could not be read";
  Facts = "E604", Error, "facts could not be gathered from the host";
  GoEnvFile = "E605", Error, "the host's go reads no go env file that converge can write (GOENV)";
  BlockDamaged = "E606", Error, "a managed block whose marker lines in the host's file do not pair up";
  HostRefused = "E700", Error, "a host's settings do not let converge reach it this way";
  HostUnreachable = "E701", Error, "the host could not be reached: connection, host key or authentication";
  HostLost = "E702", Error, "the host stopped answering during the run";
  HostAssertion = "E703", Error, "an `assert` failed, so nothing else runs on the host";
  HostStale = "E704", Error, "the host changed since the plan was made; nothing was changed";
  HostLockBusy = "E705", Error, "another converge run holds the host's lock";
  HostNoFlock = "E706", Error, "the host has no flock(1) to take converge's lock";
  HostStateDir = "E707", Error, "converge's state directory on the host cannot be written";
  HostApplyEnded = "E708", Error, "the apply script ended before its end marker";
  HostLedger = "E709", Error, "the host's ledger could not be written";
  HostTransport = "E710", Error, "running the apply on the host failed (timeout, broken channel)";
  ControllerLedger = "W711", Warning, "the controller's copy of a host's ledger could not be written";
  RunLock = "E720", Error, "the controller's run lock or state directory is not available";
  SavedPlanUnusable = "E721", Error, "a saved plan that cannot be read or no longer fits the playbooks";
  PullFailed = "E722", Error, "pull mode could not update its checkout of the playbooks";
  LimitSelectsNothing = "E723", Error, "`--limit` is invalid or selects no host the playbooks target";
  SettingsConflict = "E724", Error, "command-line settings that do not fit together or name a missing path";
  SshConfig = "E725", Error, "the SSH client configuration could not be read";
  OutputFile = "E726", Error, "a file the run writes (plan, report, metrics) could not be written";
}

/// A labelled span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
  pub span: Span,
  pub text: String,
}

/// One problem found in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
  pub code: Code,
  pub message: String,
  /// The first label is the primary one; it decides the reported line and column.
  pub labels: Vec<Label>,
  pub help: Option<String>,
}

impl Diagnostic {
  pub fn new(code: Code, message: impl Into<String>) -> Self {
    Self { code, message: message.into(), labels: Vec::new(), help: None }
  }

  pub fn label(mut self, span: Span, text: impl Into<String>) -> Self {
    self.labels.push(Label { span, text: text.into() });
    self
  }

  pub fn help(mut self, help: impl Into<String>) -> Self {
    self.help = Some(help.into());
    self
  }

  pub fn severity(&self) -> Severity {
    self.code.severity()
  }

  pub fn is_error(&self) -> bool {
    self.severity() == Severity::Error
  }

  pub fn primary(&self) -> Option<Span> {
    self.labels.first().map(|l| l.span)
  }
}

/// Everything found in one run, in the order found.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
  items: Vec<Diagnostic>,
  /// (code, message, primary span) of every item, so that a run with one
  /// diagnostic per host of a large inventory stays linear.
  seen: std::collections::HashSet<(Code, String, Option<Span>)>,
}

impl Diagnostics {
  pub fn new() -> Self {
    Self::default()
  }

  /// Adds a diagnostic unless the same one (code, message, primary span) is there.
  pub fn push(&mut self, diagnostic: Diagnostic) {
    if self.seen.insert((diagnostic.code, diagnostic.message.clone(), diagnostic.primary())) {
      self.items.push(diagnostic);
    }
  }

  pub fn extend(&mut self, other: Diagnostics) {
    for d in other.items {
      self.push(d);
    }
  }

  pub fn has_errors(&self) -> bool {
    self.items.iter().any(Diagnostic::is_error)
  }

  pub fn error_count(&self) -> usize {
    self.items.iter().filter(|d| d.is_error()).count()
  }

  pub fn warning_count(&self) -> usize {
    self.items.len() - self.error_count()
  }

  pub fn is_empty(&self) -> bool {
    self.items.is_empty()
  }

  pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
    self.items.iter()
  }

  /// Sorted by file and position, errors and warnings interleaved as in the text.
  pub fn sorted(mut self) -> Vec<Diagnostic> {
    self.items.sort_by_key(|d| {
      let span = d.primary().unwrap_or_default();
      (span.file, span.start, d.code)
    });
    self.items
  }
}

/// The "did you mean" candidate closest to `word`, if any is close enough.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
  let lower = word.to_ascii_lowercase();
  candidates
    .into_iter()
    .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase()), c))
    .filter(|(distance, c)| *distance <= (c.len().max(word.len()) / 3).max(1))
    .min_by_key(|(distance, _)| *distance)
    .map(|(_, c)| c)
}

/// The JSON form of a diagnostic, as printed by `--format json`.
#[derive(Serialize, Debug)]
pub struct JsonDiagnostic {
  pub code: &'static str,
  pub severity: Severity,
  pub message: String,
  pub file: Option<String>,
  pub line: Option<usize>,
  pub column: Option<usize>,
  pub end_line: Option<usize>,
  pub end_column: Option<usize>,
  pub span: Option<JsonSpan>,
  pub labels: Vec<JsonLabel>,
  pub help: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct JsonSpan {
  pub start: usize,
  pub end: usize,
}

#[derive(Serialize, Debug)]
pub struct JsonLabel {
  pub file: String,
  pub line: usize,
  pub column: usize,
  pub span: JsonSpan,
  pub text: String,
}

impl JsonDiagnostic {
  pub fn new(d: &Diagnostic, sources: &Sources) -> Self {
    let primary = d.primary();
    let start = primary.map(|s| sources.line_col(s.file, s.start));
    let end = primary.map(|s| sources.line_col(s.file, s.end));
    JsonDiagnostic {
      code: d.code.as_str(),
      severity: d.severity(),
      message: d.message.clone(),
      file: primary.map(|s| sources.name(s.file).to_owned()),
      line: start.map(|p| p.0),
      column: start.map(|p| p.1),
      end_line: end.map(|p| p.0),
      end_column: end.map(|p| p.1),
      span: primary.map(|s| JsonSpan { start: s.start, end: s.end }),
      labels: d
        .labels
        .iter()
        .map(|l| {
          let (line, column) = sources.line_col(l.span.file, l.span.start);
          JsonLabel {
            file: sources.name(l.span.file).to_owned(),
            line,
            column,
            span: JsonSpan { start: l.span.start, end: l.span.end },
            text: l.text.clone(),
          }
        })
        .collect(),
      help: d.help.clone(),
    }
  }
}

/// A diagnostic bound to its source, ready for miette's renderers.
pub struct Rendered {
  code: Code,
  message: String,
  help: Option<String>,
  source: miette::NamedSource<String>,
  labels: Vec<miette::LabeledSpan>,
  related: Vec<Rendered>,
}

impl Rendered {
  pub fn new(d: &Diagnostic, sources: &Sources) -> Self {
    let file = d.primary().map(|s| s.file).unwrap_or_default();
    let name = d.primary().map_or("<input>", |s| sources.name(s.file)).to_owned();
    let text = if d.primary().is_some() { sources.text(file).to_owned() } else { String::new() };
    let mut labels = Vec::new();
    let mut related = Vec::new();
    for (i, label) in d.labels.iter().enumerate() {
      if label.span.file == file {
        let text = (!label.text.is_empty()).then(|| label.text.clone());
        let span = miette::SourceSpan::new(label.span.start.into(), label.span.len());
        labels.push(if i == 0 {
          miette::LabeledSpan::new_primary_with_span(text, span)
        } else {
          miette::LabeledSpan::new_with_span(text, span)
        });
      } else {
        let other = Diagnostic::new(d.code, label.text.clone()).label(label.span, "");
        related.push(Rendered::new(&other, sources));
      }
    }
    Rendered {
      code: d.code,
      message: d.message.clone(),
      help: d.help.clone(),
      source: miette::NamedSource::new(name, text),
      labels,
      related,
    }
  }
}

impl std::fmt::Debug for Rendered {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str(&self.message)
  }
}

impl std::fmt::Display for Rendered {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str(&self.message)
  }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
  fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
    Some(Box::new(self.code.as_str()))
  }

  fn severity(&self) -> Option<miette::Severity> {
    Some(match self.code.severity() {
      Severity::Error => miette::Severity::Error,
      Severity::Warning => miette::Severity::Warning,
    })
  }

  fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
    self.help.as_ref().map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
  }

  fn source_code(&self) -> Option<&dyn miette::SourceCode> {
    if self.labels.is_empty() { None } else { Some(&self.source) }
  }

  fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
    if self.labels.is_empty() { None } else { Some(Box::new(self.labels.iter().cloned())) }
  }

  fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
    if self.related.is_empty() {
      None
    } else {
      Some(Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)))
    }
  }
}

/// Renders a diagnostic as text: graphical, with or without colour.
pub fn render(d: &Diagnostic, sources: &Sources, color: bool, width: usize) -> String {
  let theme =
    if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() };
  let handler = miette::GraphicalReportHandler::new_themed(theme).with_width(width).with_links(false);
  let rendered = Rendered::new(d, sources);
  let mut out = String::new();
  if handler.render_report(&mut out, &rendered).is_err() {
    out = format!("{}: {}\n", d.code.as_str(), d.message);
  }
  out
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::collections::HashSet;

  #[test]
  fn codes_are_unique() {
    let mut seen = HashSet::new();
    for code in Code::ALL {
      assert!(seen.insert(code.as_str()), "code {} is used twice", code.as_str());
    }
  }

  #[test]
  fn warning_codes_start_with_w_and_errors_with_e() {
    for code in Code::ALL {
      let expected = if code.severity() == Severity::Warning { 'W' } else { 'E' };
      assert!(code.as_str().starts_with(expected), "{}", code.as_str());
    }
  }

  #[test]
  fn did_you_mean_finds_close_words_only() {
    assert_eq!(did_you_mean("toolchian", ["tool", "toolchain"]), Some("toolchain"));
    assert_eq!(did_you_mean("GOPRIVTE", ["GOPRIVATE", "GOPROXY"]), Some("GOPRIVATE"));
    assert_eq!(did_you_mean("zebra", ["toolchain", "proxy"]), None);
  }
}
