//! Every byte converge sends to a host's shell, and the reading of what comes
//! back.
//!
//! Scripts are built with [`Script`] from fixed templates: a value taken from a
//! playbook, an inventory or a host enters a script only as a single-quoted
//! literal or as base64, never as shell text. Each run has a fresh [`nonce`]; it
//! ends every heredoc a script opens (a body line cannot close it early) and
//! marks every line of output converge reads ([`frame`]), so that rc-file chatter
//! or a command's output can neither fake nor hide a result. Commands that must
//! not read the script they are part of get `</dev/null`.
//!
//! The shell functions shared by the facts script and the apply steps (how to
//! reach a file without being led elsewhere by a link, how to replace it) are in
//! [`LIB`].

use base64::Engine;
use std::fmt::Write;

/// Shell functions for reading and writing files safely: `cv_safe`, `cv_put`,
/// `cv_remove`, `cv_hash`, `cv_clean`.
pub const LIB: &str = include_str!("lib.sh");

/// Single-quotes a string for `sh`: the shell sees exactly these bytes.
pub fn quote(s: &str) -> String {
  format!("'{}'", s.replace('\'', "'\\''"))
}

/// Standard base64 with padding, as coreutils' `base64` reads and prints it.
pub fn encode(data: &[u8]) -> String {
  base64::engine::general_purpose::STANDARD.encode(data)
}

/// Decodes what coreutils' `base64` printed (line breaks allowed).
pub fn decode(text: &str) -> Option<Vec<u8>> {
  let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
  base64::engine::general_purpose::STANDARD.decode(compact).ok()
}

/// A fresh marker for one script run: 16 hexadecimal digits from the system's
/// random source (time and process id when it cannot be read).
pub fn nonce() -> String {
  use std::io::Read;
  let mut bytes = [0u8; 8];
  let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).is_ok();
  if !random {
    let t =
      std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let h = blake3::hash(format!("{t}-{}", std::process::id()).as_bytes());
    bytes.copy_from_slice(&h.as_bytes()[..8]);
  }
  bytes.iter().fold(String::with_capacity(16), |mut s, b| {
    let _ = write!(s, "{b:02x}");
    s
  })
}

/// One value put into a script template.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
  /// A string, single-quoted.
  Str(&'a str),
  /// Bytes, as a single-quoted base64 literal (`printf '%s' ARG | base64 -d`).
  Bytes(&'a [u8]),
  /// A number.
  Num(u64),
}

/// Why a script could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScriptError {
  #[error("a step's script contains the line that would end its heredoc early")]
  Terminator,
}

/// A shell script under construction, tied to the nonce of the run that sends it.
#[derive(Clone, Debug)]
pub struct Script {
  nonce: String,
  text: String,
}

impl Script {
  pub fn new(nonce: &str) -> Script {
    Script { nonce: nonce.to_owned(), text: String::new() }
  }

  pub fn nonce(&self) -> &str {
    &self.nonce
  }

  pub fn text(&self) -> &str {
    &self.text
  }

  /// Appends one line from a fixed template. Each `{}` takes the next
  /// argument (quoted, or base64 for bytes); `{nonce}` is the run's nonce.
  /// Arguments left over or missing are a bug in converge: missing ones become
  /// `''`, so the shell still sees literals only.
  pub fn line(&mut self, template: &'static str, args: &[Arg]) -> &mut Self {
    let mut args = args.iter();
    let mut rest = template;
    while let Some(at) = rest.find('{') {
      self.text.push_str(&rest[..at]);
      let tail = &rest[at..];
      if let Some(after) = tail.strip_prefix("{}") {
        match args.next() {
          Some(Arg::Str(s)) => self.text.push_str(&quote(s)),
          Some(Arg::Bytes(b)) => self.text.push_str(&quote(&encode(b))),
          Some(Arg::Num(n)) => {
            let _ = write!(self.text, "{n}");
          }
          None => self.text.push_str("''"),
        }
        rest = after;
      } else if let Some(after) = tail.strip_prefix("{nonce}") {
        self.text.push_str(&self.nonce);
        rest = after;
      } else {
        self.text.push('{');
        rest = &tail[1..];
      }
    }
    self.text.push_str(rest);
    self.text.push('\n');
    self
  }

  /// Appends shell text that converge itself wrote: a fixed script, or the
  /// script of a [`crate::change::Change::Run`] (resources quote what they put in
  /// it). It runs with `</dev/null`, so nothing in it can read the script it is
  /// part of.
  pub fn command(&mut self, script: &str) -> &mut Self {
    self.text.push_str("{\n");
    self.text.push_str(script);
    if !script.ends_with('\n') {
      self.text.push('\n');
    }
    self.text.push_str("} </dev/null\n");
    self
  }

  /// Appends fixed shell text (functions, settings) as is.
  pub fn fixed(&mut self, text: &'static str) -> &mut Self {
    self.text.push_str(text);
    if !text.ends_with('\n') {
      self.text.push('\n');
    }
    self
  }

  /// Appends step `id` of an apply: when the steps `deps` succeeded, `body`
  /// runs in a child `sh -s` (through `sudo -n` when `sudo`), fed by a heredoc
  /// whose terminator carries the nonce, with the run's start time (`$cv_t0`)
  /// as `$1` and the host lock's descriptor closed. The step's output (its last
  /// 4000 bytes) is printed, framed, only when it fails. Sets `s{id}` to `ok`,
  /// `failed` or `skipped` and prints `__STEP_NONCE__ ID changed|unchanged|failed RC|skipped`
  /// (`unchanged`: it succeeded and its last output line is `__UNCHANGED_NONCE__`).
  pub fn step(
    &mut self,
    id: usize,
    deps: &[usize],
    sudo: bool,
    body: &Script,
  ) -> Result<&mut Self, ScriptError> {
    let end = frame::marker("CONVERGE_STEP", &self.nonce);
    if body.text.lines().any(|l| l == end) {
      return Err(ScriptError::Terminator);
    }
    let guard = if deps.is_empty() {
      "true".to_owned()
    } else {
      deps.iter().map(|d| format!("[ \"$s{d}\" = ok ]")).collect::<Vec<_>>().join(" && ")
    };
    let run = if sudo {
      "if ! sudo -n true 2>/dev/null; then echo 'sudo needs a password' >&2; exit 97; fi\nsudo -n sh -s -- \"$cv_t0\""
    } else {
      "sh -s -- \"$cv_t0\""
    };
    let n = &self.nonce;
    let _ = write!(
      self.text,
      "if {guard}; then\n  cv_out=$( {{ (\n{run} <<'{end}'\n{body}{end}\n) 9>&- 2>&1 </dev/null; printf '\\n%s\\n' \"$?\"; }} | tail -c 4000 )\n  cv_rc=${{cv_out##*\"$cv_nl\"}}; cv_out=${{cv_out%\"$cv_nl\"*}}\n  if [ \"$cv_rc\" = 0 ]; then s{id}=ok; case $cv_out in *\"__UNCHANGED_{n}__$cv_nl\") echo \"__STEP_{n}__ {id} unchanged\";; *) echo \"__STEP_{n}__ {id} changed\";; esac\n  else s{id}=failed; printf '%s\\n' \"$cv_out\" | sed 's/^/__OUT_{n}__ {id} /'; echo \"__STEP_{n}__ {id} failed $cv_rc\"; fi\nelse s{id}=skipped; echo \"__STEP_{n}__ {id} skipped\"; fi\n",
      body = body.text
    );
    Ok(self)
  }
}

/// Reading output framed by a run's nonce.
pub mod frame {
  /// The marker `__TAG_NONCE__`.
  pub fn marker(tag: &str, nonce: &str) -> String {
    format!("__{tag}_{nonce}__")
  }

  /// The rest of every line that starts with `__TAG_NONCE__ `.
  pub fn lines<'a>(out: &'a str, tag: &str, nonce: &str) -> impl Iterator<Item = &'a str> {
    let prefix = format!("{} ", marker(tag, nonce));
    out.lines().filter_map(move |l| l.strip_prefix(prefix.as_str()))
  }

  /// Whether a line `__TAG_NONCE__` was printed.
  pub fn has(out: &str, tag: &str, nonce: &str) -> bool {
    let m = marker(tag, nonce);
    out.lines().any(|l| l == m)
  }

  /// The text between the lines `__BEGIN_NONCE__` and `__END_NONCE__`, or
  /// `None` when the frame is missing or unterminated.
  pub fn between<'a>(out: &'a str, begin: &str, end: &str, nonce: &str) -> Option<&'a str> {
    let begin = marker(begin, nonce);
    let end = marker(end, nonce);
    let start = out.find(&begin)? + begin.len();
    let stop = start + out[start..].find(&end)?;
    Some(&out[start..stop])
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::process::Command;

  fn sh(script: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap_or_else(|e| panic!("sh: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
  }

  #[test]
  fn quoted_values_reach_every_shell_unchanged() {
    let values = ["it's", "$HOME", "${HOME}", "`id`", "$(id)", "a\"b\\c", "%s", " spaced ", "", "ünï\ncode"];
    for shell in ["sh", "bash", "dash", "zsh"] {
      for v in values {
        let out = Command::new(shell)
          .arg("-c")
          .arg(format!("printf '%s' {}", quote(v)))
          .output()
          .unwrap_or_else(|e| panic!("{shell}: {e}"));
        assert_eq!(String::from_utf8_lossy(&out.stdout), v, "{shell} with {v:?}");
      }
    }
  }

  #[test]
  fn base64_matches_coreutils() {
    for data in [&b""[..], b"a", b"ab", b"vm\n", b"\x00\xff binary \x01"] {
      let printed = sh(&format!("printf '%s' {} | base64 -d | base64", quote(&encode(data))));
      assert_eq!(decode(&printed), Some(data.to_vec()));
    }
    assert_eq!(encode(b"vm\n"), "dm0K");
    assert_eq!(decode("!!!!"), None);
  }

  #[test]
  fn templates_take_arguments_as_literals_only() {
    let mut s = Script::new("n1");
    s.line("printf '%s|%s|%s' {} {} {}; echo {nonce}", &[Arg::Str("$(id)"), Arg::Bytes(b"x'y"), Arg::Num(7)]);
    assert_eq!(sh(s.text()), "$(id)|eCd5|7n1\n");
  }

  #[test]
  fn a_body_line_equal_to_the_terminator_is_refused() {
    let mut outer = Script::new("abc");
    let mut body = Script::new("abc");
    body.fixed("echo inside");
    assert!(outer.step(0, &[], false, &body).is_ok());
    body.fixed("__CONVERGE_STEP_abc__");
    assert!(matches!(outer.step(1, &[], false, &body), Err(ScriptError::Terminator)));
  }

  #[test]
  fn frames_read_only_marked_lines() {
    let out = "noise\n__STEP_n__ 1 changed\n__STEP_m__ 2 changed\n__B_n__\nk=v\n__E_n__\n";
    assert_eq!(frame::lines(out, "STEP", "n").collect::<Vec<_>>(), ["1 changed"]);
    assert_eq!(frame::between(out, "B", "E", "n"), Some("\nk=v\n"));
    assert_eq!(frame::between("__B_n__\nk=v\n", "B", "E", "n"), None);
    assert_ne!(nonce(), nonce());
  }
}
