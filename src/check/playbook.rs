//! The resolved playbook: for every targeted host, its variables and the typed
//! resources that apply to it, plus the handlers. This is what the planner works
//! from.

use crate::check::inventory::Inventory;
use crate::check::resource::Resource;
use crate::check::text::Text;
use indexmap::IndexMap;
use std::sync::Arc;

/// Resources run when a resource that notifies them changed.
#[derive(Debug)]
pub struct Handler {
  pub name: Text,
  pub resources: Vec<Arc<Resource>>,
}

/// One host with everything that applies to it.
#[derive(Debug)]
pub struct HostPlay {
  pub name: String,
  /// Variables in scope: playbook < groups (parents before children) < host.
  pub vars: HostVars,
  /// In playbook order; the planner adds implicit and explicit ordering.
  pub resources: Vec<Arc<Resource>>,
}

/// The variables of one host: its own, and those every host shares (Ansible's
/// `groups` and `hostvars`), which are held once for the whole inventory and
/// never copied per host, so that a large inventory costs memory and time in
/// proportion to its size, not to its square.
#[derive(Clone, Debug, Default)]
pub struct HostVars {
  /// The host's own variables (with the `--var` values, which win over shared ones).
  own: IndexMap<String, serde_json::Value>,
  shared: Arc<SharedVars>,
}

/// Variables every host sees the same.
#[derive(Debug, Default)]
pub struct SharedVars {
  vars: IndexMap<String, serde_json::Value>,
  /// `vars` as a template context, built once.
  context: minijinja::Value,
}

impl SharedVars {
  pub fn new(vars: IndexMap<String, serde_json::Value>) -> SharedVars {
    let context = minijinja::Value::from(minijinja::value::Serde(&vars));
    SharedVars { vars, context }
  }

  pub fn contains_key(&self, name: &str) -> bool {
    self.vars.contains_key(name)
  }
}

impl From<IndexMap<String, serde_json::Value>> for HostVars {
  fn from(own: IndexMap<String, serde_json::Value>) -> HostVars {
    HostVars { own, shared: Arc::default() }
  }
}

impl FromIterator<(String, serde_json::Value)> for HostVars {
  fn from_iter<I: IntoIterator<Item = (String, serde_json::Value)>>(iter: I) -> HostVars {
    HostVars::from(iter.into_iter().collect::<IndexMap<_, _>>())
  }
}

impl HostVars {
  /// `own` over `shared`: a name in both takes the host's value.
  pub fn new(own: IndexMap<String, serde_json::Value>, shared: Arc<SharedVars>) -> HostVars {
    HostVars { own, shared }
  }

  pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
    self.own.get(name).or_else(|| self.shared.vars.get(name))
  }

  /// Sets one of the host's own variables.
  pub fn insert(&mut self, name: String, value: serde_json::Value) {
    self.own.insert(name, value);
  }

  /// Every variable, the host's own first.
  pub fn iter(&self) -> impl Iterator<Item = (&String, &serde_json::Value)> {
    self.own.iter().chain(self.shared.vars.iter().filter(|(k, _)| !self.own.contains_key(*k)))
  }

  pub fn keys(&self) -> impl Iterator<Item = &String> {
    self.iter().map(|(k, _)| k)
  }

  /// The template context: the host's own variables and `extra` (`host`,
  /// `facts`), over the shared ones, which are not copied.
  pub fn context(&self, extra: impl IntoIterator<Item = (String, serde_json::Value)>) -> minijinja::Value {
    let mut own = self.own.clone();
    own.extend(extra);
    let own = minijinja::Value::from(minijinja::value::Serde(&own));
    if self.shared.vars.is_empty() {
      own
    } else {
      minijinja::value::merge_maps([own, self.shared.context.clone()])
    }
  }
}

#[derive(Debug, Default)]
pub struct Playbook {
  pub inventory: Inventory,
  /// True when no inventory was given: the only host is this machine.
  pub local: bool,
  pub hosts: Vec<HostPlay>,
  pub handlers: Vec<Arc<Handler>>,
}
