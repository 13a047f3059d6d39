//! The values of resources marked `sensitive`, and hiding them.
//!
//! A sensitive resource hides more than its own diff: its value also sits in
//! files other resources write (every export of a user goes to one `env.sh`,
//! one fish file, one environment.d file; `go env -w` settings share one go env
//! file; managed blocks share `~/.bashrc`), so the diff of a neighbour shows it
//! as context. The planner collects every value a sensitive resource renders
//! ([`crate::check::resource::recording_texts`]); [`Secrets`] then masks, for every
//! host, any diff line that holds one of them, whichever resource's diff it is
//! in, and any other text (names, notes, errors, verify values) that does.
//!
//! A value is looked for as written and in the quoted forms converge writes it
//! in (POSIX and fish double quotes, single quotes, JSON), and its unquoted
//! pieces, so an escaped quote cannot let it through. Values shorter than
//! [`SHORTEST`] characters and paths (the file a resource writes is not a
//! secret, and is shown) are not looked for.

use std::collections::BTreeSet;

/// What is shown instead of a sensitive value.
pub const MASK: &str = "(sensitive)";

/// The shortest value looked for: shorter ones would mask unrelated lines.
pub const SHORTEST: usize = 4;

/// The shortest unquoted piece of a value looked for on its own: a piece is
/// only needed when quoting changed the value around it, and short pieces
/// (`PATH` of `export PATH="$HOME/bin:$PATH"`) are common words.
const SHORTEST_PIECE: usize = 8;

/// The sensitive values of one host (or of several, [`Secrets::extend`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Secrets {
  /// Text that gives a value away wherever it appears, longest first.
  needles: Vec<String>,
}

impl Secrets {
  /// Adds a value a sensitive resource rendered: each of its lines, in every
  /// form converge may write it in.
  pub fn add(&mut self, value: &str) {
    let mut found = BTreeSet::new();
    for line in value.lines().map(str::trim).filter(|l| l.chars().count() >= SHORTEST) {
      if line.starts_with(['/', '~']) || line.starts_with("$HOME") || line.starts_with("${HOME}") {
        continue;
      }
      found.insert(line.to_owned());
      found.insert(line.replace('\\', "\\\\").replace('"', "\\\"").replace('`', "\\`"));
      found.insert(line.replace('\\', "\\\\").replace('"', "\\\""));
      found.insert(line.replace('\'', "'\\''"));
      if let Ok(json) = serde_json::to_string(line) {
        found.insert(json.trim_matches('"').to_owned());
      }
      // The pieces between characters that quoting changes.
      found.extend(
        line
          .split(['\\', '"', '\'', '`', '$'])
          .map(str::trim)
          .filter(|p| p.chars().count() >= SHORTEST_PIECE && *p != line)
          .map(str::to_owned),
      );
    }
    for needle in found {
      if !self.needles.contains(&needle) {
        self.needles.push(needle);
      }
    }
    // Longest first, so a longer value is replaced whole before a piece of it.
    self.needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
  }

  /// Adds the values of another host.
  pub fn extend(&mut self, other: &Secrets) {
    for needle in &other.needles {
      if !self.needles.contains(needle) {
        self.needles.push(needle.clone());
      }
    }
    self.needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
  }

  pub fn is_empty(&self) -> bool {
    self.needles.is_empty()
  }

  /// Whether the text holds a sensitive value.
  pub fn reveals(&self, text: &str) -> bool {
    self.needles.iter().any(|n| text.contains(n.as_str()))
  }

  /// The text with every sensitive value replaced by [`MASK`].
  pub fn redact(&self, text: &str) -> String {
    if !self.reveals(text) {
      return text.to_owned();
    }
    let mut out = text.to_owned();
    for needle in &self.needles {
      if out.contains(needle.as_str()) {
        out = out.replace(needle.as_str(), MASK);
      }
    }
    out
  }

  /// A unified diff with every line that holds a sensitive value, whether
  /// added, removed or context, shown as [`MASK`] after its `+`, `-` or ` `.
  pub fn redact_diff(&self, diff: &str) -> String {
    if !self.reveals(diff) {
      return diff.to_owned();
    }
    let mut out = String::with_capacity(diff.len());
    for line in diff.split_inclusive('\n') {
      let body = line.strip_suffix('\n').unwrap_or(line);
      let header = body.starts_with("+++ ") || body.starts_with("--- ") || body.starts_with("@@");
      if !header && self.reveals(body) {
        let sign = body.chars().next().filter(|c| matches!(c, '+' | '-' | ' ')).unwrap_or(' ');
        out.push(sign);
        out.push_str(MASK);
        if line.ends_with('\n') {
          out.push('\n');
        }
      } else {
        out.push_str(line);
      }
    }
    out
  }

  /// Every string in a JSON document redacted (keys included).
  pub fn redact_json(&self, value: &mut serde_json::Value) {
    if self.is_empty() {
      return;
    }
    match value {
      serde_json::Value::String(s) if self.reveals(s) => {
        *s = if s.contains('\n') { self.redact_diff(s) } else { self.redact(s) };
      }
      serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
      serde_json::Value::Object(map) => {
        let entries = std::mem::take(map);
        for (key, mut v) in entries {
          self.redact_json(&mut v);
          map.insert(self.redact(&key), v);
        }
      }
      _ => {}
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn secrets(values: &[&str]) -> Secrets {
    let mut s = Secrets::default();
    for v in values {
      s.add(v);
    }
    s
  }

  #[test]
  fn a_value_is_found_in_every_quoted_form_converge_writes() {
    let s = secrets(&["p@ss\"w`o'rd-1234"]);
    for line in [
      "export TOKEN=\"p@ss\\\"w\\`o'rd-1234\"",
      "set -gx TOKEN \"p@ss\\\"w`o'rd-1234\"",
      "TOKEN=p@ss\"w`o'rd-1234",
      "  \"token\": \"p@ss\\\"w`o'rd-1234\"",
    ] {
      assert!(s.reveals(line), "{line}");
    }
    assert!(!s.reveals("export OTHER=\"value\""));
    // Short unquoted pieces are common words: only the value itself hides a line.
    let s = secrets(&["export PATH=\"$HOME/bin:$PATH\""]);
    assert!(!s.reveals("PATH prepend /usr/local/go/bin"));
    assert!(s.reveals("export PATH=\"$HOME/bin:$PATH\""));
  }

  #[test]
  fn short_values_and_paths_are_not_looked_for() {
    let s = secrets(&["ab", "/etc/app/token", "~/.bashrc", "$HOME/go"]);
    assert!(s.is_empty(), "{s:?}");
  }

  #[test]
  fn every_diff_line_holding_a_value_is_masked_and_the_others_kept() {
    let s = secrets(&["hunter22"]);
    let diff =
      "--- /h/env.sh\n+++ /h/env.sh\n@@ -1,2 +1,3 @@\n export TOKEN=\"hunter22\"\n export A=1\n+export B=2\n";
    assert_eq!(
      s.redact_diff(diff),
      "--- /h/env.sh\n+++ /h/env.sh\n@@ -1,2 +1,3 @@\n (sensitive)\n export A=1\n+export B=2\n"
    );
    assert_eq!(s.redact("curl -H hunter22 x"), "curl -H (sensitive) x");
  }

  #[test]
  fn json_strings_and_keys_are_redacted() {
    let s = secrets(&["hunter22"]);
    let mut doc =
      serde_json::json!({"a": ["x hunter22"], "guard:test hunter22": "1", "d": " hunter22\n b\n"});
    s.redact_json(&mut doc);
    assert_eq!(
      doc,
      serde_json::json!({"a": ["x (sensitive)"], "guard:test (sensitive)": "1", "d": " (sensitive)\n b\n"})
    );
  }
}
