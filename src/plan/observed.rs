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
