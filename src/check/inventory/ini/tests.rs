//! Table tests of the INI reader: what Ansible accepts, and a diagnostic for each thing it refuses.

use super::*;
use crate::check::inventory::Host;
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
monitoring # defined below, without hosts

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

[monitoring]
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

  // Connection settings are host variables, as in Ansible.
  let bastion = &inventory.hosts["bastion.example.com"];
  assert_eq!(value(&bastion.vars, "ansible_host"), Some(json!("203.0.113.10")));
  assert_eq!(value(&bastion.vars, "ansible_user"), Some(json!("ops")));
  assert_eq!(bastion.vars.len(), 2);
  assert_eq!((bastion.address.as_ref(), bastion.user.as_ref()), (None, None));
  assert_eq!(names(&inventory.groups["ungrouped"].hosts), ["bastion.example.com"]);

  assert_eq!(
    names(&inventory.groups["web"].hosts),
    ["www01.example.com", "www02.example.com", "www03.example.com", "web-canary.example.com"]
  );
  let canary = &inventory.hosts["web-canary.example.com"];
  assert_eq!(value(&canary.vars, "ansible_port"), Some(json!(2222)));
  assert_eq!(value(&canary.vars, "canary"), Some(json!(true)));
  assert_eq!(value(&canary.vars, "weight"), Some(json!(20)), "the later line wins");
  assert_eq!(value(&canary.vars, "go_version"), Some(json!("1.22.5")));
  assert_eq!(value(&canary.vars, "release"), Some(json!("next")));
  assert_eq!(
    canary.vars.keys().collect::<Vec<_>>(),
    ["ansible_port", "canary", "weight", "go_version", "release"]
  );

  for name in ["db-a.example.com", "db-b.example.com", "db-c.example.com"] {
    let db = &inventory.hosts[name];
    let connection = (value(&db.vars, "ansible_user"), value(&db.vars, "ansible_port"));
    assert_eq!(connection, (Some(json!("postgres")), Some(json!(5022))), "{name}");
    assert_eq!(db.vars.len(), 2, "{name}");
  }
  let backup = &inventory.hosts["db-backup"];
  assert_eq!(value(&backup.vars, "ansible_host"), Some(json!("10.0.3.9")));
  assert_eq!(value(&backup.vars, "ansible_ssh_private_key_file"), Some(json!("~/.ssh/backup_ed25519")));
  assert_eq!(value(&backup.vars, "ansible_python_interpreter"), Some(json!("/usr/bin/python3")));
  assert_eq!(backup.vars.len(), 3);

  assert_eq!(value(&inventory.hosts["ci5"].vars, "gopath"), Some(json!("/home/ci/go cache")));
  assert_eq!(value(&inventory.hosts["ci5"].vars, "note"), Some(json!("its")));

  let prod = &inventory.groups["prod"];
  assert!(prod.hosts.is_empty());
  assert_eq!(names(&prod.children), ["web", "db", "monitoring"]);
  let prod_vars: Vec<(&str, Value)> = prod.vars.iter().map(|(k, v)| (k.as_str(), v.value.clone())).collect();
  assert_eq!(
    prod_vars,
    [
      ("ansible_user", json!("deploy")),
      ("ansible_port", json!(2200)),
      ("goproxy", json!("https://proxy.golang.org,direct")),
      ("gc_percent", json!(200)),
      ("debug", json!(false)),
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
  // (value as written, on a host line, in a `:vars` section), as
  // ansible-inventory 2.19 lists them: both are Python literals, and a host
  // line loses its quotes to `shlex` first.
  let cases: &[(&str, Value, Value)] = &[
    ("22", json!(22), json!(22)),
    ("-3", json!(-3), json!(-3)),
    ("+7", json!(7), json!(7)),
    ("0", json!(0), json!(0)),
    ("007", json!("007"), json!("007")),
    ("18446744073709551615", json!(u64::MAX), json!(u64::MAX)),
    ("True", json!(true), json!(true)),
    ("False", json!(false), json!(false)),
    ("true", json!("true"), json!("true")),
    ("false", json!("false"), json!("false")),
    ("yes", json!("yes"), json!("yes")),
    ("no", json!("no"), json!("no")),
    ("None", json!(null), json!(null)),
    ("1.22", json!(1.22), json!(1.22)),
    ("\"22\"", json!(22), json!("22")),
    ("'True'", json!(true), json!("True")),
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
  // (vars line, value), as ansible-inventory 2.19 lists them.
  let cases: &[(&str, Value)] = &[
    ("x=1", json!(1)),
    ("x = 1", json!(1)),
    ("  x\t=\t1  ", json!(1)),
    ("x = a b  c", json!("a b  c")),
    ("x = ' padded '", json!(" padded ")),
    ("x = \"a\" and \"b\"", json!("\"a\" and \"b\"")),
    ("x = it's", json!("it's")),
    ("x = a=b", json!("a=b")),
    ("x =", json!("")),
    ("x = 1 # a Python comment", json!(1)),
    ("x = 'open", json!("'open")),
  ];
  for (line, expected) in cases {
    let inventory = read_ok(&format!("[g]\n[g:vars]\n{line}\n"));
    assert_eq!(value(&inventory.groups["g"].vars, "x").as_ref(), Some(expected), "{line}");
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
  // `host:port` and `ansible_port` are the host variable `ansible_port`,
  // typed as ansible-inventory 2.19 lists it.
  let cases: &[(&str, &str, Option<Value>, Option<&str>)] = &[
    ("web1:2222", "web1", Some(json!(2222)), None),
    ("10.0.0.5:22", "10.0.0.5", Some(json!(22)), None),
    ("[2001:db8::1]:2200", "2001:db8::1", Some(json!(2200)), None),
    ("2001:db8::1", "2001:db8::1", None, None),
    ("fe80:0:0:0:0:0:0:1", "fe80:0:0:0:0:0:0:1", None, None),
    ("web1:2222 ansible_port=22", "web1", Some(json!(22)), None),
    ("web1 ansible_port='2022'", "web1", Some(json!(2022)), None),
    ("web1 ansible_port=022", "web1", Some(json!("022")), None),
    ("web1 ansible_host=web1.internal", "web1", None, Some("web1.internal")),
    ("web1 ansible_host=\"fe80::1%eth0\"", "web1", None, Some("fe80::1%eth0")),
  ];
  for (line, name, port, address) in cases {
    let inventory = read_ok(&format!("{line}\n"));
    let host = &inventory.hosts[*name];
    let address = address.map(|a| json!(a));
    assert_eq!(
      (value(&host.vars, "ansible_port"), value(&host.vars, "ansible_host")),
      (port.clone(), address),
      "{line}"
    );
    assert_eq!((host.port, host.address.as_ref()), (None, None), "{line}");
  }
  let ranged = read_ok("www[1:2].example.com:2222\n");
  assert!(ranged.hosts.values().all(|h| value(&h.vars, "ansible_port") == Some(json!(2222))));
}

#[test]
fn a_port_after_a_later_mention_of_a_host_is_ignored_as_ansible_ignores_it() {
  let inventory = read_ok("h:22\n[g]\nh:2222\n");
  assert_eq!(value(&inventory.hosts["h"].vars, "ansible_port"), Some(json!(22)));
  assert_eq!(names(&inventory.groups["g"].hosts), ["h"]);
}

#[test]
fn a_templated_port_is_left_to_the_resolver() {
  let inventory =
    read_ok("web1:2222 ansible_port=\"{{ base_port + 1 }}\"\n[g]\n[g:vars]\nansible_port={{ p }}\n");
  let web1 = &inventory.hosts["web1"];
  assert_eq!(web1.port, None);
  assert_eq!(value(&web1.vars, "ansible_port"), Some(json!("{{ base_port + 1 }}")));
  assert_eq!(value(&inventory.groups["g"].vars, "ansible_port"), Some(json!("{{ p }}")));
  let later = read_ok("web1 ansible_port=\"{{ p }}\"\n[g]\nweb1 ansible_port=22\n");
  assert_eq!(value(&later.hosts["web1"].vars, "ansible_port"), Some(json!(22)));
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
  assert_eq!(web1.user, None, "the later source's `ansible_user` replaces the `user` of the earlier one");
  assert_eq!(value(&web1.vars, "ansible_user"), Some(json!("deploy")));
  assert_eq!(value(&web1.vars, "region"), Some(json!("eu")));
  assert_eq!(value(&web1.vars, "tier"), Some(json!("silver")));
  assert_eq!(at(text, web1.vars["tier"].span), "tier=silver");
  let web = &inventory.groups["web"];
  assert_eq!(web.span.file, other);
  assert_eq!(names(&web.hosts), ["web0", "web1", "web2"]);
  assert_eq!(value(&web.vars, "x"), Some(json!(2)), "a later source wins without a diagnostic");
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
  let mut inventory = read_ok("lonely\nbusy\n[web]\nbusy\n[all]\nroot\n");
  inventory.settle();
  assert_eq!(names(&inventory.groups["ungrouped"].hosts), ["lonely", "root"], "hosts under `[all]` too");
  assert_eq!(names(&inventory.groups["web"].hosts), ["busy"]);
  let mut none = read_ok("[web]\nweb1\n");
  none.settle();
  assert!(none.groups["ungrouped"].hosts.is_empty(), "`ungrouped` always exists, as in Ansible");
  assert_eq!(names(&none.groups["all"].children), ["ungrouped", "web"]);
}

#[test]
fn sections_accept_what_ansible_accepts() {
  let inventory =
    read_ok("[web] # front\nweb1\n  [db:hosts]  # legacy\n  db1\n[web:children] \n db # comment\n");
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
  assert_eq!(value(&inventory.groups["web"].vars, "ok"), Some(json!(1)));
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
  vars_of_an_undefined_group: "[web:vars]\nx=1\n[g]\nafter\n" => UndefinedInventoryGroup at "web", help "`[web]`";
  vars_of_a_group_with_a_case_typo: "[web]\nafter\n[Web:vars]\nx=1\n" => UndefinedInventoryGroup at "Web", help "`web`";
  children_naming_an_undefined_group: "[prod:children]\nweb\n[g]\nafter\n" => UndefinedInventoryGroup at "web", help "`[web]`";
  semicolon_comment_after_header: "[web] ; front\nafter\n" => Inventory at "; front", help "`#`";
  semicolon_comment_after_a_child: "[g]\nafter\n[p:children]\ng ; c\n" => Inventory at "; c", help "`#`";
  bracketed_ipv6_address_alone: "after\n[::1]\n" => Inventory at "[::1]", help "`::1`";
  group_priority_not_a_number: "[g]\nafter\n[g:vars]\nansible_group_priority=abc\n" => GroupPriority at "abc", help "whole number";
  child_line_with_two_names: "[prod:children]\nweb db\n[web]\nafter\n" => Inventory at "db", help "line of its own";
  child_line_with_a_variable: "[prod:children]\nweb:vars\n[web]\nafter\n" => Inventory at "web:vars", help "`web`";
}

#[test]
fn a_name_given_twice_keeps_the_later_value_as_in_ansible() {
  let inventory = read_ok("web1 a=1 b=2 a=3\n[g]\n[g:vars]\nx=1\n[g:vars]\nx=2\n");
  assert_eq!(value(&inventory.hosts["web1"].vars, "a"), Some(json!(3)));
  assert_eq!(value(&inventory.groups["g"].vars, "x"), Some(json!(2)));
}

#[test]
fn group_priority_is_not_a_variable() {
  let inventory = read_ok("[g]\nh ansible_group_priority=3\n[g:vars]\nansible_group_priority=5\n");
  assert_eq!(inventory.groups["g"].priority, Some(5));
  assert!(inventory.groups["g"].vars.is_empty());
  assert_eq!(value(&inventory.hosts["h"].vars, "ansible_group_priority"), Some(json!(3)), "on a host it is");
}

#[test]
fn unknown_section_type_suggests_the_closest() {
  let (_, diagnostics) = read("[web:childs]\n");
  let help = diagnostics.first().and_then(|d| d.help.clone()).unwrap_or_default();
  assert!(help.contains("`[web:children]`"), "{help}");
}
