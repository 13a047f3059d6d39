//! `group_vars/` and `host_vars/` beside an inventory, read as Ansible's
//! `host_group_vars` plugin reads them: for a group or host `NAME`, the first
//! of `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json` that exists; when it is a
//! directory, every file in it (and its subdirectories), sorted by name, whose
//! name has no extension or one of those three, skipping hidden files and
//! backups ending in `~`. Each file is a YAML mapping of variables; a later
//! file replaces a variable of an earlier one.
//!
//! Bounded: at most [`MAX_FILES`] files and [`MAX_DEPTH`] directory levels per
//! name, each file at most the input size limit, only regular files read.

use crate::check::inventory::yaml_value::{self, Node};
use crate::check::inventory::{Inventory, Var, Vars, check_connection_var};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::{self, Sources, Span};
use std::path::{Path, PathBuf};

/// The extensions Ansible tries after the bare name.
const EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];
/// The most files one group or host may take its variables from.
const MAX_FILES: usize = 1000;
/// The deepest a `NAME/` directory is searched.
const MAX_DEPTH: usize = 16;

/// Reads `dir/group_vars/` and `dir/host_vars/` for every group and host of
/// `inventory`.
pub fn read(dir: &Path, sources: &mut Sources, inventory: &mut Inventory, diagnostics: &mut Diagnostics) {
  let groups_dir = dir.join("group_vars");
  if groups_dir.is_dir() {
    let mut names: Vec<String> = inventory.groups.keys().cloned().collect();
    for always in ["all", "ungrouped"] {
      if !names.iter().any(|n| n == always) {
        names.push(always.to_owned());
      }
    }
    for name in names {
      let vars = load(&groups_dir, &name, sources, diagnostics);
      if vars.is_empty() {
        continue;
      }
      let group = inventory.group_mut(&name, Span::default());
      group.file_vars.extend(vars);
    }
  }
  let hosts_dir = dir.join("host_vars");
  if hosts_dir.is_dir() {
    let names: Vec<String> = inventory.hosts.keys().cloned().collect();
    for name in names {
      let vars = load(&hosts_dir, &name, sources, diagnostics);
      if let Some(host) = inventory.hosts.get_mut(&name) {
        host.file_vars.extend(vars);
      }
    }
  }
}

/// The variables of `name` from `dir`.
fn load(dir: &Path, name: &str, sources: &mut Sources, diagnostics: &mut Diagnostics) -> Vars {
  let mut vars = Vars::new();
  if name.starts_with('/') || name.contains("..") || name.contains('/') {
    return vars;
  }
  let base = dir.join(name);
  let candidates =
    std::iter::once(base.clone()).chain(EXTENSIONS.iter().map(|e| dir.join(format!("{name}.{e}"))));
  let Some(found) = candidates.into_iter().find(|p| p.exists()) else { return vars };
  let files = if found.is_dir() {
    let mut files = Vec::new();
    walk(&found, 0, &mut files);
    files
  } else {
    vec![found]
  };
  for path in files.into_iter().take(MAX_FILES) {
    read_file(&path, sources, diagnostics, &mut vars);
  }
  vars
}

/// The files of a `NAME/` directory in Ansible's order.
fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
  if depth > MAX_DEPTH || out.len() >= MAX_FILES {
    return;
  }
  let Ok(entries) = std::fs::read_dir(dir) else { return };
  let mut names: Vec<String> =
    entries.filter_map(Result::ok).filter_map(|e| e.file_name().to_str().map(str::to_owned)).collect();
  names.sort();
  for name in names {
    if name.starts_with('.') || name.ends_with('~') {
      continue;
    }
    let path = dir.join(&name);
    let extension = Path::new(&name).extension().and_then(|e| e.to_str());
    // Not followed: a link to a directory (it may lead anywhere, or back here).
    let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
    if meta.is_dir() && extension.is_none() {
      walk(&path, depth + 1, out);
    } else if !meta.is_dir() && extension.is_none_or(|e| EXTENSIONS.contains(&e)) {
      out.push(path);
    }
  }
}

fn read_file(path: &Path, sources: &mut Sources, diagnostics: &mut Diagnostics, vars: &mut Vars) {
  let text = match source::read_text_bounded(path, source::MAX_INPUT_BYTES) {
    Ok(text) => text,
    Err(e) => {
      diagnostics.push(
        Diagnostic::new(Code::Io, format!("cannot read the variables file `{}`: {e}", path.display()))
          .help("group_vars/ and host_vars/ hold YAML or JSON files of variables"),
      );
      return;
    }
  };
  let id = sources.add(path, text);
  let text = sources.text(id).to_owned();
  let span_at = |at: usize| {
    let at = at.min(text.len());
    let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
    Span::new(id, at, end)
  };
  match yaml_value::parse(&text) {
    Ok(None) => {}
    Ok(Some(Node::Map(entries, _))) => {
      for (key, node) in entries {
        let value = node.to_json();
        let span = span_at(node.at());
        if let Some(d) = check_connection_var(&key, &value, span) {
          diagnostics.push(d);
        }
        vars.insert(key, Var { value, span });
      }
    }
    Ok(Some(other)) => diagnostics.push(
      Diagnostic::new(Code::InventoryYaml, "expected a mapping of variables, found a list or a single value")
        .label(span_at(other.at()), "not a mapping")
        .help("write one `name: value` per line"),
    ),
    Err(e) => diagnostics.push(
      Diagnostic::new(Code::InventoryYaml, format!("expected a YAML file of variables: {}", e.message))
        .label(span_at(e.at), "here")
        .help("write one `name: value` per line"),
    ),
  }
}
