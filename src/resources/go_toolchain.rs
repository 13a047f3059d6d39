//! `go toolchain "1.22.5" { sha256 = "..." }`: a Go toolchain at a version,
//! installed into a prefix (default `/usr/local/go`) from a URL or a local
//! tarball checked against its sha256, with `go` and `gofmt` linked into
//! `/usr/local/bin`.

use crate::ast::ValueKind;
use crate::diagnostic::{Code, Diagnostic};
use crate::go_version::GoVersion;
use crate::reader::{Cx, Reader, attribute, text_of};
use crate::resource::{Kind, Spec, Validator};
use crate::text::Text;
use indexmap::IndexMap;

pub struct GoToolchainKind;

pub const DEFAULT_PREFIX: &str = "/usr/local/go";
pub const DEFAULT_LINK_DIR: &str = "/usr/local/bin";

/// The GOARCH values Go publishes Linux tarballs for.
pub const GOARCHES: &[&str] =
  &["amd64", "arm64", "386", "arm", "ppc64le", "s390x", "riscv64", "loong64", "mips64le"];

/// The expected sha256 of the tarball: one for every host, or one per GOARCH.
#[derive(Debug)]
pub enum Checksum {
  One(Text),
  PerArch(IndexMap<String, Text>),
}

#[derive(Debug)]
pub struct GoToolchain {
  pub version: Text,
  /// URL (`https://`, `http://`, `file://`) or path of the tarball on the
  /// controller; by default the official download for the host's GOARCH.
  pub source: Option<Text>,
  pub sha256: Checksum,
  pub prefix: Option<Text>,
  /// Directory for the `go` and `gofmt` links; `link = false` for none.
  pub link_dir: Option<Text>,
  pub link: bool,
}

impl Kind for GoToolchainKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["go", "toolchain"]
  }

  fn summary(&self) -> &'static str {
    "a Go toolchain at a version, checked by sha256 and swapped in atomically"
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let version = r.label(cx, "version")?;
    r.finish(cx)?;
    r.no_value(cx)?;
    let options = r.options(cx, &["source", "sha256", "prefix", "link", "link_dir"]);
    let sha256 = match options.raw("sha256") {
      None if options.misspelled("sha256") => return None,
      None => {
        cx.error(
          Diagnostic::new(Code::MissingAttribute, "`go toolchain` needs the tarball's `sha256`")
            .label(r.stmt().head_span(), "no checksum")
            .help("add `{ sha256 = \"...\" }`; the download page and `https://go.dev/dl/?mode=json` list it"),
        );
        return None;
      }
      Some(v) => match &v.kind {
        ValueKind::Map(block) => {
          let mut per_arch = IndexMap::new();
          for stmt in &block.stmts {
            let Some((arch, arch_span, value)) = attribute(stmt, cx, "sha256") else { continue };
            if !GOARCHES.contains(&arch.as_str()) {
              let mut d = Diagnostic::new(
                Code::WrongType,
                format!("`{arch}` is not a GOARCH that Go publishes for Linux"),
              )
              .label(arch_span, "unknown GOARCH");
              if let Some(s) = crate::diagnostic::did_you_mean(&arch, GOARCHES.iter().copied()) {
                d = d.help(format!("did you mean `{s}`?"));
              }
              cx.error(d);
              continue;
            }
            if let Some(t) = text_of(value, cx, "a sha256") {
              per_arch.insert(arch, t);
            }
          }
          Checksum::PerArch(per_arch)
        }
        _ => Checksum::One(text_of(v, cx, "`sha256`")?),
      },
    };
    let source = options.text(cx, "source");
    if let Some(s) = source.as_ref().filter(|s| !s.is_template() && !s.value.contains("://")) {
      let path = cx.base_dir().join(&s.value);
      if !path.is_file() {
        cx.error(
          Diagnostic::new(Code::Io, format!("the tarball `{}` does not exist", path.display()))
            .label(s.span, "not found")
            .help("a local `source` is read on the controller, relative to the playbook's directory; use a URL otherwise"),
        );
        return None;
      }
    }
    Some(Box::new(GoToolchain {
      version,
      source,
      sha256,
      prefix: options.text(cx, "prefix"),
      link_dir: options.text(cx, "link_dir"),
      link: options.bool(cx, "link").unwrap_or(true),
    }))
  }
}

/// Whether a text is a hex sha256.
pub fn is_sha256(s: &str) -> bool {
  s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn check_sha256(v: &mut Validator, t: &Text) {
  let Some(sum) = v.text(t) else { return };
  if is_sha256(&sum) {
    return;
  }
  let detail = if sum.bytes().all(|b| b.is_ascii_hexdigit()) {
    format!("{} hexadecimal digits, not 64", sum.len())
  } else {
    "not hexadecimal".to_owned()
  };
  v.error(
    Diagnostic::new(Code::Sha256, format!("`{sum}` is not a sha256"))
      .label(t.span, detail)
      .help("a sha256 is 64 hexadecimal digits, as printed by `sha256sum`"),
  );
}

impl Spec for GoToolchain {
  fn id(&self) -> String {
    "go toolchain".to_owned()
  }

  fn claims(&self) -> Vec<Text> {
    let prefix = self.prefix.as_ref().map_or(DEFAULT_PREFIX, |p| p.value.as_str());
    let mut claims = vec![Text::new(format!("go toolchain {prefix}"), self.version.span)];
    if self.link {
      let dir = self.link_dir.as_ref().map_or(DEFAULT_LINK_DIR, |d| d.value.as_str());
      claims.push(Text::new(format!("file {dir}/go"), self.version.span));
      claims.push(Text::new(format!("file {dir}/gofmt"), self.version.span));
    }
    claims
  }

  fn validate(&self, v: &mut Validator) {
    if let Some(version) = v.text(&self.version) {
      if let Err(e) = GoVersion::parse(&version) {
        v.error(
          Diagnostic::new(
            Code::GoVersion,
            format!("`{version}` is not a Go release version; expected {}", e.reason()),
          )
          .label(self.version.span, "expected a release such as \"1.22.5\"")
          .help(e.help()),
        );
      }
    }
    match &self.sha256 {
      Checksum::One(t) => check_sha256(v, t),
      Checksum::PerArch(map) => map.values().for_each(|t| check_sha256(v, t)),
    }
    if let Some(prefix) = &self.prefix {
      if let Some(p) = super::host_path(v, prefix, "`prefix`") {
        if p == "/" || p == "/usr" || p == "/usr/local" || p == "~" || p == "$HOME" {
          v.error(
            Diagnostic::new(
              Code::RelativePath,
              format!("`{p}` cannot be a Go prefix: it is swapped out whole"),
            )
            .label(prefix.span, "would replace a system directory")
            .help(format!("use a directory of its own, such as `{DEFAULT_PREFIX}`")),
          );
        }
      }
    }
    if let Some(dir) = &self.link_dir {
      super::host_path(v, dir, "`link_dir`");
    }
    if let Some(source) = &self.source {
      if let Some(s) = v.text(source) {
        let url = s.starts_with("https://") || s.starts_with("http://") || s.starts_with("file:///");
        if s.contains("://") && !url {
          v.error(
            Diagnostic::new(Code::WrongType, format!("`{s}` is not a source converge can fetch"))
              .label(source.span, "unsupported scheme")
              .help("use an `https://`, `http://` or `file:///` URL, or a path on the controller"),
          );
        }
      }
    }
  }
}
