//! Every `goenv` code block in the book is checked: a block marked
//! ```` ```goenv ```` must check clean, one marked ```` ```goenv,error=E300 ````
//! must fail with that code. Each block is checked on its own, as a whole
//! playbook, through the library.

use crate::test::root;
use converge::check::resolver;
use converge::diagnostic::Diagnostics;
use converge::source::Sources;
use converge::syntax::parser;
use std::path::{Path, PathBuf};

struct Block {
  file: PathBuf,
  line: usize,
  expect: Option<String>,
  text: String,
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
  for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
    let path = entry.path();
    if path.is_dir() {
      markdown_files(&path, out);
    } else if path.extension().is_some_and(|e| e == "md") {
      out.push(path);
    }
  }
}

fn blocks() -> Vec<Block> {
  let mut files = Vec::new();
  markdown_files(&root().join("book/src"), &mut files);
  files.push(root().join("README.md"));
  files.sort();
  let mut out = Vec::new();
  for file in files {
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let mut current: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
      let trimmed = line.trim_start();
      if let Some(block) = current.as_mut() {
        if trimmed.starts_with("```") {
          out.extend(current.take());
        } else {
          block.text.push_str(line);
          block.text.push('\n');
        }
      } else if let Some(info) = trimmed.strip_prefix("```goenv") {
        let expect = info.strip_prefix(",error=").map(str::to_owned);
        current = Some(Block { file: file.clone(), line: i + 1, expect, text: String::new() });
      }
    }
  }
  out
}

fn check(text: &str) -> Diagnostics {
  let mut sources = Sources::new();
  let id = sources.add(Path::new("book.goenv"), text);
  let (ast, mut diagnostics) = parser::parse(id, sources.text(id));
  let dir = root().join("playbooks");
  let (_, found) = resolver::resolve(&[converge::check::loader::LoadedFile { ast, dir }], &mut sources);
  diagnostics.extend(found);
  diagnostics
}

#[test]
fn every_goenv_block_in_the_book_checks() {
  let blocks = blocks();
  assert!(blocks.len() >= 30, "the book has only {} goenv blocks", blocks.len());
  let mut failures = Vec::new();
  for block in &blocks {
    let diagnostics = check(&block.text);
    let codes: Vec<&str> = diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code.as_str()).collect();
    let ok = match &block.expect {
      None => codes.is_empty(),
      Some(code) => codes.contains(&code.as_str()),
    };
    if !ok {
      let messages: Vec<String> =
        diagnostics.iter().map(|d| format!("{}: {}", d.code.as_str(), d.message)).collect();
      failures.push(format!(
        "{}:{}: expected {}, got [{}]\n{}",
        block.file.display(),
        block.line,
        block.expect.as_deref().unwrap_or("no error"),
        messages.join("; "),
        block.text
      ));
    }
  }
  assert!(failures.is_empty(), "{}", failures.join("\n"));
}
