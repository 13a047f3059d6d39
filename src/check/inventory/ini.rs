//! Reads Ansible INI inventories as they are, so that a fleet already described
//! for Ansible can be converged without writing its hosts and groups a second
//! time in `.goenv` syntax.
//!
//! The rules are those of Ansible's own INI inventory plugin: `#` and `;`
//! comment lines; hosts before the first section in `ungrouped`; `[group]`,
//! `[group:vars]` and `[group:children]` sections; host ranges such as
//! `www[01:50].example.com`; host lines split the way Python's `shlex` splits
//! them (quotes, backslashes, `#` comments); host-line values read as Python
//! literals (integers, `True`, `False`) and `:vars` values kept as strings. A host
//! named in several places is one host whose variables are merged, the later
//! value winning. Every malformed line becomes a diagnostic and reading goes on
//! with the next line, so that one run reports every problem in the file.

use crate::check::inventory::{self, Host, Inventory, Name, Var};
use crate::diagnostic::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::source::{FileId, Span};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// The group of the hosts listed before the first section.
const UNGROUPED: &str = "ungrouped";
/// The group that every group belongs to.
const ALL: &str = "all";
/// The letters a letter range runs over, in the order of Python's
/// `string.ascii_letters`, which Ansible uses.
const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// The most hosts one host pattern may expand to: more is a typo, not a fleet.
const MAX_EXPANDED: usize = 65_536;
/// The section types that may follow `[group:`.
const SECTION_TYPES: [&str; 2] = ["vars", "children"];

/// Reads the Ansible INI inventory `text` (of `file`) and adds its hosts and
/// groups to `inventory`, merging them with those already there. Problems are
/// added to `diagnostics`; the entries of the lines without problems are added
/// all the same.
pub fn parse(file: FileId, text: &str, inventory: &mut Inventory, diagnostics: &mut Diagnostics) {
  let mut reader = Reader {
    file,
    inventory,
    diagnostics,
    section: Section::Hosts(UNGROUPED.to_owned()),
    implicit: HashSet::new(),
    members: HashMap::new(),
  };
  let body = text.strip_prefix('\u{feff}').unwrap_or(text);
  let mut offset = text.len() - body.len();
  for line in body.split_inclusive('\n') {
    reader.line(offset, line.trim_end_matches(['\n', '\r']));
    offset += line.len();
  }
  reader.reconcile_ungrouped();
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

struct Reader<'a> {
  file: FileId,
  inventory: &'a mut Inventory,
  diagnostics: &'a mut Diagnostics,
  section: Section,
  /// Groups this file created only because a `:children` section named them;
  /// their span moves to their own header if one comes later.
  implicit: HashSet<String>,
  /// The hosts of each group that a host line of this file added to, kept
  /// beside the group's list so that adding a host does not search the list
  /// (which would make reading a long group quadratic).
  members: HashMap<String, HashSet<String>>,
}

/// The connection variables of one host line, kept out of the host's `vars`.
#[derive(Default)]
struct Connection {
  address: Option<String>,
  port: Option<u16>,
  user: Option<String>,
  identity: Option<String>,
}

impl Connection {
  fn apply(&self, host: &mut Host) {
    if let Some(address) = &self.address {
      host.address = Some(address.clone());
    }
    if let Some(port) = self.port {
      host.port = Some(port);
      host.vars.shift_remove("ansible_port");
    }
    if let Some(user) = &self.user {
      host.user = Some(user.clone());
    }
    if let Some(identity) = &self.identity {
      host.identity = Some(identity.clone());
    }
  }
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
        if !junk.is_empty() && !junk.starts_with(['#', ';']) {
          let end = at + content.len();
          self.report(
            Code::Inventory,
            self.span(end - junk.len(), end),
            "unexpected text",
            format!("expected nothing after the section header `{}`, found `{junk}`", &content[..=close]),
            format!("move `{junk}` to a line of its own, or start a comment with `#`"),
          );
        }
        &content[1..close]
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
    self.define_group(name, name_span);
    self.section = section;
  }

  /// Creates the group of a section header, or moves the span of a group that
  /// a `:children` section created to this header.
  fn define_group(&mut self, name: &str, span: Span) {
    if self.implicit.remove(name) {
      if let Some(group) = self.inventory.groups.get_mut(name) {
        group.span = span;
      }
    } else {
      self.inventory.group_mut(name, span);
    }
  }

  /// `pattern [key=value ...]` in the hosts section of `group`.
  fn host_line(&mut self, group: &str, at: usize, content: &str) {
    let words = match split_words(content) {
      Ok(words) => words,
      Err(error) => {
        self.lex_error(at, content, error);
        return;
      }
    };
    let Some((first, rest)) = words.split_first() else { return };
    if first.text.contains('=') || rest.first().is_some_and(|w| w.text.starts_with('=')) {
      let (span, shown) = if first.text.contains('=') {
        (self.span(at + first.start, at + first.end), &content[first.start..first.end])
      } else {
        (self.span(at, at + content.len()), content)
      };
      self.report(
        Code::Inventory,
        span,
        "a variable, not a host",
        format!("expected a host name, found the variable `{shown}`"),
        format!(
          "put group variables in a `[{group}:vars]` section, and host variables after the host name, \
           as in `web1 ansible_host=10.0.0.1`"
        ),
      );
      return;
    }
    let hosts = self.host_pattern(at, first);
    let mut connection = Connection::default();
    let mut vars: Vec<(String, Var)> = Vec::new();
    let mut given: Vec<(String, Span)> = Vec::new();
    let mut index = 0;
    while let Some(word) = rest.get(index) {
      index += 1;
      let span = self.span(at + word.start, at + word.end);
      let raw = &content[word.start..word.end];
      let Some(eq) = word.text.find('=') else {
        // One diagnostic for a run of words without `=`, such as the rest of
        // an unquoted `motd=hello big world`.
        let start = index - 1;
        let run = rest[start..].iter().take_while(|w| !w.text.contains('=')).count();
        index = start + run;
        let last = rest.get(index - 1).map_or(word.end, |w| w.end);
        let bare = &content[word.start..last];
        let help = if start > 0 {
          format!(
            "if `{bare}` belongs to the value before it, quote that value, as in `motd=\"hello world\"`; \
             otherwise write host variables as `name=value`"
          )
        } else {
          "write host variables as `name=value`, and put each host on a line of its own".to_owned()
        };
        self.report(
          Code::Inventory,
          self.span(at + word.start, at + last),
          "not `key=value`",
          format!("expected `key=value` after host `{}`, found `{bare}`", first.text),
          help,
        );
        continue;
      };
      let (key, value) = (&word.text[..eq], &word.text[eq + 1..]);
      if key.is_empty() {
        self.report(
          Code::Inventory,
          span,
          "no name before `=`",
          format!("expected a variable name before `=`, found `{raw}`"),
          "write the name first, as in `name=value`".to_owned(),
        );
        continue;
      }
      match given.iter().find(|(k, _)| k == key) {
        Some((_, earlier)) => self.diagnostics.push(
          Diagnostic::new(
            Code::DuplicateDefinition,
            format!("expected `{key}` once on the line of host `{}`, found it twice", first.text),
          )
          .label(span, "given again here")
          .label(*earlier, "first given here")
          .help("keep one of the two; Ansible would use the later one"),
        ),
        None => given.push((key.to_owned(), span)),
      }
      let value_start = word.origin.get(eq).map_or(word.end, |o| o.1);
      let value_span = self.span(at + value_start, at + word.end);
      match key {
        "ansible_host" => {
          if let Some(d) = inventory::check_host_name(value, value_span, "`ansible_host`") {
            self.diagnostics.push(d);
          }
          connection.address = Some(value.to_owned());
        }
        "ansible_user" => {
          if let Some(d) = inventory::check_user_name(value, value_span, "`ansible_user`") {
            self.diagnostics.push(d);
          }
          connection.user = Some(value.to_owned());
        }
        "ansible_ssh_private_key_file" => connection.identity = Some(value.to_owned()),
        "ansible_port" if !is_template(value) => match port_number(value) {
          Some(port) => connection.port = Some(port),
          None => self.report(
            Code::Port,
            value_span,
            "not a port",
            format!("expected `ansible_port` to be a port between 1 and 65535, found `{value}`"),
            "write a whole number in that range, as in `ansible_port=2222`".to_owned(),
          ),
        },
        _ => {
          let value = if word.quoted_after(eq) { Value::String(value.to_owned()) } else { literal(value) };
          vars.push((key.to_owned(), Var { value, span }));
        }
      }
    }
    let Some((names, port)) = hosts else { return };
    let pattern_span = self.span(at + first.start, at + first.end);
    let members = self.members.entry(group.to_owned()).or_insert_with(|| {
      self.inventory.group_mut(group, pattern_span).hosts.iter().map(|n| n.name.clone()).collect()
    });
    let mut added = Vec::new();
    for name in names {
      let host = self.inventory.host_mut(&name, pattern_span);
      if port.is_some() {
        host.port = port;
      }
      connection.apply(host);
      for (key, var) in &vars {
        if key == "ansible_port" {
          // A templated port, left for the resolver: it replaces a literal one.
          host.port = None;
        }
        host.vars.insert(key.clone(), var.clone());
      }
      if members.insert(name.clone()) {
        added.push(Name { name, span: pattern_span });
      }
    }
    if let Some(group) = self.inventory.groups.get_mut(group) {
      group.hosts.extend(added);
    }
  }

  /// The host names and port of the first word of a host line, or `None` after
  /// reporting why there are none.
  fn host_pattern(&mut self, at: usize, word: &Word) -> Option<(Vec<String>, Option<u16>)> {
    let text = word.text.as_str();
    let whole = self.span(at + word.start, at + word.end);
    let file = self.file;
    let sub = |from: usize, to: usize| {
      let (start, end) = word.raw(from, to);
      Span::new(file, at + start, at + end)
    };
    if text.is_empty() {
      self.report(
        Code::Inventory,
        whole,
        "empty host name",
        "expected a host name at the start of the line".to_owned(),
        "write the host name first, as in `web1 ansible_host=10.0.0.1`".to_owned(),
      );
      return None;
    }
    // `[2001:db8::1]` or `[2001:db8::1]:2222`.
    if let Some(close) = ipv6_bracket(text) {
      let rest = &text[close + 1..];
      let port = if rest.is_empty() {
        None
      } else if let Some(port) = rest.strip_prefix(':') {
        Some(self.port_suffix(sub(close + 2, text.len()), &text[..=close], port)?)
      } else {
        self.report(
          Code::Inventory,
          sub(close + 1, text.len()),
          "unexpected text",
          format!("expected `:port` or nothing after `{}`, found `{rest}`", &text[..=close]),
          format!("write the port after a colon, as in `{}:22`", &text[..=close]),
        );
        return None;
      };
      return Some((vec![text[1..close].to_owned()], port));
    }
    // One colon outside brackets separates a port; more make an IPv6 address.
    let mut depth = 0usize;
    let mut colons = Vec::new();
    for (i, c) in text.char_indices() {
      match c {
        '[' => depth += 1,
        ']' => depth = depth.saturating_sub(1),
        ':' if depth == 0 => colons.push(i),
        _ => {}
      }
    }
    let (name, port) = match colons.as_slice() {
      [colon] => {
        let name = &text[..*colon];
        let port = self.port_suffix(sub(colon + 1, text.len()), name, &text[colon + 1..])?;
        (name, Some(port))
      }
      _ => (text, None),
    };
    if name.is_empty() {
      self.report(
        Code::Inventory,
        whole,
        "no host name",
        format!("expected a host name before `{text}`"),
        format!("write the host name before the port, as in `web1{text}`"),
      );
      return None;
    }
    match expand(name) {
      Ok(names) => Some((names, port)),
      Err(error) => {
        self.report(Code::Inventory, sub(error.from, error.to), "bad host range", error.message, error.help);
        None
      }
    }
  }

  /// The port after `name:`, or `None` after reporting it.
  fn port_suffix(&mut self, span: Span, name: &str, port: &str) -> Option<u16> {
    let parsed = port_number(port);
    if parsed.is_none() {
      self.report(
        Code::Port,
        span,
        "not a port",
        format!("expected a port between 1 and 65535 after `{name}:`, found `{port}`"),
        format!("write a whole number in that range, as in `{name}:2222`"),
      );
    }
    parsed
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
  /// line, trimmed, without surrounding quotes, and always a string.
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
    let raw = after.trim_start();
    let value_at = end - raw.len();
    let Some(value) = unquote(raw) else {
      let quote = raw.chars().next().unwrap_or('"');
      self.unclosed_quote(quote, self.span(value_at, end));
      return;
    };
    if key == "ansible_port" && !is_template(value) && port_number(value).is_none() {
      self.report(
        Code::Port,
        self.span(value_at, end),
        "not a port",
        format!("expected `ansible_port` to be a port between 1 and 65535, found `{value}`"),
        "write a whole number in that range, as in `ansible_port = 2222`".to_owned(),
      );
      return;
    }
    let span = self.span(at, end);
    let var = Var { value: Value::String(value.to_owned()), span };
    if let Some(d) = inventory::check_connection_var(key, &var.value, self.span(value_at, end)) {
      self.diagnostics.push(d);
    }
    let previous = self.inventory.group_mut(group, span).vars.insert(key.to_owned(), var);
    if let Some(previous) = previous.filter(|p| p.span.file == self.file) {
      self.diagnostics.push(
        Diagnostic::new(
          Code::DuplicateDefinition,
          format!("expected `{key}` to be set once for group `{group}` in this file, found it twice"),
        )
        .label(span, "set again here")
        .label(previous.span, "first set here")
        .help("keep one of the two; Ansible would use the later one"),
      );
    }
  }

  /// One child group name in the `:children` section of `parent`.
  fn children_line(&mut self, parent: &str, at: usize, content: &str) {
    let end = at + content.len();
    let (child, rest) = content.split_at(content.find(char::is_whitespace).unwrap_or(content.len()));
    let rest = rest.trim_start();
    if !rest.is_empty() && !rest.starts_with(['#', ';']) {
      self.report(
        Code::Inventory,
        self.span(end - rest.len(), end),
        "unexpected text",
        format!("expected one group name per line in `[{parent}:children]`, found `{content}`"),
        format!("list each child group on a line of its own; variables go in a `[{child}:vars]` section"),
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
    if !self.inventory.groups.contains_key(child) {
      self.inventory.group_mut(child, span);
      self.implicit.insert(child.to_owned());
    }
    let group = self.inventory.group_mut(parent, span);
    if !group.children.iter().any(|n| n.name == child) {
      group.children.push(Name { name: child.to_owned(), span });
    }
  }

  /// Takes out of `ungrouped` the hosts that another group lists, as Ansible
  /// does once its inventory is read.
  fn reconcile_ungrouped(&mut self) {
    if self.inventory.groups.get(UNGROUPED).is_none_or(|g| g.hosts.is_empty()) {
      return;
    }
    let grouped: HashSet<String> = self
      .inventory
      .groups
      .values()
      .filter(|g| g.name != UNGROUPED && g.name != ALL)
      .flat_map(|g| g.hosts.iter().map(|n| n.name.clone()))
      .collect();
    if let Some(ungrouped) = self.inventory.groups.get_mut(UNGROUPED) {
      ungrouped.hosts.retain(|n| !grouped.contains(&n.name));
    }
  }
}

/// Whether a trimmed line is a section header rather than a host line that
/// starts with a range (`[a:c].example.com`) or an IPv6 address (`[::1]:22`).
fn is_header(content: &str) -> bool {
  let Some(rest) = content.strip_prefix('[') else { return false };
  match rest.find(']') {
    None => true,
    Some(close) => {
      !is_ipv6(&rest[..close])
        && rest[close + 1..].chars().next().is_none_or(|c| c.is_whitespace() || c == '#' || c == ';')
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

/// An unquoted host-line value as Ansible's `ast.literal_eval` reads it, within
/// what an inventory needs: `True` and `False` are booleans and integers are
/// numbers. Everything else, floats and versions such as `1.22` included, stays
/// a string.
fn literal(text: &str) -> Value {
  match text {
    "True" => Value::Bool(true),
    "False" => Value::Bool(false),
    _ => integer(text).unwrap_or_else(|| Value::String(text.to_owned())),
  }
}

/// A Python integer literal in decimal: an optional sign, then digits without
/// leading zeros (`007` is not a Python literal, so it stays a string).
fn integer(text: &str) -> Option<Value> {
  let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
  if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
    return None;
  }
  if digits.starts_with('0') && digits.bytes().any(|b| b != b'0') {
    return None;
  }
  if text.starts_with('-') {
    text.parse::<i64>().ok().map(Value::from)
  } else {
    digits.parse::<u64>().ok().map(Value::from)
  }
}

/// A `:vars` value without its surrounding quotes; `None` if a quote opens it
/// and none closes it. A value whose quotes do not surround all of it is kept as
/// written, as Ansible keeps it.
fn unquote(raw: &str) -> Option<&str> {
  let Some(quote) = raw.chars().next().filter(|c| *c == '"' || *c == '\'') else { return Some(raw) };
  let after = &raw[1..];
  match after.find(quote) {
    None => None,
    Some(close) if close + 1 == after.len() => Some(&after[..close]),
    Some(_) => Some(raw),
  }
}

/// One word of a host line, with its quotes and escapes removed.
struct Word {
  text: String,
  /// For each byte of `text`, the byte range in the line of the character it
  /// came from.
  origin: Vec<(usize, usize)>,
  /// The lengths of `text` at which a quoted part began.
  quotes: Vec<usize>,
  /// The byte range of the word in the line, quotes included.
  start: usize,
  end: usize,
}

impl Word {
  fn new(start: usize) -> Self {
    Word { text: String::new(), origin: Vec::new(), quotes: Vec::new(), start, end: start }
  }

  fn push(&mut self, c: char, at: usize) {
    let end = at + c.len_utf8();
    self.origin.extend(std::iter::repeat_n((at, end), c.len_utf8()));
    self.text.push(c);
    self.end = end;
  }

  /// The byte range in the line of the bytes `from..to` of `text`.
  fn raw(&self, from: usize, to: usize) -> (usize, usize) {
    let start = self.origin.get(from).map_or(self.end, |o| o.0);
    let end = if to > from { self.origin.get(to - 1).map_or(self.end, |o| o.1) } else { start };
    (start, end)
  }

  /// Whether a quoted part begins after byte `at` of `text`.
  fn quoted_after(&self, at: usize) -> bool {
    self.quotes.iter().any(|q| *q > at)
  }
}

enum LexError {
  Unclosed { quote: char, at: usize },
  TrailingBackslash { at: usize },
}

/// Splits a host line into words as Python's `shlex.split(line, comments=True)`
/// does, which is how Ansible splits them: spaces separate words, `'...'` and
/// `"..."` quote (in double quotes `\"` and `\\` are escapes), `\` escapes any
/// character outside quotes, and `#` outside quotes starts a comment.
fn split_words(line: &str) -> Result<Vec<Word>, LexError> {
  let mut words = Vec::new();
  let mut word: Option<Word> = None;
  let mut chars = line.char_indices().peekable();
  while let Some((i, c)) = chars.next() {
    match c {
      ' ' | '\t' | '\r' | '\n' => words.extend(word.take()),
      '#' => break,
      '\\' => match chars.next() {
        Some((j, d)) => word.get_or_insert_with(|| Word::new(i)).push(d, j),
        None => return Err(LexError::TrailingBackslash { at: i }),
      },
      '\'' | '"' => {
        let w = word.get_or_insert_with(|| Word::new(i));
        w.quotes.push(w.text.len());
        let mut closed = false;
        while let Some((j, d)) = chars.next() {
          if d == c {
            w.end = j + 1;
            closed = true;
            break;
          }
          if c == '"'
            && d == '\\'
            && let Some(&(k, e)) = chars.peek().filter(|(_, e)| *e == '"' || *e == '\\')
          {
            chars.next();
            w.push(e, k);
            continue;
          }
          w.push(d, j);
        }
        if !closed {
          return Err(LexError::Unclosed { quote: c, at: i });
        }
      }
      _ => word.get_or_insert_with(|| Word::new(i)).push(c, i),
    }
  }
  words.extend(word);
  Ok(words)
}

/// A host range that cannot be expanded: the byte range of the bad part of the
/// pattern, and what to say.
struct RangeError {
  from: usize,
  to: usize,
  message: String,
  help: String,
}

/// The host names of a pattern with zero or more ranges, such as
/// `db[01:03]-[a:b]`, in Ansible's order.
fn expand(pattern: &str) -> Result<Vec<String>, RangeError> {
  let mut names = vec![String::new()];
  let mut done = 0;
  while let Some(open) = pattern[done..].find('[').map(|i| done + i) {
    let literal = &pattern[done..open];
    let Some(close) = pattern[open..].find(']').map(|i| open + i) else {
      return Err(RangeError {
        from: open,
        to: pattern.len(),
        message: format!("expected `]` to close the host range `{}`", &pattern[open..]),
        help: "close the range with `]`, as in `web[01:05]`".to_owned(),
      });
    };
    let items = range_items(&pattern[open + 1..close]).map_err(|(message, help)| RangeError {
      from: open,
      to: close + 1,
      message,
      help,
    })?;
    if names.len().saturating_mul(items.len()) > MAX_EXPANDED {
      return Err(RangeError {
        from: 0,
        to: pattern.len(),
        message: format!("expected at most {MAX_EXPANDED} hosts from `{pattern}`, found more"),
        help: "split the pattern into smaller ranges on several lines".to_owned(),
      });
    }
    names =
      names.iter().flat_map(|name| items.iter().map(move |item| format!("{name}{literal}{item}"))).collect();
    done = close + 1;
  }
  let tail = &pattern[done..];
  for name in &mut names {
    name.push_str(tail);
  }
  Ok(names)
}

/// The values of the range `inner` (the text between `[` and `]`): numbers
/// (zero padding kept) or single letters, with an optional step. Errors are a
/// message and a help line.
fn range_items(inner: &str) -> Result<Vec<String>, (String, String)> {
  let shown = format!("[{inner}]");
  let (begin, end, step) = match inner.split(':').collect::<Vec<_>>().as_slice() {
    [begin, end] => (*begin, *end, None),
    [begin, end, step] => (*begin, *end, Some(*step)),
    _ => {
      return Err((
        format!("expected `[start:end]` or `[start:end:step]` in a host range, found `{shown}`"),
        "write the range as `[01:50]`, `[a:f]` or `[0:10:2]`".to_owned(),
      ));
    }
  };
  // Ansible starts an empty start at 0.
  let begin = if begin.is_empty() { "0" } else { begin };
  if end.is_empty() {
    return Err((
      format!("expected an end after `:` in the host range `{shown}`"),
      format!("write the last value after `:`, as in `[{begin}:9]`"),
    ));
  }
  let step = match step {
    None => 1,
    Some(step) => match step.parse::<usize>() {
      Ok(step) if step > 0 => step,
      _ => {
        return Err((
          format!("expected a step of 1 or more in the host range `{shown}`, found `{step}`"),
          format!("write a whole number after the second `:`, as in `[{begin}:{end}:2]`"),
        ));
      }
    },
  };
  let counts_down = || {
    (
      format!("expected the start of the host range `{shown}` to come before its end"),
      format!("write the smaller value first, as in `[{end}:{begin}]`"),
    )
  };
  if let (Some(b), Some(e)) = (letter(begin), letter(end)) {
    if b > e {
      return Err(counts_down());
    }
    return Ok(LETTERS[b..=e].chars().step_by(step).map(String::from).collect());
  }
  let numeric = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
  if !numeric(begin) || !numeric(end) {
    return Err((
      format!("expected two numbers or two single letters in the host range `{shown}`"),
      "write a range such as `[01:50]` or `[a:f]`".to_owned(),
    ));
  }
  let width = if begin.len() > 1 && begin.starts_with('0') {
    if end.len() != begin.len() {
      let w = begin.len().max(end.len());
      return Err((
        format!(
          "expected `{end}` to have as many digits as `{begin}` in the zero-padded host range `{shown}`"
        ),
        format!("pad both ends to the same width, as in `[{begin:0>w$}:{end:0>w$}]`"),
      ));
    }
    begin.len()
  } else {
    0
  };
  let too_many = || {
    (
      format!("expected at most {MAX_EXPANDED} hosts from the host range `{shown}`, found more"),
      "split it into smaller ranges on several lines".to_owned(),
    )
  };
  let (Ok(b), Ok(e)) = (begin.parse::<u64>(), end.parse::<u64>()) else { return Err(too_many()) };
  if b > e {
    return Err(counts_down());
  }
  if (e - b) / step as u64 >= MAX_EXPANDED as u64 {
    return Err(too_many());
  }
  Ok((b..=e).step_by(step).map(|n| format!("{n:0width$}")).collect())
}

/// The index in [`LETTERS`] of a one-letter string.
fn letter(text: &str) -> Option<usize> {
  let mut chars = text.chars();
  match (chars.next(), chars.next()) {
    (Some(c), None) if c.is_ascii_alphabetic() => LETTERS.find(c),
    _ => None,
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  const FILE: FileId = FileId(3);

  fn read_into(inventory: &mut Inventory, text: &str) -> Vec<Diagnostic> {
    let mut diagnostics = Diagnostics::new();
    parse(FILE, text, inventory, &mut diagnostics);
    diagnostics.sorted()
  }

  fn read(text: &str) -> (Inventory, Vec<Diagnostic>) {
    let mut inventory = Inventory::default();
    let diagnostics = read_into(&mut inventory, text);
    (inventory, diagnostics)
  }

  fn read_ok(text: &str) -> Inventory {
    let (inventory, diagnostics) = read(text);
    assert!(diagnostics.is_empty(), "unexpected diagnostics for {text:?}: {diagnostics:#?}");
    inventory
  }

  fn at(text: &str, span: Span) -> &str {
    assert_eq!(span.file, FILE);
    &text[span.start..span.end]
  }

  fn names(names: &[Name]) -> Vec<&str> {
    names.iter().map(|n| n.name.as_str()).collect()
  }

  fn value(vars: &crate::check::inventory::Vars, key: &str) -> Option<Value> {
    vars.get(key).map(|v| v.value.clone())
  }

  const FLEET: &str = "\
# Production fleet, managed by Ansible since 2019.
; an older comment style
bastion.example.com ansible_host=203.0.113.10 ansible_user=ops

[web]
www[01:03].example.com
web-canary.example.com:2222 canary=True weight=10 go_version=1.22.5   # the canary

[db]
db-[a:c].example.com ansible_user=postgres ansible_port=5022
db-backup ansible_host=10.0.3.9 ansible_ssh_private_key_file=~/.ssh/backup_ed25519 ansible_python_interpreter=/usr/bin/python3

[build]
ci[0:10:5] gopath=\"/home/ci/go cache\" note='it''s'

[canary]
web-canary.example.com release=next weight=20

[prod:children]
web
db
monitoring # not defined anywhere

[staging:children]
qa

[qa]
qa1

[prod:vars]
ansible_user = deploy
ansible_port=2200
goproxy=https://proxy.golang.org,direct
gc_percent=200
debug=False
motd = \"hello, fleet\"

[all:vars]
ansible_python_interpreter=/usr/bin/python3
";

  #[test]
  fn reads_a_realistic_inventory() {
    let inventory = read_ok(FLEET);
    let hosts: Vec<&str> = inventory.hosts.keys().map(String::as_str).collect();
    assert_eq!(
      hosts,
      [
        "bastion.example.com",
        "www01.example.com",
        "www02.example.com",
        "www03.example.com",
        "web-canary.example.com",
        "db-a.example.com",
        "db-b.example.com",
        "db-c.example.com",
        "db-backup",
        "ci0",
        "ci5",
        "ci10",
        "qa1",
      ]
    );
    let groups: Vec<&str> = inventory.groups.keys().map(String::as_str).collect();
    assert_eq!(
      groups,
      ["ungrouped", "web", "db", "build", "canary", "prod", "monitoring", "staging", "qa", "all"]
    );

    let bastion = &inventory.hosts["bastion.example.com"];
    assert_eq!(bastion.address.as_deref(), Some("203.0.113.10"));
    assert_eq!(bastion.user.as_deref(), Some("ops"));
    assert!(bastion.vars.is_empty());
    assert_eq!(names(&inventory.groups["ungrouped"].hosts), ["bastion.example.com"]);

    assert_eq!(
      names(&inventory.groups["web"].hosts),
      ["www01.example.com", "www02.example.com", "www03.example.com", "web-canary.example.com"]
    );
    let canary = &inventory.hosts["web-canary.example.com"];
    assert_eq!(canary.port, Some(2222));
    assert_eq!(value(&canary.vars, "canary"), Some(json!(true)));
    assert_eq!(value(&canary.vars, "weight"), Some(json!(20)), "the later line wins");
    assert_eq!(value(&canary.vars, "go_version"), Some(json!("1.22.5")));
    assert_eq!(value(&canary.vars, "release"), Some(json!("next")));
    assert_eq!(canary.vars.keys().collect::<Vec<_>>(), ["canary", "weight", "go_version", "release"]);

    for name in ["db-a.example.com", "db-b.example.com", "db-c.example.com"] {
      let db = &inventory.hosts[name];
      assert_eq!((db.user.as_deref(), db.port), (Some("postgres"), Some(5022)), "{name}");
      assert!(db.vars.is_empty(), "{name}");
    }
    let backup = &inventory.hosts["db-backup"];
    assert_eq!(backup.address.as_deref(), Some("10.0.3.9"));
    assert_eq!(backup.identity.as_deref(), Some("~/.ssh/backup_ed25519"));
    assert_eq!(value(&backup.vars, "ansible_python_interpreter"), Some(json!("/usr/bin/python3")));
    assert_eq!(backup.vars.len(), 1);

    assert_eq!(value(&inventory.hosts["ci5"].vars, "gopath"), Some(json!("/home/ci/go cache")));
    assert_eq!(value(&inventory.hosts["ci5"].vars, "note"), Some(json!("its")));

    let prod = &inventory.groups["prod"];
    assert!(prod.hosts.is_empty());
    assert_eq!(names(&prod.children), ["web", "db", "monitoring"]);
    let prod_vars: Vec<(&str, Value)> =
      prod.vars.iter().map(|(k, v)| (k.as_str(), v.value.clone())).collect();
    assert_eq!(
      prod_vars,
      [
        ("ansible_user", json!("deploy")),
        ("ansible_port", json!("2200")),
        ("goproxy", json!("https://proxy.golang.org,direct")),
        ("gc_percent", json!("200")),
        ("debug", json!("False")),
        ("motd", json!("hello, fleet")),
      ]
    );
    let monitoring = &inventory.groups["monitoring"];
    assert!(monitoring.hosts.is_empty() && monitoring.children.is_empty() && monitoring.vars.is_empty());
    assert_eq!(names(&inventory.groups["staging"].children), ["qa"]);
    assert_eq!(names(&inventory.groups["qa"].hosts), ["qa1"]);
    let all = &inventory.groups["all"];
    assert!(all.hosts.is_empty() && all.children.is_empty());
    assert_eq!(value(&all.vars, "ansible_python_interpreter"), Some(json!("/usr/bin/python3")));
  }

  #[test]
  fn every_entry_points_at_its_text() {
    let inventory = read_ok(FLEET);
    let web = &inventory.groups["web"];
    assert_eq!(at(FLEET, web.span), "web");
    assert_eq!(at(FLEET, web.hosts[0].span), "www[01:03].example.com");
    assert_eq!(at(FLEET, web.hosts[3].span), "web-canary.example.com:2222");
    assert_eq!(at(FLEET, inventory.hosts["www02.example.com"].span), "www[01:03].example.com");
    let canary = &inventory.hosts["web-canary.example.com"];
    assert_eq!(at(FLEET, canary.span), "web-canary.example.com:2222", "where the host was first defined");
    assert_eq!(at(FLEET, canary.vars["canary"].span), "canary=True");
    assert_eq!(at(FLEET, canary.vars["weight"].span), "weight=20");
    assert_eq!(at(FLEET, inventory.hosts["ci0"].vars["gopath"].span), "gopath=\"/home/ci/go cache\"");
    assert_eq!(at(FLEET, inventory.groups["ungrouped"].span), "bastion.example.com");
    let prod = &inventory.groups["prod"];
    assert_eq!(at(FLEET, prod.span), "prod");
    assert_eq!(prod.span.start, FLEET.find("[prod:children]").map_or(0, |i| i + 1));
    assert_eq!(at(FLEET, prod.children[2].span), "monitoring");
    assert_eq!(at(FLEET, prod.vars["ansible_user"].span), "ansible_user = deploy");
    assert_eq!(at(FLEET, prod.vars["motd"].span), "motd = \"hello, fleet\"");
    assert_eq!(at(FLEET, inventory.groups["monitoring"].span), "monitoring");
    // `qa` is named by `[staging:children]` first, then defined by its own header.
    let qa = &inventory.groups["qa"];
    assert_eq!(qa.span.start, FLEET.find("[qa]").map_or(0, |i| i + 1));
    assert_eq!(at(FLEET, inventory.groups["staging"].children[0].span), "qa");
    assert_eq!(at(FLEET, inventory.groups["all"].span), "all");
  }

  #[test]
  fn crlf_and_byte_order_mark_read_like_lf() {
    let crlf = format!("\u{feff}{}", FLEET.replace('\n', "\r\n"));
    let inventory = read_ok(&crlf);
    let lf = read_ok(FLEET);
    assert_eq!(inventory.hosts.len(), lf.hosts.len());
    for (name, host) in &lf.hosts {
      let other = &inventory.hosts[name];
      assert_eq!(
        (&other.address, other.port, &other.user, &other.identity),
        (&host.address, host.port, &host.user, &host.identity)
      );
      let values = |h: &Host| h.vars.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect::<Vec<_>>();
      assert_eq!(values(other), values(host), "{name}");
    }
    let prod = &inventory.groups["prod"];
    assert_eq!(at(&crlf, prod.vars["motd"].span), "motd = \"hello, fleet\"");
    assert_eq!(at(&crlf, prod.vars["debug"].span), "debug=False");
    assert_eq!(at(&crlf, inventory.groups["ungrouped"].hosts[0].span), "bastion.example.com");
  }

  #[test]
  fn values_are_typed_as_ansible_types_them() {
    // (value as written, on a host line, in a `:vars` section)
    let cases: &[(&str, Value, Value)] = &[
      ("22", json!(22), json!("22")),
      ("-3", json!(-3), json!("-3")),
      ("+7", json!(7), json!("+7")),
      ("0", json!(0), json!("0")),
      ("007", json!("007"), json!("007")),
      ("18446744073709551615", json!(u64::MAX), json!("18446744073709551615")),
      ("True", json!(true), json!("True")),
      ("False", json!(false), json!("False")),
      ("true", json!("true"), json!("true")),
      ("false", json!("false"), json!("false")),
      ("yes", json!("yes"), json!("yes")),
      ("no", json!("no"), json!("no")),
      ("None", json!("None"), json!("None")),
      ("1.22", json!("1.22"), json!("1.22")),
      ("\"22\"", json!("22"), json!("22")),
      ("'True'", json!("True"), json!("True")),
      ("\"a b\"", json!("a b"), json!("a b")),
      ("''", json!(""), json!("")),
      ("", json!(""), json!("")),
      ("a=b", json!("a=b"), json!("a=b")),
      ("{{go_root}}/bin", json!("{{go_root}}/bin"), json!("{{go_root}}/bin")),
      ("\"{{ go_root }}/bin\"", json!("{{ go_root }}/bin"), json!("{{ go_root }}/bin")),
    ];
    for (written, on_host, in_vars) in cases {
      let text = format!("[g]\nh x={written}\n[g:vars]\nx={written}\n");
      let inventory = read_ok(&text);
      assert_eq!(value(&inventory.hosts["h"].vars, "x").as_ref(), Some(on_host), "host line `x={written}`");
      assert_eq!(value(&inventory.groups["g"].vars, "x").as_ref(), Some(in_vars), "vars line `x={written}`");
    }
  }

  #[test]
  fn host_lines_split_like_shlex() {
    // (host line, variable, value)
    let cases: &[(&str, &str, Value)] = &[
      ("h motd=\"hello world\"", "motd", json!("hello world")),
      ("h motd='it is \"fine\"'", "motd", json!("it is \"fine\"")),
      ("h motd=\"say \\\"hi\\\"\"", "motd", json!("say \"hi\"")),
      ("h path=\"C:\\go\"", "path", json!("C:\\go")),
      ("h motd=hello\\ world", "motd", json!("hello world")),
      ("h  \tx=1   # a comment x=2", "x", json!(1)),
      ("h x=a#b", "x", json!("a")),
      ("h x=\"a#b\"", "x", json!("a#b")),
      ("h \"x\"=1", "x", json!(1)),
      ("h x=a=b", "x", json!("a=b")),
      ("h x=\"\"", "x", json!("")),
    ];
    for (line, key, expected) in cases {
      let inventory = read_ok(&format!("{line}\n"));
      assert_eq!(value(&inventory.hosts["h"].vars, key).as_ref(), Some(expected), "{line}");
    }
  }

  #[test]
  fn vars_lines_take_the_rest_of_the_line() {
    // (vars line, variable, value)
    let cases: &[(&str, &str, &str)] = &[
      ("x=1", "x", "1"),
      ("x = 1", "x", "1"),
      ("  x\t=\t1  ", "x", "1"),
      ("x = a b  c", "x", "a b  c"),
      ("x = ' padded '", "x", " padded "),
      ("x = \"a\" and \"b\"", "x", "\"a\" and \"b\""),
      ("x = it's", "x", "it's"),
      ("x = a=b", "x", "a=b"),
      ("x =", "x", ""),
      ("x = 1 # not a comment in :vars", "x", "1 # not a comment in :vars"),
    ];
    for (line, key, expected) in cases {
      let inventory = read_ok(&format!("[g:vars]\n{line}\n"));
      assert_eq!(value(&inventory.groups["g"].vars, key), Some(json!(expected)), "{line}");
    }
  }

  #[test]
  fn host_patterns_expand() {
    // (pattern, expected names)
    let cases: &[(&str, &[&str])] = &[
      ("web1", &["web1"]),
      ("www[01:03].example.com", &["www01.example.com", "www02.example.com", "www03.example.com"]),
      ("db-[a:c].example.com", &["db-a.example.com", "db-b.example.com", "db-c.example.com"]),
      ("n[0:10:5]", &["n0", "n5", "n10"]),
      ("n[:2]", &["n0", "n1", "n2"]),
      ("n[8:10]", &["n8", "n9", "n10"]),
      ("n[098:100]", &["n098", "n099", "n100"]),
      ("n[a:g:3]", &["na", "nd", "ng"]),
      ("n[y:B]", &["ny", "nz", "nA", "nB"]),
      ("n[1:1]", &["n1"]),
      ("r[1:2]-[a:b]", &["r1-a", "r1-b", "r2-a", "r2-b"]),
      ("[a:b].example.com", &["a.example.com", "b.example.com"]),
      ("10.0.0.[1:3]", &["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
    ];
    for (pattern, expected) in cases {
      let inventory = read_ok(&format!("[g]\n{pattern} x=1\n"));
      let hosts: Vec<&str> = inventory.hosts.keys().map(String::as_str).collect();
      assert_eq!(&hosts, expected, "{pattern}");
      assert_eq!(&names(&inventory.groups["g"].hosts), expected, "{pattern}");
      assert!(inventory.hosts.values().all(|h| h.vars.contains_key("x")), "{pattern}");
    }
    let big = read_ok("n[00001:65536]\n");
    assert_eq!(big.hosts.len(), 65_536);
    assert_eq!(big.hosts.keys().last().map(String::as_str), Some("n65536"));
  }

  #[test]
  fn addresses_and_ports() {
    // (host line, host name, port, address)
    let cases: &[(&str, &str, Option<u16>, Option<&str>)] = &[
      ("web1:2222", "web1", Some(2222), None),
      ("10.0.0.5:22", "10.0.0.5", Some(22), None),
      ("[2001:db8::1]:2200", "2001:db8::1", Some(2200), None),
      ("[2001:db8::1]", "2001:db8::1", None, None),
      ("2001:db8::1", "2001:db8::1", None, None),
      ("fe80:0:0:0:0:0:0:1", "fe80:0:0:0:0:0:0:1", None, None),
      ("web1:2222 ansible_port=22", "web1", Some(22), None),
      ("web1 ansible_port='2022'", "web1", Some(2022), None),
      ("web1 ansible_port=022", "web1", Some(22), None),
      ("web1 ansible_host=web1.internal", "web1", None, Some("web1.internal")),
      ("web1 ansible_host=\"fe80::1%eth0\"", "web1", None, Some("fe80::1%eth0")),
    ];
    for (line, name, port, address) in cases {
      let inventory = read_ok(&format!("{line}\n"));
      let host = &inventory.hosts[*name];
      assert_eq!((host.port, host.address.as_deref()), (*port, *address), "{line}");
      assert!(host.vars.is_empty(), "{line}: {:?}", host.vars);
    }
    let ranged = read_ok("www[1:2].example.com:2222\n");
    assert!(ranged.hosts.values().all(|h| h.port == Some(2222)));
  }

  #[test]
  fn a_templated_port_is_left_to_the_resolver() {
    let inventory =
      read_ok("web1:2222 ansible_port=\"{{ base_port + 1 }}\"\n[g:vars]\nansible_port={{ p }}\n");
    let web1 = &inventory.hosts["web1"];
    assert_eq!(web1.port, None);
    assert_eq!(value(&web1.vars, "ansible_port"), Some(json!("{{ base_port + 1 }}")));
    assert_eq!(value(&inventory.groups["g"].vars, "ansible_port"), Some(json!("{{ p }}")));
    let later = read_ok("web1 ansible_port=\"{{ p }}\"\n[g]\nweb1 ansible_port=22\n");
    assert_eq!(later.hosts["web1"].port, Some(22));
    assert!(later.hosts["web1"].vars.is_empty());
  }

  #[test]
  fn merges_into_an_inventory_that_has_entries() {
    let other = FileId(1);
    let mut inventory = Inventory::default();
    let host = inventory.host_mut("web1", Span::new(other, 0, 4));
    host.user = Some("admin".to_owned());
    host.vars.insert("region".to_owned(), Var { value: json!("eu"), span: Span::new(other, 5, 9) });
    host.vars.insert("tier".to_owned(), Var { value: json!("gold"), span: Span::new(other, 10, 14) });
    inventory
      .group_mut("web", Span::new(other, 20, 23))
      .hosts
      .push(Name { name: "web0".to_owned(), span: Span::new(other, 24, 28) });
    inventory
      .group_mut("web", Span::new(other, 20, 23))
      .vars
      .insert("x".to_owned(), Var { value: json!("1"), span: Span::new(other, 30, 33) });

    let text = "[web]\nweb1 tier=silver\nweb2\n[db]\nweb1 ansible_user=deploy\n[web:vars]\nx=2\n";
    let diagnostics = read_into(&mut inventory, text);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(inventory.hosts.len(), 2);
    let web1 = &inventory.hosts["web1"];
    assert_eq!(web1.span.file, other, "the host keeps its first definition");
    assert_eq!(web1.user.as_deref(), Some("deploy"));
    assert_eq!(value(&web1.vars, "region"), Some(json!("eu")));
    assert_eq!(value(&web1.vars, "tier"), Some(json!("silver")));
    assert_eq!(at(text, web1.vars["tier"].span), "tier=silver");
    let web = &inventory.groups["web"];
    assert_eq!(web.span.file, other);
    assert_eq!(names(&web.hosts), ["web0", "web1", "web2"]);
    assert_eq!(value(&web.vars, "x"), Some(json!("2")), "a later source wins without a diagnostic");
    assert_eq!(names(&inventory.groups["db"].hosts), ["web1"]);
  }

  #[test]
  fn a_host_listed_twice_is_one_host_and_one_member() {
    let inventory = read_ok("[g]\nh a=1\nh b=2\n[g]\nh a=3\n");
    assert_eq!(names(&inventory.groups["g"].hosts), ["h"]);
    let vars: Vec<(&str, Value)> =
      inventory.hosts["h"].vars.iter().map(|(k, v)| (k.as_str(), v.value.clone())).collect();
    assert_eq!(vars, [("a", json!(3)), ("b", json!(2))]);
  }

  #[test]
  fn ungrouped_keeps_only_hosts_without_a_group() {
    let inventory = read_ok("lonely\nbusy\n[web]\nbusy\n");
    assert_eq!(names(&inventory.groups["ungrouped"].hosts), ["lonely"]);
    assert_eq!(names(&inventory.groups["web"].hosts), ["busy"]);
    let none = read_ok("[web]\nweb1\n");
    assert!(!none.groups.contains_key("ungrouped"));
    assert!(!none.groups.contains_key("all"), "`all` is implicit unless `[all:vars]` appears");
  }

  #[test]
  fn sections_accept_what_ansible_accepts() {
    let inventory =
      read_ok("[web] # front\nweb1\n  [db:hosts]  ; legacy\n  db1\n[web:children] \n db # comment\n");
    assert_eq!(names(&inventory.groups["web"].hosts), ["web1"]);
    assert_eq!(names(&inventory.groups["db"].hosts), ["db1"]);
    assert_eq!(names(&inventory.groups["web"].children), ["db"]);
    let empty = read_ok("");
    assert!(empty.is_empty());
    assert!(read_ok("# only\n; comments\n\n   \n").is_empty());
  }

  #[test]
  fn every_bad_line_is_reported_and_the_rest_is_read() {
    let text = "[web\nweb1 ansible_port=0\nweb[5:1]\nweb2 x\n[web:nope]\nskipped\n[web:vars]\nno_equals\nok=1\n[db]\ndb1:99999\ndb2\n";
    let (inventory, diagnostics) = read(text);
    let found: Vec<(Code, &str)> =
      diagnostics.iter().filter_map(|d| Some((d.code, at(text, d.primary()?)))).collect();
    assert_eq!(
      found,
      [
        (Code::Inventory, "[web"),
        (Code::Port, "0"),
        (Code::Inventory, "[5:1]"),
        (Code::Inventory, "x"),
        (Code::Inventory, "nope"),
        (Code::Inventory, "no_equals"),
        (Code::Port, "99999"),
      ]
    );
    assert_eq!(names(&inventory.groups["web"].hosts), ["web1", "web2"]);
    assert_eq!(inventory.hosts["web1"].port, None);
    assert!(!inventory.hosts.contains_key("skipped"));
    assert_eq!(value(&inventory.groups["web"].vars, "ok"), Some(json!("1")));
    assert_eq!(names(&inventory.groups["db"].hosts), ["db2"]);
  }

  /// Reads `text`, which must give exactly one diagnostic, and checks its code,
  /// the text under its primary label, its style, and that reading went on: a
  /// host named `after` must exist.
  fn check_diagnostic(text: &str, code: Code, bad: &str, help_mentions: &str) {
    let (inventory, diagnostics) = read(text);
    assert_eq!(diagnostics.len(), 1, "{text:?}: {diagnostics:#?}");
    let d = &diagnostics[0];
    assert_eq!(d.code, code, "{text:?}: {d:#?}");
    let Some(span) = d.primary() else { panic!("{text:?}: no label in {d:#?}") };
    assert_eq!(at(text, span), bad, "{text:?}: {d:#?}");
    assert!(d.message.starts_with("expected "), "{text:?}: message {:?}", d.message);
    assert!(!d.labels[0].text.is_empty());
    let help = d.help.as_deref().unwrap_or("");
    assert!(help.contains(help_mentions), "{text:?}: help {help:?} does not mention {help_mentions:?}");
    assert!(!help.ends_with('.') && !help.is_empty(), "{text:?}: help {help:?}");
    assert!(inventory.hosts.contains_key("after"), "{text:?}: reading stopped");
  }

  macro_rules! diagnoses {
    ($($name:ident: $text:expr => $code:ident at $bad:expr, help $help:expr;)*) => {$(
      #[test]
      fn $name() {
        check_diagnostic($text, Code::$code, $bad, $help);
      }
    )*};
  }

  diagnoses! {
    header_not_closed: "[web\nafter\n" => Inventory at "[web", help "`[web]`";
    header_not_closed_without_name: "[\n[g]\nafter\n" => Inventory at "[", help "`[web]`";
    text_after_header: "[web] db\nafter\n" => Inventory at "db", help "`#`";
    unknown_section_type: "[web:foo]\nskipped\n[web]\nafter\n" => Inventory at "foo", help "`vars` and `children`";
    misspelt_section_type: "[web:var]\nx=1\n[web]\nafter\n" => Inventory at "var", help "`[web:vars]`";
    empty_section_type: "[web:]\n[web]\nafter\n" => Inventory at ":", help "`vars` and `children`";
    header_without_group_name: "[:vars]\nx=1\n[g]\nafter\n" => Inventory at "[:vars]", help "`[web]`";
    group_name_with_space: "[web servers]\nskipped\n[g]\nafter\n" => Inventory at "web servers", help "`[web_servers]`";
    vars_line_without_equals: "[web:vars]\nhttp_port 80\n[web]\nafter\n" => Inventory at "http_port 80", help "`http_port=value`";
    vars_line_without_name: "[web:vars]\n = 80\n[web]\nafter\n" => Inventory at "=", help "`name=value`";
    vars_line_with_a_host: "[web:vars]\nweb1 ansible_user=x\n[web]\nafter\n" => Inventory at "web1 ansible_user", help "`[web]`";
    vars_value_quote_not_closed: "[web:vars]\nmotd = 'hello world\n[web]\nafter\n" => Inventory at "'hello world", help "`'`";
    host_variable_without_equals: "[web]\nweb1 primary\nafter\n" => Inventory at "primary", help "`name=value`";
    unquoted_value_with_spaces: "[web]\nweb1 motd=hello big world a=1\nafter\n" => Inventory at "big world", help "`motd=\"hello world\"`";
    host_variable_without_name: "[web]\nweb1 a=1 =2\nafter\n" => Inventory at "=2", help "`name=value`";
    variable_instead_of_host: "[web]\nansible_user=deploy\nafter\n" => Inventory at "ansible_user=deploy", help "`[web:vars]`";
    spaced_variable_instead_of_host: "[web]\nhttp_port = 80\nafter\n" => Inventory at "http_port = 80", help "`[web:vars]`";
    host_value_quote_not_closed: "[web]\nweb1 motd=\"hello world\nafter\n" => Inventory at "\"hello world", help "`\"`";
    trailing_backslash: "web1 path=a\\\nafter\n" => Inventory at "\\", help "`\\\\`";
    empty_host_name: "\"\" x=1\nafter\n" => Inventory at "\"\"", help "host name";
    range_counting_down: "[web]\nweb[5:1]\nafter\n" => Inventory at "[5:1]", help "`[1:5]`";
    range_of_letter_and_number: "web[a:01].example.com\nafter\n" => Inventory at "[a:01]", help "`[a:f]`";
    range_not_closed: "web[01:05.example.com\nafter\n" => Inventory at "[01:05.example.com", help "`]`";
    range_without_colon: "web[1]\nafter\n" => Inventory at "[1]", help "`[01:50]`";
    range_without_end: "web[1:]\nafter\n" => Inventory at "[1:]", help "`[1:9]`";
    range_with_zero_step: "web[0:10:0]\nafter\n" => Inventory at "[0:10:0]", help "`[0:10:2]`";
    range_with_uneven_padding: "web[01:100]\nafter\n" => Inventory at "[01:100]", help "`[001:100]`";
    range_too_large: "web[0:65536]\nafter\n" => Inventory at "[0:65536]", help "smaller ranges";
    ranges_too_large_together: "web[0:999]-[0:99]\nafter\n" => Inventory at "web[0:999]-[0:99]", help "smaller ranges";
    port_after_name_too_large: "web1:70000\nafter\n" => Port at "70000", help "`web1:2222`";
    port_after_name_not_a_number: "web1:ssh\nafter\n" => Port at "ssh", help "`web1:2222`";
    port_after_name_zero: "web[1:3]:0\nafter\n" => Port at "0", help "`web[1:3]:2222`";
    port_after_name_missing: "web1:\nafter\n" => Port at "", help "`web1:2222`";
    port_without_name: ":22\nafter\n" => Inventory at ":22", help "`web1:22`";
    port_after_ipv6_not_a_number: "[::1]:x\nafter\n" => Port at "x", help "`[::1]:2222`";
    text_after_ipv6: "[::1]x\nafter\n" => Inventory at "x", help "`[::1]:22`";
    ansible_port_too_large: "web1 ansible_port=65536\nafter\n" => Port at "65536", help "`ansible_port=2222`";
    ansible_port_negative: "web1 ansible_port=-22\nafter\n" => Port at "-22", help "`ansible_port=2222`";
    quoted_ansible_port_not_a_number: "web1 ansible_port=\"ssh\"\nafter\n" => Port at "\"ssh\"", help "`ansible_port=2222`";
    group_ansible_port_not_a_port: "[web:vars]\nansible_port = 0\n[web]\nafter\n" => Port at "0", help "`ansible_port = 2222`";
    variable_twice_on_a_host_line: "web1 a=1 b=2 a=3\nafter\n" => DuplicateDefinition at "a=3", help "later";
    group_variable_twice_in_a_file: "[web:vars]\na=1\n[web]\nafter\n[web:vars]\na = 2\n" => DuplicateDefinition at "a = 2", help "later";
    child_line_with_two_names: "[prod:children]\nweb db\n[web]\nafter\n" => Inventory at "db", help "line of its own";
    child_line_with_a_variable: "[prod:children]\nweb:vars\n[web]\nafter\n" => Inventory at "web:vars", help "`web`";
  }

  #[test]
  fn duplicates_point_at_both_definitions() {
    let text = "web1 a=1 b=2 a=3\n[g:vars]\nx=1\n[g:vars]\nx=2\n";
    let (inventory, diagnostics) = read(text);
    let labels: Vec<Vec<&str>> =
      diagnostics.iter().map(|d| d.labels.iter().map(|l| at(text, l.span)).collect()).collect();
    assert_eq!(labels, [vec!["a=3", "a=1"], vec!["x=2", "x=1"]]);
    assert_eq!(
      value(&inventory.hosts["web1"].vars, "a"),
      Some(json!(3)),
      "the later one wins, as in Ansible"
    );
    assert_eq!(value(&inventory.groups["g"].vars, "x"), Some(json!("2")));
  }

  #[test]
  fn unknown_section_type_suggests_the_closest() {
    let (_, diagnostics) = read("[web:childs]\n");
    let help = diagnostics.first().and_then(|d| d.help.clone()).unwrap_or_default();
    assert!(help.contains("`[web:children]`"), "{help}");
  }
}
