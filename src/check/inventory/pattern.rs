//! Host patterns, as `--limit` and a `hosts` block take them: Ansible's
//! pattern language of ansible-core 2.19 (`inventory/manager.py`).
//!
//! Terms are separated by `,` (or by `:` when there is no `,`); `&term` keeps
//! only hosts also in the term and `!term` removes the term's hosts, both
//! applied after all the plain terms, whatever their place. A term is an exact
//! host name (which wins over a group of that name), a group name, a shell
//! glob (`*`, `?`, `[abc]`, `[!abc]`) matched against group and host names, or
//! `~regex` matched from the start of the names. A group or glob may end with
//! a subscript: `[0]`, `[-1]`, `[1:3]` (inclusive), `[2:]`.
//!
//! One difference on purpose: a name (a term without `*`, `?`, `[` or `~`)
//! that matches no host or group is an error naming it (with a suggestion),
//! where Ansible warns and goes on. A glob or regex that matches nothing
//! selects nothing, as in Ansible.

use crate::check::inventory::Inventory;
use crate::check::inventory::tree::ALL;
use crate::diagnostic::did_you_mean;
use indexmap::IndexSet;

/// The names Ansible takes for this machine when the inventory lacks them.
const LOCALHOST_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A host pattern that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
  /// A term that names nothing in the inventory.
  #[error("no host or group is called `{name}`{}", suggestion.as_ref().map_or_else(String::new, |s| format!("; did you mean `{s}`?")))]
  NoMatch { name: String, suggestion: Option<String> },
  /// A subscript beyond the hosts the term matched.
  #[error("`{pattern}` selects no host: the subscript is beyond the {count} hosts its pattern matches")]
  Subscript { pattern: String, count: usize },
  /// A `~regex` that does not compile.
  #[error("`{pattern}` is not a regular expression converge can use: {why}")]
  Regex { pattern: String, why: String },
}

impl LimitError {
  /// The term the error is about.
  pub fn term(&self) -> &str {
    match self {
      LimitError::NoMatch { name, .. } => name,
      LimitError::Subscript { pattern, .. } | LimitError::Regex { pattern, .. } => pattern,
    }
  }
}

/// Splits a pattern into its terms as Ansible's `split_host_pattern` does.
pub fn split(pattern: &str) -> Vec<String> {
  let terms: Vec<String> = if pattern.contains(',') {
    pattern.split(',').map(str::to_owned).collect()
  } else if crate::check::inventory::is_ipv6(pattern.trim()) {
    vec![pattern.to_owned()]
  } else {
    // Runs of anything but white space, `:` and brackets, or a whole
    // bracketed part.
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
      match c {
        '[' => {
          let rest: String = chars.clone().collect();
          match rest.find(']') {
            Some(close) => {
              current.push('[');
              current.push_str(&rest[..=close]);
              for _ in 0..rest[..=close].chars().count() {
                chars.next();
              }
            }
            None => out.extend((!current.is_empty()).then(|| std::mem::take(&mut current))),
          }
        }
        c if c.is_whitespace() || c == ':' || c == ']' => {
          out.extend((!current.is_empty()).then(|| std::mem::take(&mut current)))
        }
        c => current.push(c),
      }
    }
    out.extend((!current.is_empty()).then_some(current));
    out
  };
  terms.into_iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect()
}

impl Inventory {
  /// The hosts that the pattern `patterns` (`--limit`) selects, in inventory
  /// order of the terms' matches. The inventory must be settled.
  pub fn limit(&self, patterns: &str) -> Result<IndexSet<String>, LimitError> {
    let terms = split(patterns);
    self.select(&terms.iter().map(String::as_str).collect::<Vec<_>>())
  }

  /// The hosts that the terms select together, as Ansible's
  /// `_evaluate_patterns`: plain terms first, then `&` terms, then `!` terms.
  pub fn select(&self, terms: &[&str]) -> Result<IndexSet<String>, LimitError> {
    let mut ordered: Vec<&str> = terms.iter().copied().filter(|t| !t.starts_with(['&', '!'])).collect();
    if ordered.is_empty() {
      ordered.push(ALL);
    }
    ordered.extend(terms.iter().copied().filter(|t| t.starts_with('&')));
    ordered.extend(terms.iter().copied().filter(|t| t.starts_with('!')));
    let mut hosts: IndexSet<String> = IndexSet::new();
    for term in ordered {
      if self.hosts.contains_key(term) {
        hosts.insert(term.to_owned());
        continue;
      }
      let matched = self.match_term(term)?;
      match term.as_bytes().first() {
        Some(b'!') => hosts.retain(|h| !matched.contains(h)),
        Some(b'&') => hosts.retain(|h| matched.contains(h)),
        _ => hosts.extend(matched),
      }
    }
    Ok(hosts)
  }

  /// The hosts one term matches, ignoring its `&` or `!`.
  fn match_term(&self, term: &str) -> Result<IndexSet<String>, LimitError> {
    let pattern = term.strip_prefix(['&', '!']).unwrap_or(term);
    let (expr, subscript) = split_subscript(pattern);
    let matcher = Matcher::new(expr)?;
    let mut hosts: IndexSet<String> = IndexSet::new();
    let groups: Vec<&String> = self.groups.keys().filter(|g| matcher.matches(g)).collect();
    for group in &groups {
      hosts.extend(self.group_hosts(group));
    }
    if groups.is_empty() || expr.starts_with('~') || expr.contains(['.', '?', '*', '[']) {
      hosts.extend(self.hosts.keys().filter(|h| matcher.matches(h)).cloned());
    }
    let literal = !expr.starts_with('~') && !expr.contains(['*', '?', '[']);
    if literal && hosts.is_empty() && groups.is_empty() && expr != ALL && !LOCALHOST_NAMES.contains(&expr) {
      let names: Vec<&str> = self.groups.keys().chain(self.hosts.keys()).map(String::as_str).collect();
      let suggestion = did_you_mean(expr, names.iter().copied()).map(str::to_owned);
      return Err(LimitError::NoMatch { name: expr.to_owned(), suggestion });
    }
    apply_subscript(hosts, subscript)
      .ok_or_else(|| LimitError::Subscript { pattern: pattern.to_owned(), count: 0 })
  }
}

/// `[index]` or `[start:end]` (end inclusive, empty for the last).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Subscript {
  Index(i64),
  Range(usize, Option<usize>),
}

/// A term without its subscript, and the subscript (Ansible's
/// `PATTERN_WITH_SUBSCRIPT`; a `~regex` has none).
fn split_subscript(pattern: &str) -> (&str, Option<Subscript>) {
  if pattern.starts_with('~') || !pattern.ends_with(']') {
    return (pattern, None);
  }
  let Some(open) = pattern.rfind('[') else { return (pattern, None) };
  if open == 0 {
    return (pattern, None);
  }
  let inner = &pattern[open + 1..pattern.len() - 1];
  let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
  let base = &pattern[..open];
  let index = inner.strip_prefix('-').unwrap_or(inner);
  if digits(index) {
    return match inner.parse() {
      Ok(i) => (base, Some(Subscript::Index(i))),
      Err(_) => (pattern, None),
    };
  }
  let Some(sep) = inner.find([':', '-']) else { return (pattern, None) };
  let (start, end) = (&inner[..sep], &inner[sep + 1..]);
  if !digits(start) || !(end.is_empty() || digits(end)) {
    return (pattern, None);
  }
  match (start.parse(), end.parse::<usize>().ok()) {
    (Ok(start), end) => (base, Some(Subscript::Range(start, end))),
    _ => (pattern, None),
  }
}

/// The hosts a subscript keeps, as Ansible's `_apply_subscript` (with its
/// reading of an end of 0 as "one host"); `None` when an index is beyond them.
fn apply_subscript(hosts: IndexSet<String>, subscript: Option<Subscript>) -> Option<IndexSet<String>> {
  let Some(subscript) = subscript.filter(|_| !hosts.is_empty()) else { return Some(hosts) };
  let len = hosts.len();
  let one = |i: usize| hosts.get_index(i).cloned().map(|h| IndexSet::from([h]));
  match subscript {
    Subscript::Index(i) => {
      let at = if i < 0 {
        len.checked_sub(usize::try_from(i.unsigned_abs()).ok()?)?
      } else {
        usize::try_from(i).ok()?
      };
      one(at)
    }
    Subscript::Range(start, Some(0)) => one(start),
    Subscript::Range(start, end) => {
      let end = end.unwrap_or(len - 1);
      Some(hosts.iter().skip(start).take((end + 1).saturating_sub(start)).cloned().collect())
    }
  }
}

/// A glob (Python's `fnmatch`, case-sensitive, the whole name) or a `~regex`
/// (Python's `re.match`: from the start of the name).
struct Matcher(regex::Regex);

impl Matcher {
  fn new(expr: &str) -> Result<Matcher, LimitError> {
    let source = match expr.strip_prefix('~') {
      Some(regex) => format!("^(?:{regex})"),
      None => format!("(?s)^(?:{})$", glob_regex(expr)),
    };
    regex::RegexBuilder::new(&source)
      .size_limit(1 << 20)
      .build()
      .map(Matcher)
      .map_err(|e| LimitError::Regex { pattern: expr.to_owned(), why: e.to_string() })
  }

  fn matches(&self, name: &str) -> bool {
    self.0.is_match(name)
  }
}

/// Python's `fnmatch.translate` without its anchors.
fn glob_regex(glob: &str) -> String {
  let chars: Vec<char> = glob.chars().collect();
  let mut out = String::new();
  let mut i = 0;
  while i < chars.len() {
    let c = chars[i];
    i += 1;
    match c {
      '*' => {
        if !out.ends_with(".*") {
          out.push_str(".*");
        }
      }
      '?' => out.push('.'),
      '[' => {
        let mut j = i;
        if chars.get(j) == Some(&'!') {
          j += 1;
        }
        if chars.get(j) == Some(&']') {
          j += 1;
        }
        while j < chars.len() && chars[j] != ']' {
          j += 1;
        }
        if j >= chars.len() {
          out.push_str("\\[");
          continue;
        }
        let stuff: String = chars[i..j].iter().collect();
        i = j + 1;
        let (negated, body) = match stuff.strip_prefix('!') {
          Some(rest) => (true, rest.to_owned()),
          None => (false, stuff),
        };
        if body.is_empty() {
          // `[]` and `[!]` match nothing and anything, as in Python.
          out.push_str(if negated { "." } else { "(?!)" });
          continue;
        }
        let mut class = String::from("[");
        if negated {
          class.push('^');
        }
        for (k, ch) in body.chars().enumerate() {
          match ch {
            '-' if k > 0 && k + 1 < body.chars().count() => class.push('-'),
            '\\' | '[' | ']' | '^' | '&' | '~' | '|' | '-' => {
              class.push('\\');
              class.push(ch);
            }
            other => class.push(other),
          }
        }
        class.push(']');
        out.push_str(&class);
      }
      other => out.push_str(&regex::escape(&other.to_string())),
    }
  }
  out
}

#[cfg(test)]
mod tests {
  use super::*;

  fn inventory(text: &str) -> Inventory {
    crate::check::inventory::settled_ini(text)
  }

  const FLEET: &str = "lone\n[web]\nweb1\nweb2\nweb3\n[db]\ndb1\nweb1\n[web1]\ndb1\n[v6]\n2001:db8::1\n";

  #[test]
  fn ansible_patterns_select_what_ansible_selects() {
    let inventory = inventory(FLEET);
    let cases: &[(&str, &[&str])] = &[
      ("web", &["web1", "web2", "web3"]),
      ("web1", &["web1"]),
      ("web?", &["web1", "web2", "web3", "db1"]),
      ("web[0]", &["web1"]),
      ("web[-1]", &["web3"]),
      ("web[1:2]", &["web2", "web3"]),
      ("web[1:]", &["web2", "web3"]),
      ("~web[23]", &["web2", "web3"]),
      ("!db", &["web2", "web3", "lone", "2001:db8::1"]),
      ("web:&db", &["web1"]),
      ("!db,web", &["web2", "web3"]),
      // Only a plain term is looked up as a host first: `!web1` is the group.
      ("web:!web1", &["web1", "web2", "web3"]),
      ("web:!web2", &["web1", "web3"]),
      ("w*", &["web1", "web2", "web3", "db1"]),
      ("2001:db8::1", &["2001:db8::1"]),
      ("ungrouped", &["lone"]),
      ("localhost", &[]),
    ];
    for (pattern, expected) in cases {
      let got = inventory.limit(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
      let mut got: Vec<&str> = got.iter().map(String::as_str).collect();
      let mut expected = expected.to_vec();
      got.sort_unstable();
      expected.sort_unstable();
      assert_eq!(got, expected, "{pattern}");
    }
  }

  #[test]
  fn a_term_that_matches_nothing_is_an_error_with_a_suggestion() {
    let inventory = inventory(FLEET);
    match inventory.limit("webb") {
      Err(LimitError::NoMatch { name, suggestion }) => {
        assert_eq!(name, "webb");
        assert!(suggestion.is_some());
      }
      other => panic!("{other:?}"),
    }
    assert!(matches!(inventory.limit("web[7]"), Err(LimitError::Subscript { .. })));
    assert!(matches!(inventory.limit("~(?<=x)"), Err(LimitError::Regex { .. })));
  }

  #[test]
  fn terms_split_like_ansible() {
    assert_eq!(split("a,b[1], c[2:3] , d"), ["a", "b[1]", "c[2:3]", "d"]);
    assert_eq!(split("web:&db:!web1"), ["web", "&db", "!web1"]);
    assert_eq!(split("web[1:2]:db"), ["web[1:2]", "db"]);
    assert_eq!(split("2001:db8::1"), ["2001:db8::1"]);
  }
}
