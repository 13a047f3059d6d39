//! The group tree of an inventory once every source is read, settled the way
//! Ansible's `reconcile_inventory` settles it: `all` and `ungrouped` always
//! exist, every group without a parent is a child of `all`, and `ungrouped`
//! holds exactly the hosts that no other group (but `all`) lists. From the
//! settled tree come each group's depth (counted from `all`, the deepest path
//! winning), the order in which a host's groups apply their variables (by
//! depth, then `ansible_group_priority`, then name), and each group's hosts.

use crate::check::inventory::{Inventory, Name};
use crate::source::Span;
use indexmap::{IndexMap, IndexSet};
use std::collections::{HashMap, HashSet};

/// The group every group belongs to.
pub const ALL: &str = "all";
/// The group of hosts that no other group lists.
pub const UNGROUPED: &str = "ungrouped";
/// A group's priority when `ansible_group_priority` does not set it.
const DEFAULT_PRIORITY: i64 = 1;

/// Who is whose parent, computed once so that looking up a host's groups does
/// not search every group's list of hosts.
#[derive(Debug, Default)]
pub struct Tree {
  /// The groups that list each host, in inventory order.
  direct: HashMap<String, Vec<String>>,
  /// The groups that have each group as a child.
  parents: HashMap<String, Vec<String>>,
  /// Each group's depth: 0 for `all`.
  depth: HashMap<String, usize>,
}

impl Inventory {
  /// Settles the inventory as Ansible does after reading its sources: adds
  /// `all` and `ungrouped`, makes every parentless group a child of `all`, and
  /// puts into `ungrouped` the hosts no other group lists (and only those).
  pub fn settle(&mut self) {
    // Ansible creates `all` and `ungrouped` first, and `ungrouped` as the
    // first child of `all`.
    for (index, name) in [ALL, UNGROUPED].into_iter().enumerate() {
      if !self.groups.contains_key(name) {
        let group = super::Group { name: name.to_owned(), span: Span::default(), ..super::Group::default() };
        self.groups.insert(name.to_owned(), group);
      }
      if let Some(at) = self.groups.get_index_of(name) {
        self.groups.move_index(at, index);
      }
    }
    if let Some(all) = self.groups.get_mut(ALL)
      && !all.children.iter().any(|c| c.name == UNGROUPED)
    {
      all.children.insert(0, Name { name: UNGROUPED.to_owned(), span: Span::default() });
    }
    let has_parent: HashSet<String> =
      self.groups.values().flat_map(|g| g.children.iter().map(|c| c.name.clone())).collect();
    let orphans: Vec<Name> = self
      .groups
      .values()
      .filter(|g| g.name != ALL && !has_parent.contains(&g.name))
      .map(|g| Name { name: g.name.clone(), span: g.span })
      .collect();
    if let Some(all) = self.groups.get_mut(ALL) {
      let known: HashSet<String> = all.children.iter().map(|c| c.name.clone()).collect();
      all.children.extend(orphans.into_iter().filter(|o| !known.contains(&o.name)));
    }
    let grouped: HashSet<&str> = self
      .groups
      .values()
      .filter(|g| g.name != ALL && g.name != UNGROUPED)
      .flat_map(|g| g.hosts.iter().map(|h| h.name.as_str()))
      .collect();
    let lonely: IndexSet<String> =
      self.hosts.keys().filter(|h| !grouped.contains(h.as_str())).cloned().collect();
    let spans: HashMap<String, Span> = self.hosts.iter().map(|(n, h)| (n.clone(), h.span)).collect();
    if let Some(ungrouped) = self.groups.get_mut(UNGROUPED) {
      ungrouped.hosts.retain(|h| lonely.contains(&h.name));
      let listed: HashSet<String> = ungrouped.hosts.iter().map(|h| h.name.clone()).collect();
      for host in lonely.into_iter().filter(|h| !listed.contains(h)) {
        let span = spans.get(&host).copied().unwrap_or_default();
        ungrouped.hosts.push(Name { name: host, span });
      }
    }
  }

  /// The group tree of a settled inventory.
  pub fn tree(&self) -> Tree {
    let mut tree = Tree::default();
    for (name, group) in &self.groups {
      for host in &group.hosts {
        let direct = tree.direct.entry(host.name.clone()).or_default();
        if !direct.contains(name) {
          direct.push(name.clone());
        }
      }
      for child in &group.children {
        let parents = tree.parents.entry(child.name.clone()).or_default();
        if !parents.contains(name) {
          parents.push(name.clone());
        }
      }
    }
    // Depth: the longest path from `all`, found by relaxing edges in
    // breadth-first order; a cycle (reported elsewhere) stops at the number
    // of groups.
    let limit = self.groups.len();
    let mut queue = std::collections::VecDeque::from([(ALL.to_owned(), 0usize)]);
    tree.depth.insert(ALL.to_owned(), 0);
    while let Some((name, depth)) = queue.pop_front() {
      let Some(group) = self.groups.get(&name) else { continue };
      for child in &group.children {
        let next = depth + 1;
        if next > limit {
          continue;
        }
        if tree.depth.get(&child.name).is_none_or(|d| *d < next) {
          tree.depth.insert(child.name.clone(), next);
          queue.push_back((child.name.clone(), next));
        }
      }
    }
    tree
  }

  /// The groups of `host` with all their ancestors, `all` included, in the
  /// order Ansible applies their variables: by depth, then priority, then name.
  pub fn host_groups(&self, tree: &Tree, host: &str) -> Vec<String> {
    let mut seen: IndexSet<String> = IndexSet::new();
    let mut stack: Vec<String> = tree.direct.get(host).cloned().unwrap_or_default();
    while let Some(group) = stack.pop() {
      if seen.insert(group.clone()) {
        stack.extend(tree.parents.get(&group).into_iter().flatten().cloned());
      }
    }
    if self.hosts.contains_key(host) {
      seen.insert(ALL.to_owned());
    }
    let mut groups: Vec<String> = seen.into_iter().collect();
    groups.sort_by(|a, b| self.group_key(tree, a).cmp(&self.group_key(tree, b)));
    groups
  }

  fn group_key<'a>(&self, tree: &Tree, name: &'a str) -> (usize, i64, &'a str) {
    let depth = tree.depth.get(name).copied().unwrap_or(0);
    let priority = self.groups.get(name).and_then(|g| g.priority).unwrap_or(DEFAULT_PRIORITY);
    (depth, priority, name)
  }

  /// The hosts of `group` and of its descendants, as Ansible lists them: the
  /// group's own hosts, then those of its children level by level.
  pub fn group_hosts(&self, group: &str) -> IndexSet<String> {
    let mut out = IndexSet::new();
    if group == ALL {
      // Every host is in `all`, whether or not a group lists it.
      let mut listed = self.group_hosts_walk(ALL);
      listed.extend(self.hosts.keys().cloned());
      out = listed;
      return out;
    }
    out.extend(self.group_hosts_walk(group));
    out
  }

  fn group_hosts_walk(&self, group: &str) -> IndexSet<String> {
    let mut out = IndexSet::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut level: Vec<&str> = vec![group];
    while !level.is_empty() {
      let mut next = Vec::new();
      for name in level {
        if !seen.insert(name) {
          continue;
        }
        let Some(g) = self.groups.get(name) else { continue };
        out.extend(g.hosts.iter().map(|h| h.name.clone()));
        next.extend(g.children.iter().map(|c| c.name.as_str()));
      }
      level = next;
    }
    out
  }

  /// Every group's members, for templates' `groups`: each group's hosts with
  /// those of its descendants.
  pub fn all_group_hosts(&self) -> IndexMap<String, Vec<String>> {
    self.groups.keys().map(|g| (g.clone(), self.group_hosts(g).into_iter().collect())).collect()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn settled(text: &str) -> Inventory {
    crate::check::inventory::settled_ini(text)
  }

  fn names(names: &[Name]) -> Vec<&str> {
    names.iter().map(|n| n.name.as_str()).collect()
  }

  #[test]
  fn hosts_under_all_and_without_a_group_are_ungrouped_and_ungrouped_always_exists() {
    let inventory = settled("h0\n[all]\nh1\n[web]\nw1\nh0\n");
    assert_eq!(names(&inventory.groups[UNGROUPED].hosts), ["h1"]);
    assert_eq!(names(&inventory.groups[ALL].children), ["ungrouped", "web"]);
    let empty = settled("[web]\nw1\n");
    assert!(empty.groups[UNGROUPED].hosts.is_empty());
    assert_eq!(empty.groups.keys().take(2).collect::<Vec<_>>(), ["all", "ungrouped"]);
  }

  #[test]
  fn groups_apply_by_depth_from_all_then_priority_then_name() {
    let text = "[b]\nh\n[a]\nh\n[p:children]\na\n[z]\nh\n[z:vars]\nansible_group_priority=0\n";
    let inventory = settled(text);
    let tree = inventory.tree();
    // `b` and `z` are at depth 1 (`z` first by priority), `p` at depth 1, `a` at 2.
    assert_eq!(inventory.host_groups(&tree, "h"), ["all", "z", "b", "p", "a"]);
  }
}
