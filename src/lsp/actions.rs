//! Formatting (the `converge fmt` layout) and quick fixes for every "did you
//! mean" of a diagnostic.

use crate::lsp::analysis::Analysis;
use crate::lsp::position::LineIndex;
use crate::source::FileId;
use crate::syntax::{formatter, parser};
use lsp_types::{CodeAction, CodeActionKind, CodeActionOrCommand, Range, TextEdit, Url, WorkspaceEdit};
use std::collections::HashMap;

/// The edit that lays the document out as `converge fmt` does; none when it is
/// already formatted or has syntax errors (which `fmt` refuses too).
pub(crate) fn format(text: &str) -> Vec<TextEdit> {
  let (ast, diagnostics) = parser::parse(FileId(0), text);
  if diagnostics.has_errors() {
    return Vec::new();
  }
  let formatted = formatter::format(&ast, text);
  if formatted == text {
    return Vec::new();
  }
  vec![TextEdit::new(LineIndex::new(text).range(0, text.len()), formatted)]
}

/// The suggestion of a help line: `X` of "did you mean `X`?", when it is a
/// replacement for the labelled text (not a sketch with `...`).
fn suggestion(help: &str) -> Option<&str> {
  let start = help.find("did you mean `")? + "did you mean `".len();
  let end = start + help[start..].find('`')?;
  let s = &help[start..end];
  (!s.contains("...") && !s.is_empty()).then_some(s)
}

/// A quick fix for every diagnostic of the document in `range` whose help
/// suggests a replacement.
pub(crate) fn code_actions(analysis: &Analysis, url: &Url, range: Range) -> Vec<CodeActionOrCommand> {
  let Some(file) = analysis.file_of(url) else { return Vec::new() };
  let text = analysis.sources.text(file);
  let index = LineIndex::new(text);
  let published = analysis.lsp_diagnostics(&[]).remove(url).unwrap_or_default();
  let mut out = Vec::new();
  for d in &analysis.diagnostics {
    let (Some(span), Some(help)) = (d.primary(), d.help.as_deref()) else { continue };
    if span.file != file {
      continue;
    }
    let Some(mut replacement) = suggestion(help) else { continue };
    let original = text.get(span.start..span.end).unwrap_or("");
    // A label on a name whose suggestion repeats what comes before it
    // (`facts.` of `facts.goarh`).
    if let Some(dot) = replacement.rfind('.')
      && text[..span.start].ends_with(&replacement[..=dot])
    {
      replacement = &replacement[dot + 1..];
    }
    if replacement.contains('=') != original.contains('=') || replacement == original {
      continue;
    }
    let edit_range = index.range(span.start, span.end);
    if edit_range.end < range.start || range.end < edit_range.start {
      continue;
    }
    let diagnostic =
      published.iter().find(|p| p.range == edit_range && p.message.starts_with(&d.message)).cloned();
    let edit = TextEdit::new(edit_range, replacement.to_owned());
    out.push(CodeActionOrCommand::CodeAction(CodeAction {
      title: format!("Replace with `{replacement}`"),
      kind: Some(CodeActionKind::QUICKFIX),
      diagnostics: diagnostic.map(|d| vec![d]),
      edit: Some(WorkspaceEdit {
        changes: Some(HashMap::from([(url.clone(), vec![edit])])),
        ..WorkspaceEdit::default()
      }),
      is_preferred: Some(true),
      ..CodeAction::default()
    }));
  }
  out
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn suggestions_are_replacements_only() {
    assert_eq!(suggestion("did you mean `go toolchain`?"), Some("go toolchain"));
    assert_eq!(suggestion("go variables are upper case; did you mean `GOPROXY`?"), Some("GOPROXY"));
    assert_eq!(suggestion("did you mean `export FOO = ...`?"), None);
    assert_eq!(suggestion("check the path"), None);
  }

  #[test]
  fn formatting_is_the_fmt_layout_and_skips_broken_files() {
    let edits = format("proxy  [direct]\n");
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0].new_text, "proxy [direct]\n");
    assert!(format("proxy [direct]\n").is_empty());
    assert!(format("proxy [direct\n").is_empty());
  }
}
