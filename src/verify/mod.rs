//! `converge verify`: prove that every consumer of the environment on a host
//! really sees what the playbook declares.
//!
//! A consumer is a way a program gets its environment: `ssh host cmd`, login
//! bash, interactive bash, zsh in its three modes, a POSIX login shell, fish,
//! the systemd user manager (through the environment.d generator) and the VS
//! Code server (`$SHELL -ilc`). An expectation is one declared fact: an
//! exported variable, a PATH entry, a `go env` setting, which `go` comes first
//! and its version, a tool and its version. One script (`scripts/verify.sh`),
//! run once per host, runs a probe under every consumer; the result is a
//! matrix of consumer × expectation where each cell holds or shows the value
//! actually seen.

use crate::host::transport::Transport;
pub use crate::plan::expect::Expect;
use crate::plan::planner::HostPlan;
use std::collections::BTreeMap;
use std::time::Duration;

/// The probe and consumer runner.
pub const SCRIPT: &str = include_str!("verify.sh");

/// The consumers, in the order reported.
pub const CONSUMERS: &[&str] =
  &["ssh", "bash -l", "bash -i", "zsh -c", "zsh -l", "zsh -i", "sh -l", "fish", "systemd", "vscode"];

fn consumer_names() -> Vec<String> {
  CONSUMERS.iter().map(|c| (*c).to_owned()).collect()
}

impl Expect {
  /// How the expectation is shown in a table row.
  pub fn label(&self) -> String {
    match self {
      Expect::Env { name, .. } | Expect::Unset { name } => format!("${name}"),
      Expect::PathEntry { dir, before_system: true } => format!("PATH starts with {dir}"),
      Expect::PathEntry { dir, .. } => format!("PATH has {dir}"),
      Expect::GoEnv { name, .. } => format!("go env {name}"),
      Expect::Go { version, .. } => format!("go {version} first on PATH"),
      Expect::Tool { name, version } => format!("{name} {version}"),
    }
  }

  /// The value wanted, for people.
  pub fn wanted(&self) -> String {
    match self {
      Expect::Env { value, .. } | Expect::GoEnv { value, .. } => value.clone(),
      Expect::Unset { .. } => "(unset)".to_owned(),
      Expect::PathEntry { dir, .. } => dir.clone(),
      Expect::Go { version, paths } => format!("go{version} at {}", paths.join(" or ")),
      Expect::Tool { name, version } => format!("{name} {version}"),
    }
  }
}

/// What one consumer saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
  pub env: BTreeMap<String, Option<String>>,
  pub path: String,
  pub go: String,
  pub go_version: String,
  pub go_env: BTreeMap<String, String>,
  /// Tool name → (path, module version).
  pub tools: BTreeMap<String, (String, String)>,
}

/// A consumer's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
  /// The shell or program is not on the host.
  Absent,
  /// It ran but printed no framed result (an rc file exited, hung or failed).
  Broken {
    status: i32,
  },
  Ran(Box<Seen>),
}

/// One cell of the matrix.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Cell {
  Ok,
  /// The value seen instead.
  Wrong {
    seen: String,
  },
  Absent,
  /// The consumer gave no answer.
  Broken {
    seen: String,
  },
}

/// One row: an expectation, the resource that declares it, and a cell per consumer.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Row {
  pub expect: Expect,
  pub label: String,
  pub resource: String,
  /// The plan has a change pending for that resource.
  pub pending: bool,
  pub cells: Vec<Cell>,
}

/// The matrix of one host.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Matrix {
  pub user: String,
  pub shell: String,
  pub consumers: Vec<String>,
  pub rows: Vec<Row>,
  /// Why there is no matrix (the script failed).
  pub error: Option<String>,
}

impl Matrix {
  /// Cells that do not hold (absent consumers hold nothing and fail nothing).
  pub fn failures(&self) -> usize {
    self
      .rows
      .iter()
      .flat_map(|r| &r.cells)
      .filter(|c| matches!(c, Cell::Wrong { .. } | Cell::Broken { .. }))
      .count()
  }

  pub fn holds(&self) -> bool {
    self.error.is_none() && self.failures() == 0
  }
}

/// Runs the verify script on a host and builds its matrix from the plan's
/// expectations. `ssh` says the script runs as `ssh host cmd` does.
pub fn verify_host(plan: &HostPlan, transport: &mut dyn Transport, ssh: bool, timeout: Duration) -> Matrix {
  let expects: Vec<(&str, bool, &Expect)> = plan
    .steps
    .iter()
    .flat_map(|s| s.expects.iter().map(move |e| (s.name.as_str(), !s.changes.is_empty(), e)))
    .collect();
  let mut args = vec![crate::host::facts::nonce(), if ssh { "ssh" } else { "local" }.to_owned()];
  let nonce = args[0].clone();
  for (_, _, e) in &expects {
    match e {
      Expect::Env { name, .. } | Expect::Unset { name } => args.extend(["env".to_owned(), name.clone()]),
      Expect::GoEnv { name, .. } => args.extend(["goenv".to_owned(), name.clone()]),
      Expect::Tool { name, .. } => args.extend(["tool".to_owned(), name.clone()]),
      Expect::PathEntry { .. } | Expect::Go { .. } => {}
    }
  }
  let empty = |error: String| Matrix {
    user: String::new(),
    shell: String::new(),
    consumers: consumer_names(),
    rows: Vec::new(),
    error: Some(error),
  };
  let output = match transport.run_script(SCRIPT, &args, timeout) {
    Ok(o) => o,
    Err(e) => return empty(format!("cannot run the verify script: {e}")),
  };
  let stdout = String::from_utf8_lossy(&output.stdout);
  let Some(parsed) = parse(&stdout, &nonce) else {
    return empty(format!(
      "the verify script printed no framed output (exit status {:?}): {}",
      output.status,
      String::from_utf8_lossy(&output.stderr).trim()
    ));
  };
  let rows = expects
    .iter()
    .map(|(resource, pending, expect)| Row {
      label: expect.label(),
      expect: (*expect).clone(),
      resource: (*resource).to_owned(),
      pending: *pending,
      cells: CONSUMERS
        .iter()
        .map(|c| match parsed.probes.get(*c) {
          None | Some(Probe::Absent) => Cell::Absent,
          Some(Probe::Broken { status }) => Cell::Broken {
            seen: if *status == 124 || *status == 137 {
              "no answer: it hung (timed out)".to_owned()
            } else {
              format!("no answer: exit status {status} before the probe ran")
            },
          },
          Some(Probe::Ran(seen)) => judge(expect, seen),
        })
        .collect(),
    })
    .collect();
  Matrix { user: parsed.user, shell: parsed.shell, consumers: consumer_names(), rows, error: None }
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
    Expect::GoEnv { name, value } => {
      if seen.go.is_empty() {
        return wrong("(no go on PATH)".to_owned());
      }
      match seen.go_env.get(name) {
        Some(v) if v == value => Cell::Ok,
        Some(v) if v.is_empty() => wrong("(empty)".to_owned()),
        Some(v) => wrong(v.clone()),
        None => wrong("(not reported)".to_owned()),
      }
    }
    Expect::Go { version, paths } => {
      if seen.go.is_empty() {
        return wrong("(no go on PATH)".to_owned());
      }
      let reported = seen.go_version.split_whitespace().nth(2).unwrap_or_default();
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
  }
}

struct Parsed {
  user: String,
  shell: String,
  probes: BTreeMap<String, Probe>,
}

fn parse(stdout: &str, nonce: &str) -> Option<Parsed> {
  let begin = format!("__VERIFY_BEGIN_{nonce}__");
  let end = format!("__VERIFY_END_{nonce}__");
  let start = stdout.find(&begin)? + begin.len();
  let stop = start + stdout[start..].find(&end)?;
  let body = &stdout[start..stop];
  let consumer_begin = format!("__VC_BEGIN_{nonce}__ ");
  let consumer_end = format!("__VC_END_{nonce}__ ");
  let absent = format!("__VC_ABSENT_{nonce}__ ");
  let probe_begin = format!("__VP_BEGIN_{nonce}__");
  let probe_end = format!("__VP_END_{nonce}__");
  let mut parsed = Parsed { user: String::new(), shell: String::new(), probes: BTreeMap::new() };
  // The consumer being read: its id, exit status, and lines so far.
  let mut current: Option<(String, i32, Vec<&str>)> = None;
  for line in body.lines() {
    if let Some(id) = line.strip_prefix(&absent) {
      parsed.probes.insert(id.to_owned(), Probe::Absent);
    } else if let Some(rest) = line.strip_prefix(&consumer_begin) {
      let (id, status) = rest.rsplit_once(' ').unwrap_or((rest, "0"));
      current = Some((id.to_owned(), status.parse().unwrap_or(-1), Vec::new()));
    } else if line.starts_with(&consumer_end) {
      if let Some((id, status, lines)) = current.take() {
        let framed =
          lines.first() == Some(&probe_begin.as_str()) && lines.last() == Some(&probe_end.as_str());
        // A consumer that timed out is broken even if its shell went on to run
        // the probe after the interrupt: a real one would still be waiting.
        let timed_out = status == 124 || status == 137;
        let probe =
          if framed && !timed_out { Probe::Ran(Box::new(seen(&lines))) } else { Probe::Broken { status } };
        parsed.probes.insert(id, probe);
      }
    } else if let Some((_, _, lines)) = &mut current {
      lines.push(line);
    } else if let Some(v) = line.strip_prefix("user=") {
      parsed.user = v.to_owned();
    } else if let Some(v) = line.strip_prefix("shell=") {
      parsed.shell = v.to_owned();
    }
  }
  Some(parsed)
}

fn seen(lines: &[&str]) -> Seen {
  let mut seen = Seen::default();
  for line in lines {
    let Some((key, value)) = line.split_once('=') else { continue };
    if let Some(name) = key.strip_prefix("env.") {
      seen.env.insert(name.to_owned(), Some(value.to_owned()));
    } else if let Some(name) = key.strip_prefix("unset.") {
      seen.env.insert(name.to_owned(), None);
    } else if let Some(name) = key.strip_prefix("goenv.") {
      seen.go_env.insert(name.to_owned(), value.to_owned());
    } else if let Some(name) = key.strip_prefix("tool.") {
      let (path, version) = value.split_once(' ').unwrap_or((value, ""));
      seen.tools.insert(name.to_owned(), (path.to_owned(), version.trim().to_owned()));
    } else {
      match key {
        "path" => seen.path = value.to_owned(),
        "which.go" => seen.go = value.to_owned(),
        "go.version" => seen.go_version = value.to_owned(),
        _ => {}
      }
    }
  }
  seen
}

#[cfg(test)]
mod tests {
  use super::*;

  fn seen_with(path: &str) -> Seen {
    Seen { path: path.to_owned(), ..Seen::default() }
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

  #[test]
  fn a_consumer_without_its_frame_is_broken_not_wrong() {
    let out = "noise\n__VERIFY_BEGIN_n__\nuser=u\nshell=/bin/zsh\n__VC_BEGIN_n__ zsh -c 124\nhello from zshrc\n\
               __VC_END_n__ zsh -c\n__VC_ABSENT_n__ fish\n__VC_BEGIN_n__ ssh 0\n__VP_BEGIN_n__\nenv.A=1\n\
               unset.B=\npath=/bin\n__VP_END_n__\n__VC_END_n__ ssh\n__VERIFY_END_n__\n";
    let parsed = parse(out, "n").unwrap_or_else(|| panic!("framed"));
    assert_eq!(parsed.shell, "/bin/zsh");
    assert_eq!(parsed.probes.get("zsh -c"), Some(&Probe::Broken { status: 124 }));
    assert_eq!(parsed.probes.get("fish"), Some(&Probe::Absent));
    let Some(Probe::Ran(seen)) = parsed.probes.get("ssh") else { panic!("ssh ran") };
    assert_eq!(seen.env.get("A"), Some(&Some("1".to_owned())));
    assert_eq!(seen.env.get("B"), Some(&None));
  }
}
