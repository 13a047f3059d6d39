//! Settings of one host that must agree across resources: what VS Code's Go
//! tools are told (`go.toolsEnvVars`, `go.goroot`, `go.alternateTools`,
//! `go.gopath`) against `goenv`, `proxy`, `export` and `go toolchain`; the
//! proxy variables against GOPRIVATE; GOTOOLCHAIN against a GOPROXY of
//! `off`; and the gopls and dlv releases against the declared Go.

use super::export::{Action, Export};
use super::go_tool::GoTool;
use super::go_toolchain::{DEFAULT_LINK_DIR, DEFAULT_PREFIX, GoToolchain};
use super::goenv::{GoEnv, gopath_mode};
use super::proxy::Proxy;
use super::vscode::{VscodeSettings, render_text};
use crate::check::resource::{Resource, Validator};
use crate::diagnostic::{Code, Diagnostic};
use crate::go::gopls::{Fit, dlv_supports, gopls_supports};
use crate::source::Span;
use std::any::Any;
use std::sync::Arc;

/// A value as messages show it: at most 80 characters, escaped.
fn shown(value: &str) -> String {
  let short: String = value.chars().take(80).collect();
  let more = if short.len() < value.len() { "..." } else { "" };
  format!("{}{more}", short.escape_debug())
}

/// The specs of kind `T` among `resources`.
fn each<T: 'static>(resources: &[Arc<Resource>]) -> impl Iterator<Item = &T> {
  resources.iter().filter_map(|r| (r.spec.as_ref() as &dyn Any).downcast_ref::<T>())
}

/// A value declared for a variable, where, and by which kind of resource.
#[derive(Clone, Debug)]
struct Declared {
  name: String,
  value: String,
  span: Span,
  place: &'static str,
}

/// Every Go setting and exported variable the resources declare, rendered
/// for the host (those that need facts are left out).
fn declared(resources: &[Arc<Resource>], v: &mut Validator) -> (Vec<Declared>, Vec<Declared>) {
  let mut go = Vec::new();
  for goenv in each::<GoEnv>(resources) {
    for (name, value) in &goenv.vars {
      if let Some(rendered) = v.text(value) {
        go.push(Declared { name: name.value.clone(), value: rendered, span: value.span, place: "goenv" });
      }
    }
  }
  for proxy in each::<Proxy>(resources) {
    let span = match (proxy.entries.first(), proxy.entries.last()) {
      (Some((a, _)), Some((b, _))) if a.span.file == b.span.file => {
        Span { start: a.span.start, end: b.span.end, ..a.span }
      }
      _ => Span::default(),
    };
    if let Some(value) = proxy.render(|t| v.text(t)) {
      go.push(Declared { name: "GOPROXY".to_owned(), value, span, place: "proxy" });
    }
  }
  let mut exported = Vec::new();
  for export in each::<Export>(resources) {
    if let Action::Set(value) = &export.action
      && let Some(rendered) = v.text(value)
    {
      let d =
        Declared { name: export.name.value.clone(), value: rendered, span: value.span, place: "export" };
      if crate::go::env::is_go_variable(&d.name) {
        go.push(d.clone());
      }
      exported.push(d);
    }
  }
  (go, exported)
}

/// Checks that the resources of one host agree with each other.
pub(crate) fn check(resources: &[Arc<Resource>], v: &mut Validator) {
  let (go, exported) = declared(resources, v);
  vscode_settings(resources, &go, v);
  proxy_variables(&go, &exported, v);
  toolchain_download(&go, v);
  tool_releases(resources, v);
}

/// The declared toolchain's version (rendered), its span, its prefix and the
/// `go` link it makes.
fn toolchain(
  resources: &[Arc<Resource>],
  v: &mut Validator,
) -> Option<(String, Span, String, Option<String>)> {
  let t = each::<GoToolchain>(resources).next()?;
  let version = v.text(&t.version)?;
  let prefix = match &t.prefix {
    Some(p) => v.text(p)?,
    None => DEFAULT_PREFIX.to_owned(),
  };
  let link = match (&t.link_dir, t.link) {
    (_, false) => None,
    (Some(dir), true) => v.text(dir).map(|d| format!("{}/go", d.trim_end_matches('/'))),
    (None, true) => Some(format!("{DEFAULT_LINK_DIR}/go")),
  };
  Some((version, t.version.span, prefix.trim_end_matches('/').to_owned(), link))
}

fn vscode_settings(resources: &[Arc<Resource>], go: &[Declared], v: &mut Validator) {
  let declared_go = toolchain(resources, v);
  for settings in each::<VscodeSettings>(resources) {
    if let Some(tools_env) = settings.settings.get("go.toolsEnvVars") {
      for (name, value) in tools_env.entries() {
        let Some(rendered) = render_text(value, v) else { continue };
        if name == "GO111MODULE" {
          gopath_mode(v, &rendered, value.span, "`go.toolsEnvVars`");
        }
        contradiction(v, go, name, &rendered, value.span, "`go.toolsEnvVars`");
      }
    }
    if let Some(gopath) = settings.settings.get("go.gopath")
      && let Some(rendered) = render_text(&gopath.written, v)
    {
      contradiction(v, go, "GOPATH", &rendered, gopath.written.span, "`go.gopath`");
    }
    let Some((version, version_span, prefix, link)) = &declared_go else { continue };
    if let Some(goroot) = settings.settings.get("go.goroot")
      && let Some(rendered) = render_text(&goroot.written, v)
      && rendered.trim_end_matches('/') != prefix
    {
      other_go(v, "go.goroot", &rendered, goroot.written.span, version, *version_span, prefix);
    }
    if let Some(tools_go) = settings.settings.get("go.toolsManagement.go")
      && let Some(rendered) = render_text(&tools_go.written, v)
      && !rendered.is_empty()
      && rendered != format!("{prefix}/bin/go")
      && link.as_deref() != Some(rendered.as_str())
    {
      other_go(v, "go.toolsManagement.go", &rendered, tools_go.written.span, version, *version_span, prefix);
    }
    if let Some(tools) = settings.settings.get("go.alternateTools")
      && let Some((_, go_path)) = tools.entries().into_iter().find(|(k, _)| *k == "go")
      && let Some(rendered) = render_text(go_path, v)
    {
      let own = format!("{prefix}/bin/go");
      if rendered != own && link.as_deref() != Some(rendered.as_str()) {
        other_go(v, "go.alternateTools.go", &rendered, go_path.span, version, *version_span, prefix);
      }
    }
  }
}

fn other_go(v: &mut Validator, key: &str, path: &str, span: Span, version: &str, at: Span, prefix: &str) {
  v.error(
    Diagnostic::new(
      Code::SettingOtherGo,
      format!("`{key}` is `{}`, not the declared Go {} in `{}`", shown(path), shown(version), shown(prefix)),
    )
    .label(span, "VS Code's Go tools use this Go")
    .label(at, "the declared toolchain")
    .help(format!(
      "remove `{key}` (VS Code finds the declared Go on PATH), or point it into `{}`",
      shown(prefix)
    )),
  );
}

/// Warns when the VS Code setting `place` gives `name` another value than a
/// declared Go setting: the tools VS Code runs and the shells would differ.
fn contradiction(v: &mut Validator, go: &[Declared], name: &str, value: &str, span: Span, place: &str) {
  let Some(other) = go.iter().find(|d| d.name == name && d.value != value) else { return };
  let (value, other_value) = (shown(value), shown(&other.value));
  v.error(
    Diagnostic::new(
      Code::SettingContradicts,
      format!(
        "{place} sets {name}={value} for the tools VS Code runs, but `{}` declares {name}={other_value}",
        other.place
      ),
    )
    .label(span, format!("{name}={value} in {place}"))
    .label(other.span, format!("{name}={other_value} in `{}`", other.place))
    .help(format!(
      "remove {name} from {place}: the VS Code server reads the go env file and the login environment; or make both values the same"
    )),
  );
}

fn first<'a>(list: &'a [Declared], names: &[&str]) -> Option<&'a Declared> {
  list.iter().find(|d| names.contains(&d.name.as_str()) && !d.value.is_empty())
}

/// HTTP_PROXY without HTTPS_PROXY; NO_PROXY that lets private modules go
/// through the proxy.
fn proxy_variables(go: &[Declared], exported: &[Declared], v: &mut Validator) {
  let http = first(exported, &["HTTP_PROXY", "http_proxy"]);
  let https = first(exported, &["HTTPS_PROXY", "https_proxy"]);
  if let (Some(http), None) = (http, https) {
    v.error(
      Diagnostic::new(
        Code::HttpProxyOnly,
        format!(
          "`{}` is exported without HTTPS_PROXY: the go command's https requests do not use it",
          http.name
        ),
      )
      .label(http.span, "used for http:// URLs only")
      .help("GOPROXY and GOSUMDB are https URLs: export HTTPS_PROXY too, usually with the same value"),
    );
  }
  let Some(proxy) = https.or(http) else { return };
  let no_proxy = first(exported, &["NO_PROXY", "no_proxy"]);
  let entries: Vec<&str> = no_proxy
    .map(|d| d.value.split(',').map(str::trim).filter(|e| !e.is_empty()).collect())
    .unwrap_or_default();
  let Some(private) =
    go.iter().find(|d| (d.name == "GONOPROXY" || d.name == "GOPRIVATE") && !d.value.is_empty())
  else {
    return;
  };
  let missed: Vec<String> = private
    .value
    .split(',')
    .filter_map(|pattern| pattern.trim().split('/').next())
    .filter(|host| !host.is_empty() && *host != "*" && !covered(host, &entries))
    .map(str::to_owned)
    .collect();
  if missed.is_empty() {
    return;
  }
  let mut d = Diagnostic::new(
    Code::NoProxyMissesPrivate,
    format!(
      "{} reaches {} through `{}`: NO_PROXY does not name {}",
      private.name,
      shown(&missed.join(", ")),
      proxy.name,
      if missed.len() == 1 { "it" } else { "them" }
    ),
  )
  .label(private.span, "fetched directly, with git or the module's own server")
  .label(proxy.span, "a proxy for every https request");
  if let Some(np) = no_proxy {
    d = d.label(np.span, "does not cover them");
  }
  v.error(d.help(format!(
    "add {} to an exported NO_PROXY, so the private hosts are reached without the proxy",
    shown(&missed.join(","))
  )));
}

/// Whether a NO_PROXY list covers `host` (a host or a `*.domain` pattern), as
/// curl and Go's net/http read it: `*`, the host, or a domain it is in.
fn covered(host: &str, entries: &[&str]) -> bool {
  let host = host.trim_start_matches("*.").split(':').next().unwrap_or(host).to_ascii_lowercase();
  entries.iter().any(|e| {
    let e =
      e.trim_start_matches("*.").trim_start_matches('.').split(':').next().unwrap_or(e).to_ascii_lowercase();
    e == "*" || host == e || host.ends_with(&format!(".{e}"))
  })
}

/// GOTOOLCHAIN=auto (the default) with GOPROXY=off: a go.mod that asks for a
/// newer Go makes the go command try to download one, and fail.
fn toolchain_download(go: &[Declared], v: &mut Validator) {
  let Some(off) = go.iter().rev().find(|d| d.name == "GOPROXY" && d.value == "off") else { return };
  let setting = go.iter().rev().find(|d| d.name == "GOTOOLCHAIN");
  let auto = setting.is_none_or(|d| d.value.is_empty() || d.value == "auto" || d.value.ends_with("+auto"));
  if !auto {
    return;
  }
  let (what, span) = match setting {
    Some(d) => (format!("`GOTOOLCHAIN={}`", shown(&d.value)), d.span),
    None => ("GOTOOLCHAIN, unset, is `auto`: it".to_owned(), off.span),
  };
  let mut d = Diagnostic::new(
    Code::ToolchainDownload,
    format!(
      "{what} downloads the Go a go.mod's `go` or `toolchain` line asks for, through GOPROXY, which is `off`"
    ),
  )
  .label(span, "downloads newer toolchains");
  if setting.is_some() {
    d = d.label(off.span, "no proxy to download from");
  }
  v.error(d.help(
    "set `GOTOOLCHAIN = \"local\"` in goenv, so a go.mod that needs a newer Go fails with a clear message",
  ));
}

/// gopls and dlv releases that do not fit the declared toolchain.
fn tool_releases(resources: &[Arc<Resource>], v: &mut Validator) {
  let Some((go, go_span, _, _)) = toolchain(resources, v) else { return };
  for tool in each::<GoTool>(resources) {
    let (Some(module), Some(version)) = (v.text(&tool.module), v.text(&tool.version)) else { continue };
    let fit = if module == "golang.org/x/tools/gopls" {
      gopls_supports(&version, &go)
    } else if module == "github.com/go-delve/delve/cmd/dlv" {
      dlv_supports(&version, &go)
    } else {
      continue;
    };
    if let Fit::Misfit(why) = fit {
      v.error(
        Diagnostic::new(Code::ToolMisfitsGo, why)
          .label(tool.version.span, "this release")
          .label(go_span, "the declared Go")
          .help("pick a release that fits the declared Go, or declare the Go it needs"),
      );
    }
  }
}

#[cfg(test)]
mod tests {
  use super::covered;

  proptest::proptest! {
    /// Any text as a GOPRIVATE host and NO_PROXY entry is judged without a panic.
    #[test]
    fn any_host_and_entry_are_judged(host in "\\PC*", entry in "\\PC*") {
      let _ = covered(&host, &[entry.as_str()]);
    }
  }

  #[test]
  fn no_proxy_covers_hosts_and_their_domains() {
    assert!(covered("git.example.com", &["example.com"]));
    assert!(covered("git.example.com", &[".example.com"]));
    assert!(covered("*.corp.example", &["corp.example"]));
    assert!(covered("git.example.com", &["*"]));
    assert!(!covered("git.example.com", &["other.com", "example.co"]));
    assert!(!covered("notexample.com", &["example.com"]));
  }
}
