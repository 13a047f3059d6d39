//! Merging declared settings into a `settings.json` with comments (JSONC),
//! keeping every other key, comment and blank line byte for byte.

use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};

/// A JSON value as the JSONC editor takes it.
fn input(value: &serde_json::Value) -> CstInputValue {
  match value {
    serde_json::Value::Null => CstInputValue::Null,
    serde_json::Value::Bool(b) => CstInputValue::Bool(*b),
    serde_json::Value::Number(n) => CstInputValue::Number(n.to_string()),
    serde_json::Value::String(s) => CstInputValue::String(s.clone()),
    serde_json::Value::Array(items) => CstInputValue::Array(items.iter().map(input).collect()),
    serde_json::Value::Object(map) => {
      CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), input(v))).collect())
    }
  }
}

/// Whether `current` already holds `declared`: equal, or, for an object, every
/// declared key held (the user's other keys do not matter).
fn holds(current: Option<&serde_json::Value>, declared: &serde_json::Value) -> bool {
  match (current, declared) {
    (Some(serde_json::Value::Object(have)), serde_json::Value::Object(want)) => {
      want.iter().all(|(k, v)| holds(have.get(k), v))
    }
    (current, declared) => current == Some(declared),
  }
}

/// Sets `key` of `object` to `value`; an object value goes into the object
/// already there key by key, so the user's other keys stay.
fn set(object: &CstObject, key: &str, value: &serde_json::Value) {
  if let serde_json::Value::Object(map) = value
    && let Some(inner) = object.object_value(key)
  {
    for (k, v) in map {
      set(&inner, k, v);
    }
    return;
  }
  match object.get(key) {
    Some(prop) => prop.set_value(input(value)),
    None => {
      object.append(key, input(value));
    }
  }
}

/// The keys of the user's objects that a declared object value keeps: for
/// each declared object setting already in the file as an object, the key and
/// the user's entries it does not declare. The plan names them.
pub fn kept_entries(existing: &str, settings: &[(String, serde_json::Value)]) -> Vec<(String, Vec<String>)> {
  let options = jsonc_parser::ParseOptions::default();
  let Ok(current) = jsonc_parser::parse_to_serde_value::<serde_json::Value>(existing, &options) else {
    return Vec::new();
  };
  let mut out = Vec::new();
  for (key, value) in settings {
    if let (Some(serde_json::Value::Object(have)), serde_json::Value::Object(want)) =
      (current.get(key), value)
    {
      let kept: Vec<String> = have.keys().filter(|k| !want.contains_key(*k)).cloned().collect();
      if !kept.is_empty() {
        out.push((key.clone(), kept));
      }
    }
  }
  out
}

/// The settings file with `settings` merged in: declared keys set, every other
/// key, comment and blank line kept; a declared object merged key by key into
/// the object the file has. `Ok(None)` when the file already holds every
/// declared value; `Err` with the parser's message when the file is not JSON
/// with comments.
pub fn merge(existing: &str, settings: &[(String, serde_json::Value)]) -> Result<Option<String>, String> {
  let text = if existing.trim().is_empty() { "{}\n" } else { existing };
  let options = jsonc_parser::ParseOptions::default();
  let current: serde_json::Value =
    jsonc_parser::parse_to_serde_value::<serde_json::Value>(text, &options).map_err(|e| e.to_string())?;
  if !existing.trim().is_empty() && settings.iter().all(|(k, v)| holds(current.get(k), v)) {
    return Ok(None);
  }
  let root = CstRootNode::parse(text, &options).map_err(|e| e.to_string())?;
  let object = root.object_value_or_set();
  for (key, value) in settings {
    set(&object, key, value);
  }
  let mut out = root.to_string();
  if !out.ends_with('\n') {
    out.push('\n');
  }
  Ok(Some(out))
}

/// The settings file without `key` (its comments and other keys kept), or
/// `None` when it does not hold it. `Err` when the file is not JSON with
/// comments.
pub fn remove_key(existing: &str, key: &str) -> Result<Option<String>, String> {
  let options = jsonc_parser::ParseOptions::default();
  let root = CstRootNode::parse(existing, &options).map_err(|e| e.to_string())?;
  let Some(object) = root.object_value() else { return Ok(None) };
  let Some(prop) = object.get(key) else { return Ok(None) };
  prop.remove();
  Ok(Some(root.to_string()))
}

#[cfg(test)]
mod tests {
  use super::{kept_entries, merge};
  use serde_json::json;

  #[test]
  fn merges_keys_and_keeps_comments_and_other_keys() {
    let existing = "{\n  // my theme\n  \"workbench.colorTheme\": \"Dark\",\n  \"go.toolsManagement.autoUpdate\": true, // old\n}\n";
    let settings = vec![
      ("go.toolsManagement.autoUpdate".to_owned(), json!(false)),
      ("gopls".to_owned(), json!({"ui.semanticTokens": true})),
    ];
    let merged = merge(existing, &settings).ok().flatten().unwrap_or_default();
    assert!(
      merged.contains("// my theme") && merged.contains("\"workbench.colorTheme\": \"Dark\""),
      "{merged}"
    );
    assert!(merged.contains("\"go.toolsManagement.autoUpdate\": false"), "{merged}");
    assert!(merged.contains("\"ui.semanticTokens\": true"), "{merged}");
    assert_eq!(merge(&merged, &settings), Ok(None), "merging again changes nothing");
  }

  #[test]
  fn a_declared_object_is_merged_into_the_users_object_key_by_key() {
    let existing = "{\n  \"go.toolsEnvVars\": {\n    // keep C off\n    \"CGO_ENABLED\": \"0\",\n    \"GOFLAGS\": \"-tags=dev\"\n  }\n}\n";
    let settings = vec![("go.toolsEnvVars".to_owned(), json!({"GOFLAGS": "-mod=mod", "GOPROXY": "off"}))];
    let merged = merge(existing, &settings).ok().flatten().unwrap_or_default();
    assert!(merged.contains("// keep C off\n    \"CGO_ENABLED\": \"0\","), "{merged}");
    let read: serde_json::Value =
      jsonc_parser::parse_to_serde_value(&merged, &Default::default()).unwrap_or_default();
    assert_eq!(read["go.toolsEnvVars"], json!({"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOPROXY": "off"}));
    assert_eq!(merge(&merged, &settings), Ok(None), "merging again changes nothing");
    assert_eq!(
      kept_entries(existing, &settings),
      vec![("go.toolsEnvVars".to_owned(), vec!["CGO_ENABLED".to_owned()])]
    );
  }

  #[test]
  fn an_object_replaces_a_value_that_is_not_an_object() {
    let settings = vec![("gopls".to_owned(), json!({"a": 1}))];
    let merged = merge("{ \"gopls\": 3 }", &settings).ok().flatten().unwrap_or_default();
    let read: serde_json::Value =
      jsonc_parser::parse_to_serde_value(&merged, &Default::default()).unwrap_or_default();
    assert_eq!(read["gopls"], json!({"a": 1}));
  }

  proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, failure_persistence: None, ..Default::default() })]
    /// Any key and string value, however hostile (quotes, backslashes, control
    /// characters, `*/`, newlines), is written as JSON that VS Code reads back as
    /// exactly that key and value, next to the user's comments and keys.
    #[test]
    fn any_string_is_read_back_exactly(key in "\\PC*", value in "(\\PC|[\"\\\\\n\t\u{0}-\u{1f}\u{7f}\u{2028}\u{2029}/*])*") {
      let existing = "{\n  // keep me */ \"x\"\n  \"other\": 1\n}\n";
      for base in ["", existing] {
        let merged = merge(base, &[(key.clone(), json!(value.clone()))]).ok().flatten().unwrap_or_default();
        let options = jsonc_parser::ParseOptions::default();
        let read: serde_json::Value =
          jsonc_parser::parse_to_serde_value(&merged, &options).unwrap_or_else(|e| panic!("{e}: {merged}"));
        proptest::prop_assert_eq!(read.get(&key), Some(&json!(value.clone())), "{}", merged);
        if !base.is_empty() && key != "other" {
          proptest::prop_assert_eq!(read.get("other"), Some(&json!(1)));
          proptest::prop_assert!(merged.contains("// keep me */ \"x\""));
        }
      }
    }
  }

  #[test]
  fn creates_the_file_and_refuses_a_broken_one() {
    let created = merge("", &[("a".to_owned(), json!(1))]).ok().flatten().unwrap_or_default();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&created).ok(), Some(json!({"a": 1})));
    assert!(merge("{ \"a\": ", &[("a".to_owned(), json!(1))]).is_err());
  }
}
