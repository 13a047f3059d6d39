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
];

pub fn find(name: &str) -> Option<&'static Fact> {
  FACTS.iter().find(|f| f.name == name)
}

pub fn names() -> impl Iterator<Item = &'static str> {
  FACTS.iter().map(|f| f.name)
}
