//! Property tests of `converge fmt`.
//!
//! The example tables in `src/formatter.rs` pin the layout; these tests pin the
//! promises that make `converge fmt` safe to run on every save: on any valid
//! `.goenv` text (generated here with nesting, heredocs, comments in every place
//! the grammar allows them, odd spacing, `,`/`;` separators and CRLF), the output
//! parses to the same tree, keeps every comment in order, and is a fixed point
//! of the formatter.

use converge::source::FileId;
use converge::syntax::ast::{Ast, shape};
use converge::syntax::formatter::format;
use converge::syntax::parser::parse;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

/// How deep blocks, maps and lists nest in generated files.
const MAX_DEPTH: u32 = 3;

fn s(x: &str) -> BoxedStrategy<String> {
  Just(x.to_owned()).boxed()
}

/// Zero or more spaces or tabs.
fn sp0() -> BoxedStrategy<String> {
  prop_oneof![4 => s(" "), 2 => s(""), 1 => "[ \t]{2,4}"].boxed()
}

/// Spaces between two terms of a head, sometimes a `\` line continuation.
fn sp() -> BoxedStrategy<String> {
  prop_oneof![8 => s(" "), 2 => "[ \t]{2,4}", 1 => s(" \\\n    ")].boxed()
}

fn comment() -> BoxedStrategy<String> {
  "(#|//)[ a-zA-Z0-9,;:{}=\"#/\\[\\]-]{0,16}".boxed()
}

/// One or more line breaks, each perhaps after a comment, perhaps doubled into a
/// blank line, and the indentation of the next line.
fn nl_gap() -> BoxedStrategy<String> {
  let piece = (sp0(), option::weighted(0.35, comment()), prop::bool::weighted(0.2)).prop_map(
    |(sp, c, blank)| match c {
      Some(c) => format!("{sp}{c}\n{}", if blank { "\n" } else { "" }),
      None => format!("\n{}", if blank { "\n" } else { "" }),
    },
  );
  (vec(piece, 1..3), " {0,6}").prop_map(|(pieces, indent)| pieces.concat() + &indent).boxed()
}

fn word() -> BoxedStrategy<String> {
  prop_oneof![
    4 => "[a-z_][a-z0-9_]{0,7}",
    2 => "[a-z][a-z0-9]{0,4}([.-][a-z0-9_]{1,5}){1,3}",
    1 => "[A-Z][A-Z0-9_]{0,9}",
    1 => prop::sample::select(vec!["go", "toolchain", "direct", "off", "fs.inotify.max_user_watches"])
      .prop_map(str::to_owned),
  ]
  .boxed()
}

fn string() -> BoxedStrategy<String> {
  let piece = prop_oneof![
    6 => "[a-zA-Z0-9 ./:@=+-]{1,10}",
    1 => "[a-z]{20,40}",
    1 => prop::sample::select(vec![
      "\\\"", "\\\\", "\\n", "\\t", "\\r", "\\$", "\\u{41}", "\\u{1F600}", "{{ go_version }}", "{{host.name}}",
      "$HOME/go/bin", "# not a comment", "// nor this", "é…", "{", "}", "[", "]", ",", ";",
    ])
    .prop_map(str::to_owned),
  ];
  vec(piece, 0..4).prop_map(|p| format!("\"{}\"", p.concat())).boxed()
}

fn int() -> BoxedStrategy<String> {
  prop_oneof![4 => "-?[1-9][0-9]{0,6}", 1 => s("0"), 1 => s("0644"), 1 => s("-1")].boxed()
}

fn boolean() -> BoxedStrategy<String> {
  prop_oneof![s("true"), s("false")].boxed()
}

fn op() -> BoxedStrategy<String> {
  prop::sample::select(vec!["==", "!=", ">=", "<=", ">", "<"]).prop_map(str::to_owned).boxed()
}

fn scalar() -> BoxedStrategy<String> {
  prop_oneof![3 => string(), 2 => word(), 2 => int(), 1 => boolean()].boxed()
}

/// `<<EOT` or `<<-EOT` with a body of lowercase lines (which can never close it).
fn heredoc() -> BoxedStrategy<String> {
  let tag = prop::sample::select(vec!["EOT", "END", "SQL_1"]);
  let line = "[a-z{}#\"/ =]{0,14}";
  (tag, any::<bool>(), " {0,2}", vec((" {0,4}", line), 0..4), " {0,4}", " {0,4}")
    .prop_map(|(tag, strip, after_open, lines, indent, close_indent)| {
      let mut out = format!("<<{}{tag}{after_open}\n", if strip { "-" } else { "" });
      for (extra, line) in lines {
        out.push_str(&indent);
        out.push_str(&extra);
        out.push_str(&line);
        out.push('\n');
      }
      out.push_str(&close_indent);
      out.push_str(tag);
      out
    })
    .boxed()
}

/// A gap inside a list: spaces, line breaks with comments, or a `\` line
/// continuation.
fn list_gap() -> BoxedStrategy<String> {
  prop_oneof![8 => sp0(), 2 => nl_gap(), 1 => s(" \\\n  ")].boxed()
}

/// A list whose items nest up to `depth` more levels.
fn list(depth: u32) -> BoxedStrategy<String> {
  let item = (list_gap(), value(depth.saturating_sub(1)), list_gap());
  (vec(item, 0..5), prop::bool::weighted(0.3), list_gap(), list_gap())
    .prop_map(|(items, trailing_comma, after_comma, before_close)| {
      let mut out = String::from("[");
      let n = items.len();
      for (i, (before, item, after)) in items.into_iter().enumerate() {
        out.push_str(&before);
        out.push_str(&item);
        out.push_str(&after);
        if i + 1 < n || trailing_comma {
          out.push(',');
        }
      }
      if n > 0 && trailing_comma {
        out.push_str(&after_comma);
      }
      out.push_str(&before_close);
      out.push(']');
      out
    })
    .boxed()
}

/// A value after `=` or in a list.
fn value(depth: u32) -> BoxedStrategy<String> {
  if depth == 0 {
    return prop_oneof![8 => scalar(), 1 => heredoc(), 1 => s("[]"), 1 => s("{}")].boxed();
  }
  prop_oneof![6 => scalar(), 1 => heredoc(), 2 => list(depth), 2 => map(depth)].boxed()
}

/// One separator between the statements of a block or map.
fn separator() -> BoxedStrategy<String> {
  prop_oneof![
    2 => (sp0(), sp0()).prop_map(|(a, b)| format!("{a},{b}")),
    2 => (sp0(), sp0()).prop_map(|(a, b)| format!("{a};{b}")),
    5 => nl_gap(),
  ]
  .boxed()
}

/// The statements of a block or map, between `{` and `}`.
fn body(depth: u32) -> BoxedStrategy<String> {
  let stmts = vec((stmt(depth), vec(separator(), 1..3)), 0..4);
  (sp0(), vec(separator(), 0..2), stmts, vec(separator(), 0..2), sp0())
    .prop_map(|(open, lead, stmts, trail, close)| {
      let mut out = format!("{{{open}{}", lead.concat());
      let n = stmts.len();
      for (i, (stmt, seps)) in stmts.into_iter().enumerate() {
        out.push_str(&stmt);
        if i + 1 < n {
          out.push_str(&seps.concat());
        }
      }
      out.push_str(&trail.concat());
      out.push_str(&close);
      out.push('}');
      out
    })
    .boxed()
}

fn map(depth: u32) -> BoxedStrategy<String> {
  body(depth.saturating_sub(1))
}

/// A term of a head after the first.
fn term(depth: u32) -> BoxedStrategy<String> {
  if depth == 0 {
    return prop_oneof![6 => scalar(), 2 => op()].boxed();
  }
  prop_oneof![6 => scalar(), 2 => op(), 1 => list(depth)].boxed()
}

/// A statement whose value, head lists and block nest up to `depth` levels.
fn stmt(depth: u32) -> BoxedStrategy<String> {
  let first = prop_oneof![5 => word(), 1 => string()];
  let head = (first, vec((sp(), term(depth)), 0..4));
  let assign = option::weighted(0.6, (sp(), sp0(), value(depth)));
  let block =
    if depth == 0 { Just(None).boxed() } else { option::weighted(0.3, (sp0(), body(depth - 1))).boxed() };
  (head, assign, block)
    .prop_map(|((first, rest), assign, block)| {
      let mut out = first;
      for (sp, term) in rest {
        out.push_str(&sp);
        out.push_str(&term);
      }
      if let Some((before, after, value)) = assign {
        out.push_str(&format!("{before}={after}{value}"));
      }
      if let Some((sp, block)) = block {
        out.push_str(&sp);
        out.push_str(&block);
      }
      out
    })
    .boxed()
}

/// What ends a top-level statement: a line break (with comments and blank lines)
/// or `;`.
fn terminator() -> BoxedStrategy<String> {
  prop_oneof![
    6 => nl_gap(),
    1 => (sp0(), sp0()).prop_map(|(a, b)| format!("{a};{b}")),
    1 => (sp0(), nl_gap()).prop_map(|(a, b)| format!("{a};{b}")),
  ]
  .boxed()
}

/// A whole file.
fn source() -> BoxedStrategy<String> {
  let lead = vec((" {0,2}", option::weighted(0.5, comment())), 0..3)
    .prop_map(|lines| lines.into_iter().map(|(sp, c)| format!("{sp}{}\n", c.unwrap_or_default())).collect());
  let last = prop_oneof![s(""), s("\n"), terminator()];
  (lead, vec((stmt(MAX_DEPTH), terminator()), 0..5), last, prop::bool::weighted(0.2))
    .prop_map(|(lead, stmts, last, crlf): (String, Vec<(String, String)>, String, bool)| {
      let mut out = lead;
      let n = stmts.len();
      for (i, (stmt, end)) in stmts.into_iter().enumerate() {
        out.push_str(&stmt);
        out.push_str(if i + 1 < n { &end } else { &last });
      }
      if crlf { out.replace('\n', "\r\n") } else { out }
    })
    .boxed()
}

fn comment_texts(ast: &Ast) -> Vec<&str> {
  ast.comments.iter().map(|c| c.text.as_str()).collect()
}

proptest! {
  #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

  #[test]
  fn format_keeps_meaning_and_comments_and_is_idempotent(src in source()) {
    let (ast, diags) = parse(FileId(0), &src);
    prop_assert!(diags.is_empty(), "generated text does not parse: {:?}\n{:?}", src, diags);
    let out = format(&ast, &src);

    let (out_ast, out_diags) = parse(FileId(0), &out);
    prop_assert!(out_diags.is_empty(), "output does not parse: {:?}\nfrom {:?}\n{:?}", out, src, out_diags);
    prop_assert_eq!(shape(&out_ast.stmts), shape(&ast.stmts), "meaning changed: {:?} -> {:?}", src, out);
    prop_assert_eq!(comment_texts(&out_ast), comment_texts(&ast), "comments changed: {:?} -> {:?}", src, out);

    let again = format(&out_ast, &out);
    prop_assert_eq!(&again, &out, "not idempotent: {:?}", src);
  }

  #[test]
  fn format_output_is_tidy(src in source()) {
    let (ast, diags) = parse(FileId(0), &src);
    prop_assert!(diags.is_empty(), "generated text does not parse: {:?}\n{:?}", src, diags);
    let out = format(&ast, &src);
    let heredocs = src.contains("<<");
    prop_assert!(out.is_empty() || (out.ends_with('\n') && !out.ends_with("\n\n")), "bad end: {:?}", out);
    prop_assert!(!out.starts_with('\n'), "leading blank line: {:?}", out);
    if !heredocs {
      prop_assert!(!out.contains("\n\n\n"), "two blank lines: {:?}", out);
      prop_assert!(out.lines().all(|l| l == l.trim_end()), "trailing whitespace: {:?}", out);
      let lines: Vec<&str> = out.lines().collect();
      // Lines with comments are skipped: their text may end in anything.
      let commented = |l: &str| l.contains('#') || l.contains("//");
      for (i, pair) in lines.windows(3).enumerate() {
        if pair[1].is_empty() && !commented(pair[0]) && !commented(pair[2]) {
          let after_open = pair[0].ends_with('{') || pair[0].ends_with('[');
          let before_close = pair[2].trim_start().starts_with(['}', ']']);
          prop_assert!(!after_open && !before_close, "blank line {} at the edge of a block: {:?}", i + 2, out);
        }
      }
      prop_assert!(!out.contains('\r'), "CR in output: {:?}", out);
      if src.contains('\r') {
        let lf = src.replace("\r\n", "\n");
        let (lf_ast, _) = parse(FileId(0), &lf);
        prop_assert_eq!(format(&lf_ast, &lf), out, "CRLF and LF differ: {:?}", src);
      }
    }
  }
}
