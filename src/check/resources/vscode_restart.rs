//! `vscode restart`: stops the user's running VS Code server processes that
//! started before the files their environment comes from last changed, so that
//! the next connection starts a fresh server with the new environment
//! ("restart Remote-SSH, not just reload the window"). Meant for a handler
//! notified by the resources that change the environment (exports, PATH
//! entries, go settings): it then runs only when one of them changed the host.
//! Under `--root` it does nothing: a tree has no running server.

use crate::check::reader::{Cx, Reader};
use crate::check::resource::{Evaluated, HostInfo, Kind, KindDoc, Planning, QueryScope, Spec, Validator};
use crate::host::facts::Request;
use crate::plan::change::{Change, HostState};

pub struct VscodeRestartKind;

#[derive(Debug)]
pub struct VscodeRestart;

/// The functions that find the server processes (shared with `converge verify`).
const SERVERS: &str = include_str!("../../verify/servers.sh");

/// Stops the stale ones by PID; nothing changed when none is stale. A process
/// started in the same second as the last change counts as stale: the handler
/// runs right after the change.
const STOP: &str = r#"[ -z "$CONVERGE_ROOT" ] || cv_unchanged
env_changed
vscode_servers
stale=
for pid in $servers; do
  s=$(started "$pid")
  [ -n "$s" ] && [ "$s" -le "$newest" ] && stale="$stale $pid"
done
[ -n "$stale" ] || cv_unchanged
echo "stopping the VS Code server processes$stale (started before $newest_file changed)"
kill -TERM $stale 2>/dev/null || true
"#;

/// Whether a server process runs: the plan shows the restart only then.
fn running_guard() -> String {
  format!("{SERVERS}vscode_servers\n[ -n \"$servers\" ]")
}

impl Kind for VscodeRestartKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["vscode", "restart"]
  }

  fn doc(&self) -> KindDoc {
    KindDoc {
      summary: "stop the user's VS Code server processes older than their environment (in a handler)",
      attributes: &[],
    }
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    r.finish(cx)?;
    r.no_value(cx)?;
    r.options(cx, &[]);
    Some(Box::new(VscodeRestart))
  }
}

impl Spec for VscodeRestart {
  fn id(&self) -> String {
    "vscode restart".to_owned()
  }

  fn requests(&self, _v: &mut QueryScope) -> Vec<Request> {
    vec![Request::Guard(running_guard())]
  }

  fn evaluate(&self, _v: &mut Validator, _host: &HostInfo) -> Evaluated {
    Evaluated::Desired(Box::new(Desired))
  }
}

/// The restart has no values: what it does depends on the host alone.
#[derive(Debug)]
struct Desired;

impl crate::check::resource::Desired for Desired {
  fn plan(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    // A directory tree (`--root`) has no server of its own: the processes
    // found would be those of the machine converge runs on.
    if p.host.rooted {
      p.note("skipped: converging a directory tree (`--root`), not a running host");
      return Vec::new();
    }
    match state.guards.get(&running_guard()) {
      Some(0) => {}
      Some(_) => {
        p.note("no VS Code server runs: nothing to restart");
        return Vec::new();
      }
      None => p.note("decided at apply: stops only server processes older than the environment's files"),
    }
    vec![Change::Run {
      summary: "stop the VS Code server processes that started before the environment changed".to_owned(),
      script: format!("{SERVERS}{STOP}"),
      system: false,
      payload: None,
    }]
  }
}
