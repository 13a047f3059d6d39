//! Removal converges too: what leaves a playbook is taken off the hosts by
//! the ledger's record of what converge wrote, byte for byte, and only that.

use crate::converge_test;
use crate::test::{NO_CHANGES, Transport, Tree};
use std::collections::BTreeMap;
use std::path::Path;

/// Every file below the tree's `dir` (converge's own state left out), by path.
fn snapshot(tree: &Tree, dir: &str) -> BTreeMap<String, Vec<u8>> {
  fn walk(base: &Path, at: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(at) else { return };
    for entry in entries.flatten() {
      let path = entry.path();
      let rel = path.strip_prefix(base).map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
      if rel.starts_with(".local/state/converge") {
        continue;
      }
      match entry.file_type() {
        Ok(t) if t.is_dir() => walk(base, &path, out),
        Ok(_) => {
          out.insert(rel, std::fs::read(&path).unwrap_or_default());
        }
        Err(_) => {}
      }
    }
  }
  let base = tree.path(dir);
  let mut out = BTreeMap::new();
  walk(&base, &base, &mut out);
  out
}

/// A home with the user's own lines in the files converge writes blocks into.
fn seeded(transport: Transport) -> Tree {
  let tree = Tree::new(transport);
  tree.write("/home/dev/.bashrc", b"# my bashrc\nalias ll='ls -l'\n");
  tree.write("/home/dev/.profile", b"# my profile\numask 022\n");
  tree.write("/home/dev/.config/go/env", b"GOFLAGS=-mod=mod\n");
  tree.write(
    "/home/dev/.vscode-server/data/Machine/settings.json",
    b"{\n  // mine\n  \"editor.tabSize\": 2\n}\n",
  );
  tree
}

/// Applies `playbook` on the tree, then a playbook without it, and checks the
/// home holds exactly its bytes from before.
fn add_then_remove(tree: &Tree, what: &str, playbook: &str) {
  let before = snapshot(tree, "/home/dev");
  tree.apply(playbook);
  assert_ne!(snapshot(tree, "/home/dev"), before, "{what}: the apply changed nothing");
  let (status, text) = tree.plan("");
  assert_eq!(status, 2, "{what}: the removal is planned:\n{text}");
  assert!(text.contains("0 to create, 0 to update, ") && !text.contains(" 0 to remove"), "{what}:\n{text}");
  assert!(text.contains("(intent)"), "{what}: a removal is intent:\n{text}");
  tree.apply("");
  let after = snapshot(tree, "/home/dev");
  for (path, bytes) in &before {
    assert_eq!(
      after.get(path).map(|b| String::from_utf8_lossy(b).into_owned()),
      Some(String::from_utf8_lossy(bytes).into_owned()),
      "{what}: `{path}` is not as it was"
    );
  }
  let left: Vec<&String> = after.keys().filter(|p| !before.contains_key(*p)).collect();
  assert!(left.is_empty(), "{what}: files left behind: {left:?}");
}

converge_test!(every_kind_added_then_removed_leaves_the_bytes_it_found);
fn every_kind_added_then_removed_leaves_the_bytes_it_found(transport: Transport) {
  let tree = seeded(transport);
  for (what, playbook) in [
    ("export", "export EDITOR = \"vim\"\n"),
    ("path", "path prepend [\"$HOME/go/bin\"]\n"),
    ("two exports", "export EDITOR = \"vim\"\nexport PAGER = \"less\"\n"),
    ("managed block", "managed block \"~/.bashrc\" {\n  content = \"alias gt='go test ./...'\\n\"\n}\n"),
    ("file", "file \"~/.config/motd\" {\n  content = \"hello\\n\"\n}\n"),
    ("template", "template \"~/.gitconfig\" {\n  content = \"[user]\\n  name = {{ host }}\\n\"\n}\n"),
    ("goenv", "goenv {\n  GOPRIVATE = \"git.example.com\"\n}\n"),
    ("proxy", "proxy [\"https://goproxy.example.com\", direct]\n"),
    ("vscode", "vscode settings {\n  \"go.useLanguageServer\" = true\n}\n"),
  ] {
    add_then_remove(&tree, what, playbook);
  }
}

/// Local only: a live `sysctl -w` on the testbed would change this machine's kernel.
#[test]
fn a_sysctl_key_leaves_the_file_converge_created() {
  let tree = Tree::new(Transport::Local);
  tree.apply("sysctl \"fs.inotify.max_user_watches\" = 524288\n");
  assert!(tree.path("/etc/sysctl.d/90-converge.conf").exists());
  let (_, text) = tree.plan("");
  assert!(text.contains("the live value of `fs.inotify.max_user_watches` is kept"), "{text}");
  tree.apply("");
  assert!(!tree.path("/etc/sysctl.d/90-converge.conf").exists(), "the file converge created is gone");
}

#[test]
fn a_sysctl_key_leaves_a_file_that_holds_other_keys() {
  let tree = Tree::new(Transport::Local);
  tree.write("/etc/sysctl.d/90-converge.conf", b"# kept\nvm.swappiness = 10\n");
  tree.apply("sysctl \"fs.inotify.max_user_watches\" = 524288\n");
  tree.apply("");
  assert_eq!(tree.read("/etc/sysctl.d/90-converge.conf"), b"# kept\nvm.swappiness = 10\n");
}

converge_test!(a_removed_resource_leaves_the_ones_still_declared_alone);
fn a_removed_resource_leaves_the_ones_still_declared_alone(transport: Transport) {
  let tree = seeded(transport);
  tree.apply("export EDITOR = \"vim\"\nexport PAGER = \"less\"\n");
  tree.apply("export PAGER = \"less\"\n");
  let env = String::from_utf8_lossy(&tree.read("/home/dev/.config/converge/env.sh")).into_owned();
  assert!(!env.contains("EDITOR"), "{env}");
  assert!(env.contains("export PAGER=\"less\"") && env.contains("BEGIN converge: functions"), "{env}");
  let bashrc = String::from_utf8_lossy(&tree.read("/home/dev/.bashrc")).into_owned();
  assert!(bashrc.contains("BEGIN converge: env"), "the hook stays for PAGER:\n{bashrc}");
  let out = tree.shell(&["bash", "-lc", "echo \"[${EDITOR:-}] [$PAGER]\""], &[]);
  assert_eq!(out, "[] [less]");
}

converge_test!(a_hand_edited_file_is_kept_as_drift_unless_force_remove);
fn a_hand_edited_file_is_kept_as_drift_unless_force_remove(transport: Transport) {
  let tree = Tree::new(transport);
  tree.apply("file \"/etc/converge-motd\" {\n  content = \"hello\\n\"\n}\n");
  tree.write("/etc/converge-motd", b"hello, edited by hand\n");
  let (status, text) = tree.plan("");
  assert_eq!(status, 0, "nothing is removed:\n{text}");
  assert!(text.contains("was edited since converge wrote it: kept (drift)"), "{text}");
  let out = tree.converge("", &[]);
  assert_eq!(out.status.code(), Some(0));
  assert_eq!(tree.read("/etc/converge-motd"), b"hello, edited by hand\n");
  let out = tree.converge("", &["--force-remove"]);
  let text = String::from_utf8_lossy(&out.stdout).into_owned();
  assert_eq!(out.status.code(), Some(0), "{text}");
  assert!(text.contains("- file /etc/converge-motd (drift)"), "{text}");
  assert!(!tree.path("/etc/converge-motd").exists(), "--force-remove removes it");
  let (status, text) = tree.plan("");
  assert!(status == 0 && text.contains(NO_CHANGES), "the ledger forgot it:\n{text}");
}

converge_test!(a_hand_edited_block_is_kept_as_drift);
fn a_hand_edited_block_is_kept_as_drift(transport: Transport) {
  let tree = seeded(transport);
  tree.apply("managed block \"~/.bashrc\" {\n  content = \"alias gt='go test ./...'\\n\"\n}\n");
  let edited = String::from_utf8_lossy(&tree.read("/home/dev/.bashrc")).replace("alias gt=", "alias gt2=");
  tree.write("/home/dev/.bashrc", edited.as_bytes());
  let (_, text) = tree.plan("");
  assert!(text.contains("was edited since converge wrote it: kept (drift)"), "{text}");
  tree.converge("", &[]);
  assert_eq!(String::from_utf8_lossy(&tree.read("/home/dev/.bashrc")), edited);
  tree.converge("", &["--force-remove"]);
  assert_eq!(tree.read("/home/dev/.bashrc"), b"# my bashrc\nalias ll='ls -l'\n");
}

converge_test!(no_prune_keeps_everything);
fn no_prune_keeps_everything(transport: Transport) {
  let tree = seeded(transport);
  tree.apply("export EDITOR = \"vim\"\nfile \"/etc/converge-motd\" {\n  content = \"hello\\n\"\n}\n");
  let before = snapshot(&tree, "/home/dev");
  let out = tree.converge("", &["--no-prune"]);
  let text = String::from_utf8_lossy(&out.stdout).into_owned();
  assert_eq!(out.status.code(), Some(0), "{text}");
  assert!(text.contains("not pruned (--no-prune): export EDITOR, file /etc/converge-motd"), "{text}");
  assert_eq!(snapshot(&tree, "/home/dev"), before);
  assert_eq!(tree.read("/etc/converge-motd"), b"hello\n");
  // The ledger still knows them: a run without the flag removes them.
  tree.apply("");
  assert!(!tree.path("/etc/converge-motd").exists());
}

converge_test!(a_host_without_a_ledger_prunes_nothing_and_says_why);
fn a_host_without_a_ledger_prunes_nothing_and_says_why(transport: Transport) {
  let tree = seeded(transport);
  tree.apply("file \"/etc/converge-motd\" {\n  content = \"hello\\n\"\n}\n");
  std::fs::remove_file(tree.path("/home/dev/.local/state/converge/ledger.jsonl"))
    .unwrap_or_else(|e| panic!("{e}"));
  let _ = std::fs::remove_dir_all(tree.dir().join("state"));
  let (status, text) = tree.plan("");
  assert_eq!(status, 0, "{text}");
  assert!(text.contains("nothing is pruned: converge has no ledger of this host"), "{text}");
  tree.apply("");
  assert_eq!(tree.read("/etc/converge-motd"), b"hello\n");
}

converge_test!(json_and_markdown_plans_carry_removals);
fn json_and_markdown_plans_carry_removals(transport: Transport) {
  let tree = seeded(transport);
  tree.apply("export EDITOR = \"vim\"\n");
  let out = tree.converge("", &["--plan", "--format", "json"]);
  let json: serde_json::Value = serde_json::from_slice(&out.stdout)
    .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
  let steps = &json["hosts"][0]["steps"];
  assert_eq!(steps[0]["name"], "export EDITOR", "{json}");
  assert_eq!(steps[0]["action"], "remove", "{json}");
  assert_eq!(steps[0]["label"], "intent", "{json}");
  assert!(steps[0]["changes"].as_array().is_some_and(|c| !c.is_empty()), "{json}");
  let out = tree.converge("", &["--plan", "--format", "markdown"]);
  let text = String::from_utf8_lossy(&out.stdout).into_owned();
  assert!(text.contains("- `export EDITOR`"), "{text}");
  assert!(text.contains("-export EDITOR=\"vim\""), "{text}");
}

#[test]
fn a_saved_plan_removes_what_it_showed() {
  let tree = Tree::new(Transport::Local);
  tree.apply("file \"/etc/converge-motd\" {\n  content = \"hello\\n\"\n}\n");
  let out = tree.converge("", &["--plan", "--out", "plan.json"]);
  assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
  let saved = std::fs::read_to_string(tree.dir().join("plan.json")).unwrap_or_default();
  assert!(saved.contains("\"action\": \"remove\"") || saved.contains("\"action\":\"remove\""), "{saved}");
  let out = tree.run(&["apply", "plan.json"]);
  assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
  assert!(!tree.path("/etc/converge-motd").exists());
}

/// SSH only: verify runs each shell on a live host.
#[test]
fn verify_after_removing_an_export_shows_it_gone_for_every_consumer() {
  let fleet = crate::fleet::Fleet::start(1);
  let with = format!("{}export CONVERGE_REMOVED = \"yes\"\n", fleet.inventory());
  let without = fleet.inventory();
  let out = fleet.converge(&with, &[]);
  assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
  let rows = |doc: &serde_json::Value| -> Vec<(String, Vec<String>)> {
    doc["hosts"][0]["rows"]
      .as_array()
      .into_iter()
      .flatten()
      .filter(|r| r["label"] == "$CONVERGE_REMOVED")
      .map(|r| {
        let states = r["cells"].as_object().into_iter().flatten();
        (r["pending_change"].to_string(), states.map(|(_, c)| c["state"].to_string()).collect())
      })
      .collect()
  };
  // Planned but not applied: every consumer still sees it, and a pending change removes it.
  let out = fleet.command(&without, &["verify"], &["--format", "json"]);
  let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
  let before = rows(&doc);
  assert_eq!(before.len(), 1, "{doc}");
  assert_eq!(before[0].0, "true", "{doc}");
  assert!(before[0].1.iter().any(|s| s == "\"wrong\""), "{doc}");
  let out = fleet.converge(&without, &["--verify", "--format", "json"]);
  let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
  assert_eq!(out.status.code(), Some(0), "{doc}");
  // The apply's own verify checks the removal: no consumer sees the variable.
  let removed: Vec<&serde_json::Value> = doc["verify"]["hosts"][0]["rows"]
    .as_array()
    .into_iter()
    .flatten()
    .filter(|r| r["label"] == "$CONVERGE_REMOVED")
    .collect();
  assert_eq!(removed.len(), 1, "{doc}");
  let cells =
    removed[0]["cells"].as_object().map(|c| c.values().cloned().collect::<Vec<_>>()).unwrap_or_default();
  let consumers = doc["verify"]["hosts"][0]["consumers"].as_array().map_or(0, Vec::len);
  assert!(consumers >= 10 && cells.len() == consumers, "{doc}");
  assert!(cells.iter().all(|c| c["state"] == "ok"), "{doc}");
  for shell in ["bash -lc", "zsh -lc", "sh -lc"] {
    let seen = fleet.ssh("h01", "dev", &format!("{shell} 'echo \"[${{CONVERGE_REMOVED:-}}]\"'"));
    assert_eq!(seen.trim(), "[]", "{shell}");
  }
}

converge_test!(state_absent_takes_out_an_export_and_a_path_entry_converge_never_wrote);
fn state_absent_takes_out_an_export_and_a_path_entry_converge_never_wrote(transport: Transport) {
  let tree = Tree::new(transport);
  tree.write(
    "/home/dev/.profile",
    b"# mine\nexport EDITOR=vi\nexport PATH=\"$PATH:/opt/old/bin\"\n[ -d /opt/old/bin ] && echo old\numask 022\n",
  );
  tree.write("/home/dev/.bashrc", b"PATH=/opt/old/bin:$PATH\nalias ll='ls -l'\n");
  tree.apply("export EDITOR { state = \"absent\" }\npath append [\"/opt/old/bin\"] { state = \"absent\" }\n");
  assert_eq!(
    String::from_utf8_lossy(&tree.read("/home/dev/.profile")),
    "# mine\n[ -d /opt/old/bin ] && echo old\numask 022\n"
  );
  assert_eq!(String::from_utf8_lossy(&tree.read("/home/dev/.bashrc")), "alias ll='ls -l'\n");
  assert!(!tree.path("/home/dev/.config/converge/env.sh").exists(), "an absent export writes no file");
  let out = tree.shell(&["bash", "-lc", "echo \"[${EDITOR:-}] $PATH\""], &[]);
  assert!(out.starts_with("[] ") && !out.contains("/opt/old/bin"), "{out}");
}

converge_test!(state_absent_takes_out_a_block_go_settings_and_vscode_keys_converge_never_wrote);
fn state_absent_takes_out_a_block_go_settings_and_vscode_keys_converge_never_wrote(transport: Transport) {
  let tree = Tree::new(transport);
  tree.write(
    "/home/dev/.bashrc",
    b"# mine\n# BEGIN converge: old\nalias x=y\n# END converge: old\nalias ll='ls -l'\n",
  );
  tree.write("/home/dev/.config/go/env", b"GOFLAGS=-mod=mod\nGOPRIVATE=git.example.com\n");
  let settings = "/home/dev/.vscode-server/data/Machine/settings.json";
  tree.write(settings, b"{\n  // mine\n  \"go.useLanguageServer\": true,\n  \"editor.tabSize\": 2\n}\n");
  tree.apply(
    "managed block \"~/.bashrc\" {\n  marker = \"old\"\n  state = \"absent\"\n}\n\
     goenv {\n  state = \"absent\"\n  GOFLAGS = \"\"\n}\n\
     vscode settings {\n  state = \"absent\"\n  \"go.useLanguageServer\" = true\n}\n",
  );
  assert_eq!(String::from_utf8_lossy(&tree.read("/home/dev/.bashrc")), "# mine\nalias ll='ls -l'\n");
  assert_eq!(String::from_utf8_lossy(&tree.read("/home/dev/.config/go/env")), "GOPRIVATE=git.example.com\n");
  let text = String::from_utf8_lossy(&tree.read(settings)).into_owned();
  assert!(
    !text.contains("useLanguageServer") && text.contains("// mine") && text.contains("\"editor.tabSize\": 2"),
    "{text}"
  );
}

#[test]
fn state_absent_takes_a_sysctl_key_out_of_its_file() {
  let tree = Tree::new(Transport::Local);
  tree.write(
    "/etc/sysctl.d/90-converge.conf",
    b"# kept\nvm.swappiness = 10\nfs.inotify.max_user_watches = 1\n",
  );
  tree.apply("sysctl \"fs.inotify.max_user_watches\" { state = \"absent\" }\n");
  assert_eq!(tree.read("/etc/sysctl.d/90-converge.conf"), b"# kept\nvm.swappiness = 10\n");
}

converge_test!(a_command_is_never_undone_unless_it_has_undo);
fn a_command_is_never_undone_unless_it_has_undo(transport: Transport) {
  let tree = Tree::new(transport);
  tree.apply(
    "command \"echo a > \\\"$HOME/made-a\\\"\" {\n  creates = \"~/made-a\"\n}\n\
     command \"echo b > \\\"$HOME/made-b\\\"\" {\n  creates = \"~/made-b\"\n  undo = \"rm -f \\\"$HOME/made-b\\\"\"\n}\n",
  );
  assert!(tree.path("/home/dev/made-a").exists() && tree.path("/home/dev/made-b").exists());
  let (status, text) = tree.plan("");
  assert_eq!(status, 2, "{text}");
  assert!(text.contains("a command is never undone"), "{text}");
  assert!(text.contains("undo: rm -f"), "{text}");
  tree.apply("");
  assert!(tree.path("/home/dev/made-a").exists(), "a command without undo is not undone");
  assert!(!tree.path("/home/dev/made-b").exists(), "undo ran");
  // Both left the ledger: the plan no longer mentions them.
  let (_, text) = tree.plan("");
  assert!(!text.contains("never undone"), "{text}");
}

converge_test!(a_command_without_undo_leaves_the_ledger_on_its_own);
fn a_command_without_undo_leaves_the_ledger_on_its_own(transport: Transport) {
  let tree = Tree::new(transport);
  tree.apply("command \"echo a > \\\"$HOME/made-a\\\"\" {\n  creates = \"~/made-a\"\n}\n");
  let (status, text) = tree.plan("");
  assert!(status == 0 && text.contains("a command is never undone"), "{text}");
  tree.apply("");
  let (_, text) = tree.plan("");
  assert!(!text.contains("never undone"), "the ledger forgot it:\n{text}");
}

#[test]
fn the_undo_of_a_sensitive_command_is_not_shown() {
  let tree = Tree::new(Transport::Local);
  tree.apply(
    "command \"echo s3cret-token > \\\"$HOME/token\\\"\" {\n  creates = \"~/token\"\n  undo = \"rm -f \\\"$HOME/token\\\" # s3cret-token\"\n  sensitive = true\n}\n",
  );
  let (status, text) = tree.plan("");
  assert_eq!(status, 2, "{text}");
  assert!(text.contains("run: (sensitive)") && !text.contains("s3cret-token"), "{text}");
  tree.apply("");
  assert!(!tree.path("/home/dev/token").exists());
}

converge_test!(a_handler_that_was_not_notified_is_not_pruned);
fn a_handler_that_was_not_notified_is_not_pruned(transport: Transport) {
  let tree = Tree::new(transport);
  let playbook = "file \"/etc/converge-marker\" {\n  content = \"x\"\n  notify = [\"reload\"]\n}\n\
                  handler \"reload\" {\n  command \"echo reloaded >> \\\"$HOME/handler.log\\\"\" {\n    undo = \"rm -f \\\"$HOME/handler.log\\\"\"\n  }\n}\n";
  // The apply's own re-plan must be empty: the handler is not notified then,
  // but it is still in the playbook.
  tree.apply(playbook);
  tree.apply(playbook);
  assert_eq!(tree.read("/home/dev/handler.log"), b"reloaded\n");
}

converge_test!(a_resource_given_a_name_or_moved_keeps_its_ledger_record);
fn a_resource_given_a_name_or_moved_keeps_its_ledger_record(transport: Transport) {
  let tree = Tree::new(transport);
  tree.apply("file \"/home/dev/notes\" {\n  content = \"a\\n\"\n}\n");
  tree.write("/home/dev/notes", b"edited\n");
  // The same resource, now named and further down: its record still says
  // what converge left there, so the edit is drift and nothing is pruned.
  let named = "# notes\n\nfile \"/home/dev/notes\" {\n  content = \"a\\n\"\n  name = \"my notes\"\n}\n";
  let (status, text) = tree.plan(named);
  assert_eq!(status, 2, "{text}");
  assert!(text.contains("(drift)") && !text.contains("(new)"), "the edit is drift:\n{text}");
  assert!(text.contains(" 0 to remove"), "nothing is pruned:\n{text}");
  tree.apply(named);
  let ledger =
    String::from_utf8_lossy(&tree.read("/home/dev/.local/state/converge/ledger.jsonl")).into_owned();
  assert!(ledger.contains("\"key\":\"file /home/dev/notes\""), "{ledger}");
  assert!(ledger.contains("\"name\":\"my notes\""), "{ledger}");
  tree.write("/home/dev/notes", b"edited again\n");
  let (status, text) = tree.plan("file \"/home/dev/notes\" {\n  content = \"a\\n\"\n}\n");
  assert!(status == 2 && text.contains("(drift)") && text.contains(" 0 to remove"), "{text}");
}

converge_test!(a_sensitive_command_moved_to_another_line_keeps_its_record_and_the_ledger_keeps_no_secret);
fn a_sensitive_command_moved_to_another_line_keeps_its_record_and_the_ledger_keeps_no_secret(
  transport: Transport,
) {
  let tree = Tree::new(transport);
  let command =
    "command \"echo s3cret-token > \\\"$HOME/token\\\"\" {\n  creates = \"~/token\"\n  sensitive = true\n}\n";
  tree.apply(command);
  std::fs::remove_file(tree.path("/home/dev/token")).unwrap_or_else(|e| panic!("remove the token: {e}"));
  let moved = format!("# the token\n\n{command}");
  let (status, text) = tree.plan(&moved);
  assert_eq!(status, 2, "{text}");
  assert!(text.contains("(drift)") && !text.contains("(new)"), "the lost file is drift:\n{text}");
  let ledger =
    String::from_utf8_lossy(&tree.read("/home/dev/.local/state/converge/ledger.jsonl")).into_owned();
  assert!(!ledger.contains("s3cret"), "{ledger}");
}

converge_test!(a_ledger_written_before_resource_keys_still_labels_and_prunes_nothing_declared);
fn a_ledger_written_before_resource_keys_still_labels_and_prunes_nothing_declared(transport: Transport) {
  let tree = Tree::new(transport);
  let named = "file \"/home/dev/notes\" {\n  content = \"a\\n\"\n  name = \"my notes\"\n}\n";
  tree.apply(named);
  // An older converge keyed its records by display name and wrote no `key`.
  let path = "/home/dev/.local/state/converge/ledger.jsonl";
  let ledger = String::from_utf8_lossy(&tree.read(path)).into_owned();
  let old = without_keys(&ledger);
  assert_ne!(old, ledger, "the ledger had keys:\n{ledger}");
  tree.write(path, old.as_bytes());
  tree.write("/home/dev/notes", b"edited\n");
  let (status, text) = tree.plan(named);
  assert!(status == 2 && text.contains("(drift)") && text.contains(" 0 to remove"), "{text}");
}

/// The ledger's lines without their `"key":"..."` field.
fn without_keys(ledger: &str) -> String {
  ledger
    .lines()
    .map(|line| match line.find(",\"key\":\"") {
      Some(at) => {
        let rest = &line[at + 8..];
        let end = rest.find('"').map_or(rest.len(), |e| e + 1);
        format!("{}{}\n", &line[..at], &rest[end..])
      }
      None => format!("{line}\n"),
    })
    .collect()
}
