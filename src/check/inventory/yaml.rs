//! YAML inventories (`inventory.yml`), as Ansible's `yaml` inventory plugin
//! reads them: each top-level key is a group; a group is a mapping with
//! `hosts` (host patterns, with ranges and `:port`, each with its variables),
//! `vars` and `children` (groups, recursively), or empty. Values keep their
//! YAML types ([`super::yaml_value`]).
//!
//! Where Ansible warns and skips (a group that is not a mapping, a key other
//! than `hosts`, `vars` and `children`), converge refuses with E233, since a
//! skipped part is a host or a variable silently lost.

use crate::check::inventory::yaml_value::{self, Node};
use crate::check::inventory::{self, Inventory, Name, Var};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::{FileId, Span};
use serde_json::Value;

/// Reads the YAML inventory `text` (of `file`) into `inventory`.
pub fn parse(file: FileId, text: &str, inventory: &mut Inventory, diagnostics: &mut Diagnostics) {
  let root = match yaml_value::parse(text) {
    Ok(Some(root)) => root,
    Ok(None) => return,
    Err(e) => {
      diagnostics.push(
        Diagnostic::new(Code::InventoryYaml, format!("expected a YAML inventory: {}", e.message))
          .label(Span::new(file, e.at, e.at), "here")
          .help("write the inventory as Ansible's YAML form: groups with `hosts`, `vars` and `children`"),
      );
      return;
    }
  };
  let mut reader = Reader { file, text, inventory, diagnostics };
  let Node::Map(groups, _) = root else {
    reader.shape(root.at(), "expected a mapping of groups at the top of the inventory".to_owned());
    return;
  };
  for (name, data) in &groups {
    reader.group(name, data, root_key_span(text, file, data));
  }
}

/// A span at a node, one character wide, within the text.
fn root_key_span(text: &str, file: FileId, node: &Node) -> Span {
  let at = node.at().min(text.len());
  let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
  Span::new(file, at, end)
}

struct Reader<'a> {
  file: FileId,
  text: &'a str,
  inventory: &'a mut Inventory,
  diagnostics: &'a mut Diagnostics,
}

impl Reader<'_> {
  fn span(&self, node: &Node) -> Span {
    root_key_span(self.text, self.file, node)
  }

  fn shape(&mut self, at: usize, message: String) {
    let end = self.text[at.min(self.text.len())..].chars().next().map_or(at, |c| at + c.len_utf8());
    self.diagnostics.push(
      Diagnostic::new(Code::InventoryYaml, message)
        .label(Span::new(self.file, at, end), "here")
        .help("a group is a mapping with `hosts`, `vars` and `children`, each a mapping, or empty"),
    );
  }

  /// One group and what it holds; returns whether it was read.
  fn group(&mut self, name: &str, data: &Node, span: Span) -> bool {
    let entries = match data {
      Node::Scalar(Value::Null, _) => {
        self.inventory.group_mut(name, span);
        return true;
      }
      Node::Map(entries, _) => entries,
      other => {
        self.shape(other.at(), format!("expected the group `{name}` to be a mapping or empty"));
        return false;
      }
    };
    self.inventory.group_mut(name, span);
    for (key, value) in entries {
      // A string where a section is expected names one entry, as Ansible allows.
      let section: Vec<(String, Node)> = match value {
        Node::Map(items, _) => items.clone(),
        Node::Scalar(Value::Null, _) => continue,
        Node::Scalar(Value::String(s), at) if matches!(key.as_str(), "hosts" | "vars" | "children") => {
          vec![(s.clone(), Node::Scalar(Value::Null, *at))]
        }
        other => {
          self.shape(other.at(), format!("expected `{key}` of group `{name}` to be a mapping"));
          continue;
        }
      };
      match key.as_str() {
        "vars" => {
          for (var, node) in &section {
            let span = self.span(node);
            self.group_var(name, var, node, span);
          }
        }
        "children" => {
          for (child, node) in &section {
            let span = self.span(node);
            if self.group(child, node, span) {
              let group = self.inventory.group_mut(name, span);
              if !group.children.iter().any(|c| c.name == *child) {
                group.children.push(Name { name: child.clone(), span });
              }
            }
          }
        }
        "hosts" => {
          for (pattern, node) in &section {
            self.hosts(name, pattern, node);
          }
        }
        other => self.shape(
          value.at(),
          format!("expected `hosts`, `vars` or `children` in group `{name}`, found `{other}`"),
        ),
      }
    }
    true
  }

  fn group_var(&mut self, group: &str, key: &str, node: &Node, span: Span) {
    let value = node.to_json();
    if key == "ansible_group_priority" {
      let priority = match &value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f.trunc() as i64)),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
      };
      match priority {
        Some(p) => self.inventory.group_mut(group, span).priority = Some(p),
        None => self.diagnostics.push(
          Diagnostic::new(
            Code::GroupPriority,
            format!("expected `ansible_group_priority` to be a whole number, found `{value}`"),
          )
          .label(span, "not a whole number")
          .help(
            "write a whole number, as in `ansible_group_priority: 10`; Ansible refuses the file otherwise",
          ),
        ),
      }
      return;
    }
    if let Some(d) = inventory::check_connection_var(key, &value, span) {
      self.diagnostics.push(d);
    }
    self.inventory.group_mut(group, span).vars.insert(key.to_owned(), Var { value, span });
  }

  fn hosts(&mut self, group: &str, pattern: &str, node: &Node) {
    let span = self.span(node);
    let vars: Vec<(String, Value, Span)> = match node {
      Node::Scalar(Value::Null, _) => Vec::new(),
      Node::Map(entries, _) => entries.iter().map(|(k, v)| (k.clone(), v.to_json(), self.span(v))).collect(),
      other => {
        self
          .shape(other.at(), format!("expected the variables of host `{pattern}` to be a mapping or empty"));
        return;
      }
    };
    let Some((names, port)) = super::ini::expand_pattern(pattern) else {
      self.diagnostics.push(
        Diagnostic::new(Code::Inventory, format!("expected a host name or a host range, found `{pattern}`"))
          .label(span, "bad host pattern")
          .help("write a host name, an address, or a range such as `web[01:03].example.com`, with `:port`"),
      );
      return;
    };
    for (key, value, span) in &vars {
      if let Some(d) = inventory::check_connection_var(key, value, *span) {
        self.diagnostics.push(d);
      }
    }
    for name in names {
      let new = !self.inventory.hosts.contains_key(&name);
      let host = self.inventory.host_mut(&name, span);
      if let Some(port) = port.filter(|_| new) {
        host.vars.insert("ansible_port".to_owned(), Var { value: Value::from(port), span });
      }
      for (key, value, span) in &vars {
        host.vars.insert(key.clone(), Var { value: value.clone(), span: *span });
      }
      let group = self.inventory.group_mut(group, span);
      if !group.hosts.iter().any(|h| h.name == name) {
        group.hosts.push(Name { name, span });
      }
    }
  }
}
