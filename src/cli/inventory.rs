//! `converge inventory`: the resolved inventory, shown as `ansible-inventory`
//! (ansible-core 2.19) shows it, so that the two can be compared line by line.
//!
//! `--list` (the default) prints the same JSON: each group reachable from
//! `all` with its direct `hosts` and its `children` (empty keys and empty
//! groups left out), and `_meta.hostvars` with each host's variables from the
//! inventory (group and host variables merged in Ansible's precedence; no magic
//! variables, no playbook `vars`), keys sorted, four-space indent. `--host
//! NAME` prints one host's variables; `--graph [GROUP]` the tree.
//!
//! With `--connections`, `_meta` gains a `converge_connections` object: for
//! each host, how converge will reach it. Everything Ansible prints stays as
//! Ansible prints it, so a consumer of `ansible-inventory --list` output can
//! read this one too.

use crate::check::inventory::tree::ALL;
use crate::check::inventory::{Inventory, Vars, host_vars};
use crate::check::loader;
use crate::check::playbook::Playbook;
use crate::check::resolver;
use crate::cli::commands::{EXIT_ERROR, EXIT_OK};
use crate::diagnostic::Diagnostics;
use crate::report::reporter::Reporter;
use crate::source::Sources;
use indexmap::IndexSet;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::path::PathBuf;

/// `converge inventory`.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct InventoryArgs {
  /// Print every group and host variable as `ansible-inventory --list` does
  /// (the default).
  #[arg(long, conflicts_with_all = ["host", "graph"])]
  pub list: bool,
  /// Print the variables of one host, as `ansible-inventory --host` does.
  #[arg(long, value_name = "NAME", conflicts_with = "graph")]
  pub host: Option<String>,
  /// Print the group tree, as `ansible-inventory --graph` does.
  #[arg(long)]
  pub graph: bool,
  /// With `--list`: add how converge reaches each host under
  /// `_meta.converge_connections`.
  #[arg(long)]
  pub connections: bool,
  /// With `--connections`: the ssh client configuration file, as `ssh -F`
  /// (default: `~/.ssh/config` and `/etc/ssh/ssh_config`, as OpenSSH reads them).
  #[arg(short = 'F', long = "ssh-config", value_name = "FILE", requires = "connections")]
  pub ssh_config: Option<PathBuf>,
  /// An Ansible inventory to read, as `ansible-inventory -i` takes it
  /// (repeatable); read before the playbooks' own `inventory` statements.
  #[arg(short = 'i', long = "inventory", value_name = "PATH")]
  pub inventories: Vec<PathBuf>,
  /// Playbook files or directories (default: the `*.goenv` files here, unless
  /// `-i` is given).
  #[arg(value_name = "PLAYBOOK")]
  pub playbooks: Vec<PathBuf>,
  /// With `--list`: only the hosts this Ansible host pattern selects, as
  /// `ansible-inventory --limit` does.
  #[arg(long, value_name = "PATTERN")]
  pub limit: Option<String>,
  /// With `--graph`: the group to start from.
  #[arg(long, value_name = "GROUP", requires = "graph")]
  pub group: Option<String>,
}

/// Runs `converge inventory`.
pub fn run(args: &InventoryArgs, reporter: &Reporter) -> i32 {
  let mut sources = Sources::new();
  let mut diagnostics = Diagnostics::new();
  let files = if args.playbooks.is_empty() && !args.inventories.is_empty() {
    Vec::new()
  } else {
    loader::load(&args.playbooks, &mut sources, &mut diagnostics)
  };
  let (playbook, found) =
    resolver::resolve_with(&args.inventories, &files, &mut sources, &indexmap::IndexMap::new());
  diagnostics.extend(found);
  if diagnostics.has_errors() {
    reporter.diagnostics(diagnostics, &sources, "no inventory: the inventory or the playbooks have errors");
    return EXIT_ERROR;
  }
  let inventory = &playbook.inventory;
  let text = if let Some(host) = &args.host {
    if !inventory.hosts.contains_key(host) {
      reporter.line(&format!("error: the inventory has no host `{host}`"));
      return EXIT_ERROR;
    }
    pretty(&Value::Object(host_variables(inventory, host)))
  } else if args.graph {
    let group = args.group.as_deref().unwrap_or(ALL);
    if !inventory.groups.contains_key(group) {
      reporter.line(&format!("error: the inventory has no group `{group}`"));
      return EXIT_ERROR;
    }
    graph(inventory, group).join("\n")
  } else {
    let available = match args.limit.as_deref().map(|p| inventory.limit(p)) {
      None => None,
      Some(Ok(hosts)) => Some(hosts),
      Some(Err(e)) => {
        reporter.line(&format!("error: --limit {}: {e}", args.limit.as_deref().unwrap_or_default()));
        return EXIT_ERROR;
      }
    };
    let mut list = list(inventory, available.as_ref());
    if args.connections
      && let Some(Value::Object(meta)) = list.get_mut("_meta")
    {
      meta.insert("converge_connections".to_owned(), connections(&playbook, args.ssh_config.clone()));
    }
    pretty(&Value::Object(list))
  };
  reporter.raw(&format!("{text}\n"));
  EXIT_OK
}

/// JSON as Python's `json.dumps(indent=4, sort_keys=True)` writes it.
fn pretty(value: &Value) -> String {
  let sorted = sort(value);
  let mut out = Vec::new();
  let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
  let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
  match serde::Serialize::serialize(&sorted, &mut serializer) {
    Ok(()) => String::from_utf8(out).unwrap_or_default(),
    Err(_) => sorted.to_string(),
  }
}

/// `value` with the keys of every object in sorted order.
fn sort(value: &Value) -> Value {
  match value {
    Value::Object(map) => {
      let mut keys: Vec<&String> = map.keys().collect();
      keys.sort();
      let mut out = Map::new();
      for key in keys {
        out.insert(key.clone(), sort(&map[key]));
      }
      Value::Object(out)
    }
    Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
    other => other.clone(),
  }
}

/// A host's inventory variables, as `ansible-inventory --host` lists them.
pub fn host_variables(inventory: &Inventory, host: &str) -> Map<String, Value> {
  let tree = inventory.tree();
  host_vars::layered(inventory, &tree, &Vars::new(), host).into_iter().map(|(k, v)| (k, v.value)).collect()
}

/// The `--list` document, of the hosts in `available` (all when `None`).
pub fn list(inventory: &Inventory, available: Option<&IndexSet<String>>) -> Map<String, Value> {
  let mut out = Map::new();
  let mut seen: HashSet<String> = HashSet::new();
  let shown = |host: &str| available.is_none_or(|a| a.contains(host));
  format_group(inventory, ALL, &shown, &mut seen, &mut out);
  let tree = inventory.tree();
  let mut hostvars = Map::new();
  for host in inventory.hosts.keys().filter(|h| shown(h)) {
    let vars: Map<String, Value> = host_vars::layered(inventory, &tree, &Vars::new(), host)
      .into_iter()
      .map(|(k, v)| (k, v.value))
      .collect();
    if !vars.is_empty() {
      hostvars.insert(host.clone(), Value::Object(vars));
    }
  }
  let mut meta = Map::new();
  meta.insert("hostvars".to_owned(), Value::Object(hostvars));
  meta.insert("profile".to_owned(), Value::String("inventory_legacy".to_owned()));
  out.insert("_meta".to_owned(), Value::Object(meta));
  out
}

/// Ansible's `format_group`: a group's direct hosts and children, then each
/// child not shown yet.
fn format_group(
  inventory: &Inventory,
  name: &str,
  shown: &dyn Fn(&str) -> bool,
  seen: &mut HashSet<String>,
  out: &mut Map<String, Value>,
) {
  let Some(group) = inventory.groups.get(name) else { return };
  let mut entry = Map::new();
  if name != ALL {
    let hosts: Vec<Value> =
      group.hosts.iter().filter(|h| shown(&h.name)).map(|h| Value::String(h.name.clone())).collect();
    if !hosts.is_empty() {
      entry.insert("hosts".to_owned(), Value::Array(hosts));
    }
  }
  let children: Vec<Value> = group.children.iter().map(|c| Value::String(c.name.clone())).collect();
  if !children.is_empty() {
    entry.insert("children".to_owned(), Value::Array(children));
  }
  if !entry.is_empty() {
    out.insert(name.to_owned(), Value::Object(entry));
  }
  for child in &group.children {
    if seen.insert(child.name.clone()) {
      format_group(inventory, &child.name, shown, seen, out);
    }
  }
}

/// Ansible's `--graph`: groups as `@name:`, children before hosts, each level
/// indented by `  |`. A cycle (reported at check) is cut at the number of groups.
pub fn graph(inventory: &Inventory, group: &str) -> Vec<String> {
  let mut lines = Vec::new();
  graph_group(inventory, group, 0, &mut lines);
  lines
}

fn graph_group(inventory: &Inventory, name: &str, depth: usize, lines: &mut Vec<String>) {
  let indent = |depth: usize, text: &str| {
    if depth == 0 { text.to_owned() } else { format!("{}--{text}", "  |".repeat(depth)) }
  };
  lines.push(indent(depth, &format!("@{name}:")));
  let Some(group) = inventory.groups.get(name) else { return };
  if depth > inventory.groups.len() {
    return;
  }
  for child in &group.children {
    graph_group(inventory, &child.name, depth + 1, lines);
  }
  if name != ALL {
    for host in &group.hosts {
      lines.push(indent(depth + 1, &host.name));
    }
  }
}

/// How converge reaches each host, as a run would: the inventory's
/// connection variables, then OpenSSH's own resolution of `ssh_config`
/// (`ssh -G`): address, port, user, identity files, jump hosts and known_hosts
/// files, or why the host cannot be reached.
fn connections(playbook: &Playbook, ssh_config: Option<PathBuf>) -> Value {
  let options = crate::host::ssh::Options { config: ssh_config, ..crate::host::ssh::Options::default() };
  let client = match crate::host::ssh::ClientConfig::load(&options) {
    Ok(client) => client,
    Err(e) => return serde_json::json!({ "error": e.to_string() }),
  };
  let mut out = Map::new();
  for play in &playbook.hosts {
    let view = crate::host::connection::describe(playbook, play, &client, &options);
    out.insert(play.name.clone(), serde_json::to_value(view).unwrap_or_default());
  }
  Value::Object(out)
}
