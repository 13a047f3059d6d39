use super::*;
use crate::syntax::ast::shape;

fn ok(text: &str) -> String {
  let (ast, diags) = parse(FileId(0), text);
  assert!(diags.is_empty(), "unexpected diagnostics for {text:?}: {diags:?}");
  shape(&ast.stmts)
}

fn err(text: &str) -> Vec<(Code, usize, usize)> {
  let (_, diags) = parse(FileId(0), text);
  diags.sorted().into_iter().map(|d| (d.code, d.labels[0].span.start, d.labels[0].span.len())).collect()
}

macro_rules! parses {
    ($($name:ident: $text:expr => $shape:expr;)*) => {$(
      #[test]
      fn $name() {
        assert_eq!(ok($text), $shape);
      }
    )*};
  }

parses! {
  empty: "" => "";
  comment_only: "# hello\n// world" => "";
  attribute: "port = 22\n" => "(port = 22)\n";
  labels_and_block: "go toolchain \"1.22.5\" { sha256 = \"ab\" }" =>
    "(go toolchain \"1.22.5\"  {(sha256 = \"ab\")})\n";
  list_with_words: "proxy [\"https://a\", direct]\n" => "(proxy [\"https://a\",direct,] )\n";
  list_multi_line: "path prepend [\n  \"/a\",\n  \"/b\",\n]\n" => "(path prepend [\"/a\",\"/b\",] )\n";
  operator: "assert kernel >= \"5.10\"" => "(assert kernel >= \"5.10\" )\n";
  map_value: "env = { A = \"1\", B = 2 }" => "(env = {(A = \"1\")(B = 2)})\n";
  string_key: "\"go.toolsEnvVars\" = true" => "(\"go.toolsEnvVars\" = true)\n";
  escapes: "x = \"a\\\"b\\n\\u{41}\"" => "(x = \"a\\\"b\\nA\")\n";
  heredoc: "x = <<EOT\nline 1\n  line 2\nEOT\n" => "(x = \"line 1\\n  line 2\\n\")\n";
  heredoc_strip: "x = <<-EOT\n    a\n      b\n    EOT\n" => "(x = \"a\\n  b\\n\")\n";
  semicolons: "a = 1; b = 2" => "(a = 1)\n(b = 2)\n";
  trailing_comment: "a = 1 # one\n" => "(a = 1)\n";
  dotted_word: "sysctl fs.inotify.max_user_watches = 5" => "(sysctl fs.inotify.max_user_watches = 5)\n";
  negative: "x = -1" => "(x = -1)\n";
  crlf: "a = 1\r\nb = 2\r\n" => "(a = 1)\n(b = 2)\n";
  // A heredoc may be a label: `<<` is not two `<` operators.
  heredoc_in_head: "command <<EOT\necho hi\nEOT\n" => "(command \"echo hi\\n\" )\n";
  // A line that starts with the tag but goes on with text is part of the body.
  heredoc_tag_in_text: "x = <<EOT\nEOT is over\nEOT\n" => "(x = \"EOT is over\\n\")\n";
  heredoc_before_block: "x = <<EOT\nb\nEOT {\n}\n" => "(x = \"b\\n\" {})\n";
}

#[test]
fn statement_spans_end_at_their_last_part_not_a_trailing_comment() {
  let (ast, _) = parse(FileId(0), "a = 1   # c\n");
  assert_eq!((ast.stmts[0].span.start, ast.stmts[0].span.end), (0, 5));
}

#[test]
fn unknown_escapes_are_reported_as_such() {
  assert_eq!(err("x = \"a\\qb\"\n"), vec![(Code::InvalidEscape, 6, 2)]);
}

#[test]
fn yaml_pair_is_a_habit_not_a_syntax_error() {
  assert_eq!(err("go_version: \"1.22\"\n"), vec![(Code::YamlHabit, 10, 1)]);
}

#[test]
fn unquoted_forms_are_habits() {
  assert_eq!(err("export GOPATH = $HOME/go\n"), vec![(Code::UnquotedPath, 16, 8)]);
  assert_eq!(err("assert kernel >= 5.10\n"), vec![(Code::UnquotedDecimal, 17, 4)]);
  assert_eq!(err("x = 'a'\n"), vec![(Code::SingleQuotes, 4, 3)]);
}

#[test]
fn every_broken_statement_is_reported() {
  let errors = err("a = \nb = 1\nc = [1 2]\nd = 3\n");
  assert_eq!(errors.len(), 2, "{errors:?}");
  assert!(errors.iter().all(|e| e.0 == Code::Syntax));
}

#[test]
fn statements_after_an_error_are_kept() {
  let (ast, diags) = parse(FileId(0), "a = \nb = 1\n");
  assert_eq!(diags.error_count(), 1);
  assert_eq!(shape(&ast.stmts), "(b = 1)\n");
}

#[test]
fn unterminated_string_points_at_end_of_line() {
  let errors = err("x = \"abc\ny = 1\n");
  assert_eq!(errors, vec![(Code::Syntax, 4, 1)]);
  let (_, diags) = parse(FileId(0), "x = \"abc\ny = 1\n");
  let d = diags.sorted().remove(0);
  assert_eq!(d.labels[1].span.start, 8, "the second label points at the end of the line");
}

#[test]
fn comments_are_collected_in_order() {
  let (ast, _) = parse(FileId(0), "# a\nx = [1, # b\n 2] // c\n");
  let texts: Vec<_> = ast.comments.iter().map(|c| c.text.as_str()).collect();
  assert_eq!(texts, vec!["# a", "# b", "// c"]);
}
