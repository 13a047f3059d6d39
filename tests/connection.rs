//! Connections as Ansible makes them, against real sshd hosts of the testbed:
//! a `ProxyJump` hop written `user@host:port`, a bastion given in
//! `ansible_ssh_common_args`, and an inventory host named `localhost`, which
//! is reached over SSH unless `ansible_connection=local`.

use crate::fleet::{Fleet, host};

#[test]
fn jumps_with_user_and_port_and_an_inventory_localhost_go_over_ssh() {
  let fleet = Fleet::start(3);
  let net = fleet.net;
  // The jump `ssh` reads this config: it needs the testbed's key and known_hosts
  // for a hop given by address.
  let known_hosts = fleet.home().join(".ssh/known_hosts");
  let key = fleet.testbed_dir().join("id_ed25519");
  let config = fleet
    .read_local(".ssh/config")
    .replace("Host h03\n", &format!("Host h03\n  ProxyJump dev-bash@127.0.{net}.1:2222\n"));
  let config = format!(
    "{config}\nHost *\n  UserKnownHostsFile {}\n  IdentityFile {}\n",
    known_hosts.display(),
    key.display()
  );
  fleet.write_local(".ssh/config", &config);
  let ssh_config = fleet.home().join(".ssh/config").display().to_string();
  let playbook = format!(
    "host \"h02\" {{\n  vars {{\n    ansible_ssh_common_args = \"-J dev-bash@127.0.{net}.1:2222\"\n  }}\n}}\n\
     host \"h03\" {{}}\n\
     host \"localhost\" {{\n  address = \"127.0.{net}.1\"\n  port = 2222\n  user = \"dev-zsh\"\n  \
     identity = \"{}\"\n}}\n\
     goenv {{\n  GOPRIVATE = \"git.example.com\"\n}}\n",
    key.display()
  );
  let (code, doc) = fleet.converge_json(&playbook, &["-F", &ssh_config]);
  assert_eq!(code, 0, "{doc}");
  for name in ["h02", "h03", "localhost"] {
    let h = host(&doc, name);
    assert_eq!((h["status"].as_str(), h["connections"].as_u64()), (Some("changed"), Some(1)), "{name}: {h}");
  }
  // Each landed on its own machine: h02 and h03 through h01, localhost on h01 as dev-zsh.
  assert!(fleet.read_text("h02", "/home/dev-zsh/.config/go/env").contains("GOPRIVATE"));
  assert!(fleet.read_text("h03", "/home/dev-dash/.config/go/env").contains("GOPRIVATE"));
  assert!(fleet.read_text("h01", "/home/dev-zsh/.config/go/env").contains("GOPRIVATE"));
  assert_eq!(fleet.read("h01", "/home/dev-bash/.config/go/env"), None, "the jumps changed nothing on h01");
}
