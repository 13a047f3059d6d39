//! Whether what a consumer (or the host) shows meets an expectation, and how
//! each expectation reads in a table.

use super::{Cell, Seen};
use crate::plan::expect::{Expect, GoEnvRule};
use base64::Engine;
use std::collections::BTreeMap;

impl Expect {
  /// How the expectation is shown in a table row.
  pub fn label(&self) -> String {
    match self {
      Expect::Env { name, .. } | Expect::Unset { name } => format!("${name}"),
      Expect::PathEntry { dir, before_system: true } => format!("PATH starts with {dir}"),
      Expect::PathEntry { dir, .. } => format!("PATH has {dir}"),
      Expect::GoEnv { name, .. } | Expect::GoEnvRule { name, .. } => format!("go env {name}"),
      Expect::Go { version, .. } => format!("go {version} first on PATH"),
      Expect::Tool { name, version } => format!("{name} {version}"),
      Expect::ToolGo { name } => format!("{name} built by the go on PATH"),
      Expect::Sysctl { key, .. } => format!("sysctl {key}"),
      Expect::Ptrace => "kernel.yama.ptrace_scope lets dlv attach".to_owned(),
      Expect::SelinuxLabel { path, .. } => format!("SELinux type of {path}"),
      Expect::VscodeSetting { key, .. } => format!("vscode {key}"),
      Expect::Fresh => "VS Code server started after the environment last changed".to_owned(),
      Expect::Reachable { what, url } => format!("{what} {url} answers"),
    }
  }

  /// The value wanted, for people.
  pub fn wanted(&self) -> String {
    match self {
      Expect::Env { value, .. } | Expect::GoEnv { value, .. } => value.clone(),
      Expect::Unset { .. } => "(unset)".to_owned(),
      Expect::GoEnvRule { rule: GoEnvRule::ModulesOn, .. } => "empty or on".to_owned(),
      Expect::GoEnvRule { rule: GoEnvRule::Empty, .. } => "empty (no resource declares it)".to_owned(),
      Expect::GoEnvRule { rule: GoEnvRule::NoOtherToolchain { version }, .. } => {
        format!("auto, local or go{version}")
      }
      Expect::PathEntry { dir, .. } => dir.clone(),
      Expect::Go { version, paths } => format!("go{version} at {}", paths.join(" or ")),
      Expect::Tool { name, version } => format!("{name} {version}"),
      Expect::ToolGo { name } => format!("{name} built by the go first on PATH"),
      Expect::Sysctl { value, file, .. } => format!("{value} (live and in {file})"),
      Expect::Ptrace => "0 (or no Yama)".to_owned(),
      Expect::SelinuxLabel { setype, .. } => setype.clone(),
      Expect::VscodeSetting { value, .. } => value.clone(),
      Expect::Fresh => "started after the last change".to_owned(),
      Expect::Reachable { .. } => "an HTTP answer below 500".to_owned(),
    }
  }
}

/// Whether what a consumer saw meets an expectation.
pub fn judge(expect: &Expect, seen: &Seen) -> Cell {
  let wrong = |s: String| Cell::Wrong { seen: s };
  match expect {
    Expect::Env { name, value } => match seen.env.get(name) {
      Some(Some(v)) if v == value => Cell::Ok,
      Some(Some(v)) => wrong(v.clone()),
      _ => wrong("(unset)".to_owned()),
    },
    Expect::Unset { name } => match seen.env.get(name) {
      Some(Some(v)) => wrong(v.clone()),
      _ => Cell::Ok,
    },
    Expect::PathEntry { dir, before_system } => {
      let entries: Vec<&str> = seen.path.split(':').collect();
      match entries.iter().position(|e| e.trim_end_matches('/') == dir.trim_end_matches('/')) {
        None => wrong(format!("not on PATH: {}", seen.path)),
        Some(at) => {
          let system = entries.iter().position(|e| matches!(*e, "/usr/bin" | "/bin" | "/usr/local/bin"));
          if *before_system && system.is_some_and(|s| s < at) {
            wrong(format!("after system directories: {}", seen.path))
          } else {
            Cell::Ok
          }
        }
      }
    }
    Expect::GoEnv { name, value } => go_env(seen, name, |v| v == value),
    Expect::GoEnvRule { name, rule } => go_env(seen, name, |v| match rule {
      GoEnvRule::ModulesOn => v.is_empty() || v == "on",
      GoEnvRule::Empty => v.is_empty(),
      GoEnvRule::NoOtherToolchain { version } => {
        let base = v.strip_suffix("+auto").or_else(|| v.strip_suffix("+path")).unwrap_or(v);
        matches!(base, "" | "auto" | "local" | "path") || base == format!("go{version}")
      }
    }),
    Expect::Go { version, paths } => {
      if seen.go.is_empty() {
        return wrong("(no go on PATH)".to_owned());
      }
      let reported = go_of(seen);
      let at_right_place = paths.iter().any(|p| p == &seen.go);
      if at_right_place && reported == format!("go{version}") {
        Cell::Ok
      } else {
        wrong(format!("{} ({})", seen.go, if reported.is_empty() { "?" } else { reported }))
      }
    }
    Expect::Tool { name, version } => match seen.tools.get(name) {
      Some((path, v)) if !path.is_empty() && v == version => Cell::Ok,
      Some((path, v)) if !path.is_empty() => {
        wrong(format!("{path} ({})", if v.is_empty() { "?" } else { v }))
      }
      _ => wrong("(not on PATH)".to_owned()),
    },
    Expect::ToolGo { name } => {
      let path = seen.tools.get(name).map(|(p, _)| p.as_str()).unwrap_or_default();
      if path.is_empty() {
        return wrong("(not on PATH)".to_owned());
      }
      if seen.go.is_empty() {
        return wrong("(no go on PATH)".to_owned());
      }
      let built = seen.tool_go.get(name).map(String::as_str).unwrap_or_default();
      if !built.is_empty() && built == go_of(seen) {
        Cell::Ok
      } else {
        wrong(format!(
          "{path} built by {}, {} is {}",
          if built.is_empty() { "?" } else { built },
          seen.go,
          go_of(seen)
        ))
      }
    }
    // Facts of the host are judged by [`judge_host`].
    _ => Cell::Absent,
  }
}

/// `go1.22.5` from `go version go1.22.5 linux/amd64`.
fn go_of(seen: &Seen) -> &str {
  seen.go_version.split_whitespace().nth(2).unwrap_or_default()
}

fn go_env(seen: &Seen, name: &str, holds: impl Fn(&str) -> bool) -> Cell {
  let wrong = |s: &str| Cell::Wrong { seen: s.to_owned() };
  if seen.go.is_empty() {
    return wrong("(no go on PATH)");
  }
  match seen.go_env.get(name) {
    Some(v) if holds(v) => Cell::Ok,
    Some(v) if v.is_empty() => wrong("(empty)"),
    Some(v) => wrong(v),
    None => wrong("(not reported)"),
  }
}

/// Whitespace runs as one space, none at the ends (`/proc/sys` uses tabs).
fn words(s: &str) -> String {
  s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A file the script read (`file.PATH`): its bytes, or why there are none.
fn file<'a>(host: &'a BTreeMap<String, String>, path: &str) -> Result<Vec<u8>, &'a str> {
  match host.get(&format!("file.{path}")) {
    Some(b64) => base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| "(unreadable)"),
    None => Err("(no such file)"),
  }
}

/// The value a sysctl.d file gives a key: its last `key = value` line.
pub fn sysctl_file_value(text: &str, key: &str) -> Option<String> {
  text
    .lines()
    .map(str::trim)
    .filter(|l| !l.starts_with('#') && !l.starts_with(';'))
    .filter_map(|l| l.trim_start_matches('-').split_once('='))
    .filter(|(k, _)| k.trim().replace('/', ".") == key)
    .map(|(_, v)| words(v))
    .next_back()
}

/// Whether a fact of the host meets an expectation.
pub fn judge_host(expect: &Expect, host: &BTreeMap<String, String>) -> Cell {
  let wrong = |s: String| Cell::Wrong { seen: s };
  match expect {
    Expect::Sysctl { key, value, file: path } => {
      let live = host.get(&format!("sysctl.{key}")).map(|v| words(v)).unwrap_or_default();
      if live != words(value) {
        return wrong(if live.is_empty() { "(no such key)".to_owned() } else { format!("live {live}") });
      }
      match file(host, path) {
        Err(why) => wrong(format!("live {live}, {path} {why}")),
        Ok(bytes) => match sysctl_file_value(&String::from_utf8_lossy(&bytes), key) {
          Some(v) if v == words(value) => Cell::Ok,
          Some(v) => wrong(format!("live {live}, {path} sets {v}")),
          None => wrong(format!("live {live}, {path} does not set it")),
        },
      }
    }
    Expect::Ptrace => match host.get("ptrace").map(String::as_str) {
      Some("0" | "absent") => Cell::Ok,
      Some(v) => wrong(format!("kernel.yama.ptrace_scope = {v}")),
      None => wrong("(not reported)".to_owned()),
    },
    Expect::SelinuxLabel { path, setype } => match host.get(&format!("selinux.{path}")).map(String::as_str) {
      Some("off") => Cell::Skipped { note: "SELinux is off on this host".to_owned() },
      Some("") | None => wrong("(no such path)".to_owned()),
      Some(context) => {
        if context.split(':').nth(2) == Some(setype.as_str()) {
          Cell::Ok
        } else {
          wrong(context.to_owned())
        }
      }
    },
    Expect::VscodeSetting { file: path, key, value } => {
      let bytes = match file(host, path) {
        Ok(b) => b,
        Err(why) => return wrong(why.to_owned()),
      };
      let text = String::from_utf8_lossy(&bytes);
      let options = jsonc_parser::ParseOptions::default();
      let settings = match jsonc_parser::parse_to_serde_value::<serde_json::Value>(&text, &options) {
        Ok(v) => v,
        Err(e) => return wrong(format!("(the server cannot read it: {e})")),
      };
      let Ok(want) = serde_json::from_str::<serde_json::Value>(value) else {
        return wrong("(the declared value is not JSON)".to_owned());
      };
      match settings.get(key) {
        None => wrong("(not set)".to_owned()),
        Some(have) if setting_holds(&want, have) => workspace_override(host, key, &want),
        Some(have) => wrong(have.to_string()),
      }
    }
    Expect::Reachable { url, .. } => match probe(host, url) {
      None => wrong("(not probed)".to_owned()),
      Some(Probed::NoCurl) => Cell::Skipped { note: "no curl on the host".to_owned() },
      Some(Probed::Failed { why, ms }) => wrong(format!("unreachable after {ms} ms: {why}")),
      Some(Probed::Answered { status, .. }) if (100..500).contains(&status) => Cell::Ok,
      Some(Probed::Answered { status, ms }) => wrong(format!("HTTP {status} in {ms} ms")),
    },
    _ => Cell::Absent,
  }
}

/// What `verify --probe` got from a URL.
#[derive(Debug, PartialEq, Eq)]
pub enum Probed {
  NoCurl,
  Answered { status: u16, ms: u64 },
  Failed { why: String, ms: u64 },
}

/// The script's `probe.URL` fact: `RC STATUS SECONDS`, or `absent`.
pub fn probe(host: &BTreeMap<String, String>, url: &str) -> Option<Probed> {
  let fact = host.get(&format!("probe.{url}"))?;
  if fact == "absent" {
    return Some(Probed::NoCurl);
  }
  let mut words = fact.split_whitespace();
  let rc: i32 = words.next()?.parse().ok()?;
  let status: u16 = words.next().and_then(|s| s.parse().ok()).unwrap_or(0);
  let seconds: f64 = words.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
  // Whole milliseconds of a time curl measured (at most its 10 s limit).
  let ms = format!("{:.0}", seconds * 1000.0).parse().unwrap_or(0);
  if rc == 0 && status > 0 {
    return Some(Probed::Answered { status, ms });
  }
  let why = match rc {
    5 => "cannot resolve the proxy".to_owned(),
    6 => "cannot resolve the host".to_owned(),
    7 => "connection refused or no route".to_owned(),
    28 => "timed out".to_owned(),
    35 => "TLS handshake failed".to_owned(),
    60 => "certificate not trusted".to_owned(),
    n => format!("curl exit status {n}"),
  };
  Some(Probed::Failed { why, ms })
}

/// The shown detail of a row whose cell holds: the status and latency of a probe.
pub fn detail(expect: &Expect, host: &BTreeMap<String, String>) -> Option<String> {
  match expect {
    Expect::Reachable { url, .. } => match probe(host, url)? {
      Probed::Answered { status, ms } => Some(format!("HTTP {status} in {ms} ms")),
      _ => None,
    },
    _ => None,
  }
}

/// The URLs `verify --probe` requests for a GOPROXY value: its http(s)
/// entries (`direct`, `off` and `file://` are not requested).
pub fn proxy_urls(goproxy: &str) -> Vec<String> {
  goproxy
    .split([',', '|'])
    .map(str::trim)
    .filter(|e| e.starts_with("https://") || e.starts_with("http://"))
    .map(str::to_owned)
    .collect()
}

/// The URL of a GOSUMDB value (`name`, `name+key`, `name+key URL`), or none for `off`.
pub fn sumdb_url(gosumdb: &str) -> Option<String> {
  let mut words = gosumdb.split_whitespace();
  let name = words.next()?;
  if name == "off" {
    return None;
  }
  match words.next() {
    Some(url) if url.starts_with("https://") || url.starts_with("http://") => Some(url.to_owned()),
    Some(_) => None,
    None => {
      let host = name.split('+').next().unwrap_or(name);
      (!host.is_empty() && !host.contains('/')).then(|| format!("https://{host}"))
    }
  }
}

/// A workspace's `.vscode/settings.json` under the home that sets the key to
/// another value: in that folder the server uses it instead.
fn workspace_override(host: &BTreeMap<String, String>, key: &str, want: &serde_json::Value) -> Cell {
  for (name, b64) in host.range("workspace.".to_owned()..) {
    let Some(path) = name.strip_prefix("workspace.") else { break };
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64) else { continue };
    let options = jsonc_parser::ParseOptions::default();
    let text = String::from_utf8_lossy(&bytes);
    let Ok(settings) = jsonc_parser::parse_to_serde_value::<serde_json::Value>(&text, &options) else {
      continue;
    };
    if let Some(have) = settings.get(key)
      && !setting_holds(want, have)
    {
      return Cell::Wrong { seen: format!("{have} in {path}, which overrides it in that folder") };
    }
  }
  Cell::Ok
}

/// A declared object holds when each of its keys does (the user's other keys
/// stay); any other value must be equal.
fn setting_holds(want: &serde_json::Value, have: &serde_json::Value) -> bool {
  match (want, have) {
    (serde_json::Value::Object(w), serde_json::Value::Object(h)) => {
      w.iter().all(|(k, v)| h.get(k).is_some_and(|hv| setting_holds(v, hv)))
    }
    _ => want == have,
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use base64::Engine;

  fn seen_with(path: &str) -> Seen {
    Seen { path: path.to_owned(), ..Seen::default() }
  }

  fn host(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
  }

  fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
  }

  #[test]
  fn a_prepended_dir_behind_usr_bin_does_not_hold() {
    let e = Expect::PathEntry { dir: "/usr/local/go/bin".to_owned(), before_system: true };
    assert_eq!(judge(&e, &seen_with("/usr/local/go/bin:/usr/bin")), Cell::Ok);
    assert!(matches!(judge(&e, &seen_with("/usr/bin:/usr/local/go/bin")), Cell::Wrong { .. }));
    assert!(matches!(judge(&e, &seen_with("/usr/bin")), Cell::Wrong { .. }));
  }

  #[test]
  fn the_go_first_on_path_must_be_the_declared_one_at_the_declared_version() {
    let e = Expect::Go { version: "1.22.5".to_owned(), paths: vec!["/usr/local/go/bin/go".to_owned()] };
    let mut s = Seen { go: "/usr/local/go/bin/go".to_owned(), ..Seen::default() };
    s.go_version = "go version go1.22.5 linux/amd64".to_owned();
    assert_eq!(judge(&e, &s), Cell::Ok);
    s.go = "/usr/bin/go".to_owned();
    s.go_version = "go version go1.19.8 linux/amd64".to_owned();
    assert_eq!(judge(&e, &s), Cell::Wrong { seen: "/usr/bin/go (go1.19.8)".to_owned() });
  }

  fn with_go_env(name: &str, value: &str) -> Seen {
    let mut s = Seen { go: "/usr/local/go/bin/go".to_owned(), ..Seen::default() };
    s.go_env.insert(name.to_owned(), value.to_owned());
    s
  }

  #[test]
  fn gopath_mode_a_stray_goflags_and_a_switch_to_another_toolchain_fail() {
    let modules = Expect::GoEnvRule { name: "GO111MODULE".to_owned(), rule: GoEnvRule::ModulesOn };
    assert_eq!(judge(&modules, &with_go_env("GO111MODULE", "")), Cell::Ok);
    assert_eq!(judge(&modules, &with_go_env("GO111MODULE", "on")), Cell::Ok);
    for bad in ["off", "auto"] {
      assert_eq!(judge(&modules, &with_go_env("GO111MODULE", bad)), Cell::Wrong { seen: bad.to_owned() });
    }
    let flags = Expect::GoEnvRule { name: "GOFLAGS".to_owned(), rule: GoEnvRule::Empty };
    assert_eq!(judge(&flags, &with_go_env("GOFLAGS", "")), Cell::Ok);
    assert!(matches!(judge(&flags, &with_go_env("GOFLAGS", "-mod=vendor")), Cell::Wrong { .. }));
    let rule = GoEnvRule::NoOtherToolchain { version: "1.22.5".to_owned() };
    let toolchain = Expect::GoEnvRule { name: "GOTOOLCHAIN".to_owned(), rule };
    for ok in ["auto", "local", "go1.22.5", "go1.22.5+auto", "local+path"] {
      assert_eq!(judge(&toolchain, &with_go_env("GOTOOLCHAIN", ok)), Cell::Ok, "{ok}");
    }
    assert!(matches!(judge(&toolchain, &with_go_env("GOTOOLCHAIN", "go1.23.0")), Cell::Wrong { .. }));
    assert!(matches!(judge(&toolchain, &with_go_env("GOTOOLCHAIN", "go1.23.0+auto")), Cell::Wrong { .. }));
  }

  #[test]
  fn gopls_built_by_another_go_than_the_one_on_path_fails() {
    let e = Expect::ToolGo { name: "gopls".to_owned() };
    let mut s = Seen { go: "/usr/local/go/bin/go".to_owned(), ..Seen::default() };
    s.go_version = "go version go1.22.5 linux/amd64".to_owned();
    assert_eq!(judge(&e, &s), Cell::Wrong { seen: "(not on PATH)".to_owned() });
    s.tools.insert("gopls".to_owned(), ("/home/u/go/bin/gopls".to_owned(), "v0.16.2".to_owned()));
    s.tool_go.insert("gopls".to_owned(), "go1.22.5".to_owned());
    assert_eq!(judge(&e, &s), Cell::Ok);
    s.tool_go.insert("gopls".to_owned(), "go1.21.0".to_owned());
    assert_eq!(
      judge(&e, &s),
      Cell::Wrong {
        seen: "/home/u/go/bin/gopls built by go1.21.0, /usr/local/go/bin/go is go1.22.5".to_owned()
      }
    );
  }

  #[test]
  fn a_sysctl_holds_only_live_and_in_its_file() {
    let e = Expect::Sysctl {
      key: "net.ipv4.ip_local_port_range".to_owned(),
      value: "1024 65000".to_owned(),
      file: "/etc/sysctl.d/90-converge.conf".to_owned(),
    };
    let conf = b64("# converge\nnet.ipv4.ip_local_port_range = 1024   65000\n");
    let facts = [
      ("sysctl.net.ipv4.ip_local_port_range", "1024\t65000"),
      ("file./etc/sysctl.d/90-converge.conf", conf.as_str()),
    ];
    assert_eq!(judge_host(&e, &host(&facts)), Cell::Ok);
    let live = [("sysctl.net.ipv4.ip_local_port_range", "32768 60999"), facts[1]];
    assert_eq!(judge_host(&e, &host(&live)), Cell::Wrong { seen: "live 32768 60999".to_owned() });
    let no_file = [facts[0]];
    assert!(matches!(judge_host(&e, &host(&no_file)), Cell::Wrong { seen } if seen.contains("no such file")));
    let other = b64("net.ipv4.ip_local_port_range=1024 65000\nnet/ipv4/ip_local_port_range = 1 2\n");
    let later = [facts[0], ("file./etc/sysctl.d/90-converge.conf", other.as_str())];
    assert!(matches!(judge_host(&e, &host(&later)), Cell::Wrong { seen } if seen.ends_with("sets 1 2")));
  }

  #[test]
  fn probed_urls_are_the_http_entries_of_goproxy_and_the_sumdb_server() {
    assert_eq!(
      proxy_urls("https://a.example.com|http://127.0.0.1:3000, direct,off,file:///srv/p"),
      ["https://a.example.com", "http://127.0.0.1:3000"]
    );
    assert_eq!(sumdb_url("sum.golang.org").as_deref(), Some("https://sum.golang.org"));
    assert_eq!(sumdb_url("sum.golang.org+033de0ae+Ac4z").as_deref(), Some("https://sum.golang.org"));
    assert_eq!(
      sumdb_url("sum.example.com+k https://sumdb.example.com/x").as_deref(),
      Some("https://sumdb.example.com/x")
    );
    assert_eq!(sumdb_url("off"), None);
    let e = Expect::Reachable { what: "GOPROXY".to_owned(), url: "https://p".to_owned() };
    assert_eq!(judge_host(&e, &host(&[("probe.https://p", "0 404 0.012")])), Cell::Ok);
    assert_eq!(
      detail(&e, &host(&[("probe.https://p", "0 200 0.0126")])).as_deref(),
      Some("HTTP 200 in 13 ms")
    );
    assert_eq!(
      judge_host(&e, &host(&[("probe.https://p", "0 502 1.5")])),
      Cell::Wrong { seen: "HTTP 502 in 1500 ms".to_owned() }
    );
    assert_eq!(
      judge_host(&e, &host(&[("probe.https://p", "7 000 0.001")])),
      Cell::Wrong { seen: "unreachable after 1 ms: connection refused or no route".to_owned() }
    );
    assert!(matches!(judge_host(&e, &host(&[("probe.https://p", "absent")])), Cell::Skipped { .. }));
    assert_eq!(judge_host(&e, &host(&[])), Cell::Wrong { seen: "(not probed)".to_owned() });
  }

  #[test]
  fn ptrace_scope_above_zero_stops_dlv_attach() {
    assert_eq!(judge_host(&Expect::Ptrace, &host(&[("ptrace", "0")])), Cell::Ok);
    assert_eq!(judge_host(&Expect::Ptrace, &host(&[("ptrace", "absent")])), Cell::Ok);
    assert_eq!(
      judge_host(&Expect::Ptrace, &host(&[("ptrace", "1")])),
      Cell::Wrong { seen: "kernel.yama.ptrace_scope = 1".to_owned() }
    );
  }

  #[test]
  fn selinux_labels_are_skipped_where_selinux_is_off_and_compared_by_type() {
    let e = Expect::SelinuxLabel { path: "/home/u/go".to_owned(), setype: "user_home_t".to_owned() };
    assert!(matches!(judge_host(&e, &host(&[("selinux./home/u/go", "off")])), Cell::Skipped { .. }));
    let right = [("selinux./home/u/go", "unconfined_u:object_r:user_home_t:s0")];
    assert_eq!(judge_host(&e, &host(&right)), Cell::Ok);
    let wrong = [("selinux./home/u/go", "unconfined_u:object_r:default_t:s0")];
    assert!(matches!(judge_host(&e, &host(&wrong)), Cell::Wrong { .. }));
    assert!(matches!(judge_host(&e, &host(&[("selinux./home/u/go", "")])), Cell::Wrong { .. }));
  }

  #[test]
  fn vscode_settings_are_read_as_the_server_reads_them_comments_and_all() {
    let file = "/home/u/.vscode-server/data/Machine/settings.json";
    let e = |key: &str, value: &str| Expect::VscodeSetting {
      file: file.to_owned(),
      key: key.to_owned(),
      value: value.to_owned(),
    };
    let text = b64(
      "{\n  // the team's proxy\n  \"go.toolsEnvVars\": {\"GOPROXY\": \"https://p\", \"CGO_ENABLED\": \"0\"},\n  \"go.useLanguageServer\": true,\n}\n",
    );
    let facts = host(&[(&format!("file.{file}"), text.as_str())]);
    assert_eq!(judge_host(&e("go.toolsEnvVars", r#"{"GOPROXY":"https://p"}"#), &facts), Cell::Ok);
    assert_eq!(judge_host(&e("go.useLanguageServer", "true"), &facts), Cell::Ok);
    assert!(matches!(
      judge_host(&e("go.toolsEnvVars", r#"{"GOPROXY":"https://q"}"#), &facts),
      Cell::Wrong { .. }
    ));
    assert_eq!(
      judge_host(&e("go.goroot", r#""/usr/local/go""#), &facts),
      Cell::Wrong { seen: "(not set)".to_owned() }
    );
    // A workspace under the home that sets the key otherwise overrides it there.
    let workspace = b64("{ \"go.useLanguageServer\": false }");
    let mut overridden = facts.clone();
    overridden.insert("workspace./home/u/src/app/.vscode/settings.json".to_owned(), workspace);
    assert_eq!(
      judge_host(&e("go.useLanguageServer", "true"), &overridden),
      Cell::Wrong {
        seen: "false in /home/u/src/app/.vscode/settings.json, which overrides it in that folder".to_owned()
      }
    );
    assert_eq!(judge_host(&e("go.toolsEnvVars", r#"{"GOPROXY":"https://p"}"#), &overridden), Cell::Ok);
    let broken = host(&[(&format!("file.{file}"), b64("{ \"a\": ").as_str())]);
    assert!(
      matches!(judge_host(&e("a", "1"), &broken), Cell::Wrong { seen } if seen.contains("cannot read"))
    );
    assert_eq!(judge_host(&e("a", "1"), &host(&[])), Cell::Wrong { seen: "(no such file)".to_owned() });
  }
}
