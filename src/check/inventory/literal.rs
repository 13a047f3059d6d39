//! Inventory values read as Python literals, the way Ansible's INI plugin reads
//! them with `ast.literal_eval`: integers (decimal, `0x`, `0o`, `0b`, with `_`),
//! floats, `True`, `False`, `None`, strings in any Python quoting (with their
//! escapes), lists, tuples and sets (as lists), dicts, a sign before a number,
//! and `#` comments. Text that is not one literal stays the text as written.
//!
//! Three literals have no JSON form that Ansible would print the same way, so
//! they too stay the text as written: complex numbers, integers beyond 64 bits,
//! and `\N{...}` escapes. A set keeps the order it is written in.

use serde_json::{Map, Number, Value};

/// The value Ansible gives the inventory text `text`.
pub fn value(text: &str) -> Value {
  parse(text).unwrap_or_else(|| Value::String(text.to_owned()))
}

/// The literal `text` is, or `None` when it is not one.
fn parse(text: &str) -> Option<Value> {
  // `ast.literal_eval` strips leading spaces and tabs only.
  let mut p = Parser { s: text.trim_start_matches([' ', '\t']).as_bytes(), at: 0, depth: 0 };
  let first = p.expr()?;
  p.space();
  let value = if p.eat(b',') {
    // A tuple without brackets: `1, 2`.
    let mut items = vec![first];
    p.space();
    while !p.done() {
      items.push(p.expr()?);
      p.space();
      if !p.eat(b',') {
        break;
      }
      p.space();
    }
    Value::Array(items)
  } else {
    first
  };
  p.space();
  p.done().then_some(value)
}

/// How deeply brackets may nest before the text is taken as text (Python's own
/// parser stops at about 200).
const MAX_DEPTH: usize = 100;

struct Parser<'a> {
  s: &'a [u8],
  at: usize,
  depth: usize,
}

impl Parser<'_> {
  fn peek(&self) -> Option<u8> {
    self.s.get(self.at).copied()
  }

  fn done(&self) -> bool {
    self.at >= self.s.len()
  }

  fn eat(&mut self, b: u8) -> bool {
    if self.peek() == Some(b) {
      self.at += 1;
      true
    } else {
      false
    }
  }

  /// Skips spaces, tabs, form feeds and a comment to the end of the text.
  fn space(&mut self) {
    while let Some(c) = self.peek() {
      match c {
        b' ' | b'\t' | b'\x0c' | b'\n' | b'\r' => self.at += 1,
        b'#' => self.at = self.s.len(),
        _ => break,
      }
    }
  }

  fn expr(&mut self) -> Option<Value> {
    self.space();
    match self.peek()? {
      b'[' => self.sequence(b']'),
      b'(' => self.sequence(b')'),
      b'{' => self.braces(),
      b'+' | b'-' => {
        let negative = self.peek() == Some(b'-');
        self.at += 1;
        self.space();
        match self.number()? {
          Value::Number(n) if negative => negate(&n),
          Value::Number(n) => Some(Value::Number(n)),
          _ => None,
        }
      }
      b'0'..=b'9' => self.number(),
      b'.' if self.s.get(self.at + 1).is_some_and(u8::is_ascii_digit) => self.number(),
      b'.' => {
        let rest = &self.s[self.at..];
        rest.starts_with(b"...").then(|| {
          self.at += 3;
          Value::String("...".to_owned())
        })
      }
      c if c == b'\'' || c == b'"' || c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
        self.word_or_string()
      }
      _ => None,
    }
  }

  /// `[...]`, `(...)`: a list (a tuple is a list too).
  fn sequence(&mut self, close: u8) -> Option<Value> {
    self.at += 1;
    self.depth += 1;
    if self.depth > MAX_DEPTH {
      return None;
    }
    let mut items = Vec::new();
    let mut commas = 0;
    loop {
      self.space();
      if self.eat(close) {
        break;
      }
      items.push(self.expr()?);
      self.space();
      if self.eat(b',') {
        commas += 1;
        continue;
      }
      self.space();
      if !self.eat(close) {
        return None;
      }
      break;
    }
    self.depth -= 1;
    // `(1)` is the number 1, not a tuple.
    if close == b')' && items.len() == 1 && commas == 0 {
      return items.pop();
    }
    Some(Value::Array(items))
  }

  /// `{...}`: a dict, or a set (as a list).
  fn braces(&mut self) -> Option<Value> {
    self.at += 1;
    self.depth += 1;
    if self.depth > MAX_DEPTH {
      return None;
    }
    self.space();
    if self.eat(b'}') {
      self.depth -= 1;
      return Some(Value::Object(Map::new()));
    }
    let first = self.expr()?;
    self.space();
    let value = if self.eat(b':') {
      let mut map = Map::new();
      let mut key = first;
      loop {
        let item = self.expr()?;
        map.insert(key_text(key)?, item);
        self.space();
        let more = self.eat(b',');
        self.space();
        if self.eat(b'}') {
          break;
        }
        if !more {
          return None;
        }
        key = self.expr()?;
        self.space();
        if !self.eat(b':') {
          return None;
        }
      }
      Value::Object(map)
    } else {
      let mut items = vec![first];
      loop {
        self.space();
        let more = self.eat(b',');
        self.space();
        if self.eat(b'}') {
          break;
        }
        if !more {
          return None;
        }
        let item = self.expr()?;
        if !items.contains(&item) {
          items.push(item);
        }
      }
      Value::Array(items)
    };
    self.depth -= 1;
    Some(value)
  }

  /// A name (`True`, `False`, `None`), or a string with an optional prefix,
  /// followed by any adjacent strings it is joined with.
  fn word_or_string(&mut self) -> Option<Value> {
    let start = self.at;
    while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80) {
      self.at += 1;
    }
    let word = std::str::from_utf8(&self.s[start..self.at]).ok()?;
    if !matches!(self.peek(), Some(b'\'' | b'"')) {
      return match word {
        "True" => Some(Value::Bool(true)),
        "False" => Some(Value::Bool(false)),
        "None" => Some(Value::Null),
        _ => None,
      };
    }
    self.at = start;
    let (mut text, bytes) = self.string()?;
    loop {
      let save = self.at;
      self.space();
      let next = self.peek();
      let starts_string = matches!(next, Some(b'\'' | b'"'))
        || (next.is_some_and(|c| c.is_ascii_alphabetic()) && {
          let mut i = self.at;
          while self.s.get(i).is_some_and(u8::is_ascii_alphabetic) {
            i += 1;
          }
          matches!(self.s.get(i), Some(b'\'' | b'"'))
        });
      if !starts_string {
        self.at = save;
        break;
      }
      let (more, more_bytes) = self.string()?;
      if more_bytes != bytes {
        return None;
      }
      text.push_str(&more);
    }
    Some(Value::String(text))
  }

  /// One string literal with its prefix: its text, and whether it is bytes.
  fn string(&mut self) -> Option<(String, bool)> {
    let start = self.at;
    while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
      self.at += 1;
    }
    let prefix = std::str::from_utf8(&self.s[start..self.at]).ok()?.to_ascii_lowercase();
    let (raw, bytes) = match prefix.as_str() {
      "" | "u" => (false, false),
      "r" => (true, false),
      "b" => (false, true),
      "br" | "rb" => (true, true),
      // f-strings and t-strings are not literals.
      _ => return None,
    };
    let quote = self.peek()?;
    let triple = self.s[self.at..].starts_with(&[quote; 3]);
    self.at += if triple { 3 } else { 1 };
    let mut out: Vec<u8> = Vec::new();
    loop {
      let c = self.peek()?;
      if c == quote && (!triple || self.s[self.at..].starts_with(&[quote; 3])) {
        self.at += if triple { 3 } else { 1 };
        break;
      }
      if (c == b'\n' || c == b'\r') && !triple {
        return None;
      }
      if bytes && c >= 0x80 {
        return None;
      }
      self.at += 1;
      if c != b'\\' {
        out.push(c);
        continue;
      }
      let e = self.peek()?;
      if raw {
        out.push(b'\\');
        out.push(e);
        self.at += 1;
        continue;
      }
      self.at += 1;
      match e {
        b'\n' => {}
        b'\\' | b'\'' | b'"' => out.push(e),
        b'a' => out.push(0x07),
        b'b' => out.push(0x08),
        b'f' => out.push(0x0c),
        b'n' => out.push(b'\n'),
        b'r' => out.push(b'\r'),
        b't' => out.push(b'\t'),
        b'v' => out.push(0x0b),
        b'0'..=b'7' => {
          let mut n = u32::from(e - b'0');
          for _ in 0..2 {
            match self.peek() {
              Some(d @ b'0'..=b'7') => {
                n = n * 8 + u32::from(d - b'0');
                self.at += 1;
              }
              _ => break,
            }
          }
          if bytes {
            out.push(u8::try_from(n & 0xff).ok()?);
          } else {
            push_char(&mut out, char::from_u32(n)?);
          }
        }
        b'x' => {
          let n = self.hex(2)?;
          if bytes {
            out.push(u8::try_from(n).ok()?);
          } else {
            push_char(&mut out, char::from_u32(n)?);
          }
        }
        b'u' | b'U' if !bytes => {
          let n = self.hex(if e == b'u' { 4 } else { 8 })?;
          push_char(&mut out, char::from_u32(n)?);
        }
        // `\N{name}` needs Unicode's name table.
        b'N' if !bytes => return None,
        other => {
          out.push(b'\\');
          out.push(other);
        }
      }
    }
    // Bytes are turned into text as UTF-8, as Ansible's `to_text` does.
    String::from_utf8(out).ok().map(|s| (s, bytes))
  }

  fn hex(&mut self, digits: usize) -> Option<u32> {
    let text = std::str::from_utf8(self.s.get(self.at..self.at + digits)?).ok()?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
      return None;
    }
    self.at += digits;
    u32::from_str_radix(text, 16).ok()
  }

  /// An integer or a float literal (not complex).
  fn number(&mut self) -> Option<Value> {
    let start = self.at;
    while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.') {
      let c = self.peek();
      self.at += 1;
      // An exponent's sign.
      if matches!(c, Some(b'e' | b'E'))
        && matches!(self.peek(), Some(b'+' | b'-'))
        && !self.s[start..].starts_with(b"0x")
        && !self.s[start..].starts_with(b"0X")
      {
        self.at += 1;
      }
    }
    let text = std::str::from_utf8(&self.s[start..self.at]).ok()?;
    number(text)
  }
}

/// A Python number literal as JSON.
fn number(text: &str) -> Option<Value> {
  let lower = text.to_ascii_lowercase();
  for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
    if let Some(digits) = lower.strip_prefix(prefix) {
      let digits = digits.strip_prefix('_').unwrap_or(digits);
      if !underscores_ok(digits) {
        return None;
      }
      return u64::from_str_radix(&digits.replace('_', ""), radix).ok().map(Value::from);
    }
  }
  if !text.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.') {
    return None;
  }
  if lower.ends_with('j') {
    return None;
  }
  let is_float = lower.contains(['.', 'e']);
  if is_float {
    let (mantissa, exponent) = match lower.split_once('e') {
      Some((m, e)) => (m, Some(e)),
      None => (lower.as_str(), None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty() {
      return None;
    }
    let parts_ok =
      (whole.is_empty() || underscores_ok(whole)) && (fraction.is_empty() || underscores_ok(fraction));
    let exponent_ok = exponent.is_none_or(|e| {
      let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
      underscores_ok(digits)
    });
    if !parts_ok || !exponent_ok {
      return None;
    }
    let f: f64 = lower.replace('_', "").parse().ok()?;
    return Number::from_f64(f).map(Value::Number);
  }
  if !underscores_ok(text) {
    return None;
  }
  let digits = text.replace('_', "");
  // `007` is not a Python literal; `000` is.
  if digits.len() > 1 && digits.starts_with('0') && digits.bytes().any(|b| b != b'0') {
    return None;
  }
  digits.parse::<u64>().ok().map(Value::from)
}

/// Digits with single `_` between them, as Python allows.
fn underscores_ok(digits: &str) -> bool {
  !digits.is_empty()
    && !digits.starts_with('_')
    && !digits.ends_with('_')
    && !digits.contains("__")
    && digits.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn negate(n: &Number) -> Option<Value> {
  if let Some(u) = n.as_u64() {
    return i64::try_from(u)
      .ok()
      .map(|i| Value::from(-i))
      .or_else(|| (u == 1 << 63).then(|| Value::from(i64::MIN)));
  }
  if let Some(i) = n.as_i64() {
    return i.checked_neg().map(Value::from);
  }
  n.as_f64().and_then(|f| Number::from_f64(-f)).map(Value::Number)
}

/// A dict key as the text `json.dumps` writes for it.
fn key_text(key: Value) -> Option<String> {
  match key {
    Value::String(s) => Some(s),
    Value::Bool(b) => Some(b.to_string()),
    Value::Null => Some("null".to_owned()),
    Value::Number(n) if n.is_f64() => n.as_f64().map(python_float),
    Value::Number(n) => Some(n.to_string()),
    _ => None,
  }
}

/// `repr` of a Python float, for the finite values a literal can give.
fn python_float(f: f64) -> String {
  let text = format!("{f:?}");
  if text.contains('e') {
    // Python writes `1e+16`, Rust `1e16`.
    let (m, e) = text.split_once('e').unwrap_or((&text, "0"));
    let e = if e.starts_with('-') { e.to_owned() } else { format!("+{e}") };
    let e = if e.trim_start_matches(['+', '-']).len() < 2 { format!("{}0{}", &e[..1], &e[1..]) } else { e };
    format!("{m}e{e}")
  } else {
    text
  }
}

fn push_char(out: &mut Vec<u8>, c: char) {
  let mut buf = [0; 4];
  out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

#[cfg(test)]
mod tests {
  use super::value;
  use serde_json::json;

  #[test]
  fn python_literals_become_json() {
    let cases = [
      ("1", json!(1)),
      ("-3", json!(-3)),
      ("+3", json!(3)),
      ("1_000", json!(1000)),
      ("0x10", json!(16)),
      ("0o17", json!(15)),
      ("0b101", json!(5)),
      ("000", json!(0)),
      ("1.5", json!(1.5)),
      ("1.22", json!(1.22)),
      ("1e3", json!(1000.0)),
      ("-1.5e-3", json!(-0.0015)),
      (".5", json!(0.5)),
      ("5.", json!(5.0)),
      ("True", json!(true)),
      ("False", json!(false)),
      ("None", json!(null)),
      ("'q'", json!("q")),
      ("\"q q\"", json!("q q")),
      ("'a' 'b'", json!("ab")),
      ("r'a\\nb'", json!("a\\nb")),
      ("'a\\nb'", json!("a\nb")),
      ("'\\x41\\u00e9'", json!("A\u{e9}")),
      ("'\\q'", json!("\\q")),
      ("b'abc'", json!("abc")),
      ("'''t'''", json!("t")),
      ("[1, 'a', None, (1, 2)]", json!([1, "a", null, [1, 2]])),
      ("(1)", json!(1)),
      ("(1,)", json!([1])),
      ("()", json!([])),
      ("1, 2", json!([1, 2])),
      ("{'a': {1: True}}", json!({"a": {"1": true}})),
      ("{'a': 1, 'a': 2}", json!({"a": 2})),
      ("{}", json!({})),
      ("{1, 2, 1}", json!([1, 2])),
      ("1 # a comment", json!(1)),
      ("  [1]", json!([1])),
      ("...", json!("...")),
    ];
    for (text, expected) in cases {
      assert_eq!(value(text), expected, "{text}");
    }
  }

  #[test]
  fn text_that_is_not_one_literal_stays_text() {
    for text in [
      "007",
      "1.2.3",
      "inf",
      "q",
      "{a:1}",
      "\"a\" and \"b\"",
      "\\x41",
      "10.0.0.1",
      "--1",
      "-True",
      "1_",
      "0x",
      "'open",
      "f'x'",
      "1j",
      "1 2",
      "[1,",
      "'a' b'b'",
      "18446744073709551616",
      "",
      "  ",
      "{{ x }}",
      "web1.example.com",
      "/usr/bin/python3",
    ] {
      assert_eq!(value(text), json!(text), "{text}");
    }
  }

  #[test]
  fn deep_nesting_is_text_not_a_stack_overflow() {
    let text = "[".repeat(100_000);
    assert_eq!(value(&text), json!(text));
  }
}
