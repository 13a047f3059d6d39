//! The ssh client configuration is read as OpenSSH reads it: each test checks
//! what converge resolves against `ssh -G` on the same file (the reference),
//! and, where a value only shows on connect, against what a real `ssh` run
//! does. Hosts point at closed loopback ports, so a connection attempt fails
//! at once and its error names the address and port converge chose.

use crate::test::binary;
use converge::host::ssh::{ClientConfig, Given, Options, Proxy, Target};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

struct Case {
  dir: tempfile::TempDir,
}

impl Case {
  fn new(config: &str) -> Case {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let case = Case { dir };
    std::fs::create_dir_all(case.home().join(".ssh")).unwrap_or_else(|e| panic!("mkdir: {e}"));
    case.write("ssh_config", &config.replace("DIR", &case.path().display().to_string()));
    case
  }

  fn path(&self) -> &Path {
    self.dir.path()
  }

  fn home(&self) -> PathBuf {
    self.path().join("home")
  }

  fn config(&self) -> PathBuf {
    self.path().join("ssh_config")
  }

  fn write(&self, name: &str, text: &str) {
    std::fs::write(self.path().join(name), text).unwrap_or_else(|e| panic!("write {name}: {e}"));
  }

  /// `ssh -G -F ssh_config [ARGS] DESTINATION`, bounded: the reference.
  fn ssh_g(&self, args: &[&str], destination: &str) -> HashMap<String, Vec<String>> {
    let mut child = Command::new("ssh")
      .arg("-F")
      .arg(self.config())
      .arg("-G")
      .args(args)
      .arg("--")
      .arg(destination)
      .stdin(std::process::Stdio::null())
      .stdout(std::process::Stdio::piped())
      .stderr(std::process::Stdio::null())
      .spawn()
      .unwrap_or_else(|e| panic!("ssh -G: {e}"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
      std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("ssh -G: {e}"));
    let mut values: HashMap<String, Vec<String>> = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
      let (k, v) = line.split_once(' ').unwrap_or((line, ""));
      values.entry(k.to_owned()).or_default().push(v.to_owned());
    }
    values
  }

  fn options(&self) -> Options {
    Options { config: Some(self.config()), home: self.home(), ..Options::default() }
  }

  /// What converge resolves for `name` through the library.
  fn target(&self, name: &str, given: &Given) -> Result<Target, String> {
    let options = self.options();
    let client = ClientConfig::load(&options).map_err(|e| e.to_string())?;
    client.target(name, given, &options).map_err(|e| e.to_string())
  }

  /// Runs `converge --plan` on the playbook and returns each host's error.
  fn plan_errors(&self, playbook: &str) -> HashMap<String, String> {
    let path = self.path().join("p.goenv");
    std::fs::write(&path, playbook).unwrap_or_else(|e| panic!("write: {e}"));
    let out = Command::new(binary())
      .arg("--plan")
      .arg(&path)
      .arg("-F")
      .arg(self.config())
      .args(["--format", "json", "--connect-timeout", "3"])
      .env("HOME", self.home())
      .env_remove("SSH_AUTH_SOCK")
      .current_dir(self.path())
      .output()
      .unwrap_or_else(|e| panic!("converge: {e}"));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
      panic!(
        "no JSON ({e}): {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
      )
    });
    doc["hosts"]
      .as_array()
      .into_iter()
      .flatten()
      .map(|h| {
        (
          h["host"].as_str().unwrap_or_default().to_owned(),
          h["error"].as_str().unwrap_or_default().to_owned(),
        )
      })
      .collect()
  }
}

fn one(values: &HashMap<String, Vec<String>>, key: &str) -> String {
  values.get(key).and_then(|v| v.first()).cloned().unwrap_or_default()
}

const PLAYBOOK: &str = "export GOFLAGS = \"-mod=mod\"\n";

#[test]
fn a_repeated_ssh_config_option_takes_its_first_value_as_openssh_does() {
  let case = Case::new("Host web\n  HostName 127.0.0.1\n  Port 1101\n  Port 1102\nHost *\n  Port 1103\n");
  assert_eq!(one(&case.ssh_g(&[], "web"), "port"), "1101");
  let errors = case.plan_errors(&format!("host \"web\" {{}}\n{PLAYBOOK}"));
  assert!(errors["web"].contains("127.0.0.1:1101"), "{errors:?}");
}

#[test]
fn match_blocks_and_host_blocks_of_included_files_apply_as_openssh_applies_them() {
  let case = Case::new(
    "Include DIR/included.conf\nMatch host web\n  Port 1111\nHost *\n  HostName 127.0.0.1\n  Port 1119\n",
  );
  case.write("included.conf", "Host db\n  Port 1112\n  User inc\n");
  let web = case.ssh_g(&[], "web");
  let db = case.ssh_g(&[], "db");
  assert_eq!(
    (one(&web, "port"), one(&db, "port"), one(&db, "user")),
    ("1111".into(), "1112".into(), "inc".into())
  );
  let errors = case.plan_errors(&format!("host \"web\" {{}}\nhost \"db\" {{}}\n{PLAYBOOK}"));
  assert!(errors["web"].contains("127.0.0.1:1111"), "{errors:?}");
  assert!(errors["db"].contains("127.0.0.1:1112"), "{errors:?}");
}

#[test]
fn tokens_expand_in_host_name_proxy_command_identity_and_known_hosts_files() {
  // The proxy command writes what its tokens became, for converge and for a
  // real `ssh` run on the same file, then exits (after a moment, so that its
  // caller does not stop it before it wrote).
  let case = Case::new(
    "Host web\n  HostName %h.internal\n  Port 1121\n  User ops\n  IdentityFile ~/.ssh/%h_%r_%p\n  \
     UserKnownHostsFile ~/kh/%h_%n\n  ProxyCommand sh -c \"echo %h %p %r %n 100%% >> DIR/seen; sleep 1\"\n",
  );
  let reference = Command::new("timeout")
    .args(["20", "ssh", "-F"])
    .arg(case.config())
    .args(["-o", "BatchMode=yes", "web", "true"])
    .env("HOME", case.home())
    .output();
  assert!(reference.is_ok());
  let by_ssh = std::fs::read_to_string(case.path().join("seen")).unwrap_or_default();
  assert_eq!(by_ssh, "web.internal 1121 ops web 100%\n");
  std::fs::remove_file(case.path().join("seen")).unwrap_or_else(|e| panic!("rm: {e}"));
  let _ = case.plan_errors(&format!("host \"web\" {{}}\n{PLAYBOOK}"));
  let by_converge = std::fs::read_to_string(case.path().join("seen")).unwrap_or_default();
  assert_eq!(by_converge, by_ssh);

  let target = case.target("web", &Given::default()).unwrap_or_else(|e| panic!("{e}"));
  assert_eq!(target.identities, vec![case.home().join(".ssh/web.internal_ops_1121")]);
  assert_eq!(target.known_hosts, vec![case.home().join("kh/web.internal_web")]);
}

#[test]
fn identity_files_accumulate_across_blocks_in_order() {
  let case = Case::new(
    "Host web\n  IdentityFile ~/.ssh/first\nHost w*\n  IdentityFile ~/.ssh/second\nHost *\n  IdentityFile /keys/third\n",
  );
  let reference = case.ssh_g(&[], "web")["identityfile"].clone();
  assert_eq!(reference, vec!["~/.ssh/first", "~/.ssh/second", "/keys/third"]);
  let target = case.target("web", &Given::default()).unwrap_or_else(|e| panic!("{e}"));
  let home = case.home();
  assert_eq!(
    target.identities,
    vec![home.join(".ssh/first"), home.join(".ssh/second"), PathBuf::from("/keys/third")]
  );
  // The inventory's key comes first, then the configuration's, as with `ssh -o IdentityFile=`.
  let given = Given { identity: Some("/keys/inventory".to_owned()), ..Given::default() };
  let target = case.target("web", &given).unwrap_or_else(|e| panic!("{e}"));
  assert_eq!(target.identities.first(), Some(&PathBuf::from("/keys/inventory")));
  assert_eq!(target.identities.len(), 4);
}

#[test]
fn a_hash_inside_a_value_is_part_of_it_and_a_trailing_comment_is_not() {
  let case = Case::new("Host web\n  HostName 127.0.0.1 # the loopback\n  User a#b\n");
  let reference = case.ssh_g(&[], "web");
  let target = case.target("web", &Given::default()).unwrap_or_else(|e| panic!("{e}"));
  assert_eq!(
    (target.address.clone(), target.user.clone()),
    (one(&reference, "hostname"), one(&reference, "user"))
  );
  assert_eq!((target.address.as_str(), target.user.as_str()), ("127.0.0.1", "a#b"));
}

#[test]
fn proxy_jump_hops_with_user_and_port_become_ssh_options_not_a_host_name() {
  let case = Case::new(
    "Host web\n  HostName 127.0.0.1\n  ProxyJump jumper@127.0.0.2:2299\nHost *\n  ProxyJump none\n",
  );
  let target = case.target("web", &Given::default()).unwrap_or_else(|e| panic!("{e}"));
  let Some(Proxy::Jump(args)) = &target.proxy else { panic!("no jump: {target:?}") };
  assert!(!args.iter().any(|a| a.contains("jumper@")), "{args:?}");
  let tail: Vec<&str> = args.iter().rev().take(6).rev().map(String::as_str).collect();
  assert_eq!(tail, ["-p", "2299", "-l", "jumper", "--", "127.0.0.2"]);
  assert_eq!(target.jump, vec!["jumper@127.0.0.2:2299"]);
}

#[test]
fn a_proxy_jump_found_first_beats_a_later_host_star_proxy_command() {
  let case = Case::new(
    "Host web\n  ProxyJump bastion\nHost bastion\n  ProxyJump none\nHost *\n  ProxyCommand nc %h %p\n",
  );
  let reference = case.ssh_g(&[], "web");
  assert_eq!(
    (one(&reference, "proxyjump"), reference.contains_key("proxycommand")),
    ("bastion".into(), false)
  );
  let target = case.target("web", &Given::default()).unwrap_or_else(|e| panic!("{e}"));
  assert!(matches!(&target.proxy, Some(Proxy::Jump(_))), "{:?}", target.proxy);
}

#[test]
fn the_ssh_config_is_matched_against_ansible_host_when_it_is_set() {
  let case = Case::new("Host 127.0.0.9\n  HostName 127.0.0.1\n  Port 1131\nHost web\n  Port 1139\n");
  let errors = case.plan_errors(&format!("host \"web\" {{\n  address = \"127.0.0.9\"\n}}\n{PLAYBOOK}"));
  assert!(errors["web"].contains("127.0.0.1:1131"), "{errors:?}");
}

#[test]
fn ansible_ssh_aliases_win_over_the_plain_names_as_in_ansibles_ssh_plugin() {
  let case = Case::new("Host *\n  ConnectTimeout 3\n");
  let playbook = format!(
    "host \"web\" {{\n  vars {{\n    ansible_host = \"127.0.0.2\"\n    ansible_ssh_host = \"127.0.0.1\"\n    \
     ansible_port = 1141\n    ansible_ssh_port = 1142\n  }}\n}}\n{PLAYBOOK}"
  );
  let errors = case.plan_errors(&playbook);
  assert!(errors["web"].contains("127.0.0.1:1142"), "{errors:?}");
}

#[test]
fn a_port_that_is_not_a_number_is_refused_with_a_code_never_port_22() {
  let case = Case::new("Host *\n  ConnectTimeout 3\n");
  let playbook = format!(
    "host \"web\" {{\n  address = \"127.0.0.1\"\n  vars {{\n    ansible_port = \"22x\"\n  }}\n}}\n{PLAYBOOK}"
  );
  let errors = case.plan_errors(&playbook);
  assert!(errors["web"].contains("E261") && !errors["web"].contains(":22"), "{errors:?}");
}

#[test]
fn a_connection_converge_cannot_serve_is_refused_not_reached_over_ssh() {
  let case = Case::new("Host *\n  ConnectTimeout 3\n");
  for plugin in ["winrm", "docker", "community.docker.docker", "psrp"] {
    let playbook = format!(
      "host \"web\" {{\n  address = \"127.0.0.1\"\n  port = 1151\n  vars {{\n    ansible_connection = \"{plugin}\"\n  }}\n}}\n{PLAYBOOK}"
    );
    let errors = case.plan_errors(&playbook);
    assert!(errors["web"].contains("E260") && !errors["web"].contains("1151"), "{plugin}: {errors:?}");
  }
}

#[test]
fn ssh_common_args_with_a_bastion_are_honoured() {
  let case = Case::new("Host web\n  HostName 127.0.0.1\nHost *\n  ProxyJump none\n");
  let playbook = format!(
    "host \"web\" {{\n  vars {{\n    ansible_ssh_common_args = \"-o ControlMaster=auto -J ops@127.0.0.1:1161\"\n  }}\n}}\n{PLAYBOOK}"
  );
  // The jump runs `ssh` to the closed port; what it said shows it tried the bastion.
  let errors = case.plan_errors(&playbook);
  assert!(errors["web"].contains("1161"), "{errors:?}");
  let refused = "host \"web\" {\n  vars {\n    ansible_ssh_extra_args = \"-L 80:x:80\"\n  }\n}\n";
  let errors = case.plan_errors(&format!("{refused}{PLAYBOOK}"));
  assert!(errors["web"].contains("E262"), "{errors:?}");
}

#[test]
fn a_jump_loop_in_the_ssh_config_is_refused_before_any_ssh_starts() {
  let case = Case::new("Host a\n  ProxyJump b\nHost b\n  ProxyJump c\nHost c\n  ProxyJump a\n");
  let refused = case.target("a", &Given::default()).map(|t| t.proxy);
  assert!(
    refused.as_ref().is_err_and(|e| e.contains("loops") && e.contains("a -> b -> c -> a")),
    "{refused:?}"
  );
}

#[test]
fn each_distinct_destination_is_resolved_once_and_cheaply() {
  let mut config = String::new();
  for i in 0..100 {
    config.push_str(&format!("Host h{i}\n  HostName 127.0.0.1\n  Port {}\n", 2000 + i));
  }
  let case = Case::new(&config);
  let options = case.options();
  let client = ClientConfig::load(&options).unwrap_or_else(|e| panic!("{e}"));
  let started = std::time::Instant::now();
  use rayon::prelude::*;
  let ports: Vec<u16> = (0..100)
    .into_par_iter()
    .chain(0..100)
    .map(|i| client.target(&format!("h{i}"), &Given::default(), &options).map(|t| t.port).unwrap_or(0))
    .collect();
  let took = started.elapsed();
  assert!(ports.iter().zip((0..100).chain(0..100)).all(|(p, i)| *p == 2000 + i), "{ports:?}");
  assert!(client.resolutions() <= 101, "{} runs of ssh -G for 100 destinations", client.resolutions());
  // Measured here: a few milliseconds per destination on an idle machine.
  assert!(took < Duration::from_secs(60), "ssh -G: 100 destinations took {took:?}");
}
