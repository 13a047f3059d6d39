//! `vscode settings { "go.toolsManagement.autoUpdate" = false }`: keys merged into
//! the VS Code server's machine settings
//! (`~/.vscode-server/data/Machine/settings.json`), keeping every other key and
//! the file's comments.

use crate::check::reader::{Cx, Reader, attribute, json_of};
use crate::check::resource::{Evaluated, HostInfo, Kind, KindDoc, Planning, QueryScope, Spec, Validator};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic};
use crate::host::facts::Request;
use crate::plan::change::{Change, HostState, write_if_changed};
use crate::syntax::ast::{Term, Value, ValueKind};
use indexmap::IndexMap;

mod keys;
mod merge;
mod paths;
pub use merge::{merge, remove_key};

pub struct VscodeSettingsKind;

/// One declared setting.
#[derive(Debug)]
pub struct Setting {
  /// The key as written, with its span.
  pub key: Text,
  /// The value as written: templates in its strings not yet rendered.
  pub value: serde_json::Value,
  /// The value's syntax, for its spans and templates.
  pub written: Value,
}

#[derive(Debug)]
pub struct VscodeSettings {
  pub settings: IndexMap<String, Setting>,
  /// Use `~/.vscode-server-insiders`.
  pub insiders: bool,
  /// `state = "absent"`: the settings' keys leave the file.
  pub absent: bool,
}

/// Plain words that are options of the statement, not settings, besides
/// `name`, `after`, `notify` and `sensitive`.
const ATTRIBUTES: &[&str] = &["insiders", "state"];

impl Kind for VscodeSettingsKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["vscode", "settings"]
  }

  fn doc(&self) -> KindDoc {
    KindDoc { summary: "VS Code server machine settings, merged into settings.json", attributes: ATTRIBUTES }
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    r.finish(cx)?;
    r.no_value(cx)?;
    let Some(block) = &r.stmt().block else {
      cx.error(
        Diagnostic::new(Code::MissingAttribute, "`vscode settings` needs a block of settings")
          .label(r.stmt().head_span(), "no settings")
          .help("for example `vscode settings { \"go.toolsManagement.autoUpdate\" = false }`"),
      );
      return None;
    };
    let mut settings = IndexMap::new();
    let mut insiders = false;
    let mut absent = false;
    for stmt in &block.stmts {
      let Some((key, span, value)) = attribute(stmt, cx, "vscode settings") else { continue };
      let quoted = matches!(
        stmt.head.first().and_then(|t| t.value()).map(|v| &v.kind),
        Some(crate::syntax::ast::ValueKind::Str(_))
      );
      if !quoted && (ATTRIBUTES.contains(&key.as_str()) || crate::check::reader::META.contains(&key.as_str()))
      {
        if key == "state" {
          absent = crate::check::reader::text_of(value, cx, "`state`").is_some_and(|s| s.value == "absent");
        }
        if key == "insiders" {
          match &value.kind {
            crate::syntax::ast::ValueKind::Bool(b) => insiders = *b,
            other => cx.error(
              Diagnostic::new(
                Code::WrongType,
                format!("`insiders` expects `true` or `false`, found {}", other.describe()),
              )
              .label(value.span, "not a boolean"),
            ),
          }
        }
        continue;
      }
      if let Some(first) = settings.get(&key) {
        let first: &Setting = first;
        cx.error(
          Diagnostic::new(Code::DuplicateAttribute, format!("the setting `{key}` is given twice"))
            .label(span, "given again here")
            .label(first.key.span, "first given here"),
        );
        continue;
      }
      if let Some(json) = json_of(value, cx) {
        settings
          .insert(key.clone(), Setting { key: Text::new(key, span), value: json, written: value.clone() });
      }
    }
    r.meta_only(cx);
    Some(Box::new(VscodeSettings { settings, insiders, absent }))
  }
}

impl VscodeSettings {
  pub fn server_dir(&self) -> &'static str {
    if self.insiders { "~/.vscode-server-insiders" } else { "~/.vscode-server" }
  }
}

impl VscodeSettings {
  fn file(&self) -> String {
    format!("{}/data/Machine/settings.json", self.server_dir())
  }

  /// Every setting with the templates of its strings rendered for the host;
  /// `None` when one cannot be rendered yet (it uses facts) or failed (which
  /// is reported).
  pub fn rendered(&self, v: &mut Validator) -> Option<Vec<(String, serde_json::Value)>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (key, setting) in &self.settings {
      match render(&setting.written, v) {
        Some(value) => out.push((key.clone(), value)),
        None => ok = false,
      }
    }
    ok.then_some(out)
  }
}

impl Setting {
  /// The entries of an object value, as written: key and value syntax.
  pub(crate) fn entries(&self) -> Vec<(&str, &Value)> {
    let ValueKind::Map(block) = &self.written.kind else { return Vec::new() };
    block.stmts.iter().filter_map(|stmt| Some((entry_key(stmt)?, stmt.value.as_ref()?))).collect()
  }
}

/// A scalar setting value rendered for the host as the text a program
/// reads: strings as they are, numbers and booleans as JSON writes them.
pub(crate) fn render_text(value: &Value, v: &mut Validator) -> Option<String> {
  scalar_text(&render(value, v)?)
}

/// A rendered scalar as the text a program reads (see [`render_text`]).
fn scalar_text(value: &serde_json::Value) -> Option<String> {
  match value {
    serde_json::Value::String(s) => Some(s.clone()),
    serde_json::Value::Number(n) => Some(n.to_string()),
    serde_json::Value::Bool(b) => Some(b.to_string()),
    _ => None,
  }
}

/// The key of a map entry as [`attribute`] reads it.
fn entry_key(stmt: &crate::syntax::ast::Stmt) -> Option<&str> {
  match stmt.head.as_slice() {
    [Term::Value(Value { kind: ValueKind::Word(w), .. })] => Some(w),
    [Term::Value(Value { kind: ValueKind::Str(s), .. })] => Some(&s.value),
    _ => None,
  }
}

/// `value` as JSON, each string rendered as a template for the host. Entries
/// the reader refused (and reported) are left out, as [`json_of`] leaves them.
pub(crate) fn render(value: &Value, v: &mut Validator) -> Option<serde_json::Value> {
  Some(match &value.kind {
    ValueKind::Str(s) => serde_json::Value::String(v.text(&Text::new(s.value.clone(), value.span))?),
    ValueKind::Int(i) => serde_json::Value::from(i.value),
    ValueKind::Bool(b) => serde_json::Value::Bool(*b),
    ValueKind::Word(_) => return None,
    ValueKind::List(items) => {
      let mut out = Vec::new();
      let mut ok = true;
      for item in items {
        match render(item, v) {
          Some(x) => out.push(x),
          None => ok = false,
        }
      }
      if !ok {
        return None;
      }
      serde_json::Value::Array(out)
    }
    ValueKind::Map(block) => {
      let mut out = serde_json::Map::new();
      let mut ok = true;
      for stmt in &block.stmts {
        let (Some(key), Some(item), None) = (entry_key(stmt), &stmt.value, &stmt.block) else { continue };
        if out.contains_key(key) {
          continue;
        }
        match render(item, v) {
          Some(x) => {
            out.insert(key.to_owned(), x);
          }
          None => ok = false,
        }
      }
      if !ok {
        return None;
      }
      serde_json::Value::Object(out)
    }
  })
}

impl Spec for VscodeSettings {
  fn id(&self) -> String {
    "vscode settings".to_owned()
  }

  fn requests(&self, v: &mut QueryScope) -> Vec<Request> {
    let named = paths::named_paths(self, v);
    let mut out = vec![Request::File(self.file())];
    out.extend(paths::requests(&named));
    out
  }

  fn evaluate(&self, v: &mut Validator, host: &HostInfo) -> Evaluated {
    let settings = self.rendered(v);
    keys::check(self, v);
    let Some(settings) = settings else { return Evaluated::Failed };
    Evaluated::Desired(Box::new(Desired {
      path: host.expand(&self.file()),
      named: paths::named_in(self, &settings),
      settings,
      absent: self.absent,
      span: self.settings.values().next().map(|s| s.key.span).unwrap_or_default(),
    }))
  }

  fn claims(&self) -> Vec<Text> {
    self
      .settings
      .values()
      .map(|s| Text::new(format!("vscode setting {} {}", self.server_dir(), s.key.value), s.key.span))
      .collect()
  }
}

/// The settings' desired state on one host.
#[derive(Debug)]
struct Desired {
  /// The machine settings file, expanded.
  path: String,
  /// Every setting, its strings rendered, in the order declared.
  settings: Vec<(String, serde_json::Value)>,
  /// The host paths the settings name.
  named: Vec<paths::NamedPath>,
  /// `state = "absent"`: the keys leave the file.
  absent: bool,
  /// The first setting's key, which errors point at.
  span: crate::source::Span,
}

impl Desired {
  /// `state = "absent"`: its keys leave the settings file, comments and other
  /// keys kept. A file that is not JSON with comments is left alone.
  fn plan_absent(&self, host: &HostInfo, state: &HostState) -> Vec<Change> {
    let path = &self.path;
    let Some(current) = state.file(path) else { return Vec::new() };
    let mut text = String::from_utf8_lossy(&current.data).into_owned();
    for (key, _) in &self.settings {
      match remove_key(&text, key) {
        Ok(Some(updated)) => text = updated,
        Ok(None) => {}
        Err(_) => return Vec::new(),
      }
    }
    write_if_changed(state, path, text.into_bytes(), None, None, host.is_system(path)).into_iter().collect()
  }
}

impl crate::check::resource::Desired for Desired {
  fn plan(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    if self.absent {
      return self.plan_absent(p.host, state);
    }
    let (path, settings) = (&self.path, &self.settings);
    let existing =
      state.file(path).map(|f| String::from_utf8_lossy(&f.data).into_owned()).unwrap_or_default();
    for note in paths::check(&self.named, p.facts) {
      p.note(note);
    }
    match merge(&existing, settings) {
      Ok(Some(merged)) => {
        for (key, kept) in merge::kept_entries(&existing, settings) {
          p.note(format!(
            "`{key}` is merged key by key into the object `{path}` has: its other entries ({}) are kept",
            kept.join(", ")
          ));
        }
        write_if_changed(state, path, merged.into_bytes(), None, None, p.host.is_system(path))
          .into_iter()
          .collect()
      }
      Ok(None) => Vec::new(),
      Err(e) => {
        p.error(
          Diagnostic::new(
            Code::HostLacks,
            format!("`{path}` is not JSON with comments, so converge leaves it alone: {e}"),
          )
          .label(self.span, "settings to merge")
          .help("fix the file by hand (VS Code shows the error), then run converge again"),
        );
        Vec::new()
      }
    }
  }

  fn owns(&self, _host: &HostInfo, _state: &HostState) -> Vec<crate::plan::ledger::Owned> {
    if self.absent {
      return Vec::new();
    }
    self
      .settings
      .iter()
      .map(|(key, _)| crate::plan::ledger::Owned::Key {
        path: self.path.clone(),
        file: crate::plan::ledger::KeyFile::Vscode,
        key: key.clone(),
        created: false,
      })
      .collect()
  }

  /// Each key as the server reads it from the file (a declared object: its keys).
  fn expects(&self, _host: &HostInfo) -> Vec<crate::plan::expect::Expect> {
    if self.absent {
      return Vec::new();
    }
    self
      .settings
      .iter()
      .map(|(key, value)| crate::plan::expect::Expect::VscodeSetting {
        file: self.path.clone(),
        key: key.clone(),
        value: value.to_string(),
      })
      .collect()
  }
}
