//! `sysctl "KEY" = VALUE`: a kernel parameter, persisted in a late-sorted file
//! in `/etc/sysctl.d` and set live when it differs.

use crate::ast::ValueKind;
use crate::diagnostic::{Code, Diagnostic};
use crate::reader::{Cx, Reader};
use crate::resource::{Kind, Spec, Validator};
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

  fn validate(&self, v: &mut Validator) {
    if let Some(key) = v.text(&self.key) {
      if !is_key(&key) {
        v.error(
          Diagnostic::new(Code::SysctlKey, format!("`{key}` is not a sysctl key"))
            .label(self.key.span, "expected a key such as `fs.inotify.max_user_watches`")
            .help("sysctl keys are dot-separated names under /proc/sys; `sysctl -a` lists them"),
        );
      }
    }
    if let Some(value) = v.text(&self.value) {
      if value.contains('\n') || value.trim().is_empty() {
        v.error(
          Diagnostic::new(Code::WrongType, "a sysctl value must be one non-empty line")
            .label(self.value.span, "empty or several lines"),
        );
      }
    }
    if let Some(file) = &self.file {
      if let Some(f) = v.text(file) {
        if !(f.starts_with("/etc/sysctl.d/") && f.ends_with(".conf")) {
          v.error(
            Diagnostic::new(Code::RelativePath, format!("`{f}` is not a file of its own in /etc/sysctl.d"))
              .label(file.span, "expected /etc/sysctl.d/NAME.conf")
              .help(format!("use a late-sorted name such as `{DEFAULT_FILE}`")),
          );
        }
      }
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
