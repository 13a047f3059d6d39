//! Check: parsed files in, a [`playbook::Playbook`] and diagnostics out.
//!
//! [`loader`] finds and parses the files; [`resolver`] gives the top-level
//! statements their meaning, with [`inventory`] for the inventory (Ansible INI,
//! YAML and scripts), variables with their precedence, host selection and
//! `--limit`; each resource statement
//! is read by its kind ([`resource`], one file per kind in [`resources`]) through
//! the shared [`reader`]; `names` checks the names a host's resources are
//! known by (`after`, `notify`, duplicates, cycles). The result is typed resources per host, still holding
//! templates ([`text`]) that need the host's facts. Nothing here touches a host.

pub mod facts;
pub mod inventory;
pub mod loader;
mod names;
pub mod playbook;
pub mod reader;
pub mod resolver;
pub mod resource;
pub mod resources;
pub mod secrets;
pub mod text;

/// The one host of a playbook `snippet`, loaded into `sources` and checked,
/// for unit tests. It must pass the check with no diagnostic at all, or with
/// warnings only when `warnings` says so.
#[cfg(test)]
pub(crate) fn one_play(
  snippet: &str,
  sources: &mut crate::source::Sources,
  warnings: bool,
) -> playbook::HostPlay {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let path = dir.path().join("site.goenv");
  std::fs::write(&path, snippet).unwrap_or_else(|e| panic!("{e}"));
  let mut diagnostics = crate::diagnostic::Diagnostics::new();
  let loaded = loader::load(&[path], sources, &mut diagnostics);
  let (playbook, found) = resolver::resolve(&loaded, sources);
  diagnostics.extend(found);
  let ok = if warnings { !diagnostics.has_errors() } else { diagnostics.is_empty() };
  assert!(ok, "{snippet}: {diagnostics:?}");
  playbook.hosts.into_iter().next().unwrap_or_else(|| panic!("no host in {snippet}"))
}
