//! Steps that change the same files, written together.
//!
//! Several resources often change one file: every `export` and `path` adds
//! its block to `~/.config/converge/env.sh`, its fish and its
//! `environment.d` twins, and a managed block in `~/.bashrc` shares that file
//! with the line that sources `env.sh`. Applied one step at a time, each such
//! file is written (copied, synced, checked, renamed) once per step. A group
//! writes it once, with what the last of its steps leaves, and its steps
//! succeed or fail together.
//!
//! That is already how they fail: a step that finds a shared file other than
//! as the plan left it after the earlier steps stops with "changed since the
//! plan", so the failure of an earlier step fails the later ones. A group
//! adds the other direction: when the shared write fails, the earlier steps
//! fail too, and the file keeps its old content.
//!
//! A group is only formed where nothing can tell the difference:
//! - its steps only write files (no command, no removal), as the login user
//!   (no `sudo`), with contents small enough to be quoted in the script;
//! - every step that touches one of its files is in it;
//! - its steps depend only on each other;
//! - between its first and its last step runs no command and no `sudo`, and
//!   no step there depends on one of its steps (the group is written where
//!   its last step stands).

use crate::plan::change::Change;
use crate::plan::planner::Step;
use std::collections::BTreeMap;

/// Steps written together, and the changes that do it: one write per file,
/// from what the file held before the first of the steps to what the last
/// leaves, in the order the files are first written.
#[derive(Debug)]
pub(super) struct Group {
  /// The steps, in order; the group runs where the last one stands.
  pub members: Vec<usize>,
  pub changes: Vec<Change>,
}

/// The groups of a host's plan: only those of two steps or more.
/// `privileged`: the login user is root, and needs no `sudo`.
pub(super) fn groups(steps: &[Step], privileged: bool, stream_from: usize) -> Vec<Group> {
  let sudo = |st: &Step| super::needs_sudo(&st.changes, privileged);
  let runs = |st: &Step| st.changes.iter().any(|c| matches!(c, Change::Run { .. }));
  let candidate = |st: &Step| {
    !st.failed()
      && !st.changes.is_empty()
      && !sudo(st)
      && st.changes.iter().all(|c| matches!(c, Change::Write { after, .. } if after.data.len() < stream_from))
  };
  // Steps that touch a file are joined with the others that do.
  let mut parent: Vec<usize> = (0..steps.len()).collect();
  fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    i
  }
  let mut first_toucher: BTreeMap<&str, usize> = BTreeMap::new();
  for (i, st) in steps.iter().enumerate().filter(|(_, st)| !st.failed()) {
    for change in &st.changes {
      let (Change::Write { path, .. } | Change::Remove { path, .. }) = change else { continue };
      let j = *first_toucher.entry(path.as_str()).or_insert(i);
      let (a, b) = (find(&mut parent, i), find(&mut parent, j));
      parent[a.max(b)] = a.min(b);
    }
  }
  let mut components: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
  for (i, st) in steps.iter().enumerate() {
    if !st.failed() && !st.changes.is_empty() {
      let r = find(&mut parent, i);
      components.entry(r).or_default().push(i);
    }
  }
  let mut out = Vec::new();
  for members in components.into_values().filter(|m| m.len() > 1) {
    let (lo, hi) = (members[0], members[members.len() - 1]);
    let inside = |d: &usize| members.binary_search(d).is_ok();
    let formed = members.iter().all(|&i| candidate(&steps[i]) && steps[i].depends_on.iter().all(inside))
      && (lo + 1..hi).filter(|i| !inside(i)).all(|i| {
        let st = &steps[i];
        st.failed() || st.changes.is_empty() || (!runs(st) && !sudo(st) && !st.depends_on.iter().any(inside))
      });
    if !formed {
      continue;
    }
    // One write per file: the first step's `before`, the last one's `after`.
    let mut order: Vec<&str> = Vec::new();
    let mut merged: BTreeMap<&str, Change> = BTreeMap::new();
    for &i in &members {
      for change in &steps[i].changes {
        let Change::Write { path, after, .. } = change else { continue };
        match merged.get_mut(path.as_str()) {
          Some(Change::Write { after: last, .. }) => *last = after.clone(),
          _ => {
            order.push(path);
            merged.insert(path, change.clone());
          }
        }
      }
    }
    let changes = order.iter().filter_map(|p| merged.remove(p)).collect();
    out.push(Group { members, changes });
  }
  out
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::plan::change::FileState;

  fn write(path: &str, before: Option<&str>, after: &str) -> Change {
    let state = |d: &str| FileState { data: d.as_bytes().into(), mode: None, owner: None };
    Change::Write { path: path.to_owned(), before: before.map(state), after: state(after), system: false }
  }

  fn step(changes: Vec<Change>, depends_on: Vec<usize>) -> Step {
    Step { changes, depends_on, ..Step::default() }
  }

  fn data(c: &Change) -> (&str, Option<&[u8]>, &[u8]) {
    match c {
      Change::Write { path, before, after, .. } => {
        (path, before.as_ref().map(|b| &b.data[..]), &after.data[..])
      }
      _ => ("", None, b""),
    }
  }

  #[test]
  fn steps_sharing_a_file_write_it_once_from_the_first_before_to_the_last_after() {
    let p = vec![
      step(vec![write("/h/env.sh", None, "A"), write("/h/.bashrc", Some("u"), "u+src")], vec![]),
      step(vec![write("/h/env.sh", Some("A"), "AB")], vec![]),
      step(vec![write("/h/go/env", None, "G")], vec![]),
      step(vec![write("/h/.bashrc", Some("u+src"), "u+src+alias")], vec![]),
    ];
    let g = groups(&p, false, 1 << 16);
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].members, vec![0, 1, 3]);
    let got: Vec<_> = g[0].changes.iter().map(data).collect();
    assert_eq!(
      got,
      vec![("/h/env.sh", None, &b"AB"[..]), ("/h/.bashrc", Some(&b"u"[..]), &b"u+src+alias"[..])]
    );
  }

  #[test]
  fn no_group_where_the_difference_could_be_seen() {
    let run = Change::Run { summary: "x".into(), script: "true".into(), system: false, payload: None };
    let shared = || vec![write("/h/env.sh", None, "A")];
    // A command between the steps may read the file.
    let p = vec![step(shared(), vec![]), step(vec![run.clone()], vec![]), step(shared(), vec![])];
    assert!(groups(&p, false, 1 << 16).is_empty());
    // A step depends on one outside the group.
    let p = vec![step(vec![run.clone()], vec![]), step(shared(), vec![]), step(shared(), vec![0])];
    assert!(groups(&p, false, 1 << 16).is_empty());
    // A step between depends on a step of the group.
    let p =
      vec![step(shared(), vec![]), step(vec![write("/h/x", None, "x")], vec![0]), step(shared(), vec![])];
    assert!(groups(&p, false, 1 << 16).is_empty());
    // A step of the group also runs a command, or removes a file.
    let p = vec![step(vec![write("/h/env.sh", None, "A"), run], vec![]), step(shared(), vec![])];
    assert!(groups(&p, false, 1 << 16).is_empty());
    let gone = FileState { data: b"A"[..].into(), mode: None, owner: None };
    let rm = Change::Remove { path: "/h/env.sh".into(), before: gone, system: false };
    let p = vec![step(shared(), vec![]), step(vec![rm], vec![])];
    assert!(groups(&p, false, 1 << 16).is_empty());
    // A system file, for a login user who is not root.
    let sys = || {
      let after = FileState { data: b"x"[..].into(), mode: None, owner: None };
      vec![Change::Write { path: "/etc/x".into(), before: None, after, system: true }]
    };
    let p = vec![step(sys(), vec![]), step(sys(), vec![])];
    assert!(groups(&p, false, 1 << 16).is_empty());
    // Content too large to be quoted in the script.
    let p = vec![step(shared(), vec![]), step(shared(), vec![])];
    assert!(groups(&p, false, 1).is_empty());
    // Depending on each other is fine.
    let p = vec![step(shared(), vec![]), step(shared(), vec![0])];
    assert_eq!(groups(&p, false, 1 << 16).len(), 1);
  }
}
