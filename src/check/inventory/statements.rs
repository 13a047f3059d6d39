//! The inventory statements of `.goenv` files: `inventory "PATH"` (a
//! `.goenv` inventory file, or an Ansible inventory read by [`super::source`]),
//! `host`, `group`, and `vars` blocks; and the checks on what they define
//! (host names, undefined child groups, group cycles). The resolver hands its
//! inventory, diagnostics and playbook variables to [`Statements`] for each
//! such statement.

use crate::check::inventory::{self, Inventory, Name, Var, Vars};
use crate::check::loader;
use crate::check::reader::{Cx, Reader, attribute, json_of, text_of};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::source::{self, Sources, Span};
use crate::syntax::ast::{Stmt, Value, ValueKind};
use std::path::Path;

/// What inventory statements read into.
pub(crate) struct Statements<'a> {
  pub inventory: &'a mut Inventory,
  pub diagnostics: &'a mut Diagnostics,
  /// The playbook's variables, which a `.goenv` inventory file's `vars` add to.
  pub vars: &'a mut Vars,
}

impl Statements<'_> {
  fn cx(&mut self, dir: &Path) -> Cx<'_> {
    Cx { diagnostics: &mut *self.diagnostics, base_dir: dir.to_path_buf() }
  }

  /// A top-level `vars { ... }`: playbook variables.
  pub(crate) fn playbook_vars(&mut self, stmt: &Stmt, dir: &Path) {
    let mut vars = std::mem::take(&mut *self.vars);
    self.read_vars(stmt, dir, &mut vars);
    *self.vars = vars;
  }

  pub(crate) fn include_inventory(&mut self, stmt: &Stmt, dir: &Path, sources: &mut Sources) {
    let mut reader = Reader::new(stmt, 1, "inventory");
    let mut cx = self.cx(dir);
    let Some(path) = reader.label(&mut cx, "path") else { return };
    if reader.finish(&mut cx).is_none() || reader.no_value(&mut cx).is_none() {
      return;
    }
    let full = dir.join(&path.value);
    if full.extension().is_some_and(|e| e == "goenv") {
      let Some(file) = loader::load_file(&full, sources, self.diagnostics) else {
        self.unreadable_inventory(&path, &full, None);
        return;
      };
      for inner in &file.ast.stmts {
        match inner.keywords().first().copied() {
          Some("host") => self.host(inner, &file.dir),
          Some("group") => self.group(inner, &file.dir),
          Some("vars") => {
            let mut vars = std::mem::take(&mut *self.vars);
            self.read_vars(inner, &file.dir, &mut vars);
            *self.vars = vars;
          }
          _ => self.diagnostics.push(
            Diagnostic::new(Code::NotAllowedHere, "an inventory file holds only `host`, `group` and `vars`")
              .label(inner.head_span(), "not an inventory statement")
              .help("move resources into a playbook"),
          ),
        }
      }
      return;
    }
    if let Err(e) = inventory::source::read(&full, sources, self.inventory, self.diagnostics) {
      self.unreadable_inventory(&path, &full, Some(&e));
    }
  }

  /// An inventory that cannot be read: why, pointing at the `inventory`
  /// statement (a missing file needs no reason).
  fn unreadable_inventory(&mut self, path: &Text, full: &Path, error: Option<&source::ReadError>) {
    let why = match error {
      Some(source::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
      Some(e) => format!(": {e}"),
      None => String::new(),
    };
    let help = match error {
      Some(source::ReadError::NotRegular { .. }) => {
        "name a regular file; converge does not read pipes, devices or sockets, which may never end"
          .to_owned()
      }
      Some(source::ReadError::TooLarge { .. }) => format!(
        "inventories are read only up to {} MiB; check that the path names the file you meant",
        source::MAX_INPUT_BYTES >> 20
      ),
      _ => {
        "paths are relative to the playbook's directory; an Ansible INI file or a `.goenv` file".to_owned()
      }
    };
    self.diagnostics.push(
      Diagnostic::new(Code::Io, format!("cannot read the inventory `{}`{why}", full.display()))
        .label(path.span, "included here")
        .help(help),
    );
  }

  /// `vars { name = value ... }` into `vars`.
  pub(crate) fn read_vars(&mut self, stmt: &Stmt, dir: &Path, vars: &mut Vars) {
    let reader = Reader::new(stmt, 1, "vars");
    let mut cx = self.cx(dir);
    if reader.finish(&mut cx).is_none() {
      return;
    }
    let block = match (&stmt.block, &stmt.value) {
      (Some(b), None) => b,
      (None, Some(Value { kind: ValueKind::Map(b), .. })) => b,
      _ => {
        cx.error(
          Diagnostic::new(Code::Shape, "`vars` takes a block of variables")
            .label(stmt.head_span(), "expected `vars { name = value }`"),
        );
        return;
      }
    };
    for inner in &block.stmts {
      let Some((name, span, value)) = attribute(inner, &mut cx, "vars") else { continue };
      let identifier = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
      if !identifier || name == "facts" || name == "host" {
        let why = if identifier { "is a name converge defines" } else { "is not a template variable name" };
        cx.error(
          Diagnostic::new(Code::WrongType, format!("`{name}` {why}"))
            .label(span, "bad variable name")
            .help("variable names are letters, digits and `_`, usable as `{{ name }}`; `facts` and `host` are taken"),
        );
        continue;
      }
      if let Some(first) = vars.get(&name) {
        cx.error(
          Diagnostic::new(Code::DuplicateDefinition, format!("the variable `{name}` is defined twice"))
            .label(span, "defined again here")
            .label(first.span, "first defined here")
            .help("keep one definition; to vary it per host, define it on a group or host"),
        );
        continue;
      }
      if let Some(json) = json_of(value, &mut cx) {
        if let Some(d) = inventory::check_connection_var(&name, &json, value.span) {
          cx.error(d);
        }
        vars.insert(name, Var { value: json, span });
      }
    }
  }

  pub(crate) fn host(&mut self, stmt: &Stmt, dir: &Path) {
    let mut reader = Reader::new(stmt, 1, "host");
    let mut cx = self.cx(dir);
    let Some(name) = reader.label(&mut cx, "name") else { return };
    if reader.finish(&mut cx).is_none() || reader.no_value(&mut cx).is_none() {
      return;
    }
    if let Some(existing) = self.inventory.hosts.get(&name.value)
      && existing.span != Span::default()
      && existing.span.file == name.span.file
      && existing.address.is_some()
    {
      self.diagnostics.push(
        Diagnostic::new(Code::DuplicateDefinition, format!("the host `{}` is defined twice", name.value))
          .label(name.span, "defined again here")
          .label(existing.span, "first defined here"),
      );
      return;
    }
    let mut vars = Vars::new();
    let mut attrs = Vec::new();
    if let Some(block) = &stmt.block {
      for inner in &block.stmts {
        if inner.keywords().first() == Some(&"vars") {
          self.read_vars(inner, dir, &mut vars);
        } else {
          attrs.push(inner);
        }
      }
    }
    let mut cx = self.cx(dir);
    let mut address = None;
    let mut port = None;
    let mut user = None;
    let mut identity = None;
    for inner in attrs {
      let Some((key, key_span, value)) = attribute(inner, &mut cx, "host") else { continue };
      match key.as_str() {
        "address" => {
          address = text_of(value, &mut cx, "`address`").map(|t| {
            if let Some(d) = inventory::check_host_name(&t.value, t.span, "`address`") {
              cx.error(d);
            }
            t.value
          })
        }
        "user" => {
          user = text_of(value, &mut cx, "`user`").map(|t| {
            if let Some(d) = inventory::check_user_name(&t.value, t.span, "`user`") {
              cx.error(d);
            }
            t.value
          })
        }
        "identity" => identity = text_of(value, &mut cx, "`identity`").map(|t| t.value),
        "port" => match &value.kind {
          ValueKind::Int(i) if (1..=65535).contains(&i.value) => port = u16::try_from(i.value).ok(),
          ValueKind::Int(i) => cx.error(
            Diagnostic::new(Code::Port, format!("`{}` is not a TCP port", i.value))
              .label(value.span, "outside 1-65535")
              .help("SSH listens on 22 unless the host says otherwise"),
          ),
          other => cx.error(
            Diagnostic::new(
              Code::WrongType,
              format!("`port` expects a whole number, found {}", other.describe()),
            )
            .label(value.span, "not a number")
            .help("write the port without quotes, as in `port = 2222`"),
          ),
        },
        _ => {
          let keys = ["address", "port", "user", "identity", "vars"];
          let mut d = Diagnostic::new(Code::UnknownAttribute, format!("`host` has no attribute `{key}`"))
            .label(key_span, "unknown attribute");
          d = match did_you_mean(&key, keys) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help("`host` takes: address, port, user, identity, and a `vars` block"),
          };
          cx.error(d);
        }
      }
    }
    let host = self.inventory.host_mut(&name.value, name.span);
    host.span = name.span;
    host.address = address.or(host.address.take());
    host.port = port.or(host.port);
    host.user = user.or(host.user.take());
    host.identity = identity.or(host.identity.take());
    host.vars.extend(vars);
  }

  pub(crate) fn group(&mut self, stmt: &Stmt, dir: &Path) {
    let mut reader = Reader::new(stmt, 1, "group");
    let mut cx = self.cx(dir);
    let Some(name) = reader.label(&mut cx, "name") else { return };
    if reader.finish(&mut cx).is_none() || reader.no_value(&mut cx).is_none() {
      return;
    }
    let mut vars = Vars::new();
    let mut hosts = Vec::new();
    let mut children = Vec::new();
    if let Some(block) = &stmt.block {
      for inner in &block.stmts {
        if inner.keywords().first() == Some(&"vars") && inner.head.len() == 1 {
          self.read_vars(inner, dir, &mut vars);
          continue;
        }
        let mut cx = self.cx(dir);
        let Some((key, key_span, value)) = attribute(inner, &mut cx, "group") else { continue };
        let list = match key.as_str() {
          "hosts" => &mut hosts,
          "children" => &mut children,
          _ => {
            let mut d = Diagnostic::new(Code::UnknownAttribute, format!("`group` has no attribute `{key}`"))
              .label(key_span, "unknown attribute");
            d = match did_you_mean(&key, ["hosts", "children", "vars"]) {
              Some(s) => d.help(format!("did you mean `{s}`?")),
              None => d.help("`group` takes `hosts = [...]`, `children = [...]` and a `vars` block"),
            };
            cx.error(d);
            continue;
          }
        };
        let items: Vec<&Value> = match &value.kind {
          ValueKind::List(items) => items.iter().collect(),
          _ => vec![value],
        };
        for item in items {
          if let Some(t) = text_of(item, &mut cx, &format!("an item of `{key}`")) {
            list.push(Name { name: t.value, span: t.span });
          }
        }
      }
    }
    for host in &hosts {
      self.inventory.host_mut(&host.name, host.span);
    }
    let group = self.inventory.group_mut(&name.value, name.span);
    group.span = name.span;
    group.hosts.extend(hosts);
    group.children.extend(children);
    group.vars.extend(vars);
  }

  /// Host names that are neither host names nor addresses: without an
  /// `address` the name is what converge connects to. A host range is reported
  /// once, not once per host.
  pub(crate) fn check_host_names(&mut self) {
    let mut reported = std::collections::HashSet::new();
    for host in self.inventory.hosts.values() {
      if reported.contains(&host.span) {
        continue;
      }
      if let Some(d) = inventory::check_host_name(&host.name, host.span, "") {
        reported.insert(host.span);
        self.diagnostics.push(d);
      }
    }
  }

  /// Children that name no group, and groups that contain themselves.
  pub(crate) fn check_groups(&mut self) {
    let names: Vec<String> = self.inventory.groups.keys().cloned().collect();
    for group in self.inventory.groups.values() {
      for child in &group.children {
        if !self.inventory.groups.contains_key(&child.name) {
          let mut d = Diagnostic::new(Code::UndefinedTarget, format!("`{}` names no group", child.name))
            .label(child.span, "undefined group");
          if let Some(s) = did_you_mean(&child.name, names.iter().map(String::as_str)) {
            d = d.help(format!("did you mean `{s}`?"));
          }
          self.diagnostics.push(d);
        }
      }
    }
    for name in &names {
      if let Some(path) = self.group_cycle(name, name, &mut Vec::new()) {
        let span = self.inventory.groups.get(name).map(|g| g.span).unwrap_or_default();
        self.diagnostics.push(
          Diagnostic::new(
            Code::GroupCycle,
            format!("the group `{name}` contains itself: {}", path.join(" -> ")),
          )
          .label(span, "part of a cycle")
          .help("a group's children must not lead back to it"),
        );
        return;
      }
    }
  }

  fn group_cycle(&self, start: &str, at: &str, path: &mut Vec<String>) -> Option<Vec<String>> {
    path.push(at.to_owned());
    let group = self.inventory.groups.get(at)?;
    for child in &group.children {
      if child.name == start {
        let mut cycle = path.clone();
        cycle.push(start.to_owned());
        return Some(cycle);
      }
      if !path.contains(&child.name)
        && let Some(cycle) = self.group_cycle(start, &child.name, path)
      {
        return Some(cycle);
      }
    }
    path.pop();
    None
  }
}
