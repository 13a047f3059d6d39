//! Resolution: which hosts a target names, and the variables each host sees
//! (playbook < group < host; parent groups before child groups).

use converge::check::loader;
use converge::check::playbook::Playbook;
use converge::check::resolver;
use converge::diagnostic::Diagnostics;
use converge::source::Sources;

fn resolve(files: &[(&str, &str)]) -> (Playbook, Diagnostics) {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let mut paths = Vec::new();
  for (name, text) in files {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    if name.ends_with(".goenv") {
      paths.push(path);
    }
  }
  let mut sources = Sources::new();
  let mut diagnostics = Diagnostics::new();
  let loaded = loader::load(&paths, &mut sources, &mut diagnostics);
  let (playbook, found) = resolver::resolve(&loaded, &mut sources);
  diagnostics.extend(found);
  (playbook, diagnostics)
}

fn var(playbook: &Playbook, host: &str, name: &str) -> serde_json::Value {
  let host = playbook.hosts.iter().find(|h| h.name == host).unwrap_or_else(|| panic!("no host {host}"));
  host.vars.get(name).cloned().unwrap_or(serde_json::Value::Null)
}

fn resources(playbook: &Playbook, host: &str) -> Vec<String> {
  let host = playbook.hosts.iter().find(|h| h.name == host).unwrap_or_else(|| panic!("no host {host}"));
  host.resources.iter().map(|r| r.name()).collect()
}

#[test]
fn no_inventory_means_this_machine() {
  let (playbook, diagnostics) = resolve(&[("a.goenv", "proxy [\"https://proxy.golang.org\", direct]\n")]);
  assert!(diagnostics.is_empty(), "{diagnostics:?}");
  assert!(playbook.local);
  assert_eq!(resources(&playbook, "localhost"), vec!["proxy"]);
}

#[test]
fn variables_follow_playbook_group_host_precedence() {
  let text = r#"
vars {
  v = "playbook"
  only_playbook = 1
}
host "a" {
  vars {
    v = "host"
  }
}
host "b" {}
group "parent" {
  children = ["child"]
  vars {
    v = "parent"
    p = "parent"
  }
}
group "child" {
  hosts = ["a", "b"]
  vars {
    v = "child"
  }
}
"#;
  let (playbook, diagnostics) = resolve(&[("a.goenv", text)]);
  assert!(!diagnostics.has_errors(), "{diagnostics:?}");
  assert_eq!(var(&playbook, "a", "v"), "host");
  assert_eq!(var(&playbook, "b", "v"), "child", "a child group wins over its parent");
  assert_eq!(var(&playbook, "b", "p"), "parent");
  assert_eq!(var(&playbook, "b", "only_playbook"), 1);
}

#[test]
fn targets_name_groups_hosts_globs_and_exclusions() {
  let text = r#"
host "web1" {}
host "web2" {}
host "db1" {}
group "web" {
  hosts = ["web1", "web2"]
}
hosts "web" {
  sysctl "fs.file-max" = 1
}
hosts ["db*"] {
  proxy [direct]
}
hosts ["all", "!web2"] {
  command "true"
}
"#;
  let (playbook, diagnostics) = resolve(&[("a.goenv", text)]);
  assert!(!diagnostics.has_errors(), "{diagnostics:?}");
  assert_eq!(resources(&playbook, "web1"), vec!["sysctl fs.file-max", "command true"]);
  assert_eq!(resources(&playbook, "web2"), vec!["sysctl fs.file-max"]);
  assert_eq!(resources(&playbook, "db1"), vec!["proxy", "command true"]);
}

#[test]
fn an_ansible_inventory_is_used_as_is() {
  let ini = "[web]\nweb[1:2].example.com ansible_port=2222\n\n[web:vars]\ngo_version=1.23.4\n\n[fleet:children]\nweb\n";
  let text = "inventory \"hosts.ini\"\nvars {\n  go_version = \"1.22.5\"\n}\nhosts \"fleet\" {\n  file \"/etc/go-version\" {\n    content = \"{{ go_version }}\"\n  }\n}\n";
  let (playbook, diagnostics) = resolve(&[("hosts.ini", ini), ("site.goenv", text)]);
  assert!(!diagnostics.has_errors(), "{diagnostics:?}");
  let names: Vec<&str> = playbook.hosts.iter().map(|h| h.name.as_str()).collect();
  assert_eq!(names, vec!["web1.example.com", "web2.example.com"]);
  // The port is the host variable `ansible_port`, as Ansible has it.
  assert_eq!(var(&playbook, "web1.example.com", "ansible_port"), 2222);
  assert_eq!(var(&playbook, "web2.example.com", "go_version"), "1.23.4");
  assert_eq!(resources(&playbook, "web1.example.com"), vec!["file /etc/go-version"]);
}

#[test]
fn an_undefined_variable_is_reported_for_the_host_that_lacks_it() {
  let text = r#"
host "a" {
  vars {
    v = "x"
  }
}
host "b" {}
file "/etc/x" {
  content = "{{ v }}"
}
"#;
  let (_, diagnostics) = resolve(&[("a.goenv", text)]);
  let messages: Vec<String> =
    diagnostics.iter().map(|d| format!("{} {}", d.message, d.labels[0].text)).collect();
  assert_eq!(messages, vec!["undefined variable `v` not defined for host `b`"]);
}

#[test]
fn templates_that_use_facts_are_left_for_plan_time() {
  let text = "go toolchain \"1.22.5\" {\n  source = \"https://go.dev/dl/go1.22.5.linux-{{ facts.goarch }}.tar.gz\"\n  sha256 = \"{{ facts.goarch }}\"\n}\n";
  let (_, diagnostics) = resolve(&[("a.goenv", text)]);
  assert!(diagnostics.is_empty(), "a sha256 that depends on facts cannot be checked yet: {diagnostics:?}");
}
