//! A host's variables as Ansible computes them, and the magic variables
//! templates see.
//!
//! Precedence, lowest first: the playbook's `vars`; the `all` group's
//! variables (inventory, then `group_vars/all`); the host's other groups in
//! Ansible's order (depth from `all`, `ansible_group_priority`, name; each
//! group's inventory variables, then all of their `group_vars/` files); the
//! host's own variables (inventory, then `host_vars/`). Then the magic
//! variables: `inventory_hostname`, `inventory_hostname_short`,
//! `group_names`, and, when a template names them, `groups` and `hostvars`.
//!
//! Connection variables that are templates (`ansible_host="10.0.0.{{ n }}"`)
//! are rendered with the host's variables, as Ansible renders them when it
//! connects, so that the connection and the templates agree.

use crate::check::inventory::tree::{ALL, Tree, UNGROUPED};
use crate::check::inventory::{self, Inventory, Var, Vars};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use indexmap::IndexMap;
use serde_json::Value;

/// The connection variables that are rendered when they are templates.
const CONNECTION_VARS: [&str; 11] = [
  "ansible_host",
  "ansible_ssh_host",
  "ansible_port",
  "ansible_ssh_port",
  "ansible_user",
  "ansible_ssh_user",
  "ansible_ssh_private_key_file",
  "ansible_private_key_file",
  "ansible_connection",
  "ansible_ssh_common_args",
  "ansible_ssh_extra_args",
];

/// The variables of `host` from the inventory and the playbook's `vars`, with
/// where each was defined, in precedence order (no magic variables).
pub fn layered(inventory: &Inventory, tree: &Tree, playbook: &Vars, host: &str) -> Vars {
  let mut out = playbook.clone();
  let groups = inventory.host_groups(tree, host);
  let group = |name: &str| inventory.groups.get(name);
  if let Some(all) = group(ALL) {
    out.extend(all.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    out.extend(all.file_vars.iter().map(|(k, v)| (k.clone(), v.clone())));
  }
  let others: Vec<&str> = groups.iter().map(String::as_str).filter(|g| *g != ALL).collect();
  for name in &others {
    if let Some(g) = group(name) {
      out.extend(g.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
  }
  for name in &others {
    if let Some(g) = group(name) {
      out.extend(g.file_vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
  }
  if let Some(h) = inventory.hosts.get(host) {
    out.extend(h.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    out.extend(h.file_vars.iter().map(|(k, v)| (k.clone(), v.clone())));
  }
  out
}

/// `inventory_hostname_short`: the name up to its first `.`, or the whole
/// name of an IP address.
pub fn short_name(host: &str) -> String {
  if host.parse::<std::net::Ipv4Addr>().is_ok() || inventory::is_ipv6(host) {
    host.to_owned()
  } else {
    host.split('.').next().unwrap_or(host).to_owned()
  }
}

/// The magic variables every host has.
pub fn magic(inventory: &Inventory, tree: &Tree, host: &str) -> IndexMap<String, Value> {
  let mut names: Vec<String> = inventory.host_groups(tree, host).into_iter().filter(|g| g != ALL).collect();
  names.sort();
  let mut out = IndexMap::new();
  out.insert("inventory_hostname".to_owned(), Value::String(host.to_owned()));
  out.insert("inventory_hostname_short".to_owned(), Value::String(short_name(host)));
  out.insert("group_names".to_owned(), Value::from(names));
  out
}

/// `groups`: every group's hosts, `all` and `ungrouped` included.
pub fn groups_var(inventory: &Inventory) -> Value {
  let mut map = serde_json::Map::new();
  for (name, hosts) in inventory.all_group_hosts() {
    map.insert(name, Value::from(hosts));
  }
  if !map.contains_key(UNGROUPED) {
    map.insert(UNGROUPED.to_owned(), Value::Array(Vec::new()));
  }
  Value::Object(map)
}

/// Renders the connection variables of `vars` that are templates, with
/// `context` (the host's variables). A template that does not render, or an
/// `ansible_port` that is not a port once rendered, is a diagnostic; the
/// value is then left as written.
pub fn render_connection(
  vars: &mut Vars,
  context: &minijinja::Value,
  host: &str,
  diagnostics: &mut Diagnostics,
) {
  for key in CONNECTION_VARS {
    let Some(var) = vars.get_mut(key) else { continue };
    let Value::String(text) = &var.value else { continue };
    if !crate::check::text::is_template(text) {
      continue;
    }
    let rendered = match crate::check::text::render(text, context) {
      Ok(rendered) => rendered,
      Err(e) => {
        diagnostics.push(
          Diagnostic::new(
            Code::ConnectionTemplate,
            format!("expected `{key}` of host `{host}` to render, but `{text}` fails: {e}"),
          )
          .label(var.span, "cannot be rendered")
          .help(
            "define every variable the template uses for this host, or write the value without a template",
          ),
        );
        continue;
      }
    };
    let value = if key.ends_with("_port") {
      match rendered.trim().parse::<u64>() {
        Ok(port) if (1..=65535).contains(&port) => Value::from(port),
        _ => {
          diagnostics.push(
            Diagnostic::new(
              Code::Port,
              format!(
                "expected `{key}` of host `{host}` to be a port between 1 and 65535, found `{rendered}` \
                 (rendered from `{text}`)"
              ),
            )
            .label(var.span, "not a port once rendered")
            .help("make the template give a whole number from 1 to 65535 for this host"),
          );
          continue;
        }
      }
    } else {
      Value::String(rendered)
    };
    if let Some(d) = inventory::check_connection_var(key, &value, var.span) {
      diagnostics.push(d);
      continue;
    }
    *var = Var { value, span: var.span };
  }
}
