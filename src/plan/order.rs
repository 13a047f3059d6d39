//! The order resources are planned and applied in: explicit `after` edges,
//! the edges each kind declares ([`Kind::after_kinds`]) and those implied by the
//! paths resources manage; otherwise the playbook order.
//!
//! [`Kind::after_kinds`]: crate::check::resource::Kind::after_kinds

use crate::check::resource::{HostPath, Resource};
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

/// Resource indices in the order to plan them: explicit `after` edges, the
/// [implicit edges](implicit_edges), and otherwise the playbook order (the
/// lowest index that is ready goes first).
pub fn order(resources: &[Arc<Resource>]) -> Vec<usize> {
  let index: HashMap<String, usize> = resources.iter().enumerate().map(|(i, r)| (r.name(), i)).collect();
  let mut graph = petgraph::graph::DiGraph::<usize, ()>::new();
  let nodes: Vec<_> = (0..resources.len()).map(|i| graph.add_node(i)).collect();
  for (i, r) in resources.iter().enumerate() {
    for a in &r.meta.after {
      if let Some(&j) = index.get(&a.value) {
        graph.add_edge(nodes[j], nodes[i], ());
      }
    }
  }
  for (before, after) in implicit_edges(resources) {
    graph.add_edge(nodes[before], nodes[after], ());
  }
  let mut indegree: Vec<usize> =
    nodes.iter().map(|n| graph.neighbors_directed(*n, petgraph::Direction::Incoming).count()).collect();
  let mut ready: BinaryHeap<std::cmp::Reverse<usize>> =
    (0..resources.len()).filter(|i| indegree[*i] == 0).map(std::cmp::Reverse).collect();
  let mut out = Vec::with_capacity(resources.len());
  while let Some(std::cmp::Reverse(i)) = ready.pop() {
    out.push(i);
    for n in graph.neighbors_directed(nodes[i], petgraph::Direction::Outgoing) {
      let j = graph[n];
      indegree[j] -= 1;
      if indegree[j] == 0 {
        ready.push(std::cmp::Reverse(j));
      }
    }
  }
  // What is left is on a cycle (an `after` cycle was reported at check time):
  // plan it in playbook order.
  for i in 0..resources.len() {
    if !out.contains(&i) {
      out.push(i);
    }
  }
  out
}

/// The edges (before, after) that no `after` needs to state:
///
/// - a resource after every resource of the kinds its kind is planned after
///   ([`Kind::after_kinds`]: a `go tool` after the toolchain and the Go
///   settings that `go install` uses);
/// - a resource that acts on a path ([`Spec::needs_path`], a `selinux label`)
///   after every resource that manages that path, a path below it, or a
///   directory above it;
/// - a resource that manages a path after every resource that manages a
///   directory above it ("a file needs its directory").
///
/// Paths are compared as written, with `~/`, `$HOME/` and `${HOME}/` taken as one.
///
/// [`Spec::needs_path`]: crate::check::resource::Spec::needs_path
/// [`Kind::after_kinds`]: crate::check::resource::Kind::after_kinds
pub fn implicit_edges(resources: &[Arc<Resource>]) -> Vec<(usize, usize)> {
  let paths: Vec<Vec<HostPath>> = resources
    .iter()
    .map(|r| {
      r.spec
        .paths()
        .into_iter()
        .map(|p| match p {
          HostPath::File(p) => HostPath::File(normalize(&p)),
          HostPath::Dir(p) => HostPath::Dir(normalize(&p)),
        })
        .collect()
    })
    .collect();
  let mut edges = Vec::new();
  for (i, r) in resources.iter().enumerate() {
    let others = (0..resources.len()).filter(|j| *j != i);
    let after_kinds = r.after_kinds();
    edges
      .extend(others.clone().filter(|j| after_kinds.contains(&resources[*j].kind.as_str())).map(|j| (j, i)));
    if let Some(need) = r.spec.needs_path().map(|p| normalize(&p)) {
      let related = |p: &HostPath| p.path() == need || is_below(p.path(), &need) || is_below(&need, p.path());
      edges.extend(others.clone().filter(|j| paths[*j].iter().any(related)).map(|j| (j, i)));
    }
    let below_a_dir_of = |j: usize| {
      paths[j].iter().any(|d| matches!(d, HostPath::Dir(d) if paths[i].iter().any(|p| is_below(p.path(), d))))
    };
    edges.extend(others.filter(|j| below_a_dir_of(*j)).map(|j| (j, i)));
  }
  edges.sort_unstable();
  edges.dedup();
  edges
}

/// A path as written, with the home directory spelt `~` and no trailing `/`.
fn normalize(path: &str) -> String {
  let mut p = path.to_owned();
  for home in ["$HOME", "${HOME}"] {
    if p == home || p.starts_with(&format!("{home}/")) {
      p = format!("~{}", &p[home.len()..]);
    }
  }
  let trimmed = p.trim_end_matches('/');
  if trimmed.is_empty() && p.starts_with('/') { "/".to_owned() } else { trimmed.to_owned() }
}

/// Whether `path` is strictly below the directory `dir`.
fn is_below(path: &str, dir: &str) -> bool {
  path.len() > dir.len()
    && path.starts_with(dir)
    && (dir.ends_with('/') || path.as_bytes().get(dir.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::source::Sources;

  const SHA: &str = "904b924d435eaea086515bc63235b192ea441bd8c9b198c507e85009e6e4c7f0";

  /// The resources of the one host of a playbook, checked without errors.
  fn resources(text: &str) -> Vec<Arc<Resource>> {
    crate::check::one_play(text, &mut Sources::new(), false).resources
  }

  /// The names of the resources, in the order they are planned.
  fn planned(text: &str) -> Vec<String> {
    let resources = resources(text);
    order(&resources).into_iter().map(|i| resources[i].name()).collect()
  }

  #[test]
  fn a_label_waits_for_the_toolchain_whose_prefix_it_labels() {
    let text = format!(
      "selinux label \"/opt/go(/.*)?\" type \"usr_t\"\ngo toolchain \"1.22.5\" {{\n  prefix = \"/opt/go\"\n  sha256 = \"{SHA}\"\n}}\n"
    );
    assert_eq!(planned(&text), ["go toolchain", "selinux label /opt/go(/.*)?"]);
  }

  #[test]
  fn a_label_waits_for_what_makes_a_path_below_it_or_the_directory_it_is_in() {
    // `$HOME/` and `~/` are one home; a file elsewhere keeps its place.
    let below = "selinux label \"$HOME/srv(/.*)?\" type \"user_home_t\"\nfile \"/etc/motd\" {\n  content = \"x\"\n}\ncommand \"mkdir -p ~/srv/data\" {\n  creates = \"~/srv/data\"\n}\n";
    assert_eq!(
      planned(below),
      ["file /etc/motd", "command mkdir -p ~/srv/data", "selinux label $HOME/srv(/.*)?"]
    );
    let above = format!(
      "selinux label \"/opt/go/bin(/.*)?\" type \"bin_t\"\ngo toolchain \"1.22.5\" {{\n  prefix = \"/opt/go\"\n  sha256 = \"{SHA}\"\n}}\n"
    );
    assert_eq!(planned(&above), ["go toolchain", "selinux label /opt/go/bin(/.*)?"]);
    let same = "selinux label \"/etc/motd\" type \"etc_t\"\nfile \"/etc/motd\" {\n  content = \"x\"\n}\n";
    assert_eq!(planned(same), ["file /etc/motd", "selinux label /etc/motd"]);
  }

  #[test]
  fn a_label_on_another_path_keeps_the_playbook_order() {
    // `/srv/other-file` starts with `/srv/other` but is not below it.
    let text =
      "selinux label \"/srv/other(/.*)?\" type \"var_t\"\nfile \"/srv/other-file\" {\n  content = \"x\"\n}\n";
    assert_eq!(implicit_edges(&resources(text)), []);
    assert_eq!(planned(text), ["selinux label /srv/other(/.*)?", "file /srv/other-file"]);
  }

  #[test]
  fn a_file_waits_for_the_resource_that_manages_its_directory() {
    let text = format!(
      "file \"/opt/go/go.env\" {{\n  content = \"GOTOOLCHAIN=local\\n\"\n}}\ntemplate \"/opt/tools/etc/config\" {{\n  content = \"x\"\n}}\ngo toolchain \"1.22.5\" {{\n  prefix = \"/opt/go/\"\n  sha256 = \"{SHA}\"\n}}\ncommand \"tar -C /opt -xzf /tmp/tools.tgz\" {{\n  creates = \"/opt/tools\"\n}}\n"
    );
    assert_eq!(
      planned(&text),
      [
        "go toolchain",
        "file /opt/go/go.env",
        "command tar -C /opt -xzf /tmp/tools.tgz",
        "template /opt/tools/etc/config"
      ]
    );
    // Its own links are not below its prefix: no edge to itself, and none between
    // the toolchain and the command.
    let resources = resources(&text);
    assert_eq!(implicit_edges(&resources), [(2, 0), (3, 1)]);
  }

  #[test]
  fn paths_are_compared_as_written_with_one_spelling_of_home() {
    assert_eq!(normalize("$HOME/go/bin/"), "~/go/bin");
    assert_eq!(normalize("${HOME}/go"), "~/go");
    assert_eq!(normalize("$HOMEDIR/x"), "$HOMEDIR/x");
    assert_eq!(normalize("/"), "/");
    assert!(is_below("/opt/go/bin", "/opt/go"));
    assert!(is_below("/etc", "/"));
    assert!(!is_below("/opt/gopher", "/opt/go"));
    assert!(!is_below("/opt/go", "/opt/go"));
  }
}
