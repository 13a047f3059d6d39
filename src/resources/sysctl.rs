//! `sysctl "KEY" = VALUE`: a kernel parameter, persisted in a late-sorted file
//! in `/etc/sysctl.d` and set live when it differs.

use crate::ast::ValueKind;
use crate::change::{Change, HostState, write_if_changed};
use crate::diagnostic::{Code, Diagnostic};
use crate::host_facts::Request;
use crate::reader::{Cx, Reader};
use crate::resource::{HostInfo, Kind, Spec, Validator};
use crate::text::Text;

pub struct SysctlKind;

/// The file converge writes its sysctl keys to, sorted after distro files.
pub const DEFAULT_FILE: &str = "/etc/sysctl.d/90-converge.conf";

#[derive(Debug)]
pub struct Sysctl {
  pub key: Text,
  /// The value as written: numbers are written as their decimal text.
  pub value: Text,
  pub file: Option<Text>,
}

impl Kind for SysctlKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["sysctl"]
  }

  fn summary(&self) -> &'static str {
    "a kernel parameter, persistent and live"
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let key = r.label_or_word(cx, "key")?;
    r.finish(cx)?;
    let raw = r.value(cx, "value")?;
    let value = match &raw.kind {
      ValueKind::Int(i) => Text::new(i.value.to_string(), raw.span),
      ValueKind::Str(_) => crate::reader::text_of(raw, cx, "a sysctl value")?,
      other => {
        cx.error(
          Diagnostic::new(
            Code::WrongType,
            format!("a sysctl value must be a number or a string, found {}", other.describe()),
          )
          .label(raw.span, "expected a number or a string")
          .help("several numbers go in one string: `\"4096 87380 6291456\"`"),
        );
        return None;
      }
    };
    let options = r.options(cx, &["file"]);
    let file = options.text(cx, "file");
    Some(Box::new(Sysctl { key, value, file }))
  }
}

/// The sysctl file with `key = value` set: an existing line for the key is
/// replaced in place, a new one is added at the end; other lines are kept.
pub fn set_line(existing: &[u8], key: &str, value: &str) -> Vec<u8> {
  let text = String::from_utf8_lossy(existing);
  let line = format!("{key} = {value}");
  let mut out = String::new();
  let mut found = false;
  if text.is_empty() {
    out.push_str("# Managed by converge: keys set by playbooks.\n");
  }
  for l in text.lines() {
    let k = l.trim_start_matches('-').split('=').next().unwrap_or("").trim().replace('/', ".");
    if !l.trim_start().starts_with(['#', ';']) && k == key {
      if !found {
        out.push_str(&line);
        out.push('\n');
      }
      found = true;
      continue;
    }
    out.push_str(l);
    out.push('\n');
  }
  if !found {
    out.push_str(&line);
    out.push('\n');
  }
  out.into_bytes()
}

/// Whether a text is a sysctl key: dot- or slash-separated parts of letters,
/// digits, `_` and `-`, at least two of them.
pub fn is_key(key: &str) -> bool {
  let parts: Vec<&str> = key.split(['.', '/']).collect();
  parts.len() >= 2
    && parts
      .iter()
      .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
}

impl Spec for Sysctl {
  fn id(&self) -> String {
    format!("sysctl {}", self.key.value)
  }

  fn claims(&self) -> Vec<Text> {
    vec![Text::new(format!("sysctl {}", self.key.value.replace('/', ".")), self.key.span)]
  }

  fn requests(&self, v: &mut Validator) -> Vec<Request> {
    let mut out = Vec::new();
    if let Some(key) = v.text(&self.key) {
      out.push(Request::Sysctl(key.replace('/', ".")));
    }
    let file = self.file.as_ref().and_then(|f| v.text(f)).unwrap_or_else(|| DEFAULT_FILE.to_owned());
    out.push(Request::File(file));
    out
  }

  fn plan(&self, v: &mut Validator, host: &HostInfo, state: &HostState) -> Vec<Change> {
    let (Some(key), Some(value)) = (v.text(&self.key), v.text(&self.value)) else { return Vec::new() };
    let key = key.replace('/', ".");
    let file = self.file.as_ref().and_then(|f| v.text(f)).unwrap_or_else(|| DEFAULT_FILE.to_owned());
    let live = state.sysctl.get(&key).cloned().flatten();
    if !host.rooted && live.is_none() {
      v.error(
        Diagnostic::new(Code::HostLacks, format!("the kernel of `{}` has no sysctl key `{key}`", host.name))
          .label(self.key.span, "unknown to this kernel")
          .help(
            "check the key with `sysctl -a`; some keys exist only with a module loaded or on newer kernels",
          ),
      );
      return Vec::new();
    }
    let existing = state.file(&file).map(|f| f.data.clone()).unwrap_or_default();
    let data = set_line(&existing, &key, &value);
    let mut changes: Vec<Change> =
      write_if_changed(state, &file, data, None, None, true).into_iter().collect();
    let normalize = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    if !host.rooted && live.as_deref().map(normalize) != Some(normalize(&value)) {
      changes.push(Change::Run {
        summary: format!("sysctl -w {key}={value} (live: {})", live.unwrap_or_default()),
        script: format!("sysctl -q -w {}", crate::apply::quote(&format!("{key}={value}"))),
        system: true,
      });
    }
    changes
  }

  fn validate(&self, v: &mut Validator) {
    if let Some(key) = v.text(&self.key)
      && !is_key(&key)
    {
      v.error(
        Diagnostic::new(Code::SysctlKey, format!("`{key}` is not a sysctl key"))
          .label(self.key.span, "expected a key such as `fs.inotify.max_user_watches`")
          .help("sysctl keys are dot-separated names under /proc/sys; `sysctl -a` lists them"),
      );
    }
    if let Some(value) = v.text(&self.value)
      && (value.contains('\n') || value.trim().is_empty())
    {
      v.error(
        Diagnostic::new(Code::WrongType, "a sysctl value must be one non-empty line")
          .label(self.value.span, "empty or several lines"),
      );
    }
    if let Some(file) = &self.file
      && let Some(f) = v.text(file)
      && !(f.starts_with("/etc/sysctl.d/") && f.ends_with(".conf"))
    {
      v.error(
        Diagnostic::new(Code::RelativePath, format!("`{f}` is not a file of its own in /etc/sysctl.d"))
          .label(file.span, "expected /etc/sysctl.d/NAME.conf")
          .help(format!("use a late-sorted name such as `{DEFAULT_FILE}`")),
      );
    }
  }
}

#[cfg(test)]
mod tests {
  #[test]
  fn keys() {
    for (key, ok) in [
      ("fs.inotify.max_user_watches", true),
      ("net/ipv4/ip_forward", true),
      ("kernel.yama.ptrace_scope", true),
      ("net.ipv4.conf.eth0-1.rp_filter", true),
      ("fs", false),
      ("fs..x", false),
      ("fs.inotify max", false),
    ] {
      assert_eq!(super::is_key(key), ok, "{key}");
    }
  }
}
