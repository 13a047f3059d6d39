//! One Ansible inventory source, read by its kind: an executable is a dynamic
//! inventory ([`super::script`]), a `.yml`, `.yaml` or `.json` file a YAML
//! inventory ([`super::yaml`]), anything else an INI file ([`super::ini`]).
//! The `group_vars/` and `host_vars/` directories beside it are read after it
//! ([`super::vars_dirs`]), as Ansible's `host_group_vars` plugin reads them.

use crate::check::inventory::Inventory;
use crate::diagnostic::Diagnostics;
use crate::source::{self, ReadError, Sources};
use std::path::Path;

/// Reads the inventory at `path` into `inventory`. An unreadable file is the
/// error; problems inside it are diagnostics.
pub fn read(
  path: &Path,
  sources: &mut Sources,
  inventory: &mut Inventory,
  diagnostics: &mut Diagnostics,
) -> Result<(), ReadError> {
  let dir = path.parent().unwrap_or(Path::new("."));
  if crate::check::inventory::script::is_executable(path) {
    let id = sources.add(path, String::new());
    crate::check::inventory::script::read(path, id, inventory, diagnostics);
    crate::check::inventory::vars_dirs::read(dir, sources, inventory, diagnostics);
    return Ok(());
  }
  let text = source::read_text_bounded(path, source::MAX_INPUT_BYTES)?;
  let id = sources.add(path, text);
  let text = sources.text(id).to_owned();
  let yaml = path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "yml" | "yaml" | "json"));
  if yaml {
    crate::check::inventory::yaml::parse(id, &text, inventory, diagnostics);
  } else {
    crate::check::inventory::ini::parse(id, &text, inventory, diagnostics);
  }
  crate::check::inventory::vars_dirs::read(dir, sources, inventory, diagnostics);
  Ok(())
}
