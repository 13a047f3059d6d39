//! YAML documents read as Ansible reads them: PyYAML's YAML 1.1 rules for
//! plain scalars (`yes`, `on`, `off` are booleans, `0755` is octal, `~` is
//! null, `1_000` is an integer), quoted scalars always text, `<<` merge keys,
//! anchors and aliases. The YAML syntax itself is read by `yaml-rust2`.
//!
//! Refused, with the byte offset of the node: a `!vault` value (converge has
//! no vault password), a document that expands to more than [`MAX_NODES`]
//! nodes through aliases (a "billion laughs" file), a mapping key that is not
//! a scalar.

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The most nodes a document may have once its aliases are expanded.
pub const MAX_NODES: usize = 1_000_000;

/// A YAML node with the byte offset where it starts.
#[derive(Clone, Debug)]
pub enum Node {
  Scalar(Value, usize),
  Seq(Vec<Node>, usize),
  Map(Vec<(String, Node)>, usize),
}

impl Node {
  pub fn at(&self) -> usize {
    match self {
      Node::Scalar(_, at) | Node::Seq(_, at) | Node::Map(_, at) => *at,
    }
  }

  /// The node as JSON (for variables).
  pub fn to_json(&self) -> Value {
    match self {
      Node::Scalar(v, _) => v.clone(),
      Node::Seq(items, _) => Value::Array(items.iter().map(Node::to_json).collect()),
      Node::Map(entries, _) => {
        let mut map = Map::new();
        for (k, v) in entries {
          map.insert(k.clone(), v.to_json());
        }
        Value::Object(map)
      }
    }
  }

  fn count(&self) -> usize {
    match self {
      Node::Scalar(..) => 1,
      Node::Seq(items, _) => 1 + items.iter().map(Node::count).sum::<usize>(),
      Node::Map(entries, _) => 1 + entries.iter().map(|(_, v)| v.count() + 1).sum::<usize>(),
    }
  }
}

/// Why a document cannot be read: a message and the byte offset.
#[derive(Debug)]
pub struct YamlError {
  pub message: String,
  pub at: usize,
}

/// The first document of `text`, or `None` for an empty one.
pub fn parse(text: &str) -> Result<Option<Node>, YamlError> {
  let mut builder = Builder::default();
  let mut parser = Parser::new_from_str(text);
  parser
    .load(&mut builder, false)
    .map_err(|e| YamlError { message: e.info().to_owned(), at: byte_offset(text, e.marker().index()) })?;
  let offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
  let byte = |chars: usize| offsets.get(chars).copied().unwrap_or(text.len());
  if let Some(error) = builder.error {
    return Err(YamlError { at: byte(error.at), ..error });
  }
  Ok(builder.root.map(|mut root| {
    to_bytes(&mut root, &byte);
    root
  }))
}

/// `yaml-rust2` marks positions in characters; spans are in bytes.
fn to_bytes(node: &mut Node, byte: &dyn Fn(usize) -> usize) {
  match node {
    Node::Scalar(_, at) => *at = byte(*at),
    Node::Seq(items, at) => {
      *at = byte(*at);
      items.iter_mut().for_each(|n| to_bytes(n, byte));
    }
    Node::Map(entries, at) => {
      *at = byte(*at);
      entries.iter_mut().for_each(|(_, n)| to_bytes(n, byte));
    }
  }
}

/// `yaml-rust2` counts characters; diagnostics want bytes.
fn byte_offset(text: &str, chars: usize) -> usize {
  text.char_indices().nth(chars).map_or(text.len(), |(i, _)| i)
}

enum Frame {
  Seq(Vec<Node>, usize, usize),
  Map(Vec<(String, Node)>, Option<Node>, usize, usize),
}

#[derive(Default)]
struct Builder {
  stack: Vec<Frame>,
  root: Option<Node>,
  anchors: std::collections::HashMap<usize, Node>,
  error: Option<YamlError>,
  nodes: usize,
}

impl Builder {
  fn fail(&mut self, message: String, at: usize) {
    if self.error.is_none() {
      self.error = Some(YamlError { message, at });
    }
  }

  fn push(&mut self, node: Node, anchor: usize) {
    self.nodes += node.count();
    if self.nodes > MAX_NODES {
      let at = node.at();
      self.fail(format!("expected at most {MAX_NODES} nodes, found more once aliases are expanded"), at);
      return;
    }
    if anchor > 0 {
      self.anchors.insert(anchor, node.clone());
    }
    match self.stack.last_mut() {
      None => {
        if self.root.is_none() {
          self.root = Some(node);
        }
      }
      Some(Frame::Seq(items, _, _)) => items.push(node),
      Some(Frame::Map(entries, key, _, _)) => match key.take() {
        None => *key = Some(node),
        Some(k) => {
          let at = k.at();
          match k {
            Node::Scalar(Value::String(s), _) => insert(entries, s, node),
            Node::Scalar(Value::Null, _) => insert(entries, "null".to_owned(), node),
            Node::Scalar(v, _) => insert(entries, v.to_string(), node),
            _ => {
              self.fail("expected a scalar as a mapping key, found a list or a mapping".to_owned(), at);
            }
          }
        }
      },
    }
  }
}

/// A key set twice keeps the later value, as PyYAML does.
fn insert(entries: &mut Vec<(String, Node)>, key: String, value: Node) {
  match entries.iter_mut().find(|(k, _)| *k == key) {
    Some(entry) => entry.1 = value,
    None => entries.push((key, value)),
  }
}

impl MarkedEventReceiver for Builder {
  fn on_event(&mut self, event: Event, mark: Marker) {
    if self.error.is_some() {
      return;
    }
    let at = mark.index();
    match event {
      Event::Scalar(text, style, anchor, tag) => {
        let value = match scalar(&text, style, tag.as_ref()) {
          Ok(value) => value,
          Err(message) => {
            self.fail(message, at);
            return;
          }
        };
        self.push(Node::Scalar(value, at), anchor);
      }
      Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(Vec::new(), anchor, at)),
      Event::MappingStart(anchor, _) => self.stack.push(Frame::Map(Vec::new(), None, anchor, at)),
      Event::SequenceEnd => {
        if let Some(Frame::Seq(items, anchor, start)) = self.stack.pop() {
          self.push(Node::Seq(items, start), anchor);
        }
      }
      Event::MappingEnd => {
        if let Some(Frame::Map(entries, _, anchor, start)) = self.stack.pop() {
          let merged = merge(entries);
          self.push(Node::Map(merged, start), anchor);
        }
      }
      Event::Alias(anchor) => match self.anchors.get(&anchor).cloned() {
        Some(node) => self.push(node, 0),
        None => self.fail("expected an anchor defined before this alias".to_owned(), at),
      },
      _ => {}
    }
  }
}

/// Applies `<<` merge keys: the merged mappings' entries come first, the
/// mapping's own entries win.
fn merge(entries: Vec<(String, Node)>) -> Vec<(String, Node)> {
  if !entries.iter().any(|(k, _)| k == "<<") {
    return entries;
  }
  let mut out: Vec<(String, Node)> = Vec::new();
  let mut own = Vec::new();
  for (key, value) in entries {
    if key != "<<" {
      own.push((key, value));
      continue;
    }
    let sources = match value {
      Node::Seq(items, _) => items,
      other => vec![other],
    };
    for source in sources {
      if let Node::Map(merged, _) = source {
        for (k, v) in merged {
          if !out.iter().any(|(o, _)| *o == k) {
            out.push((k, v));
          }
        }
      }
    }
  }
  for (k, v) in own {
    insert(&mut out, k, v);
  }
  out
}

/// A scalar's value: quoted and block scalars are text; plain ones resolve
/// as YAML 1.1 (PyYAML's resolver) says.
fn scalar(text: &str, style: TScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
  if let Some(tag) = tag {
    match tag.suffix.as_str() {
      "vault" => {
        return Err(
          "expected a plain value, found a `!vault` value, which converge cannot decrypt".to_owned(),
        );
      }
      "str" | "unsafe" => return Ok(Value::String(text.to_owned())),
      _ => {}
    }
  }
  if !matches!(style, TScalarStyle::Plain) {
    return Ok(Value::String(text.to_owned()));
  }
  Ok(plain(text))
}

/// PyYAML's implicit resolvers for a plain scalar.
pub fn plain(text: &str) -> Value {
  match text {
    "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
    "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Value::Bool(true),
    "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => return Value::Bool(false),
    _ => {}
  }
  if let Some(v) = int(text) {
    return v;
  }
  if let Some(v) = float(text) {
    return v;
  }
  Value::String(text.to_owned())
}

fn int(text: &str) -> Option<Value> {
  let (negative, body) = match text.as_bytes().first()? {
    b'-' => (true, &text[1..]),
    b'+' => (false, &text[1..]),
    _ => (false, text),
  };
  if body.is_empty() {
    return None;
  }
  let clean = |s: &str| s.replace('_', "");
  let magnitude: i128 = if let Some(bin) = body.strip_prefix("0b") {
    if bin.is_empty() || !bin.bytes().all(|b| b == b'0' || b == b'1' || b == b'_') {
      return None;
    }
    i128::from_str_radix(&clean(bin), 2).ok()?
  } else if let Some(hex) = body.strip_prefix("0x") {
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit() || b == b'_') {
      return None;
    }
    i128::from_str_radix(&clean(hex), 16).ok()?
  } else if body.len() > 1 && body.starts_with('0') {
    if !body.bytes().all(|b| (b'0'..=b'7').contains(&b) || b == b'_') {
      return None;
    }
    i128::from_str_radix(&clean(body), 8).ok()?
  } else if body.contains(':') {
    // Sexagesimal: 1:30 is 90.
    let mut parts = body.split(':');
    let first = parts.next()?;
    if first.is_empty() || first.starts_with('0') || !first.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
      return None;
    }
    let mut value: i128 = clean(first).parse().ok()?;
    for part in parts {
      if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
      }
      let digit: i128 = part.parse().ok()?;
      if digit > 59 {
        return None;
      }
      value = value * 60 + digit;
    }
    value
  } else {
    if !body.bytes().next()?.is_ascii_digit() || !body.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
      return None;
    }
    clean(body).parse().ok()?
  };
  let value = if negative { -magnitude } else { magnitude };
  if let Ok(i) = i64::try_from(value) {
    return Some(Value::from(i));
  }
  u64::try_from(value).ok().map(Value::from)
}

fn float(text: &str) -> Option<Value> {
  let body = text.strip_prefix(['-', '+']).unwrap_or(text);
  let negative = text.starts_with('-');
  let special = matches!(body, ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN");
  if special {
    // JSON has no infinity or NaN; keep the text.
    return None;
  }
  // [0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)? or \.[0-9_]+([eE][-+][0-9]+)?
  let (mantissa, exponent) = match body.find(['e', 'E']) {
    Some(i) => (&body[..i], Some(&body[i + 1..])),
    None => (body, None),
  };
  let (whole, fraction) = mantissa.split_once('.')?;
  let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b == b'_');
  let whole_ok = whole.is_empty() && !fraction.is_empty() && fraction.bytes().next()?.is_ascii_digit()
    || (whole.bytes().next().is_some_and(|b| b.is_ascii_digit()) && digits(whole));
  if !whole_ok || !digits(fraction) {
    return None;
  }
  if let Some(exponent) = exponent {
    let e = exponent.strip_prefix(['-', '+'])?;
    if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) || whole.is_empty() {
      return None;
    }
  }
  let f: f64 = body.replace('_', "").parse().ok()?;
  let f = if negative { -f } else { f };
  Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  fn value(text: &str) -> Value {
    match parse(text) {
      Ok(Some(node)) => node.to_json(),
      other => panic!("{text}: {other:?}"),
    }
  }

  #[test]
  fn plain_scalars_resolve_as_yaml_1_1() {
    let cases = [
      ("a: yes", json!({"a": true})),
      ("a: off", json!({"a": false})),
      ("a: 'yes'", json!({"a": "yes"})),
      ("a: ~", json!({"a": null})),
      ("a:", json!({"a": null})),
      ("a: 0755", json!({"a": 493})),
      ("a: 0x1F", json!({"a": 31})),
      ("a: 1_000", json!({"a": 1000})),
      ("a: 1:30", json!({"a": 90})),
      ("a: 1.5", json!({"a": 1.5})),
      ("a: 1.22", json!({"a": 1.22})),
      ("a: 1.2.3", json!({"a": "1.2.3"})),
      ("a: 1e3", json!({"a": "1e3"})),
      ("a: 1.0e+3", json!({"a": 1000.0})),
      ("a: y", json!({"a": "y"})),
      ("a: [1, 'b', {c: d}]", json!({"a": [1, "b", {"c": "d"}]})),
      ("b: &x {k: 1}\na: {<<: *x, j: 2}", json!({"b": {"k": 1}, "a": {"k": 1, "j": 2}})),
      ("a: !unsafe '{{ x }}'", json!({"a": "{{ x }}"})),
      ("a: 1\na: 2", json!({"a": 2})),
    ];
    for (text, expected) in cases {
      assert_eq!(value(text), expected, "{text}");
    }
  }

  #[test]
  fn a_billion_laughs_is_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
      let p = i - 1;
      text.push_str(&format!(
        "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
      ));
    }
    assert!(parse(&text).is_err());
  }

  #[test]
  fn vault_values_are_refused() {
    assert!(parse("a: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3136\n").is_err());
  }
}
