//! Resources planned from a playbook snippet, a [`Facts`] literal and a
//! [`HostState`] literal: no host, no shell, no file system but the snippet's.

use crate::check::playbook::HostPlay;
use crate::go::env_file::GoEnvFile;
use crate::host::facts::Facts;
use crate::plan::change::{Change, FileState, HostState};
use crate::plan::ledger::HostLedger;
use crate::plan::planner::plan_against;
use crate::source::Sources;

/// A Debian host, user `ada` (uid 1000), with bash, zsh and systemd.
fn facts() -> Facts {
  Facts {
    os: "debian".to_owned(),
    os_family: "debian".to_owned(),
    os_version: "12".to_owned(),
    kernel: "6.1.0-28-amd64".to_owned(),
    arch: "x86_64".to_owned(),
    goarch: "amd64".to_owned(),
    goos: "linux".to_owned(),
    cgroup: 2,
    selinux: "disabled".to_owned(),
    shell: "/bin/bash".to_owned(),
    user: "ada".to_owned(),
    home: "/home/ada".to_owned(),
    hostname: "dev01".to_owned(),
    go_version: "1.22.5".to_owned(),
    cpus: 4,
    memory_mb: 8192,
    uid: 1000,
    has: vec!["bash".to_owned(), "zsh".to_owned(), "systemd".to_owned()],
    ..Facts::default()
  }
}

fn file(text: &str) -> Option<FileState> {
  Some(FileState { data: text.as_bytes().into(), mode: Some(0o644), owner: Some("ada:ada".to_owned()) })
}

fn state(files: &[(&str, Option<FileState>)]) -> HostState {
  let mut state = HostState::default();
  for (path, f) in files {
    state.files.insert((*path).to_owned(), f.clone());
  }
  state
}

/// The one host of `snippet`, checked without errors.
fn play(snippet: &str, sources: &mut Sources) -> HostPlay {
  crate::check::one_play(snippet, sources, false)
}

/// Each step's changes, one line each: `write PATH`, `remove PATH`,
/// `run SUMMARY`, or `error MESSAGE`.
fn planned(snippet: &str, facts: &Facts, state: HostState) -> Vec<String> {
  let mut sources = Sources::new();
  let play = play(snippet, &mut sources);
  let plan = plan_against(&play, &[], facts, state, &HostLedger::default(), &sources);
  let mut out = Vec::new();
  for step in &plan.steps {
    out.extend(step.errors.iter().map(|e| format!("error {}", e.message)));
    out.extend(step.changes.iter().map(|c| match c {
      Change::Write { path, .. } => format!("write {path}"),
      Change::Remove { path, .. } => format!("remove {path}"),
      Change::Run { summary, .. } => format!("run {summary}"),
    }));
  }
  out
}

/// What `snippet` writes to `path`.
fn written(snippet: &str, facts: &Facts, state: HostState, path: &str) -> Option<String> {
  let mut sources = Sources::new();
  let play = play(snippet, &mut sources);
  let plan = plan_against(&play, &[], facts, state, &HostLedger::default(), &sources);
  plan.steps.iter().flat_map(|s| &s.changes).find_map(|c| match c {
    Change::Write { path: p, after, .. } if p == path => {
      Some(String::from_utf8_lossy(&after.data).into_owned())
    }
    _ => None,
  })
}

/// The host once `snippet` is applied to `state`: what the next plan starts from.
fn converged(snippet: &str, facts: &Facts, state: HostState) -> HostState {
  let mut sources = Sources::new();
  let play = play(snippet, &mut sources);
  let plan = plan_against(&play, &[], facts, state.clone(), &HostLedger::default(), &sources);
  let mut state = state;
  plan.steps.iter().flat_map(|s| &s.changes).for_each(|c| state.apply(c));
  state
}

fn with(facts: Facts, f: impl FnOnce(&mut Facts)) -> Facts {
  let mut facts = facts;
  f(&mut facts);
  facts
}

/// One row: a snippet, the host's facts and state, the changes expected.
struct Row {
  what: &'static str,
  snippet: &'static str,
  facts: Facts,
  state: HostState,
  expected: Vec<&'static str>,
}

fn check(rows: Vec<Row>) {
  for row in rows {
    assert_eq!(planned(row.snippet, &row.facts, row.state), row.expected, "{}", row.what);
  }
}

const RC_FILES: [&str; 5] = [
  "write /home/ada/.config/converge/env.sh",
  "write /home/ada/.config/environment.d/60-converge.conf",
  "write /home/ada/.profile",
  "write /home/ada/.bashrc",
  "write /home/ada/.zshenv",
];

#[test]
fn export_table() {
  let snippet = "export EDITOR = \"vim\"\n";
  let done = converged(snippet, &facts(), state(&[]));
  let bash_only = with(facts(), |f| f.has = vec!["bash".to_owned()]);
  check(vec![
    Row { what: "a fresh host", snippet, facts: facts(), state: state(&[]), expected: RC_FILES.to_vec() },
    Row {
      what: "a host without zsh and systemd",
      snippet,
      facts: bash_only.clone(),
      state: state(&[]),
      expected: vec![
        "write /home/ada/.config/converge/env.sh",
        "write /home/ada/.profile",
        "write /home/ada/.bashrc",
      ],
    },
    Row { what: "converged", snippet, facts: facts(), state: done.clone(), expected: vec![] },
    Row {
      what: "another value: only the file that holds the values changes",
      snippet: "export EDITOR = \"nano\"\n",
      facts: facts(),
      state: done,
      expected: vec![
        "write /home/ada/.config/converge/env.sh",
        "write /home/ada/.config/environment.d/60-converge.conf",
      ],
    },
  ]);
  let env = written(snippet, &facts(), state(&[]), "/home/ada/.config/converge/env.sh").unwrap_or_default();
  assert!(env.contains("EDITOR") && env.contains("vim"), "{env}");
  // A user's own lines in a file converge does not own are kept.
  let profile =
    written(snippet, &facts(), state(&[("/home/ada/.profile", file("umask 022\n"))]), "/home/ada/.profile")
      .unwrap_or_default();
  assert!(profile.starts_with("umask 022\n") && profile.contains("# BEGIN converge"), "{profile}");
}

#[test]
fn path_table() {
  let snippet = "path prepend [\"$HOME/go/bin\"]\n";
  let done = converged(snippet, &facts(), state(&[]));
  check(vec![
    Row { what: "a fresh host", snippet, facts: facts(), state: state(&[]), expected: RC_FILES.to_vec() },
    Row { what: "converged", snippet, facts: facts(), state: done.clone(), expected: vec![] },
    Row {
      what: "an entry added: the same block is rewritten, no second one",
      snippet: "path prepend [\"$HOME/go/bin\", \"/opt/tools/bin\"]\n",
      facts: facts(),
      state: done.clone(),
      expected: vec![
        "write /home/ada/.config/converge/env.sh",
        "write /home/ada/.config/environment.d/60-converge.conf",
      ],
    },
  ]);
  let edited = "path prepend [\"$HOME/go/bin\", \"/opt/tools/bin\"]\n";
  let env = written(edited, &facts(), done, "/home/ada/.config/converge/env.sh").unwrap_or_default();
  assert!(env.contains("/opt/tools/bin"), "{env}");
  assert_eq!(env.matches("# BEGIN").count(), env.matches("# END").count(), "{env}");
}

#[test]
fn goenv_table() {
  let snippet = "goenv {\n  GOPRIVATE = \"git.example.com\"\n}\n";
  let done = converged(snippet, &facts(), state(&[]));
  let elsewhere = with(facts(), |f| f.go_env_file = GoEnvFile::Path("/srv/go/env".to_owned()));
  check(vec![
    Row {
      what: "a fresh host",
      snippet,
      facts: facts(),
      state: state(&[]),
      expected: vec!["write /home/ada/.config/go/env"],
    },
    Row { what: "converged", snippet, facts: facts(), state: done, expected: vec![] },
    Row {
      what: "GOENV points elsewhere",
      snippet,
      facts: elsewhere,
      state: state(&[]),
      expected: vec!["write /srv/go/env"],
    },
  ]);
  let kept = written(
    snippet,
    &facts(),
    state(&[("/home/ada/.config/go/env", file("GOFLAGS=-mod=mod\n"))]),
    "/home/ada/.config/go/env",
  )
  .unwrap_or_default();
  assert!(kept.contains("GOFLAGS=-mod=mod") && kept.contains("GOPRIVATE=git.example.com"), "{kept}");
}

#[test]
fn file_table() {
  let snippet = "file \"/etc/motd\" {\n  content = \"hi\\n\"\n}\n";
  let absent = "file \"/etc/motd\" {\n  state = \"absent\"\n}\n";
  check(vec![
    Row { what: "absent", snippet, facts: facts(), state: state(&[]), expected: vec!["write /etc/motd"] },
    Row {
      what: "the same content",
      snippet,
      facts: facts(),
      state: state(&[("/etc/motd", file("hi\n"))]),
      expected: vec![],
    },
    Row {
      what: "other content",
      snippet,
      facts: facts(),
      state: state(&[("/etc/motd", file("bye\n"))]),
      expected: vec!["write /etc/motd"],
    },
    Row {
      what: "state absent, file present",
      snippet: absent,
      facts: facts(),
      state: state(&[("/etc/motd", file("bye\n"))]),
      expected: vec!["remove /etc/motd"],
    },
    Row {
      what: "state absent, file absent",
      snippet: absent,
      facts: facts(),
      state: state(&[]),
      expected: vec![],
    },
  ]);
}

#[test]
fn sysctl_table() {
  let snippet = "sysctl \"fs.inotify.max_user_watches\" = 524288\n";
  let key = "fs.inotify.max_user_watches";
  let live = |value: &str, files: &[(&str, Option<FileState>)]| {
    let mut s = state(files);
    s.sysctl.insert(key.to_owned(), Some(value.to_owned()));
    s
  };
  let persisted =
    file("# Managed by converge: keys set by playbooks.\nfs.inotify.max_user_watches = 524288\n");
  check(vec![
    Row {
      what: "a key this kernel lacks",
      snippet,
      facts: facts(),
      state: state(&[]),
      expected: vec!["error the kernel of `localhost` has no sysctl key `fs.inotify.max_user_watches`"],
    },
    Row {
      what: "live and persisted",
      snippet,
      facts: facts(),
      state: live("524288", &[("/etc/sysctl.d/90-converge.conf", persisted.clone())]),
      expected: vec![],
    },
    Row {
      what: "persisted, live differs",
      snippet,
      facts: facts(),
      state: live("8192", &[("/etc/sysctl.d/90-converge.conf", persisted)]),
      expected: vec!["run sysctl -w fs.inotify.max_user_watches=524288 (live: 8192)"],
    },
    Row {
      what: "neither",
      snippet,
      facts: facts(),
      state: live("8192", &[]),
      expected: vec![
        "write /etc/sysctl.d/90-converge.conf",
        "run sysctl -w fs.inotify.max_user_watches=524288 (live: 8192)",
      ],
    },
    Row {
      what: "a directory tree (--root): the live kernel is not touched",
      snippet,
      facts: with(facts(), |f| f.rooted = true),
      state: state(&[]),
      expected: vec!["write /etc/sysctl.d/90-converge.conf"],
    },
  ]);
}
