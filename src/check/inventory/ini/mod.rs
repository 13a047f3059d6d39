//! Reads Ansible INI inventories as ansible-core 2.19 reads them, so that a
//! fleet already described for Ansible can be converged without writing its
//! hosts and groups a second time in `.goenv` syntax.
//!
//! The rules are those of Ansible's INI inventory plugin: `#` and `;` comment
//! lines; hosts before the first section in `ungrouped`; `[group]`,
//! `[group:hosts]`, `[group:vars]` and `[group:children]` headers, followed by
//! nothing but an optional `#` comment; host ranges such as
//! `www[01:50].example.com` ([`host_range`]); host lines split the way Python's
//! `shlex` splits them ([`shlex`]); every value, on a host line or in a `:vars`
//! section, read as a Python literal ([`super::literal`]). A name given twice
//! keeps the later value. A `:vars` or `:children` section that names a group no
//! section of the file (or an earlier source) defines is refused, as Ansible
//! refuses it. `ansible_group_priority` in a `:vars` section sets the group's
//! priority and is not a variable. Connection settings (`ansible_host`,
//! `ansible_port`, `host:port`...) are host variables like any other, so that
//! templates see them and the resolver renders them with the host's variables.
//!
//! Every malformed line becomes a diagnostic and reading goes on with the next
//! line, so that one run reports every problem in the file (Ansible stops at
//! the first).

mod host_line;
mod host_range;
mod shlex;
#[cfg(test)]
mod tests;

use crate::check::inventory::{self, Inventory, Name, Var, literal, tree};
use crate::diagnostic::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::source::{FileId, Span};
use host_range::expand;
use serde_json::Value;
use shlex::LexError;
use std::collections::{HashMap, HashSet};

/// The group of the hosts listed before the first section.
const UNGROUPED: &str = tree::UNGROUPED;
/// The section types that may follow `[group:`.
const SECTION_TYPES: [&str; 3] = ["vars", "children", "hosts"];

/// Reads the Ansible INI inventory `text` (of `file`) and adds its hosts and
/// groups to `inventory`, merging them with those already there. Problems are
/// added to `diagnostics`; the entries of the lines without problems are added
/// all the same.
pub fn parse(file: FileId, text: &str, inventory: &mut Inventory, diagnostics: &mut Diagnostics) {
  let mut defined: HashSet<String> = inventory.groups.keys().cloned().collect();
  defined.extend([tree::ALL.to_owned(), tree::UNGROUPED.to_owned()]);
  let mut reader = Reader {
    file,
    inventory,
    diagnostics,
    section: Section::Hosts(UNGROUPED.to_owned()),
    defined,
    pending: Vec::new(),
    members: HashMap::new(),
  };
  let body = text.strip_prefix('\u{feff}').unwrap_or(text);
  let mut offset = text.len() - body.len();
  for line in body.split_inclusive('\n') {
    reader.line(offset, line.trim_end_matches(['\n', '\r']));
    offset += line.len();
  }
  reader.undefined_groups();
}

/// What the lines under the current section header define.
enum Section {
  Hosts(String),
  Vars(String),
  Children(String),
  /// Lines under a header that could not be read: they are skipped, since how
  /// to read them is unknown.
  Skip,
}

/// A group that a `:vars` header or a `:children` line names, which some
/// `[group]` or `[group:children]` header must define.
struct Pending {
  group: String,
  span: Span,
  /// The parent whose `:children` section names it, or `None` for `:vars`.
  parent: Option<String>,
}

struct Reader<'a> {
  file: FileId,
  inventory: &'a mut Inventory,
  diagnostics: &'a mut Diagnostics,
  section: Section,
  /// Groups that exist for Ansible: `all`, `ungrouped`, those of earlier
  /// sources, and those with a `[group]` or `[group:children]` header here.
  defined: HashSet<String>,
  pending: Vec<Pending>,
  /// The hosts of each group that a host line of this file added to, kept
  /// beside the group's list so that adding a host does not search the list
  /// (which would make reading a long group quadratic).
  members: HashMap<String, HashSet<String>>,
}

impl Reader<'_> {
  fn span(&self, start: usize, end: usize) -> Span {
    Span::new(self.file, start, end)
  }

  fn report(&mut self, code: Code, span: Span, label: &str, message: String, help: String) {
    self.diagnostics.push(Diagnostic::new(code, message).label(span, label).help(help));
  }

  /// Reads one line (without its line break) that starts at byte `start`.
  fn line(&mut self, start: usize, line: &str) {
    let content = line.trim();
    if content.is_empty() || content.starts_with(['#', ';']) {
      return;
    }
    let at = start + (line.len() - line.trim_start().len());
    if is_header(content) {
      self.header(at, content);
      return;
    }
    match &self.section {
      Section::Hosts(group) => {
        let group = group.clone();
        self.host_line(&group, at, content);
      }
      Section::Vars(group) => {
        let group = group.clone();
        self.vars_line(&group, at, content);
      }
      Section::Children(group) => {
        let group = group.clone();
        self.children_line(&group, at, content);
      }
      Section::Skip => {}
    }
  }

  /// `[group]`, `[group:vars]` or `[group:children]`, at byte `at`.
  fn header(&mut self, at: usize, content: &str) {
    self.section = Section::Skip;
    let inner_at = at + 1;
    let inner = match content.find(']') {
      Some(close) => {
        let junk = content[close + 1..].trim_start();
        if !junk.is_empty() && !junk.starts_with('#') {
          let end = at + content.len();
          let help = if junk.starts_with(';') {
            "Ansible allows only a `#` comment after a section header; write `#` instead of `;`".to_owned()
          } else {
            format!("move `{junk}` to a line of its own, or start a comment with `#`")
          };
          self.report(
            Code::Inventory,
            self.span(end - junk.len(), end),
            "unexpected text",
            format!("expected nothing after the section header `{}`, found `{junk}`", &content[..=close]),
            help,
          );
        }
        let inner = &content[1..close];
        if is_ipv6(inner) {
          self.report(
            Code::Inventory,
            self.span(at, at + close + 1),
            "an address in brackets",
            format!(
              "expected a section header or a host, found the bracketed address `{}`",
              &content[..=close]
            ),
            format!(
              "Ansible reads a line in brackets as a section header and refuses this one; write the \
               address without brackets (`{inner}`), or with a port (`[{inner}]:22`)"
            ),
          );
          return;
        }
        inner
      }
      None => {
        let inner =
          content[1..].split(|c: char| c.is_whitespace() || c == '#' || c == ';').next().unwrap_or("");
        let help = if inner.is_empty() {
          "write a group name and close the header with `]`, as in `[web]`".to_owned()
        } else {
          format!("close the header with `]`, as in `[{inner}]`")
        };
        self.report(
          Code::Inventory,
          self.span(at, inner_at + inner.len()),
          "not closed",
          format!("expected `]` to close the section header `[{inner}`"),
          help,
        );
        if inner.is_empty() {
          return;
        }
        inner
      }
    };
    let (name, kind) = match inner.split_once(':') {
      Some((name, kind)) => (name, Some(kind)),
      None => (inner, None),
    };
    let name_span = self.span(inner_at, inner_at + name.len());
    if name.trim().is_empty() {
      self.report(
        Code::Inventory,
        self.span(at, (inner_at + inner.len() + 1).min(at + content.len())),
        "no group name",
        format!("expected a group name in the section header `[{inner}]`"),
        "write the group name between the brackets, as in `[web]`".to_owned(),
      );
      return;
    }
    if name.contains(char::is_whitespace) {
      let joined = name.split_whitespace().collect::<Vec<_>>().join("_");
      self.report(
        Code::Inventory,
        name_span,
        "contains a space",
        format!("expected a group name without spaces, found `{name}`"),
        format!("remove the spaces, or join the words with `_`, as in `[{joined}]`"),
      );
      return;
    }
    let section = match kind {
      None | Some("hosts") => Section::Hosts(name.to_owned()),
      Some("vars") => Section::Vars(name.to_owned()),
      Some("children") => Section::Children(name.to_owned()),
      Some(other) => {
        let kind_at = name_span.end + 1;
        let (span, message) = if other.is_empty() {
          (self.span(kind_at - 1, kind_at), format!("expected `vars` or `children` after `{name}:`"))
        } else {
          (
            self.span(kind_at, kind_at + other.len()),
            format!("expected `vars` or `children` after `{name}:`, found `{other}`"),
          )
        };
        let help = match did_you_mean(other, SECTION_TYPES) {
          Some(kind) => {
            format!("the allowed section types are `vars` and `children`; write `[{name}:{kind}]`")
          }
          None => format!(
            "the allowed section types are `vars` and `children`; write `[{name}:vars]` for group variables, \
             `[{name}:children]` for child groups or `[{name}]` for hosts"
          ),
        };
        self.report(Code::Inventory, span, "unknown section type", message, help);
        return;
      }
    };
    self.define_group(name, name_span, &section);
    self.section = section;
  }

  /// Creates the group of a section header. A `[group]` or
  /// `[group:children]` header defines it; a `[group:vars]` header needs such a
  /// header somewhere in the file (or an earlier source). The span of a group
  /// that only a `:children` line named so far moves to its own header.
  fn define_group(&mut self, name: &str, span: Span, section: &Section) {
    let existed = self.inventory.groups.contains_key(name);
    let group = self.inventory.group_mut(name, span);
    if matches!(section, Section::Vars(_)) {
      if !self.defined.contains(name) {
        self.pending.push(Pending { group: name.to_owned(), span, parent: None });
      }
      return;
    }
    if existed && !self.defined.contains(name) {
      group.span = span;
    }
    self.defined.insert(name.to_owned());
  }

  /// A `:vars` header or a `:children` line that names a group no header of
  /// the file defines: Ansible refuses the file.
  fn undefined_groups(&mut self) {
    for pending in std::mem::take(&mut self.pending) {
      if self.defined.contains(&pending.group) {
        continue;
      }
      let group = &pending.group;
      let candidates: Vec<&str> = self.defined.iter().map(String::as_str).collect();
      let suggestion = did_you_mean(group, candidates.iter().copied())
        .or_else(|| candidates.iter().copied().find(|c| c.eq_ignore_ascii_case(group)));
      let (message, label) = match &pending.parent {
        Some(parent) => (
          format!("expected `[{parent}:children]` to name a group this inventory defines, found `{group}`"),
          "undefined group",
        ),
        None => (format!("expected a group this inventory defines in `[{group}:vars]`"), "undefined group"),
      };
      let help = match suggestion {
        Some(s) => format!("did you mean `{s}`? Group names are case-sensitive"),
        None => format!(
          "define the group with a `[{group}]` section (it may be empty), as Ansible requires; \
           Ansible refuses the whole file otherwise"
        ),
      };
      self
        .diagnostics
        .push(Diagnostic::new(Code::UndefinedInventoryGroup, message).label(pending.span, label).help(help));
    }
  }

  fn lex_error(&mut self, at: usize, content: &str, error: LexError) {
    match error {
      LexError::Unclosed { quote, at: from } => {
        self.unclosed_quote(quote, self.span(at + from, at + content.len()))
      }
      LexError::TrailingBackslash { at: from } => self.report(
        Code::Inventory,
        self.span(at + from, at + from + 1),
        "escapes nothing",
        "expected a character after the `\\` at the end of the line".to_owned(),
        "remove the `\\`, or write `\\\\` for a backslash".to_owned(),
      ),
    }
  }

  fn unclosed_quote(&mut self, quote: char, span: Span) {
    self.report(
      Code::Inventory,
      span,
      "this quote is never closed",
      format!("expected a closing `{quote}` before the end of the line"),
      format!("add the closing `{quote}` where the value ends"),
    );
  }

  /// `key=value` in the `:vars` section of `group`. The value is the rest of the
  /// line, trimmed, read as a Python literal.
  fn vars_line(&mut self, group: &str, at: usize, content: &str) {
    let end = at + content.len();
    let Some(eq) = content.find('=') else {
      let first = content.split_whitespace().next().unwrap_or(content);
      self.report(
        Code::Inventory,
        self.span(at, end),
        "no `=`",
        format!("expected `key=value` in `[{group}:vars]`, found `{content}`"),
        format!("write the variable as `{first}=value`, or list hosts in a `[{group}]` section"),
      );
      return;
    };
    let key = content[..eq].trim_end();
    if key.is_empty() {
      self.report(
        Code::Inventory,
        self.span(at + eq, at + eq + 1),
        "no name before `=`",
        format!("expected a variable name before `=`, found `{content}`"),
        "write the name first, as in `name=value`".to_owned(),
      );
      return;
    }
    if key.contains(char::is_whitespace) {
      self.report(
        Code::Inventory,
        self.span(at, at + key.len()),
        "not one name",
        format!("expected one variable name before `=`, found `{key}`"),
        format!("write one `name=value` per line; host lines belong in a `[{group}]` section"),
      );
      return;
    }
    let after = &content[eq + 1..];
    let raw = after.trim();
    let value_at = at + eq + 1 + (after.len() - after.trim_start().len());
    let value_span = self.span(value_at, value_at + raw.len());
    let value = literal::value(raw);
    let span = self.span(at, end);
    if key == "ansible_group_priority" {
      match group_priority(&value) {
        Some(priority) => self.inventory.group_mut(group, span).priority = Some(priority),
        None => self.report(
          Code::GroupPriority,
          value_span,
          "not a whole number",
          format!("expected `ansible_group_priority` to be a whole number, found `{raw}`"),
          "write a whole number, as in `ansible_group_priority = 10`; Ansible refuses the file otherwise"
            .to_owned(),
        ),
      }
      return;
    }
    if key == "ansible_port" && !port_value_ok(&value) {
      self.report(
        Code::Port,
        value_span,
        "not a port",
        format!("expected `ansible_port` to be a port between 1 and 65535, found `{raw}`"),
        "write a whole number in that range, as in `ansible_port = 2222`".to_owned(),
      );
      return;
    }
    if let Some(d) = inventory::check_connection_var(key, &value, value_span) {
      self.diagnostics.push(d);
    }
    // A name set twice: the later value wins, as in Ansible.
    self.inventory.group_mut(group, span).vars.insert(key.to_owned(), Var { value, span });
  }

  /// One child group name in the `:children` section of `parent`.
  fn children_line(&mut self, parent: &str, at: usize, content: &str) {
    let end = at + content.len();
    let (child, rest) = content.split_at(content.find(char::is_whitespace).unwrap_or(content.len()));
    let rest = rest.trim_start();
    if !rest.is_empty() && !rest.starts_with('#') {
      let help = if rest.starts_with(';') {
        "Ansible allows only a `#` comment after a child group's name; write `#` instead of `;`".to_owned()
      } else {
        format!("list each child group on a line of its own; variables go in a `[{child}:vars]` section")
      };
      self.report(
        Code::Inventory,
        self.span(end - rest.len(), end),
        "unexpected text",
        format!("expected one group name per line in `[{parent}:children]`, found `{content}`"),
        help,
      );
      return;
    }
    if child.contains([':', '=', ']']) {
      let name = child.split([':', '=', ']']).next().unwrap_or("").trim();
      let name = if name.is_empty() { "db" } else { name };
      self.report(
        Code::Inventory,
        self.span(at, at + child.len()),
        "not a group name",
        format!("expected a group name in `[{parent}:children]`, found `{child}`"),
        format!("write the child group's name alone, as in `{name}`"),
      );
      return;
    }
    let span = self.span(at, at + child.len());
    if !self.defined.contains(child) {
      self.pending.push(Pending { group: child.to_owned(), span, parent: Some(parent.to_owned()) });
    }
    self.inventory.group_mut(child, span);
    let group = self.inventory.group_mut(parent, span);
    if !group.children.iter().any(|n| n.name == child) {
      group.children.push(Name { name: child.to_owned(), span });
    }
  }
}

/// Whether a trimmed line is a section header rather than a host line that
/// starts with a range (`[a:c].example.com`) or an IPv6 address with a port
/// (`[::1]:22`).
fn is_header(content: &str) -> bool {
  let Some(rest) = content.strip_prefix('[') else { return false };
  match rest.find(']') {
    None => true,
    Some(close) => {
      let after = &rest[close + 1..];
      if is_ipv6(&rest[..close]) {
        // `[::1]` alone is a header for Ansible, which refuses it.
        return after.is_empty();
      }
      after.chars().next().is_none_or(|c| c.is_whitespace() || c == '#' || c == ';')
    }
  }
}

/// Whether `text` looks like an IPv6 address (and not like a host range).
fn is_ipv6(text: &str) -> bool {
  !text.is_empty()
    && text.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
    && (text.contains("::") || text.matches(':').count() >= 7)
}

/// The index of the `]` of a leading `[ipv6-address]`.
fn ipv6_bracket(text: &str) -> Option<usize> {
  let close = text.strip_prefix('[')?.find(']')? + 1;
  is_ipv6(&text[1..close]).then_some(close)
}

fn is_template(value: &str) -> bool {
  value.contains("{{")
}

/// A TCP port, 1 to 65535, written in decimal digits only.
fn port_number(text: &str) -> Option<u16> {
  if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
    return None;
  }
  text.parse::<u16>().ok().filter(|port| *port != 0)
}

/// Whether an `ansible_port` value can be a port: a whole number from 1 to
/// 65535, as a number or as decimal digits, or a template rendered later.
fn port_value_ok(value: &Value) -> bool {
  match value {
    Value::String(s) => is_template(s) || port_number(s).is_some(),
    Value::Number(n) => n.as_u64().is_some_and(|p| (1..=65535).contains(&p)),
    _ => false,
  }
}

/// `int(value)` in Python, as Ansible reads `ansible_group_priority`: a
/// number (a float is cut to its whole part), a bool, or text of decimal
/// digits with an optional sign and spaces around.
fn group_priority(value: &Value) -> Option<i64> {
  match value {
    Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f.trunc() as i64)),
    Value::Bool(b) => Some(i64::from(*b)),
    Value::String(s) => s.trim().replace('_', "").parse().ok(),
    _ => None,
  }
}

/// The host names and port of a host pattern outside an INI file (a YAML
/// inventory's host key): `name`, `name:port`, `[ipv6]:port`, with ranges.
/// `None` when it cannot be read.
pub(crate) fn expand_pattern(pattern: &str) -> Option<(Vec<String>, Option<u16>)> {
  if let Some(close) = ipv6_bracket(pattern) {
    let port = match &pattern[close + 1..] {
      "" => None,
      rest => Some(port_number(rest.strip_prefix(':')?)?),
    };
    return Some((vec![pattern[1..close].to_owned()], port));
  }
  let mut depth = 0usize;
  let colons: Vec<usize> = pattern
    .char_indices()
    .filter_map(|(i, c)| {
      match c {
        '[' => depth += 1,
        ']' => depth = depth.saturating_sub(1),
        ':' if depth == 0 => return Some(i),
        _ => {}
      }
      None
    })
    .collect();
  let (name, port) = match colons.as_slice() {
    [colon] => (&pattern[..*colon], Some(port_number(&pattern[colon + 1..])?)),
    _ => (pattern, None),
  };
  if name.is_empty() {
    return None;
  }
  expand(name).ok().map(|names| (names, port))
}
