//! The inventory: which hosts exist, how to reach them, how they are grouped, and
//! the variables of each host and group.
//!
//! Hosts and groups come from `host` and `group` statements in playbooks, from a
//! `.goenv` file included with `inventory "path"`, or from an Ansible INI file
//! included the same way ([`crate::inventory_ini`]). All three fill the same
//! [`Inventory`].

use crate::source::Span;
use indexmap::IndexMap;

/// A variable's value and where it was defined.
#[derive(Clone, Debug, PartialEq)]
pub struct Var {
  pub value: serde_json::Value,
  pub span: Span,
}

/// Variables by name, in definition order.
pub type Vars = IndexMap<String, Var>;

/// A name as written, with its span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
  pub name: String,
  pub span: Span,
}

/// One host.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Host {
  pub name: String,
  /// Where the host was first defined.
  pub span: Span,
  /// Address to connect to (`ansible_host`); the name when absent.
  pub address: Option<String>,
  pub port: Option<u16>,
  pub user: Option<String>,
  pub identity: Option<String>,
  pub vars: Vars,
}

/// One group: hosts, child groups and variables.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Group {
  pub name: String,
  pub span: Span,
  pub hosts: Vec<Name>,
  pub children: Vec<Name>,
  pub vars: Vars,
}

/// Every host and group known to a run.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Inventory {
  pub hosts: IndexMap<String, Host>,
  pub groups: IndexMap<String, Group>,
}

impl Inventory {
  pub fn is_empty(&self) -> bool {
    self.hosts.is_empty() && self.groups.is_empty()
  }

  /// The host of that name, created (at `span`) if it does not exist yet.
  pub fn host_mut(&mut self, name: &str, span: Span) -> &mut Host {
    self.hosts.entry(name.to_owned()).or_insert_with(|| Host {
      name: name.to_owned(),
      span,
      ..Host::default()
    })
  }

  /// The group of that name, created (at `span`) if it does not exist yet.
  pub fn group_mut(&mut self, name: &str, span: Span) -> &mut Group {
    self.groups.entry(name.to_owned()).or_insert_with(|| Group {
      name: name.to_owned(),
      span,
      ..Group::default()
    })
  }
}
