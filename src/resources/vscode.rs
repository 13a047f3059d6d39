//! `vscode settings { "go.toolsManagement.autoUpdate" = false }`: keys merged into
//! the VS Code server's machine settings
//! (`~/.vscode-server/data/Machine/settings.json`), keeping every other key and
//! the file's comments.

use crate::diagnostic::{Code, Diagnostic};
use crate::reader::{Cx, Reader, attribute, json_of};
use crate::resource::{Kind, Spec};
use crate::text::Text;
use indexmap::IndexMap;

pub struct VscodeSettingsKind;

#[derive(Debug)]
pub struct VscodeSettings {
  pub settings: IndexMap<String, (serde_json::Value, Text)>,
  /// Use `~/.vscode-server-insiders`.
  pub insiders: bool,
}

/// Plain words that are options of the statement, not settings.
const OPTIONS: &[&str] = &["insiders", "name", "after", "notify", "sensitive"];

impl Kind for VscodeSettingsKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["vscode", "settings"]
  }

  fn summary(&self) -> &'static str {
    "VS Code server machine settings, merged into settings.json"
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
    for stmt in &block.stmts {
      let Some((key, span, value)) = attribute(stmt, cx, "vscode settings") else { continue };
      let quoted = matches!(
        stmt.head.first().and_then(|t| t.value()).map(|v| &v.kind),
        Some(crate::ast::ValueKind::Str(_))
      );
      if !quoted && OPTIONS.contains(&key.as_str()) {
        if key == "insiders" {
          match &value.kind {
            crate::ast::ValueKind::Bool(b) => insiders = *b,
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
    Some(Box::new(VscodeSettings { settings, insiders }))
  }
}

impl VscodeSettings {
  pub fn server_dir(&self) -> &'static str {
    if self.insiders { "~/.vscode-server-insiders" } else { "~/.vscode-server" }
  }
}

impl Spec for VscodeSettings {
  fn id(&self) -> String {
    "vscode settings".to_owned()
  }

  fn claims(&self) -> Vec<Text> {
    self
      .settings
      .values()
      .map(|(_, key)| Text::new(format!("vscode setting {} {}", self.server_dir(), key.value), key.span))
      .collect()
  }
}
