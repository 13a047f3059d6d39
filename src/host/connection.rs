//! How each host of a playbook is reached: this machine, or SSH with which
//! settings, as Ansible's connection variables and OpenSSH's configuration
//! decide together.
//!
//! The inventory's values come first, read as Ansible 2.19's `ssh` connection
//! plugin reads them: `ansible_ssh_host` over `ansible_host`,
//! `ansible_ssh_port` over `ansible_port`, `ansible_ssh_user` over
//! `ansible_user`, `ansible_ssh_private_key_file` over
//! `ansible_private_key_file`, and the ssh options of
//! `ansible_ssh_common_args` then `ansible_ssh_extra_args`. Only the implicit
//! `localhost` (a playbook without an inventory) and `ansible_connection=local`
//! are this machine; an inventory host named `localhost` is reached over SSH,
//! as Ansible reaches it. What cannot be honoured is refused with a code:
//! an `ansible_connection` converge does not speak (E260), a port that is not
//! one (E261), an ssh option converge cannot honour (E262).

use crate::check::playbook::{HostPlay, Playbook};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::host::ssh::{ClientConfig, Given, Options, Proxy, Target};
use crate::source::Span;

/// How a host is reached, settled before it runs.
#[derive(Debug)]
pub enum Connection {
  Local,
  Ssh(Box<Target>),
  /// Why it cannot be reached; `unreachable` when the network side failed
  /// (the ssh config), else the inventory's settings are at fault.
  Refused {
    unreachable: bool,
    why: String,
  },
}

/// The connection plugins that mean SSH to converge.
const SSH_PLUGINS: [&str; 8] = [
  "ssh",
  "smart",
  "paramiko",
  "paramiko_ssh",
  "ansible.builtin.ssh",
  "ansible.builtin.paramiko_ssh",
  "ansible.legacy.ssh",
  "ansible.legacy.paramiko_ssh",
];
const LOCAL_PLUGINS: [&str; 3] = ["local", "ansible.builtin.local", "ansible.legacy.local"];

/// `-o` options converge honours: they go to `ssh -G`, and OpenSSH decides.
const HONOURED: [&str; 12] = [
  "hostname",
  "port",
  "user",
  "proxyjump",
  "proxycommand",
  "identityfile",
  "identitiesonly",
  "userknownhostsfile",
  "stricthostkeychecking",
  "connecttimeout",
  "serveraliveinterval",
  "hostkeyalias",
];
/// `-o` options that change nothing converge does (connection sharing,
/// compression, logging, password prompts it never makes): accepted, unused.
const WITHOUT_EFFECT: [&str; 10] = [
  "controlmaster",
  "controlpersist",
  "controlpath",
  "compression",
  "loglevel",
  "serveralivecountmax",
  "batchmode",
  "passwordauthentication",
  "kbdinteractiveauthentication",
  "preferredauthentications",
];

/// A connection setting converge refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
  pub code: Code,
  pub message: String,
  pub help: String,
  /// Where the setting was given (the variable, else the host).
  pub span: Span,
}

impl Refusal {
  pub fn diagnostic(&self) -> Diagnostic {
    Diagnostic::new(self.code, self.message.clone()).label(self.span, "given here").help(self.help.clone())
  }

  fn text(&self) -> String {
    format!("{}: {}; {}", self.code.as_str(), self.message, self.help)
  }
}

/// Whether a host is this machine or reached over SSH, with the inventory's
/// settings for SSH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settings {
  Local,
  Ssh(Given),
}

/// Where a variable of the host was set, for messages.
fn span_of(playbook: &Playbook, play: &HostPlay, key: &str) -> Span {
  let inventory = &playbook.inventory;
  let host = inventory.hosts.get(&play.name);
  host
    .and_then(|h| h.vars.get(key))
    .or_else(|| inventory.groups.values().rev().find_map(|g| g.vars.get(key)))
    .map(|v| v.span)
    .or_else(|| host.map(|h| h.span))
    .unwrap_or_default()
}

fn text(value: &serde_json::Value) -> String {
  match value {
    serde_json::Value::String(s) => s.clone(),
    other => other.to_string(),
  }
}

/// The inventory's settings for a host, as Ansible reads them.
pub fn settings(playbook: &Playbook, play: &HostPlay) -> Result<Settings, Refusal> {
  if playbook.local {
    return Ok(Settings::Local);
  }
  let var = |k: &str| play.vars.get(k).filter(|v| !v.is_null());
  let refuse = |code: Code, key: &str, message: String, help: &str| Refusal {
    code,
    message,
    help: help.to_owned(),
    span: span_of(playbook, play, key),
  };
  if let Some(value) = var("ansible_connection") {
    let plugin = value.as_str().unwrap_or_default();
    if LOCAL_PLUGINS.contains(&plugin) {
      return Ok(Settings::Local);
    }
    if !SSH_PLUGINS.contains(&plugin) {
      return Err(refuse(
        Code::ConnectionPlugin,
        "ansible_connection",
        format!("host `{}` has `ansible_connection` {value}, which converge cannot use", play.name),
        "converge reaches hosts over SSH (`ssh`, `smart`, `paramiko`) or runs on this machine (`local`); \
         converge this host another way, or leave it out with --limit",
      ));
    }
  }
  let host = playbook.inventory.hosts.get(&play.name);
  let port_of = |key: &str| -> Result<Option<u16>, Refusal> {
    let Some(value) = var(key) else { return Ok(None) };
    let port = match value {
      serde_json::Value::Number(n) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
      serde_json::Value::String(s) => s.trim().parse::<u16>().ok(),
      _ => None,
    };
    match port.filter(|p| *p > 0) {
      Some(p) => Ok(Some(p)),
      None => Err(refuse(
        Code::ConnectionPort,
        key,
        format!("host `{}` has `{key}` {value}, which is not a port", play.name),
        "give a whole number between 1 and 65535 (after templating), as in `ansible_port=2222`",
      )),
    }
  };
  // Ansible's `ssh` plugin: the later name of each list wins when both are set.
  let ssh_port = port_of("ansible_ssh_port")?;
  let port = port_of("ansible_port")?;
  let port = ssh_port.or(host.and_then(|h| h.port)).or(port);
  let address = var("ansible_ssh_host")
    .map(text)
    .or_else(|| host.and_then(|h| h.address.clone()))
    .or_else(|| var("ansible_host").map(text));
  let user = var("ansible_ssh_user")
    .map(text)
    .or_else(|| host.and_then(|h| h.user.clone()))
    .or_else(|| var("ansible_user").map(text));
  let identity = host
    .and_then(|h| h.identity.clone())
    .or_else(|| var("ansible_ssh_private_key_file").map(text))
    .or_else(|| var("ansible_private_key_file").map(text));
  let mut args = Vec::new();
  for key in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
    if let Some(value) = var(key) {
      args.extend(ssh_args(&text(value)).map_err(|why| {
        refuse(
          Code::SshArgs,
          key,
          format!("host `{}` has `{key}` that converge cannot honour: {why}", play.name),
          "converge honours -J, -p, -l, -i and -o with HostName, Port, User, ProxyJump, ProxyCommand, \
           IdentityFile, IdentitiesOnly, UserKnownHostsFile, StrictHostKeyChecking, ConnectTimeout, \
           ServerAliveInterval, HostKeyAlias; put other settings in the ssh config",
        )
      })?);
    }
  }
  Ok(Settings::Ssh(Given { address, port, user, identity, args }))
}

/// The options of an `ansible_ssh_*_args` value that change how the host is
/// reached, as `ssh` arguments; split as Ansible splits them (`shlex`).
pub fn ssh_args(value: &str) -> Result<Vec<String>, String> {
  let words = shell_words(value).ok_or_else(|| format!("{value:?} has an unclosed quote"))?;
  let mut out = Vec::new();
  let mut words = words.into_iter();
  while let Some(word) = words.next() {
    let Some(flag) = word.strip_prefix('-').and_then(|w| w.chars().next()) else {
      return Err(format!("`{word}` is not an option"));
    };
    if matches!(flag, 'J' | 'p' | 'l' | 'i' | 'o') {
      let attached = &word[2..];
      let value = if attached.is_empty() {
        words.next().ok_or_else(|| format!("`{word}` lacks its value"))?
      } else {
        attached.to_owned()
      };
      if flag == 'o' {
        let key = value.split(['=', ' ', '\t']).next().unwrap_or_default().to_ascii_lowercase();
        if WITHOUT_EFFECT.contains(&key.as_str()) {
          continue;
        }
        if !HONOURED.contains(&key.as_str()) {
          return Err(format!("`-o {value}`"));
        }
      }
      out.extend([format!("-{flag}"), value]);
      continue;
    }
    // Flags that change nothing converge does: compression, quiet, verbose, no tty.
    if word.len() >= 2 && word[1..].chars().all(|c| matches!(c, 'C' | 'q' | 'v' | 'T')) {
      continue;
    }
    return Err(format!("`{word}`"));
  }
  Ok(out)
}

/// Splits `text` into words as Python's `shlex.split` does (POSIX mode,
/// which Ansible uses for these variables): blanks separate words, single
/// quotes keep everything, double quotes keep all but a backslash before a backslash
/// or `"`, and a backslash outside quotes keeps the next character.
/// `None` for an unclosed quote or a trailing backslash.
fn shell_words(text: &str) -> Option<Vec<String>> {
  let mut words = Vec::new();
  let mut word: Option<String> = None;
  let mut chars = text.chars();
  while let Some(c) = chars.next() {
    match c {
      ' ' | '\t' | '\r' | '\n' => words.extend(word.take()),
      '\'' => {
        let w = word.get_or_insert_with(String::new);
        loop {
          match chars.next()? {
            '\'' => break,
            c => w.push(c),
          }
        }
      }
      '"' => {
        let w = word.get_or_insert_with(String::new);
        loop {
          match chars.next()? {
            '"' => break,
            '\\' => match chars.next()? {
              c @ ('\\' | '"') => w.push(c),
              c => {
                w.push('\\');
                w.push(c);
              }
            },
            c => w.push(c),
          }
        }
      }
      '\\' => {
        let next = chars.next()?;
        word.get_or_insert_with(String::new).push(next);
      }
      c => word.get_or_insert_with(String::new).push(c),
    }
  }
  words.extend(word);
  Some(words)
}

/// How `play` is reached. `root` is `--root` (a directory on this machine,
/// which cannot reach SSH hosts).
pub fn connection(
  playbook: &Playbook,
  play: &HostPlay,
  root: &str,
  client: &ClientConfig,
  options: &Options,
) -> Connection {
  let given = match settings(playbook, play) {
    Ok(Settings::Local) => return Connection::Local,
    Ok(Settings::Ssh(given)) => given,
    Err(refusal) => return Connection::Refused { unreachable: false, why: refusal.text() },
  };
  if !root.is_empty() {
    let why = "`--root` converges a directory on this machine; it cannot reach SSH hosts";
    return Connection::Refused { unreachable: false, why: why.to_owned() };
  }
  match client.target(&play.name, &given, options) {
    Ok(t) => Connection::Ssh(Box::new(t)),
    Err(e) => Connection::Refused { unreachable: true, why: e.to_string() },
  }
}

/// The connection settings of every host that converge would refuse, as
/// diagnostics (`converge check`).
pub fn check(playbook: &Playbook) -> Diagnostics {
  let mut out = Diagnostics::new();
  for refusal in playbook.hosts.iter().filter_map(|play| settings(playbook, play).err()) {
    out.push(refusal.diagnostic());
  }
  out
}

/// The connection converge will use for a host, as shown to people
/// (`converge inventory`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ConnectionView {
  /// `local` or `ssh`.
  pub connection: String,
  #[serde(skip_serializing_if = "Option::is_none")]
  pub address: Option<String>,
  #[serde(skip_serializing_if = "Option::is_none")]
  pub port: Option<u16>,
  #[serde(skip_serializing_if = "Option::is_none")]
  pub user: Option<String>,
  pub identity_files: Vec<String>,
  /// The `ProxyJump` hops, in order (`[user@]host[:port]`).
  pub jump: Vec<String>,
  #[serde(skip_serializing_if = "Option::is_none")]
  pub proxy_command: Option<String>,
  pub known_hosts: Vec<String>,
  /// Why the host cannot be reached, when it cannot.
  #[serde(skip_serializing_if = "Option::is_none")]
  pub error: Option<String>,
}

/// Describes how `play` is reached, resolved as a run resolves it (OpenSSH
/// reads the ssh config), without connecting.
pub fn describe(
  playbook: &Playbook,
  play: &HostPlay,
  client: &ClientConfig,
  options: &Options,
) -> ConnectionView {
  match connection(playbook, play, "", client, options) {
    Connection::Local => ConnectionView { connection: "local".to_owned(), ..ConnectionView::default() },
    Connection::Refused { why, .. } => {
      ConnectionView { connection: "ssh".to_owned(), error: Some(why), ..ConnectionView::default() }
    }
    Connection::Ssh(t) => ConnectionView {
      connection: "ssh".to_owned(),
      address: Some(t.address.clone()),
      port: Some(t.port),
      user: Some(t.user.clone()),
      identity_files: t.identities.iter().map(|p| p.display().to_string()).collect(),
      jump: t.jump.clone(),
      proxy_command: match &t.proxy {
        Some(Proxy::Command(c)) => Some(c.clone()),
        _ => None,
      },
      known_hosts: t.known_hosts.iter().map(|p| p.display().to_string()).collect(),
      error: None,
    },
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn words_split_as_pythons_shlex_splits_them() {
    let split = |s: &str| shell_words(s);
    let want = |w: &[&str]| Some(w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
    assert_eq!(
      split(r#"-o 'A=b c' -o"X=\"y\"" a\ b "" ''"#),
      want(&["-o", "A=b c", "-oX=\"y\"", "a b", "", ""])
    );
    assert_eq!(split(r#""a\nb\$" 'c\d'"#), want(&["a\\nb\\$", "c\\d"]));
    assert_eq!(split("  "), want(&[]));
    assert_eq!(split("'open"), None);
    assert_eq!(split("\"open"), None);
    assert_eq!(split("end\\"), None);
  }

  #[test]
  fn ssh_args_keep_what_changes_the_route_and_refuse_the_rest() {
    let args = ssh_args("-o ProxyJump=ops@bastion:2200 -C -o ControlMaster=auto -J 'a,b' -p2222 -lops");
    let want = ["-o", "ProxyJump=ops@bastion:2200", "-J", "a,b", "-p", "2222", "-l", "ops"];
    assert_eq!(args, Ok(want.map(str::to_owned).to_vec()));
    let command = ssh_args(r#"-o ProxyCommand="ssh -W %h:%p -q ops@bastion""#);
    assert_eq!(command, Ok(vec!["-o".to_owned(), "ProxyCommand=ssh -W %h:%p -q ops@bastion".to_owned()]));
    for bad in ["-o ForwardAgent=yes", "-L 80:x:80", "-4", "bastion", "-o", "-o 'unclosed", "-F /tmp/cfg"] {
      assert!(ssh_args(bad).is_err(), "{bad}");
    }
  }

  fn playbook(vars: &[(&str, serde_json::Value)]) -> Playbook {
    let mut playbook = Playbook::default();
    let host = playbook.inventory.host_mut("web", Span::default());
    host.address = Some("10.0.0.1".to_owned());
    host.user = Some("inventory".to_owned());
    let vars = vars.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    playbook.hosts.push(HostPlay { name: "web".to_owned(), vars, resources: Vec::new() });
    playbook
  }

  fn given(vars: &[(&str, serde_json::Value)]) -> Result<Given, Code> {
    let playbook = playbook(vars);
    match settings(&playbook, &playbook.hosts[0]) {
      Ok(Settings::Ssh(given)) => Ok(given),
      Ok(Settings::Local) => Err(Code::NoPlaybook),
      Err(r) => Err(r.code),
    }
  }

  #[test]
  fn the_ansible_ssh_names_win_as_in_ansibles_ssh_plugin() {
    use serde_json::json;
    let g = given(&[
      ("ansible_ssh_host", json!("10.0.0.9")),
      ("ansible_ssh_user", json!("ops")),
      ("ansible_port", json!(2200)),
      ("ansible_ssh_port", json!("2222")),
      ("ansible_private_key_file", json!("/k/plain")),
      ("ansible_ssh_private_key_file", json!("/k/ssh")),
    ]);
    let g = g.unwrap_or_default();
    assert_eq!(
      (g.address.as_deref(), g.user.as_deref(), g.port, g.identity.as_deref()),
      (Some("10.0.0.9"), Some("ops"), Some(2222), Some("/k/ssh"))
    );
    // Without the aliases, the host's own settings.
    let g = given(&[("ansible_port", json!(2200))]).unwrap_or_default();
    assert_eq!(
      (g.address.as_deref(), g.user.as_deref(), g.port),
      (Some("10.0.0.1"), Some("inventory"), Some(2200))
    );
  }

  #[test]
  fn connections_ports_and_ssh_args_converge_cannot_honour_are_refused_with_codes() {
    use serde_json::json;
    assert_eq!(given(&[("ansible_connection", json!("winrm"))]), Err(Code::ConnectionPlugin));
    assert_eq!(given(&[("ansible_connection", json!("local"))]), Err(Code::NoPlaybook), "local");
    assert!(given(&[("ansible_connection", json!("paramiko"))]).is_ok());
    for port in [json!("{{ port }}"), json!("22x"), json!(0), json!(70000), json!(22.5), json!(true)] {
      assert_eq!(given(&[("ansible_port", port.clone())]), Err(Code::ConnectionPort), "{port}");
    }
    assert_eq!(given(&[("ansible_ssh_extra_args", json!("-R 80:x:80"))]), Err(Code::SshArgs));
    let g = given(&[("ansible_ssh_common_args", json!("-J ops@bastion:2200"))]).unwrap_or_default();
    assert_eq!(g.args, ["-J", "ops@bastion:2200"]);
  }

  #[test]
  fn an_inventory_localhost_is_reached_over_ssh_unless_its_connection_is_local() {
    let mut playbook = Playbook::default();
    playbook.inventory.host_mut("localhost", Span::default()).port = Some(2222);
    playbook.hosts.push(HostPlay {
      name: "localhost".to_owned(),
      vars: Default::default(),
      resources: Vec::new(),
    });
    assert!(matches!(settings(&playbook, &playbook.hosts[0]), Ok(Settings::Ssh(g)) if g.port == Some(2222)));
    playbook.hosts[0].vars.insert("ansible_connection".to_owned(), serde_json::json!("local"));
    assert_eq!(settings(&playbook, &playbook.hosts[0]), Ok(Settings::Local));
    // The implicit localhost of a playbook without an inventory is this machine.
    let implicit = Playbook { local: true, ..Playbook::default() };
    let play = HostPlay { name: "localhost".to_owned(), vars: Default::default(), resources: Vec::new() };
    assert_eq!(settings(&implicit, &play), Ok(Settings::Local));
  }

  #[test]
  fn describe_shows_what_openssh_resolved() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = dir.path().join("config");
    let text = "Host 10.0.0.1\n  HostName 127.0.0.1\n  Port 2201\n  IdentityFile /k/one\n  \
                ProxyJump ops@127.0.0.2:2299\n  UserKnownHostsFile /kh/%h\nHost 127.0.0.2\n  ProxyJump none\n";
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    let options = Options { config: Some(config), home: dir.path().to_owned(), ..Options::default() };
    let client = ClientConfig::load(&options).unwrap_or_else(|e| panic!("{e}"));
    let playbook = playbook(&[]);
    let view = describe(&playbook, &playbook.hosts[0], &client, &options);
    let want = ConnectionView {
      connection: "ssh".to_owned(),
      address: Some("127.0.0.1".to_owned()),
      port: Some(2201),
      user: Some("inventory".to_owned()),
      identity_files: vec!["/k/one".to_owned()],
      jump: vec!["ops@127.0.0.2:2299".to_owned()],
      proxy_command: None,
      known_hosts: vec!["/kh/127.0.0.1".to_owned()],
      error: None,
    };
    assert_eq!(view, want);
    let json = serde_json::to_value(&view).unwrap_or_default();
    assert_eq!(json["jump"][0], "ops@127.0.0.2:2299");
  }
}
