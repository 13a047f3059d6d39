//! Completion: statements and resource kinds, the attributes of the kind
//! under the cursor, known values, variables in `{{ }}`, handlers in `notify`,
//! resources in `after`, and inventory groups and hosts in `hosts "..."`.

use crate::check::facts;
use crate::check::resource::{self, KINDS};
use crate::lsp::analysis::Analysis;
use crate::lsp::context::{self, Context};
use crate::lsp::position::LineIndex;
use crate::lsp::reference;
use crate::syntax::ast::Stmt;
use lsp_types::{CompletionItem, CompletionItemKind, CompletionTextEdit, Documentation, Position, TextEdit};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// Statements that stand only at the top level of a playbook.
pub(crate) const TOP_LEVEL: &[&str] = &["inventory", "vars", "host", "group", "hosts", "handler"];

/// The most sysctl keys read from `/proc/sys`.
const MAX_SYSCTL_KEYS: usize = 20_000;

/// The completions at `position` of a document whose text is `text`.
pub(crate) fn complete(analysis: &Analysis, text: &str, position: Position) -> Vec<CompletionItem> {
  let index = LineIndex::new(text);
  let offset = index.offset(position);
  let cx = context::at(text, offset);
  let items = candidates(analysis, &cx);
  let replace = |from: usize| index.range(from, offset);
  items
    .into_iter()
    .map(|c| {
      let from = if c.whole_statement { cx.statement_start } else { cx.word_start };
      let insert = if c.quote && !cx.in_string { format!("\"{}\"", c.label) } else { c.label.clone() };
      CompletionItem {
        label: c.label,
        kind: Some(c.kind),
        detail: c.detail,
        documentation: c.doc.map(|d| {
          Documentation::MarkupContent(lsp_types::MarkupContent {
            kind: lsp_types::MarkupKind::Markdown,
            value: d,
          })
        }),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(replace(from), insert))),
        ..CompletionItem::default()
      }
    })
    .collect()
}

struct Candidate {
  label: String,
  kind: CompletionItemKind,
  detail: Option<String>,
  doc: Option<String>,
  /// Replaces the whole statement typed so far (multi-word kinds).
  whole_statement: bool,
  /// A string value: quoted when typed outside quotes.
  quote: bool,
}

fn item(label: impl Into<String>, kind: CompletionItemKind) -> Candidate {
  Candidate { label: label.into(), kind, detail: None, doc: None, whole_statement: false, quote: false }
}

fn value(label: impl Into<String>) -> Candidate {
  Candidate { quote: true, ..item(label, CompletionItemKind::VALUE) }
}

fn candidates(analysis: &Analysis, cx: &Context) -> Vec<Candidate> {
  if cx.in_template {
    return template_names(analysis, cx);
  }
  let statement = cx.statement.as_str();
  let block = cx.blocks.last().map(|h| context::keywords(h));
  let block_kind = block.as_deref().and_then(resource::lookup);
  // `key = value` inside a block.
  if let Some((key, _)) = statement.split_once('=') {
    let key = key.trim();
    return values(analysis, key, block.as_deref().and_then(|b| b.first().copied()));
  }
  let words: Vec<&str> = statement.split_whitespace().collect();
  let typing_first_word = !statement.contains(char::is_whitespace);
  let only_words = statement.chars().all(|c| c.is_ascii_lowercase() || c == ' ' || c == '_');
  match block.as_deref() {
    None | Some(["hosts", ..]) | Some(["handler", ..]) if only_words && !cx.in_string => {
      let top = block.is_none();
      let complete_kinds =
        typing_first_word || resource::all_keywords().iter().any(|k| k.starts_with(statement));
      if complete_kinds {
        // After a space, only the statements that the words typed start.
        let typed = if typing_first_word { "" } else { statement };
        return statements(top).into_iter().filter(|c| c.label.starts_with(typed)).collect();
      }
    }
    Some(["goenv", ..]) if typing_first_word && !cx.in_string => {
      let mut out: Vec<Candidate> = crate::go::env::KNOWN
        .iter()
        .map(|n| Candidate { detail: Some("Go setting".into()), ..item(*n, CompletionItemKind::PROPERTY) })
        .collect();
      out.extend(attributes("goenv"));
      return out;
    }
    Some(_) if typing_first_word && !cx.in_string => {
      if let Some(kind) = block_kind {
        return attributes(&kind.keywords().join(" "));
      }
      if let Some(["group", ..]) = block.as_deref() {
        return ["hosts", "children", "vars"]
          .into_iter()
          .map(|a| item(a, CompletionItemKind::PROPERTY))
          .collect();
      }
    }
    _ => {}
  }
  labels(analysis, &words, cx)
}

/// Statements that can start here: resource kinds, and at the top level the
/// other statements.
fn statements(top: bool) -> Vec<Candidate> {
  let mut out = Vec::new();
  for kind in KINDS {
    let keywords = kind.keywords().join(" ");
    out.push(Candidate {
      detail: Some(kind.doc().summary.to_owned()),
      doc: reference::statement_doc(&keywords).map(str::to_owned),
      whole_statement: true,
      ..item(keywords, CompletionItemKind::KEYWORD)
    });
  }
  if top {
    for keywords in TOP_LEVEL {
      out.push(Candidate {
        doc: reference::statement_doc(keywords).map(str::to_owned),
        whole_statement: true,
        ..item(*keywords, CompletionItemKind::KEYWORD)
      });
    }
  }
  out
}

fn attributes(kind: &str) -> Vec<Candidate> {
  reference::attributes(kind)
    .into_iter()
    .map(|a| Candidate { doc: reference::attribute_doc(kind, a), ..item(a, CompletionItemKind::PROPERTY) })
    .collect()
}

/// Values of an attribute.
fn values(analysis: &Analysis, key: &str, kind: Option<&str>) -> Vec<Candidate> {
  match (key, kind) {
    ("notify", _) => analysis.playbook.handlers.iter().map(|h| value(h.name.value.clone())).collect(),
    ("after", _) => {
      let names: BTreeSet<String> =
        analysis.playbook.hosts.iter().flat_map(|h| h.resources.iter().map(|r| r.name())).collect();
      names.into_iter().map(value).collect()
    }
    ("scope", _) => {
      ["user", "system"].into_iter().map(|v| item(v, CompletionItemKind::ENUM_MEMBER)).collect()
    }
    ("fallback", _) => {
      ["not-found", "any-error"].into_iter().map(|v| item(v, CompletionItemKind::ENUM_MEMBER)).collect()
    }
    ("sensitive", _) => {
      ["true", "false"].into_iter().map(|v| item(v, CompletionItemKind::ENUM_MEMBER)).collect()
    }
    ("GOPROXY", Some("goenv")) => proxy_words(),
    _ => Vec::new(),
  }
}

fn proxy_words() -> Vec<Candidate> {
  let mut out: Vec<Candidate> =
    ["direct", "off"].into_iter().map(|v| item(v, CompletionItemKind::ENUM_MEMBER)).collect();
  out.push(value("https://proxy.golang.org"));
  out
}

/// Completions after the leading words of a statement: its labels.
fn labels(analysis: &Analysis, words: &[&str], cx: &Context) -> Vec<Candidate> {
  let typed_words =
    if cx.statement.ends_with(char::is_whitespace) { words.len() } else { words.len().saturating_sub(1) };
  match words {
    ["hosts", ..] => {
      let inventory = &analysis.playbook.inventory;
      let mut out: Vec<Candidate> = inventory
        .groups
        .keys()
        .filter(|g| !matches!(g.as_str(), "all" | "ungrouped"))
        .map(|g| Candidate { detail: Some("group".into()), ..value(g.clone()) })
        .collect();
      out.push(Candidate { detail: Some("every host".into()), ..value("all") });
      out.push(Candidate { detail: Some("hosts in no other group".into()), ..value("ungrouped") });
      out.extend(
        inventory.hosts.keys().map(|h| Candidate { detail: Some("host".into()), ..value(h.clone()) }),
      );
      out
    }
    ["sysctl", ..] if typed_words == 1 => sysctl_keys().iter().map(|k| value(k.clone())).collect(),
    ["go", "toolchain", ..] if typed_words == 2 => {
      workspace_labels(analysis, &["go", "toolchain"], 0).into_iter().map(value).collect()
    }
    ["go", "tool", ..] if typed_words == 2 => {
      let mut paths: BTreeSet<String> = workspace_labels(analysis, &["go", "tool"], 0);
      paths.extend(crate::go::module::KNOWN_TOOLS.iter().map(|(_, p)| (*p).to_owned()));
      paths.into_iter().map(value).collect()
    }
    ["go", "tool", ..] if typed_words == 3 => {
      workspace_labels(analysis, &["go", "tool"], 1).into_iter().map(value).collect()
    }
    ["proxy", ..] => proxy_words(),
    ["assert", ..] if typed_words == 1 => facts::FACTS
      .iter()
      .map(|f| Candidate {
        detail: Some(f.description.to_owned()),
        ..item(f.name, CompletionItemKind::FIELD)
      })
      .collect(),
    ["export", ..] if typed_words == 2 => prepend_append(),
    ["path", ..] if typed_words == 1 => prepend_append(),
    _ => Vec::new(),
  }
}

fn prepend_append() -> Vec<Candidate> {
  ["prepend", "append"].into_iter().map(|k| item(k, CompletionItemKind::KEYWORD)).collect()
}

/// The `index`-th string label of every statement starting with `keywords` in
/// the checked playbooks: the Go versions and tools the project already uses.
fn workspace_labels(analysis: &Analysis, keywords: &[&str], index: usize) -> BTreeSet<String> {
  fn walk(stmts: &[Stmt], keywords: &[&str], index: usize, out: &mut BTreeSet<String>) {
    for stmt in stmts {
      if stmt.keywords().starts_with(keywords) {
        let labels = stmt.head.iter().skip(keywords.len()).filter_map(|t| t.value()?.as_str());
        if let Some(label) = labels.clone().nth(index).filter(|l| !crate::check::text::is_template(l)) {
          out.insert(label.to_owned());
        }
      }
      if let Some(block) = &stmt.block {
        walk(&block.stmts, keywords, index, out);
      }
    }
  }
  let mut out = BTreeSet::new();
  for file in &analysis.files {
    walk(&file.ast.stmts, keywords, index, &mut out);
  }
  out
}

/// Variables in scope for some host, or the facts after `facts.`.
fn template_names(analysis: &Analysis, cx: &Context) -> Vec<Candidate> {
  let typed = &cx.statement;
  let word: String =
    typed.chars().rev().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.').collect();
  if word.chars().rev().collect::<String>().starts_with("facts.") {
    return facts::FACTS
      .iter()
      .map(|f| Candidate {
        detail: Some(f.description.to_owned()),
        ..item(f.name, CompletionItemKind::FIELD)
      })
      .collect();
  }
  let mut names: BTreeSet<&str> = BTreeSet::new();
  for host in &analysis.playbook.hosts {
    names.extend(host.vars.keys().map(String::as_str));
  }
  let mut out: Vec<Candidate> = names
    .into_iter()
    .map(|n| Candidate { detail: Some("variable".into()), ..item(n, CompletionItemKind::VARIABLE) })
    .collect();
  out
    .push(Candidate { detail: Some("the host's facts".into()), ..item("facts", CompletionItemKind::MODULE) });
  out
}

/// The sysctl keys of this machine, from `/proc/sys`, read once.
fn sysctl_keys() -> &'static Vec<String> {
  static KEYS: OnceLock<Vec<String>> = OnceLock::new();
  KEYS.get_or_init(|| {
    let mut keys = Vec::new();
    let mut stack = vec![(std::path::PathBuf::from("/proc/sys"), String::new(), 0)];
    while let Some((dir, prefix, depth)) = stack.pop() {
      let Ok(entries) = std::fs::read_dir(&dir) else { continue };
      for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let key = if prefix.is_empty() { name } else { format!("{prefix}.{name}") };
        // No link is followed: /proc/sys has none that leads to more keys.
        match entry.file_type() {
          Ok(t) if t.is_dir() && depth < 8 => stack.push((entry.path(), key, depth + 1)),
          Ok(t) if t.is_file() && keys.len() < MAX_SYSCTL_KEYS => keys.push(key),
          _ => {}
        }
      }
    }
    keys.sort();
    keys
  })
}

/// The candidates' labels for a document with the cursor at `|`: for tests.
#[cfg(test)]
pub(crate) fn labels_at(marked: &str) -> Vec<String> {
  let offset = marked.find('|').unwrap_or(marked.len());
  let text = marked.replace('|', "");
  let url = lsp_types::Url::parse("untitled:test.goenv").expect("a URL");
  let analysis = crate::lsp::analysis::analyse(
    &crate::lsp::analysis::Scope::Alone(url.clone()),
    &[(&url, &text)],
    Default::default(),
  );
  candidates(&analysis, &context::at(&text, offset)).into_iter().map(|c| c.label).collect()
}

#[cfg(test)]
mod tests {
  use super::labels_at;

  #[test]
  fn completes_statements_attributes_and_values_by_position() {
    let top = labels_at("|");
    assert!(top.contains(&"go toolchain".to_owned()) && top.contains(&"hosts".to_owned()), "{top:?}");
    assert_eq!(labels_at("go to|"), ["go toolchain", "go tool"]);
    let inner = labels_at("hosts \"all\" {\n  sy|\n}\n");
    assert!(inner.contains(&"sysctl".to_owned()) && !inner.contains(&"hosts".to_owned()), "{inner:?}");
    let attributes = labels_at("sysctl \"fs.file-max\" = 1 {\n  |\n}\n");
    assert_eq!(attributes, ["file", "state", "name", "after", "notify", "sensitive"]);
    let goenv = labels_at("goenv {\n  GOPR|\n}\n");
    assert!(goenv.contains(&"GOPRIVATE".to_owned()), "{goenv:?}");
    let scope = labels_at("export EDITOR = \"vim\" {\n  scope = |\n}\n");
    assert_eq!(scope, ["user", "system"]);
    let go = labels_at("go |");
    assert_eq!(go, ["go toolchain", "go tool"]);
  }

  #[test]
  fn completes_variables_handlers_and_inventory_names() {
    let vars = "vars {\n  go_version = \"1.22.5\"\n}\n";
    let names = labels_at(&format!("{vars}file \"/etc/motd\" {{\n  content = \"{{{{ go_| }}}}\"\n}}\n"));
    assert!(names.contains(&"go_version".to_owned()), "{names:?}");
    let facts = labels_at("file \"/etc/motd\" {\n  content = \"{{ facts.go| }}\"\n}\n");
    assert!(facts.contains(&"goarch".to_owned()), "{facts:?}");
    let handlers = "handler \"reload\" {\n  command \"true\"\n}\n";
    let notify = labels_at(&format!("{handlers}sysctl \"fs.file-max\" = 1 {{\n  notify = [\"|\n}}\n"));
    assert_eq!(notify, ["reload"]);
    let inventory = "host \"dev01\" {}\ngroup \"web\" {\n  hosts = [\"dev01\"]\n}\n";
    let hosts = labels_at(&format!("{inventory}hosts \"|"));
    assert_eq!(hosts, ["web", "all", "ungrouped", "dev01"]);
  }
}
