//! The names a host's resources are known by: two resources with one name or
//! managing one thing, `after` and `notify` naming nothing, and cycles in
//! `after`. Resources of one host in, diagnostics out.

use crate::check::resource::Resource;
use crate::diagnostic::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::source::Span;
use std::collections::HashMap;
use std::sync::Arc;

/// Two resources with one name, or managing one thing, for the same host.
pub(super) fn check_names(resources: &[Arc<Resource>], diagnostics: &mut Diagnostics) {
  let mut by_name: HashMap<String, &Resource> = HashMap::new();
  let mut by_claim: HashMap<String, (Span, &Resource)> = HashMap::new();
  for resource in resources {
    let name = resource.name();
    if let Some(first) = by_name.get(&name)
      && !std::ptr::eq(*first, resource.as_ref())
    {
      let at = resource.meta.name.as_ref().map_or(resource.span, |n| n.span);
      let first_at = first.meta.name.as_ref().map_or(first.span, |n| n.span);
      diagnostics.push(
        Diagnostic::new(Code::DuplicateName, format!("two resources are named `{name}`"))
          .label(at, "second resource with this name")
          .label(first_at, "first one here")
          .help("give one of them a different `name = \"...\"`"),
      );
      continue;
    }
    by_name.insert(name, resource);
    for claim in resource.spec.claims() {
      if let Some((first_span, first)) = by_claim.get(&claim.value) {
        if !std::ptr::eq(*first, resource.as_ref()) {
          diagnostics.push(
            Diagnostic::new(Code::DuplicateName, format!("two resources manage `{}`", claim.value))
              .label(claim.span, "managed again here")
              .label(*first_span, "first managed here")
              .help("keep one of them; two resources for one thing would undo each other on every run"),
          );
        }
        continue;
      }
      by_claim.insert(claim.value, (claim.span, resource));
    }
  }
}

/// The names `after` and `notify` may use besides the host's resources.
#[derive(Clone, Copy)]
pub(super) struct Names<'a> {
  pub(super) handlers: &'a [String],
  /// See `Resolver::unread`.
  pub(super) unread: &'a [String],
}

impl Names<'_> {
  /// Whether `after` may mean a resource that could not be read.
  fn unread(&self, after: &str) -> bool {
    self
      .unread
      .iter()
      .any(|u| after == u || after.strip_prefix(u.as_str()).is_some_and(|r| r.starts_with(' ')))
  }
}

pub(super) fn check_references(resources: &[Arc<Resource>], known: Names<'_>, diagnostics: &mut Diagnostics) {
  let handlers = known.handlers;
  let names: Vec<String> = resources.iter().map(|r| r.name()).collect();
  for resource in resources {
    for after in &resource.meta.after {
      if !names.contains(&after.value) && !known.unread(&after.value) {
        let mut d =
          Diagnostic::new(Code::UnknownReference, format!("`after` names no resource `{}`", after.value))
            .label(after.span, "unknown resource");
        d = match did_you_mean(&after.value, names.iter().chain(known.unread).map(String::as_str)) {
          Some(s) => d.help(format!("did you mean `{s}`?")),
          None => {
            d.help("a resource is named by `name = \"...\"` or by its kind and label, e.g. `go toolchain`")
          }
        };
        diagnostics.push(d);
      }
    }
    for notify in &resource.meta.notify {
      if !handlers.contains(&notify.value) {
        let mut d =
          Diagnostic::new(Code::UnknownReference, format!("`notify` names no handler `{}`", notify.value))
            .label(notify.span, "unknown handler");
        d = match did_you_mean(&notify.value, handlers.iter().map(String::as_str)) {
          Some(s) => d.help(format!("did you mean `{s}`?")),
          None => d.help("define it with `handler \"NAME\" { ... }` at the top level"),
        };
        diagnostics.push(d);
      }
    }
  }
}

/// Cycles in `after`.
pub(super) fn check_cycles(resources: &[Arc<Resource>], diagnostics: &mut Diagnostics) {
  let mut graph = petgraph::graph::DiGraph::<usize, Span>::new();
  let nodes: Vec<_> = (0..resources.len()).map(|i| graph.add_node(i)).collect();
  let index: HashMap<String, usize> = resources.iter().enumerate().map(|(i, r)| (r.name(), i)).collect();
  for (i, resource) in resources.iter().enumerate() {
    for after in &resource.meta.after {
      if let Some(&j) = index.get(&after.value) {
        graph.add_edge(nodes[j], nodes[i], after.span);
      }
    }
  }
  for scc in petgraph::algo::tarjan_scc(&graph) {
    let self_loop = scc.len() == 1 && graph.contains_edge(scc[0], scc[0]);
    if scc.len() < 2 && !self_loop {
      continue;
    }
    let mut members: Vec<usize> = scc.iter().map(|n| graph[*n]).collect();
    members.sort_unstable();
    let names: Vec<String> = members.iter().map(|i| format!("`{}`", resources[*i].name())).collect();
    let mut d = Diagnostic::new(Code::OrderingCycle, format!("`after` forms a cycle: {}", names.join(", ")))
      .help("remove one of the `after` entries so that the order can be decided");
    for edge in graph.edge_indices() {
      if let Some((a, b)) = graph.edge_endpoints(edge)
        && scc.contains(&a)
        && scc.contains(&b)
      {
        d = d.label(
          graph[edge],
          format!("`{}` waits for `{}`", resources[graph[b]].name(), resources[graph[a]].name()),
        );
      }
    }
    diagnostics.push(d);
  }
}
