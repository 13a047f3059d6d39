//! `selinux label "REGEX" type "TYPE"`: a persistent SELinux file-context rule
//! (`semanage fcontext`) and a relabel of the paths it covers (`restorecon`).

use crate::diagnostic::{Code, Diagnostic};
use crate::reader::{Cx, Reader};
use crate::resource::{Kind, Spec, Validator};
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
    if let Some(p) = v.text(&self.pattern) {
      if !(p.starts_with('/') || p.starts_with("$HOME") || p.starts_with("~/")) {
        v.error(
          Diagnostic::new(Code::RelativePath, format!("the pattern `{p}` must match absolute paths"))
            .label(self.pattern.span, "does not start with `/`")
            .help("file-context patterns match whole paths, e.g. `\"/opt/go(/.*)?\"`"),
        );
      }
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
