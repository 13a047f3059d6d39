//! Host facts: what one run of `scripts/facts.sh` found on a host.
//!
//! The script frames its output with nonce markers; [`HostFacts::parse`] reads
//! only what is between them, so a MOTD or an rc file that prints cannot corrupt
//! the facts. Requests (files, sysctl keys, tool binaries) are answered in order.

use crate::host::transport::{Transport, TransportError};
use std::collections::BTreeMap;
use std::time::Duration;

/// The fact-gathering script, run with the arguments `NONCE ROOT REQUEST...`: the
/// shell module's file functions, then `scripts/facts.sh`.
pub const SCRIPT: &str = concat!(include_str!("shell/lib.sh"), include_str!("facts.sh"));

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

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostFacts {
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
}

impl HostFacts {
  /// Runs the facts script once over `transport`.
  pub fn gather(
    transport: &mut dyn Transport,
    root: &str,
    requests: &[Request],
    timeout: Duration,
  ) -> Result<HostFacts, FactsError> {
    let nonce = nonce();
    let mut args = vec![nonce.clone(), root.to_owned()];
    args.extend(requests.iter().map(Request::arg));
    let output = transport.run_script(SCRIPT, &args, timeout)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    HostFacts::parse(&stdout, &nonce, requests).ok_or_else(|| FactsError::Unframed {
      status: output.status,
      stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
  }

  /// Reads the framed part of the script's output. `None` when the frame is
  /// missing or incomplete.
  pub fn parse(stdout: &str, nonce: &str, requests: &[Request]) -> Option<HostFacts> {
    let framed = crate::host::shell::frame::between(stdout, "GOFACTS_BEGIN", "GOFACTS_END", nonce)?;
    let mut values = BTreeMap::new();
    for line in framed.lines() {
      if let Some((k, v)) = line.split_once('=') {
        values.insert(k.to_owned(), v.to_owned());
      }
    }
    let hex = values.get("encoding").is_some_and(|e| e == "hex");
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
    Some(HostFacts { values, answers })
  }

  pub fn get(&self, key: &str) -> Option<&str> {
    self.values.get(key).map(String::as_str)
  }

  /// The facts as templates and `assert` see them (`facts.goarch`), by the
  /// names of [`crate::check::facts::FACTS`].
  pub fn template_facts(&self) -> serde_json::Value {
    let get = |k: &str| self.get(k).unwrap_or_default().to_owned();
    let int = |k: &str| self.get(k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    let go_version = self
      .get("go.version")
      .and_then(crate::go::version::parse_go_version_output)
      .map(|(v, _, _)| v.trim_start_matches("go").to_owned())
      .unwrap_or_default();
    serde_json::json!({
      "os": get("os.id"),
      "os_family": os_family(self),
      "os_version": get("os.version_id"),
      "kernel": get("kernel.release"),
      "arch": get("uname.m"),
      "goarch": get("goarch"),
      "goos": "linux",
      "cgroup": int("cgroup"),
      "selinux": get("selinux"),
      "shell": get("user.login_shell"),
      "user": get("user"),
      "home": get("home"),
      "hostname": get("hostname"),
      "go_version": go_version,
      "cpus": int("cpus"),
      "memory_mb": int("memory_kb") / 1024,
    })
  }
}

/// `debian`, `rhel`, `arch`, `suse`, `alpine`, or the os id itself.
pub fn os_family(facts: &HostFacts) -> String {
  let id = facts.get("os.id").unwrap_or_default();
  let like = facts.get("os.id_like").unwrap_or_default();
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
    let facts = HostFacts::parse(out, "n1", &[]);
    assert_eq!(facts.and_then(|f| f.get("os.id").map(str::to_owned)), Some("debian".to_owned()));
    assert_eq!(
      HostFacts::parse("__GOFACTS_BEGIN_n1__\nx=1\n", "n1", &[]),
      None,
      "an unterminated frame is refused"
    );
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
    let facts = HostFacts::gather(&mut local, "", &requests, Duration::from_secs(30))?;
    assert!(facts.get("goarch").is_some_and(|a| !a.is_empty()));
    assert!(facts.get("kernel.release").is_some_and(|k| k.starts_with(|c: char| c.is_ascii_digit())));
    match &facts.answers[&requests[0]] {
      Answer::File { data, .. } => assert_eq!(data, b"a\x00b\nline two\n"),
      other => panic!("expected the file, got {other:?}"),
    }
    assert_eq!(facts.answers[&requests[1]], Answer::Absent);
    assert_eq!(facts.answers[&requests[2]], Answer::Sysctl("Linux".to_owned()));
    assert_eq!(facts.answers[&requests[3]], Answer::Absent);
    Ok(())
  }
}
