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
