//! `vscode settings { "go.toolsManagement.autoUpdate" = false }`: keys merged into
//! the VS Code server's machine settings
//! (`~/.vscode-server/data/Machine/settings.json`), keeping every other key and
//! the file's comments.

use crate::check::reader::{Cx, Reader, attribute, json_of};
use crate::check::resource::{HostInfo, Kind, KindDoc, QueryScope, Spec, Validator};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic};
use crate::host::facts::Request;
use crate::plan::change::{Change, HostState, write_if_changed};
use indexmap::IndexMap;
use jsonc_parser::cst::{CstInputValue, CstRootNode};

pub struct VscodeSettingsKind;

#[derive(Debug)]
pub struct VscodeSettings {
  pub settings: IndexMap<String, (serde_json::Value, Text)>,
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
      if let Some((_, first)) = settings.get(&key) {
        let first: &Text = first;
        cx.error(
          Diagnostic::new(Code::DuplicateAttribute, format!("the setting `{key}` is given twice"))
            .label(span, "given again here")
            .label(first.span, "first given here"),
        );
        continue;
      }
      if let Some(json) = json_of(value, cx) {
        settings.insert(key.clone(), (json, Text::new(key, span)));
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
}

/// A JSON value as the JSONC editor takes it.
fn input(value: &serde_json::Value) -> CstInputValue {
  match value {
    serde_json::Value::Null => CstInputValue::Null,
    serde_json::Value::Bool(b) => CstInputValue::Bool(*b),
    serde_json::Value::Number(n) => CstInputValue::Number(n.to_string()),
    serde_json::Value::String(s) => CstInputValue::String(s.clone()),
    serde_json::Value::Array(items) => CstInputValue::Array(items.iter().map(input).collect()),
    serde_json::Value::Object(map) => {
      CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), input(v))).collect())
    }
  }
}

/// The settings file with `settings` merged in: declared keys set, every other
/// key, comment and blank line kept. `Err` with the parser's message when the
/// file is not JSON with comments.
pub fn merge(existing: &str, settings: &[(String, serde_json::Value)]) -> Result<Option<String>, String> {
  let text = if existing.trim().is_empty() { "{}\n" } else { existing };
  let options = jsonc_parser::ParseOptions::default();
  let current: serde_json::Value =
    jsonc_parser::parse_to_serde_value::<serde_json::Value>(text, &options).map_err(|e| e.to_string())?;
  if !existing.trim().is_empty() && settings.iter().all(|(k, v)| current.get(k) == Some(v)) {
    return Ok(None);
  }
  let root = CstRootNode::parse(text, &options).map_err(|e| e.to_string())?;
  let object = root.object_value_or_set();
  for (key, value) in settings {
    match object.get(key) {
      Some(prop) => prop.set_value(input(value)),
      None => {
        object.append(key, input(value));
      }
    }
  }
  let mut out = root.to_string();
  if !out.ends_with('\n') {
    out.push('\n');
  }
  Ok(Some(out))
}

/// The settings file without `key` (its comments and other keys kept), or
/// `None` when it does not hold it. `Err` when the file is not JSON with
/// comments.
pub fn remove_key(existing: &str, key: &str) -> Result<Option<String>, String> {
  let options = jsonc_parser::ParseOptions::default();
  let root = CstRootNode::parse(existing, &options).map_err(|e| e.to_string())?;
  let Some(object) = root.object_value() else { return Ok(None) };
  let Some(prop) = object.get(key) else { return Ok(None) };
  prop.remove();
  Ok(Some(root.to_string()))
}

impl VscodeSettings {
  /// `state = "absent"`: its keys leave the settings file, comments and other
  /// keys kept. A file that is not JSON with comments is left alone.
  fn plan_absent(&self, host: &HostInfo, state: &HostState) -> Vec<Change> {
    let path = host.expand(&self.file());
    let Some(current) = state.file(&path) else { return Vec::new() };
    let mut text = String::from_utf8_lossy(&current.data).into_owned();
    for key in self.settings.keys() {
      match remove_key(&text, key) {
        Ok(Some(updated)) => text = updated,
        Ok(None) => {}
        Err(_) => return Vec::new(),
      }
    }
    write_if_changed(state, &path, text.into_bytes(), None, None, host.is_system(&path)).into_iter().collect()
  }
}

impl Spec for VscodeSettings {
  fn id(&self) -> String {
    "vscode settings".to_owned()
  }

  fn requests(&self, _v: &mut QueryScope) -> Vec<Request> {
    vec![Request::File(self.file())]
  }

  fn plan(&self, v: &mut Validator, host: &HostInfo, state: &HostState) -> Vec<Change> {
    if self.absent {
      return self.plan_absent(host, state);
    }
    let path = host.expand(&self.file());
    let existing =
      state.file(&path).map(|f| String::from_utf8_lossy(&f.data).into_owned()).unwrap_or_default();
    let settings: Vec<(String, serde_json::Value)> =
      self.settings.iter().map(|(k, (value, _))| (k.clone(), value.clone())).collect();
    match merge(&existing, &settings) {
      Ok(Some(merged)) => {
        write_if_changed(state, &path, merged.into_bytes(), None, None, host.is_system(&path))
          .into_iter()
          .collect()
      }
      Ok(None) => Vec::new(),
      Err(e) => {
        let span = self.settings.values().next().map(|(_, t)| t.span).unwrap_or_default();
        v.error(
          Diagnostic::new(
            Code::HostLacks,
            format!("`{path}` is not JSON with comments, so converge leaves it alone: {e}"),
          )
          .label(span, "settings to merge")
          .help("fix the file by hand (VS Code shows the error), then run converge again"),
        );
        Vec::new()
      }
    }
  }

  fn owns(&self, _v: &mut Validator, host: &HostInfo, _state: &HostState) -> Vec<crate::plan::ledger::Owned> {
    if self.absent {
      return Vec::new();
    }
    let path = host.expand(&self.file());
    self
      .settings
      .keys()
      .map(|key| crate::plan::ledger::Owned::Key {
        path: path.clone(),
        file: crate::plan::ledger::KeyFile::Vscode,
        key: key.clone(),
        created: false,
      })
      .collect()
  }

  fn claims(&self) -> Vec<Text> {
    self
      .settings
      .values()
      .map(|(_, key)| Text::new(format!("vscode setting {} {}", self.server_dir(), key.value), key.span))
      .collect()
  }
}

#[cfg(test)]
mod tests {
  use super::merge;
  use serde_json::json;

  #[test]
  fn merges_keys_and_keeps_comments_and_other_keys() {
    let existing = "{\n  // my theme\n  \"workbench.colorTheme\": \"Dark\",\n  \"go.toolsManagement.autoUpdate\": true, // old\n}\n";
    let settings = vec![
      ("go.toolsManagement.autoUpdate".to_owned(), json!(false)),
      ("gopls".to_owned(), json!({"ui.semanticTokens": true})),
    ];
    let merged = merge(existing, &settings).ok().flatten().unwrap_or_default();
    assert!(
      merged.contains("// my theme") && merged.contains("\"workbench.colorTheme\": \"Dark\""),
      "{merged}"
    );
    assert!(merged.contains("\"go.toolsManagement.autoUpdate\": false"), "{merged}");
    assert!(merged.contains("\"ui.semanticTokens\": true"), "{merged}");
    assert_eq!(merge(&merged, &settings), Ok(None), "merging again changes nothing");
  }

  proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, failure_persistence: None, ..Default::default() })]
    /// Any key and string value, however hostile (quotes, backslashes, control
    /// characters, `*/`, newlines), is written as JSON that VS Code reads back as
    /// exactly that key and value, next to the user's comments and keys.
    #[test]
    fn any_string_is_read_back_exactly(key in "\\PC*", value in "(\\PC|[\"\\\\\n\t\u{0}-\u{1f}\u{7f}\u{2028}\u{2029}/*])*") {
      let existing = "{\n  // keep me */ \"x\"\n  \"other\": 1\n}\n";
      for base in ["", existing] {
        let merged = merge(base, &[(key.clone(), json!(value.clone()))]).ok().flatten().unwrap_or_default();
        let options = jsonc_parser::ParseOptions::default();
        let read: serde_json::Value =
          jsonc_parser::parse_to_serde_value(&merged, &options).unwrap_or_else(|e| panic!("{e}: {merged}"));
        proptest::prop_assert_eq!(read.get(&key), Some(&json!(value.clone())), "{}", merged);
        if !base.is_empty() && key != "other" {
          proptest::prop_assert_eq!(read.get("other"), Some(&json!(1)));
          proptest::prop_assert!(merged.contains("// keep me */ \"x\""));
        }
      }
    }
  }

  #[test]
  fn creates_the_file_and_refuses_a_broken_one() {
    let created = merge("", &[("a".to_owned(), json!(1))]).ok().flatten().unwrap_or_default();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&created).ok(), Some(json!({"a": 1})));
    assert!(merge("{ \"a\": ", &[("a".to_owned(), json!(1))]).is_err());
  }
}
