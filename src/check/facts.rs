//! The names of the host facts a playbook can use, in templates
//! (`{{ facts.goarch }}`) and in `assert` statements.
//!
//! Facts are gathered from each host in one round trip at plan time; this table
//! is what the check phase knows about them: their names and how they compare.

/// How a fact's values compare in `assert`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactType {
  /// Dotted release numbers compared numerically: `5.10` < `6.1.0-28-amd64`.
  Version,
  /// Whole numbers.
  Integer,
  /// Text: only `==`, `!=` and `in`.
  Text,
}

/// A fact converge gathers, with its type and a description for the book.
pub struct Fact {
  pub name: &'static str,
  pub kind: FactType,
  pub description: &'static str,
}

pub const FACTS: &[Fact] = &[
  Fact {
    name: "os",
    kind: FactType::Text,
    description: "`ID` from /etc/os-release: `debian`, `ubuntu`, `fedora`",
  },
  Fact {
    name: "os_family",
    kind: FactType::Text,
    description: "`debian`, `rhel`, `arch`, `suse` or `alpine`, from `ID` and `ID_LIKE`",
  },
  Fact { name: "os_version", kind: FactType::Version, description: "`VERSION_ID` from /etc/os-release" },
  Fact { name: "kernel", kind: FactType::Version, description: "the kernel release, `uname -r`" },
  Fact { name: "arch", kind: FactType::Text, description: "the machine, `uname -m`: `x86_64`, `aarch64`" },
  Fact { name: "goarch", kind: FactType::Text, description: "`uname -m` as a GOARCH: `amd64`, `arm64`" },
  Fact { name: "goos", kind: FactType::Text, description: "always `linux`" },
  Fact { name: "cgroup", kind: FactType::Integer, description: "the cgroup version mounted: `1` or `2`" },
  Fact { name: "selinux", kind: FactType::Text, description: "`enforcing`, `permissive` or `disabled`" },
  Fact { name: "shell", kind: FactType::Text, description: "the login shell of the connecting user" },
  Fact { name: "user", kind: FactType::Text, description: "the connecting user" },
  Fact { name: "home", kind: FactType::Text, description: "the home directory of the connecting user" },
  Fact { name: "hostname", kind: FactType::Text, description: "the host's own name, `uname -n`" },
  Fact {
    name: "go_version",
    kind: FactType::Version,
    description: "the installed Go, `1.22.5`, or empty when there is none",
  },
  Fact { name: "cpus", kind: FactType::Integer, description: "the number of online CPUs" },
  Fact { name: "memory_mb", kind: FactType::Integer, description: "total memory in MiB" },
  Fact {
    name: "has_cc",
    kind: FactType::Integer,
    description: "`1` when a C compiler (`cc` or `gcc`) is on the PATH, for cgo; else `0`",
  },
  Fact {
    name: "long_bit",
    kind: FactType::Integer,
    description: "the userland's word size, `getconf LONG_BIT`: `64` or `32`",
  },
];

pub fn find(name: &str) -> Option<&'static Fact> {
  FACTS.iter().find(|f| f.name == name)
}

pub fn names() -> impl Iterator<Item = &'static str> {
  FACTS.iter().map(|f| f.name)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn type_word(kind: FactType) -> &'static str {
    match kind {
      FactType::Version => "version",
      FactType::Integer => "integer",
      FactType::Text => "text",
    }
  }

  /// The names templates and `assert` may use, the fields of the typed facts
  /// (what the template context is made from) and the book's facts page are
  /// one list: adding a fact to one and not the others fails here.
  #[test]
  fn the_fact_table_the_typed_facts_and_the_book_agree() {
    let context = crate::host::facts::Facts::default().template_context();
    let fields: Vec<&str> =
      context.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    let mut table: Vec<&str> = names().collect();
    table.sort_unstable();
    let mut sorted_fields = fields.clone();
    sorted_fields.sort_unstable();
    assert_eq!(sorted_fields, table, "the fields of host::facts::Facts and check::facts::FACTS");
    for fact in FACTS {
      let value = &context[fact.name];
      let typed = match fact.kind {
        FactType::Integer => value.is_u64(),
        FactType::Version | FactType::Text => value.is_string(),
      };
      assert!(typed, "`{}` is {:?} in Facts but {:?} in FACTS", fact.name, value, fact.kind);
    }
    let page = include_str!("../../book/src/reference/facts.md");
    let rows: Vec<(String, String, String)> = page
      .lines()
      .skip_while(|l| !l.starts_with("| Fact |"))
      .skip(2)
      .take_while(|l| l.starts_with('|'))
      .map(|l| {
        let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
        let cell = |i: usize| cells.get(i).copied().unwrap_or_default().to_owned();
        (cell(0).trim_matches('`').to_owned(), cell(1), cell(2))
      })
      .collect();
    let expected: Vec<(String, String, String)> = FACTS
      .iter()
      .map(|f| (f.name.to_owned(), type_word(f.kind).to_owned(), f.description.to_owned()))
      .collect();
    assert_eq!(rows, expected, "book/src/reference/facts.md and check::facts::FACTS");
  }
}
