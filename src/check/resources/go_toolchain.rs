//! `go toolchain "1.22.5" { sha256 = "..." }`: a Go toolchain at a version,
//! installed into a prefix (default `/usr/local/go`) from a URL or a local
//! tarball checked against its sha256, with `go` and `gofmt` linked into
//! `/usr/local/bin`.

use crate::check::reader::{Cx, Reader, attribute, text_of};
use crate::check::resource::{
  Evaluated, HostInfo, HostPath, Kind, KindDoc, Planning, QueryScope, Spec, Validator,
};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic};
use crate::go::version::GoVersion;
use crate::host::facts::Request;
use crate::host::shell::sh;
use crate::plan::change::{Change, HostState, Payload};
use crate::source::Span;
use crate::syntax::ast::ValueKind;
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

/// The attributes of its block, besides `name`, `after`, `notify` and `sensitive`.
const ATTRIBUTES: &[&str] = &["source", "sha256", "prefix", "link", "link_dir"];

impl Kind for GoToolchainKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["go", "toolchain"]
  }

  fn doc(&self) -> KindDoc {
    KindDoc {
      summary: "a Go toolchain at a version, checked by sha256 and swapped in atomically",
      attributes: ATTRIBUTES,
    }
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let version = r.label(cx, "version")?;
    r.finish(cx)?;
    r.no_value(cx)?;
    let options = r.options(cx, ATTRIBUTES);
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
      if let Err(e) = crate::source::regular_file(&path) {
        cx.error(
          Diagnostic::new(Code::Io, format!("cannot use the tarball `{}`: {e}", path.display()))
            .label(s.span, "read from here")
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

/// Where the tarball comes from, as the host sees it.
enum Fetch<'a> {
  /// A URL the host fetches (`https://`, `http://`, `file://` on the host).
  Url(&'a str),
  /// A controller file, sent with the apply: the host finds it in
  /// `$CONVERGE_PAYLOAD`, already checked against its sha256.
  Payload(&'a str),
}

/// The shell that fetches a tarball, checks it, unpacks it beside the old tree
/// and swaps it in by rename. A wrong checksum stops before anything moves.
fn install_script(fetch: Fetch, sha256: &str, prefix: &str) -> String {
  let (src, get) = match fetch {
    Fetch::Url(url) => (
      url,
      sh!(
        r#"case $src in
  http://*|https://*) if command -v curl >/dev/null 2>&1; then curl -fsSL -- "$src" > "$tmp/go.tgz"; else wget -qO "$tmp/go.tgz" -- "$src"; fi ;;
  file://*) cp -- "${{src#file://}}" "$tmp/go.tgz" ;;
  *) cp -- "$src" "$tmp/go.tgz" ;;
esac"#
      ),
    ),
    Fetch::Payload(path) => (path, sh!(r#"mv -- "$CONVERGE_PAYLOAD" "$tmp/go.tgz""#)),
  };
  sh!(
    r#"src={src}; sum={sum}; prefix="$CONVERGE_ROOT"{prefix}
dir=$(dirname -- "$prefix"); mkdir -p -- "$dir"
tmp=$(mktemp -d -- "$dir/.converge-go.XXXXXX"); trap 'rm -rf -- "$tmp"; [ -z "${{CONVERGE_PAYLOAD:-}}" ] || rm -f -- "$CONVERGE_PAYLOAD"' EXIT
{get}
if ! printf '%s  %s
' "$sum" "$tmp/go.tgz" | sha256sum -c --status -; then
  echo "sha256 mismatch for $src: expected $sum, got $(sha256sum < "$tmp/go.tgz" | cut -d' ' -f1); nothing was changed" >&2
  exit 1
fi
tar -C "$tmp" -xzf "$tmp/go.tgz"
if [ ! -x "$tmp/go/bin/go" ]; then echo "the tarball has no go/bin/go; nothing was changed" >&2; exit 1; fi
if [ -e "$prefix" ]; then mv -- "$prefix" "$tmp/old"; fi
mv -- "$tmp/go" "$prefix"
if command -v restorecon >/dev/null 2>&1 && [ -z "$CONVERGE_ROOT" ]; then restorecon -R -- "$prefix" 2>/dev/null || true; fi"#,
    src = src,
    sum = sha256,
    prefix = prefix,
    get = get,
  )
  .into()
}

/// Whether a text is a hex sha256.
pub fn is_sha256(s: &str) -> bool {
  s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Reports a text that is not a sha256; the rendered sum when it is one.
pub fn check_sha256(v: &mut Validator, t: &Text) -> Option<String> {
  let sum = v.text(t)?;
  if is_sha256(&sum) {
    return Some(sum);
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
  None
}

/// The expected sha256 of the tarball, rendered and checked.
#[derive(Debug)]
enum Sum {
  One(String),
  PerArch(IndexMap<String, String>),
}

/// A toolchain's desired state on one host.
#[derive(Debug)]
struct Desired {
  version: GoVersion,
  /// The version as written (rendered), which `converge verify` compares.
  version_text: String,
  version_span: Span,
  sha256: Sum,
  /// Expanded.
  prefix: String,
  /// Where the `go` and `gofmt` links go, expanded; `None` with `link = false`.
  link_dir: Option<String>,
  /// The URL or controller path of the tarball; `None` for the official
  /// download for the host's GOARCH.
  source: Option<String>,
  source_span: Option<Span>,
  /// A `source` that is a path: where it is on the controller.
  controller: Option<std::path::PathBuf>,
}

impl Desired {
  /// The change that installs the toolchain, when `installed` is another version.
  fn install(&self, p: &mut Planning, installed: Option<String>) -> Option<Change> {
    let (version, prefix, host) = (&self.version, &self.prefix, p.host);
    let goarch = p.fact("goarch")?;
    let sum = match &self.sha256 {
      Sum::One(sum) => sum,
      Sum::PerArch(map) => match map.get(&goarch) {
        Some(sum) => sum,
        None => {
          p.error(
            Diagnostic::new(
              Code::Sha256,
              format!("no sha256 is given for `{goarch}`, the GOARCH of `{}`", host.name),
            )
            .label(self.version_span, "for this toolchain")
            .help(format!("add `{goarch} = \"...\"` to the `sha256` map")),
          );
          return None;
        }
      },
    };
    let source = match &self.source {
      Some(s) => s.clone(),
      None => format!("https://go.dev/dl/{}", version.tarball_name(&goarch)),
    };
    let controller = match &self.controller {
      None => None,
      // A tarball on the controller: apply sends it over the run's connection.
      Some(path) => match std::fs::canonicalize(path) {
        Ok(p) => Some(p),
        Err(e) => {
          p.error(
            Diagnostic::new(
              Code::ControllerFile,
              format!("cannot read the tarball `{}`: {e}", path.display()),
            )
            .label(self.source_span.unwrap_or(self.version_span), "here")
            .help("a local `source` is read on the controller, relative to the playbook's directory"),
          );
          return None;
        }
      },
    };
    let was = installed.unwrap_or_else(|| "nothing".to_owned());
    let (shown, script, payload) = match controller {
      None => (source.clone(), install_script(Fetch::Url(&source), sum, prefix), None),
      Some(path) => {
        let shown = path.display().to_string();
        let script = install_script(Fetch::Payload(&shown), sum, prefix);
        let dir = match prefix.trim_end_matches('/').rsplit_once('/') {
          Some((d, _)) if !d.is_empty() => d.to_owned(),
          _ => "/".to_owned(),
        };
        (shown, script, Some(Payload { path, sha256: sum.clone(), dir }))
      }
    };
    Some(Change::Run {
      summary: format!("install {version} into {prefix} (was {was}) from {shown}"),
      script,
      system: host.is_system(prefix),
      payload,
    })
  }
}

impl crate::check::resource::Desired for Desired {
  fn plan(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    let (version, prefix, host) = (&self.version, &self.prefix, p.host);
    if p.fact("goarch").is_none() {
      return Vec::new();
    }
    let installed = state
      .file(&format!("{prefix}/VERSION"))
      .map(|f| String::from_utf8_lossy(&f.data).lines().next().unwrap_or_default().trim().to_owned());
    let mut changes = Vec::new();
    if installed.as_deref() != Some(version.to_string().as_str()) {
      match self.install(p, installed) {
        Some(change) => changes.push(change),
        None => return Vec::new(),
      }
    }
    if let Some(dir) = &self.link_dir {
      for tool in ["go", "gofmt"] {
        let link = format!("{dir}/{tool}");
        let target = format!("{prefix}/bin/{tool}");
        if state.links.get(&link).cloned().flatten().as_deref() != Some(target.as_str()) {
          changes.push(Change::Run {
            summary: format!("link {link} -> {target}"),
            script: sh!(
              "mkdir -p \"$CONVERGE_ROOT\"{d}\nln -sfn {t} \"$CONVERGE_ROOT\"{l}",
              d = dir,
              t = target,
              l = link
            )
            .into(),
            system: host.is_system(&link),
            payload: None,
          });
        }
      }
    }
    changes
  }

  /// The Go tree at the prefix and, with `link`, the `go` and `gofmt` links.
  fn owns(&self, _host: &HostInfo, _state: &HostState) -> Vec<crate::plan::ledger::Owned> {
    use crate::plan::ledger::Owned;
    let prefix = &self.prefix;
    let mut out = vec![Owned::Toolchain { prefix: prefix.clone(), version: self.version.to_string() }];
    if let Some(dir) = &self.link_dir {
      for tool in ["go", "gofmt"] {
        out.push(Owned::Link { path: format!("{dir}/{tool}"), target: format!("{prefix}/bin/{tool}") });
      }
    }
    out
  }

  fn expects(&self, _host: &HostInfo) -> Vec<crate::plan::expect::Expect> {
    use crate::plan::expect::{Expect, GoEnvRule};
    let version = self.version_text.clone();
    let goroot = self.prefix.trim_end_matches('/').to_owned();
    let mut paths = vec![format!("{goroot}/bin/go")];
    if let Some(dir) = &self.link_dir {
      paths.push(format!("{}/go", dir.trim_end_matches('/')));
    }
    let rule = |name: &str, rule: GoEnvRule| Expect::GoEnvRule { name: name.to_owned(), rule };
    vec![
      Expect::Go { version: version.clone(), paths },
      Expect::GoEnv { name: "GOROOT".to_owned(), value: goroot },
      rule("GO111MODULE", GoEnvRule::ModulesOn),
      rule("GOFLAGS", GoEnvRule::Empty),
      rule("GOTOOLCHAIN", GoEnvRule::NoOtherToolchain { version }),
    ]
  }
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

  fn paths(&self) -> Vec<HostPath> {
    let prefix = self.prefix.as_ref().map_or(DEFAULT_PREFIX, |p| p.value.as_str());
    let mut paths = vec![HostPath::Dir(prefix.to_owned())];
    if self.link {
      let dir = self.link_dir.as_ref().map_or(DEFAULT_LINK_DIR, |d| d.value.as_str());
      paths
        .extend(["go", "gofmt"].map(|tool| HostPath::File(format!("{}/{tool}", dir.trim_end_matches('/')))));
    }
    paths
  }

  fn requests(&self, v: &mut QueryScope) -> Vec<Request> {
    let prefix = self.prefix.as_ref().and_then(|p| v.text(p)).unwrap_or_else(|| DEFAULT_PREFIX.to_owned());
    let dir = self.link_dir.as_ref().and_then(|d| v.text(d)).unwrap_or_else(|| DEFAULT_LINK_DIR.to_owned());
    vec![
      Request::File(format!("{prefix}/VERSION")),
      Request::Link(format!("{dir}/go")),
      Request::Link(format!("{dir}/gofmt")),
    ]
  }

  fn evaluate(&self, v: &mut Validator, host: &HostInfo) -> Evaluated {
    let version_text = v.text(&self.version);
    let version = match version_text.as_deref().map(|text| (text, GoVersion::parse(text))) {
      Some((_, Ok(version))) => Some(version),
      Some((text, Err(e))) => {
        v.error(
          Diagnostic::new(
            Code::GoVersion,
            format!("`{text}` is not a Go release version; expected {}", e.reason()),
          )
          .label(self.version.span, "expected a release such as \"1.22.5\"")
          .help(e.help()),
        );
        None
      }
      None => None,
    };
    let sha256 = match &self.sha256 {
      Checksum::One(t) => check_sha256(v, t).map(Sum::One),
      Checksum::PerArch(map) => {
        let sums: Vec<(String, Option<String>)> =
          map.iter().map(|(arch, t)| (arch.clone(), check_sha256(v, t))).collect();
        sums
          .into_iter()
          .map(|(arch, sum)| Some((arch, sum?)))
          .collect::<Option<IndexMap<_, _>>>()
          .map(Sum::PerArch)
      }
    };
    let prefix = match &self.prefix {
      None => Some(DEFAULT_PREFIX.to_owned()),
      Some(prefix) => match super::host_path(v, prefix, "`prefix`") {
        Some(p) if p == "/" || p == "/usr" || p == "/usr/local" || p == "~" || p == "$HOME" => {
          v.error(
            Diagnostic::new(
              Code::RelativePath,
              format!("`{p}` cannot be a Go prefix: it is swapped out whole"),
            )
            .label(prefix.span, "would replace a system directory")
            .help(format!("use a directory of its own, such as `{DEFAULT_PREFIX}`")),
          );
          None
        }
        p => p,
      },
    };
    let link_dir = match &self.link_dir {
      None => Some(DEFAULT_LINK_DIR.to_owned()),
      Some(dir) => super::host_path(v, dir, "`link_dir`"),
    };
    let source = match &self.source {
      None => Some(None),
      Some(source) => match v.text(source) {
        Some(s)
          if s.contains("://")
            && !(s.starts_with("https://") || s.starts_with("http://") || s.starts_with("file:///")) =>
        {
          v.error(
            Diagnostic::new(Code::WrongType, format!("`{s}` is not a source converge can fetch"))
              .label(source.span, "unsupported scheme")
              .help("use an `https://`, `http://` or `file:///` URL, or a path on the controller"),
          );
          None
        }
        s => s.map(Some),
      },
    };
    let (Some(version), Some(version_text), Some(sha256), Some(prefix), Some(link_dir), Some(source)) =
      (version, version_text, sha256, prefix, link_dir, source)
    else {
      return Evaluated::Failed;
    };
    let controller = match (&self.source, &source) {
      (Some(text), Some(s)) if !s.contains("://") => Some(super::controller_path(v, text, s)),
      _ => None,
    };
    Evaluated::Desired(Box::new(Desired {
      version,
      version_text,
      version_span: self.version.span,
      sha256,
      prefix: host.expand(&prefix),
      link_dir: self.link.then(|| host.expand(&link_dir)),
      source,
      source_span: self.source.as_ref().map(|s| s.span),
      controller,
    }))
  }
}

#[cfg(test)]
pub(crate) mod tests {
  use crate::plan::change::{Change, HostState};

  /// Each change of `snippet` planned for a fresh amd64 Linux host (`error
  /// MESSAGE` or `run SUMMARY`); the snippet must pass the check.
  pub(crate) fn planned(snippet: &str) -> Vec<String> {
    let mut sources = crate::source::Sources::new();
    let play = crate::check::one_play(snippet, &mut sources, true);
    let facts = crate::host::facts::Facts {
      goarch: "amd64".to_owned(),
      goos: "linux".to_owned(),
      user: "ada".to_owned(),
      home: "/home/ada".to_owned(),
      shell: "/bin/bash".to_owned(),
      ..Default::default()
    };
    let ledger = crate::plan::ledger::HostLedger::default();
    let plan =
      crate::plan::planner::plan_against(&play, &[], &facts, HostState::default(), &ledger, &sources);
    let mut out = Vec::new();
    for step in &plan.steps {
      out.extend(step.errors.iter().map(|e| format!("error {}", e.message)));
      out.extend(step.changes.iter().map(|c| match c {
        Change::Run { summary, .. } => format!("run {summary}"),
        Change::Write { path, .. } => format!("write {path}"),
        Change::Remove { path, .. } => format!("remove {path}"),
      }));
    }
    out
  }

  const SUM: &str = "904b924d435eaea086515bc63235b192ea441bd8c9b198c507e85009ae6e8fe2";

  #[test]
  fn a_version_rendered_from_facts_gets_the_check_time_check_when_planned() {
    let planned = planned(&format!("go toolchain \"{{{{ facts.goos }}}}\" {{\n  sha256 = \"{SUM}\"\n}}\n"));
    assert_eq!(
      planned,
      [
        "error `linux` is not a Go release version; expected a go release such as `1.22.5`, `go1.22.5`, `1.20` or `1.23rc1`"
      ],
    );
  }

  #[test]
  fn a_toolchain_plans_from_its_rendered_values() {
    let planned = planned(&format!(
      "vars {{\n  v = \"1.22.5\"\n}}\ngo toolchain \"{{{{ v }}}}\" {{\n  sha256 = {{ amd64 = \"{SUM}\" }}\n  prefix = \"~/sdk/go\"\n  link_dir = \"~/bin\"\n}}\n"
    ));
    assert_eq!(
      planned,
      [
        "run install go1.22.5 into /home/ada/sdk/go (was nothing) from https://go.dev/dl/go1.22.5.linux-amd64.tar.gz",
        "run link /home/ada/bin/go -> /home/ada/sdk/go/bin/go",
        "run link /home/ada/bin/gofmt -> /home/ada/sdk/go/bin/gofmt",
      ]
    );
  }
}
