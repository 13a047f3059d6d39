//! Resource kinds and the registry of them.
//!
//! A resource kind ([`Kind`]) knows its leading keywords and reads a statement
//! into a typed [`Spec`]. Each kind lives in one file under `src/check/resources/`;
//! adding one means writing that file and adding one line to [`KINDS`].
//!
//! A [`Spec`] is the typed input of a resource. Its values may be templates, so
//! per host it is evaluated once ([`Spec::evaluate`]) through a [`Validator`],
//! which renders them (variables at check time, facts too at plan time) and
//! reports what is wrong with the result, into its [`Desired`] state: plain
//! values that plan, record what they own and say what `verify` expects.

use crate::check::facts;
use crate::check::reader::{Cx, Meta, Reader};
use crate::check::text::{self, Text};
use crate::diagnostic::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::go::env_file::GoEnvFile;
use crate::source::{Sources, Span};
use std::collections::BTreeSet;

/// A kind of resource: `go toolchain`, `sysctl`, ...
pub trait Kind: Sync {
  /// The words that introduce it: `&["go", "toolchain"]`.
  fn keywords(&self) -> &'static [&'static str];

  /// What the book says of it: the resource index's one line and the
  /// attribute table of its page (a test keeps them in agreement).
  fn doc(&self) -> KindDoc;

  /// The kinds whose resources on a host are planned and applied before this
  /// kind's, and whose failure skips it: a `go tool` after the toolchain and
  /// the Go settings `go install` reads. Names as [`Resource::kind`].
  fn after_kinds(&self) -> &'static [&'static str] {
    &[]
  }

  /// Whether a failure of one of its resources stops the whole host (`assert`)
  /// rather than only that resource and those that depend on it.
  fn stops_host_on_error(&self) -> bool {
    false
  }

  /// Reads a statement whose head starts with [`Kind::keywords`]. Reports its own
  /// errors and returns `None` when the statement is unusable.
  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>>;
}

/// The documentation of a kind, as the book's reference pages give it.
#[derive(Clone, Copy, Debug)]
pub struct KindDoc {
  /// The kind's row in the book's resource index.
  pub summary: &'static str,
  /// The attributes of its block (besides `name`, `after`, `notify`,
  /// `sensitive`): its page's attribute table.
  pub attributes: &'static [&'static str],
}

/// The typed input of one resource.
pub trait Spec: std::any::Any + std::fmt::Debug + Send + Sync {
  /// The implicit name of the resource, used by `after` when no `name` is given:
  /// `go toolchain`, `sysctl fs.inotify.max_user_watches`.
  fn id(&self) -> String;

  /// For a kind whose implicit name holds values that people edit (the entries
  /// of `path prepend`), the part of it that stays when they do: `PATH prepend`.
  /// Resources with the same stem are numbered in playbook order
  /// ([`Spec::set_ordinal`]) and name what they write on hosts (blocks) by stem
  /// and number, so editing the entries rewrites the block instead of adding a
  /// second one.
  fn key_stem(&self) -> Option<String> {
    None
  }

  /// The resource's number among those with the same [`Spec::key_stem`], from 1.
  fn set_ordinal(&mut self, _ordinal: usize) {}

  /// What the resource manages, for detecting two resources that fight over one
  /// thing: `go env GOPROXY`, `file /etc/motd`.
  fn claims(&self) -> Vec<Text> {
    Vec::new()
  }

  /// The host paths it creates or manages, as written (templates unrendered),
  /// for implicit ordering: see [`crate::plan::order::order`].
  fn paths(&self) -> Vec<HostPath> {
    Vec::new()
  }

  /// A path it acts on without making it (`selinux label`): it is planned after
  /// every resource that manages that path, a path below it or a directory
  /// above it.
  fn needs_path(&self) -> Option<String> {
    None
  }

  /// Checks the values that depend on the host at check time, when the facts
  /// are unknown: renders what it can and checks the results. By default
  /// [`Spec::evaluate`] for a placeholder host, whose result is dropped.
  fn validate(&self, v: &mut Validator) {
    self.evaluate(v, &HostInfo::default());
  }

  /// Whether [`Spec::id`] holds a value of the resource (a command's text)
  /// rather than only what it manages (a path, a marker, a variable name).
  /// A `sensitive` resource's values are hidden wherever they appear; what it
  /// manages is shown.
  fn id_holds_values(&self) -> bool {
    false
  }

  /// Whether its [`Request::Guard`]s are commands the user wrote (`unless`,
  /// `only_if`) rather than converge's own probes. `--no-guards` plans do not
  /// run them: [`Desired::plan`] finds no status for them in the state and leaves
  /// the decision to the apply.
  ///
  /// [`Request::Guard`]: crate::host::facts::Request::Guard
  fn guards_are_user_code(&self) -> bool {
    false
  }

  /// What the facts round trip must read for this resource (files, sysctl
  /// keys, tool binaries). Paths may start with `~/`. Asked before the facts
  /// are gathered, through a [`QueryScope`], which has none: a text that uses
  /// facts renders to `None`.
  fn requests(&self, _v: &mut QueryScope) -> Vec<crate::host::facts::Request> {
    Vec::new()
  }

  /// Renders every value of the resource for one host, once, and checks the
  /// results: its desired state, which the planner then plans, records and
  /// verifies with no template left to render ([`Desired`]). `Failed` when a
  /// value cannot be known or is wrong (reported through the validator). At
  /// check time the facts are unknown and `host` is a placeholder: the result
  /// is dropped and only the diagnostics count.
  fn evaluate(&self, v: &mut Validator, host: &HostInfo) -> Evaluated;
}

/// What [`Spec::evaluate`] gives.
pub enum Evaluated {
  /// The desired state on the host.
  Desired(Box<dyn Desired>),
  /// A value could not be rendered or is wrong; the validator has the reason.
  Failed,
}

impl Evaluated {
  /// `Desired` for `Some`, `Failed` for `None`.
  pub fn from(desired: Option<Box<dyn Desired>>) -> Evaluated {
    desired.map_or(Evaluated::Failed, Evaluated::Desired)
  }
}

/// A resource's desired state on one host: every value rendered and checked
/// ([`Spec::evaluate`]). It plans from the typed facts and the predicted
/// state alone; it cannot render a template.
pub trait Desired: std::fmt::Debug {
  /// The changes that bring the host to this state, computed against the
  /// predicted `state`, which the planner then updates. Errors are reported
  /// through `p` and fail this resource only.
  fn plan(
    &self,
    p: &mut Planning,
    state: &crate::plan::change::HostState,
  ) -> Vec<crate::plan::change::Change>;

  /// What it wrote on the host, once planned: `state` is the host as the
  /// plan leaves it after this resource. The ledger records it, and a
  /// resource that leaves the playbook is removed by it
  /// ([`crate::plan::prune`]). Hashes and `created` flags are filled in by the
  /// planner. Nothing by default: such a resource is never undone.
  fn owns(
    &self,
    _host: &HostInfo,
    _state: &crate::plan::change::HostState,
  ) -> Vec<crate::plan::ledger::Owned> {
    Vec::new()
  }

  /// What `converge verify` checks every consumer sees once it is converged.
  fn expects(&self, _host: &HostInfo) -> Vec<crate::plan::expect::Expect> {
    Vec::new()
  }
}

/// What a [`Desired`] plans with: the host, its facts, and where its problems
/// and notes go.
pub struct Planning<'a> {
  pub host: &'a HostInfo,
  pub facts: &'a crate::host::facts::Facts,
  pub sources: &'a Sources,
  pub diagnostics: &'a mut Diagnostics,
  /// Things the plan should say that are neither changes nor errors.
  pub notes: Vec<String>,
}

impl Planning<'_> {
  pub fn error(&mut self, d: Diagnostic) {
    self.diagnostics.push(d);
  }

  pub fn note(&mut self, note: impl Into<String>) {
    self.notes.push(note.into());
  }

  /// The value of the fact `name`, as templates show it (see
  /// [`Validator::fact`]).
  pub fn fact(&mut self, name: &str) -> Option<String> {
    fact_value(self.facts, name)
  }
}

/// A path on the host that a resource creates or manages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPath {
  /// A file or a link.
  File(String),
  /// A directory and what is below it: a Go prefix, what a command `creates`.
  Dir(String),
}

impl HostPath {
  pub fn path(&self) -> &str {
    match self {
      HostPath::File(p) | HostPath::Dir(p) => p,
    }
  }
}

/// What a resource needs to know about the host it is planned for.
#[derive(Clone, Debug, Default)]
pub struct HostInfo {
  pub name: String,
  pub home: String,
  pub user: String,
  /// The login user's uid, as the facts found it.
  pub uid: Option<u32>,
  /// Whether changes to system paths need no `sudo` (root, or `--root`).
  pub privileged: bool,
  /// Converging a directory tree (`--root`): the live kernel is not touched.
  pub rooted: bool,
  pub login_shell: String,
  pub os_family: String,
  /// Shells and managers present: `bash`, `zsh`, `fish`, `systemd`.
  pub has: Vec<String>,
  /// Go variables the login shell exports (they override the go env file).
  pub shell_go_env: std::collections::BTreeMap<String, String>,
  /// Where `go env -w` writes (GOENV).
  pub go_env_file: GoEnvFile,
}

impl HostInfo {
  /// `~/x` and `$HOME/x` with the home directory put in.
  pub fn expand(&self, path: &str) -> String {
    if path == "~" || path == "$HOME" {
      return self.home.clone();
    }
    for prefix in ["~/", "$HOME/", "${HOME}/"] {
      if let Some(rest) = path.strip_prefix(prefix) {
        return format!("{}/{rest}", self.home.trim_end_matches('/'));
      }
    }
    path.to_owned()
  }

  /// `$HOME`, `${HOME}` and a leading `~/` replaced by the home directory,
  /// as the shells expand an exported value.
  pub fn expand_value(&self, value: &str) -> String {
    let home = self.home.trim_end_matches('/');
    self.expand(value).replace("${HOME}", home).replace("$HOME", home)
  }

  /// The go env file, expanded, when the host's go reads one converge can write.
  pub fn go_env_path(&self) -> Option<String> {
    match &self.go_env_file {
      GoEnvFile::Default => Some(self.expand(GoEnvFile::DEFAULT)),
      GoEnvFile::Path(path) => Some(path.clone()),
      GoEnvFile::Off | GoEnvFile::Unusable(_) => None,
    }
  }

  /// Whether writing `path` needs root: it is outside the home directory.
  pub fn is_system(&self, path: &str) -> bool {
    let home = self.home.trim_end_matches('/');
    !(path == home || path.starts_with(&format!("{home}/")))
  }
}

/// Every resource kind. Longer keyword lists must come before shorter ones that
/// they start with (`go toolchain` before a hypothetical `go`).
pub static KINDS: &[&dyn Kind] = &[
  &crate::check::resources::go_toolchain::GoToolchainKind,
  &crate::check::resources::go_tool::GoToolKind,
  &crate::check::resources::proxy::ProxyKind,
  &crate::check::resources::goenv::GoEnvKind,
  &crate::check::resources::export::ExportKind,
  &crate::check::resources::export::PathKind,
  &crate::check::resources::vscode::VscodeSettingsKind,
  &crate::check::resources::vscode_restart::VscodeRestartKind,
  &crate::check::resources::selinux::SelinuxLabelKind,
  &crate::check::resources::sysctl::SysctlKind,
  &crate::check::resources::file::FileKind,
  &crate::check::resources::template::TemplateKind,
  &crate::check::resources::managed_block::ManagedBlockKind,
  &crate::check::resources::command::CommandKind,
  &crate::check::resources::assert::AssertKind,
];

/// The kind whose keywords start the statement's head.
pub fn lookup(keywords: &[&str]) -> Option<&'static dyn Kind> {
  KINDS.iter().copied().find(|k| keywords.len() >= k.keywords().len() && keywords.starts_with(k.keywords()))
}

/// The kind a [`Resource::kind`] names: `go tool`.
pub fn kind_named(name: &str) -> Option<&'static dyn Kind> {
  KINDS.iter().copied().find(|k| k.keywords().iter().copied().eq(name.split(' ')))
}

/// All the ways a statement can start, for "did you mean": `go toolchain`, `proxy`.
pub fn all_keywords() -> Vec<String> {
  KINDS.iter().map(|k| k.keywords().join(" ")).collect()
}

/// One resource of a playbook.
#[derive(Debug)]
pub struct Resource {
  pub spec: Box<dyn Spec>,
  pub meta: Meta,
  /// The keywords of its kind, `go toolchain`.
  pub kind: String,
  pub span: Span,
  /// What names it on hosts (ledger records), whatever people call it.
  pub key: ResourceKey,
}

/// The stable identity of a resource: its kind and primary label (`export
/// GOPROXY`, `sysctl fs.inotify.max_user_watches`, `PATH prepend`), numbered
/// from the second resource with the same one (`PATH prepend #2`). Ledger
/// records are keyed by it, so giving a resource a `name`, or moving it to
/// another line, does not make it a new resource. Its display name
/// ([`Resource::name`]) is for people.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceKey(String);

impl ResourceKey {
  /// The unnumbered key of a resource: the stem of a kind whose label holds
  /// values people edit ([`Spec::key_stem`]), else its implicit id; for a
  /// `sensitive` resource whose id holds values (a command), the kind and a
  /// hash of the id, so that the ledger holds no secret.
  pub(crate) fn base(spec: &dyn Spec, meta: &Meta, kind: &str) -> String {
    if let Some(stem) = spec.key_stem() {
      return stem;
    }
    let id = spec.id();
    if meta.sensitive && spec.id_holds_values() {
      return format!("{kind} {}", &blake3::hash(id.as_bytes()).to_hex()[..16]);
    }
    id
  }

  /// The key of the `n`th resource (from 1) with the same base.
  pub(crate) fn numbered(base: String, n: usize) -> ResourceKey {
    if n <= 1 { ResourceKey(base) } else { ResourceKey(format!("{base} #{n}")) }
  }

  pub fn as_str(&self) -> &str {
    &self.0
  }
}

impl std::fmt::Display for ResourceKey {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str(&self.0)
  }
}

impl Resource {
  /// The name used by `after` and shown in plans: `name = ...` or the implicit id.
  pub fn name(&self) -> String {
    self.meta.name.as_ref().map_or_else(|| self.spec.id(), |n| n.value.clone())
  }

  /// The kinds it is planned after ([`Kind::after_kinds`]).
  pub fn after_kinds(&self) -> &'static [&'static str] {
    kind_named(&self.kind).map_or(&[], |k| k.after_kinds())
  }

  /// Whether its failure stops the host ([`Kind::stops_host_on_error`]).
  pub fn stops_host_on_error(&self) -> bool {
    kind_named(&self.kind).is_some_and(|k| k.stops_host_on_error())
  }
}

/// Validates specs for one host: renders texts with what is known of the host.
pub struct Validator<'a> {
  pub host: &'a str,
  /// Variables in scope for the host, as a template context (`facts` included
  /// when known).
  pub context: minijinja::Value,
  /// Names of the variables in scope.
  pub names: &'a BTreeSet<String>,
  /// The host's facts, when known (`context` then holds them as `facts`).
  pub facts: Option<&'a crate::host::facts::Facts>,
  pub sources: &'a Sources,
  pub diagnostics: &'a mut Diagnostics,
  /// Things the plan should say that are neither changes nor errors
  /// ("skipped: SELinux disabled").
  pub notes: Vec<String>,
}

/// The [`Validator`] resources ask for their queries ([`Spec::requests`])
/// with: variables and `host`, never facts, since the queries are what the
/// facts round trip answers. It can only be made without facts.
pub struct QueryScope<'a>(Validator<'a>);

impl<'a> QueryScope<'a> {
  /// A scope for the host `host` with the variables `vars` (and `host`).
  pub fn new(
    host: &'a str,
    vars: &crate::check::playbook::HostVars,
    names: &'a BTreeSet<String>,
    sources: &'a Sources,
    diagnostics: &'a mut Diagnostics,
  ) -> Self {
    let context = vars.context([("host".to_owned(), serde_json::Value::String(host.to_owned()))]);
    QueryScope(Validator { host, context, names, facts: None, sources, diagnostics, notes: Vec::new() })
  }
}

impl<'a> std::ops::Deref for QueryScope<'a> {
  type Target = Validator<'a>;
  fn deref(&self) -> &Validator<'a> {
    &self.0
  }
}

impl<'a> std::ops::DerefMut for QueryScope<'a> {
  fn deref_mut(&mut self) -> &mut Validator<'a> {
    &mut self.0
  }
}

thread_local! {
  /// The texts [`Validator::text`] rendered on this thread while
  /// [`recording_texts`] runs.
  static RENDERED: std::cell::RefCell<Option<Vec<String>>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` and returns, with its result, every value [`Validator::text`]
/// produced meanwhile on this thread: how the planner learns the values of a
/// `sensitive` resource, whatever its kind, to hide them everywhere
/// ([`crate::check::secrets`]).
pub fn recording_texts<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
  let outer = RENDERED.with(|r| r.replace(Some(Vec::new())));
  let out = f();
  let texts = RENDERED.with(|r| r.replace(outer)).unwrap_or_default();
  RENDERED.with(|r| {
    if let Some(outer) = r.borrow_mut().as_mut() {
      outer.extend(texts.iter().cloned());
    }
  });
  (out, texts)
}

/// The fact `name` as templates show it, recorded like a rendered text (a
/// `sensitive` resource hides it).
fn fact_value(facts: &crate::host::facts::Facts, name: &str) -> Option<String> {
  let value = match facts.template_context().get(name)? {
    serde_json::Value::String(s) => s.clone(),
    other => other.to_string(),
  };
  record(&value);
  Some(value)
}

fn record(text: &str) {
  RENDERED.with(|r| {
    if let Some(texts) = r.borrow_mut().as_mut() {
      texts.push(text.to_owned());
    }
  });
}

impl Validator<'_> {
  pub fn error(&mut self, d: Diagnostic) {
    self.diagnostics.push(d);
  }

  pub fn note(&mut self, note: impl Into<String>) {
    self.notes.push(note.into());
  }

  /// The value of the fact `name` (as templates show it: `4`, `amd64`), read
  /// from the typed facts. `None` before the facts are gathered or for a name
  /// that is not a fact. A `sensitive` resource hides it like its texts.
  pub fn fact(&mut self, name: &str) -> Option<String> {
    fact_value(self.facts?, name)
  }

  /// The text's value for this host: the literal itself, or the rendered
  /// template. `None` when it cannot be known yet (it uses facts and facts are
  /// not gathered) or when rendering failed (which is reported).
  pub fn text(&mut self, t: &Text) -> Option<String> {
    let value = self.render(t);
    if let Some(v) = &value {
      record(v);
    }
    value
  }

  fn render(&mut self, t: &Text) -> Option<String> {
    if !t.is_template() {
      return Some(t.value.clone());
    }
    let (top, nested) = text::names(&t.value);
    let literal = self.sources.snippet(t.span).to_owned();
    let mut ok = true;
    for name in &top {
      if name == "facts" || self.names.contains(name) {
        continue;
      }
      ok = false;
      let mut d = Diagnostic::new(Code::UndefinedVariable, format!("undefined variable `{name}`"))
        .label(text::name_span(&literal, t.span, name), format!("not defined for host `{}`", self.host));
      d = match did_you_mean(name, self.names.iter().map(String::as_str)) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!(
          "define it in a `vars` block of the playbook, of a group of `{}`, or of the host",
          self.host
        )),
      };
      self.error(d);
    }
    for path in nested.iter().filter_map(|p| p.strip_prefix("facts.")) {
      let fact = path.split('.').next().unwrap_or(path);
      if facts::find(fact).is_none() {
        ok = false;
        let mut d = Diagnostic::new(Code::UnknownFact, format!("converge gathers no fact `{fact}`"))
          .label(text::name_span(&literal, t.span, fact), "unknown fact");
        d = match did_you_mean(fact, facts::names()) {
          Some(s) => d.help(format!("did you mean `facts.{s}`?")),
          None => d.help(format!("the facts are: {}", facts::names().collect::<Vec<_>>().join(", "))),
        };
        self.error(d);
      }
    }
    if !ok || (top.contains("facts") && self.facts.is_none()) {
      return None;
    }
    match text::render(&t.value, &self.context) {
      Ok(s) => Some(s),
      Err(e) => {
        let detail = e.detail().map_or_else(|| e.to_string(), str::to_owned);
        self.error(
          Diagnostic::new(
            Code::TemplateRender,
            format!("template failed for host `{}`: {detail}", self.host),
          )
          .label(t.span, "while rendering this")
          .help("check the variables it uses and their types"),
        );
        None
      }
    }
  }
}
