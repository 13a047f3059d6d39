//! Removal planning against host states, without a host.

use super::remove::remove_go_env_key;
use super::*;
use crate::plan::change::{Change, FileState};
use crate::plan::ledger::sha256_of;

#[test]
fn go_env_key_removal_keeps_other_lines() {
  assert_eq!(remove_go_env_key(b"A=1\nGOPROXY=x\n# c\nB=2", "GOPROXY"), b"A=1\n# c\nB=2");
  assert_eq!(remove_go_env_key(b"GOPROXY=x\n", "GOPROXY"), b"");
}

fn info() -> HostInfo {
  HostInfo { name: "h".into(), home: "/home/dev".into(), user: "dev".into(), ..HostInfo::default() }
}

fn file(data: &str) -> FileState {
  FileState { data: data.as_bytes().into(), mode: Some(0o644), owner: None }
}

fn state(files: &[(&str, &str)]) -> HostState {
  let mut s = HostState::default();
  for (path, data) in files {
    s.files.insert((*path).to_owned(), Some(file(data)));
  }
  s
}

fn record(owns: Option<Vec<Owned>>) -> Record {
  Record {
    name: "b".into(),
    legacy: false,
    kind: "managed block".into(),
    source: "s".into(),
    run: "r".into(),
    at: 1,
    owns,
  }
}

const BLOCK: &str = "# BEGIN converge: b\nx\n# END converge: b\n";

fn block(path: &str, created: bool, data: &str) -> Owned {
  Owned::Block {
    path: path.into(),
    comment: "#".into(),
    name: "b".into(),
    sha256: block_hash(Some(&file(data)), "#", "b"),
    created,
  }
}

#[test]
fn a_block_leaves_with_the_text_around_it_kept() {
  let before = format!("mine\n{BLOCK}more\n");
  let mut s = state(&[("/home/dev/.bashrc", &before)]);
  let owns = vec![block("/home/dev/.bashrc", false, &before)];
  let step = removal("b", &record(Some(owns)), &info(), &mut s, &mut BTreeSet::new(), false);
  assert_eq!(step.label, Some(Label::Intent));
  assert!(step.owns.is_empty(), "nothing kept: the ledger forgets it");
  assert_eq!(s.file("/home/dev/.bashrc").map(|f| f.data.to_vec()), Some(b"mine\nmore\n".to_vec()));
}

#[test]
fn a_file_converge_created_for_a_block_goes_with_its_last_block() {
  let mut s = state(&[("/home/dev/.zshenv", BLOCK)]);
  let owns = vec![block("/home/dev/.zshenv", true, BLOCK)];
  let step = removal("b", &record(Some(owns)), &info(), &mut s, &mut BTreeSet::new(), false);
  assert!(matches!(step.changes.as_slice(), [Change::Remove { .. }]), "{:?}", step.changes);
}

#[test]
fn an_edited_block_is_drift_kept_unless_forced() {
  let applied = format!("mine\n{BLOCK}");
  let edited = applied.replace("\nx\n", "\ny\n");
  let owns = vec![block("/home/dev/.bashrc", false, &applied)];
  let mut s = state(&[("/home/dev/.bashrc", &edited)]);
  let step = removal("b", &record(Some(owns.clone())), &info(), &mut s, &mut BTreeSet::new(), false);
  assert!(step.changes.is_empty() && step.label.is_none());
  assert_eq!(step.owns, owns, "the ledger keeps what was kept");
  assert!(step.notes.iter().any(|n| n.contains("kept (drift)")), "{:?}", step.notes);
  let step = removal("b", &record(Some(owns)), &info(), &mut s, &mut BTreeSet::new(), true);
  assert_eq!(step.label, Some(Label::Drift));
  assert_eq!(s.file("/home/dev/.bashrc").map(|f| f.data.to_vec()), Some(b"mine\n".to_vec()));
}

#[test]
fn what_the_play_still_owns_stays() {
  let mut s = state(&[("/home/dev/.bashrc", BLOCK)]);
  let owned = block("/home/dev/.bashrc", false, BLOCK);
  let mut kept: BTreeSet<Owned> = [owned.identity()].into_iter().collect();
  let step = removal("b", &record(Some(vec![owned])), &info(), &mut s, &mut kept, false);
  assert!(step.changes.is_empty());
}

#[test]
fn a_record_of_an_older_converge_is_left_alone_and_the_plan_says_so() {
  let mut s = state(&[("/home/dev/.bashrc", BLOCK)]);
  let step = removal("b", &record(None), &info(), &mut s, &mut BTreeSet::new(), false);
  assert!(step.changes.is_empty());
  assert!(step.notes.iter().any(|n| n.contains("older converge")), "{:?}", step.notes);
}

#[test]
fn a_file_is_deleted_only_as_converge_left_it_and_only_if_it_created_it() {
  let sha = sha256_of(Some(&file("hello\n")));
  let owned = |created| Owned::File { path: "/etc/motd".into(), sha256: sha.clone(), created };
  let mut s = state(&[("/etc/motd", "hello\n")]);
  let step = removal("f", &record(Some(vec![owned(false)])), &info(), &mut s, &mut BTreeSet::new(), false);
  assert!(step.changes.is_empty(), "it existed before converge wrote it");
  let step = removal("f", &record(Some(vec![owned(true)])), &info(), &mut s, &mut BTreeSet::new(), false);
  assert!(matches!(step.changes.as_slice(), [Change::Remove { system: true, .. }]), "{:?}", step.changes);
}

#[test]
fn several_blocks_of_one_file_are_one_change() {
  let two = format!("{BLOCK}# BEGIN converge: c\ny\n# END converge: c\n");
  let c = Owned::Block {
    path: "/home/dev/f".into(),
    comment: "#".into(),
    name: "c".into(),
    sha256: String::new(),
    created: true,
  };
  let owns = vec![block("/home/dev/f", true, &two), c];
  let mut s = state(&[("/home/dev/f", &two)]);
  let step = removal("b", &record(Some(owns)), &info(), &mut s, &mut BTreeSet::new(), false);
  match step.changes.as_slice() {
    [Change::Remove { before, .. }] => assert_eq!(&before.data[..], two.as_bytes()),
    other => panic!("{other:?}"),
  }
}

#[test]
fn a_system_path_only_the_hosts_ledger_names_is_not_removed_through_sudo() {
  let owned = Owned::File { path: "/etc/passwd".into(), sha256: "x".into(), created: true };
  let home = Owned::File { path: "/home/dev/f".into(), sha256: "x".into(), created: true };
  let host_only = HostLedger::default();
  let (record, notes) = trusted("f", record(Some(vec![owned.clone(), home.clone()])), &host_only, &info());
  assert_eq!(record.owns, Some(vec![home.clone()]));
  assert!(notes.iter().any(|n| n.contains("`/etc/passwd` is kept")), "{notes:?}");
  let mut agreed = HostLedger::default();
  agreed.controller.resources.insert("f".into(), record_with(vec![owned.clone()]));
  let (record, notes) = trusted("f", record_with(vec![owned.clone(), home.clone()]), &agreed, &info());
  assert_eq!(record.owns, Some(vec![owned.clone(), home.clone()]));
  assert!(notes.is_empty());
  let root = HostInfo { privileged: true, ..info() };
  let (record, _) = trusted("f", record_with(vec![owned.clone()]), &host_only, &root);
  assert_eq!(record.owns, Some(vec![owned]));
}

fn record_with(owns: Vec<Owned>) -> Record {
  record(Some(owns))
}

#[test]
fn ledger_paths_that_climb_or_are_relative_are_not_used() {
  assert!(usable("/etc/profile.d/go.sh"));
  assert!(!usable("etc/x"));
  assert!(!usable("/home/u/../../etc/shadow"));
  assert!(!usable("/"));
}
