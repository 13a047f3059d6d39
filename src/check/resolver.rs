//! From parsed files to a [`Playbook`]: the meaning of top-level statements.
//!
//! The resolver reads `hosts` (target blocks), `handler` and resource
//! statements, and hands `inventory`, `vars`, `host` and `group` to
//! [`crate::check::inventory::statements`]; settles the inventory as Ansible
//! does; works out which hosts each target block names (Ansible's patterns,
//! [`crate::check::inventory::pattern`]); gives every host its variables in
//! Ansible's precedence with the magic variables
//! ([`crate::check::inventory::host_vars`]); and validates
//! every resource for every host it applies to: templates against that host's
//! variables, unique names and managed things, `after`/`notify` references and
//! ordering cycles. Everything wrong is reported, not only the first problem.

use crate::check::inventory::statements::Statements;
use crate::check::inventory::tree::{self, Tree};
use crate::check::inventory::{self, Inventory, Vars, host_vars, pattern};
use crate::check::loader::LoadedFile;
use crate::check::names::{Names, check_cycles, check_names, check_references};
use crate::check::playbook::{Handler, HostPlay, HostVars, Playbook, SharedVars};
use crate::check::reader::{Cx, Reader, text_of};
use crate::check::resource::{self, Resource, ResourceKey, Validator};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::source::{Sources, Span};
use crate::syntax::ast::{Stmt, Term, Value, ValueKind};
use indexmap::{IndexMap, IndexSet};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Statements that only make sense at the top level of a playbook.
const TOP_LEVEL: &[&str] = &["inventory", "vars", "host", "group", "hosts", "handler"];

/// The name of the only host when a playbook has no inventory.
pub const LOCALHOST: &str = "localhost";

/// A `hosts` block: the patterns it names and its resources.
struct Target {
  patterns: Vec<Text>,
  resources: Vec<Arc<Resource>>,
}

#[derive(Default)]
struct Resolver {
  inventory: Inventory,
  vars: Vars,
  targets: Vec<Target>,
  handlers: Vec<Arc<Handler>>,
  diagnostics: Diagnostics,
  /// How many resources of each [`crate::check::resource::Spec::key_stem`] were read.
  stems: std::collections::HashMap<String, usize>,
  /// How many resources of each [`crate::check::resource::ResourceKey`] base were read.
  keys: std::collections::HashMap<String, usize>,
  /// Variables from the command line (`-e`): above every other level.
  extra: IndexMap<String, serde_json::Value>,
  /// What `after` may call a resource that could not be read (its error is
  /// reported): its kind, as a prefix of its id, and its `name`. An `after`
  /// naming one is no second error.
  unread: Vec<String>,
}

/// Resolves loaded files. Included inventory files are added to `sources`.
pub fn resolve(files: &[LoadedFile], sources: &mut Sources) -> (Playbook, Diagnostics) {
  resolve_with(&[], files, sources, &IndexMap::new())
}

/// Resolves loaded files after reading the Ansible inventories `inventories`
/// (as `ansible-inventory -i` does), with the variables from the command line
/// (`-e`) above every other level. An inventory that cannot be read is a
/// diagnostic without a span in a playbook.
pub fn resolve_with(
  inventories: &[PathBuf],
  files: &[LoadedFile],
  sources: &mut Sources,
  extra: &IndexMap<String, serde_json::Value>,
) -> (Playbook, Diagnostics) {
  let mut r = Resolver { extra: extra.clone(), ..Resolver::default() };
  for path in inventories {
    if let Err(e) = inventory::source::read(path, sources, &mut r.inventory, &mut r.diagnostics) {
      let help = "name an Ansible inventory: an INI or YAML file, or an executable that prints JSON";
      r.diagnostics.push(
        Diagnostic::new(Code::Io, format!("cannot read the inventory `{}`: {e}", path.display())).help(help),
      );
    }
  }
  let mut everywhere = Vec::new();
  for file in files {
    for stmt in &file.ast.stmts {
      r.top_level(stmt, &file.dir, sources, &mut everywhere);
    }
  }
  if !everywhere.is_empty() {
    let all = Text::new("all", Span::default());
    r.targets.insert(0, Target { patterns: vec![all], resources: everywhere });
  }
  r.statements().check_groups();
  r.statements().check_host_names();
  let local = r.inventory.hosts.is_empty() && r.inventory.groups.is_empty();
  if local {
    r.inventory.host_mut(LOCALHOST, Span::default());
  }
  r.inventory.settle();
  let hosts = r.host_plays(sources);
  let playbook = Playbook { inventory: r.inventory, local, hosts, handlers: r.handlers };
  (playbook, r.diagnostics)
}

impl Resolver {
  fn statements(&mut self) -> Statements<'_> {
    Statements { inventory: &mut self.inventory, diagnostics: &mut self.diagnostics, vars: &mut self.vars }
  }

  fn cx(&mut self, dir: &Path) -> Cx<'_> {
    Cx { diagnostics: &mut self.diagnostics, base_dir: dir.to_path_buf() }
  }

  fn top_level(
    &mut self,
    stmt: &Stmt,
    dir: &Path,
    sources: &mut Sources,
    everywhere: &mut Vec<Arc<Resource>>,
  ) {
    let keywords = stmt.keywords();
    match keywords.first().copied() {
      Some("inventory") => self.statements().include_inventory(stmt, dir, sources),
      Some("vars") => self.statements().playbook_vars(stmt, dir),
      Some("host") => self.statements().host(stmt, dir),
      Some("group") => self.statements().group(stmt, dir),
      Some("hosts") => self.target(stmt, dir),
      Some("handler") => self.handler(stmt, dir),
      _ => {
        if let Some(resource) = self.resource(stmt, dir) {
          everywhere.push(resource);
        }
      }
    }
  }

  /// Reads a resource statement, or reports why it is none.
  fn resource(&mut self, stmt: &Stmt, dir: &Path) -> Option<Arc<Resource>> {
    let keywords = stmt.keywords();
    let Some(kind) = resource::lookup(&keywords) else {
      self.unknown_statement(stmt);
      return None;
    };
    let name = kind.keywords().join(" ");
    let mut reader = Reader::new(stmt, kind.keywords().len(), name.clone());
    let mut cx = self.cx(dir);
    let Some(mut spec) = kind.read(&mut reader, &mut cx) else {
      self.unread.push(name);
      self.unread.extend(reader.meta.name.map(|n| n.value));
      return None;
    };
    if let Some(stem) = spec.key_stem() {
      let count = self.stems.entry(stem).or_insert(0);
      *count += 1;
      spec.set_ordinal(*count);
    }
    let base = ResourceKey::base(spec.as_ref(), &reader.meta, &name);
    let count = self.keys.entry(base.clone()).or_insert(0);
    *count += 1;
    let key = ResourceKey::numbered(base, *count);
    Some(Arc::new(Resource { spec, meta: reader.meta, kind: name, span: stmt.span, key }))
  }

  fn unknown_statement(&mut self, stmt: &Stmt) {
    let keywords = stmt.keywords();
    let Some(first) = keywords.first().copied() else {
      let d = Diagnostic::new(Code::UnknownStatement, "a statement starts with a keyword")
        .label(stmt.head_span(), "expected a keyword such as `go`, `proxy` or `hosts`")
        .help("a string cannot start a statement here");
      self.diagnostics.push(d);
      return;
    };
    let span = stmt.head.first().map_or(stmt.span, Term::span);
    // A bare `NAME = value` where a statement is expected.
    if stmt.head.len() == 1 && stmt.value.is_some() {
      let help = if crate::go::env::is_go_variable(first) {
        format!("did you mean `goenv {{ {first} = ... }}`? Go settings go in a `goenv` block")
      } else if first.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
        format!("did you mean `export {first} = ...`?")
      } else {
        format!("did you mean `vars {{ {first} = ... }}`?")
      };
      self.diagnostics.push(
        Diagnostic::new(Code::NotAllowedHere, format!("`{first} = ...` is an attribute, not a statement"))
          .label(span, "attribute where a statement is expected")
          .help(help),
      );
      return;
    }
    let mut candidates = resource::all_keywords();
    candidates.extend(TOP_LEVEL.iter().map(|s| (*s).to_owned()));
    let written = keywords.iter().take(2).copied().collect::<Vec<_>>().join(" ");
    let second_span = stmt.head.get(1).map_or(span, |t| span.to(t.span()));
    let (message, at) = if resource::KINDS.iter().any(|k| k.keywords()[0] == first) {
      (format!("`{written}` is not a resource kind"), second_span)
    } else {
      (format!("unknown statement `{first}`"), span)
    };
    let suggestion = did_you_mean(&written, candidates.iter().map(String::as_str))
      .or_else(|| did_you_mean(first, candidates.iter().map(String::as_str)));
    let mut d = Diagnostic::new(Code::UnknownStatement, message).label(at, "unknown");
    d = match suggestion {
      Some(s) => d.help(format!("did you mean `{s}`?")),
      None => d.help(format!("a statement starts with one of: {}", candidates.join(", "))),
    };
    self.diagnostics.push(d);
  }

  fn target(&mut self, stmt: &Stmt, dir: &Path) {
    let mut reader = Reader::new(stmt, 1, "hosts");
    let mut cx = self.cx(dir);
    let patterns = match reader.next_term() {
      Some(Term::Value(Value { kind: ValueKind::List(items), .. })) => {
        items.iter().filter_map(|i| text_of(i, &mut cx, "a host pattern")).collect()
      }
      Some(Term::Value(v)) => text_of(v, &mut cx, "a host pattern").into_iter().collect(),
      _ => {
        cx.error(
          Diagnostic::new(Code::MissingAttribute, "`hosts` needs the hosts or groups it applies to")
            .label(stmt.head_span(), "expected `hosts \"GROUP\" { ... }`")
            .help("use `hosts \"all\" { ... }` for every host"),
        );
        return;
      }
    };
    if reader.finish(&mut cx).is_none() || reader.no_value(&mut cx).is_none() {
      return;
    }
    let Some(block) = &stmt.block else {
      cx.error(
        Diagnostic::new(Code::MissingAttribute, "`hosts` needs a block of resources")
          .label(stmt.head_span(), "no block")
          .help("for example `hosts \"devboxes\" { go toolchain \"1.22.5\" { ... } }`"),
      );
      return;
    };
    let resources = self.resources_in(&block.stmts, dir, "a `hosts` block");
    self.targets.push(Target { patterns, resources });
  }

  fn resources_in(&mut self, stmts: &[Stmt], dir: &Path, within: &str) -> Vec<Arc<Resource>> {
    let mut resources = Vec::new();
    for inner in stmts {
      if let Some(word) = inner.keywords().first().copied().filter(|w| TOP_LEVEL.contains(w)) {
        self.diagnostics.push(
          Diagnostic::new(Code::NotAllowedHere, format!("`{word}` cannot appear inside {within}"))
            .label(inner.head_span(), "only resources go here")
            .help(format!("move `{word}` to the top level of the playbook")),
        );
        continue;
      }
      if let Some(resource) = self.resource(inner, dir) {
        resources.push(resource);
      }
    }
    resources
  }

  fn handler(&mut self, stmt: &Stmt, dir: &Path) {
    let mut reader = Reader::new(stmt, 1, "handler");
    let mut cx = self.cx(dir);
    let Some(name) = reader.label(&mut cx, "name") else { return };
    if reader.finish(&mut cx).is_none() || reader.no_value(&mut cx).is_none() {
      return;
    }
    if let Some(first) = self.handlers.iter().find(|h| h.name.value == name.value) {
      let first = first.name.span;
      self.diagnostics.push(
        Diagnostic::new(Code::DuplicateName, format!("the handler `{}` is defined twice", name.value))
          .label(name.span, "defined again here")
          .label(first, "first defined here"),
      );
      return;
    }
    let resources = match &stmt.block {
      Some(block) => self.resources_in(&block.stmts, dir, "a `handler`"),
      None => Vec::new(),
    };
    self.handlers.push(Arc::new(Handler { name, resources }));
  }

  /// The hosts a `hosts` block selects, with a diagnostic for each pattern
  /// that names nothing.
  fn target_hosts(&mut self, target: &Target) -> IndexSet<String> {
    let mut usable = Vec::new();
    for pattern in &target.patterns {
      let terms = pattern::split(&pattern.value);
      let mut ok = true;
      for term in &terms {
        if let Err(e) = self.inventory.select(&[term.as_str()]) {
          ok = false;
          self.undefined_target(&e, pattern.span);
        }
      }
      if ok {
        usable.extend(terms);
      }
    }
    if usable.is_empty() {
      return IndexSet::new();
    }
    self.inventory.select(&usable.iter().map(String::as_str).collect::<Vec<_>>()).unwrap_or_default()
  }

  fn undefined_target(&mut self, error: &pattern::LimitError, span: Span) {
    let pattern::LimitError::NoMatch { name, suggestion } = error else {
      self.diagnostics.push(
        Diagnostic::new(Code::UndefinedTarget, error.to_string())
          .label(span, "selects no host")
          .help("see the inventory page of the book for the host pattern language"),
      );
      return;
    };
    let mut d = Diagnostic::new(Code::UndefinedTarget, format!("no host or group is called `{name}`"))
      .label(span, "undefined host or group");
    let real_groups: Vec<&String> =
      self.inventory.groups.keys().filter(|g| *g != tree::ALL && *g != tree::UNGROUPED).collect();
    d = match suggestion {
      Some(s) => d.help(format!("did you mean `{s}`?")),
      None if self.inventory.hosts.keys().all(|h| h == LOCALHOST) => d.help(
        "this playbook has no inventory; add `inventory \"inventory.ini\"` or `host`/`group` statements",
      ),
      None if real_groups.is_empty() => d.help(format!(
        "the hosts are: {}",
        self.inventory.hosts.keys().cloned().collect::<Vec<_>>().join(", ")
      )),
      None => d.help(format!(
        "the groups are: {}",
        real_groups.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(", ")
      )),
    };
    self.diagnostics.push(d);
  }

  /// Variables of one host, in precedence order, with the magic variables;
  /// templated connection variables rendered.
  fn host_vars(&mut self, host: &str, tree: &Tree, shared: &Arc<SharedVars>) -> HostVars {
    let mut layered = host_vars::layered(&self.inventory, tree, &self.vars, host);
    let magic = host_vars::magic(&self.inventory, tree, host);
    // The shared variables win over the host's own, and the `--var` values
    // over both: the host keeps only what the shared ones do not hide.
    let own = |layered: &Vars| -> IndexMap<String, serde_json::Value> {
      let mut own: IndexMap<String, serde_json::Value> =
        layered.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect();
      own.extend(magic.clone());
      own.retain(|k, _| !shared.contains_key(k));
      own.extend(self.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
      own
    };
    let context = HostVars::new(own(&layered), Arc::clone(shared))
      .context([("host".to_owned(), serde_json::Value::String(host.to_owned()))]);
    host_vars::render_connection(&mut layered, &context, host, &mut self.diagnostics);
    HostVars::new(own(&layered), Arc::clone(shared))
  }

  /// `groups` and `hostvars`, which are the same for every host: built only
  /// when a file names them, since every host carries a copy.
  fn shared_magic(&self, tree: &Tree, sources: &Sources) -> Arc<SharedVars> {
    let named = |word: &str| sources.iter().any(|s| s.text.contains(word));
    let mut shared = IndexMap::new();
    if named("groups") {
      shared.insert("groups".to_owned(), host_vars::groups_var(&self.inventory));
    }
    if named("hostvars") {
      let mut all = serde_json::Map::new();
      for host in self.inventory.hosts.keys() {
        let mut vars: serde_json::Map<String, serde_json::Value> =
          host_vars::layered(&self.inventory, tree, &self.vars, host)
            .into_iter()
            .map(|(k, v)| (k, v.value))
            .collect();
        vars.extend(host_vars::magic(&self.inventory, tree, host));
        all.insert(host.clone(), serde_json::Value::Object(vars));
      }
      shared.insert("hostvars".to_owned(), serde_json::Value::Object(all));
    }
    Arc::new(SharedVars::new(shared))
  }

  fn host_plays(&mut self, sources: &Sources) -> Vec<HostPlay> {
    let targets = std::mem::take(&mut self.targets);
    let mut per_host: IndexMap<String, Vec<Arc<Resource>>> = IndexMap::new();
    for target in &targets {
      for host in self.target_hosts(target) {
        per_host.entry(host).or_default().extend(target.resources.iter().cloned());
      }
    }
    let handler_names: Vec<String> = self.handlers.iter().map(|h| h.name.value.clone()).collect();
    let handler_resources = self.handlers.iter().flat_map(|h| h.resources.iter());
    let every = targets.iter().flat_map(|t| t.resources.iter()).chain(handler_resources);
    for resource in every {
      check_fact_paths(resource, sources, &mut self.diagnostics);
    }
    let tree = self.inventory.tree();
    let shared = self.shared_magic(&tree, sources);
    let mut plays = Vec::new();
    for host in self.inventory.hosts.keys().cloned().collect::<Vec<_>>() {
      let resources = per_host.swap_remove(&host).unwrap_or_default();
      let vars = self.host_vars(&host, &tree, &shared);
      let mut diagnostics = std::mem::take(&mut self.diagnostics);
      let names = Names { handlers: &handler_names, unread: &self.unread };
      validate_host(&host, &vars, &resources, &self.handlers, names, sources, &mut diagnostics);
      self.diagnostics = diagnostics;
      plays.push(HostPlay { name: host, vars, resources });
    }
    plays
  }
}

/// Paths on the host that use facts. The files a plan needs are read from the
/// host with its facts, in one round trip, so a path is rendered before the
/// facts exist: a file at a path made from facts would never be read, and would
/// be rewritten on every run. Paths may use variables, not facts.
fn check_fact_paths(resource: &Resource, sources: &Sources, diagnostics: &mut Diagnostics) {
  let paths =
    resource.spec.paths().into_iter().map(|p| p.path().to_owned()).chain(resource.spec.needs_path());
  for path in paths {
    if !crate::check::text::names(&path).0.contains("facts") {
      continue;
    }
    diagnostics.push(
      Diagnostic::new(
        Code::FactInPath,
        format!(
          "the path `{path}` of `{}` uses facts, which are not known yet when its file is read",
          resource.kind
        ),
      )
      .label(fact_span(resource, sources, &path), "a fact in a path")
      .help(
        "paths may use variables (of the playbook, a group or the host) and `{{ host }}`, not facts; \
         to vary a path from host to host, set a host or group variable",
      ),
    );
  }
}

/// Where in the resource's text the first template of `path` that uses facts
/// is written, or the whole resource when it cannot be found.
fn fact_span(resource: &Resource, sources: &Sources, path: &str) -> Span {
  let snippet = sources.snippet(resource.span);
  let mut from = 0;
  while let Some(open) = path[from..].find('{').map(|i| from + i) {
    let closer = match path[open..].get(1..2) {
      Some("{") => "}}",
      Some("%") => "%}",
      _ => {
        from = open + 1;
        continue;
      }
    };
    let Some(close) = path[open + 2..].find(closer).map(|i| open + 2 + i + 2) else { break };
    let template = &path[open..close];
    if template.contains("facts")
      && let Some(at) = snippet.find(template)
    {
      let span = resource.span.slice(at, at + template.len());
      return crate::check::text::name_span(template, span, "facts");
    }
    from = close;
  }
  resource.span
}

/// Validates everything that applies to one host.
fn validate_host(
  host: &str,
  vars: &HostVars,
  resources: &[Arc<Resource>],
  handlers: &[Arc<Handler>],
  names: Names<'_>,
  sources: &Sources,
  diagnostics: &mut Diagnostics,
) {
  let mut var_names: BTreeSet<String> = vars.keys().cloned().collect();
  var_names.insert("host".to_owned());
  let context = vars.context([("host".to_owned(), serde_json::Value::String(host.to_owned()))]);
  let mut v =
    Validator { host, context, names: &var_names, facts: None, sources, diagnostics, notes: Vec::new() };
  let handler_resources = handlers.iter().flat_map(|h| h.resources.iter());
  for resource in resources.iter().chain(handler_resources) {
    resource.spec.validate(&mut v);
  }
  crate::check::resources::agree::check(resources, &mut v);
  check_names(resources, diagnostics);
  check_references(resources, names, diagnostics);
  check_cycles(resources, diagnostics);
}
