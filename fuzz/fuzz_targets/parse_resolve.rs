//! Fuzzes the whole front end of converge on arbitrary text: parse, resolve,
//! render every diagnostic, and (for text that parses cleanly) check the
//! formatter's promises: its output parses without errors to the same tree and
//! is a fixed point.
//!
//! Run with `scripts/fuzz.sh [SECONDS]`.

#![no_main]

use converge::syntax::ast::shape;
use converge::diagnostic::{Diagnostics, render};
use converge::syntax::formatter::format;
use converge::check::loader::LoadedFile;
use converge::syntax::parser::parse;
use converge::check::resolver::resolve;
use converge::source::Sources;
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};

/// The directory relative paths (`inventory "inventory.ini"`, template
/// `source`s) start from: the repository's `playbooks/`, fixed and existing, so
/// that the seed playbooks find their inventory and the INI reader is reached.
fn base_dir() -> PathBuf {
  Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("playbooks")
}

fn render_all(diagnostics: &Diagnostics, sources: &Sources) {
  for d in diagnostics.iter() {
    let out = render(d, sources, false, 100);
    std::hint::black_box(out);
  }
}

fuzz_target!(|data: &[u8]| {
  let text = String::from_utf8_lossy(data).into_owned();
  let dir = base_dir();

  let mut sources = Sources::new();
  let file = sources.add(&dir.join("fuzz.goenv"), text.as_str());
  let (ast, parse_diags) = parse(file, &text);

  if !parse_diags.has_errors() {
    let out = format(&ast, &text);
    let (out_ast, out_diags) = parse(file, &out);
    assert!(
      !out_diags.has_errors(),
      "formatted text does not parse\ninput: {text:?}\noutput: {out:?}\n{out_diags:?}"
    );
    assert!(
      shape(&out_ast.stmts) == shape(&ast.stmts),
      "formatting changed the tree\ninput: {text:?}\noutput: {out:?}\nbefore: {}\nafter: {}",
      shape(&ast.stmts),
      shape(&out_ast.stmts)
    );
    let again = format(&out_ast, &out);
    assert!(again == out, "formatting is not idempotent\ninput: {text:?}\nonce: {out:?}\ntwice: {again:?}");
  }

  render_all(&parse_diags, &sources);

  let loaded = LoadedFile { ast, dir };
  let (playbook, diags) = resolve(std::slice::from_ref(&loaded), &mut sources);
  std::hint::black_box(playbook);
  render_all(&diags, &sources);
});
