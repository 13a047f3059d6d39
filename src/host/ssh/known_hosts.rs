//! known_hosts read as OpenSSH reads it (sshd(8), "SSH_KNOWN_HOSTS FILE
//! FORMAT"; `hostfile.c` and `match.c` of OpenSSH).
//!
//! A line is an optional marker (`@cert-authority`, `@revoked`), a host field,
//! a key type and a base64 key. The host field is either one hashed name
//! (`|1|salt|hmac`, HMAC-SHA1 of the name keyed by the salt) or a comma list
//! of patterns with `*` and `?` wildcards, where a `!pattern` that matches
//! rules the line out whatever else matches. A host off port 22 is looked up
//! as `[host]:port`, so a pattern written for port 22 does not match it; only
//! when nothing at all is known for `[host]:port` does OpenSSH look again for
//! the bare host, and accept only an entry holding the very same key (the
//! transport does that second lookup). Names and patterns compare without
//! regard to ASCII case.
//!
//! The verdict follows OpenSSH's `check_hostkeys_by_key_or_type`: a plain entry
//! with the same key accepts the host; plain entries with other keys only mean
//! the key changed; and a key listed `@revoked` for the host is refused
//! whatever else the files say. `@cert-authority` lines vouch for host
//! certificates, which this client does not use, so they never accept a key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use std::path::{Path, PathBuf};

/// The marker at the start of a known_hosts line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marker {
  None,
  CertAuthority,
  Revoked,
}

/// One line of a known_hosts file whose host field names the host looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
  pub file: PathBuf,
  /// 1-based.
  pub line: usize,
  pub marker: Marker,
  /// Whether the host field was a hashed name.
  pub hashed: bool,
  pub key_type: String,
  pub key: Vec<u8>,
}

impl Entry {
  /// `file:line`, for messages.
  pub fn place(&self) -> String {
    format!("{}:{}", self.file.display(), self.line)
  }
}

/// What the known_hosts files say of a host's key.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict<'a> {
  /// A plain entry for the host holds this key.
  Known(&'a Entry),
  /// The host has plain entries, none with this key.
  Changed(Vec<&'a Entry>),
  /// The key is listed `@revoked` for the host.
  Revoked(&'a Entry),
  /// Nothing is known of the host.
  New,
}

/// Why a known_hosts file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}: {source}", path.display())]
pub struct ReadError {
  pub path: PathBuf,
  pub source: std::io::Error,
}

/// The entries of some known_hosts files that name one host.
#[derive(Debug, Default)]
pub struct KnownHosts {
  pub entries: Vec<Entry>,
}

impl KnownHosts {
  /// Reads the entries for `name` (`host` or `[host]:port`, see
  /// [`lookup_name`]) from `files`, in order; a file that does not exist
  /// holds none. Lines that do not parse are skipped, as OpenSSH skips them.
  pub fn load(files: &[PathBuf], name: &str) -> Result<KnownHosts, ReadError> {
    let name = name.to_ascii_lowercase();
    let mut entries = Vec::new();
    for file in files {
      let text = match crate::source::read_bounded(file, crate::source::MAX_INPUT_BYTES) {
        Ok(bytes) => bytes,
        Err(crate::source::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => continue,
        Err(e) => return Err(ReadError { path: file.clone(), source: e.into() }),
      };
      let text = String::from_utf8_lossy(&text);
      for (i, line) in text.lines().enumerate() {
        if let Some(entry) = parse_line(line, &name, file, i + 1) {
          entries.push(entry);
        }
      }
    }
    Ok(KnownHosts { entries })
  }

  /// Checks a key the server offered (its wire blob).
  pub fn check(&self, key: &[u8]) -> Verdict<'_> {
    if let Some(revoked) = self.entries.iter().find(|e| e.marker == Marker::Revoked && e.key == key) {
      return Verdict::Revoked(revoked);
    }
    let plain: Vec<&Entry> = self.entries.iter().filter(|e| e.marker == Marker::None).collect();
    if let Some(known) = plain.iter().find(|e| e.key == key) {
      return Verdict::Known(known);
    }
    if plain.is_empty() { Verdict::New } else { Verdict::Changed(plain) }
  }

  /// The key types of the plain entries, first seen first.
  pub fn key_types(&self) -> Vec<&str> {
    let mut types: Vec<&str> = Vec::new();
    for e in self.entries.iter().filter(|e| e.marker == Marker::None) {
      if !types.contains(&e.key_type.as_str()) {
        types.push(&e.key_type);
      }
    }
    types
  }
}

/// The name known_hosts uses for a host: `host`, or `[host]:port` off port 22.
pub fn lookup_name(address: &str, port: u16) -> String {
  if port == 22 { address.to_owned() } else { format!("[{address}]:{port}") }
}

/// The entry of one line when its host field names `name` (lowercase).
fn parse_line(line: &str, name: &str, file: &Path, number: usize) -> Option<Entry> {
  let rest = line.trim_start_matches([' ', '\t']);
  if rest.is_empty() || rest.starts_with('#') {
    return None;
  }
  let mut fields = rest.split([' ', '\t']).filter(|f| !f.is_empty());
  let mut hosts = fields.next()?;
  let marker = match hosts {
    "@cert-authority" => Marker::CertAuthority,
    "@revoked" => Marker::Revoked,
    // Any other `@` word is an invalid marker: the line is skipped.
    m if m.starts_with('@') => return None,
    _ => Marker::None,
  };
  if marker != Marker::None {
    hosts = fields.next()?;
  }
  let hashed = hosts.starts_with('|');
  let matched = if hashed { hashed_name_matches(name, hosts) } else { match_host_list(name, hosts) };
  if !matched {
    return None;
  }
  let key_type = fields.next()?;
  let key = STANDARD.decode(fields.next()?).ok()?;
  Some(Entry { file: file.to_owned(), line: number, marker, hashed, key_type: key_type.to_owned(), key })
}

/// Whether a hashed host field (`|1|salt|hash`) is the hash of `name`.
fn hashed_name_matches(name: &str, field: &str) -> bool {
  let mut parts = field.split('|');
  let (Some(""), Some("1"), Some(salt), Some(hash), None) =
    (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
  else {
    return false;
  };
  let (Ok(salt), Ok(hash)) = (STANDARD.decode(salt), STANDARD.decode(hash)) else { return false };
  // OpenSSH's salt is a SHA-1 block: exactly 20 bytes.
  if salt.len() != 20 {
    return false;
  }
  let Ok(mut mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt) else { return false };
  mac.update(name.as_bytes());
  mac.verify_slice(&hash).is_ok()
}

/// OpenSSH's `match_hostname`: whether `name` (lowercase) matches a comma
/// list of patterns, none of the matching ones negated.
pub fn match_host_list(name: &str, list: &str) -> bool {
  let mut positive = false;
  for pattern in list.split(',') {
    let (negated, pattern) = match pattern.strip_prefix('!') {
      Some(p) => (true, p),
      None => (false, pattern),
    };
    if match_pattern(name, &pattern.to_ascii_lowercase()) {
      if negated {
        return false;
      }
      positive = true;
    }
  }
  positive
}

/// A shell-style wildcard match: `*` is any run of characters, `?` one
/// character, everything else itself. Linear backtracking on the last `*`, so
/// hostile patterns cannot make it slow.
pub fn match_pattern(text: &str, pattern: &str) -> bool {
  let text: Vec<char> = text.chars().collect();
  let pattern: Vec<char> = pattern.chars().collect();
  let (mut t, mut p) = (0, 0);
  let mut star: Option<(usize, usize)> = None;
  while t < text.len() {
    match pattern.get(p) {
      Some('*') => {
        star = Some((p, t));
        p += 1;
      }
      Some(&c) if c == '?' || c == text[t] => {
        t += 1;
        p += 1;
      }
      _ => match star {
        Some((sp, st)) => {
          p = sp + 1;
          t = st + 1;
          star = Some((sp, st + 1));
        }
        None => return false,
      },
    }
  }
  pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn patterns_match_as_openssh_matches_them() {
    let cases = [
      ("host", "host", true),
      ("host", "HOST", true),
      ("host", "hos", false),
      ("host", "h*", true),
      ("host", "*", true),
      ("host", "h?st", true),
      ("host", "h?t", false),
      ("[127.0.97.5]:2222", "[127.0.97.*]:2222", true),
      ("[127.0.97.5]:2222", "[127.0.97.*]:22", false),
      ("[127.0.98.5]:2222", "[127.0.97.*]:2222", false),
      ("a.example.com", "*.example.com", true),
      ("example.com", "*.example.com", false),
      ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c", false),
      ("", "*", true),
      ("", "?", false),
    ];
    for (text, pattern, expected) in cases {
      assert_eq!(match_pattern(text, &pattern.to_ascii_lowercase()), expected, "{text} ~ {pattern}");
    }
  }

  #[test]
  fn a_negated_pattern_rules_the_line_out() {
    assert!(match_host_list("h1.example.com", "*.example.com"));
    assert!(!match_host_list("h1.example.com", "*.example.com,!h1.example.com"));
    assert!(!match_host_list("h1.example.com", "!h1.example.com,*.example.com"));
    assert!(match_host_list("h2.example.com", "*.example.com,!h1.example.com"));
    assert!(!match_host_list("h1.example.com", "!h1.example.com"), "a negation alone matches nothing");
    assert!(match_host_list("10.0.0.1", "other,10.0.0.1"));
  }

  #[test]
  fn a_bare_host_pattern_does_not_match_the_bracketed_name() {
    assert_eq!(lookup_name("10.0.0.1", 22), "10.0.0.1");
    assert_eq!(lookup_name("10.0.0.1", 2222), "[10.0.0.1]:2222");
    assert!(!match_host_list(&lookup_name("10.0.0.1", 2222), "10.0.0.1"));
  }

  #[test]
  fn hashed_names_match_what_ssh_keygen_hashes() {
    // `ssh-keygen -H` of an entry for `[127.0.0.1]:2222`.
    let field = "|1|k2oVaV/I4OQduloEbyJip4eX5Yg=|DGXkCxE9guT2wCAr2+WEMeXjQTc=";
    assert!(hashed_name_matches("[127.0.0.1]:2222", field));
    assert!(!hashed_name_matches("127.0.0.1", field));
    assert!(!hashed_name_matches("[127.0.0.2]:2222", field));
    assert!(!hashed_name_matches("[127.0.0.1]:2222", "|1|k2oVaV/I4OQduloEbyJip4eX5Yg=|"));
    assert!(!hashed_name_matches("x", "|2|a|b"));
    assert!(!hashed_name_matches("x", "|1|"));
  }
}
