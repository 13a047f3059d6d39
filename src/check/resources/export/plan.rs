//! Planning an export: its values rendered and checked for every consumer's
//! syntax, and a managed block in each file that consumers read.

use crate::check::resource::{Evaluated, HostInfo, Planning, QueryScope, Spec, Validator};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic};
use crate::host::facts::Request;
use crate::host::shell::dialect::{EnvValue, Pam, Refusal, Refused};
use crate::plan::block_merge::{self, Place};
use crate::plan::change::{Change, HostState, write_if_changed};
use crate::plan::expect::Expect;
use crate::source::Span;

use super::files::{
  Files, POSIX_FUNCTIONS, Rendered, SYSTEM_FILES, SYSTEM_HOOKS, Syntax, USER_FILES, USER_HOOKS,
  USER_OPTIONAL_HOOKS, hook_applies, is_go_bin,
};
use super::{Action, Export, Scope};

impl Export {
  fn entries(&self) -> &[Text] {
    match &self.action {
      Action::Set(_) => &[],
      Action::Prepend(e) | Action::Append(e) => e,
    }
  }

  pub fn span(&self) -> Span {
    self.name.span
  }

  /// Renders the values for the host and reads them into text and references,
  /// refusing (with a diagnostic pointing into the value) what some consumer
  /// would run, expand or read differently. Returns each rendered text (`None`
  /// when not known yet), and the values ready to write (`None` when one is
  /// refused or not known yet).
  fn read_values(&self, v: &mut Validator) -> (Vec<Option<String>>, Option<Rendered>) {
    let texts: Vec<&Text> = match &self.action {
      Action::Set(t) => vec![t],
      Action::Prepend(e) | Action::Append(e) => e.iter().collect(),
    };
    let mut values = Vec::new();
    let mut texts_out = Vec::new();
    let mut refused = false;
    for t in texts {
      let rendered = v.text(t);
      texts_out.push(rendered.clone());
      let Some(rendered) = rendered else {
        refused = true;
        continue;
      };
      let list = !matches!(self.action, Action::Set(_));
      let parsed = EnvValue::parse(&rendered).and_then(|value| {
        if list && rendered.is_empty() {
          return Err(Refusal::new(
            Refused::Entry,
            "an empty entry means the working directory to the shells",
            "",
            "remove the empty entry",
          ));
        }
        if list && rendered.len() > 4096 {
          return Err(Refusal::new(
            Refused::Entry,
            format!("the entry is {} bytes, longer than any directory path (4096)", rendered.len()),
            "",
            "give the directory's path",
          ));
        }
        if list && rendered.contains(':') {
          return Err(Refusal::new(
            Refused::Entry,
            format!("the entry `{rendered}` contains `:`, which separates entries"),
            ":",
            "give each directory as its own list item",
          ));
        }
        if !list
          && self.scope == Scope::System
          && let Err(r) = Pam::value(&value)
        {
          return Err(r);
        }
        Ok(value)
      });
      match parsed {
        Ok(value) => values.push(value),
        Err(r) => {
          refused = true;
          v.error(refusal(v, &self.name.value, t, &r));
        }
      }
    }
    if refused {
      return (texts_out, None);
    }
    let rendered = match &self.action {
      Action::Set(_) => match values.pop() {
        Some(value) => Rendered::Set(value),
        None => return (texts_out, None),
      },
      Action::Prepend(_) => Rendered::Prepend(values),
      Action::Append(_) => Rendered::Append(values),
    };
    (texts_out, Some(rendered))
  }
}

/// The diagnostic for a value refused by a dialect, pointing at the offending
/// part when it can be found in the literal.
fn refusal(v: &Validator, name: &str, t: &Text, r: &Refusal) -> Diagnostic {
  let literal = v.sources.snippet(t.span);
  let at = match literal.find(r.fragment.as_str()) {
    Some(i) if !r.fragment.is_empty() && !t.is_template() => t.span.slice(i, i + r.fragment.len()),
    _ => t.span,
  };
  // Several lines were always `E203` (as a `:` in a literal entry is).
  let code = if r.kind == Refused::Lines { Code::WrongType } else { Code::ExportValue };
  let shown: String = t.value.chars().take(60).collect();
  let label = if t.is_template() {
    format!("renders to a refused value for host `{}`", v.host)
  } else {
    r.reason.clone()
  };
  let message = if t.is_template() {
    format!("`{name}` on host `{}`: {} (rendered from `{shown}`)", v.host, r.reason)
  } else {
    format!("`{name}` cannot be exported as written: {}", r.reason)
  };
  Diagnostic::new(code, message).label(at, label).help(r.help.clone())
}

impl Export {
  /// The name of its blocks: `export NAME`, or for entries the stem and its
  /// number (`PATH prepend`, `PATH prepend #2`), which stay when the entries
  /// are edited.
  fn block_name(&self) -> String {
    match (self.key_stem(), self.ordinal) {
      (None, _) => self.id(),
      (Some(stem), 0 | 1) => stem,
      (Some(stem), n) => format!("{stem} #{n}"),
    }
  }

  /// Warns, for values known now, about what a consumer then does that the
  /// playbook's author may not expect: GOPATH mode, cross-compiling, a Go bin
  /// directory appended behind the distro's `go`.
  fn warn(&self, v: &mut Validator, rendered: &[Option<String>]) {
    match &self.action {
      Action::Set(value) => {
        if let Some(Some(rendered)) = rendered.first() {
          match self.name.value.as_str() {
            "GO111MODULE" => {
              crate::check::resources::goenv::gopath_mode(v, rendered, value.span, "the shell files")
            }
            "GOOS" | "GOARCH" => crate::check::resources::goenv::cross_compiles(
              v,
              &self.name.value,
              rendered,
              value.span,
              "the shell files",
            ),
            _ => {}
          }
        }
      }
      Action::Prepend(entries) | Action::Append(entries) => {
        let append = matches!(self.action, Action::Append(_));
        for (entry, dir) in entries.iter().zip(rendered) {
          let Some(dir) = dir else { continue };
          if append && self.name.value == "PATH" && is_go_bin(dir) {
            v.error(
              Diagnostic::new(
                Code::PathAppendGo,
                format!("appending `{dir}` lets an earlier `go` on PATH win"),
              )
              .label(entry.span, "appended")
              .help("a distro `/usr/bin/go` would shadow it; use `path prepend` for Go's bin directories"),
            );
          }
        }
      }
    }
  }
}

/// What an export does to its variable, with its values rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Operation {
  Set,
  Prepend,
  Append,
}

/// An export's desired state on one host.
#[derive(Debug)]
pub(super) struct Desired {
  /// The variable.
  pub(super) name: String,
  pub(super) name_span: Span,
  pub(super) operation: Operation,
  pub(super) scope: Scope,
  /// The name of its blocks ([`Export::block_name`]).
  pub(super) marker: String,
  /// For entries, what the names of the blocks an older converge wrote
  /// for them start with: `PATH prepend` ([`Spec::key_stem`]).
  pub(super) stem: Option<String>,
  /// The value, or each entry, as rendered (none for an absent variable).
  pub(super) texts: Vec<String>,
  /// The values ready to write; `None` for `state = "absent"`, which
  /// writes none.
  pub(super) values: Option<Rendered>,
  /// `state = "absent"`.
  pub(super) absent: bool,
}

impl Desired {
  /// Whether a block in a file is one that an older converge wrote for this
  /// kind of entries, named after the entries themselves (`PATH prepend
  /// /usr/local/go/bin $HOME/go/bin`): the current block replaces it.
  fn is_legacy_block(&self, name: &str) -> bool {
    let Some(stem) = &self.stem else { return false };
    name
      .strip_prefix(stem.as_str())
      .and_then(|rest| rest.strip_prefix(' '))
      .is_some_and(|rest| !rest.starts_with('#'))
  }
}

impl Spec for Export {
  fn id(&self) -> String {
    let entries: Vec<&str> = self.entries().iter().map(|t| t.value.as_str()).collect();
    match &self.action {
      Action::Set(_) => format!("export {}", self.name.value),
      Action::Prepend(_) => format!("{} prepend {}", self.name.value, entries.join(" ")),
      Action::Append(_) => format!("{} append {}", self.name.value, entries.join(" ")),
    }
  }

  fn key_stem(&self) -> Option<String> {
    match &self.action {
      Action::Set(_) => None,
      Action::Prepend(_) => Some(format!("{} prepend", self.name.value)),
      Action::Append(_) => Some(format!("{} append", self.name.value)),
    }
  }

  fn set_ordinal(&mut self, ordinal: usize) {
    self.ordinal = ordinal;
  }

  fn claims(&self) -> Vec<Text> {
    match &self.action {
      Action::Set(_) => vec![Text::new(format!("export {}", self.name.value), self.name.span)],
      Action::Prepend(e) | Action::Append(e) => {
        e.iter().map(|t| Text::new(format!("{} entry {}", self.name.value, t.value), t.span)).collect()
      }
    }
  }

  fn requests(&self, _v: &mut QueryScope) -> Vec<Request> {
    let files = match self.scope {
      Scope::User => {
        USER_FILES.iter().chain(USER_HOOKS).chain(USER_OPTIONAL_HOOKS).map(|(p, _)| *p).collect::<Vec<_>>()
      }
      Scope::System => SYSTEM_FILES.iter().chain(SYSTEM_HOOKS).map(|(p, _)| *p).collect(),
    };
    files.into_iter().map(|p| Request::File(p.to_owned())).collect()
  }

  fn evaluate(&self, v: &mut Validator, _host: &HostInfo) -> Evaluated {
    let operation = match self.action {
      Action::Set(_) => Operation::Set,
      Action::Prepend(_) => Operation::Prepend,
      Action::Append(_) => Operation::Append,
    };
    let (texts, values) = if self.absent {
      // Nothing is written: the entries are only looked for.
      (self.entries().iter().map(|e| v.text(e)).collect(), None)
    } else {
      // Values known at check time are refused then; those that need facts
      // when planned.
      let (texts, values) = self.read_values(v);
      self.warn(v, &texts);
      let Some(values) = values else { return Evaluated::Failed };
      (texts, Some(values))
    };
    let Some(texts) = texts.into_iter().collect::<Option<Vec<String>>>() else { return Evaluated::Failed };
    Evaluated::Desired(Box::new(Desired {
      name: self.name.value.clone(),
      name_span: self.name.span,
      operation,
      scope: self.scope,
      marker: self.block_name(),
      stem: self.key_stem(),
      texts,
      values,
      absent: self.absent,
    }))
  }

  fn validate(&self, v: &mut Validator) {
    // An absent export writes no value: its values are only looked for on
    // the host, when planned.
    if self.absent {
      return;
    }
    self.evaluate(v, &HostInfo::default());
  }
}

impl crate::check::resource::Desired for Desired {
  fn expects(&self, host: &HostInfo) -> Vec<Expect> {
    let name = &self.name;
    if self.absent {
      return match self.operation {
        Operation::Set => vec![Expect::Unset { name: name.clone() }],
        Operation::Prepend | Operation::Append => Vec::new(),
      };
    }
    match self.operation {
      Operation::Set => self
        .texts
        .iter()
        .map(|value| Expect::Env { name: name.clone(), value: host.expand_value(value) })
        .collect(),
      Operation::Prepend | Operation::Append if name == "PATH" => self
        .texts
        .iter()
        .map(|d| Expect::PathEntry {
          dir: host.expand_value(d),
          before_system: self.operation == Operation::Prepend,
        })
        .collect(),
      Operation::Prepend | Operation::Append => Vec::new(),
    }
  }

  fn plan(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    let host = p.host;
    let Some(action) = &self.values else { return self.plan_absent(p, state) };
    let name = &self.name;
    let marker = &self.marker;
    // (file, block name, block content, where a new block goes), in order.
    let mut blocks: Vec<(String, String, String, Place)> = Vec::new();
    let (env_files, hooks, optional): (Files, Files, Files) = match self.scope {
      Scope::User => (USER_FILES, USER_HOOKS, USER_OPTIONAL_HOOKS),
      Scope::System => (SYSTEM_FILES, SYSTEM_HOOKS, &[]),
    };
    for (path, syntax) in env_files {
      if !syntax.present(host) {
        continue;
      }
      let path = host.expand(path);
      let content = syntax.render(name, action);
      if content.is_empty() {
        continue;
      }
      if *syntax == Syntax::Posix {
        blocks.push((path.clone(), "functions".to_owned(), POSIX_FUNCTIONS.to_owned(), Place::Top));
      }
      blocks.push((path, marker.clone(), content, Place::Bottom));
    }
    let env_sh = host.expand(env_files[0].0);
    for (path, syntax) in hooks.iter().chain(optional) {
      let expanded = host.expand(path);
      let optional_hook = optional.iter().any(|(p, _)| p == path);
      if (optional_hook && state.file(&expanded).is_none())
        || !syntax.present(host)
        || !hook_applies(path, host)
      {
        continue;
      }
      let place = if path.ends_with("bashrc") { Place::Top } else { Place::Bottom };
      let source =
        if self.scope == Scope::User { "$HOME/.config/converge/env.sh".to_owned() } else { env_sh.clone() };
      let hook = format!("if [ -r \"{source}\" ]; then . \"{source}\"; fi\n");
      blocks.push((expanded, "env".to_owned(), hook, place));
    }
    // Merge every block of a file into its bytes, then one write per file.
    let mut files: indexmap::IndexMap<String, Vec<u8>> = indexmap::IndexMap::new();
    for (path, block, content, place) in blocks {
      let data = files
        .entry(path.clone())
        .or_insert_with(|| state.file(&path).map(|f| f.data.to_vec()).unwrap_or_default());
      // Blocks an older converge named after the entries go when this one is written.
      let legacy: Vec<String> = if block == *marker {
        block_merge::names(data, "#").into_iter().filter(|n| self.is_legacy_block(n)).collect()
      } else {
        Vec::new()
      };
      let merged = legacy
        .iter()
        .try_fold(std::mem::take(data), |bytes, old| block_merge::try_merge(&bytes, "#", old, "", place))
        .and_then(|bytes| block_merge::try_merge(&bytes, "#", &block, &content, place));
      match merged {
        Ok(merged) => *data = merged,
        Err(e) => {
          // A block whose markers a person damaged: nothing is written to any
          // file of this resource, and no user line is lost.
          p.error(
            Diagnostic::new(Code::BlockDamaged, format!("cannot write the block into `{path}`: {e}"))
              .label(self.name_span, "written by this resource")
              .help(e.help()),
          );
          return Vec::new();
        }
      }
    }
    files
      .into_iter()
      .filter_map(|(path, data)| {
        let system = host.is_system(&path);
        write_if_changed(state, &path, data, None, None, system)
      })
      .collect()
  }

  fn owns(&self, host: &HostInfo, state: &HostState) -> Vec<crate::plan::ledger::Owned> {
    // Its own block, and the shared ones (the POSIX functions, the hooks that
    // read the env files) that stay while another export needs them.
    if self.absent {
      return Vec::new();
    }
    let files = match self.scope {
      Scope::User => USER_FILES.iter().chain(USER_HOOKS).chain(USER_OPTIONAL_HOOKS).collect::<Vec<_>>(),
      Scope::System => SYSTEM_FILES.iter().chain(SYSTEM_HOOKS).collect(),
    };
    let mut owned = Vec::new();
    for (path, _) in files {
      let path = host.expand(path);
      let Some(file) = state.file(&path) else { continue };
      for name in [self.marker.as_str(), "functions", "env"] {
        if block_merge::block(&file.data, "#", name).is_some() {
          owned.push(crate::plan::ledger::Owned::Block {
            path: path.clone(),
            comment: "#".to_owned(),
            name: name.to_owned(),
            sha256: String::new(),
            created: false,
          });
        }
      }
    }
    owned
  }
}
