//! The book's resource reference against the kinds: each kind's row in the
//! resource index and the attribute table of its page say what
//! [`Kind::doc`] says, and every kind has a page.

use crate::check::resource::KINDS;
use std::collections::BTreeSet;

fn book(path: &str) -> String {
  let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/reference/resources").join(path);
  std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The cells of the rows of the first table after the heading `heading`
/// (`None`: of the first table in the page).
fn table(page: &str, heading: Option<&str>) -> Vec<Vec<String>> {
  let mut lines = page.lines().peekable();
  if let Some(heading) = heading {
    for line in lines.by_ref() {
      if line == heading {
        break;
      }
    }
  }
  let rows: Vec<&str> = lines
    .skip_while(|l| !l.starts_with('|'))
    .take_while(|l| l.starts_with('|') && !l.starts_with("## "))
    .skip(2)
    .collect();
  rows.iter().map(|r| r.trim_matches('|').split(" | ").map(|c| c.trim().to_owned()).collect()).collect()
}

/// `[`go toolchain`](go-toolchain.md)` to (`go toolchain`, `go-toolchain.md`).
fn link(cell: &str) -> Option<(String, String)> {
  let (text, target) = cell.strip_prefix("[`")?.split_once("`](")?;
  Some((text.to_owned(), target.trim_end_matches(')').split('#').next()?.to_owned()))
}

#[test]
fn the_resource_index_and_pages_say_what_each_kind_declares() {
  let index = book("index.md");
  let rows: Vec<(String, String, String)> = table(&index, None)
    .into_iter()
    .filter_map(|cells| {
      let (kind, page) = link(cells.first()?)?;
      Some((kind, page, cells.get(1)?.clone()))
    })
    .collect();
  let kinds: Vec<String> = KINDS.iter().map(|k| k.keywords().join(" ")).collect();
  let listed: Vec<String> = rows.iter().map(|(k, _, _)| k.clone()).collect();
  assert_eq!(listed, kinds, "the kinds in book/src/reference/resources/index.md and KINDS");
  for (kind, (name, page, summary)) in KINDS.iter().zip(&rows) {
    let doc = kind.doc();
    assert_eq!(summary, doc.summary, "the summary of `{name}` in the index and in its Kind::doc");
    let page_text = book(page);
    let attributes: BTreeSet<String> = if page_text.contains("\n## Attributes\n") {
      table(&page_text, Some("## Attributes"))
        .into_iter()
        .filter_map(|cells| Some(cells.first()?.trim_matches('`').to_owned()))
        .collect()
    } else {
      BTreeSet::new()
    };
    let declared: BTreeSet<String> = doc.attributes.iter().map(|a| (*a).to_owned()).collect();
    assert_eq!(attributes, declared, "the attributes of `{name}` on {page} and in its Kind::doc");
  }
}

#[test]
fn every_kind_named_in_an_ordering_rule_exists() {
  let kinds: Vec<String> = KINDS.iter().map(|k| k.keywords().join(" ")).collect();
  for kind in KINDS {
    for after in kind.after_kinds() {
      assert!(kinds.iter().any(|k| k == after), "`{after}` in after_kinds of {:?}", kind.keywords());
    }
  }
  let stoppers: Vec<String> =
    KINDS.iter().filter(|k| k.stops_host_on_error()).map(|k| k.keywords().join(" ")).collect();
  assert_eq!(stoppers, ["assert"]);
}

#[test]
fn every_kind_has_a_page_in_the_book_summary_and_its_keywords_in_the_fuzz_dictionary() {
  let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
  let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
  let summary = read("book/src/SUMMARY.md");
  let dict = read("fuzz/goenv.dict");
  let index = book("index.md");
  for (kind, page) in table(&index, None).iter().filter_map(|cells| link(cells.first()?)) {
    assert!(
      summary.contains(&format!("](reference/resources/{page})")),
      "book/src/SUMMARY.md has no entry for {page} (`{kind}`)"
    );
  }
  for kind in KINDS {
    for word in kind.keywords() {
      assert!(dict.contains(&format!("=\"{word}\"")), "fuzz/goenv.dict lacks `{word}`");
    }
  }
}
