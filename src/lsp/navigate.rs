//! Hover, go to definition and document symbols.

use crate::check::facts;
use crate::check::resource;
use crate::lsp::analysis::Analysis;
use crate::lsp::complete::TOP_LEVEL;
use crate::lsp::context;
use crate::lsp::position::LineIndex;
use crate::lsp::reference;
use crate::source::{FileId, Span};
use crate::syntax::ast::{Stmt, Term, Value, ValueKind};
use crate::syntax::parser;
use lsp_types::{
  DocumentSymbol, GotoDefinitionResponse, Hover, HoverContents, Location, MarkupContent, MarkupKind,
  Position, SymbolKind, Url,
};

/// How many hosts a variable's hover lists.
const MAX_HOSTS_SHOWN: usize = 20;

/// The statements of a document that enclose `offset`, outermost first.
fn chain(stmts: &[Stmt], offset: usize) -> Vec<&Stmt> {
  let mut out = Vec::new();
  let mut level = stmts;
  while let Some(stmt) = level.iter().find(|s| s.span.start <= offset && offset <= s.span.end) {
    out.push(stmt);
    match &stmt.block {
      Some(block) if block.span.start < offset && offset < block.span.end => level = &block.stmts,
      _ => break,
    }
  }
  out
}

fn document<'a>(analysis: &'a Analysis, url: &Url) -> Option<(FileId, &'a [Stmt])> {
  let file = analysis.file_of(url)?;
  let loaded = analysis.files.iter().find(|f| f.ast.file == file)?;
  Some((file, &loaded.ast.stmts))
}

fn markdown(value: String) -> Hover {
  Hover { contents: HoverContents::Markup(MarkupContent { kind: MarkupKind::Markdown, value }), range: None }
}

/// The hover at `position`: the reference text of a statement, resource kind or
/// attribute; a variable's value for the chosen `host` (each host's without
/// one); a fact's description.
pub(crate) fn hover(
  analysis: &Analysis,
  url: &Url,
  text: &str,
  position: Position,
  host: Option<&str>,
) -> Option<Hover> {
  let offset = LineIndex::new(text).offset(position);
  if context::at(text, offset).in_template {
    let (_, name) = context::identifier(text, offset)?;
    return variable_hover(analysis, name, host).map(markdown);
  }
  let (_, stmts) = document(analysis, url)?;
  let chain = chain(stmts, offset);
  let (stmt, parent) = match chain.as_slice() {
    [.., parent, stmt] => (*stmt, Some(*parent)),
    [stmt] => (*stmt, None),
    [] => return None,
  };
  let keywords = stmt.keywords();
  let on_keyword =
    stmt.head.iter().take(keywords.len()).any(|t| t.span().start <= offset && offset <= t.span().end);
  if !on_keyword {
    return None;
  }
  let parent_kind = parent.and_then(|p| resource::lookup(&p.keywords()));
  if let Some(kind) = parent_kind {
    let kind = kind.keywords().join(" ");
    return reference::attribute_doc(&kind, keywords.first()?).map(markdown);
  }
  if let Some(kind) = resource::lookup(&keywords) {
    return reference::statement_doc(&kind.keywords().join(" ")).map(|d| markdown(d.to_owned()));
  }
  if parent.is_none() && TOP_LEVEL.contains(keywords.first()?) {
    return reference::statement_doc(keywords.first()?).map(|d| markdown(d.to_owned()));
  }
  None
}

fn variable_hover(analysis: &Analysis, name: &str, host: Option<&str>) -> Option<String> {
  if let Some(fact) = name.strip_prefix("facts.") {
    let fact = facts::find(fact.split('.').next()?)?;
    return Some(format!(
      "**fact `{}`**: {}\n\ngathered from each host at plan time",
      fact.name, fact.description
    ));
  }
  if name == "facts" {
    return Some("**`facts`**: what converge gathers from each host at plan time".to_owned());
  }
  let name = name.split('.').next()?;
  if let Some(chosen) = host.and_then(|h| analysis.playbook.hosts.iter().find(|p| p.name == h)) {
    let value = chosen.vars.get(name).map_or_else(|| "not set".to_owned(), |v| format!("`{v}`"));
    return Some(format!(
      "**variable `{name}`** on host `{}`: {value}\n\n(the host chosen by the `converge.host` setting)",
      chosen.name
    ));
  }
  let hosts: Vec<String> = analysis
    .playbook
    .hosts
    .iter()
    .filter_map(|h| Some(format!("| `{}` | `{}` |", h.name, h.vars.get(name)?)))
    .collect();
  if hosts.is_empty() {
    return None;
  }
  let mut out = format!("**variable `{name}`**\n\n| Host | Value |\n| --- | --- |\n");
  out.push_str(&hosts.iter().take(MAX_HOSTS_SHOWN).cloned().collect::<Vec<_>>().join("\n"));
  if hosts.len() > MAX_HOSTS_SHOWN {
    out.push_str(&format!("\n\nand {} more hosts", hosts.len() - MAX_HOSTS_SHOWN));
  }
  match host {
    Some(h) => {
      out.push_str(&format!("\n\nThe `converge.host` setting names `{h}`, which no play here reaches."))
    }
    None => out.push_str("\n\nSet `converge.host` to one host's name to see only its value."),
  }
  Some(out)
}

/// The string value of a statement at `offset`, in its head, value or lists.
fn string_at(stmt: &Stmt, offset: usize) -> Option<&str> {
  fn find(value: &Value, offset: usize) -> Option<&str> {
    match &value.kind {
      ValueKind::Str(s) if value.span.start <= offset && offset <= value.span.end => Some(&s.value),
      ValueKind::List(items) => items.iter().find_map(|v| find(v, offset)),
      _ => None,
    }
  }
  stmt.head.iter().filter_map(Term::value).chain(stmt.value.as_ref()).find_map(|v| find(v, offset))
}

/// Where the variable, handler, resource, group or host under the cursor is
/// defined.
pub(crate) fn definition(
  analysis: &Analysis,
  url: &Url,
  text: &str,
  position: Position,
) -> Option<GotoDefinitionResponse> {
  let offset = LineIndex::new(text).offset(position);
  let mut spans: Vec<Span> = Vec::new();
  if context::at(text, offset).in_template {
    let (_, name) = context::identifier(text, offset)?;
    spans = variable_definitions(analysis, name.split('.').next()?);
  } else {
    let (_, stmts) = document(analysis, url)?;
    let stmt = *chain(stmts, offset).last()?;
    let value = string_at(stmt, offset)?;
    let inventory = &analysis.playbook.inventory;
    match stmt.keywords().first().copied() {
      Some("notify") => {
        spans
          .extend(analysis.playbook.handlers.iter().filter(|h| h.name.value == value).map(|h| h.name.span));
      }
      Some("after") => {
        let resources = analysis.playbook.hosts.iter().flat_map(|h| h.resources.iter());
        spans.extend(resources.filter(|r| r.name() == value).map(|r| r.span));
      }
      _ => {}
    }
    let name = value.trim_start_matches(['!', '&']);
    if spans.is_empty() {
      spans.extend(inventory.groups.get(name).map(|g| g.span));
      spans.extend(inventory.hosts.get(name).map(|h| h.span));
    }
  }
  spans.sort();
  spans.dedup();
  let locations: Vec<Location> =
    spans.into_iter().filter(|s| *s != Span::default()).filter_map(|s| analysis.location(s)).collect();
  (!locations.is_empty()).then_some(GotoDefinitionResponse::Array(locations))
}

/// Every place a variable is defined: `vars` blocks of the playbooks (at the top
/// level, of a host or a group) and variables of the inventory (INI files too).
fn variable_definitions(analysis: &Analysis, name: &str) -> Vec<Span> {
  fn walk(stmts: &[Stmt], name: &str, in_vars: bool, out: &mut Vec<Span>) {
    for stmt in stmts {
      let keywords = stmt.keywords();
      if in_vars && keywords.first() == Some(&name) {
        out.push(stmt.head_span());
      }
      let block = stmt.block.as_ref().or(match &stmt.value {
        Some(Value { kind: ValueKind::Map(b), .. }) => Some(b),
        _ => None,
      });
      if let Some(block) = block
        && matches!(keywords.first(), Some(&("vars" | "host" | "group")))
      {
        walk(&block.stmts, name, keywords.first() == Some(&"vars"), out);
      }
    }
  }
  let mut out = Vec::new();
  for file in &analysis.files {
    walk(&file.ast.stmts, name, false, &mut out);
  }
  let inventory = &analysis.playbook.inventory;
  let vars = inventory.hosts.values().map(|h| &h.vars).chain(inventory.groups.values().map(|g| &g.vars));
  out.extend(vars.filter_map(|v| v.get(name)).map(|v| v.span));
  out
}

/// The outline of a document: its statements, and the resources of `hosts`
/// and `handler` blocks.
pub(crate) fn symbols(text: &str) -> Vec<DocumentSymbol> {
  let (ast, _) = parser::parse(FileId(0), text);
  let index = LineIndex::new(text);
  ast.stmts.iter().map(|s| symbol(s, text, &index, true)).collect()
}

#[allow(deprecated)]
fn symbol(stmt: &Stmt, text: &str, index: &LineIndex, top: bool) -> DocumentSymbol {
  let head = stmt.head_span();
  let name = text.get(head.start..head.end).unwrap_or("").lines().next().unwrap_or("");
  let name: String = name.chars().take(80).collect();
  let keywords = stmt.keywords();
  let first = keywords.first().copied();
  let kind = match first {
    Some("hosts") => SymbolKind::NAMESPACE,
    Some("handler") => SymbolKind::FUNCTION,
    Some("vars") => SymbolKind::VARIABLE,
    Some("host" | "group") => SymbolKind::OBJECT,
    Some("inventory") => SymbolKind::FILE,
    _ if top || resource::lookup(&keywords).is_some() => SymbolKind::STRUCT,
    _ => SymbolKind::PROPERTY,
  };
  let children = match (first, &stmt.block) {
    (Some("hosts" | "handler"), Some(block)) => {
      Some(block.stmts.iter().map(|s| symbol(s, text, index, false)).collect())
    }
    _ => None,
  };
  DocumentSymbol {
    name: if name.trim().is_empty() { "statement".to_owned() } else { name },
    detail: None,
    kind,
    tags: None,
    deprecated: None,
    range: index.range(stmt.span.start, stmt.span.end),
    selection_range: index.range(head.start, head.end),
    children,
  }
}
