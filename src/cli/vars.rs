//! Variables given on the command line (`-e`/`--var`, `--var-file`), Ansible's
//! extra vars: they are above every variable a playbook or inventory defines.

use crate::cli::arguments::VarArgs;
use crate::source::{MAX_INPUT_BYTES, read_text_bounded};
use indexmap::IndexMap;
use std::path::Path;

/// Variables set on the command line, in the order they apply (a later one wins).
pub type ExtraVars = IndexMap<String, serde_json::Value>;

/// Why a `--var` or `--var-file` is refused.
#[derive(Debug, thiserror::Error)]
pub enum VarError {
  #[error("`--var {0}` is not KEY=VALUE, a YAML or JSON mapping, or @FILE")]
  Form(String),
  #[error("cannot read the variables file `{path}`: {reason}")]
  Read { path: String, reason: String },
  #[error("the variables {origin} are not a YAML or JSON mapping: {reason}")]
  NotMapping { origin: String, reason: String },
  #[error(
    "`{name}` (from {origin}) is not a variable name: use letters, digits and `_`, not starting with a digit"
  )]
  Name { name: String, origin: String },
  #[error("`{name}` (from {origin}) is defined by converge and cannot be set")]
  Reserved { name: String, origin: String },
}

/// Reads `--var-file` files (in order), then each `--var` (in order).
pub(crate) fn read(args: &VarArgs) -> Result<ExtraVars, VarError> {
  let mut vars = ExtraVars::new();
  for path in &args.var_file {
    merge(&mut vars, from_file(path)?);
  }
  for spec in &args.var {
    merge(&mut vars, from_spec(spec)?);
  }
  Ok(vars)
}

fn merge(vars: &mut ExtraVars, more: ExtraVars) {
  for (k, v) in more {
    // A later definition wins and takes the place of the earlier one.
    vars.shift_remove(&k);
    vars.insert(k, v);
  }
}

/// One `-e`: `@FILE`, a `{...}` mapping, or `KEY=VALUE`.
fn from_spec(spec: &str) -> Result<ExtraVars, VarError> {
  if let Some(path) = spec.strip_prefix('@') {
    return from_file(Path::new(path));
  }
  let trimmed = spec.trim_start();
  if trimmed.starts_with('{') {
    return mapping(trimmed, &format!("`--var {spec}`"));
  }
  let Some((key, value)) = spec.split_once('=') else {
    return Err(VarError::Form(spec.to_owned()));
  };
  let origin = format!("`--var {spec}`");
  let key = checked_name(key, &origin)?;
  Ok(ExtraVars::from([(key, serde_json::Value::String(value.to_owned()))]))
}

fn from_file(path: &Path) -> Result<ExtraVars, VarError> {
  let text = read_text_bounded(path, MAX_INPUT_BYTES)
    .map_err(|e| VarError::Read { path: path.display().to_string(), reason: e.to_string() })?;
  mapping(&text, &format!("of `{}`", path.display()))
}

/// A YAML document (JSON is YAML) that is a mapping of variable names.
fn mapping(text: &str, origin: &str) -> Result<ExtraVars, VarError> {
  let value: serde_json::Value = if text.trim().is_empty() {
    serde_json::Value::Object(serde_json::Map::new())
  } else {
    serde_yaml_ng::from_str(text)
      .map_err(|e| VarError::NotMapping { origin: origin.to_owned(), reason: e.to_string() })?
  };
  let serde_json::Value::Object(map) = value else {
    return Err(VarError::NotMapping {
      origin: origin.to_owned(),
      reason: "the document is not a mapping of names to values".to_owned(),
    });
  };
  let mut vars = ExtraVars::new();
  for (k, v) in map {
    vars.insert(checked_name(&k, origin)?, v);
  }
  Ok(vars)
}

/// Names follow the playbook's rule for `vars`, so that `{{ name }}` works.
fn checked_name(name: &str, origin: &str) -> Result<String, VarError> {
  let mut chars = name.chars();
  let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
  if !valid {
    return Err(VarError::Name { name: name.to_owned(), origin: origin.to_owned() });
  }
  if name == "host" || name == "facts" {
    return Err(VarError::Reserved { name: name.to_owned(), origin: origin.to_owned() });
  }
  Ok(name.to_owned())
}

/// `-e` arguments that repeat `args` for another converge command line (paths
/// of files made absolute).
pub(crate) fn argv(args: &VarArgs, cwd: &Path) -> Vec<String> {
  let mut out = Vec::new();
  for file in &args.var_file {
    out.push("--var-file".to_owned());
    out.push(cwd.join(file).display().to_string());
  }
  for spec in &args.var {
    out.push("--var".to_owned());
    match spec.strip_prefix('@') {
      Some(path) => out.push(format!("@{}", cwd.join(path).display())),
      None => out.push(spec.clone()),
    }
  }
  out
}

#[cfg(test)]
mod tests {
  use super::*;

  fn args(var: &[&str]) -> VarArgs {
    VarArgs { var: var.iter().map(|s| (*s).to_owned()).collect(), var_file: Vec::new() }
  }

  #[test]
  fn key_value_is_a_string_and_the_last_one_wins() {
    let vars = read(&args(&["a=1", "b=x=y", "a=2"])).unwrap_or_default();
    assert_eq!(vars.get("a"), Some(&serde_json::json!("2")));
    assert_eq!(vars.get("b"), Some(&serde_json::json!("x=y")));
  }

  #[test]
  fn a_mapping_keeps_types() {
    let vars = read(&args(&[r#"{"n": 3, "l": [1, "x"]}"#])).unwrap_or_default();
    assert_eq!(vars.get("n"), Some(&serde_json::json!(3)));
    assert_eq!(vars.get("l"), Some(&serde_json::json!([1, "x"])));
  }

  #[test]
  fn bad_names_and_forms_are_refused() {
    assert!(matches!(read(&args(&["1a=x"])), Err(VarError::Name { .. })));
    assert!(matches!(read(&args(&["host=x"])), Err(VarError::Reserved { .. })));
    assert!(matches!(read(&args(&["novalue"])), Err(VarError::Form(_))));
    assert!(matches!(read(&args(&["{a: [}"])), Err(VarError::NotMapping { .. })));
    assert!(matches!(read(&args(&["[1, 2]"])), Err(VarError::Form(_))));
  }
}
