//! `command "CMD" { creates = "PATH" }`: a shell command run when its guard says
//! so: `creates` (skip when the path exists), `unless` (skip when that command
//! succeeds), `only_if` (run only when that command succeeds).

use crate::check::reader::{Cx, Reader};
use crate::check::resource::{
  Evaluated, HostInfo, HostPath, Kind, KindDoc, Planning, QueryScope, Spec, Validator,
};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic};
use crate::host::facts::Request;
use crate::plan::change::{Change, HostState};

pub struct CommandKind;

#[derive(Debug)]
pub struct Command {
  pub command: Text,
  pub creates: Option<Text>,
  pub unless: Option<Text>,
  pub only_if: Option<Text>,
  /// Run through `sudo -n` when the login user is not root.
  pub become_root: bool,
  /// Run when the command leaves the playbook (as the login user).
  pub undo: Option<Text>,
}

/// The attributes of its block, besides `name`, `after`, `notify` and `sensitive`.
const ATTRIBUTES: &[&str] = &["creates", "unless", "only_if", "become", "undo"];

impl Kind for CommandKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["command"]
  }

  fn doc(&self) -> KindDoc {
    KindDoc { summary: "a shell command behind a guard", attributes: ATTRIBUTES }
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let command = r.label(cx, "command line")?;
    r.finish(cx)?;
    r.no_value(cx)?;
    let options = r.options(cx, ATTRIBUTES);
    Some(Box::new(Command {
      command,
      creates: options.text(cx, "creates"),
      unless: options.text(cx, "unless"),
      only_if: options.text(cx, "only_if"),
      become_root: options.bool(cx, "become").unwrap_or(false),
      undo: options.text(cx, "undo"),
    }))
  }
}

impl Spec for Command {
  fn id(&self) -> String {
    format!("command {}", self.command.value)
  }

  /// What it `creates` may be a file or a directory; taken as a directory, so
  /// that files declared below it wait for the command.
  fn paths(&self) -> Vec<HostPath> {
    self.creates.iter().map(|c| HostPath::Dir(c.value.clone())).collect()
  }

  fn guards_are_user_code(&self) -> bool {
    true
  }

  fn id_holds_values(&self) -> bool {
    true
  }

  fn requests(&self, v: &mut QueryScope) -> Vec<Request> {
    let mut out = Vec::new();
    if let Some(c) = self.creates.as_ref().and_then(|c| v.text(c)) {
      out.push(Request::File(c));
    }
    for guard in [&self.unless, &self.only_if].into_iter().flatten() {
      if let Some(g) = v.text(guard) {
        out.push(Request::Guard(g));
      }
    }
    out
  }

  fn evaluate(&self, v: &mut Validator, host: &HostInfo) -> Evaluated {
    let mut ok = true;
    // `Some(None)`: not given; `None`: given but unknown or wrong.
    let undo = self.undo.as_ref().map_or(Some(None), |u| v.text(u).map(Some));
    if let (Some(text), Some(Some(u))) = (&self.undo, &undo)
      && u.trim().is_empty()
    {
      ok = false;
      v.error(Diagnostic::new(Code::WrongType, "`undo` is empty").label(text.span, "nothing to run"));
    }
    let command = v.text(&self.command);
    if let Some(c) = &command
      && c.trim().is_empty()
    {
      ok = false;
      v.error(
        Diagnostic::new(Code::WrongType, "the command is empty").label(self.command.span, "nothing to run"),
      );
    }
    let creates = self
      .creates
      .as_ref()
      .map_or(Some(None), |c| super::host_path(v, c, "`creates`").map(|c| Some(host.expand(&c))));
    let unless = self.unless.as_ref().map_or(Some(None), |g| v.text(g).map(Some));
    let only_if = self.only_if.as_ref().map_or(Some(None), |g| v.text(g).map(Some));
    let (Some(command), Some(undo), Some(creates), Some(unless), Some(only_if), true) =
      (command, undo, creates, unless, only_if, ok)
    else {
      return Evaluated::Failed;
    };
    Evaluated::Desired(Box::new(Desired {
      command,
      creates,
      unless,
      only_if,
      become_root: self.become_root,
      undo,
    }))
  }
}

/// A command's desired state on one host: its texts rendered.
#[derive(Debug)]
struct Desired {
  command: String,
  /// Expanded.
  creates: Option<String>,
  unless: Option<String>,
  only_if: Option<String>,
  become_root: bool,
  undo: Option<String>,
}

impl crate::check::resource::Desired for Desired {
  fn plan(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    if let Some(path) = &self.creates
      && (state.files.get(path).is_some_and(Option::is_some) || state.dirs.contains(path))
    {
      return Vec::new();
    }
    // A guard without a status was not run (`--no-guards`): the apply runs it
    // just before the command, and the plan says so. When it says no, the
    // step ends unchanged (`cv_unchanged`, defined by apply).
    let mut script = String::from("cd \"${HOME:-/}\"\n");
    let mut deferred = Vec::new();
    if let Some(guard) = &self.unless {
      match state.guards.get(guard) {
        Some(0) => return Vec::new(),
        Some(_) => {}
        None => {
          deferred.push("`unless`");
          script.push_str(&format!("if {}; then cv_unchanged; fi\n", guard_test(guard)));
        }
      }
    }
    if let Some(guard) = &self.only_if {
      match state.guards.get(guard) {
        Some(0) => {}
        Some(_) => return Vec::new(),
        None => {
          deferred.push("`only_if`");
          script.push_str(&format!("if ! {}; then cv_unchanged; fi\n", guard_test(guard)));
        }
      }
    }
    if !deferred.is_empty() {
      p.note(format!(
        "decided at apply: its {} guard runs on the host right before the command, which runs only as the guard says",
        deferred.join(" and ")
      ));
    }
    script.push_str(&self.command);
    vec![Change::Run { summary: self.command.clone(), script, system: self.become_root, payload: None }]
  }

  fn owns(&self, _host: &HostInfo, _state: &HostState) -> Vec<crate::plan::ledger::Owned> {
    let Some(undo) = &self.undo else { return Vec::new() };
    vec![crate::plan::ledger::Owned::Undo { command: undo.clone(), sensitive: false }]
  }
}

/// A guard as a shell condition: run as the facts script runs it (no input,
/// no output), in a subshell, and passed to `eval` as one quoted word, so its
/// text is never a process's command line on the host.
fn guard_test(guard: &str) -> String {
  crate::host::shell::sh!("( eval {} ) </dev/null >/dev/null 2>&1", guard).into()
}
