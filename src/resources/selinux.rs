//! `selinux label "REGEX" type "TYPE"`: a persistent SELinux file-context rule
//! (`semanage fcontext`) and a relabel of the paths it covers (`restorecon`).

use crate::apply::quote;
use crate::change::{Change, HostState};
use crate::diagnostic::{Code, Diagnostic};
use crate::host_facts::Request;
use crate::reader::{Cx, Reader};
use crate::resource::{HostInfo, Kind, Spec, Validator};
use crate::text::Text;

pub struct SelinuxLabelKind;

#[derive(Debug)]
pub struct SelinuxLabel {
  /// The file-context regular expression, matched against whole paths.
  pub pattern: Text,
  /// The SELinux type, `user_home_t`.
  pub setype: Text,
  /// What `restorecon` relabels; by default the pattern without its `(/.*)?` tail.
  pub path: Option<Text>,
}

impl Kind for SelinuxLabelKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["selinux", "label"]
  }

  fn summary(&self) -> &'static str {
    "an SELinux file-context rule, applied with restorecon"
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let pattern = r.label(cx, "path pattern")?;
    if !r.keyword(cx, "type") {
      return None;
    }
    let setype = r.label(cx, "SELinux type")?;
    r.finish(cx)?;
    r.no_value(cx)?;
    let options = r.options(cx, &["path"]);
    let path = options.text(cx, "path");
    Some(Box::new(SelinuxLabel { pattern, setype, path }))
  }
}

impl SelinuxLabel {
  /// Pattern, type and restorecon path, rendered and expanded for a host.
  fn rendered(&self, v: &mut Validator, host: &HostInfo) -> Option<(String, String, String)> {
    let pattern = host.expand(&v.text(&self.pattern)?);
    let setype = v.text(&self.setype)?;
    let path = match &self.path {
      Some(p) => host.expand(&v.text(p)?),
      None => Self::default_path(&pattern),
    };
    Some((pattern, setype, path))
  }

  /// Exits 0 when the local rule for `pattern` already has `setype`.
  fn rule_guard(pattern: &str, setype: &str) -> String {
    format!(
      "semanage fcontext -l -C | awk -v r={} -v t={} '$1 == r && index($NF, \":\" t \":\") {{ found = 1 }} END {{ exit !found }}'",
      quote(pattern),
      quote(setype)
    )
  }

  /// Exits 0 when no file under `path` needs relabelling.
  fn relabel_guard(path: &str) -> String {
    format!("test -z \"$(restorecon -R -n -v {} 2>/dev/null)\"", quote(path))
  }

  /// The path restorecon starts from when none is given.
  pub fn default_path(pattern: &str) -> String {
    let cut = pattern.find(['(', '[', '*', '?', '+', '|', '\\']).unwrap_or(pattern.len());
    pattern[..cut].trim_end_matches('/').to_owned()
  }
}

impl Spec for SelinuxLabel {
  fn id(&self) -> String {
    format!("selinux label {}", self.pattern.value)
  }

  fn claims(&self) -> Vec<Text> {
    vec![Text::new(format!("selinux fcontext {}", self.pattern.value), self.pattern.span)]
  }

  fn needs_path(&self) -> Option<String> {
    Some(self.path.as_ref().map_or_else(|| Self::default_path(&self.pattern.value), |p| p.value.clone()))
  }

  fn requests(&self, v: &mut Validator) -> Vec<Request> {
    // Paths are expanded on the host for guards; `~`/`$HOME` are expanded there.
    let (Some(pattern), Some(setype)) = (v.text(&self.pattern), v.text(&self.setype)) else {
      return Vec::new();
    };
    let path = self.path.as_ref().and_then(|p| v.text(p)).unwrap_or_else(|| Self::default_path(&pattern));
    let home = |s: &str| s.replacen("~/", "$HOME/", 1);
    vec![
      Request::Guard(Self::rule_guard(&home(&pattern), &setype)),
      Request::Guard(Self::relabel_guard(&home(&path))),
    ]
  }

  fn plan(&self, v: &mut Validator, host: &HostInfo, state: &HostState) -> Vec<Change> {
    let selinux = v.text(&Text::new("{{ facts.selinux }}", self.pattern.span)).unwrap_or_default();
    if selinux == "disabled" || selinux.is_empty() {
      v.note("skipped: SELinux disabled");
      return Vec::new();
    }
    let Some((pattern, setype, path)) = self.rendered(v, host) else { return Vec::new() };
    let Some(raw_pattern) = v.text(&self.pattern) else { return Vec::new() };
    let raw_path = match &self.path {
      Some(p) => match v.text(p) {
        Some(p) => p,
        None => return Vec::new(),
      },
      None => Self::default_path(&raw_pattern),
    };
    let home = |s: &str| s.replacen("~/", "$HOME/", 1);
    let guard = |g: String| state.guards.get(&g).copied();
    let mut changes = Vec::new();
    if guard(Self::rule_guard(&home(&raw_pattern), &setype)) != Some(0) {
      changes.push(Change::Run {
        summary: format!("semanage fcontext {pattern} -> {setype}"),
        script: format!(
          "semanage fcontext -a -t {t} {p} 2>/dev/null || semanage fcontext -m -t {t} {p}",
          t = quote(&setype),
          p = quote(&pattern)
        ),
        system: true,
        payload: None,
      });
    }
    if !changes.is_empty() || guard(Self::relabel_guard(&home(&raw_path))) != Some(0) {
      changes.push(Change::Run {
        summary: format!("restorecon -R {path}"),
        script: format!("if [ -e {p} ]; then restorecon -R {p}; fi", p = quote(&path)),
        system: true,
        payload: None,
      });
    }
    changes
  }

  fn validate(&self, v: &mut Validator) {
    if let Some(t) = v.text(&self.setype) {
      let valid = t.ends_with("_t")
        && t.len() > 2
        && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
      if !valid {
        v.error(
          Diagnostic::new(Code::SelinuxType, format!("`{t}` is not an SELinux type"))
            .label(self.setype.span, "expected a type such as `user_home_t`")
            .help("SELinux types are lower case and end in `_t`; `seinfo -t` lists them"),
        );
      }
    }
    if let Some(p) = v.text(&self.pattern)
      && !(p.starts_with('/') || p.starts_with("$HOME") || p.starts_with("~/"))
    {
      v.error(
        Diagnostic::new(Code::RelativePath, format!("the pattern `{p}` must match absolute paths"))
          .label(self.pattern.span, "does not start with `/`")
          .help("file-context patterns match whole paths, e.g. `\"/opt/go(/.*)?\"`"),
      );
    }
    if let Some(path) = &self.path {
      super::host_path(v, path, "`path`");
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn default_path_strips_the_regex_tail() {
    assert_eq!(SelinuxLabel::default_path("/opt/go(/.*)?"), "/opt/go");
    assert_eq!(SelinuxLabel::default_path("$HOME/go/pkg/mod(/.*)?"), "$HOME/go/pkg/mod");
    assert_eq!(SelinuxLabel::default_path("/srv/data"), "/srv/data");
  }
}
