use super::*;
use proptest::prelude::*;
use std::path::Path;

/// Every playbook of the repository: the examples and the test fixtures.
fn playbooks() -> Vec<String> {
  fn walk(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
      if path.is_dir() {
        walk(&path, out);
      } else if path.extension().is_some_and(|e| e == "goenv")
        && let Ok(text) = std::fs::read_to_string(&path)
      {
        out.push(text);
      }
    }
  }
  let root = Path::new(env!("CARGO_MANIFEST_DIR"));
  let mut out = Vec::new();
  walk(&root.join("playbooks"), &mut out);
  walk(&root.join("tests"), &mut out);
  assert!(out.len() > 20, "the playbooks of the repository were not found");
  out
}

/// Text that changes how the items around it are read.
const FRAGMENTS: &[&str] = &[
  "{",
  "}",
  "[",
  "]",
  "\"",
  "\n",
  "\r",
  "\r\n",
  ";",
  ",",
  "#",
  "//",
  "\\",
  "\\\n",
  "<<EOT\n",
  "EOT\n",
  "<<-EOT\n",
  "  EOT",
  "x: y\n",
  "'a'",
  "1.5",
  "/usr/bin",
  "=",
  " = 1\n",
  "file \"/a\" {\n",
  "hosts \"all\" {\n",
  "\n}\n",
  "vars {",
  "99999999999999999999",
  "\"\\q\"",
  "é",
  "go toolchain \"1.22.5\"\n",
  "\n\n",
];

/// A full parse of `text`, the reference.
fn full(file: FileId, text: &str) -> (Ast, Vec<Diagnostic>) {
  let (ast, diagnostics) = parser::parse(file, text);
  (ast, diagnostics.iter().cloned().collect())
}

fn incremental(parsed: &Parsed, file: FileId) -> (Ast, Vec<Diagnostic>) {
  let (ast, diagnostics) = parsed.result(file);
  (ast, diagnostics.iter().cloned().collect())
}

/// Replaces `text[at..at + len]` (moved to character boundaries) with `insert`.
fn edit(text: &str, at: usize, len: usize, insert: &str) -> String {
  let mut start = at % (text.len() + 1);
  while !text.is_char_boundary(start) {
    start -= 1;
  }
  let mut end = (start + len).min(text.len());
  while !text.is_char_boundary(end) {
    end += 1;
  }
  format!("{}{insert}{}", &text[..start], &text[end..])
}

/// Up to `len` characters of `text` from about `at`.
fn piece(text: &str, at: usize, len: usize) -> String {
  let mut start = at % (text.len() + 1);
  while !text.is_char_boundary(start) {
    start -= 1;
  }
  text[start..].chars().take(len).collect()
}

proptest! {
  #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

  /// A chain of random edits of a real playbook, each parsed from the parse
  /// before it, gives exactly the tree and diagnostics of a full parse.
  #[test]
  fn incremental_parse_equals_full_parse_after_random_edits(
    which in 0usize..1000,
    edits in proptest::collection::vec((0usize..100_000, 0usize..40, 0usize..FRAGMENTS.len() * 2, 0usize..100_000), 1..8),
  ) {
    let all = playbooks();
    let mut text = all[which % all.len()].clone();
    let file = FileId(3);
    let mut parsed = Parsed::new(file, &text);
    prop_assert_eq!(incremental(&parsed, file), full(file, &text));
    for (at, len, what, from) in edits {
      // Half of the inserts are fragments, half are pieces of the text itself.
      let insert = match FRAGMENTS.get(what) {
        Some(fragment) => (*fragment).to_owned(),
        None => piece(&text, from, what % 30),
      };
      text = edit(&text, at, len, &insert);
      parsed = parsed.next(file, &text);
      prop_assert_eq!(incremental(&parsed, file), full(file, &text), "after an edit to {:?}", text);
    }
  }
}

/// Checks every version of `versions` in turn, each from the one before.
fn check_chain(versions: &[&str]) {
  let mut parsed = Parsed::new(FileId(1), versions[0]);
  for (i, text) in versions.iter().enumerate() {
    // A file's id can change from one check to the next.
    let file = FileId(u32::try_from(i % 2).unwrap_or(0));
    parsed = parsed.next(file, text);
    assert_eq!(incremental(&parsed, file), full(file, text), "for {text:?}");
  }
}

#[test]
fn an_unclosed_brace_swallows_the_items_after_it_and_closing_it_brings_them_back() {
  let a = "vars {\n  a = 1\n}\nfile \"/a\" {\n  mode = \"0644\"\n}\nfile \"/b\" {\n}\n";
  let b = "vars {\n  a = 1\n\nfile \"/a\" {\n  mode = \"0644\"\n}\nfile \"/b\" {\n}\n";
  check_chain(&[a, b, a, b]);
}

#[test]
fn a_heredoc_closed_after_the_change_is_read_again() {
  let a = "assert x <<EOT\ny = 1\nz = 2\n";
  let b = "assert x <<EOT\ny = 1\nEOT\nz = 2\n";
  let c = "assert x <<EOT\ny = 1\nEOT2\nz = 2\n";
  check_chain(&[a, b, c, a, c]);
}

#[test]
fn an_error_before_the_change_is_read_again() {
  let a = "x = [1,\ny = 2\nz = 3\n";
  let b = "x = [1,\ny = 2\nz = 3]\n";
  check_chain(&[a, b, a]);
}

#[test]
fn a_line_end_completed_after_the_change_is_read_again() {
  check_chain(&["a = 1\rb = 2\r", "a = 1\r\nb = 2\r", "a = 1\r\n\nb = 2\r\n"]);
}

#[test]
fn spans_after_the_change_move_with_it() {
  let a = "vars {\n  a = 1\n}\nfile \"/a\" {\n  mode = 0644\n}\n";
  let b = "# a longer first line\nvars {\n  a = 1\n}\nfile \"/a\" {\n  mode = 0644\n}\n";
  check_chain(&[a, b, a]);
  let file = FileId(0);
  let parsed = Parsed::new(file, a).next(file, b);
  let (ast, _) = parsed.result(file);
  let last = ast.stmts.last().map(|s| &b[s.span.start..s.span.end]);
  assert_eq!(last, Some("file \"/a\" {\n  mode = 0644\n}"));
}

#[test]
fn unchanged_items_are_not_parsed_again() {
  let text: String = (0..200).map(|i| format!("file \"/f{i}\" {{\n  mode = \"0644\"\n}}\n")).collect();
  let file = FileId(0);
  let parsed = Parsed::new(file, &text);
  assert_eq!(parsed.reparsed, 200);
  let changed = text.replacen("/f100\"", "/f100x\"", 1);
  let next = parsed.next(file, &changed);
  assert_eq!(next.reparsed, 1);
  assert_eq!(incremental(&next, file), full(file, &changed));
}
