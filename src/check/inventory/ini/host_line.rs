//! Host lines of an INI inventory: `pattern [key=value ...]`, the pattern a
//! host name, an address or a range with an optional `:port`, the values
//! Python literals.

use super::{Reader, ipv6_bracket, port_number, port_value_ok};
use crate::check::inventory::ini::host_range::expand;
use crate::check::inventory::ini::shlex::{Word, split_words};
use crate::check::inventory::{self, Name, Var, literal};
use crate::diagnostic::Code;
use crate::source::Span;
use serde_json::Value;

impl Reader<'_> {
  /// `pattern [key=value ...]` in the hosts section of `group`.
  pub(super) fn host_line(&mut self, group: &str, at: usize, content: &str) {
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
    let mut vars: Vec<(String, Var)> = Vec::new();
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
      let (key, text) = (&word.text[..eq], &word.text[eq + 1..]);
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
      let value_start = word.origin.get(eq).map_or(word.end, |o| o.1);
      let value_span = self.span(at + value_start, at + word.end);
      // Ansible reads the value after `shlex` took its quotes off.
      let value = literal::value(text);
      if key == "ansible_port" && !port_value_ok(&value) {
        self.report(
          Code::Port,
          value_span,
          "not a port",
          format!("expected `ansible_port` to be a port between 1 and 65535, found `{text}`"),
          "write a whole number in that range, as in `ansible_port=2222`".to_owned(),
        );
        continue;
      }
      if let Some(d) = inventory::check_connection_var(key, &value, value_span) {
        self.diagnostics.push(d);
      }
      // A name given twice on one line: the later value wins, as in Ansible.
      vars.retain(|(k, _)| k != key);
      vars.push((key.to_owned(), Var { value, span }));
    }
    let Some((names, port)) = hosts else { return };
    let pattern_span = self.span(at + first.start, at + first.end);
    let members = self.members.entry(group.to_owned()).or_insert_with(|| {
      self.inventory.group_mut(group, pattern_span).hosts.iter().map(|n| n.name.clone()).collect()
    });
    let mut added = Vec::new();
    for name in names {
      let new = !self.inventory.hosts.contains_key(&name);
      let host = self.inventory.host_mut(&name, pattern_span);
      // `host:port` sets `ansible_port` when the host is created; on a later
      // mention of the host Ansible ignores it.
      if let Some(port) = port.filter(|_| new) {
        host.vars.insert("ansible_port".to_owned(), Var { value: Value::from(port), span: pattern_span });
      }
      for (key, var) in &vars {
        // A connection setting replaces the one an earlier `.goenv` source gave.
        match key.as_str() {
          "ansible_host" => host.address = None,
          "ansible_port" => host.port = None,
          "ansible_user" => host.user = None,
          "ansible_ssh_private_key_file" => host.identity = None,
          _ => {}
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
}
