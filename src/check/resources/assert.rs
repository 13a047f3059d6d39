//! `assert FACT OP VALUE`: a host contract checked before any change, such as
//! `assert kernel >= "5.10"`, `assert cgroup == 2` or
//! `assert os_family in ["debian", "rhel"]`. A failed assertion stops that host.

use crate::check::facts::{self, FactType};
use crate::check::reader::{Cx, Reader, text_of};
use crate::check::resource::{Evaluated, HostInfo, Kind, KindDoc, Planning, Spec, Validator};
use crate::check::text::Text;
use crate::diagnostic::{Code, Diagnostic, Diagnostics, did_you_mean};
use crate::plan::change::{Change, HostState};
use crate::source::Span;
use crate::syntax::ast::{Op, Term, Value, ValueKind};

pub struct AssertKind;

/// How a fact is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
  Op(Op),
  In,
  NotIn,
}

impl Comparison {
  pub fn as_str(self) -> &'static str {
    match self {
      Comparison::Op(op) => op.as_str(),
      Comparison::In => "in",
      Comparison::NotIn => "not in",
    }
  }
}

#[derive(Debug)]
pub struct Assert {
  pub fact: Text,
  pub kind: FactType,
  pub comparison: Comparison,
  /// One value, or several for `in` / `not in`.
  pub values: Vec<Text>,
  pub message: Option<Text>,
}

/// The attributes of its block, besides `name`, `after`, `notify` and `sensitive`.
const ATTRIBUTES: &[&str] = &["message"];

impl Kind for AssertKind {
  fn keywords(&self) -> &'static [&'static str] {
    &["assert"]
  }

  fn stops_host_on_error(&self) -> bool {
    true
  }

  fn doc(&self) -> KindDoc {
    KindDoc { summary: "a condition on host facts, checked before any change", attributes: ATTRIBUTES }
  }

  fn read(&self, r: &mut Reader, cx: &mut Cx) -> Option<Box<dyn Spec>> {
    let (fact_name, fact_span) = match r.next_term() {
      Some(Term::Value(Value { kind: ValueKind::Word(w), span })) => (w.clone(), *span),
      Some(other) => {
        cx.error(
          Diagnostic::new(Code::Shape, "`assert` starts with the name of a fact")
            .label(other.span(), "expected a fact name such as `kernel`")
            .help(format!("the facts are: {}", facts::names().collect::<Vec<_>>().join(", "))),
        );
        return None;
      }
      None => {
        cx.error(
          Diagnostic::new(Code::MissingAttribute, "`assert` needs a condition")
            .label(r.stmt().head_span(), "nothing to check")
            .help("for example `assert kernel >= \"5.10\"`"),
        );
        return None;
      }
    };
    let Some(fact) = facts::find(&fact_name) else {
      let mut d = Diagnostic::new(Code::UnknownFact, format!("converge gathers no fact `{fact_name}`"))
        .label(fact_span, "unknown fact");
      d = match did_you_mean(&fact_name, facts::names()) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!("the facts are: {}", facts::names().collect::<Vec<_>>().join(", "))),
      };
      cx.error(d);
      return None;
    };
    let comparison = read_comparison(r, cx, fact_span)?;
    let value = match r.next_term() {
      Some(Term::Value(v)) => v,
      _ => {
        cx.error(
          Diagnostic::new(
            Code::MissingAttribute,
            format!("`assert {fact_name} {}` needs a value", comparison.as_str()),
          )
          .label(r.stmt().head_span(), "value expected after this"),
        );
        return None;
      }
    };
    r.finish(cx)?;
    r.no_value(cx)?;
    let values = read_values(value, comparison, fact.kind, cx)?;
    if let Comparison::Op(op) = comparison
      && fact.kind == FactType::Text
      && !matches!(op, Op::Eq | Op::Ne)
    {
      cx.error(
        Diagnostic::new(
          Code::Assertion,
          format!("`{fact_name}` is text and cannot be compared with `{}`", op.as_str()),
        )
        .label(fact_span.to(value.span), "ordering comparison on text")
        .help("text facts take `==`, `!=`, `in` and `not in`"),
      );
      return None;
    }
    let options = r.options(cx, ATTRIBUTES);
    Some(Box::new(Assert {
      fact: Text::new(fact_name, fact_span),
      kind: fact.kind,
      comparison,
      values,
      message: options.text(cx, "message"),
    }))
  }
}

fn read_comparison(r: &mut Reader, cx: &mut Cx, fact_span: Span) -> Option<Comparison> {
  if let Some((op, _)) = r.op() {
    return Some(Comparison::Op(op));
  }
  match r.peek_word() {
    Some("in") => {
      r.next_term();
      Some(Comparison::In)
    }
    Some("not") => {
      r.next_term();
      if r.peek_word() == Some("in") {
        r.next_term();
        Some(Comparison::NotIn)
      } else {
        cx.error(
          Diagnostic::new(Code::Shape, "expected `in` after `not`").label(fact_span, "in this assertion"),
        );
        None
      }
    }
    _ => {
      let span = r.peek().map_or(fact_span, Term::span);
      let mut d = Diagnostic::new(
        Code::Shape,
        "expected a comparison: `==`, `!=`, `>=`, `<=`, `>`, `<`, `in` or `not in`",
      )
      .label(span, "expected a comparison");
      if r.stmt().value.is_some() {
        d = d.help("comparisons use `==`, not `=`");
      }
      cx.error(d);
      None
    }
  }
}

fn read_values(value: &Value, comparison: Comparison, kind: FactType, cx: &mut Cx) -> Option<Vec<Text>> {
  let one = |v: &Value, cx: &mut Cx| -> Option<Text> {
    match &v.kind {
      ValueKind::Int(i) if kind != FactType::Text => Some(Text::new(i.value.to_string(), v.span)),
      _ => text_of(v, cx, "the value compared with"),
    }
  };
  match (&value.kind, comparison) {
    (ValueKind::List(items), Comparison::In | Comparison::NotIn) => {
      items.iter().map(|i| one(i, cx)).collect()
    }
    (_, Comparison::In | Comparison::NotIn) => {
      cx.error(
        Diagnostic::new(Code::WrongType, format!("`{}` takes a list", comparison.as_str()))
          .label(value.span, "expected `[...]`")
          .help("for example `assert os_family in [\"debian\", \"rhel\"]`"),
      );
      None
    }
    (ValueKind::List(_), _) => {
      cx.error(
        Diagnostic::new(Code::WrongType, "a comparison takes one value, not a list")
          .label(value.span, "a list")
          .help("use `in` to compare with several values"),
      );
      None
    }
    _ => one(value, cx).map(|t| vec![t]),
  }
}

/// Compares kernel releases in full: the numbers first (`5.10` equals
/// `5.10.0`), then, when the expected release has more than numbers, what
/// follows them, part by part, digits as numbers: `5.10.0-109-generic` is newer
/// than `5.10.0-20-generic`. An expected release of numbers only ignores the
/// rest of the host's (`6.1.0-28-amd64` equals `6.1`).
fn compare_kernel_releases(actual: &str, expected: &str) -> std::cmp::Ordering {
  let numbers = crate::go::version::compare_releases(actual, expected);
  let suffix = |s: &str| {
    let end = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    s[end..].to_owned()
  };
  let (rest_a, rest_e) = (suffix(actual), suffix(expected));
  if numbers.is_ne() || rest_e.is_empty() {
    return numbers;
  }
  let parts = |s: &str| -> Vec<Result<u64, String>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
      let digit = c.is_ascii_digit();
      let mut part = String::new();
      while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() != digit {
          break;
        }
        part.push(c);
        chars.next();
      }
      out.push(if digit { part.parse().map_err(|_| part.clone()) } else { Err(part) });
    }
    out
  };
  // A number sorts after text in the same place (`-1` after `-rc`), as a
  // missing part sorts first.
  let rank = |p: &Result<u64, String>| match p {
    Ok(n) => (1u8, *n, String::new()),
    Err(t) => (0u8, 0, t.clone()),
  };
  let (a, e) = (parts(&rest_a), parts(&rest_e));
  (0..a.len().max(e.len()))
    .map(|i| a.get(i).map(rank).cmp(&e.get(i).map(rank)))
    .find(|o| o.is_ne())
    .unwrap_or(std::cmp::Ordering::Equal)
}

impl Spec for Assert {
  fn id(&self) -> String {
    let values: Vec<&str> = self.values.iter().map(|v| v.value.as_str()).collect();
    format!("assert {} {} {}", self.fact.value, self.comparison.as_str(), values.join(","))
  }

  fn evaluate(&self, v: &mut Validator, _host: &HostInfo) -> Evaluated {
    let mut values = Vec::new();
    let mut ok = true;
    for value in &self.values {
      let Some(text) = v.text(value) else {
        ok = false;
        continue;
      };
      let bad = match self.kind {
        FactType::Integer => text.parse::<i64>().is_err(),
        FactType::Version => !text.starts_with(|c: char| c.is_ascii_digit()),
        FactType::Text => false,
      };
      if bad {
        ok = false;
        let expected =
          if self.kind == FactType::Integer { "a whole number" } else { "a version such as \"5.10\"" };
        v.error(
          Diagnostic::new(
            Code::Assertion,
            format!("`{}` is compared with {expected}, not `{text}`", self.fact.value),
          )
          .label(value.span, format!("expected {expected}")),
        );
      }
      values.push(text);
    }
    // The message is shown only when the assertion fails: so are the
    // problems of rendering it.
    let mut message_problems = Diagnostics::new();
    let message = self.message.as_ref().and_then(|m| {
      std::mem::swap(v.diagnostics, &mut message_problems);
      let text = v.text(m);
      std::mem::swap(v.diagnostics, &mut message_problems);
      text
    });
    if !ok {
      return Evaluated::Failed;
    }
    Evaluated::Desired(Box::new(Desired {
      fact: self.fact.value.clone(),
      fact_span: self.fact.span,
      kind: self.kind,
      comparison: self.comparison,
      values,
      message,
      message_problems,
    }))
  }
}

/// An assertion with its values rendered for one host.
#[derive(Debug)]
struct Desired {
  fact: String,
  fact_span: Span,
  kind: FactType,
  comparison: Comparison,
  /// One value, or several for `in` / `not in`.
  values: Vec<String>,
  /// The help shown when it fails; `None` for the default one.
  message: Option<String>,
  /// What rendering the message reported, reported when it fails.
  message_problems: Diagnostics,
}

impl crate::check::resource::Desired for Desired {
  fn plan(&self, p: &mut Planning, _state: &HostState) -> Vec<Change> {
    let (fact, values) = (&self.fact, &self.values);
    let Some(actual) = p.fact(fact) else {
      return Vec::new();
    };
    let compare = |expected: &str| -> std::cmp::Ordering {
      match self.kind {
        FactType::Version if fact == "kernel" => compare_kernel_releases(&actual, expected),
        FactType::Version => crate::go::version::compare_releases(&actual, expected),
        FactType::Integer => actual.parse::<i64>().unwrap_or(0).cmp(&expected.parse::<i64>().unwrap_or(0)),
        FactType::Text => actual.as_str().cmp(expected),
      }
    };
    use std::cmp::Ordering::{Equal, Greater, Less};
    let holds = match self.comparison {
      Comparison::In => values.iter().any(|e| compare(e) == Equal),
      Comparison::NotIn => values.iter().all(|e| compare(e) != Equal),
      Comparison::Op(op) => {
        let o = compare(&values[0]);
        match op {
          Op::Eq => o == Equal,
          Op::Ne => o != Equal,
          Op::Ge => o != Less,
          Op::Le => o != Greater,
          Op::Gt => o == Greater,
          Op::Lt => o == Less,
        }
      }
    };
    if !holds {
      let shown = if values.len() == 1 { format!("\"{}\"", values[0]) } else { format!("{values:?}") };
      let mut d = Diagnostic::new(
        Code::AssertionFailed,
        format!("`{fact}` is \"{actual}\", which is not {} {shown}", self.comparison.as_str()),
      )
      .label(self.fact_span, "this assertion");
      d = match &self.message {
        Some(m) => d.help(m.clone()),
        None => d.help("the host is stopped before any change; fix the host or the assertion"),
      };
      p.diagnostics.extend(self.message_problems.clone());
      p.error(d);
    }
    Vec::new()
  }
}

#[cfg(test)]
mod tests {
  use super::compare_kernel_releases;
  use std::cmp::Ordering::{Equal, Greater, Less};

  #[test]
  fn kernel_releases_compare_in_full_not_only_their_numbers() {
    for (actual, expected, order) in [
      ("5.10.0-20-generic", "5.10.0-109-generic", Less),
      ("5.10.0-109-generic", "5.10.0-109-generic", Equal),
      ("5.10.0-110-generic", "5.10.0-109-generic", Greater),
      ("5.10.0-109-generic", "5.10.0-20-generic", Greater),
      ("5.10.1-1-generic", "5.10.0-109-generic", Greater),
      ("5.10.0", "5.10.0-109-generic", Less),
      ("6.1.0-28-amd64", "6.1", Equal),
      ("6.1.0-28-amd64", "5.10", Greater),
      ("5.10.0-109-generic", "5.10.0-109", Greater),
    ] {
      assert_eq!(compare_kernel_releases(actual, expected), order, "{actual} vs {expected}");
    }
  }

  /// The one host of `snippet` planned on a host with 4 CPUs: each step's
  /// errors (code and message).
  fn planned_errors(snippet: &str) -> Vec<String> {
    let mut sources = crate::source::Sources::new();
    let play = crate::check::one_play(snippet, &mut sources, false);
    let facts = crate::host::facts::Facts { cpus: 4, ..Default::default() };
    let plan = crate::plan::planner::plan_against(
      &play,
      &[],
      &facts,
      crate::plan::change::HostState::default(),
      &crate::plan::ledger::HostLedger::default(),
      &sources,
    );
    plan.steps.iter().flat_map(|s| &s.errors).map(|e| format!("{} {}", e.code.as_str(), e.message)).collect()
  }

  /// A message is rendered for a failed assertion only: a template in it
  /// that cannot be rendered neither fails the check nor an assertion that
  /// holds.
  #[test]
  fn an_assertion_message_is_reported_only_when_the_assertion_fails() {
    let message = " {\n  message = \"{{ missing }} needed\"\n}\n";
    assert_eq!(planned_errors(&format!("assert cpus >= 2{message}")), Vec::<String>::new());
    let errors = planned_errors(&format!("assert cpus >= 8{message}"));
    assert_eq!(
      errors,
      ["E601 `cpus` is \"4\", which is not >= \"8\"", "E300 undefined variable `missing`"],
      "{errors:?}"
    );
  }
}
