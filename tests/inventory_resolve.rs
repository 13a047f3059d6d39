//! What templates see of an Ansible inventory: each host's variables in
//! Ansible's precedence, its connection variables as it will be reached, and
//! Ansible's magic variables. Each test guards one way converge used to read
//! inventories differently from ansible-core 2.19.

use converge::check::loader;
use converge::check::playbook::Playbook;
use converge::check::resolver;
use converge::diagnostic::{Code, Diagnostics};
use converge::source::Sources;
use serde_json::{Value, json};

/// Resolves a playbook `site.goenv` (which includes `hosts.ini`) beside the
/// other files, written to a temporary directory.
fn resolve(files: &[(&str, &str)]) -> (Playbook, Diagnostics) {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  for (name, text) in files {
    let path = dir.path().join(name);
    if let Some(parent) = path.parent() {
      std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
  }
  let mut sources = Sources::new();
  let mut diagnostics = Diagnostics::new();
  let loaded = loader::load(&[dir.path().join("site.goenv")], &mut sources, &mut diagnostics);
  let (playbook, found) = resolver::resolve(&loaded, &mut sources);
  diagnostics.extend(found);
  (playbook, diagnostics)
}

fn var(playbook: &Playbook, host: &str, name: &str) -> Value {
  let host = playbook.hosts.iter().find(|h| h.name == host).unwrap_or_else(|| panic!("no host {host}"));
  host.vars.get(name).cloned().unwrap_or(Value::Null)
}

const SITE: &str =
  "inventory \"hosts.ini\"\nhosts \"all\" {\n  file \"/etc/motd\" {\n    content = \"{{ motd }}\"\n  }\n}\n";

fn ok(files: &[(&str, &str)]) -> Playbook {
  let (playbook, diagnostics) = resolve(files);
  assert!(!diagnostics.has_errors(), "{diagnostics:?}");
  playbook
}

#[test]
fn a_host_lines_ansible_user_is_what_templates_see_not_the_groups() {
  let ini = "[web]\nweb1 ansible_user=alice\nweb2\n[web:vars]\nansible_user=deploy\nmotd=hi\n";
  let playbook = ok(&[("site.goenv", SITE), ("hosts.ini", ini)]);
  assert_eq!(var(&playbook, "web1", "ansible_user"), json!("alice"));
  assert_eq!(var(&playbook, "web2", "ansible_user"), json!("deploy"));
}

#[test]
fn groups_at_one_depth_apply_by_priority_then_name_and_depth_counts_from_all() {
  // `b` and `a` are both children of `all`: `a` applies first by name, so `b`
  // wins; `z` has priority 0 and applies before both. `deep` is at depth 2
  // and wins over all three, though the host is listed in it directly too.
  let ini = "[b]\nh\n[a]\nh\n[z]\nh\n[deep]\nh\n[parent:children]\ndeep\n\
             [b:vars]\nmotd=b\n[a:vars]\nmotd=a\n[z:vars]\nmotd=z\nansible_group_priority=0\nonly_z=1\n\
             [deep:vars]\nlevel=deep\n[parent:vars]\nlevel=parent\n";
  let playbook = ok(&[("site.goenv", SITE), ("hosts.ini", ini)]);
  assert_eq!(var(&playbook, "h", "motd"), json!("b"));
  assert_eq!(var(&playbook, "h", "level"), json!("deep"));
  assert_eq!(var(&playbook, "h", "ansible_group_priority"), Value::Null, "not a variable");
  assert_eq!(var(&playbook, "h", "only_z"), json!(1));
}

#[test]
fn templated_connection_variables_are_rendered_with_the_hosts_variables() {
  let ini = "[web]\nweb1 octet=5\nweb2 octet=6 ansible_port=\"{{ base + 1 }}\"\n\
             [web:vars]\nansible_host=10.0.0.{{ octet }}\nbase=2200\nmotd=hi\n";
  let playbook = ok(&[("site.goenv", SITE), ("hosts.ini", ini)]);
  assert_eq!(var(&playbook, "web1", "ansible_host"), json!("10.0.0.5"));
  assert_eq!(var(&playbook, "web2", "ansible_host"), json!("10.0.0.6"));
  assert_eq!(var(&playbook, "web2", "ansible_port"), json!(2201));
}

#[test]
fn a_templated_port_that_is_not_a_port_is_an_error_not_22() {
  let ini = "[web]\nweb1 ansible_port=\"{{ p }}\" p=ssh motd=hi\n";
  let (_, diagnostics) = resolve(&[("site.goenv", SITE), ("hosts.ini", ini)]);
  let codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
  assert_eq!(codes, [Code::Port]);
}

#[test]
fn templates_see_ansibles_magic_variables() {
  let site = "inventory \"hosts.ini\"\nhosts \"all\" {\n  file \"/etc/motd\" {\n    content = \
              \"{{ inventory_hostname_short }} {{ group_names | join(',') }} {{ groups['web'] | length }} \
              {{ hostvars['db1.example.com']['role'] }}\"\n  }\n}\n";
  let ini =
    "[web]\nweb1.example.com\nweb2.example.com\n[db]\ndb1.example.com role=primary\n[prod:children]\nweb\n";
  let playbook = ok(&[("site.goenv", site), ("hosts.ini", ini)]);
  assert_eq!(var(&playbook, "web1.example.com", "inventory_hostname"), json!("web1.example.com"));
  assert_eq!(var(&playbook, "web1.example.com", "inventory_hostname_short"), json!("web1"));
  assert_eq!(var(&playbook, "web1.example.com", "group_names"), json!(["prod", "web"]));
  assert_eq!(
    var(&playbook, "web1.example.com", "groups")["web"],
    json!(["web1.example.com", "web2.example.com"])
  );
  assert_eq!(var(&playbook, "web1.example.com", "hostvars")["db1.example.com"]["role"], json!("primary"));
}

#[test]
fn hosts_blocks_apply_exclusions_after_the_groups_they_exclude_from() {
  let site = "inventory \"hosts.ini\"\nhosts [\"!gpu\", \"fleet\"] {\n  file \"/etc/motd\" {\n    content = \"x\"\n  }\n}\n";
  let ini = "[fleet]\ndev1\ngpu1\n[gpu]\ngpu1\n";
  let playbook = ok(&[("site.goenv", site), ("hosts.ini", ini)]);
  let targeted: Vec<&str> =
    playbook.hosts.iter().filter(|h| !h.resources.is_empty()).map(|h| h.name.as_str()).collect();
  assert_eq!(targeted, ["dev1"]);
}

#[test]
fn group_vars_and_host_vars_beside_the_inventory_are_read_in_ansibles_precedence() {
  let ini = "[web]\nweb1 inline=host\n[web:vars]\ninline=group\nmotd=ini\n";
  let playbook = ok(&[
    ("site.goenv", SITE),
    ("hosts.ini", ini),
    ("group_vars/all.yml", "motd: all-file\nfrom_all: 1\n"),
    ("group_vars/web/main.yml", "motd: web-file\nlist: [1, 2]\n"),
    ("host_vars/web1", "inline: host-file\n"),
  ]);
  assert_eq!(
    var(&playbook, "web1", "motd"),
    json!("web-file"),
    "group files win over every group's inline vars"
  );
  assert_eq!(var(&playbook, "web1", "inline"), json!("host-file"), "host_vars win over the host line");
  assert_eq!(var(&playbook, "web1", "from_all"), json!(1));
  assert_eq!(var(&playbook, "web1", "list"), json!([1, 2]));
}

#[test]
fn a_yaml_inventory_is_read_with_its_types() {
  let site = "inventory \"hosts.yml\"\nhosts \"web\" {\n  file \"/etc/motd\" {\n    content = \"{{ motd }}\"\n  }\n}\n";
  let yaml = "web:\n  hosts:\n    web[1:2]:\n      enabled: yes\n  vars:\n    motd: hi\n    mode: 0755\n";
  let playbook = ok(&[("site.goenv", site), ("hosts.yml", yaml)]);
  assert_eq!(var(&playbook, "web2", "enabled"), json!(true));
  assert_eq!(var(&playbook, "web1", "mode"), json!(493));
}

/// Writes an executable inventory script.
fn script(dir: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
  use std::os::unix::fs::PermissionsExt;
  let path = dir.join(name);
  std::fs::write(&path, body).unwrap_or_else(|e| panic!("{e}"));
  std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap_or_else(|e| panic!("{e}"));
  path
}

fn script_diagnostics(body: &str) -> (Vec<String>, std::time::Duration) {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let path = script(dir.path(), "inventory.sh", body);
  let mut sources = Sources::new();
  let started = std::time::Instant::now();
  let (_, diagnostics) = resolver::resolve_with(&[path], &[], &mut sources, &indexmap::IndexMap::new());
  let messages = diagnostics.iter().map(|d| format!("{} {}", d.code.as_str(), d.message)).collect();
  (messages, started.elapsed())
}

#[test]
fn an_inventory_script_that_prints_without_end_is_stopped_at_the_output_bound() {
  let (messages, took) = script_diagnostics("#!/bin/sh\nexec yes\n");
  assert_eq!(messages.len(), 1, "{messages:?}");
  assert!(messages[0].starts_with("E234") && messages[0].contains("more than 16 MiB"), "{messages:?}");
  assert!(took < std::time::Duration::from_secs(20), "took {took:?}");
}

#[test]
fn an_inventory_script_without_meta_hostvars_or_json_is_refused() {
  let (messages, _) = script_diagnostics("#!/bin/sh\necho '{\"web\": [\"w1\"]}'\n");
  assert!(messages.len() == 1 && messages[0].contains("`_meta.hostvars`"), "{messages:?}");
  let (messages, _) = script_diagnostics("#!/bin/sh\necho 'web1'\n");
  assert!(messages.len() == 1 && messages[0].contains("not JSON"), "{messages:?}");
}

#[test]
fn an_inventory_script_gets_only_list_as_its_argument_without_a_shell() {
  // The script records its arguments; a shell would have split or expanded them.
  let (messages, _) = script_diagnostics(
    "#!/bin/sh\n[ \"$#\" = 1 ] && [ \"$1\" = --list ] || exit 9\n\
     echo '{\"web\": {\"hosts\": [\"w1\"]}, \"_meta\": {\"hostvars\": {\"w1\": {\"x\": 1}}}}'\n",
  );
  assert!(messages.is_empty(), "{messages:?}");
}
