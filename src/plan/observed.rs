//! The host as its facts show it: what a resource needs to know about the host
//! ([`HostInfo`]) and the state the plan starts from ([`HostState`]), keyed by
//! expanded paths.

use crate::check::resource::HostInfo;
use crate::host::facts::{Answer, Facts, Request};
use crate::plan::change::{FileState, HostState};

/// What resources see of the host `name`.
pub fn host_info(name: &str, facts: &Facts) -> HostInfo {
  HostInfo {
    name: name.to_owned(),
    home: facts.home.clone(),
    user: facts.user.clone(),
    uid: Some(facts.uid),
    privileged: facts.rooted || facts.uid == 0,
    rooted: facts.rooted,
    login_shell: facts.shell.clone(),
    os_family: facts.os_family.clone(),
    has: facts.has.clone(),
    shell_go_env: facts.shell_go_env.clone(),
    go_env_file: facts.go_env_file.clone(),
  }
}

/// The host as the facts show it, keyed by expanded paths.
pub fn initial_state(facts: &Facts, info: &HostInfo) -> HostState {
  let mut state = HostState::default();
  for request in &facts.queries {
    let answer = facts.answers.get(request);
    match (request, answer) {
      (Request::File(path), Some(Answer::File { data, mode, owner })) => {
        let file = FileState { data: data.as_slice().into(), mode: *mode, owner: owner.clone() };
        state.files.insert(info.expand(path), Some(file));
      }
      (Request::File(path), Some(Answer::Refused(why))) => {
        state.refused.insert(info.expand(path), why.clone());
        state.files.insert(info.expand(path), None);
      }
      (Request::File(path), Some(Answer::Directory)) => {
        state.dirs.insert(info.expand(path));
        state.files.insert(info.expand(path), None);
      }
      (Request::File(path), _) => {
        state.files.insert(info.expand(path), None);
      }
      (Request::GoEnvFile, Some(Answer::Refused(why))) => {
        if let Some(path) = info.go_env_path() {
          state.refused.insert(path.clone(), why.clone());
          state.files.insert(path, None);
        }
      }
      (Request::GoEnvFile, answer) => {
        let Some(path) = info.go_env_path() else { continue };
        let file = match answer {
          Some(Answer::File { data, mode, owner }) => {
            Some(FileState { data: data.as_slice().into(), mode: *mode, owner: owner.clone() })
          }
          _ => None,
        };
        state.files.insert(path, file);
      }
      (Request::Sysctl(key), Some(Answer::Sysctl(value))) => {
        state.sysctl.insert(key.clone(), Some(value.clone()));
      }
      (Request::Sysctl(key), _) => {
        state.sysctl.insert(key.clone(), None);
      }
      (Request::Tool(path), Some(Answer::Tool(version))) => {
        state.tools.insert(info.expand(path), version.clone());
      }
      (Request::Tool(path), _) => {
        state.tools.insert(info.expand(path), None);
      }
      (Request::Guard(command), Some(Answer::Guard(status))) => {
        state.guards.insert(command.clone(), *status);
      }
      (Request::Guard(_), _) => {}
      (Request::Link(path), Some(Answer::Link(target))) => {
        state.links.insert(info.expand(path), Some(target.clone()));
      }
      (Request::Link(path), _) => {
        state.links.insert(info.expand(path), None);
      }
    }
  }
  state
}

/// The file contents the controller keeps for the next facts round trip
/// ([`crate::host::known::Known`]), by request: what each file read holds
/// after this run. That is what the facts found, or, where the plan writes or
/// removes the file and an apply ran (`applied`: whether it succeeded), what
/// the apply left; a file a failed apply may have half changed is not kept. Nothing a sensitive
/// resource writes or reads is kept, nor a content that shows a secret value.
/// `ledger`: the host's ledger as the apply rewrote it, when it did.
pub fn remembered(
  plan: &crate::plan::planner::HostPlan,
  facts: &Facts,
  applied: Option<bool>,
  ledger: Option<&[u8]>,
) -> std::collections::BTreeMap<String, Vec<u8>> {
  use crate::plan::change::Change;
  use crate::plan::ledger::Owned;
  let info = &plan.info;
  // What the plan leaves at each path it changes (`None`: removed).
  let mut after: std::collections::BTreeMap<&str, Option<&[u8]>> = std::collections::BTreeMap::new();
  let mut secret: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
  for step in &plan.steps {
    for change in &step.changes {
      let path = match change {
        Change::Write { path, after: file, .. } => {
          after.insert(path, Some(&file.data));
          path
        }
        Change::Remove { path, .. } => {
          after.insert(path, None);
          path
        }
        Change::Run { .. } => continue,
      };
      if step.sensitive {
        secret.insert(path);
      }
    }
    if step.sensitive {
      secret.extend(step.owns.iter().map(Owned::path));
    }
  }
  let mut kept = std::collections::BTreeMap::new();
  for request in &facts.queries {
    let path = match request {
      Request::File(path) => info.expand(path),
      Request::GoEnvFile => match info.go_env_path() {
        Some(path) => path,
        None => continue,
      },
      _ => continue,
    };
    if secret.contains(path.as_str()) {
      continue;
    }
    let is_ledger = matches!(request, Request::File(p) if p == crate::plan::ledger::HOST_FILE);
    let data = match (ledger.filter(|_| is_ledger), after.get(path.as_str()), facts.answers.get(request)) {
      (Some(rewritten), _, _) => rewritten.to_vec(),
      (None, Some(Some(written)), _) if applied == Some(true) => written.to_vec(),
      (None, Some(_), _) if applied.is_some() => continue,
      (None, _, Some(Answer::File { data, .. })) => data.clone(),
      (None, _, _) => continue,
    };
    if !plan.secrets.is_empty() && plan.secrets.reveals(&String::from_utf8_lossy(&data)) {
      continue;
    }
    kept.insert(request.describe(), data);
  }
  kept
}
