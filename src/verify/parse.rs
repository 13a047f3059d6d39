//! Reading the verify script's output: only the nonce-framed lines count.

use super::{Probe, Seen};
use std::collections::BTreeMap;

/// A running VS Code server process (or a gopls it started).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Server {
  pub pid: u32,
  /// `server`, `extension host` or `gopls`.
  pub what: String,
  /// When it started, in seconds since the epoch (0 when unknown).
  pub started: u64,
}

impl Server {
  /// Its column in the matrix.
  pub fn consumer(&self) -> String {
    format!("{} {}", self.what, self.pid)
  }
}

#[derive(Default)]
pub(crate) struct Parsed {
  pub user: String,
  pub shell: String,
  pub probes: BTreeMap<String, Probe>,
  /// Facts of the host (`sysctl.KEY`, `file.PATH`, `nofile.PATH`, `selinux.PATH`, `ptrace`).
  pub host: BTreeMap<String, String>,
  /// The newest file the environment comes from: (mtime, path).
  pub env_changed: Option<(u64, String)>,
  pub servers: Vec<Server>,
}

pub(crate) fn parse(stdout: &str, nonce: &str) -> Option<Parsed> {
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
  let mut parsed = Parsed::default();
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
    } else if let Some(rest) = line.strip_prefix("host.") {
      if let Some((key, value)) = rest.split_once('=') {
        parsed.host.insert(key.to_owned(), value.to_owned());
      }
    } else if let Some(rest) = line.strip_prefix("probe=") {
      // `absent URL` (no curl), or `RC STATUS SECONDS URL`.
      if let Some(url) = rest.strip_prefix("absent ") {
        parsed.host.insert(format!("probe.{url}"), "absent".to_owned());
      } else if let [rc, status, seconds, url] = rest.splitn(4, ' ').collect::<Vec<_>>()[..] {
        parsed.host.insert(format!("probe.{url}"), format!("{rc} {status} {seconds}"));
      }
    } else if let Some(rest) = line.strip_prefix("envchanged=") {
      let (mtime, file) = rest.split_once(' ').unwrap_or((rest, ""));
      if let Ok(mtime) = mtime.parse::<u64>()
        && mtime > 0
      {
        parsed.env_changed = Some((mtime, file.to_owned()));
      }
    } else if let Some(rest) = line.strip_prefix("server=") {
      let mut words = rest.splitn(3, ' ');
      let pid = words.next().and_then(|p| p.parse().ok());
      let started = words.next().and_then(|s| s.parse().ok()).unwrap_or(0);
      let what = words.next().unwrap_or("server");
      if let Some(pid) = pid
        && matches!(what, "server" | "extension host" | "gopls")
        && parsed.servers.len() < 8
      {
        parsed.servers.push(Server { pid, what: what.to_owned(), started });
      }
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
    } else if let Some(name) = key.strip_prefix("toolgo.") {
      seen.tool_go.insert(name.to_owned(), value.trim().to_owned());
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

  #[test]
  fn servers_host_facts_and_the_last_environment_change_are_read() {
    let out = "__VERIFY_BEGIN_n__\nhost.sysctl.vm.swappiness=10\nhost.ptrace=1\nenvchanged=1700000100 /home/u/.profile\n\
               server=41 1700000000 server\nserver=42 x extension host\nserver=43 1 rm -rf\nserver=zz 1 gopls\n\
               __VC_BEGIN_n__ server 41 0\n__VP_BEGIN_n__\ntoolgo.gopls=go1.22.5\n__VP_END_n__\n__VC_END_n__ server 41\n\
               __VERIFY_END_n__\n";
    let parsed = parse(out, "n").unwrap_or_else(|| panic!("framed"));
    assert_eq!(parsed.host.get("sysctl.vm.swappiness").map(String::as_str), Some("10"));
    assert_eq!(parsed.host.get("ptrace").map(String::as_str), Some("1"));
    assert_eq!(parsed.env_changed, Some((1_700_000_100, "/home/u/.profile".to_owned())));
    let servers: Vec<String> = parsed.servers.iter().map(Server::consumer).collect();
    assert_eq!(servers, ["server 41", "extension host 42"], "unknown kinds and bad pids are dropped");
    assert_eq!(parsed.servers[1].started, 0);
    let Some(Probe::Ran(seen)) = parsed.probes.get("server 41") else { panic!("server ran") };
    assert_eq!(seen.tool_go.get("gopls").map(String::as_str), Some("go1.22.5"));
  }
}
