//! Hover text and attribute lists, cut from the book's reference pages.
//!
//! The pages are compiled in ([`include_str!`]), so what an editor shows for a
//! resource kind or an attribute is the text the book prints, and cannot drift
//! from it: a kind's hover is its page up to the first `##` section; an
//! attribute's is its row of the page's `## Attributes` table (or of the table
//! of attributes every resource takes, in the ordering page).

/// One page of the reference: the kind's keywords, the page text, and the
/// `## ` heading of the section that describes it when it shares a page.
struct Page {
  keywords: &'static str,
  text: &'static str,
  section: Option<&'static str>,
}

const PAGES: &[Page] = &[
  Page {
    keywords: "go toolchain",
    text: include_str!("../../book/src/reference/resources/go-toolchain.md"),
    section: None,
  },
  Page {
    keywords: "go tool",
    text: include_str!("../../book/src/reference/resources/go-tool.md"),
    section: None,
  },
  Page {
    keywords: "proxy",
    text: include_str!("../../book/src/reference/resources/proxy.md"),
    section: None,
  },
  Page {
    keywords: "goenv",
    text: include_str!("../../book/src/reference/resources/goenv.md"),
    section: None,
  },
  Page {
    keywords: "export",
    text: include_str!("../../book/src/reference/resources/export.md"),
    section: None,
  },
  Page {
    keywords: "path",
    text: include_str!("../../book/src/reference/resources/export.md"),
    section: Some("path"),
  },
  Page {
    keywords: "vscode settings",
    text: include_str!("../../book/src/reference/resources/vscode-settings.md"),
    section: None,
  },
  Page {
    keywords: "vscode restart",
    text: include_str!("../../book/src/reference/resources/vscode-restart.md"),
    section: None,
  },
  Page {
    keywords: "selinux label",
    text: include_str!("../../book/src/reference/resources/selinux-label.md"),
    section: None,
  },
  Page {
    keywords: "sysctl",
    text: include_str!("../../book/src/reference/resources/sysctl.md"),
    section: None,
  },
  Page { keywords: "file", text: include_str!("../../book/src/reference/resources/file.md"), section: None },
  Page {
    keywords: "template",
    text: include_str!("../../book/src/reference/resources/template.md"),
    section: None,
  },
  Page {
    keywords: "managed block",
    text: include_str!("../../book/src/reference/resources/managed-block.md"),
    section: None,
  },
  Page {
    keywords: "command",
    text: include_str!("../../book/src/reference/resources/command.md"),
    section: None,
  },
  Page {
    keywords: "assert",
    text: include_str!("../../book/src/reference/resources/assert.md"),
    section: None,
  },
  Page {
    keywords: "hosts",
    text: include_str!("../../book/src/reference/targets.md"),
    section: Some("`hosts`"),
  },
  Page {
    keywords: "host",
    text: include_str!("../../book/src/reference/inventory.md"),
    section: Some("`host`"),
  },
  Page {
    keywords: "group",
    text: include_str!("../../book/src/reference/inventory.md"),
    section: Some("`group`"),
  },
  Page {
    keywords: "inventory",
    text: include_str!("../../book/src/reference/inventory.md"),
    section: Some("`inventory`"),
  },
  Page {
    keywords: "vars",
    text: include_str!("../../book/src/reference/variables.md"),
    section: Some("Defining variables"),
  },
  Page {
    keywords: "handler",
    text: include_str!("../../book/src/reference/ordering.md"),
    section: Some("`handler` and `notify`"),
  },
];

/// The page of the attributes every resource takes.
const ORDERING: &str = include_str!("../../book/src/reference/ordering.md");

/// The heading of the table of attributes every resource takes.
const COMMON_SECTION: &str = "Attributes every resource takes";

/// The text of the `## heading` section of a page, heading included, up to the
/// next `## ` heading.
fn section<'a>(page: &'a str, heading: &str) -> Option<&'a str> {
  let marker = format!("\n## {heading}\n");
  let start = page.find(&marker)? + 1;
  let rest = &page[start..];
  let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 4);
  Some(rest[..end].trim_end())
}

/// A page's text before its first `## ` section: the title, what the kind is,
/// and the statement's shape.
fn intro(page: &str) -> &str {
  page.find("\n## ").map_or(page, |i| &page[..i]).trim_end()
}

fn page(keywords: &str) -> Option<&'static Page> {
  PAGES.iter().find(|p| p.keywords == keywords)
}

/// The reference text of a resource kind or top-level statement
/// (`go toolchain`, `hosts`), as markdown.
pub(crate) fn statement_doc(keywords: &str) -> Option<&'static str> {
  let page = page(keywords)?;
  match page.section {
    Some(heading) => section(page.text, heading),
    None => Some(intro(page.text)),
  }
}

/// The rows of the `| Attribute | ... |` table of a section: `(name, row)`.
fn table_rows(section: &str) -> Vec<(&str, &str)> {
  section
    .lines()
    .filter_map(|line| {
      let row = line.strip_prefix("| `")?;
      let name = &row[..row.find('`')?];
      let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
      plain.then_some((name, line))
    })
    .collect()
}

/// The attributes of a kind (without those every resource takes), with their
/// table rows.
fn own_attributes(keywords: &str) -> Vec<(&'static str, &'static str)> {
  page(keywords).and_then(|p| section(p.text, "Attributes")).map(table_rows).unwrap_or_default()
}

/// The attributes every resource takes.
fn common_attributes() -> Vec<(&'static str, &'static str)> {
  section(ORDERING, COMMON_SECTION).map(table_rows).unwrap_or_default()
}

/// The names of the attributes a kind takes, its own first.
pub(crate) fn attributes(keywords: &str) -> Vec<&'static str> {
  own_attributes(keywords).into_iter().chain(common_attributes()).map(|(name, _)| name).collect()
}

/// The reference text of one attribute of a kind: the heading of its table and
/// its row, as markdown.
pub(crate) fn attribute_doc(keywords: &str, attribute: &str) -> Option<String> {
  let (header, row) = match own_attributes(keywords).into_iter().find(|(n, _)| *n == attribute) {
    Some((_, row)) => (page(keywords).and_then(|p| section(p.text, "Attributes")), row),
    None => {
      let (_, row) = common_attributes().into_iter().find(|(n, _)| *n == attribute)?;
      (section(ORDERING, COMMON_SECTION), row)
    }
  };
  // The table's header and separator lines, so the row renders as a table.
  let head: Vec<&str> = header?.lines().filter(|l| l.starts_with('|')).take(2).collect();
  Some(format!("**`{keywords}`** attribute `{attribute}`\n\n{}\n{row}", head.join("\n")))
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::check::resource::KINDS;

  #[test]
  fn every_resource_kind_has_hover_text_from_its_reference_page() {
    for kind in KINDS {
      let keywords = kind.keywords().join(" ");
      let doc = statement_doc(&keywords).unwrap_or_default();
      assert!(doc.len() > 40, "no reference text for `{keywords}`: {doc:?}");
      assert!(doc.contains(kind.keywords()[0]), "`{keywords}`: {doc}");
    }
  }

  #[test]
  fn every_top_level_statement_has_hover_text() {
    for keywords in ["hosts", "host", "group", "inventory", "vars", "handler"] {
      let doc = statement_doc(keywords).unwrap_or_default();
      assert!(doc.starts_with("## "), "`{keywords}`: {doc:?}");
      assert!(!doc[3..].contains("\n## "), "`{keywords}` runs into the next section");
    }
  }

  #[test]
  fn attributes_come_from_the_attribute_tables() {
    assert_eq!(attributes("sysctl"), ["file", "state", "name", "after", "notify", "sensitive"]);
    assert!(attributes("go toolchain").contains(&"sha256"));
    let doc = attribute_doc("sysctl", "file").unwrap_or_default();
    assert!(doc.contains("| Attribute |") && doc.contains("/etc/sysctl.d/90-converge.conf"), "{doc}");
    let doc = attribute_doc("sysctl", "notify").unwrap_or_default();
    assert!(doc.contains("handlers to run"), "{doc}");
    assert_eq!(attribute_doc("sysctl", "nonsense"), None);
  }
}
