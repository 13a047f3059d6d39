//! The paths VS Code's Go settings name on the host (`go.goroot`, `go.gopath`,
//! `go.alternateTools`): read with the facts, and named in the plan when they
//! do not exist, or when the gopls they name does not fit the host's Go.

use super::{VscodeSettings, render_text, scalar_text};
use crate::check::resource::Validator;
use crate::go::gopls::{Fit, gopls_supports};
use crate::host::facts::Facts;
use crate::host::facts::{Answer, Request};

/// A path a setting names: the setting (`go.alternateTools.gopls`), the path
/// as the facts script takes it (`~/` for the home directory), and whether it
/// names a tool binary.
#[derive(Debug)]
pub(super) struct NamedPath {
  pub setting: String,
  pub path: String,
  pub tool: bool,
}

/// `$HOME/x` and `${HOME}/x` as `~/x`; other paths that are not absolute
/// (VS Code's `${env:...}`, relative names looked up on PATH) are left out,
/// and so are those no file can have (control characters, longer than
/// PATH_MAX), which are not asked of the host.
fn host_path(path: &str) -> Option<String> {
  if path.len() > 4096 || path.chars().any(char::is_control) {
    return None;
  }
  for prefix in ["$HOME/", "${HOME}/"] {
    if let Some(rest) = path.strip_prefix(prefix) {
      return Some(format!("~/{rest}"));
    }
  }
  (path.starts_with('/') || path.starts_with("~/")).then(|| path.to_owned()).filter(|p| !p.contains('$'))
}

pub(super) fn named_paths(settings: &VscodeSettings, v: &mut Validator) -> Vec<NamedPath> {
  let mut out = Vec::new();
  for key in ["go.goroot", "go.gopath"] {
    if let Some(setting) = settings.settings.get(key)
      && let Some(value) = render_text(&setting.written, v)
    {
      // GOPATH may be a list; each entry must exist.
      for entry in value.split(':').filter_map(host_path) {
        out.push(NamedPath { setting: key.to_owned(), path: entry, tool: false });
      }
    }
  }
  if let Some(tools) = settings.settings.get("go.alternateTools") {
    for (name, value) in tools.entries() {
      if let Some(path) = render_text(value, v).as_deref().and_then(host_path) {
        out.push(NamedPath { setting: format!("go.alternateTools.{name}"), path, tool: true });
      }
    }
  }
  out
}

/// The paths `settings` name, read from their values rendered for the host
/// (`rendered`, as [`VscodeSettings::rendered`] gives them): what
/// [`named_paths`] finds, with no template rendered again.
pub(super) fn named_in(
  settings: &VscodeSettings,
  rendered: &[(String, serde_json::Value)],
) -> Vec<NamedPath> {
  let value = |key: &str| rendered.iter().find(|(k, _)| k == key).map(|(_, v)| v);
  let mut out = Vec::new();
  for key in ["go.goroot", "go.gopath"] {
    if let Some(value) = value(key).and_then(scalar_text) {
      // GOPATH may be a list; each entry must exist.
      for entry in value.split(':').filter_map(host_path) {
        out.push(NamedPath { setting: key.to_owned(), path: entry, tool: false });
      }
    }
  }
  if let (Some(tools), Some(serde_json::Value::Object(values))) =
    (settings.settings.get("go.alternateTools"), value("go.alternateTools"))
  {
    for (name, _) in tools.entries() {
      if let Some(path) = values.get(name).and_then(scalar_text).as_deref().and_then(host_path) {
        out.push(NamedPath { setting: format!("go.alternateTools.{name}"), path, tool: true });
      }
    }
  }
  out
}

pub(super) fn requests(paths: &[NamedPath]) -> Vec<Request> {
  let mut out = Vec::new();
  for p in paths {
    out.push(Request::Link(p.path.clone()));
    if p.tool {
      out.push(Request::Tool(p.path.clone()));
    }
  }
  out
}

/// Notes for the plan: paths missing on the host, and a gopls that does not
/// fit the host's Go.
pub(super) fn check(paths: &[NamedPath], facts: &Facts) -> Vec<String> {
  let mut notes = Vec::new();
  for p in paths {
    match facts.answers.get(&Request::Link(p.path.clone())) {
      Some(Answer::Absent) => {
        notes.push(format!(
          "warning W515: `{}` names `{}`, which does not exist on this host; VS Code's Go tools fail to start with it",
          p.setting, p.path
        ));
        continue;
      }
      None => continue,
      Some(_) => {}
    }
    if !p.tool || facts.go_version.is_empty() {
      continue;
    }
    if let Some(Answer::Tool(Some(module))) = facts.answers.get(&Request::Tool(p.path.clone()))
      && let Some(("golang.org/x/tools/gopls", version)) = module.split_once(' ')
      && let Fit::Misfit(why) = gopls_supports(version, &facts.go_version)
    {
      notes.push(format!("warning W516: `{}` (`{}`): {why}", p.setting, p.path));
    }
  }
  notes
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::check::resource::{QueryScope, Spec};
  use crate::diagnostic::Diagnostics;
  use crate::source::Sources;

  /// The paths found in the values rendered once are those found by
  /// rendering each setting again, in the same order.
  #[test]
  fn paths_read_from_rendered_values_are_those_rendering_finds() {
    let snippet = "vars {\n  root = \"/usr/local/go\"\n}\nvscode settings {\n  \"go.goroot\" = \"{{ root }}\"\n  \"go.gopath\" = \"$HOME/go:/srv/gopath:relative\"\n  \"go.alternateTools\" = {\n    gopls = \"~/go/bin/gopls\"\n    go = \"{{ root }}/bin/go\"\n    dlv = \"dlv\"\n    vet = \"${env:HOME}/vet\"\n  }\n  \"go.lintTool\" = \"/opt/lint\"\n}\n";
    let mut sources = Sources::new();
    let play = crate::check::one_play(snippet, &mut sources, false);
    let spec: &dyn Spec = play.resources[0].spec.as_ref();
    let Some(settings) = (spec as &dyn std::any::Any).downcast_ref::<VscodeSettings>() else {
      panic!("not vscode settings: {spec:?}")
    };
    let mut names = play.vars.keys().cloned().collect::<std::collections::BTreeSet<_>>();
    names.insert("host".to_owned());
    let mut scratch = Diagnostics::new();
    let mut v = QueryScope::new(&play.name, &play.vars, &names, &sources, &mut scratch);
    let shown = |paths: Vec<NamedPath>| -> Vec<String> {
      paths.into_iter().map(|p| format!("{} {} {}", p.setting, p.path, p.tool)).collect()
    };
    let rendered = settings.rendered(&mut v).unwrap_or_else(|| panic!("not rendered"));
    let once = shown(named_in(settings, &rendered));
    assert_eq!(once, shown(named_paths(settings, &mut v)));
    assert_eq!(
      once,
      [
        "go.goroot /usr/local/go false",
        "go.gopath ~/go false",
        "go.gopath /srv/gopath false",
        "go.alternateTools.gopls ~/go/bin/gopls true",
        "go.alternateTools.go /usr/local/go/bin/go true",
      ]
    );
  }
}
