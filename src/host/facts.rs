//! Host facts: what one run of `scripts/facts.sh` found on a host.
//!
//! The script frames its output with nonce markers; [`RawFacts::parse`] reads
//! only what is between them, so a MOTD or an rc file that prints cannot corrupt
//! the facts. Requests (files, sysctl keys, tool binaries) are answered in order.
//! [`Facts::parse`] then types the lines once: [`gather`] returns [`Facts`] or
//! a [`FactsError`], never a host with facts left empty.

use crate::go::env_file::GoEnvFile;
use crate::host::known::Known;
use crate::host::transport::{Transport, TransportError};
use std::collections::BTreeMap;
use std::time::Duration;

/// The fact-gathering script, run with the arguments `NONCE ROOT CACHE HASHES REQUEST...`: the
/// shell module's file functions, then `scripts/facts.sh`.
pub const SCRIPT: &str = concat!(include_str!("shell/lib.sh"), include_str!("facts.sh"));

/// [`SCRIPT`] as it is sent: without its comment lines, a third of its bytes,
/// which every host would otherwise read and parse on every run. A line whose
/// first non-blank character is `#` is a comment anywhere in this script: it
/// has no here-document, and no quoted text spans such a line (a test checks
/// both).
fn sent_script() -> &'static str {
  static SENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
  SENT.get_or_init(|| {
    SCRIPT.lines().filter(|l| !l.trim_start().starts_with('#')).map(|l| format!("{l}\n")).collect()
  })
}

/// Something the plan needs to know beyond the fixed facts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Request {
  /// The bytes, mode and owner of a file.
  File(String),
  /// The live value of a sysctl key.
  Sysctl(String),
  /// The module version a Go binary was built from (`go version -m`).
  Tool(String),
  /// The exit status of a guard command (`unless`, `only_if`).
  Guard(String),
  /// Where a symbolic link points.
  Link(String),
  /// The go env file, wherever GOENV puts it (the `go.env.goenv` fact): its
  /// bytes, mode and owner, answered as for [`Request::File`].
  GoEnvFile,
}

impl Request {
  /// How plans and reports name it: `file:~/.bashrc`, `sysctl:fs.inotify.max_user_watches`.
  pub fn describe(&self) -> String {
    self.arg()
  }

  fn arg(&self) -> String {
    match self {
      Request::File(p) => format!("file:{p}"),
      Request::Sysctl(k) => format!("sysctl:{k}"),
      Request::Tool(p) => format!("tool:{p}"),
      Request::Guard(c) => format!("guard:{c}"),
      Request::Link(p) => format!("link:{p}"),
      Request::GoEnvFile => "goenv:".to_owned(),
    }
  }
}

/// The answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
  Absent,
  File {
    data: Vec<u8>,
    mode: Option<u32>,
    owner: Option<String>,
  },
  Directory,
  Sysctl(String),
  /// `path version` from the binary's build info, when it has one.
  Tool(Option<String>),
  /// The exit status of a guard command.
  Guard(i32),
  /// A symbolic link's target.
  Link(String),
  /// A file converge does not read: a link on its way leads where it must
  /// not (another user's file, outside the home directory or the tree). The
  /// host's words, naming both paths.
  Refused(String),
  Other,
}

/// What one run of the facts script printed, before it is typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawFacts {
  /// Every `key=value` line, as printed.
  pub values: BTreeMap<String, String>,
  pub answers: BTreeMap<Request, Answer>,
}

#[derive(Debug, thiserror::Error)]
pub enum FactsError {
  #[error(transparent)]
  Transport(#[from] TransportError),
  #[error("the facts script printed no framed output (exit status {status:?}): {stderr}")]
  Unframed { status: Option<i32>, stderr: String },
  #[error("the facts script printed no `{key}`")]
  Missing { key: &'static str },
  #[error("the facts script printed `{key}={value}`, which is not {expected}")]
  Invalid { key: &'static str, value: String, expected: &'static str },
}

/// Whether a facts run may write the host's fact cache (beside its ledger).
/// A plan only reads it: a dry run writes nothing on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactCache {
  Read,
  Write,
}

/// What a facts run moved over the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wire {
  /// Bytes the script printed (its whole output).
  pub received: u64,
  /// Bytes of file contents among them (decoded): files whose hash did not
  /// match what the controller knew, or that it did not know.
  pub file_bytes: u64,
  /// Files answered by their hash alone.
  pub hashed: u64,
}

impl std::ops::AddAssign for Wire {
  fn add_assign(&mut self, other: Wire) {
    self.received += other.received;
    self.file_bytes += other.file_bytes;
    self.hashed += other.hashed;
  }
}

/// What names the facts script's text in the fact cache's signature: the
/// first 16 hex digits of its BLAKE3 hash.
fn script_id() -> &'static str {
  static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
  ID.get_or_init(|| blake3::hash(sent_script().as_bytes()).to_hex()[..16].to_owned())
}

/// Runs the facts script once over `transport`, under `root` (`""` for `/`),
/// answering `queries` in order, and types what it printed. A file `known`
/// holds is asked for by its sha256: the host sends its bytes only when they
/// differ, and the answer is the same either way.
pub fn gather(
  transport: &mut dyn Transport,
  root: &str,
  queries: &[Request],
  timeout: Duration,
  cache: FactCache,
  known: &Known,
) -> Result<Facts, FactsError> {
  let nonce = nonce();
  let mode = if cache == FactCache::Write { "w" } else { "r" };
  let mode = format!("{mode}:{}", script_id());
  // `N=SHA256` for the N-th request (from 1) when its content is known.
  let hashes: Vec<String> = queries
    .iter()
    .enumerate()
    .filter_map(|(i, r)| known.get(r).map(|(sha, _)| format!("{}={sha}", i + 1)))
    .collect();
  let mut args = vec![nonce.clone(), root.to_owned(), mode, hashes.join(" ")];
  args.extend(queries.iter().map(Request::arg));
  let output = transport.run_script(sent_script(), &args, timeout)?;
  let stdout = String::from_utf8_lossy(&output.stdout);
  let (raw, mut wire) =
    RawFacts::parse_known(&stdout, &nonce, queries, known).ok_or_else(|| FactsError::Unframed {
      status: output.status,
      stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })?;
  wire.received = output.stdout.len() as u64;
  let mut facts = Facts::parse(raw, queries, !root.is_empty())?;
  facts.wire = wire;
  Ok(facts)
}

impl RawFacts {
  /// Reads the framed part of the script's output. `None` when the frame is
  /// missing or incomplete.
  pub fn parse(stdout: &str, nonce: &str, requests: &[Request]) -> Option<RawFacts> {
    RawFacts::parse_known(stdout, nonce, requests, &Known::default()).map(|(raw, _)| raw)
  }

  /// As [`RawFacts::parse`], for a run asked with the hashes of `known`: a
  /// file the host found unchanged (`req.N.same=1`) is answered with the
  /// bytes `known` holds, printed as the host would have printed them, so the
  /// facts (and the digest a saved plan is gated by) are the same either way.
  pub fn parse_known(
    stdout: &str,
    nonce: &str,
    requests: &[Request],
    known: &Known,
  ) -> Option<(RawFacts, Wire)> {
    let framed = crate::host::shell::frame::between(stdout, "GOFACTS_BEGIN", "GOFACTS_END", nonce)?;
    let mut values = BTreeMap::new();
    for line in framed.lines() {
      if let Some((k, v)) = line.split_once('=') {
        values.insert(k.to_owned(), v.to_owned());
      }
    }
    let hex = values.get("encoding").is_some_and(|e| e == "hex");
    let mut wire = Wire::default();
    for (i, request) in requests.iter().enumerate() {
      let same = values.remove(&format!("req.{}.same", i + 1));
      let key = format!("req.{}.data", i + 1);
      match (same.as_deref(), known.get(request)) {
        (Some("1"), Some((_, data))) if !values.contains_key(&key) => {
          values.insert(key, encode(data, hex));
          wire.hashed += 1;
        }
        _ => wire.file_bytes += values.get(&key).map_or(0, |d| encoded_len(d, hex)),
      }
    }
    let mut answers = BTreeMap::new();
    for (i, request) in requests.iter().enumerate() {
      let get = |field: &str| values.get(&format!("req.{}.{field}", i + 1)).cloned();
      let answer = match (request, get("state").as_deref()) {
        (_, Some("absent")) | (_, None) => Answer::Absent,
        (Request::File(_) | Request::GoEnvFile, Some("refused")) => {
          Answer::Refused(get("why").unwrap_or_else(|| "a link on its way is unsafe".to_owned()))
        }
        (Request::File(_) | Request::GoEnvFile, Some("file")) => Answer::File {
          data: decode(&get("data").unwrap_or_default(), hex)?,
          mode: get("mode").and_then(|m| u32::from_str_radix(&m, 8).ok()),
          owner: get("owner"),
        },
        (Request::File(_) | Request::GoEnvFile, Some("directory")) => Answer::Directory,
        (Request::Sysctl(_), Some("present")) => Answer::Sysctl(get("value").unwrap_or_default()),
        (Request::Tool(_), Some("present")) => Answer::Tool(get("mod").filter(|m| !m.is_empty())),
        (Request::Link(_), Some("present")) => Answer::Link(get("value").unwrap_or_default()),
        (Request::Guard(_), Some("present")) => {
          Answer::Guard(get("value").and_then(|v| v.parse().ok()).unwrap_or(-1))
        }
        _ => Answer::Other,
      };
      answers.insert(request.clone(), answer);
    }
    Some((RawFacts { values, answers }, wire))
  }

  pub fn get(&self, key: &str) -> Option<&str> {
    self.values.get(key).map(String::as_str)
  }

  /// The value the script must print for every host.
  fn required(&self, key: &'static str) -> Result<&str, FactsError> {
    self.get(key).ok_or(FactsError::Missing { key })
  }

  /// A whole number the script must print; empty when the host could not
  /// tell (no `getconf`, no /proc/meminfo), which counts as 0.
  fn number(&self, key: &'static str) -> Result<u64, FactsError> {
    let value = self.required(key)?;
    if value.is_empty() {
      return Ok(0);
    }
    value.parse().map_err(|_| FactsError::Invalid {
      key,
      value: value.to_owned(),
      expected: "a whole number",
    })
  }
}

/// The facts of one host, typed once when they arrive.
///
/// What it serializes to is the `facts` of templates and `assert`
/// (`{{ facts.goarch }}`): its serialized fields are the names of
/// [`crate::check::facts::FACTS`] (a test keeps both, and the book's facts
/// page, in agreement). The rest is what planning needs besides: the answers
/// to the plan's queries and the host's setup.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Facts {
  pub os: String,
  pub os_family: String,
  pub os_version: String,
  pub kernel: String,
  pub arch: String,
  pub goarch: String,
  pub goos: String,
  pub cgroup: u64,
  pub selinux: String,
  pub shell: String,
  pub user: String,
  pub home: String,
  pub hostname: String,
  pub go_version: String,
  pub cpus: u64,
  pub memory_mb: u64,
  /// 1 when a C compiler (`cc` or `gcc`) is on the PATH, for cgo; else 0.
  pub has_cc: u64,
  /// The userland's word size, `getconf LONG_BIT`: 64 or 32 (0: unknown).
  pub long_bit: u64,
  /// The connecting user's id.
  #[serde(skip)]
  pub uid: u32,
  /// Gathered under a directory tree (`--root`), not from the live system.
  #[serde(skip)]
  pub rooted: bool,
  /// Shells and managers present: `bash`, `zsh`, `fish`, `systemd`.
  #[serde(skip)]
  pub has: Vec<String>,
  /// Go variables the login shell exports (they override the go env file).
  #[serde(skip)]
  pub shell_go_env: BTreeMap<String, String>,
  /// Where `go env -w` writes (GOENV).
  #[serde(skip)]
  pub go_env_file: GoEnvFile,
  /// Every line the script printed, for the digest a saved plan is gated by.
  #[serde(skip)]
  pub values: BTreeMap<String, String>,
  /// The queries answered, in the order they were asked (the order of the
  /// `req.N.` lines in [`Facts::values`]).
  #[serde(skip)]
  pub queries: Vec<Request>,
  /// The answer to each query.
  #[serde(skip)]
  pub answers: BTreeMap<Request, Answer>,
  /// What the run moved over the wire.
  #[serde(skip)]
  pub wire: Wire,
}

impl Facts {
  /// Types what the script printed. A fact the script prints on every host
  /// that is missing is an error, not an empty value.
  pub fn parse(raw: RawFacts, queries: &[Request], rooted: bool) -> Result<Facts, FactsError> {
    let text = |key: &'static str| raw.required(key).map(str::to_owned);
    let go_version = raw
      .get("go.version")
      .and_then(crate::go::version::parse_go_version_output)
      .map(|(v, _, _)| v.trim_start_matches("go").to_owned())
      .unwrap_or_default();
    let uid = raw.required("uid")?;
    let uid = uid.parse().map_err(|_| FactsError::Invalid {
      key: "uid",
      value: uid.to_owned(),
      expected: "a user id",
    })?;
    let mut has = Vec::new();
    for (shell, key) in
      [("bash", "has.bash"), ("zsh", "has.zsh"), ("fish", "has.fish"), ("systemd", "has.systemd")]
    {
      if raw.required(key)? == "1" {
        has.push(shell.to_owned());
      }
    }
    Ok(Facts {
      os: text("os.id")?,
      os_family: os_family(raw.required("os.id")?, raw.required("os.id_like")?),
      os_version: text("os.version_id")?,
      kernel: text("kernel.release")?,
      arch: text("uname.m")?,
      goarch: text("goarch")?,
      goos: "linux".to_owned(),
      cgroup: raw.number("cgroup")?,
      selinux: text("selinux")?,
      shell: text("user.login_shell")?,
      user: text("user")?,
      home: text("home")?,
      hostname: text("hostname")?,
      go_version,
      cpus: raw.number("cpus")?,
      memory_mb: raw.number("memory_kb")? / 1024,
      has_cc: u64::from(!raw.required("cc")?.is_empty()),
      long_bit: raw.number("userland.long_bit")?,
      uid,
      rooted,
      has,
      shell_go_env: raw
        .values
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("shellenv.").map(|k| (k.to_owned(), v.clone())))
        .collect(),
      go_env_file: GoEnvFile::from_fact(raw.get("go.env.goenv")),
      values: raw.values,
      queries: queries.to_vec(),
      answers: raw.answers,
      wire: Wire::default(),
    })
  }

  /// The facts as templates and `assert` see them (`facts.goarch`).
  pub fn template_context(&self) -> serde_json::Value {
    serde_json::to_value(self).unwrap_or_default()
  }
}

/// `debian`, `rhel`, `arch`, `suse`, `alpine`, or the os id itself, from
/// os-release's `ID` and `ID_LIKE`.
pub fn os_family(id: &str, like: &str) -> String {
  let words: Vec<&str> = std::iter::once(id).chain(like.split_whitespace()).collect();
  for (family, members) in [
    ("debian", &["debian", "ubuntu"][..]),
    ("rhel", &["rhel", "fedora", "centos", "rocky", "almalinux"][..]),
    ("arch", &["arch"][..]),
    ("suse", &["suse", "opensuse", "sles"][..]),
    ("alpine", &["alpine"][..]),
  ] {
    if words.iter().any(|w| members.contains(w)) {
      return family.to_owned();
    }
  }
  id.to_owned()
}

/// File bytes as the script prints them: base64 (as `base64 -w0`), or hex
/// (as `od -An -v -tx1` with blanks removed).
fn encode(data: &[u8], hex: bool) -> String {
  use base64::Engine;
  if hex {
    return data.iter().map(|b| format!("{b:02x}")).collect();
  }
  base64::engine::general_purpose::STANDARD.encode(data)
}

/// How many bytes an encoded content stands for.
fn encoded_len(text: &str, hex: bool) -> u64 {
  let n = text.len() as u64;
  if hex { n / 2 } else { n / 4 * 3 - text.bytes().rev().take_while(|&b| b == b'=').count() as u64 }
}

fn decode(text: &str, hex: bool) -> Option<Vec<u8>> {
  if hex {
    return (0..text.len() / 2).map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()).collect();
  }
  crate::host::shell::decode(text)
}

/// A fresh marker for framing one script run's output.
pub fn nonce() -> String {
  crate::host::shell::nonce()
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::host::transport::Local;

  #[test]
  fn base64_round_trips_what_coreutils_prints() {
    assert_eq!(decode("dm0K", false), Some(b"vm\n".to_vec()));
    assert_eq!(decode("YQ==", false), Some(b"a".to_vec()));
    assert_eq!(decode("YWI=", false), Some(b"ab".to_vec()));
    assert_eq!(decode("", false), Some(Vec::new()));
    assert_eq!(decode("!!!!", false), None);
  }

  #[test]
  fn noise_outside_the_frame_is_ignored() {
    let out = "Welcome to host\nos.id=evil\n__GOFACTS_BEGIN_n1__\nos.id=debian\n__GOFACTS_END_n1__\nbye\n";
    let facts = RawFacts::parse(out, "n1", &[]);
    assert_eq!(facts.and_then(|f| f.get("os.id").map(str::to_owned)), Some("debian".to_owned()));
    assert_eq!(
      RawFacts::parse("__GOFACTS_BEGIN_n1__\nx=1\n", "n1", &[]),
      None,
      "an unterminated frame is refused"
    );
  }

  /// Dropping the lines that start with `#` drops only comments: the script
  /// has no here-document, and no quoted text spans such a line.
  #[test]
  fn the_script_is_sent_without_its_comments_and_nothing_else() {
    assert!(!SCRIPT.contains("<<"), "a here-document's lines may start with #");
    let mut quote: Option<char> = None;
    let mut quoted_lines = 0;
    for (n, line) in SCRIPT.lines().enumerate() {
      let comment = line.trim_start().starts_with('#');
      quoted_lines += usize::from(quote.is_some());
      assert!(!(comment && quote.is_some()), "line {}: quoted text spans a line that starts with #", n + 1);
      if comment {
        continue;
      }
      let mut chars = line.chars();
      let mut prev = ' ';
      while let Some(c) = chars.next() {
        match (quote, c) {
          (None | Some('"'), '\\') => {
            chars.next();
            prev = 'x';
            continue;
          }
          (None, '#') if prev.is_whitespace() || prev == ';' => break,
          (None, '\'' | '"') => quote = Some(c),
          (Some(q), c) if c == q => quote = None,
          _ => {}
        }
        prev = c;
      }
    }
    assert_eq!(quote, None, "the script ends inside quotes");
    // The awk program of the startup-file scan is one quoted text of many lines.
    assert!(quoted_lines > 10, "{quoted_lines} lines begin inside quotes");
    let sent = sent_script();
    assert!(sent.len() < SCRIPT.len() * 3 / 4, "{} of {} bytes sent", sent.len(), SCRIPT.len());
    assert!(sent.lines().all(|l| !l.trim_start().starts_with('#')));
  }

  /// The real script, run by the real `sh`, on this machine.
  #[test]
  fn gathers_real_facts_and_files_in_one_run() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("f");
    std::fs::write(&file, b"a\x00b\nline two\n")?;
    let missing = dir.path().join("missing").display().to_string();
    let requests = vec![
      Request::File(file.display().to_string()),
      Request::File(missing.clone()),
      Request::Sysctl("kernel.ostype".to_owned()),
      Request::Sysctl("kernel.no_such_key".to_owned()),
    ];
    let mut local = Local { name: "localhost".to_owned() };
    let facts =
      gather(&mut local, "", &requests, Duration::from_secs(30), FactCache::Read, &Known::default())?;
    assert!(!facts.goarch.is_empty());
    assert!(facts.kernel.starts_with(|c: char| c.is_ascii_digit()));
    assert!(!facts.home.is_empty() && !facts.user.is_empty());
    match &facts.answers[&requests[0]] {
      Answer::File { data, .. } => assert_eq!(data, b"a\x00b\nline two\n"),
      other => panic!("expected the file, got {other:?}"),
    }
    assert_eq!(facts.answers[&requests[1]], Answer::Absent);
    assert_eq!(facts.answers[&requests[2]], Answer::Sysctl("Linux".to_owned()));
    assert_eq!(facts.answers[&requests[3]], Answer::Absent);
    Ok(())
  }

  /// A file answered `same` is filled in with the bytes the controller kept,
  /// as the host would have printed them; one answered with bytes is counted.
  #[test]
  fn a_file_answered_by_hash_reads_as_if_its_bytes_had_come() {
    let bashrc = Request::File("~/.bashrc".to_owned());
    let marker = Request::File("~/m".to_owned());
    let requests = [bashrc.clone(), marker.clone()];
    let known = Known::default().with(&bashrc, b"export A=1\n").with(&marker, b"old\n");
    let by_hash = framed(&[
      "encoding=base64",
      "req.1.state=file",
      "req.1.mode=644",
      "req.1.same=1",
      "req.2.state=file",
      "req.2.mode=644",
      "req.2.data=bmV3Cg==",
    ]);
    let by_bytes = by_hash.replace("req.1.same=1", "req.1.data=ZXhwb3J0IEE9MQo=");
    let (raw, wire) = RawFacts::parse_known(&by_hash, "n1", &requests, &known).unwrap_or_default();
    assert_eq!(Some(raw.clone()), RawFacts::parse(&by_bytes, "n1", &requests), "the same facts either way");
    assert_eq!(wire, Wire { received: 0, file_bytes: 4, hashed: 1 });
    assert!(matches!(&raw.answers[&marker], Answer::File { data, .. } if data == b"new\n"));
    // `same` for a file the controller did not ask by hash brings no bytes from anywhere.
    let (raw, _) = RawFacts::parse_known(&by_hash, "n1", &requests, &Known::default()).unwrap_or_default();
    assert!(matches!(&raw.answers[&bashrc], Answer::File { data, .. } if data.is_empty()));
  }

  /// A frame as the script prints it on a host with the given lines.
  fn framed(lines: &[&str]) -> String {
    format!("__GOFACTS_BEGIN_n1__\n{}\n__GOFACTS_END_n1__\n", lines.join("\n"))
  }

  const EVERY_FACT: &[&str] = &[
    "encoding=base64",
    "os.id=ubuntu",
    "os.version_id=24.04",
    "os.id_like=debian",
    "uname.m=aarch64",
    "goarch=arm64",
    "kernel.release=6.8.0-31-generic",
    "hostname=dev01",
    "cgroup=2",
    "user=ada",
    "uid=1000",
    "home=/home/ada",
    "user.login_shell=/bin/zsh",
    "has.bash=1",
    "has.zsh=1",
    "has.fish=0",
    "has.dash=1",
    "has.systemd=1",
    "cpus=8",
    "memory_kb=16384000",
    "selinux=disabled",
    "cc=/usr/bin/cc",
    "userland.long_bit=64",
  ];

  #[test]
  fn facts_are_typed_once_from_what_the_script_printed() -> Result<(), FactsError> {
    let mut lines = EVERY_FACT.to_vec();
    lines.extend(["shellenv.GOPROXY=direct", "go.version=go version go1.22.5 linux/arm64"]);
    let raw = RawFacts::parse(&framed(&lines), "n1", &[]).ok_or(FactsError::Missing { key: "frame" })?;
    let facts = Facts::parse(raw, &[], false)?;
    assert_eq!((facts.os.as_str(), facts.os_family.as_str()), ("ubuntu", "debian"));
    assert_eq!((facts.arch.as_str(), facts.goarch.as_str()), ("aarch64", "arm64"));
    assert_eq!((facts.cgroup, facts.cpus, facts.memory_mb, facts.uid), (2, 8, 16000, 1000));
    assert_eq!(facts.go_version, "1.22.5");
    assert_eq!((facts.has_cc, facts.long_bit), (1, 64), "a C compiler, a 64-bit userland");
    assert_eq!(facts.has, ["bash", "zsh", "systemd"]);
    assert_eq!(facts.shell_go_env.get("GOPROXY").map(String::as_str), Some("direct"));
    assert_eq!(facts.go_env_file, GoEnvFile::Default);
    let context = facts.template_context();
    assert_eq!(context["goarch"], "arm64");
    assert_eq!(context["goos"], "linux");
    assert_eq!(context["memory_mb"], 16000);
    assert!(context.get("answers").is_none() && context.get("uid").is_none());
    Ok(())
  }

  #[test]
  fn a_fact_the_script_always_prints_is_an_error_when_missing_not_an_empty_value() {
    for missing in
      ["home", "user", "uid", "goarch", "os.id", "has.systemd", "cpus", "cc", "userland.long_bit"]
    {
      let lines: Vec<&str> =
        EVERY_FACT.iter().copied().filter(|l| !l.starts_with(&format!("{missing}="))).collect();
      let raw = RawFacts::parse(&framed(&lines), "n1", &[]);
      let err = raw.map(|raw| Facts::parse(raw, &[], false));
      assert!(
        matches!(&err, Some(Err(FactsError::Missing { key })) if *key == missing),
        "{missing}: {err:?}"
      );
    }
    let mut lines = EVERY_FACT.to_vec();
    lines.retain(|l| !l.starts_with("cpus="));
    lines.push("cpus=many");
    let raw = RawFacts::parse(&framed(&lines), "n1", &[]);
    assert!(matches!(
      raw.map(|raw| Facts::parse(raw, &[], false)),
      Some(Err(FactsError::Invalid { key: "cpus", .. }))
    ));
    // A host that cannot tell prints an empty value: 0, as documented.
    let mut lines = EVERY_FACT.to_vec();
    lines.retain(|l| !l.starts_with("cpus="));
    lines.push("cpus=");
    let raw = RawFacts::parse(&framed(&lines), "n1", &[]);
    assert!(matches!(raw.map(|raw| Facts::parse(raw, &[], false)), Some(Ok(Facts { cpus: 0, .. }))));
  }

  /// A tree without /etc/os-release (`--root` on a bare directory) still has
  /// every fact: the os ones are empty.
  #[test]
  fn a_root_without_os_release_gathers_empty_os_facts() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut local = Local { name: "localhost".to_owned() };
    let root = dir.path().display().to_string();
    let facts = gather(&mut local, &root, &[], Duration::from_secs(30), FactCache::Read, &Known::default())?;
    assert_eq!((facts.os.as_str(), facts.os_version.as_str()), ("", ""));
    assert!(facts.rooted);
    Ok(())
  }
}
