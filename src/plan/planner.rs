//! Planning one host: a pure function of the host's resources, its [`Facts`]
//! and its [`HostLedger`]. The resources are ordered ([`crate::plan::order`]),
//! and each one's changes are computed against the state the earlier ones
//! will leave behind. What the facts round trip must read is [`queries`]; the
//! caller runs it ([`crate::host::facts::gather`]) and loads the ledger
//! ([`HostLedger::load`]).

use crate::check::playbook::{Handler, HostPlay};
use crate::check::resource::{Evaluated, HostInfo, Planning, QueryScope, Resource, Validator};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::host::facts::{Facts, Request};
use crate::plan::change::{Change, HostState};
use crate::plan::ledger::HostLedger;
use crate::plan::order::{implicit_edges, order};
use crate::source::Sources;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// What happens to one resource.
#[derive(Debug, Default)]
pub struct Step {
  pub name: String,
  /// Its [`crate::check::resource::ResourceKey`], or the ledger key of a removal.
  pub key: String,
  pub kind: String,
  /// Its failure stops the host ([`Kind::stops_host_on_error`]).
  ///
  /// [`Kind::stops_host_on_error`]: crate::check::resource::Kind::stops_host_on_error
  pub stops_host: bool,
  pub changes: Vec<Change>,
  /// Problems that stop this resource (and the ones after it that depend on it).
  pub errors: Vec<Diagnostic>,
  /// Steps that must succeed first (indices into the host's steps).
  pub depends_on: Vec<usize>,
  /// Set for handler steps: the steps that notified them.
  pub notified_by: Vec<String>,
  /// What the plan says besides changes: "skipped: SELinux disabled".
  pub notes: Vec<String>,
  pub sensitive: bool,
  /// What every consumer should see once this step is converged (`verify`).
  pub expects: Vec<crate::plan::expect::Expect>,
  /// Why its changes are there (drift, intent, new); `None` without changes.
  pub label: Option<crate::plan::ledger::Label>,
  /// blake3 of its source text (the ledger keeps it).
  pub source: String,
  /// Where it is declared, `site.goenv:12`.
  pub at: String,
  /// What it writes on the host: the ledger records it, so that it can be
  /// removed once it leaves the playbook.
  pub owns: Vec<crate::plan::ledger::Owned>,
  /// A resource of the ledger that left the playbook: its changes remove what
  /// it wrote ([`crate::plan::prune`]).
  pub removal: bool,
}

impl Step {
  pub fn failed(&self) -> bool {
    !self.errors.is_empty()
  }
}

/// The plan of one host.
#[derive(Debug)]
pub struct HostPlan {
  pub host: String,
  pub info: HostInfo,
  pub steps: Vec<Step>,
  /// A problem that stops the whole host (facts, a failed assertion).
  pub error: Option<String>,
  /// blake3 of the facts the plan was computed from (converge's own ledger
  /// left out: it is bookkeeping, not state).
  pub facts_hash: String,
  /// A short hash of each fact (`kernel.release`, `file:~/.bashrc`), so a stale
  /// plan can name what changed.
  pub facts: std::collections::BTreeMap<String, String>,
  /// The files the plan read, expanded: the apply records their sha256 in the
  /// ledger.
  pub files: Vec<String>,
  /// What the facts found at each of `files`: its sha256, `absent`, `other` (a
  /// directory) or `refused` (behind a link converge does not follow). The
  /// apply checks them under the host lock.
  pub read: std::collections::BTreeMap<String, String>,
  /// The host's ledger as the facts found it, folded, and the sha256 of its
  /// file (`absent`): the apply writes the folded form back when the file did
  /// not change meanwhile.
  pub ledger_base: String,
  pub ledger_sha256: String,
  /// What the plan says of the host besides its steps ("nothing is pruned:
  /// ...").
  pub notes: Vec<String>,
  /// The values of its `sensitive` resources: already hidden in step names,
  /// notes, errors and fact names; outputs hide them in diffs and the rest.
  pub secrets: crate::check::secrets::Secrets,
}

impl HostPlan {
  pub fn change_count(&self) -> usize {
    self.steps.iter().filter(|s| !s.changes.is_empty()).count()
  }

  pub fn failed(&self) -> bool {
    self.error.is_some() || self.steps.iter().any(Step::failed)
  }
}

/// Settings for planning.
#[derive(Clone, Debug)]
pub struct PlanOptions {
  /// Converge this directory as if it were `/` (the local transport only).
  pub root: String,
  pub timeout: Duration,
  /// The controller's state directory (its copy of each host's ledger).
  pub state_dir: Option<std::path::PathBuf>,
  /// Run the guards users wrote (`unless`, `only_if`) while planning. Without,
  /// the plan runs no command of the playbook's; those resources are decided
  /// at apply (`--no-guards`).
  pub run_guards: bool,
  /// Remove what the ledger says converge wrote for resources that left the
  /// playbook (off with `--no-prune`).
  pub prune: bool,
  /// Remove it even where it was edited since converge wrote it
  /// (`--force-remove`).
  pub force_remove: bool,
}

/// The names a template of `play` may use: its variables, `host` and `facts`.
fn names(play: &HostPlay) -> BTreeSet<String> {
  let mut names: BTreeSet<String> = play.vars.keys().cloned().collect();
  names.insert("host".to_owned());
  names.insert("facts".to_owned());
  names
}

/// What the facts round trip must read for `play` and its handlers: each
/// resource's queries, rendered without facts, and the host's ledger. Without
/// `run_guards`, the guards users wrote are left out.
pub fn queries(
  play: &HostPlay,
  handlers: &[Arc<Handler>],
  run_guards: bool,
  sources: &Sources,
) -> Vec<Request> {
  let names = names(play);
  let all = play.resources.iter().chain(handlers.iter().flat_map(|h| h.resources.iter()));
  let mut requests = BTreeSet::new();
  let mut scratch = Diagnostics::new();
  let mut v = QueryScope::new(&play.name, &play.vars, &names, sources, &mut scratch);
  for resource in all {
    let skip_guards = !run_guards && resource.spec.guards_are_user_code();
    requests.extend(
      resource.spec.requests(&mut v).into_iter().filter(|r| !(skip_guards && matches!(r, Request::Guard(_)))),
    );
  }
  requests.insert(Request::File(crate::plan::ledger::HOST_FILE.to_owned()));
  requests.into_iter().collect()
}

/// Plans one host from its facts (gathered for [`queries`]) and its ledger.
/// No I/O: the same inputs give the same plan.
pub fn plan(
  play: &HostPlay,
  handlers: &[Arc<Handler>],
  facts: &Facts,
  ledger: &HostLedger,
  sources: &Sources,
) -> HostPlan {
  let info = crate::plan::observed::host_info(&play.name, facts);
  let state = crate::plan::observed::initial_state(facts, &info);
  plan_against(play, handlers, facts, state, ledger, sources)
}

/// Plans one host against `state`, what the host holds now (as
/// [`crate::plan::observed::initial_state`] reads it from the facts' answers).
pub fn plan_against(
  play: &HostPlay,
  handlers: &[Arc<Handler>],
  facts: &Facts,
  mut state: HostState,
  ledger: &HostLedger,
  sources: &Sources,
) -> HostPlan {
  let names = names(play);
  let info = crate::plan::observed::host_info(&play.name, facts);
  let ledger_path = info.expand(crate::plan::ledger::HOST_FILE);
  state.files.remove(&ledger_path);
  let observed = state.clone();
  let ledger_request = Request::File(crate::plan::ledger::HOST_FILE.to_owned());
  let digest = facts_digest(facts, &ledger_request);
  let facts_hash = blake3::hash(format!("{digest:?}").as_bytes()).to_hex().to_string();
  let files: Vec<String> = state.files.keys().cloned().collect();
  let read = observed
    .files
    .iter()
    .map(|(path, file)| {
      let seen = if observed.refused.contains_key(path) {
        "refused".to_owned()
      } else if observed.dirs.contains(path) {
        "other".to_owned()
      } else {
        crate::plan::ledger::sha256_of(file.as_ref())
      };
      (path.clone(), seen)
    })
    .collect();

  let order = order(&play.resources);
  let implicit = implicit_edges(&play.resources);
  let mut steps: Vec<Step> = Vec::new();
  let mut index_of: HashMap<String, usize> = HashMap::new();
  // The step of each resource planned so far.
  let mut step_of: HashMap<usize, usize> = HashMap::new();
  let ctx = context(play, facts);
  let mut secrets = crate::check::secrets::Secrets::default();
  for &i in &order {
    let resource = &play.resources[i];
    let needs: Vec<usize> = implicit
      .iter()
      .filter(|(_, after)| *after == i)
      .filter_map(|(before, _)| step_of.get(before).copied())
      .collect();
    let (step, values) = plan_resource(
      resource, facts, &play.vars, &ctx, &names, sources, &info, &mut state, &index_of, &steps, &needs,
    );
    values.iter().for_each(|v| secrets.add(v));
    index_of.insert(resource.name(), steps.len());
    step_of.insert(i, steps.len());
    steps.push(step);
  }
  // Handlers run once, after everything, when a step that notifies them changes.
  for handler in handlers {
    let by: Vec<String> = steps
      .iter()
      .zip(order.iter())
      .filter(|(s, i)| {
        !s.changes.is_empty() && play.resources[**i].meta.notify.iter().any(|n| n.value == handler.name.value)
      })
      .map(|(s, _)| s.name.clone())
      .collect();
    if by.is_empty() {
      continue;
    }
    for resource in &handler.resources {
      let (mut step, values) = plan_resource(
        resource,
        facts,
        &play.vars,
        &ctx,
        &names,
        sources,
        &info,
        &mut state,
        &index_of,
        &steps,
        &[],
      );
      values.iter().for_each(|v| secrets.add(v));
      step.notified_by = by.clone();
      step.depends_on.extend(by.iter().filter_map(|n| index_of.get(n).copied()));
      steps.push(step);
    }
  }
  hide(&mut steps, &secrets);
  let mut digest = digest;
  if !secrets.is_empty() {
    digest = digest.into_iter().map(|(k, v)| (secrets.redact(&k), v)).collect();
  }
  let error = steps
    .iter()
    .find(|s| s.stops_host && s.failed())
    .map(|s| format!("assertion failed: {}", s.errors.first().map_or("", |d| d.message.as_str())));
  for step in &mut steps {
    if !step.changes.is_empty() {
      step.label = Some(ledger.ledger.label(&step.key, &step.name, &step.source, &step.changes, &observed));
    }
  }
  crate::plan::prune::fill_owned(&mut steps, &ledger.ledger, &observed, &state);
  let ledger_base = if ledger.on_host { ledger.ledger.folded() } else { String::new() };
  HostPlan {
    host: play.name.clone(),
    info,
    steps,
    error,
    facts_hash,
    facts: digest,
    files,
    read,
    ledger_base,
    ledger_sha256: ledger.sha256.clone(),
    notes: Vec::new(),
    secrets,
  }
}

/// Hides sensitive values in what every output and the ledgers show of the
/// steps: a name that holds one becomes `KIND (sensitive, FILE:LINE)`, and
/// notes and error messages have them masked. The changes keep them: the
/// apply needs them.
fn hide(steps: &mut [Step], secrets: &crate::check::secrets::Secrets) {
  if secrets.is_empty() {
    return;
  }
  for step in steps {
    if secrets.reveals(&step.name) {
      step.name = format!("{} (sensitive, {})", step.kind, step.at);
    }
    for note in &mut step.notes {
      *note = secrets.redact(note);
    }
    for error in &mut step.errors {
      error.message = secrets.redact(&error.message);
      error.help = error.help.as_ref().map(|h| secrets.redact(h));
    }
    for by in &mut step.notified_by {
      *by = secrets.redact(by);
    }
  }
}

/// A short hash of every fact but converge's own ledger: the fixed ones by
/// key, each query's answer by the query.
fn facts_digest(facts: &Facts, skip: &Request) -> std::collections::BTreeMap<String, String> {
  let short = |text: &str| blake3::hash(text.as_bytes()).to_hex()[..16].to_owned();
  let mut out = std::collections::BTreeMap::new();
  for (key, value) in &facts.values {
    if !key.starts_with("req.") {
      out.insert(key.clone(), short(value));
    }
  }
  for (i, request) in facts.queries.iter().enumerate() {
    if request == skip {
      continue;
    }
    let prefix = format!("req.{}.", i + 1);
    let answer: Vec<(&String, &String)> =
      facts.values.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)).collect();
    out.insert(request.describe(), short(&format!("{answer:?}")));
  }
  out
}

#[allow(clippy::too_many_arguments)]
fn plan_resource(
  resource: &Resource,
  facts: &Facts,
  vars: &crate::check::playbook::HostVars,
  ctx: &minijinja::Value,
  names: &BTreeSet<String>,
  sources: &Sources,
  info: &HostInfo,
  state: &mut HostState,
  index_of: &HashMap<String, usize>,
  steps: &[Step],
  needs: &[usize],
) -> (Step, Vec<String>) {
  let mut diagnostics = Diagnostics::new();
  let mut depends_on: Vec<usize> =
    resource.meta.after.iter().filter_map(|a| index_of.get(&a.value).copied()).collect();
  let after_kinds = resource.after_kinds();
  depends_on
    .extend(steps.iter().enumerate().filter(|(_, s)| after_kinds.contains(&s.kind.as_str())).map(|(i, _)| i));
  depends_on.extend_from_slice(needs);
  depends_on.sort_unstable();
  depends_on.dedup();
  let blocked = depends_on.iter().any(|d| steps.get(*d).is_some_and(Step::failed));
  let mut notes = Vec::new();
  let mut expects = Vec::new();
  let mut values = Vec::new();
  let mut owns = Vec::new();
  let changes = if blocked {
    Vec::new()
  } else {
    let mut v = validator(&info.name, ctx.clone(), names, Some(facts), sources, &mut diagnostics);
    let ((changes, planned_expects, desired), rendered) = crate::check::resource::recording_texts(|| {
      if resource.meta.sensitive {
        // What it asks of the host is as secret as the rest: a command's guards.
        let mut scratch = Diagnostics::new();
        resource.spec.requests(&mut QueryScope::new(&info.name, vars, names, sources, &mut scratch));
      }
      match resource.spec.evaluate(&mut v, info) {
        Evaluated::Failed => (Vec::new(), Vec::new(), None),
        Evaluated::Desired(desired) => {
          let mut p =
            Planning { host: info, facts, sources, diagnostics: &mut *v.diagnostics, notes: Vec::new() };
          let changes = desired.plan(&mut p, state);
          let expects = desired.expects(info);
          let notes = p.notes;
          v.notes.extend(notes);
          (changes, expects, Some(desired))
        }
      }
    });
    if resource.meta.sensitive {
      let id = resource.spec.id();
      values = rendered
        .into_iter()
        .filter(|t| resource.spec.id_holds_values() || !id.contains(t.as_str()))
        .collect();
    }
    expects = planned_expects;
    notes = std::mem::take(&mut v.notes);
    for change in &changes {
      state.apply(change);
    }
    if !diagnostics.has_errors() {
      owns = desired.map(|d| d.owns(info, state)).unwrap_or_default();
      if resource.meta.sensitive {
        for owned in &mut owns {
          if let crate::plan::ledger::Owned::Undo { sensitive, .. } = owned {
            *sensitive = true;
          }
        }
      }
    }
    changes
  };
  let mut errors: Vec<Diagnostic> = diagnostics.sorted().into_iter().filter(Diagnostic::is_error).collect();
  errors.extend(changes.iter().filter_map(|c| state.refusal(c)).map(|why| Diagnostic::new(Code::Facts, why)));
  if blocked {
    errors.push(Diagnostic::new(Code::UnknownReference, "skipped: a resource it depends on failed"));
  }
  let (line, _) = sources.line_col(resource.span.file, resource.span.start);
  let file = sources.name(resource.span.file);
  let file = std::path::Path::new(file).file_name().map_or(file.into(), |f| f.to_string_lossy());
  let step = Step {
    name: resource.name(),
    key: resource.key.to_string(),
    kind: resource.kind.clone(),
    stops_host: resource.stops_host_on_error(),
    changes,
    errors,
    depends_on,
    notified_by: Vec::new(),
    notes,
    sensitive: resource.meta.sensitive,
    expects,
    label: None,
    source: crate::plan::ledger::source_hash(sources.snippet(resource.span)),
    at: format!("{file}:{line}"),
    owns,
    removal: false,
  };
  (step, values)
}

fn validator<'a>(
  host: &'a str,
  context: minijinja::Value,
  names: &'a BTreeSet<String>,
  facts: Option<&'a Facts>,
  sources: &'a Sources,
  diagnostics: &'a mut Diagnostics,
) -> Validator<'a> {
  Validator { host, context, names, facts, sources, diagnostics, notes: Vec::new() }
}

/// The template context of planning: variables, `host` and `facts`.
fn context(play: &HostPlay, facts: &Facts) -> minijinja::Value {
  play.vars.context([
    ("host".to_owned(), serde_json::Value::String(play.name.clone())),
    ("facts".to_owned(), facts.template_context()),
  ])
}
