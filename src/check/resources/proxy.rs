//! `proxy ["https://goproxy.example.com", "https://proxy.golang.org", direct]`:
//! the GOPROXY chain, written to the go env file. Entries are separated by `,`
//! (fall back only when a proxy answers 404/410) unless `fallback = "any-error"`
//! asks for `|` (fall back on any error, timeouts included). The GOPROXY string
//! itself is accepted too: `proxy "https://a|https://b,direct"`.

use crate::check::reader::{Cx, Reader};
use crate::check::resource::{Evaluated, HostInfo, Kind, KindDoc, Planning, QueryScope, Spec, Validator};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::go;
use crate::host::facts::Request;
use crate::plan::change::{Change, HostState};
use crate::syntax::ast::{Term, Value, ValueKind};

pub struct ProxyKind;

#[derive(Debug)]
pub struct Proxy {
  /// Each entry with the separator that follows it (`,` or `|`; none after the
  /// last).
  pub entries: Vec<(Text, Option<char>)>,
  /// `fallback = "any-error"` was written: no warning about `|`.
  pub explicit_any_error: bool,
}

/// The attributes of its block, besides `name`, `after`, `notify` and `sensitive`.
const ATTRIBUTES: &[&str] = &["fallback"];

impl Kind for ProxyKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["proxy"]
  }

  fn doc(&self) -> KindDoc {
    KindDoc { summary: "the GOPROXY chain, in order, with its fallback rule", attributes: ATTRIBUTES }
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let term = r.next_term();
    r.finish(cx)?;
    r.no_value(cx)?;
    let options = r.options(cx, ATTRIBUTES);
    let any_error =
      options.choice(cx, "fallback", &["not-found", "any-error"]).is_some_and(|f| f.value == "any-error");
    let sep = if any_error { '|' } else { ',' };
    let entries = match term {
      Some(Term::Value(Value { kind: ValueKind::List(items), span })) => {
        if items.is_empty() {
          cx.error(
            Diagnostic::new(Code::GoProxy, "the proxy list is empty")
              .label(*span, "no entries")
              .help("write `proxy [off]` to forbid downloads, or list at least one proxy"),
          );
          return None;
        }
        let mut entries = Vec::new();
        for (i, item) in items.iter().enumerate() {
          let text = entry_text(item, cx)?;
          entries.push((text, (i + 1 < items.len()).then_some(sep)));
        }
        entries
      }
      Some(Term::Value(v @ Value { kind: ValueKind::Str(s), .. })) => {
        if options.has("fallback") {
          cx.error(
            Diagnostic::new(Code::Shape, "`fallback` applies to a list of entries, not to a GOPROXY string")
              .label(options.key_span("fallback").unwrap_or(v.span), "ignored for a string")
              .help("the string already says it: `,` falls back on not-found, `|` on any error"),
          );
        }
        split_string(&s.value, v.span)
      }
      other => {
        let span = other.map_or(r.stmt().head_span(), Term::span);
        cx.error(
          Diagnostic::new(Code::WrongType, "`proxy` takes a list of proxies")
            .label(span, "expected `[\"https://...\", direct]`")
            .help("for example `proxy [\"https://proxy.golang.org\", direct]`"),
        );
        return None;
      }
    };
    Some(Box::new(Proxy { entries, explicit_any_error: any_error }))
  }
}

/// A list item: a string URL, or the words `direct` and `off`.
fn entry_text(item: &Value, cx: &mut Cx) -> Option<Text> {
  match &item.kind {
    ValueKind::Str(s) => Some(Text::new(s.value.clone(), item.span)),
    ValueKind::Word(w) if w == "direct" || w == "off" => Some(Text::new(w.clone(), item.span)),
    ValueKind::Word(w) => {
      let help = match did_you_mean(w, ["direct", "off"]) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("only `direct` and `off` are bare words; a proxy URL is a string: `\"{w}\"`"),
      };
      cx.error(
        Diagnostic::new(Code::GoProxy, format!("`{w}` is not a GOPROXY entry"))
          .label(item.span, "unknown word")
          .help(help),
      );
      None
    }
    other => {
      cx.error(
        Diagnostic::new(
          Code::GoProxy,
          format!("a GOPROXY entry must be a string, found {}", other.describe()),
        )
        .label(item.span, "expected a URL, `direct` or `off`"),
      );
      None
    }
  }
}

/// Splits a GOPROXY string into entries with their spans inside the literal.
fn split_string(value: &str, span: crate::source::Span) -> Vec<(Text, Option<char>)> {
  let mut out = Vec::new();
  let mut start = 0;
  for (i, c) in value.char_indices().chain(std::iter::once((value.len(), '\0'))) {
    if c == ',' || c == '|' || i == value.len() {
      let part = &value[start..i];
      let sep = (i < value.len()).then_some(c);
      out.push((Text::new(part, span.slice(1 + start, 1 + i)), sep));
      start = i + c.len_utf8();
    }
  }
  out
}

impl Proxy {
  /// The GOPROXY value, once every entry is known.
  pub fn render(&self, mut entry: impl FnMut(&Text) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    for (text, sep) in &self.entries {
      out.push_str(&entry(text)?);
      if let Some(sep) = sep {
        out.push(*sep);
      }
    }
    Some(out)
  }
}

impl Spec for Proxy {
  fn id(&self) -> String {
    "proxy".to_owned()
  }

  fn claims(&self) -> Vec<Text> {
    let span = self.entries.first().map(|(t, _)| t.span).unwrap_or_default();
    vec![Text::new("go env GOPROXY", span)]
  }

  fn requests(&self, _v: &mut QueryScope) -> Vec<Request> {
    vec![Request::GoEnvFile]
  }

  fn evaluate(&self, v: &mut Validator, _host: &HostInfo) -> Evaluated {
    let mut rendered = Vec::with_capacity(self.entries.len());
    let mut ok = true;
    let mut terminal: Option<(String, crate::source::Span)> = None;
    let mut unreachable = false;
    let mut warned = false;
    for (text, sep) in &self.entries {
      let entry = v.text(text);
      rendered.push(entry.clone());
      // Entries after one reported as never reached are only rendered.
      let (Some(entry), false) = (entry, unreachable) else { continue };
      if let Err(r) = crate::host::shell::dialect::GoEnvFile::check(&entry) {
        ok = false;
        v.error(
          Diagnostic::new(Code::GoProxy, format!("a GOPROXY entry cannot be written: {}", r.reason))
            .label(text.span, "invalid entry")
            .help(r.help),
        );
        continue;
      }
      if let Some(sep) = entry.chars().find(|c| *c == ',' || *c == '|') {
        ok = false;
        v.error(
          Diagnostic::new(Code::GoProxy, format!("the GOPROXY entry `{entry}` contains `{sep}`"))
            .label(text.span, "go would read several entries here")
            .help("give each proxy as its own list item"),
        );
        continue;
      }
      if let Some((word, at)) = &terminal {
        v.error(
          Diagnostic::new(
            Code::ProxyUnreachable,
            format!("`{entry}` comes after `{word}` and is never used"),
          )
          .label(text.span, "never reached")
          .label(*at, format!("the chain ends at `{word}`"))
          .help(format!("move `{word}` to the end of the list")),
        );
        unreachable = true;
        continue;
      }
      match go::proxy::validate_entry(&entry) {
        Ok(go::proxy::ProxyEntry::Off) | Ok(go::proxy::ProxyEntry::Direct) => {
          terminal = Some((entry.clone(), text.span))
        }
        Ok(go::proxy::ProxyEntry::Url(_)) => {}
        Err(e) if entry.is_empty() => {
          ok = false;
          v.error(
            Diagnostic::new(Code::GoProxy, "an empty GOPROXY entry")
              .label(text.span, "two separators in a row")
              .help(e.help()),
          )
        }
        Err(e) => {
          ok = false;
          v.error(
            Diagnostic::new(Code::GoProxy, format!("`{entry}` is not a GOPROXY entry: {}", e.reason()))
              .label(text.span, "invalid entry")
              .help(e.help()),
          )
        }
      }
      if *sep == Some('|') && !warned && !self.explicit_any_error {
        warned = true;
        v.error(
          Diagnostic::new(Code::ProxyAnyError, "`|` falls back to the next proxy on any error, timeouts and 5xx included")
            .label(text.span, "followed by `|`")
            .help("that is often wanted for a flaky mirror; use `,` (the default) to fall back only when a module is not found"),
        );
      }
    }
    if let ([(only, None)], [Some(entry)]) = (self.entries.as_slice(), rendered.as_slice())
      && entry == "direct"
    {
      direct_only(v, only.span);
    }
    let mut values = rendered.into_iter();
    let Some(value) = self.render(|_| values.next().flatten()) else { return Evaluated::Failed };
    if !ok {
      return Evaluated::Failed;
    }
    let at = self.entries.first().map(|(t, _)| t.span).unwrap_or_default();
    // What go itself refuses of the whole chain (entries after `off` or `direct` included).
    if let Err(e) = crate::go::env::check_write("GOPROXY", &value) {
      let shown: String = value.chars().take(80).collect();
      v.error(
        Diagnostic::new(
          Code::GoProxy,
          format!("GOPROXY `{}` is refused: {}", shown.escape_debug(), e.reason()),
        )
        .label(at, format!("rendered for host `{}`", v.host))
        .help(e.help()),
      );
      return Evaluated::Failed;
    }
    Evaluated::Desired(Box::new(Desired { value, at }))
  }
}

/// The GOPROXY chain's desired state on one host.
#[derive(Debug)]
struct Desired {
  /// The GOPROXY value.
  value: String,
  /// The first entry, which an error about the go env file points to.
  at: crate::source::Span,
}

impl crate::check::resource::Desired for Desired {
  fn plan(&self, p: &mut Planning, state: &HostState) -> Vec<Change> {
    super::goenv::write_go_env(p, state, &[("GOPROXY".to_owned(), self.value.clone())], self.at)
  }

  fn owns(&self, host: &HostInfo, _state: &HostState) -> Vec<crate::plan::ledger::Owned> {
    host.go_env_path().map(|path| super::goenv::go_env_key(&path, "GOPROXY")).into_iter().collect()
  }

  fn expects(&self, _host: &HostInfo) -> Vec<crate::plan::expect::Expect> {
    vec![crate::plan::expect::Expect::GoEnv { name: "GOPROXY".to_owned(), value: self.value.clone() }]
  }
}

/// Warns that a GOPROXY of `direct` alone uses no proxy at all.
pub fn direct_only(v: &mut Validator, span: crate::source::Span) {
  v.error(
    Diagnostic::new(
      Code::ProxyDirectOnly,
      "`direct` alone fetches every module from its origin: no proxy, no cache, every VCS must be reachable",
    )
    .label(span, "no proxy in the chain")
    .help(
      "put a proxy before it (`proxy [\"https://proxy.golang.org\", direct]`); for private modules only, set GOPRIVATE",
    ),
  );
}

#[cfg(test)]
mod tests {
  use super::super::go_toolchain::tests::planned;

  #[test]
  fn a_chain_rendered_from_facts_is_written_or_refused_when_planned() {
    let ok = planned("proxy [\"https://{{ facts.goos }}.example.com\", direct]\n");
    assert_eq!(ok, ["write /home/ada/.config/go/env"]);
    let refused = planned("proxy [\"https://a.example.com/{{ facts.goos }}|x\"]\n");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
      refused[0].starts_with("error the GOPROXY entry `https://a.example.com/linux|x` contains `|`"),
      "{refused:?}"
    );
  }
}
