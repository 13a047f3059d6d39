//! `go tool "golang.org/x/tools/gopls" "v0.16.2"`: a Go tool at a version,
//! installed with `go install path@version` (GOBIN set explicitly), or copied
//! from a prebuilt `binary` for air-gapped fleets.

use crate::check::reader::{Cx, Reader};
use crate::check::resource::{
  Evaluated, HostInfo, HostPath, Kind, KindDoc, Planning, QueryScope, Spec, Validator,
};
use crate::check::resources::file::controller_bytes;
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic};
use crate::go;
use crate::host::facts::Request;
use crate::host::shell::sh;
use crate::plan::change::{Change, HostState, write_if_changed};
use crate::source::Span;

pub struct GoToolKind;

#[derive(Debug)]
pub struct GoTool {
  pub module: Text,
  pub version: Text,
  /// A prebuilt binary on the controller, installed instead of `go install`.
  pub binary: Option<Text>,
  /// Where the binary goes: GOBIN, `~/go/bin` by default.
  pub bin_dir: Option<Text>,
  /// `state = "absent"`: the binary is deleted.
  pub absent: bool,
  /// Link the binary into /usr/local/bin, which every consumer has on PATH
  /// (dash reads no file for `ssh host cmd`).
  pub link: bool,
}

pub const DEFAULT_BIN_DIR: &str = "~/go/bin";

/// The attributes of its block, besides `name`, `after`, `notify` and `sensitive`.
const ATTRIBUTES: &[&str] = &["binary", "bin_dir", "link", "state"];

impl Kind for GoToolKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["go", "tool"]
  }

  /// The toolchain that builds it and the settings (GOPROXY, GOPRIVATE, ...)
  /// that `go install` reads.
  fn after_kinds(&self) -> &'static [&'static str] {
    &["go toolchain", "goenv", "proxy"]
  }

  fn doc(&self) -> KindDoc {
    KindDoc { summary: "a Go tool (gopls, dlv, any module/path) at a version", attributes: ATTRIBUTES }
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let module = r.label(cx, "module path")?;
    let (module, version) = match go::module::split_at_version(&module.value) {
      Some((path, version)) if r.peek().is_none() => {
        let at = path.len();
        let (p, v) = (path.to_owned(), version.to_owned());
        (
          Text::new(p, module.span.slice(0, at + 1)),
          Text::new(v, module.span.slice(at + 2, module.span.len())),
        )
      }
      _ => {
        let version = r.label(cx, "version")?;
        (module, version)
      }
    };
    r.finish(cx)?;
    r.no_value(cx)?;
    let options = r.options(cx, ATTRIBUTES);
    let binary = options.text(cx, "binary");
    if let Some(b) = &binary {
      let path = cx.base_dir().join(&b.value);
      if !b.is_template()
        && let Err(e) = crate::source::regular_file(&path)
      {
        cx.error(
          Diagnostic::new(Code::Io, format!("cannot use the prebuilt binary `{}`: {e}", path.display()))
            .label(b.span, "read from here")
            .help("relative paths are read from the playbook's directory"),
        );
      }
    }
    let link = options.bool(cx, "link").unwrap_or(false);
    let absent = options.choice(cx, "state", &["present", "absent"]).is_some_and(|s| s.value == "absent");
    Some(Box::new(GoTool { module, version, binary, bin_dir: options.text(cx, "bin_dir"), link, absent }))
  }
}

impl GoTool {
  /// The installed binary's name: `gopls` for `golang.org/x/tools/gopls`.
  pub fn binary_name(&self) -> &str {
    go::module::binary_name(&self.module.value)
  }

  /// With `link = true`: where the link goes.
  fn link_path(&self) -> Option<String> {
    self.link.then(|| format!("{}/{}", super::go_toolchain::DEFAULT_LINK_DIR, self.binary_name()))
  }
}

/// A tool's desired state on one host.
#[derive(Debug)]
struct Desired {
  /// The installed binary's name.
  name: String,
  module: String,
  version: String,
  /// The bin directory as written (rendered): `~/` stays for the host's shell.
  dir: String,
  /// The binary's path, expanded.
  path: String,
  /// A prebuilt binary: where it is on the controller, and the span of `binary`.
  binary: Option<(std::path::PathBuf, Span)>,
  /// With `link = true`: where the link goes.
  link: Option<String>,
  absent: bool,
}

impl Desired {
  /// `state = "absent"`: the binary is deleted when it is there.
  fn plan_absent(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    let path = &self.path;
    if state.tools.get(path).is_none_or(Option::is_none) {
      return Vec::new();
    }
    vec![crate::plan::prune::remove_binary(path, p.host.is_system(path))]
  }

  /// The changes that install the binary at its path.
  fn install(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    let (path, dir, module, version, host) = (&self.path, &self.dir, &self.module, &self.version, p.host);
    if let Some((local, span)) = &self.binary {
      // The controller's bytes, written like a `file`: atomically, mode 0755,
      // and not at all when the installed bytes hash the same.
      let data = match controller_bytes(local) {
        Ok(bytes) => bytes,
        Err(e) => {
          p.error(
            Diagnostic::new(Code::ControllerFile, format!("cannot read `{}`: {e}", local.display()))
              .label(*span, "read from here")
              .help("relative paths are read from the playbook's directory"),
          );
          return Vec::new();
        }
      };
      return write_if_changed(state, path, data, Some(0o755), None, host.is_system(path))
        .into_iter()
        .collect();
    }
    let installed = state.tools.get(path).cloned().flatten();
    if installed.as_deref() == Some(format!("{module} {version}").as_str()) {
      return Vec::new();
    }
    // GOBIN on the host: `~/` stays relative to the (possibly converged) $HOME.
    let gobin = match dir.strip_prefix("~/").or_else(|| dir.strip_prefix("$HOME/")) {
      Some(rest) => sh!("\"$HOME\"/{}", rest),
      None => sh!("\"$CONVERGE_ROOT\"{}", dir),
    };
    let was = installed.map_or_else(
      || "not installed".to_owned(),
      |i| i.split_whitespace().nth(1).unwrap_or("unknown version").to_owned(),
    );
    let script = sh!(
      "go=\"$CONVERGE_ROOT/usr/local/go/bin/go\"; [ -x \"$go\" ] || go=go\ncd \"${{HOME:-/}}\"\nmkdir -p {gobin}\nGOBIN={gobin} \"$go\" install {target}",
      gobin = gobin,
      target = format!("{module}@{version}"),
    )
    .into();
    vec![Change::Run {
      summary: format!("go install {module}@{version} into {dir} (was {was})"),
      script,
      system: host.is_system(path),
      payload: None,
    }]
  }
}

impl crate::check::resource::Desired for Desired {
  fn plan(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    if self.absent {
      return self.plan_absent(p, state);
    }
    let path = &self.path;
    let mut changes = self.install(p, state);
    if let Some(link) = &self.link
      && state.links.get(link).cloned().flatten().as_deref() != Some(path.as_str())
    {
      changes.push(Change::Run {
        summary: format!("link {link} -> {path}"),
        script: sh!(
          "mkdir -p \"$CONVERGE_ROOT\"{d}\nln -sfn {t} \"$CONVERGE_ROOT\"{l}",
          d = super::go_toolchain::DEFAULT_LINK_DIR,
          t = path,
          l = link
        )
        .into(),
        system: true,
        payload: None,
      });
    }
    changes
  }

  fn owns(&self, _host: &HostInfo, _state: &HostState) -> Vec<crate::plan::ledger::Owned> {
    if self.absent {
      return Vec::new();
    }
    let path = self.path.clone();
    let link = self.link.clone().map(|l| crate::plan::ledger::Owned::Link { path: l, target: path.clone() });
    std::iter::once(crate::plan::ledger::Owned::Tool { path }).chain(link).collect()
  }

  fn expects(&self, _host: &HostInfo) -> Vec<crate::plan::expect::Expect> {
    use crate::plan::expect::Expect;
    if self.absent {
      return Vec::new();
    }
    let name = self.name.clone();
    // `dlv attach` needs Yama to let the user trace their own processes.
    let mut out = if name == "dlv" { vec![Expect::Ptrace] } else { Vec::new() };
    // A prebuilt binary carries no build info to compare; its bytes are the check.
    if self.binary.is_some() {
      return out;
    }
    out.push(Expect::Tool { name: name.clone(), version: self.version.clone() });
    // gopls and dlv read the standard library of the Go that runs beside them.
    if matches!(name.as_str(), "gopls" | "dlv") {
      out.push(Expect::ToolGo { name });
    }
    out
  }
}

impl Spec for GoTool {
  fn id(&self) -> String {
    format!("go tool {}", self.binary_name())
  }

  fn claims(&self) -> Vec<Text> {
    let dir = self.bin_dir.as_ref().map_or(DEFAULT_BIN_DIR, |d| d.value.as_str());
    let mut claims = vec![Text::new(format!("go tool {dir}/{}", self.binary_name()), self.module.span)];
    claims.extend(self.link_path().map(|l| Text::new(format!("link {l}"), self.module.span)));
    claims
  }

  fn paths(&self) -> Vec<HostPath> {
    let dir = self.bin_dir.as_ref().map_or(DEFAULT_BIN_DIR, |d| d.value.as_str());
    let mut paths = vec![HostPath::File(format!("{}/{}", dir.trim_end_matches('/'), self.binary_name()))];
    paths.extend(self.link_path().map(HostPath::File));
    paths
  }

  fn requests(&self, v: &mut QueryScope) -> Vec<Request> {
    let dir = self.bin_dir.as_ref().and_then(|d| v.text(d)).unwrap_or_else(|| DEFAULT_BIN_DIR.to_owned());
    let path = format!("{}/{}", dir.trim_end_matches('/'), self.binary_name());
    // A prebuilt binary is compared by its bytes, a built one by its build info.
    let mut out = if self.binary.is_some() && !self.absent {
      vec![Request::File(path)]
    } else {
      vec![Request::Tool(path)]
    };
    out.extend(self.link_path().map(Request::Link));
    out
  }

  fn evaluate(&self, v: &mut Validator, host: &HostInfo) -> Evaluated {
    let mut ok = true;
    let module = v.text(&self.module);
    if let Some(path) = &module
      && let Err(e) = go::module::check_module_path(path)
    {
      v.error(
        Diagnostic::new(Code::ModulePath, format!("`{path}` is not a module path: {}", e.reason()))
          .label(self.module.span, "bad module path")
          .help(e.help()),
      );
      ok = false;
    }
    let version = v.text(&self.version);
    if let Some(version) = &version
      && let Err(e) = go::module::check_semver(version)
    {
      v.error(
        Diagnostic::new(Code::ModulePath, format!("`{version}` is not a module version: {}", e.reason()))
          .label(self.version.span, "expected a version such as \"v0.16.2\"")
          .help(e.help()),
      );
      ok = false;
    }
    let dir = match &self.bin_dir {
      Some(dir) => super::host_path(v, dir, "`bin_dir`"),
      None => Some(DEFAULT_BIN_DIR.to_owned()),
    };
    // A prebuilt binary is found on the controller now and read when planned;
    // `state = "absent"` needs none.
    let binary = match &self.binary {
      Some(text) if !self.absent => {
        v.text(text).map(|b| Some((super::controller_path(v, text, &b), text.span)))
      }
      _ => Some(None),
    };
    let (Some(module), Some(version), Some(dir), Some(binary), true) = (module, version, dir, binary, ok)
    else {
      return Evaluated::Failed;
    };
    let name = self.binary_name().to_owned();
    Evaluated::Desired(Box::new(Desired {
      path: host.expand(&format!("{}/{}", dir.trim_end_matches('/'), name)),
      link: self.link_path(),
      name,
      module,
      version,
      dir,
      binary,
      absent: self.absent,
    }))
  }
}

#[cfg(test)]
mod tests {
  use super::super::go_toolchain::tests::planned;

  #[test]
  fn a_version_rendered_from_facts_gets_the_check_time_check_when_planned() {
    let planned = planned("go tool \"golang.org/x/tools/gopls\" \"{{ facts.goos }}\"\n");
    assert_eq!(planned.len(), 1, "{planned:?}");
    assert!(planned[0].starts_with("error `linux` is not a module version"), "{planned:?}");
  }

  #[test]
  fn a_tool_plans_from_its_rendered_values() {
    let planned = planned(
      "vars {\n  v = \"v0.16.2\"\n}\ngo tool \"golang.org/x/tools/gopls\" \"{{ v }}\" {\n  bin_dir = \"~/bin\"\n}\n",
    );
    assert_eq!(planned, ["run go install golang.org/x/tools/gopls@v0.16.2 into ~/bin (was not installed)"]);
  }
}
