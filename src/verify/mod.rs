//! `converge verify`: prove that every consumer of the environment on a host
//! really sees what the playbook declares.
//!
//! A consumer is a way a program gets its environment: `ssh host cmd`, login
//! bash, interactive bash, zsh in its three modes, a POSIX login shell, fish,
//! the systemd user manager (through the environment.d generator) and the VS
//! Code server's environment resolution (`$SHELL -ilc`), interactive dash, and
//! the user's VS Code server processes that are running now (their
//! `/proc/PID/environ`). An expectation is one declared fact: an exported
//! variable, a PATH entry, a `go env` setting, which `go` comes first and its
//! version, a tool, its version and the Go that built it. One script
//! (`verify.sh`), run once per host, runs a probe under every consumer; the
//! result is a matrix of consumer × expectation where each cell holds or shows
//! the value actually seen. Facts of the host itself (live sysctl values,
//! SELinux types, the VS Code server's settings file, Yama's ptrace scope, a
//! running server older than the environment's files) are rows of their own,
//! checked once ([`judge::judge_host`]).

use crate::host::transport::Transport;
pub use crate::plan::expect::Expect;
use crate::plan::planner::HostPlan;
pub use judge::{judge, judge_host};
pub use parse::Server;
use std::collections::BTreeMap;
use std::time::Duration;

pub mod judge;
pub(crate) mod parse;

/// The probe and consumer runner.
pub const SCRIPT: &str = concat!(include_str!("servers.sh"), include_str!("verify.sh"));

/// The consumers every host is asked for, in the order reported; the running
/// VS Code server processes follow them.
pub const CONSUMERS: &[&str] = &[
  "ssh", "bash -l", "bash -i", "zsh -c", "zsh -l", "zsh -i", "sh -l", "fish", "systemd", "vscode", "dash -i",
];

/// The column of the rows that are facts of the host.
pub const HOST: &str = "host";

fn consumer_names() -> Vec<String> {
  CONSUMERS.iter().map(|c| (*c).to_owned()).collect()
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
  /// Tool name → the Go that built it (`go1.22.5`).
  pub tool_go: BTreeMap<String, String>,
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
  /// Not checked on this host, and why (SELinux is off).
  Skipped {
    note: String,
  },
}

impl Cell {
  pub fn failed(&self) -> bool {
    matches!(self, Cell::Wrong { .. } | Cell::Broken { .. })
  }
}

/// One row: an expectation, the resource that declares it, and a cell per
/// consumer (one cell, [`HOST`], for a fact of the host).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Row {
  pub expect: Expect,
  pub label: String,
  pub resource: String,
  /// The plan has a change pending for that resource.
  pub pending: bool,
  pub cells: Vec<Cell>,
  /// What fixes a failing cell, when converge knows (the command, the attribute).
  #[serde(skip_serializing_if = "Option::is_none")]
  pub advice: Option<String>,
  /// What was measured for a fact of the host that holds (a probe's status and latency).
  #[serde(skip_serializing_if = "Option::is_none")]
  pub detail: Option<String>,
}

/// The matrix of one host.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Matrix {
  pub user: String,
  pub shell: String,
  pub consumers: Vec<String>,
  pub rows: Vec<Row>,
  /// Facts of the host, one cell each.
  pub host_rows: Vec<Row>,
  /// The user's running VS Code server processes (also in `consumers`).
  pub servers: Vec<Server>,
  /// Why there is no matrix (the script failed).
  pub error: Option<String>,
}

impl Matrix {
  /// Cells that do not hold (absent consumers and skipped checks fail nothing).
  pub fn failures(&self) -> usize {
    self.rows.iter().chain(&self.host_rows).flat_map(|r| &r.cells).filter(|c| c.failed()).count()
  }

  pub fn holds(&self) -> bool {
    self.error.is_none() && self.failures() == 0
  }

  /// Per consumer (and [`HOST`] for the host's facts): cells that hold and
  /// cells that fail, in column order.
  pub fn cells_by_consumer(&self) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = self.consumers.iter().map(|c| (c.clone(), 0, 0)).collect();
    for row in &self.rows {
      for (slot, cell) in out.iter_mut().zip(&row.cells) {
        count(slot, cell);
      }
    }
    if !self.host_rows.is_empty() {
      let mut slot = (HOST.to_owned(), 0, 0);
      self.host_rows.iter().flat_map(|r| &r.cells).for_each(|c| count(&mut slot, c));
      out.push(slot);
    }
    out
  }
}

fn count(slot: &mut (String, usize, usize), cell: &Cell) {
  match cell {
    Cell::Ok => slot.1 += 1,
    c if c.failed() => slot.2 += 1,
    _ => {}
  }
}

/// The script's arguments for an expectation: what each consumer (or the host)
/// must report. Names holding a line break are left out (the row then shows
/// "not reported"): the script reads its list a line at a time.
fn script_args(expect: &Expect) -> Vec<String> {
  let pairs: Vec<(&str, &str)> = match expect {
    Expect::Env { name, .. } | Expect::Unset { name } => vec![("env", name)],
    Expect::GoEnv { name, .. } | Expect::GoEnvRule { name, .. } => vec![("goenv", name)],
    Expect::Tool { name, .. } | Expect::ToolGo { name } => vec![("tool", name)],
    Expect::Sysctl { key, file, .. } => vec![("sysctl", key), ("file", file)],
    Expect::SelinuxLabel { path, .. } => vec![("selinux", path)],
    Expect::VscodeSetting { file, .. } => vec![("file", file), ("workspaces", "-")],
    Expect::Ptrace => vec![("ptrace", "-")],
    Expect::Reachable { url, .. } => vec![("probe", url)],
    Expect::PathEntry { .. } | Expect::Go { .. } | Expect::Fresh => Vec::new(),
  };
  pairs
    .into_iter()
    .filter(|(_, name)| !name.is_empty() && !name.contains(['\n', '\r']))
    .flat_map(|(kind, name)| [kind.to_owned(), name.to_owned()])
    .collect()
}

/// The plan's expectations, each with its resource and whether a change is
/// pending for it: once each, and a `go env` rule only where no resource
/// declares that setting's value.
fn expectations(plan: &HostPlan) -> Vec<(&str, bool, &Expect)> {
  let mut out: Vec<(&str, bool, &Expect)> = Vec::new();
  for step in &plan.steps {
    for e in &step.expects {
      if !out.iter().any(|(_, _, seen)| *seen == e) {
        out.push((step.name.as_str(), !step.changes.is_empty(), e));
      }
    }
  }
  let declared: Vec<String> = out
    .iter()
    .filter_map(|(_, _, e)| match e {
      Expect::GoEnv { name, .. } => Some(name.clone()),
      _ => None,
    })
    .collect();
  out.retain(|(_, _, e)| !matches!(e, Expect::GoEnvRule { name, .. } if declared.contains(name)));
  out
}

/// `--probe`: each declared GOPROXY entry and GOSUMDB, requested from the host.
fn probes<'a>(expects: &[(&'a str, bool, &Expect)]) -> Vec<(&'a str, bool, Expect)> {
  let mut out: Vec<(&'a str, bool, Expect)> = Vec::new();
  for (resource, pending, e) in expects {
    let Expect::GoEnv { name, value } = e else { continue };
    let urls = match name.as_str() {
      "GOPROXY" => judge::proxy_urls(value),
      "GOSUMDB" => judge::sumdb_url(value).into_iter().collect(),
      _ => continue,
    };
    for url in urls {
      let expect = Expect::Reachable { what: name.clone(), url };
      if !out.iter().any(|(_, _, seen)| *seen == expect) {
        out.push((resource, *pending, expect));
      }
    }
  }
  out
}

/// Runs the verify script on a host and builds its matrix from the plan's
/// expectations. `ssh` says the script runs as `ssh host cmd` does; `probe`
/// also requests the declared module proxies and checksum database.
pub fn verify_host(
  plan: &HostPlan,
  transport: &mut dyn Transport,
  ssh: bool,
  timeout: Duration,
  probe: bool,
) -> Matrix {
  let declared = expectations(plan);
  let probed = if probe { probes(&declared) } else { Vec::new() };
  let expects: Vec<(&str, bool, &Expect)> =
    declared.into_iter().chain(probed.iter().map(|(r, p, e)| (*r, *p, e))).collect();
  let mut args = vec![crate::host::facts::nonce(), if ssh { "ssh" } else { "local" }.to_owned()];
  let nonce = args[0].clone();
  for (_, _, e) in &expects {
    for pair in script_args(e).chunks(2) {
      if !args[2..].chunks(2).any(|seen| seen == pair) {
        args.extend_from_slice(pair);
      }
    }
  }
  let empty = |error: String| Matrix {
    user: String::new(),
    shell: String::new(),
    consumers: consumer_names(),
    rows: Vec::new(),
    host_rows: Vec::new(),
    servers: Vec::new(),
    error: Some(error),
  };
  let output = match transport.run_script(SCRIPT, &args, timeout) {
    Ok(o) => o,
    Err(e) => return empty(format!("cannot run the verify script: {e}")),
  };
  let stdout = String::from_utf8_lossy(&output.stdout);
  let Some(parsed) = parse::parse(&stdout, &nonce) else {
    return empty(format!(
      "the verify script printed no framed output (exit status {:?}): {}",
      output.status,
      String::from_utf8_lossy(&output.stderr).trim()
    ));
  };
  let mut consumers = consumer_names();
  consumers.extend(parsed.servers.iter().map(Server::consumer));
  let mut rows = Vec::new();
  let mut host_rows = Vec::new();
  for (resource, pending, expect) in &expects {
    let row = |cells: Vec<Cell>| Row {
      label: expect.label(),
      expect: (*expect).clone(),
      resource: (*resource).to_owned(),
      pending: *pending,
      cells,
      advice: None,
      detail: None,
    };
    if expect.of_host() {
      let mut r = row(vec![judge_host(expect, &parsed.host)]);
      r.detail = judge::detail(expect, &parsed.host);
      host_rows.push(r);
      continue;
    }
    let cells = consumers
      .iter()
      .map(|c| match parsed.probes.get(c) {
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
      .collect();
    rows.push(row(cells));
  }
  if let Some(fresh) = fresh_row(&parsed) {
    host_rows.push(fresh);
  }
  let mut matrix = Matrix {
    user: parsed.user,
    shell: parsed.shell,
    consumers,
    rows,
    host_rows,
    servers: parsed.servers,
    error: None,
  };
  advise(&mut matrix, &plan.host);
  matrix
}

/// "restart needed": a running server process that started before the files
/// its environment comes from last changed still has the old environment.
fn fresh_row(parsed: &parse::Parsed) -> Option<Row> {
  if parsed.servers.is_empty() {
    return None;
  }
  let (changed, file) = parsed.env_changed.clone().unwrap_or_default();
  let stale: Vec<String> = parsed
    .servers
    .iter()
    .filter(|s| s.started < changed)
    .map(|s| format!("{} started {} s before {file} changed", s.consumer(), changed - s.started))
    .collect();
  let cell = if stale.is_empty() { Cell::Ok } else { Cell::Wrong { seen: stale.join("; ") } };
  Some(Row {
    expect: Expect::Fresh,
    label: Expect::Fresh.label(),
    resource: "vscode server".to_owned(),
    pending: false,
    cells: vec![cell],
    advice: None,
    detail: None,
  })
}

/// The command a person runs to restart the user's VS Code server: its
/// processes stopped by PID, so that the next connection starts a fresh one.
pub fn restart_command(servers: &[Server]) -> String {
  let pids: Vec<String> = servers.iter().filter(|s| s.what != "gopls").map(|s| s.pid.to_string()).collect();
  format!("kill {}", pids.join(" "))
}

/// Names the fix of rows that fail where converge knows one.
fn advise(matrix: &mut Matrix, host: &str) {
  let dash = matrix.shell.ends_with("/dash") || matrix.shell.ends_with("/sh");
  let consumers = matrix.consumers.clone();
  for row in &mut matrix.rows {
    let failing: Vec<&str> =
      consumers.iter().zip(&row.cells).filter(|(_, c)| c.failed()).map(|(n, _)| n.as_str()).collect();
    if failing.is_empty() {
      continue;
    }
    let dash_only = failing.iter().all(|c| *c == "dash -i" || (dash && *c == "ssh"));
    row.advice = match &row.expect {
      Expect::Tool { name, .. } | Expect::ToolGo { name } if dash_only => Some(format!(
        "dash reads no file for `ssh host cmd` or `dash -i`, so ~/go/bin is not on their PATH: \
         `go tool ... {{ link = true }}` links {name} into /usr/local/bin, which every consumer has"
      )),
      Expect::Go { .. } if dash_only => Some(
        "dash reads no file for `ssh host cmd` or `dash -i`: `go toolchain` links go into /usr/local/bin \
         unless `link = false`"
          .to_owned(),
      ),
      Expect::PathEntry { .. } | Expect::Env { .. } if dash_only => Some(
        "dash reads no file for `ssh host cmd` or the `dash -i` it starts: a plain value exported with \
         `scope = system` goes into /etc/environment, which every ssh session gets; for tools on PATH, \
         `go tool ... { link = true }` and `go toolchain` link into /usr/local/bin"
          .to_owned(),
      ),
      Expect::GoEnvRule { name, .. } => Some(format!(
        "declare the value with `goenv {{ {name} = ... }}` and remove what sets it where the consumers above read it"
      )),
      _ => None,
    };
  }
  let servers = matrix.servers.clone();
  for row in &mut matrix.host_rows {
    if !row.cells.iter().any(Cell::failed) {
      continue;
    }
    row.advice = match &row.expect {
      Expect::Fresh => Some(format!(
        "restart the VS Code server: `{}` on {host} as {}, then reconnect (or run \"Remote-SSH: Kill VS Code \
         Server on Host\"); a `vscode restart` handler notified by the environment's resources does it",
        restart_command(&servers),
        matrix.user
      )),
      Expect::Reachable { what, .. } => Some(format!(
        "`go` reaches {what} from this host with the proxy variables of its sessions (https_proxy, no_proxy; \
         /etc/environment or the shells' files): fix them, or the entry; with GOTOOLCHAIN=auto an unreachable \
         proxy also makes `go` fail to switch toolchains"
      )),
      Expect::Ptrace => Some(
        "`dlv attach` needs `sysctl kernel.yama.ptrace_scope = 0` (or dlv run with CAP_SYS_PTRACE)"
          .to_owned(),
      ),
      _ => None,
    };
  }
}
