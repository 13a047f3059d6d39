//! The inventory: which hosts exist, how to reach them, how they are grouped, and
//! the variables of each host and group.
//!
//! Hosts and groups come from `host` and `group` statements in playbooks, from a
//! `.goenv` file included with `inventory "path"`, or from an Ansible inventory
//! included the same way: an INI file ([`ini`]), with the `group_vars/` and
//! `host_vars/` beside it ([`vars_dirs`]). All fill the same [`Inventory`],
//! which is then settled as Ansible settles it ([`tree`]): from it come each
//! host's variables ([`host_vars`]) and the hosts a pattern selects
//! ([`pattern`]).

pub mod host_vars;
pub mod ini;
pub mod literal;
pub mod pattern;
pub mod script;
pub mod source;
pub mod statements;
pub mod tree;
pub mod vars_dirs;
pub mod yaml;
pub mod yaml_value;

use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;
use indexmap::IndexMap;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A variable's value and where it was defined.
#[derive(Clone, Debug, PartialEq)]
pub struct Var {
  pub value: serde_json::Value,
  pub span: Span,
}

/// Variables by name, in definition order.
pub type Vars = IndexMap<String, Var>;

/// A name as written, with its span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
  pub name: String,
  pub span: Span,
}

/// One host.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Host {
  pub name: String,
  /// Where the host was first defined.
  pub span: Span,
  /// Address to connect to (`ansible_host`); the name when absent.
  pub address: Option<String>,
  pub port: Option<u16>,
  pub user: Option<String>,
  pub identity: Option<String>,
  pub vars: Vars,
  /// Variables from `host_vars/` files, which win over `vars`.
  pub file_vars: Vars,
}

/// One group: hosts, child groups and variables.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Group {
  pub name: String,
  pub span: Span,
  pub hosts: Vec<Name>,
  pub children: Vec<Name>,
  pub vars: Vars,
  /// Variables from `group_vars/` files, applied after every group's `vars`.
  pub file_vars: Vars,
  /// `ansible_group_priority`: among groups at the same depth, a higher one
  /// is applied later (the default is 1).
  pub priority: Option<i64>,
}

/// Every host and group known to a run.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Inventory {
  pub hosts: IndexMap<String, Host>,
  pub groups: IndexMap<String, Group>,
}

impl Inventory {
  pub fn is_empty(&self) -> bool {
    self.hosts.is_empty() && self.groups.is_empty()
  }

  /// The host of that name, created (at `span`) if it does not exist yet.
  pub fn host_mut(&mut self, name: &str, span: Span) -> &mut Host {
    self.hosts.entry(name.to_owned()).or_insert_with(|| Host {
      name: name.to_owned(),
      span,
      ..Host::default()
    })
  }

  /// The group of that name, created (at `span`) if it does not exist yet.
  pub fn group_mut(&mut self, name: &str, span: Span) -> &mut Group {
    self.groups.entry(name.to_owned()).or_insert_with(|| Group {
      name: name.to_owned(),
      span,
      ..Group::default()
    })
  }
}

/// The longest host name: 253 characters (RFC 1035, without the final dot).
const MAX_HOST_NAME: usize = 253;
/// The longest label of a host name (RFC 1035).
const MAX_LABEL: usize = 63;
/// The longest login name Linux accepts (`LOGIN_NAME_MAX`, with its NUL).
const MAX_USER_NAME: usize = 255;

/// Why `name` can be neither a host name nor an IP address, or `None` when it
/// can be one of them. A host name is one or more labels separated by `.` (a
/// final `.` allowed), each 1 to 63 letters, digits, `-` or `_`, neither first
/// nor last a `-` (RFC 1123; `_` is accepted as DNS resolvers accept it). An
/// address is an IPv4 literal or an IPv6 literal with an optional `%zone`.
/// These are what OpenSSH takes for a host and what can be put into a
/// `ProxyCommand` without any of it meaning something to a shell.
pub fn host_name_problem(name: &str) -> Option<String> {
  if name.parse::<Ipv4Addr>().is_ok() || is_ipv6(name) {
    return None;
  }
  if name.is_empty() {
    return Some("it is empty".to_owned());
  }
  if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
    return Some(format!("{} cannot appear in a host name", describe(c)));
  }
  let bare = name.strip_suffix('.').unwrap_or(name);
  if bare.len() > MAX_HOST_NAME {
    return Some(format!("it is longer than {MAX_HOST_NAME} characters"));
  }
  for label in bare.split('.') {
    if label.is_empty() {
      return Some("it has an empty label (two dots in a row, or a dot first)".to_owned());
    }
    if label.len() > MAX_LABEL {
      return Some(format!("its label `{label}` is longer than {MAX_LABEL} characters"));
    }
    if label.starts_with('-') || label.ends_with('-') {
      return Some(format!("its label `{label}` starts or ends with `-`"));
    }
  }
  None
}

/// An IPv6 literal, optionally with a `%zone` (an interface name or number).
pub fn is_ipv6(text: &str) -> bool {
  let (address, zone) = match text.split_once('%') {
    Some((address, zone)) => (address, Some(zone)),
    None => (text, None),
  };
  address.parse::<Ipv6Addr>().is_ok()
    && zone.is_none_or(|z| {
      !z.is_empty()
        && z.len() <= 15
        && z.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    })
}

/// Why `user` is not a POSIX login name, or `None` when it is one: characters
/// of the portable filename set (letters, digits, `.`, `_`, `-`), not starting
/// with `-`, as POSIX and `useradd` require, and at most 255 of them.
pub fn user_name_problem(user: &str) -> Option<String> {
  if user.is_empty() {
    return Some("it is empty".to_owned());
  }
  if let Some(c) = user.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
    return Some(format!("{} cannot appear in a user name", describe(c)));
  }
  if user.starts_with('-') {
    return Some("it starts with `-`".to_owned());
  }
  if user.len() > MAX_USER_NAME {
    return Some(format!("it is longer than {MAX_USER_NAME} characters"));
  }
  None
}

fn describe(c: char) -> String {
  match c {
    ' ' => "a space".to_owned(),
    c if c.is_control() => format!("the control character {}", c.escape_default()),
    c => format!("`{c}`"),
  }
}

/// The help line for a bad host name or address.
const HOST_NAME_HELP: &str = "write a host name of letters, digits and `-` in labels separated by `.`, \
                              such as `web1.example.com`, or an IP address, such as `10.0.0.5` or `2001:db8::1`";

/// The diagnostic for a host name, or a connection address (`address`,
/// `ansible_host`), that is neither a host name nor an IP address. `what` names
/// the setting (`` `address` ``), or is empty for the name of a host.
pub fn check_host_name(value: &str, span: Span, what: &str) -> Option<Diagnostic> {
  let problem = host_name_problem(value)?;
  let expected = if what.is_empty() { String::new() } else { format!("{what} to be ") };
  Some(
    Diagnostic::new(
      Code::HostName,
      format!("expected {expected}a host name or an IP address, found `{}`: {problem}", value.escape_debug()),
    )
    .label(span, "not a host name or address")
    .help(connection_help(value, HOST_NAME_HELP)),
  )
}

/// The diagnostic for a login user (`user`, `ansible_user`) that is not a
/// POSIX user name.
pub fn check_user_name(value: &str, span: Span, what: &str) -> Option<Diagnostic> {
  let problem = user_name_problem(value)?;
  Some(
    Diagnostic::new(
      Code::UserName,
      format!("expected {what} to be a user name, found `{}`: {problem}", value.escape_debug()),
    )
    .label(span, "not a user name")
    .help(connection_help(
      value,
      "write the login name as on the host: letters, digits, `.`, `_` and `-`, not starting with `-`",
    )),
  )
}

fn connection_help(value: &str, help: &str) -> String {
  if crate::check::text::is_template(value) {
    format!("{help}; in a `host` statement connection settings are used as written, not rendered")
  } else {
    help.to_owned()
  }
}

/// The diagnostic for a variable that sets how a host is reached
/// (`ansible_host`, `ansible_user`) to a value that cannot be one; `None` for
/// other variables and for good values. A value that is not a string is
/// checked as the text it is used as; a template is checked once rendered
/// ([`host_vars::render_connection`]).
pub fn check_connection_var(name: &str, value: &serde_json::Value, span: Span) -> Option<Diagnostic> {
  let text = match value {
    serde_json::Value::String(s) if crate::check::text::is_template(s) => return None,
    serde_json::Value::String(s) => s.clone(),
    other => other.to_string(),
  };
  match name {
    "ansible_host" => check_host_name(&text, span, "`ansible_host`"),
    "ansible_user" => check_user_name(&text, span, "`ansible_user`"),
    _ => None,
  }
}

/// An INI inventory that must parse cleanly, settled: for tests.
#[cfg(test)]
pub(crate) fn settled_ini(text: &str) -> Inventory {
  let mut inventory = Inventory::default();
  let mut diagnostics = crate::diagnostic::Diagnostics::new();
  ini::parse(crate::source::FileId(0), text, &mut inventory, &mut diagnostics);
  assert!(diagnostics.is_empty(), "{diagnostics:?}");
  inventory.settle();
  inventory
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn host_names_and_addresses_that_are_accepted() {
    for name in [
      "web1",
      "web-1.example.com",
      "example.com.",
      "db_primary",
      "localhost",
      "10.0.0.5",
      "127.0.170.1",
      "::1",
      "2001:db8::1",
      "fe80::1%eth0",
      "fe80::1%2",
      "a",
      "1-2",
    ] {
      assert_eq!(host_name_problem(name), None, "{name}");
    }
  }

  #[test]
  fn host_names_that_a_shell_or_ssh_would_misread_are_refused() {
    for name in [
      "127.0.0.1;touch /tmp/x;",
      "$(id)",
      "`id`",
      "a b",
      "-oProxyCommand=x",
      "web1|nc",
      "a&b",
      "a'b",
      "a\"b",
      "a\nb",
      "a>b",
      "web1.example..com",
      ".web1",
      "web-.example.com",
      "",
      "fe80::1%eth0;id",
      "%eth0",
      "h\u{e9}",
      "user@host",
      "web1:22",
      "{{ ip }}",
    ] {
      assert!(host_name_problem(name).is_some(), "{name:?} was accepted");
    }
    assert!(host_name_problem(&"a".repeat(64)).is_some());
    assert!(host_name_problem(&["a"; 128].join(".")).is_some(), "longer than 253");
  }

  #[test]
  fn user_names_follow_posix() {
    for user in ["root", "dev-bash", "ci_runner", "john.doe", "u1", "_apt", "1000"] {
      assert_eq!(user_name_problem(user), None, "{user}");
    }
    for user in ["", "-oProxyCommand", "a;b", "a b", "$(id)", "a/b", "a:b", "a\nb", "\u{e9}t\u{e9}"] {
      assert!(user_name_problem(user).is_some(), "{user:?} was accepted");
    }
  }
}
