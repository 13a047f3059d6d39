//! `goenv { GOPRIVATE = "git.example.com" }`: Go settings written the way
//! `go env -w` writes them, into the file every go process reads (GOENV as the
//! host's go reports it, `~/.config/go/env` by default), with the checks
//! `go env -w` makes.

use crate::check::reader::{Cx, META, Reader, attribute, text_of};
use crate::check::resource::{Evaluated, HostInfo, Kind, KindDoc, Planning, QueryScope, Spec, Validator};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::go;
use crate::go::env::GoEnvError;
use crate::go::env_file::GoEnvFile;
use crate::host::facts::Request;
use crate::plan::change::{Change, HostState, write_if_changed};
use crate::syntax::ast::ValueKind;

pub struct GoEnvKind;

#[derive(Debug)]
pub struct GoEnv {
  /// Variable, its value, and the span of the name.
  pub vars: Vec<(Text, Text)>,
  /// `state = "absent"`: the variables leave the go env file (their values
  /// are not used).
  pub absent: bool,
}

/// Variables whose list form is joined with spaces; the others use commas.
const SPACE_LISTS: &[&str] =
  &["GOFLAGS", "CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS", "CGO_FFLAGS", "CGO_LDFLAGS"];

/// Its block holds Go variables, not attributes.
const ATTRIBUTES: &[&str] = &[];

impl Kind for GoEnvKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["goenv"]
  }

  fn doc(&self) -> KindDoc {
    KindDoc {
      summary: "Go settings as `go env -w` writes them (GOPRIVATE, GOSUMDB, GOFLAGS, ...)",
      attributes: ATTRIBUTES,
    }
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    r.finish(cx)?;
    r.no_value(cx)?;
    let Some(block) = &r.stmt().block else {
      cx.error(
        Diagnostic::new(Code::MissingAttribute, "`goenv` needs a block of Go variables")
          .label(r.stmt().head_span(), "no variables")
          .help("for example `goenv { GOPRIVATE = \"git.example.com\" }`"),
      );
      return None;
    };
    let mut vars: Vec<(Text, Text)> = Vec::new();
    let mut absent = false;
    for stmt in &block.stmts {
      let Some((name, name_span, value)) = attribute(stmt, cx, "goenv") else { continue };
      if META.contains(&name.as_str()) {
        continue;
      }
      if name == "state" {
        absent = text_of(value, cx, "`state`").is_some_and(|s| s.value == "absent");
        continue;
      }
      if let Some((first, _)) = vars.iter().find(|(n, _)| n.value == name) {
        cx.error(
          Diagnostic::new(Code::DuplicateAttribute, format!("`{name}` is set twice"))
            .label(name_span, "set again here")
            .label(first.span, "first set here"),
        );
        continue;
      }
      if let Err(e) = go::env::check_write(&name, "")
        && !matches!(e, GoEnvError::InvalidValue { .. })
      {
        cx.error(name_error(&name, name_span, &e));
        continue;
      }
      let text = match &value.kind {
        ValueKind::List(items) => {
          let sep = if SPACE_LISTS.contains(&name.as_str()) { " " } else { "," };
          let mut parts = Vec::new();
          for item in items {
            parts.push(text_of(item, cx, &format!("an item of `{name}`"))?.value);
          }
          Text::new(parts.join(sep), value.span)
        }
        ValueKind::Int(i) => Text::new(i.value.to_string(), value.span),
        ValueKind::Bool(b) => {
          cx.error(
            Diagnostic::new(Code::WrongType, format!("`{name}` takes a string, not a boolean"))
              .label(value.span, "a boolean")
              .help(if name == "CGO_ENABLED" {
                format!("did you mean `{}`?", if *b { "1" } else { "0" })
              } else {
                format!("go env values are text; did you mean `\"{}\"`?", if *b { "on" } else { "off" })
              }),
          );
          continue;
        }
        _ => match text_of(value, cx, &format!("the value of `{name}`")) {
          Some(t) => t,
          None => continue,
        },
      };
      vars.push((Text::new(name, name_span), text));
    }
    r.meta_only(cx);
    Some(Box::new(GoEnv { vars, absent }))
  }
}

/// The change that sets `vars` in the go env file, as `go env -w` would. `at`
/// is what an error about the file points to.
pub fn write_go_env(
  p: &mut Planning,
  state: &HostState,
  vars: &[(String, String)],
  at: crate::source::Span,
) -> Vec<Change> {
  let host = p.host;
  let Some(path) = host.go_env_path() else {
    p.error(no_go_env_file(host, at));
    return Vec::new();
  };
  for (name, value) in vars {
    if let Some(exported) = host.shell_go_env.get(name).filter(|e| *e != value) {
      p.note(format!(
        "warning: the login shell of `{}` exports {name}={exported}, which overrides the go env file's {name}={value}; remove that export",
        host.user
      ));
    }
  }
  let existing = state.file(&path).map(|f| String::from_utf8_lossy(&f.data).into_owned()).unwrap_or_default();
  let updated = go::env::write_env_file(&existing, vars);
  if state.file(&path).is_some() && go::env::parse_env_file(&existing) == go::env::parse_env_file(&updated) {
    return Vec::new();
  }
  write_if_changed(state, &path, updated.into_bytes(), None, None, host.is_system(&path))
    .into_iter()
    .collect()
}

/// A key of the go env file, as the ledger records it.
pub fn go_env_key(path: &str, key: &str) -> crate::plan::ledger::Owned {
  crate::plan::ledger::Owned::Key {
    path: path.to_owned(),
    file: crate::plan::ledger::KeyFile::GoEnv,
    key: key.to_owned(),
    created: false,
  }
}

/// Why a host has no go env file to write to ([`HostInfo::go_env_path`] is `None`).
fn no_go_env_file(host: &HostInfo, at: crate::source::Span) -> Diagnostic {
  let (what, label, help) = match &host.go_env_file {
    GoEnvFile::Off => (
      "reads no go env file: `go env GOENV` is `off`".to_owned(),
      "would be ignored by every go process",
      "remove `GOENV=off` from the login shell's environment, or set these variables with `export`",
    ),
    GoEnvFile::Unusable(reported) if !reported.is_empty() => (
      format!("reports the go env file `{reported}`, a relative path that depends on where go runs"),
      "nowhere to write this",
      "export GOENV as an absolute path (or unset it) in the login shell's environment",
    ),
    _ => (
      "reports no go env file (neither HOME nor XDG_CONFIG_HOME gives it a place)".to_owned(),
      "nowhere to write this",
      "export GOENV as an absolute path in the login shell's environment",
    ),
  };
  Diagnostic::new(Code::GoEnvFile, format!("the go of `{}` {what}", host.name)).label(at, label).help(help)
}

/// Reports a value `go env -w` or the go command would refuse, or the go env
/// file cannot hold; true when refused.
fn refuse(v: &mut Validator, name: &Text, value: &Text, rendered: &str) -> bool {
  let Err(e) = go::env::check_write(&name.value, rendered) else { return false };
  let shown: String = rendered.chars().take(80).collect();
  let shown = shown.escape_debug();
  let label =
    if value.is_template() { format!("{} (for host `{}`)", e.reason(), v.host) } else { e.reason() };
  v.error(
    Diagnostic::new(Code::GoEnvValue, format!("`{}={shown}` is refused: {}", name.value, e.reason()))
      .label(value.span, label)
      .help(e.help()),
  );
  true
}

fn name_error(name: &str, span: crate::source::Span, e: &GoEnvError) -> Diagnostic {
  let code = match e {
    GoEnvError::Unknown { .. } => Code::GoEnvUnknown,
    GoEnvError::InvalidValue { .. } => Code::GoEnvValue,
    _ => Code::GoEnvReadOnly,
  };
  let mut d =
    Diagnostic::new(code, format!("`go env -w` refuses `{name}`: {}", e.reason())).label(span, e.reason());
  let help = e.help();
  if !help.is_empty() {
    d = d.help(help);
  } else if let Some(s) = did_you_mean(name, go::env::KNOWN.iter().copied()) {
    d = d.help(format!("did you mean `{s}`?"));
  }
  d
}

impl Spec for GoEnv {
  fn id(&self) -> String {
    "goenv".to_owned()
  }

  fn claims(&self) -> Vec<Text> {
    self.vars.iter().map(|(n, _)| Text::new(format!("go env {}", n.value), n.span)).collect()
  }

  fn requests(&self, _v: &mut QueryScope) -> Vec<Request> {
    vec![Request::GoEnvFile]
  }

  fn evaluate(&self, v: &mut Validator, _host: &HostInfo) -> Evaluated {
    if self.absent {
      let names = self.vars.iter().map(|(n, _)| n.value.clone()).collect();
      return Evaluated::Desired(Box::new(Desired::Absent { names }));
    }
    let mut vars = Vec::new();
    let mut ok = true;
    for (name, value) in &self.vars {
      let Some(rendered) = v.text(value) else {
        ok = false;
        continue;
      };
      if refuse(v, name, value, &rendered) {
        ok = false;
        continue;
      }
      if name.value == "GOSUMDB" && rendered == "off" {
        v.error(
          Diagnostic::new(Code::SumdbOff, "GOSUMDB=off turns off checksum verification for every module")
            .label(value.span, "no checksum database")
            .help("to exempt only private modules, set GOPRIVATE or GONOSUMDB instead"),
        );
      }
      if name.value == "GOOS" || name.value == "GOARCH" {
        cross_compiles(v, &name.value, &rendered, value.span, "the go env file");
      }
      if name.value == "GOPROXY" && rendered == "direct" {
        super::proxy::direct_only(v, value.span);
      }
      if (name.value == "GONOPROXY" || name.value == "GOPRIVATE")
        && rendered.split(',').any(|p| p.trim() == "*")
      {
        v.error(
          Diagnostic::new(
            Code::NoProxyForAll,
            format!(
              "`{}` has the pattern `*`: every module is fetched directly, never through GOPROXY",
              name.value
            ),
          )
          .label(value.span, "matches every module path")
          .help("list the private module prefixes instead, such as `git.example.com/team`"),
        );
      }
      if name.value == "GO111MODULE" {
        gopath_mode(v, &rendered, value.span, "the go env file");
      }
      if name.value == "GOPROXY" && rendered.contains('|') {
        v.error(
          Diagnostic::new(
            Code::ProxyAnyError,
            "`|` falls back to the next proxy on any error, timeouts and 5xx included",
          )
          .label(value.span, "uses `|`")
          .help("use `,` to fall back only when a module is not found (404/410)"),
        );
      }
      vars.push((name.value.clone(), rendered));
    }
    if !ok {
      return Evaluated::Failed;
    }
    let at = self.vars.first().map(|(name, _)| name.span).unwrap_or_default();
    Evaluated::Desired(Box::new(Desired::Present { vars, at }))
  }
}

/// The go settings' desired state on one host.
#[derive(Debug)]
enum Desired {
  /// The variables and their rendered values; `at` is the first name's span.
  Present { vars: Vec<(String, String)>, at: crate::source::Span },
  /// `state = "absent"`: these variables leave the go env file.
  Absent { names: Vec<String> },
}

impl crate::check::resource::Desired for Desired {
  fn plan(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    match self {
      Desired::Absent { names } => {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        crate::plan::prune::unset_go_env(p.host, state, &names)
      }
      Desired::Present { vars, at } => write_go_env(p, state, vars, *at),
    }
  }

  fn owns(&self, host: &HostInfo, _state: &HostState) -> Vec<crate::plan::ledger::Owned> {
    let Desired::Present { vars, .. } = self else { return Vec::new() };
    let Some(path) = host.go_env_path() else { return Vec::new() };
    vars.iter().map(|(name, _)| go_env_key(&path, name)).collect()
  }

  fn expects(&self, _host: &HostInfo) -> Vec<crate::plan::expect::Expect> {
    let Desired::Present { vars, .. } = self else { return Vec::new() };
    vars
      .iter()
      .map(|(name, value)| crate::plan::expect::Expect::GoEnv { name: name.clone(), value: value.clone() })
      .collect()
  }
}

/// Warns when `GO111MODULE` (seen by a consumer through `place`) puts the go
/// command in GOPATH mode: `off` always, `auto` outside a module.
pub fn gopath_mode(v: &mut Validator, value: &str, span: crate::source::Span, place: &str) {
  if value != "off" && value != "auto" {
    return;
  }
  let what = if value == "off" {
    "turns modules off: go.mod files are ignored and `go get` and `go install` work in GOPATH".to_owned()
  } else {
    "makes the go command work in GOPATH mode wherever no go.mod is found".to_owned()
  };
  v.error(
    Diagnostic::new(Code::GopathMode, format!("`GO111MODULE={value}` in {place} {what}"))
      .label(span, "GOPATH mode")
      .help("modules are on by default since go 1.16: remove the setting, or write `on`"),
  );
}

/// Warns that `GOOS` or `GOARCH`, read from `place` by every go process that
/// sees it, cross-compiles every build and `go install` on the host.
pub fn cross_compiles(v: &mut Validator, name: &str, value: &str, span: crate::source::Span, place: &str) {
  let value: String = value.chars().take(40).collect::<String>().escape_debug().to_string();
  v.error(
    Diagnostic::new(
      Code::GoTargetInGoEnv,
      format!("`{name}={value}` in {place} cross-compiles every build on the host"),
    )
    .label(span, "applies to every `go build` and `go install`")
    .help(format!(
      "binaries installed with `go install` stop running on the host; set `{name}` for one command instead: `{name}={value} go build`"
    )),
  );
}
