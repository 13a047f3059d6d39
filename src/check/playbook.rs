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
  pub vars: IndexMap<String, serde_json::Value>,
  /// In playbook order; the planner adds implicit and explicit ordering.
  pub resources: Vec<Arc<Resource>>,
}

#[derive(Debug, Default)]
pub struct Playbook {
  pub inventory: Inventory,
  /// True when no inventory was given: the only host is this machine.
  pub local: bool,
  pub hosts: Vec<HostPlay>,
  pub handlers: Vec<Arc<Handler>>,
}
