//! Every byte converge sends to a host's shell, and the reading of what comes
//! back.
//!
//! Scripts are built with [`Script`] and [`sh!`] from fixed templates: a value
//! taken from a playbook, an inventory or a host enters a script only as a
//! single-quoted literal or as base64, never as shell text. Quoting itself is
//! private to this module; [`systemd`] and [`cron`] quote for unit files and
//! crontab lines. Each run has a fresh [`nonce`]; it
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

/// Shell functions for reading and writing files safely: `cv_safe`, `cv_prep`
/// and `cv_commit`, `cv_remove`, `cv_hash`, `cv_clean`.
pub const LIB: &str = include_str!("lib.sh");

pub mod cron;
pub mod dialect;
pub mod systemd;

/// Single-quotes a string for `sh`: the shell sees exactly these bytes. Only
/// this module quotes; everything else builds shell text with [`sh!`] or
/// [`Script`].
fn quote(s: &str) -> String {
  format!("'{}'", s.replace('\'', "'\\''"))
}

/// Shell text built by [`sh!`]: a fixed template with every value in it quoted.
/// Put into another [`sh!`] it is taken as shell text, not quoted again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShellText(String);

impl ShellText {
  pub fn as_str(&self) -> &str {
    &self.0
  }
}

impl std::fmt::Display for ShellText {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str(&self.0)
  }
}

impl From<ShellText> for String {
  fn from(text: ShellText) -> String {
    text.0
  }
}

/// A value that [`sh!`] can put into shell text.
pub trait ShellArg {
  /// Appends the value to `out` as the shell must see it.
  fn push_to(&self, out: &mut String);
}

/// Text is one single-quoted word: the shell sees exactly its bytes.
impl ShellArg for str {
  fn push_to(&self, out: &mut String) {
    out.push_str(&quote(self));
  }
}

impl ShellArg for String {
  fn push_to(&self, out: &mut String) {
    self.as_str().push_to(out);
  }
}

/// Shell text made by [`sh!`] goes in as it is.
impl ShellArg for ShellText {
  fn push_to(&self, out: &mut String) {
    out.push_str(&self.0);
  }
}

/// A list is its items as words separated by single spaces (nothing when empty).
impl<T: ShellArg> ShellArg for [T] {
  fn push_to(&self, out: &mut String) {
    for (i, item) in self.iter().enumerate() {
      if i > 0 {
        out.push(' ');
      }
      item.push_to(out);
    }
  }
}

impl<T: ShellArg, const N: usize> ShellArg for [T; N] {
  fn push_to(&self, out: &mut String) {
    self.as_slice().push_to(out);
  }
}

impl<T: ShellArg> ShellArg for Vec<T> {
  fn push_to(&self, out: &mut String) {
    self.as_slice().push_to(out);
  }
}

impl<T: ShellArg + ?Sized> ShellArg for &T {
  fn push_to(&self, out: &mut String) {
    (**self).push_to(out);
  }
}

macro_rules! numbers_are_words {
  ($($t:ty),*) => {$(
    /// A number is written in decimal: a word with nothing the shell expands.
    impl ShellArg for $t {
      fn push_to(&self, out: &mut String) {
        let _ = write!(out, "{self}");
      }
    }
  )*};
}
numbers_are_words!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

/// Shell text from a template and values, as `format!` takes them, with every
/// value quoted: `sh!("cp -- {} {}", src, dst)`, or with names, each usable
/// more than once: `sh!("[ -e {p} ] && rm -- {p}", p = path)`.
///
/// The template is literal shell text; `{{` and `}}` stand for `{` and `}`.
/// A value is anything [`ShellArg`]: text becomes one single-quoted word,
/// numbers are written as they are, a slice is its items as words, and
/// [`ShellText`] from another `sh!` goes in as shell text. A template whose
/// `{}` do not match the values, that names a value not given, leaves one
/// unused, or has another `{`/`}` does not compile.
macro_rules! sh {
  ($template:literal $(, $name:ident = $value:expr)+ $(,)?) => {{
    const _: () = {
      assert!(
        $crate::host::shell::template_fits($template, 0, &[$(stringify!($name)),+]),
        "sh!: the template's placeholders do not match the values given"
      )
    };
    $crate::host::shell::render($template, &[$((stringify!($name), &$value as &dyn $crate::host::shell::ShellArg)),+])
  }};
  ($template:literal $(, $value:expr)* $(,)?) => {{
    const _: () = {
      assert!(
        $crate::host::shell::template_fits($template, <[&str]>::len(&[$(stringify!($value)),*]), &[]),
        "sh!: the template's placeholders do not match the values given"
      )
    };
    $crate::host::shell::render($template, &[$(("", &$value as &dyn $crate::host::shell::ShellArg)),*])
  }};
}
pub(crate) use sh;

/// The bytes of `a` and `b` are equal (usable in a constant).
const fn same(a: &[u8], b: &[u8]) -> bool {
  if a.len() != b.len() {
    return false;
  }
  let mut i = 0;
  while i < a.len() {
    if a[i] != b[i] {
      return false;
    }
    i += 1;
  }
  true
}

/// One piece of a [`sh!`] template.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Piece {
  /// Template text up to this byte (exclusive).
  Text(usize),
  /// `{{` or `}}`: the brace once.
  Brace(u8),
  /// `{}`.
  Next,
  /// `{name}`: the name's byte range.
  Named(usize, usize),
  /// Anything else with a brace.
  Invalid,
}

/// The piece of `t` starting at byte `at`, and where the next one starts.
const fn piece(t: &[u8], at: usize) -> (Piece, usize) {
  let mut i = at;
  while i < t.len() && t[i] != b'{' && t[i] != b'}' {
    i += 1;
  }
  if i > at {
    return (Piece::Text(i), i);
  }
  if t[i] == b'}' {
    if i + 1 < t.len() && t[i + 1] == b'}' {
      return (Piece::Brace(b'}'), i + 2);
    }
    return (Piece::Invalid, i + 1);
  }
  if i + 1 < t.len() && t[i + 1] == b'{' {
    return (Piece::Brace(b'{'), i + 2);
  }
  let start = i + 1;
  let mut end = start;
  while end < t.len() && (t[end].is_ascii_alphanumeric() || t[end] == b'_') {
    end += 1;
  }
  if end >= t.len() || t[end] != b'}' {
    return (Piece::Invalid, end);
  }
  if end == start {
    return (Piece::Next, end + 1);
  }
  if t[start].is_ascii_digit() {
    return (Piece::Invalid, end + 1);
  }
  (Piece::Named(start, end), end + 1)
}

/// Whether a [`sh!`] template has exactly `positional` `{}`, only `{name}`s
/// of `names`, each of them at least once, and no other brace but `{{`/`}}`.
#[doc(hidden)]
pub const fn template_fits(template: &str, positional: usize, names: &[&str]) -> bool {
  let t = template.as_bytes();
  let mut next = 0;
  let mut used = 0u64;
  if names.len() > 64 {
    return false;
  }
  let mut at = 0;
  while at < t.len() {
    let (p, after) = piece(t, at);
    match p {
      Piece::Text(_) | Piece::Brace(_) => {}
      Piece::Next => next += 1,
      Piece::Named(start, end) => {
        let (_, rest) = t.split_at(start);
        let (name, _) = rest.split_at(end - start);
        let mut k = 0;
        let mut found = false;
        while k < names.len() {
          if same(names[k].as_bytes(), name) {
            used |= 1 << k;
            found = true;
          }
          k += 1;
        }
        if !found {
          return false;
        }
      }
      Piece::Invalid => return false,
    }
    at = after;
  }
  next == positional && used.count_ones() as usize == names.len()
}

/// The text of a [`sh!`]: its template with each value in place. A value the
/// template asks for and that is missing (which [`template_fits`] rules out)
/// becomes `''`.
#[doc(hidden)]
pub fn render(template: &'static str, values: &[(&str, &dyn ShellArg)]) -> ShellText {
  let t = template.as_bytes();
  let mut out = String::with_capacity(template.len() + 16 * values.len());
  let mut positional = values.iter().filter(|(name, _)| name.is_empty());
  let mut at = 0;
  while at < t.len() {
    let (p, after) = piece(t, at);
    let value = match p {
      Piece::Text(end) => {
        out.push_str(&template[at..end]);
        None
      }
      Piece::Brace(b) => {
        out.push(char::from(b));
        None
      }
      Piece::Next => Some(positional.next().map(|(_, v)| *v)),
      Piece::Named(start, end) => {
        Some(values.iter().find(|(name, _)| *name == &template[start..end]).map(|(_, v)| *v))
      }
      Piece::Invalid => Some(None),
    };
    match value {
      Some(Some(v)) => v.push_to(&mut out),
      Some(None) => out.push_str("''"),
      None => {}
    }
    at = after;
  }
  ShellText(out)
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

/// Bytes from the system's random source (a hash of the time and process id
/// when it cannot be read).
fn random<const N: usize>() -> [u8; N] {
  use std::io::Read;
  let mut bytes = [0u8; N];
  let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).is_ok();
  if !random {
    let t =
      std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut h = blake3::Hasher::new();
    h.update(format!("{t}-{}", std::process::id()).as_bytes());
    h.finalize_xof().fill(&mut bytes);
  }
  bytes
}

/// A fresh marker for one script run: 16 hexadecimal digits from the system's
/// random source.
pub fn nonce() -> String {
  random::<8>().iter().fold(String::with_capacity(16), |mut s, b| {
    let _ = write!(s, "{b:02x}");
    s
  })
}

/// Two names of six random letters and digits, space-separated, for the
/// temporary files `cv_prep` makes beside a file: like `mktemp`'s, another user
/// of the host cannot guess them to plant something there first.
pub fn temp_names() -> String {
  const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let mut out = String::with_capacity(13);
  for (i, b) in random::<12>().iter().enumerate() {
    if i == 6 {
      out.push(' ');
    }
    out.push(char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]));
  }
  out
}

/// A file's content as `cv_prep` reads it (`shell/lib.sh`): `t:` and the bytes
/// for `printf '%b'`, a shell builtin, with every byte but printable ASCII,
/// tab and newline as an octal escape; `b:` and base64 when the bytes hold a
/// NUL, which not every shell's `printf` writes.
fn file_data(data: &[u8]) -> String {
  if data.contains(&0) {
    return format!("b:{}", encode(data));
  }
  let mut out = String::with_capacity(data.len() + 2);
  out.push_str("t:");
  for &b in data {
    match b {
      b'\n' | b'\t' | 0x20..=0x7e if b != b'\\' && b != b'\'' => out.push(char::from(b)),
      _ => {
        let _ = write!(out, "\\0{b:03o}");
      }
    }
  }
  out
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
  /// A file's content for `cv_prep` ([`file_data`]), single-quoted.
  Data(&'a [u8]),
  /// The value of a variable the script itself set, `"$NAME"`: a name of
  /// letters, digits and `_` only (anything else becomes `''`).
  Var(&'a str),
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
          Some(Arg::Data(d)) => self.text.push_str(&quote(&file_data(d))),
          Some(Arg::Var(name)) => {
            let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
              && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if valid {
              let _ = write!(self.text, "\"${name}\"");
            } else {
              self.text.push_str("''");
            }
          }
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
  /// script of a [`crate::plan::change::Change::Run`] (resources build it with
  /// [`sh!`]). It runs with `</dev/null`, so nothing in it can read the script it is
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

  /// Appends the steps `ids` of an apply, one step or several written
  /// together: when the steps `deps` succeeded, `body` runs as `run` says,
  /// with the host lock's descriptor closed and standard input from
  /// `/dev/null`. The output (its last 4000 bytes) is printed, framed, only
  /// when it fails. Sets `s{id}` of each to `ok`, `failed` or `skipped` and
  /// prints `__STEP_NONCE__ ID changed|unchanged|failed RC|skipped` for each
  /// (`unchanged`: it succeeded and its last output line is `__UNCHANGED_NONCE__`).
  pub fn step(
    &mut self,
    ids: &[usize],
    deps: &[usize],
    run: StepRun,
    body: &Script,
  ) -> Result<&mut Self, ScriptError> {
    let end = frame::marker("CONVERGE_STEP", &self.nonce);
    let guard = if deps.is_empty() {
      "true".to_owned()
    } else {
      deps.iter().map(|d| format!("[ \"$s{d}\" = ok ]")).collect::<Vec<_>>().join(" && ")
    };
    let args = "-- \"$cv_t0\" \"${cv_uid-}\" \"${cv_tk1-}\" \"${cv_tv1-}\" \"${cv_tk2-}\" \"${cv_tv2-}\"";
    let run = match run {
      StepRun::Inline => {
        // A subshell of the script: it has the functions and settings, and
        // its output is what `cv_prep`, `cv_commit` and `cv_remove` say, a few lines.
        let _ = write!(
          self.text,
          "if {guard}; then\n  cv_out=$( ( set +u; set -e\n{body}) 9>&- 2>&1 </dev/null; printf '\\n%s\\n' \"$?\" )\n",
          body = body.text
        );
        None
      }
      StepRun::Shell => Some(format!("sh -s {args}")),
      StepRun::Sudo => Some(format!(
        "if ! sudo -n true 2>/dev/null; then echo 'sudo needs a password' >&2; exit 97; fi\nsudo -n sh -s {args}"
      )),
    };
    if let Some(run) = run {
      if body.text.lines().any(|l| l == end) {
        return Err(ScriptError::Terminator);
      }
      let _ = write!(
        self.text,
        "if {guard}; then\n  cv_out=$( {{ (\n{run} <<'{end}'\n{body}{end}\n) 9>&- 2>&1 </dev/null; printf '\\n%s\\n' \"$?\"; }} | tail -c 4000 )\n",
        body = body.text
      );
    }
    let n = &self.nonce;
    // Steps written together end together.
    let each = |f: &dyn Fn(usize) -> String| ids.iter().map(|&id| f(id)).collect::<Vec<_>>().join("; ");
    let ok = each(&|id| format!("s{id}=ok"));
    let unchanged = each(&|id| format!("echo \"__STEP_{n}__ {id} unchanged\""));
    let changed = each(&|id| format!("echo \"__STEP_{n}__ {id} changed\""));
    let failed = each(&|id| {
      format!(
        "s{id}=failed; printf '%s\\n' \"$cv_out\" | sed 's/^/__OUT_{n}__ {id} /'; echo \"__STEP_{n}__ {id} failed $cv_rc\""
      )
    });
    let skipped = each(&|id| format!("s{id}=skipped; echo \"__STEP_{n}__ {id} skipped\""));
    let _ = write!(
      self.text,
      "  cv_rc=${{cv_out##*\"$cv_nl\"}}; cv_out=${{cv_out%\"$cv_nl\"*}}\n  if [ \"$cv_rc\" = 0 ]; then {ok}; case $cv_out in *\"__UNCHANGED_{n}__$cv_nl\") {unchanged};; *) {changed};; esac\n  else {failed}; fi\nelse {skipped}; fi\n",
    );
    Ok(self)
  }
}

/// How a step's body runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepRun {
  /// In a subshell of the apply script, which has `shell/lib.sh` and the
  /// host's settings: for a step that only writes and removes files as the
  /// login user. Its output is not cut to its tail.
  Inline,
  /// In a child `sh -s` fed by a heredoc whose terminator carries the nonce,
  /// with the run's start time (`$cv_t0`) as `$1`, the login user's uid and
  /// the resolved home directory after it: the body sets itself up.
  Shell,
  /// The same through `sudo -n`.
  Sudo,
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
mod tests;
