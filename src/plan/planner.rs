//! Planning one host: gather facts in one round trip, order the resources,
//! and compute each resource's changes against the state the earlier ones will
//! leave behind.

use crate::check::playbook::{Handler, HostPlay};
use crate::check::resource::{HostInfo, HostPath, Resource, Validator};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::go::env_file::GoEnvFile;
use crate::host::facts::{Answer, HostFacts, Request};
use crate::host::transport::Transport;
use crate::plan::change::{Change, HostState};
use crate::source::Sources;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// Kinds a `go tool` is installed after: the toolchain that builds it and the
/// settings (GOPROXY, GOPRIVATE, ...) that `go install` reads.
const GO_TOOL_NEEDS: &[&str] = &["go toolchain", "goenv", "proxy"];

/// What happens to one resource.
#[derive(Debug)]
pub struct Step {
  pub name: String,
  pub kind: String,
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
  pub expects: Vec<crate::verify::Expect>,
  /// Why its changes are there (drift, intent, new); `None` without changes.
  pub label: Option<crate::plan::ledger::Label>,
  /// blake3 of its source text (the ledger keeps it).
  pub source: String,
  /// Where it is declared, `site.goenv:12`.
  pub at: String,
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
  /// The host stopped answering (the facts round trip timed out or broke).
  pub lost: bool,
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
}

/// Plans one host over its transport.
pub fn plan_host(
  play: &HostPlay,
  handlers: &[Arc<Handler>],
  transport: &mut dyn Transport,
  options: &PlanOptions,
  sources: &Sources,
) -> HostPlan {
  let mut names: BTreeSet<String> = play.vars.keys().cloned().collect();
  names.insert("host".to_owned());
  names.insert("facts".to_owned());
  let notified: Vec<&Arc<Handler>> = handlers.iter().collect();
  let all: Vec<&Arc<Resource>> =
    play.resources.iter().chain(notified.iter().flat_map(|h| h.resources.iter())).collect();

  // What the facts round trip must read.
  let mut requests = BTreeSet::new();
  {
    let mut scratch = Diagnostics::new();
    let mut v = validator(&play.name, context(play, None), &names, false, sources, &mut scratch);
    for resource in &all {
      let skip_guards = !options.run_guards && resource.spec.guards_are_user_code();
      requests.extend(
        resource
          .spec
          .requests(&mut v)
          .into_iter()
          .filter(|r| !(skip_guards && matches!(r, Request::Guard(_)))),
      );
    }
  }
  let ledger_request = Request::File(crate::plan::ledger::HOST_FILE.to_owned());
  requests.insert(ledger_request.clone());
  let requests: Vec<Request> = requests.into_iter().collect();
  let facts = match HostFacts::gather(transport, &options.root, &requests, options.timeout) {
    Ok(f) => f,
    Err(e) => {
      let lost = matches!(e, crate::host::facts::FactsError::Transport(_));
      return HostPlan { lost, ..failed_host(&play.name, format!("cannot gather facts: {e}")) };
    }
  };
  let info = host_info(&play.name, &facts, !options.root.is_empty());
  let mut state = initial_state(&facts, &requests, &info);
  let ledger_path = info.expand(crate::plan::ledger::HOST_FILE);
  let host_ledger = state.files.remove(&ledger_path).flatten();
  let ledger_sha256 = crate::plan::ledger::sha256_of(host_ledger.as_ref());
  let ledger = match &host_ledger {
    Some(file) => crate::plan::ledger::Ledger::parse(&String::from_utf8_lossy(&file.data)),
    None => options
      .state_dir
      .as_ref()
      .and_then(|dir| std::fs::read_to_string(crate::plan::ledger::controller_file(dir, &play.name)).ok())
      .map(|text| crate::plan::ledger::Ledger::parse(&text))
      .unwrap_or_default(),
  };
  let observed = state.clone();
  let digest = facts_digest(&facts, &requests, &ledger_request);
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
  let ctx = context(play, Some(&facts));
  let mut secrets = crate::check::secrets::Secrets::default();
  for &i in &order {
    let resource = &play.resources[i];
    let needs: Vec<usize> = implicit
      .iter()
      .filter(|(_, after)| *after == i)
      .filter_map(|(before, _)| step_of.get(before).copied())
      .collect();
    let (step, values) =
      plan_resource(resource, &ctx, &names, sources, &info, &mut state, &index_of, &steps, &needs);
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
      let (mut step, values) =
        plan_resource(resource, &ctx, &names, sources, &info, &mut state, &index_of, &steps, &[]);
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
    .find(|s| s.kind == "assert" && s.failed())
    .map(|s| format!("assertion failed: {}", s.errors.first().map_or("", |d| d.message.as_str())));
  for step in &mut steps {
    if !step.changes.is_empty() {
      step.label = Some(ledger.label(&step.name, &step.source, &step.changes, &observed));
    }
  }
  let ledger_base = if host_ledger.is_some() { ledger.folded() } else { String::new() };
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
    ledger_sha256,
    lost: false,
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
/// key, each request's answer by the request.
fn facts_digest(
  facts: &HostFacts,
  requests: &[Request],
  skip: &Request,
) -> std::collections::BTreeMap<String, String> {
  let short = |text: &str| blake3::hash(text.as_bytes()).to_hex()[..16].to_owned();
  let mut out = std::collections::BTreeMap::new();
  for (key, value) in &facts.values {
    if !key.starts_with("req.") {
      out.insert(key.clone(), short(value));
    }
  }
  for (i, request) in requests.iter().enumerate() {
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
  if resource.kind == "go tool" {
    depends_on.extend(
      steps.iter().enumerate().filter(|(_, s)| GO_TOOL_NEEDS.contains(&s.kind.as_str())).map(|(i, _)| i),
    );
  }
  depends_on.extend_from_slice(needs);
  depends_on.sort_unstable();
  depends_on.dedup();
  let blocked = depends_on.iter().any(|d| steps.get(*d).is_some_and(Step::failed));
  let mut notes = Vec::new();
  let mut expects = Vec::new();
  let mut values = Vec::new();
  let changes = if blocked {
    Vec::new()
  } else {
    let mut v = validator(&info.name, ctx.clone(), names, true, sources, &mut diagnostics);
    let ((changes, planned_expects), rendered) = crate::check::resource::recording_texts(|| {
      if resource.meta.sensitive {
        // What it asks of the host is as secret as the rest: a command's guards.
        let mut scratch = Diagnostics::new();
        resource.spec.requests(&mut validator(&info.name, ctx.clone(), names, true, sources, &mut scratch));
      }
      let changes = resource.spec.plan(&mut v, info, state);
      (changes, resource.spec.expects(&mut v, info))
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
    kind: resource.kind.clone(),
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
  };
  (step, values)
}

fn validator<'a>(
  host: &'a str,
  context: minijinja::Value,
  names: &'a BTreeSet<String>,
  has_facts: bool,
  sources: &'a Sources,
  diagnostics: &'a mut Diagnostics,
) -> Validator<'a> {
  Validator { host, context, names, has_facts, sources, diagnostics, notes: Vec::new() }
}

/// The plan of a host that cannot be planned at all.
pub fn failed_host(name: &str, error: String) -> HostPlan {
  HostPlan {
    host: name.to_owned(),
    info: HostInfo { name: name.to_owned(), ..HostInfo::default() },
    steps: Vec::new(),
    error: Some(error),
    facts_hash: String::new(),
    facts: std::collections::BTreeMap::new(),
    files: Vec::new(),
    read: std::collections::BTreeMap::new(),
    ledger_base: String::new(),
    ledger_sha256: String::new(),
    lost: false,
    secrets: crate::check::secrets::Secrets::default(),
  }
}

/// The template context: variables, `host`, and `facts` when known.
fn context(play: &HostPlay, facts: Option<&HostFacts>) -> minijinja::Value {
  let mut map = play.vars.clone();
  map.insert("host".to_owned(), serde_json::Value::String(play.name.clone()));
  if let Some(facts) = facts {
    map.insert("facts".to_owned(), facts.template_facts());
  }
  minijinja::Value::from(minijinja::value::Serde(&map))
}

fn host_info(name: &str, facts: &HostFacts, rooted: bool) -> HostInfo {
  let get = |k: &str| facts.get(k).unwrap_or_default().to_owned();
  let has = ["bash", "zsh", "fish", "systemd"]
    .iter()
    .filter(|s| facts.get(&format!("has.{s}")) == Some("1"))
    .map(|s| (*s).to_owned())
    .collect();
  HostInfo {
    name: name.to_owned(),
    home: get("home"),
    user: get("user"),
    privileged: rooted || facts.get("uid") == Some("0"),
    rooted,
    login_shell: get("user.login_shell"),
    os_family: crate::host::facts::os_family(facts),
    has,
    shell_go_env: facts
      .values
      .iter()
      .filter_map(|(k, v)| k.strip_prefix("shellenv.").map(|k| (k.to_owned(), v.clone())))
      .collect(),
    go_env_file: GoEnvFile::from_fact(facts.get("go.env.goenv")),
  }
}

/// The host as the facts show it, keyed by expanded paths.
fn initial_state(facts: &HostFacts, requests: &[Request], info: &HostInfo) -> HostState {
  let mut state = HostState::default();
  for request in requests {
    let answer = facts.answers.get(request);
    match (request, answer) {
      (Request::File(path), Some(Answer::File { data, mode, owner })) => {
        let file = crate::plan::change::FileState { data: data.clone(), mode: *mode, owner: owner.clone() };
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
            Some(crate::plan::change::FileState { data: data.clone(), mode: *mode, owner: owner.clone() })
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

/// Resource indices in the order to plan them: explicit `after` edges, the
/// [implicit edges](implicit_edges), and otherwise the playbook order (the
/// lowest index that is ready goes first).
pub fn order(resources: &[Arc<Resource>]) -> Vec<usize> {
  let index: HashMap<String, usize> = resources.iter().enumerate().map(|(i, r)| (r.name(), i)).collect();
  let mut graph = petgraph::graph::DiGraph::<usize, ()>::new();
  let nodes: Vec<_> = (0..resources.len()).map(|i| graph.add_node(i)).collect();
  for (i, r) in resources.iter().enumerate() {
    for a in &r.meta.after {
      if let Some(&j) = index.get(&a.value) {
        graph.add_edge(nodes[j], nodes[i], ());
      }
    }
  }
  for (before, after) in implicit_edges(resources) {
    graph.add_edge(nodes[before], nodes[after], ());
  }
  let mut indegree: Vec<usize> =
    nodes.iter().map(|n| graph.neighbors_directed(*n, petgraph::Direction::Incoming).count()).collect();
  let mut ready: BinaryHeap<std::cmp::Reverse<usize>> =
    (0..resources.len()).filter(|i| indegree[*i] == 0).map(std::cmp::Reverse).collect();
  let mut out = Vec::with_capacity(resources.len());
  while let Some(std::cmp::Reverse(i)) = ready.pop() {
    out.push(i);
    for n in graph.neighbors_directed(nodes[i], petgraph::Direction::Outgoing) {
      let j = graph[n];
      indegree[j] -= 1;
      if indegree[j] == 0 {
        ready.push(std::cmp::Reverse(j));
      }
    }
  }
  // What is left is on a cycle (an `after` cycle was reported at check time):
  // plan it in playbook order.
  for i in 0..resources.len() {
    if !out.contains(&i) {
      out.push(i);
    }
  }
  out
}

/// The edges (before, after) that no `after` needs to state:
///
/// - a `go tool` after the toolchain and Go settings that `go install` uses;
/// - a resource that acts on a path ([`Spec::needs_path`], a `selinux label`)
///   after every resource that manages that path, a path below it, or a
///   directory above it;
/// - a resource that manages a path after every resource that manages a
///   directory above it ("a file needs its directory").
///
/// Paths are compared as written, with `~/`, `$HOME/` and `${HOME}/` taken as one.
///
/// [`Spec::needs_path`]: crate::check::resource::Spec::needs_path
pub fn implicit_edges(resources: &[Arc<Resource>]) -> Vec<(usize, usize)> {
  let paths: Vec<Vec<HostPath>> = resources
    .iter()
    .map(|r| {
      r.spec
        .paths()
        .into_iter()
        .map(|p| match p {
          HostPath::File(p) => HostPath::File(normalize(&p)),
          HostPath::Dir(p) => HostPath::Dir(normalize(&p)),
        })
        .collect()
    })
    .collect();
  let mut edges = Vec::new();
  for (i, r) in resources.iter().enumerate() {
    let others = (0..resources.len()).filter(|j| *j != i);
    if r.kind == "go tool" {
      edges.extend(
        others.clone().filter(|j| GO_TOOL_NEEDS.contains(&resources[*j].kind.as_str())).map(|j| (j, i)),
      );
    }
    if let Some(need) = r.spec.needs_path().map(|p| normalize(&p)) {
      let related = |p: &HostPath| p.path() == need || is_below(p.path(), &need) || is_below(&need, p.path());
      edges.extend(others.clone().filter(|j| paths[*j].iter().any(related)).map(|j| (j, i)));
    }
    let below_a_dir_of = |j: usize| {
      paths[j].iter().any(|d| matches!(d, HostPath::Dir(d) if paths[i].iter().any(|p| is_below(p.path(), d))))
    };
    edges.extend(others.filter(|j| below_a_dir_of(*j)).map(|j| (j, i)));
  }
  edges.sort_unstable();
  edges.dedup();
  edges
}

/// A path as written, with the home directory spelt `~` and no trailing `/`.
fn normalize(path: &str) -> String {
  let mut p = path.to_owned();
  for home in ["$HOME", "${HOME}"] {
    if p == home || p.starts_with(&format!("{home}/")) {
      p = format!("~{}", &p[home.len()..]);
    }
  }
  let trimmed = p.trim_end_matches('/');
  if trimmed.is_empty() && p.starts_with('/') { "/".to_owned() } else { trimmed.to_owned() }
}

/// Whether `path` is strictly below the directory `dir`.
fn is_below(path: &str, dir: &str) -> bool {
  path.len() > dir.len()
    && path.starts_with(dir)
    && (dir.ends_with('/') || path.as_bytes().get(dir.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::diagnostic::Diagnostics;

  const SHA: &str = "904b924d435eaea086515bc63235b192ea441bd8c9b198c507e85009e6e4c7f0";

  /// The resources of the one host of a playbook, checked without errors.
  fn resources(text: &str) -> Vec<Arc<Resource>> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("site.goenv");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let mut sources = Sources::new();
    let mut diagnostics = Diagnostics::new();
    let loaded = crate::check::loader::load(&[path], &mut sources, &mut diagnostics);
    let (playbook, found) = crate::check::resolver::resolve(&loaded, &mut sources);
    diagnostics.extend(found);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    playbook.hosts.into_iter().next().map(|h| h.resources).unwrap_or_default()
  }

  /// The names of the resources, in the order they are planned.
  fn planned(text: &str) -> Vec<String> {
    let resources = resources(text);
    order(&resources).into_iter().map(|i| resources[i].name()).collect()
  }

  #[test]
  fn a_label_waits_for_the_toolchain_whose_prefix_it_labels() {
    let text = format!(
      "selinux label \"/opt/go(/.*)?\" type \"usr_t\"\ngo toolchain \"1.22.5\" {{\n  prefix = \"/opt/go\"\n  sha256 = \"{SHA}\"\n}}\n"
    );
    assert_eq!(planned(&text), ["go toolchain", "selinux label /opt/go(/.*)?"]);
  }

  #[test]
  fn a_label_waits_for_what_makes_a_path_below_it_or_the_directory_it_is_in() {
    // `$HOME/` and `~/` are one home; a file elsewhere keeps its place.
    let below = "selinux label \"$HOME/srv(/.*)?\" type \"user_home_t\"\nfile \"/etc/motd\" {\n  content = \"x\"\n}\ncommand \"mkdir -p ~/srv/data\" {\n  creates = \"~/srv/data\"\n}\n";
    assert_eq!(
      planned(below),
      ["file /etc/motd", "command mkdir -p ~/srv/data", "selinux label $HOME/srv(/.*)?"]
    );
    let above = format!(
      "selinux label \"/opt/go/bin(/.*)?\" type \"bin_t\"\ngo toolchain \"1.22.5\" {{\n  prefix = \"/opt/go\"\n  sha256 = \"{SHA}\"\n}}\n"
    );
    assert_eq!(planned(&above), ["go toolchain", "selinux label /opt/go/bin(/.*)?"]);
    let same = "selinux label \"/etc/motd\" type \"etc_t\"\nfile \"/etc/motd\" {\n  content = \"x\"\n}\n";
    assert_eq!(planned(same), ["file /etc/motd", "selinux label /etc/motd"]);
  }

  #[test]
  fn a_label_on_another_path_keeps_the_playbook_order() {
    // `/srv/other-file` starts with `/srv/other` but is not below it.
    let text =
      "selinux label \"/srv/other(/.*)?\" type \"var_t\"\nfile \"/srv/other-file\" {\n  content = \"x\"\n}\n";
    assert_eq!(implicit_edges(&resources(text)), []);
    assert_eq!(planned(text), ["selinux label /srv/other(/.*)?", "file /srv/other-file"]);
  }

  #[test]
  fn a_file_waits_for_the_resource_that_manages_its_directory() {
    let text = format!(
      "file \"/opt/go/go.env\" {{\n  content = \"GOTOOLCHAIN=local\\n\"\n}}\ntemplate \"/opt/tools/etc/config\" {{\n  content = \"x\"\n}}\ngo toolchain \"1.22.5\" {{\n  prefix = \"/opt/go/\"\n  sha256 = \"{SHA}\"\n}}\ncommand \"tar -C /opt -xzf /tmp/tools.tgz\" {{\n  creates = \"/opt/tools\"\n}}\n"
    );
    assert_eq!(
      planned(&text),
      [
        "go toolchain",
        "file /opt/go/go.env",
        "command tar -C /opt -xzf /tmp/tools.tgz",
        "template /opt/tools/etc/config"
      ]
    );
    // Its own links are not below its prefix: no edge to itself, and none between
    // the toolchain and the command.
    let resources = resources(&text);
    assert_eq!(implicit_edges(&resources), [(2, 0), (3, 1)]);
  }

  #[test]
  fn paths_are_compared_as_written_with_one_spelling_of_home() {
    assert_eq!(normalize("$HOME/go/bin/"), "~/go/bin");
    assert_eq!(normalize("${HOME}/go"), "~/go");
    assert_eq!(normalize("$HOMEDIR/x"), "$HOMEDIR/x");
    assert_eq!(normalize("/"), "/");
    assert!(is_below("/opt/go/bin", "/opt/go"));
    assert!(is_below("/etc", "/"));
    assert!(!is_below("/opt/gopher", "/opt/go"));
    assert!(!is_below("/opt/go", "/opt/go"));
  }
}
