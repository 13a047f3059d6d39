//! `selinux label "REGEX" type "TYPE"`: a persistent SELinux file-context rule
//! (`semanage fcontext`) and a relabel of the paths it covers (`restorecon`).

use crate::check::reader::{Cx, Reader};
use crate::check::resource::{Evaluated, HostInfo, Kind, KindDoc, Planning, QueryScope, Spec, Validator};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic};
use crate::host::facts::Request;
use crate::host::shell::{ShellText, sh};
use crate::plan::change::{Change, HostState};

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

/// The attributes of its block, besides `name`, `after`, `notify` and `sensitive`.
const ATTRIBUTES: &[&str] = &["path"];

impl Kind for SelinuxLabelKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["selinux", "label"]
  }

  fn doc(&self) -> KindDoc {
    KindDoc { summary: "an SELinux file-context rule, applied with restorecon", attributes: ATTRIBUTES }
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let pattern = r.label(cx, "path pattern")?;
    if !r.keyword(cx, "type") {
      return None;
    }
    let setype = r.label(cx, "SELinux type")?;
    r.finish(cx)?;
    r.no_value(cx)?;
    let options = r.options(cx, ATTRIBUTES);
    let path = options.text(cx, "path");
    Some(Box::new(SelinuxLabel { pattern, setype, path }))
  }
}

impl SelinuxLabel {
  /// Exits 0 when the local rule for `pattern` already has `setype`. awk
  /// reads both from its environment: `-v` would take backslashes in the
  /// pattern as escapes.
  fn rule_guard(pattern: &str, setype: &str) -> String {
    sh!(
      "semanage fcontext -l -C | cv_r={r} cv_t={t} awk '$1 == ENVIRON[\"cv_r\"] && index($NF, \":\" ENVIRON[\"cv_t\"] \":\") {{ found = 1 }} END {{ exit !found }}'",
      r = host_word(pattern),
      t = setype
    )
    .into()
  }

  /// Exits 0 when no file under `path` needs relabelling.
  fn relabel_guard(path: &str) -> String {
    sh!("test -z \"$(restorecon -R -n -v -- {} 2>/dev/null)\"", host_word(path)).into()
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

  fn requests(&self, v: &mut QueryScope) -> Vec<Request> {
    // Paths are expanded on the host for guards; `~`/`$HOME` are expanded there.
    let (Some(pattern), Some(setype)) = (v.text(&self.pattern), v.text(&self.setype)) else {
      return Vec::new();
    };
    let path = self.path.as_ref().and_then(|p| v.text(p)).unwrap_or_else(|| Self::default_path(&pattern));
    vec![Request::Guard(Self::rule_guard(&pattern, &setype)), Request::Guard(Self::relabel_guard(&path))]
  }

  fn evaluate(&self, v: &mut Validator, host: &HostInfo) -> Evaluated {
    let setype = v.text(&self.setype);
    let mut ok = true;
    if let Some(t) = &setype {
      let valid = t.ends_with("_t")
        && t.len() > 2
        && t.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
      if !valid {
        ok = false;
        v.error(
          Diagnostic::new(Code::SelinuxType, format!("`{t}` is not an SELinux type"))
            .label(self.setype.span, "expected a type such as `user_home_t`")
            .help("SELinux types are lower case and end in `_t`; `seinfo -t` lists them"),
        );
      }
    }
    let pattern = v.text(&self.pattern);
    if let Some(p) = &pattern
      && !(p.starts_with('/') || p.starts_with("$HOME") || p.starts_with("~/"))
    {
      ok = false;
      v.error(
        Diagnostic::new(Code::RelativePath, format!("the pattern `{p}` must match absolute paths"))
          .label(self.pattern.span, "does not start with `/`")
          .help("file-context patterns match whole paths, e.g. `\"/opt/go(/.*)?\"`"),
      );
    }
    let path = match &self.path {
      Some(path) => super::host_path(v, path, "`path`"),
      None => pattern.as_deref().map(Self::default_path),
    };
    let (Some(setype), Some(raw_pattern), Some(raw_path), true) = (setype, pattern, path, ok) else {
      return Evaluated::Failed;
    };
    let pattern = host.expand(&raw_pattern);
    // Without a `path`, restorecon starts from the expanded pattern's head.
    let path = if self.path.is_some() { host.expand(&raw_path) } else { Self::default_path(&pattern) };
    Evaluated::Desired(Box::new(Desired { raw_pattern, pattern, setype, raw_path, path }))
  }
}

/// A file-context rule's desired state on one host.
#[derive(Debug)]
struct Desired {
  /// The pattern as rendered, `~/` and `$HOME` left for the host's shell:
  /// the guards were asked with it.
  raw_pattern: String,
  /// Expanded with the home directory.
  pattern: String,
  setype: String,
  /// What restorecon relabels, as rendered (the guards' form) and expanded.
  raw_path: String,
  path: String,
}

impl crate::check::resource::Desired for Desired {
  fn plan(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    let selinux = p.fact("selinux").unwrap_or_default();
    if selinux == "disabled" || selinux.is_empty() {
      p.note("skipped: SELinux disabled");
      return Vec::new();
    }
    let (pattern, setype, path) = (&self.pattern, &self.setype, &self.path);
    let guard = |g: String| state.guards.get(&g).copied();
    let mut changes = Vec::new();
    if guard(SelinuxLabel::rule_guard(&self.raw_pattern, setype)) != Some(0) {
      changes.push(Change::Run {
        summary: format!("semanage fcontext {pattern} -> {setype}"),
        script: sh!(
          "semanage fcontext -a -t {t} {p} 2>/dev/null || semanage fcontext -m -t {t} {p}",
          t = setype,
          p = pattern
        )
        .into(),
        system: true,
        payload: None,
      });
    }
    if !changes.is_empty() || guard(SelinuxLabel::relabel_guard(&self.raw_path)) != Some(0) {
      changes.push(Change::Run {
        summary: format!("restorecon -R {path}"),
        script: sh!("if [ -e {p} ]; then restorecon -R {p}; fi", p = path).into(),
        system: true,
        payload: None,
      });
    }
    changes
  }

  fn expects(&self, host: &HostInfo) -> Vec<crate::plan::expect::Expect> {
    vec![crate::plan::expect::Expect::SelinuxLabel {
      path: host.expand(&self.raw_path),
      setype: self.setype.clone(),
    }]
  }
}

/// A pattern or path as one shell word, with a leading `~/` or `$HOME` left
/// for the host's shell to expand: guards are asked for before the host's home
/// is known.
fn host_word(text: &str) -> ShellText {
  if let Some(rest) = text.strip_prefix("~/") {
    sh!("\"$HOME\"/{}", rest)
  } else if let Some(rest) = text.strip_prefix("$HOME").filter(|r| r.is_empty() || r.starts_with('/')) {
    sh!("\"$HOME\"{}", rest)
  } else {
    sh!("{}", text)
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

  /// Runs the awk half of a rule guard on a `semanage fcontext -l -C` listing
  /// with real `sh` and `awk`, as the host runs it with HOME=/home/dev.
  fn rule_guard_matches(pattern: &str, listing: &str) -> bool {
    let guard = SelinuxLabel::rule_guard(pattern, "user_home_t");
    let Some(awk) = guard.strip_prefix("semanage fcontext -l -C | ") else { panic!("{guard}") };
    let status = std::process::Command::new("sh")
      .arg("-c")
      .arg(format!("printf '%s\\n' \"$1\" | {awk}"))
      .arg("sh")
      .arg(listing)
      .env("HOME", "/home/dev")
      .status()
      .unwrap_or_else(|e| panic!("sh: {e}"));
    status.success()
  }

  #[test]
  fn rule_guards_find_home_and_backslash_patterns_as_semanage_lists_them() {
    let line = |p: &str| format!("{p}    all files    unconfined_u:object_r:user_home_t:s0");
    let listed = line("/home/dev/go/pkg/mod(/.*)?");
    assert!(rule_guard_matches("$HOME/go/pkg/mod(/.*)?", &listed));
    assert!(rule_guard_matches("~/go/pkg/mod(/.*)?", &listed));
    assert!(rule_guard_matches("/home/dev/go/pkg/mod(/.*)?", &listed));
    assert!(!rule_guard_matches("/home/dev/go(/.*)?", &listed));
    assert!(rule_guard_matches(r"/opt/go\.d(/.*)?", &line(r"/opt/go\.d(/.*)?")));
    assert!(!rule_guard_matches(r"/opt/go\.d(/.*)?", &line(r"/opt/go.d(/.*)?")));
    assert!(rule_guard_matches(r"/srv/a\\b", &line(r"/srv/a\\b")));
    let other_type = "/home/dev/go/pkg/mod(/.*)?    all files    system_u:object_r:usr_t:s0";
    assert!(!rule_guard_matches("$HOME/go/pkg/mod(/.*)?", other_type));
  }

  #[test]
  fn relabel_guards_leave_the_home_to_the_host() {
    assert_eq!(
      SelinuxLabel::relabel_guard("$HOME/go/pkg/mod"),
      "test -z \"$(restorecon -R -n -v -- \"$HOME\"'/go/pkg/mod' 2>/dev/null)\""
    );
    assert_eq!(host_word("~/a b").as_str(), "\"$HOME\"/'a b'");
    assert_eq!(host_word("$HOMEDIR/x").as_str(), "'$HOMEDIR/x'");
    assert_eq!(host_word("/srv/it's").as_str(), r"'/srv/it'\''s'");
  }
}
