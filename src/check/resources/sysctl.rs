//! `sysctl "KEY" = VALUE`: a kernel parameter, persisted in a late-sorted file
//! in `/etc/sysctl.d` and set live when it differs.

use crate::check::reader::{Cx, Reader};
use crate::check::resource::{Evaluated, HostInfo, Kind, KindDoc, Planning, QueryScope, Spec, Validator};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic};
use crate::host::facts::Request;
use crate::plan::change::{Change, HostState, write_if_changed};
use crate::syntax::ast::ValueKind;

pub struct SysctlKind;

/// The file converge writes its sysctl keys to, sorted after distro files.
pub const DEFAULT_FILE: &str = "/etc/sysctl.d/90-converge.conf";

#[derive(Debug)]
pub struct Sysctl {
  pub key: Text,
  /// The value as written: numbers are written as their decimal text.
  pub value: Text,
  pub file: Option<Text>,
  /// `state = "absent"`: the key leaves the file (the live value is kept).
  pub absent: bool,
}

/// The attributes of its block, besides `name`, `after`, `notify` and `sensitive`.
const ATTRIBUTES: &[&str] = &["file", "state"];

impl Kind for SysctlKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["sysctl"]
  }

  fn doc(&self) -> KindDoc {
    KindDoc { summary: "a kernel parameter, persistent and live", attributes: ATTRIBUTES }
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let key = r.label_or_word(cx, "key")?;
    r.finish(cx)?;
    if r.stmt().value.is_none() && super::state_absent(r.stmt()) {
      let options = r.options(cx, ATTRIBUTES);
      let file = options.text(cx, "file");
      options.choice(cx, "state", &["present", "absent"]);
      return Some(Box::new(Sysctl { value: Text::new(String::new(), key.span), key, file, absent: true }));
    }
    let raw = r.value(cx, "value")?;
    let value = match &raw.kind {
      ValueKind::Int(i) => Text::new(i.value.to_string(), raw.span),
      ValueKind::Str(_) => crate::check::reader::text_of(raw, cx, "a sysctl value")?,
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
    let options = r.options(cx, ATTRIBUTES);
    let file = options.text(cx, "file");
    let absent = options.choice(cx, "state", &["present", "absent"]).is_some_and(|s| s.value == "absent");
    Some(Box::new(Sysctl { key, value, file, absent }))
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

/// The sysctl file without the lines that set `key`; other lines kept byte
/// for byte.
pub fn remove_line(existing: &[u8], key: &str) -> Vec<u8> {
  let mut out = Vec::with_capacity(existing.len());
  for line in existing.split_inclusive(|b| *b == b'\n') {
    let l = String::from_utf8_lossy(line);
    let k = l.trim_start_matches('-').split('=').next().unwrap_or("").trim().replace('/', ".");
    if !l.trim_start().starts_with(['#', ';']) && l.contains('=') && k == key {
      continue;
    }
    out.extend_from_slice(line);
  }
  out
}

/// Whether a sysctl file holds nothing but the header converge writes into
/// a file it creates.
pub fn only_header(data: &[u8]) -> bool {
  data.is_empty() || data == b"# Managed by converge: keys set by playbooks.\n"
}

/// Keys that hold one integer, with the range the kernel takes.
const INTEGER_KEYS: &[(&str, i64, i64)] = &[
  ("fs.inotify.max_user_watches", 1, i32::MAX as i64),
  ("fs.inotify.max_user_instances", 1, i32::MAX as i64),
  ("fs.inotify.max_queued_events", 1, i32::MAX as i64),
  ("fs.file-max", 0, i64::MAX),
  ("fs.nr_open", 0, i32::MAX as i64),
  ("kernel.yama.ptrace_scope", 0, 3),
  ("kernel.perf_event_paranoid", -1, 4),
  ("kernel.kptr_restrict", 0, 2),
  ("kernel.dmesg_restrict", 0, 1),
  ("kernel.pid_max", 301, 4_194_304),
  ("kernel.unprivileged_userns_clone", 0, 1),
  ("user.max_user_namespaces", 0, i32::MAX as i64),
  ("vm.max_map_count", 0, i32::MAX as i64),
  ("vm.swappiness", 0, 200),
  ("vm.overcommit_memory", 0, 2),
  ("net.core.somaxconn", 0, i32::MAX as i64),
  ("net.ipv4.ip_forward", 0, 1),
];

/// The longest value the kernel takes (one page).
const MAX_VALUE: usize = 4096;

/// Checks a value for its key (dotted): `Err((reason, help))` for what
/// sysctl.d cannot hold or the key does not take.
pub fn check_value(key: &str, value: &str) -> Result<(), (String, String)> {
  if value.trim().is_empty() {
    return Err(("the value is empty".into(), "write the value, such as `524288`".into()));
  }
  if let Some(c) = value.chars().find(|c| c.is_control() && *c != '\t') {
    let reason = if c == '\n' || c == '\r' {
      "the value spans several lines".to_owned()
    } else {
      format!("the value contains the control character U+{:04X}", u32::from(c))
    };
    return Err((reason, "a sysctl.d line holds one value: remove it".into()));
  }
  if let Some(c) = value.chars().find(|c| matches!(c, ';' | '#')) {
    return Err((
      format!("the value contains `{c}`"),
      "a sysctl value is numbers or words separated by spaces: write only the value".into(),
    ));
  }
  if value.trim() != value {
    return Err((
      "the value has leading or trailing spaces, which sysctl.d drops".into(),
      "remove the spaces".into(),
    ));
  }
  if value.len() > MAX_VALUE {
    return Err((
      format!("the value is {} bytes; the kernel takes at most {MAX_VALUE}", value.len()),
      "shorten the value".into(),
    ));
  }
  if let Some((_, min, max)) = INTEGER_KEYS.iter().find(|(k, ..)| *k == key) {
    match value.parse::<i64>() {
      Ok(n) if (*min..=*max).contains(&n) => {}
      Ok(n) => {
        return Err((
          format!("`{key}` takes {min} to {max}, not {n}"),
          format!("write a number from {min} to {max}"),
        ));
      }
      Err(_) => {
        return Err((
          format!("`{key}` takes one integer, not `{value}`"),
          format!(
            "write a whole number from {min} to {max}, such as `sysctl \"{key}\" = {max_ex}`",
            max_ex = (*max).min(524_288)
          ),
        ));
      }
    }
  }
  Ok(())
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

impl Sysctl {
  /// Reports a value its key or sysctl.d cannot take; true when refused.
  fn refuse(&self, v: &mut Validator, key: &str, value: &str) -> bool {
    let Err((reason, help)) = check_value(key, value) else { return false };
    let label =
      if self.value.is_template() { format!("{reason} (for host `{}`)", v.host) } else { reason.clone() };
    v.error(
      Diagnostic::new(Code::SysctlValue, format!("`{key}` cannot be set to this value: {reason}"))
        .label(self.value.span, label)
        .help(help),
    );
    true
  }
}

/// A sysctl key's desired state on one host.
#[derive(Debug)]
struct Desired {
  /// Dotted.
  key: String,
  /// Empty for `state = "absent"`.
  value: String,
  file: String,
  absent: bool,
  key_span: crate::source::Span,
}

impl Desired {
  /// `state = "absent"`: the key's lines leave the file; a file that holds
  /// nothing but converge's header then is deleted. The live value is kept.
  fn plan_absent(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    let (key, file) = (&self.key, &self.file);
    let Some(current) = state.file(file) else { return Vec::new() };
    let data = remove_line(&current.data, key);
    if data[..] == current.data[..] {
      return Vec::new();
    }
    p.note(format!("the live value of `{key}` is kept until the next boot"));
    if only_header(&data) {
      return vec![Change::Remove {
        path: file.clone(),
        before: current.clone(),
        system: p.host.is_system(file),
      }];
    }
    write_if_changed(state, file, data, None, None, true).into_iter().collect()
  }
}

impl crate::check::resource::Desired for Desired {
  fn plan(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    if self.absent {
      return self.plan_absent(p, state);
    }
    let (key, value, file, host) = (&self.key, &self.value, &self.file, p.host);
    let live = state.sysctl.get(key).cloned().flatten();
    if !host.rooted && live.is_none() {
      p.error(
        Diagnostic::new(Code::HostLacks, format!("the kernel of `{}` has no sysctl key `{key}`", host.name))
          .label(self.key_span, "unknown to this kernel")
          .help(
            "check the key with `sysctl -a`; some keys exist only with a module loaded or on newer kernels",
          ),
      );
      return Vec::new();
    }
    let existing = state.file(file).map(|f| f.data.clone()).unwrap_or_default();
    let data = set_line(&existing, key, value);
    let mut changes: Vec<Change> =
      write_if_changed(state, file, data, None, None, true).into_iter().collect();
    let normalize = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    if !host.rooted && live.as_deref().map(normalize) != Some(normalize(value)) {
      changes.push(Change::Run {
        summary: format!("sysctl -w {key}={value} (live: {})", live.unwrap_or_default()),
        script: crate::host::shell::sh!("sysctl -q -w {}", format!("{key}={value}")).into(),
        system: true,
        payload: None,
      });
    }
    changes
  }

  fn owns(&self, _host: &HostInfo, _state: &HostState) -> Vec<crate::plan::ledger::Owned> {
    if self.absent {
      return Vec::new();
    }
    vec![crate::plan::ledger::Owned::Key {
      path: self.file.clone(),
      file: crate::plan::ledger::KeyFile::Sysctl,
      key: self.key.clone(),
      created: false,
    }]
  }

  fn expects(&self, host: &HostInfo) -> Vec<crate::plan::expect::Expect> {
    if self.absent {
      return Vec::new();
    }
    vec![crate::plan::expect::Expect::Sysctl {
      key: self.key.clone(),
      value: self.value.clone(),
      file: host.expand(&self.file),
    }]
  }
}

impl Spec for Sysctl {
  fn id(&self) -> String {
    format!("sysctl {}", self.key.value)
  }

  fn claims(&self) -> Vec<Text> {
    vec![Text::new(format!("sysctl {}", self.key.value.replace('/', ".")), self.key.span)]
  }

  fn requests(&self, v: &mut QueryScope) -> Vec<Request> {
    let mut out = Vec::new();
    if let Some(key) = v.text(&self.key) {
      out.push(Request::Sysctl(key.replace('/', ".")));
    }
    let file = self.file.as_ref().and_then(|f| v.text(f)).unwrap_or_else(|| DEFAULT_FILE.to_owned());
    out.push(Request::File(file));
    out
  }

  fn evaluate(&self, v: &mut Validator, _host: &HostInfo) -> Evaluated {
    let key = v.text(&self.key);
    let file = self.file.as_ref().map_or_else(|| Some(DEFAULT_FILE.to_owned()), |f| v.text(f));
    let value = if self.absent { Some(String::new()) } else { v.text(&self.value) };
    let mut ok = true;
    if !self.absent {
      if let Some(key) = &key
        && !is_key(key)
      {
        ok = false;
        v.error(
          Diagnostic::new(Code::SysctlKey, format!("`{key}` is not a sysctl key"))
            .label(self.key.span, "expected a key such as `fs.inotify.max_user_watches`")
            .help("sysctl keys are dot-separated names under /proc/sys; `sysctl -a` lists them"),
        );
      }
      if let (Some(key), Some(value)) = (&key, &value) {
        ok &= !self.refuse(v, &key.replace('/', "."), value);
      }
      if let (Some(text), Some(f)) = (&self.file, &file)
        && !(f.starts_with("/etc/sysctl.d/") && f.ends_with(".conf"))
      {
        ok = false;
        v.error(
          Diagnostic::new(Code::RelativePath, format!("`{f}` is not a file of its own in /etc/sysctl.d"))
            .label(text.span, "expected /etc/sysctl.d/NAME.conf")
            .help(format!("use a late-sorted name such as `{DEFAULT_FILE}`")),
        );
      }
    }
    let (Some(key), Some(value), Some(file), true) = (key, value, file, ok) else { return Evaluated::Failed };
    Evaluated::Desired(Box::new(Desired {
      key: key.replace('/', "."),
      value,
      file,
      absent: self.absent,
      key_span: self.key.span,
    }))
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

  #[test]
  fn values() {
    for (key, value, ok) in [
      ("fs.inotify.max_user_watches", "524288", true),
      ("fs.inotify.max_user_watches", "524288; touch /tmp/x", false),
      ("fs.inotify.max_user_watches", "0x10", false),
      ("fs.inotify.max_user_watches", "0", false),
      ("fs.inotify.max_user_watches", "99999999999", false),
      ("kernel.yama.ptrace_scope", "1", true),
      ("kernel.yama.ptrace_scope", "4", false),
      ("net.ipv4.tcp_rmem", "4096 87380 6291456", true),
      ("net.ipv4.tcp_rmem", "4096\t87380\t6291456", true),
      ("kernel.core_pattern", "|/usr/lib/systemd/systemd-coredump %P %u %g", true),
      ("kernel.core_pattern", "a\nb", false),
      ("kernel.core_pattern", "a # b", false),
      ("kernel.core_pattern", " a", false),
      ("kernel.core_pattern", "a\u{1b}", false),
      ("kernel.core_pattern", "", false),
    ] {
      assert_eq!(super::check_value(key, value).is_ok(), ok, "{key} = {value:?}");
    }
    assert!(super::check_value("kernel.core_pattern", &"x".repeat(5000)).is_err());
  }
}
