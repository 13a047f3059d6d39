//! Trust and identity: the server's host key checked against known_hosts
//! before anything else is sent, then public-key authentication (ssh-agent
//! unless `IdentitiesOnly`, then the identity files in order).

use super::known_hosts::{KnownHosts, Verdict};
use super::{ConnectError, HostKeyPolicy, Target};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::Digest;
use ssh2::{HostKeyType, Session};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Mutex;

/// known_hosts writes of concurrent connections go one at a time.
static KNOWN_HOSTS_LOCK: Mutex<()> = Mutex::new(());

pub(super) fn key_type_name(kind: HostKeyType) -> &'static str {
  match kind {
    HostKeyType::Rsa => "ssh-rsa",
    HostKeyType::Dss => "ssh-dss",
    HostKeyType::Ecdsa256 => "ecdsa-sha2-nistp256",
    HostKeyType::Ecdsa384 => "ecdsa-sha2-nistp384",
    HostKeyType::Ecdsa521 => "ecdsa-sha2-nistp521",
    HostKeyType::Ed25519 => "ssh-ed25519",
    HostKeyType::Unknown => "unknown",
  }
}

/// OpenSSH's fingerprint of a key blob: `SHA256:` and unpadded base64.
pub fn fingerprint(blob: &[u8]) -> String {
  format!("SHA256:{}", STANDARD_NO_PAD.encode(sha2::Sha256::digest(blob)))
}

/// Host key algorithms in OpenSSH's order (Ed25519, ECDSA, RSA with SHA-2),
/// those of key types known_hosts already holds for the host first, as
/// OpenSSH orders them, so a host known by its RSA key is not asked for
/// another.
pub(super) fn host_key_preference(known: &[&str]) -> String {
  const ALGORITHMS: [(&str, &str); 7] = [
    ("ssh-ed25519", "ssh-ed25519"),
    ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256"),
    ("ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"),
    ("ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521"),
    ("rsa-sha2-512", "ssh-rsa"),
    ("rsa-sha2-256", "ssh-rsa"),
    ("ssh-rsa", "ssh-rsa"),
  ];
  let (first, rest): (Vec<_>, Vec<_>) = ALGORITHMS.iter().partition(|(_, kind)| known.contains(kind));
  first.iter().chain(&rest).map(|(alg, _)| *alg).collect::<Vec<_>>().join(",")
}

pub(super) fn check_host_key(
  session: &Session,
  target: &Target,
  name: &str,
  known: &KnownHosts,
) -> Result<(), ConnectError> {
  let Some((key, kind)) = session.host_key() else {
    return Err(ConnectError::HostKey(format!("{}: the server sent no host key", target.name)));
  };
  let offered = format!("{} {}", key_type_name(kind), fingerprint(key));
  let files = target.known_hosts.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
  let mut verdict = known.check(key);
  // OpenSSH's fallback off port 22: with no entry at all for `[host]:port`,
  // an entry for the bare host that holds this very key vouches for it.
  // Anything else found there changes nothing (a revoked key is still refused).
  let bare;
  if matches!(verdict, Verdict::New) && target.port != 22 && target.host_key_alias.is_none() {
    bare = KnownHosts::load(&target.known_hosts, &target.address)
      .map_err(|e| ConnectError::HostKey(format!("{}: {e}", target.name)))?;
    match bare.check(key) {
      v @ (Verdict::Known(_) | Verdict::Revoked(_)) => verdict = v,
      Verdict::Changed(_) | Verdict::New => {}
    }
  }
  match verdict {
    Verdict::Known(_) => Ok(()),
    Verdict::Revoked(entry) => Err(ConnectError::HostKey(format!(
      "refusing {}: the host key of {name} is revoked (`@revoked` at {}).\n  offered by the server: {offered}\n  \
       A revoked key is never trusted: give the host a new key, then record that one in known_hosts.",
      target.name,
      entry.place()
    ))),
    Verdict::Changed(entries) => {
      let known = entries
        .iter()
        .map(|e| {
          let hashed = if e.hashed { ", hashed entry" } else { "" };
          format!("{} {} ({}{hashed})", e.key_type, fingerprint(&e.key), e.place())
        })
        .collect::<Vec<_>>()
        .join("; ");
      Err(ConnectError::HostKey(format!(
        "refusing {}: the host key of {name} changed.\n  offered by the server: {offered}\n  \
         known_hosts has: {known}\n  \
         Someone may be intercepting the connection, or the host was reinstalled. Check the new \
         key out of band; if it is right, remove the old one with `{}`.",
        target.name,
        crate::host::shell::sh!("ssh-keygen -R {}", name)
      )))
    }
    Verdict::New => match target.policy {
      HostKeyPolicy::Strict => Err(ConnectError::HostKey(format!(
        "refusing {}: {name} is not in known_hosts ({files}).\n  offered by the server: {offered}\n  \
         Check the fingerprint out of band, then add the key (`ssh-keyscan -p {} {} >> ~/.ssh/known_hosts`), \
         or run with `--host-key-checking accept-new` to trust keys of new hosts on first use.",
        target.name, target.port, target.address
      ))),
      HostKeyPolicy::AcceptNew => {
        let Some(file) = target.known_hosts.first() else {
          return Err(ConnectError::HostKey(format!(
            "{}: no known_hosts file to record the key in",
            target.name
          )));
        };
        let line = format!("{name} {} {}\n", key_type_name(kind), STANDARD.encode(key));
        let _lock = KNOWN_HOSTS_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        append(file, &line).map_err(|e| {
          ConnectError::HostKey(format!(
            "{}: cannot record the host key in {}: {e}",
            target.name,
            file.display()
          ))
        })
      }
    },
  }
}

/// Appends a line to known_hosts; a file whose last line has no newline gets
/// one first, so the new entry does not run into the last key.
fn append(file: &Path, line: &str) -> std::io::Result<()> {
  use std::io::{Seek, SeekFrom};
  if let Some(dir) = file.parent() {
    std::fs::create_dir_all(dir)?;
  }
  if file.exists() {
    crate::source::regular_file(file)?;
  }
  let mut f = std::fs::OpenOptions::new().create(true).read(true).append(true).open(file)?;
  let mut text = String::new();
  if f.seek(SeekFrom::End(0))? > 0 {
    let mut last = [0u8; 1];
    f.seek(SeekFrom::End(-1))?;
    f.read_exact(&mut last)?;
    if last[0] != b'\n' {
      text.push('\n');
    }
  }
  text.push_str(line);
  f.write_all(text.as_bytes())?;
  f.sync_all()
}

pub(super) fn authenticate(session: &Session, target: &Target) -> Result<(), ConnectError> {
  let mut tried = Vec::new();
  if std::env::var_os("SSH_AUTH_SOCK").is_some() && !target.identities_only {
    tried.push("ssh-agent".to_owned());
    if session.userauth_agent(&target.user).is_ok() && session.authenticated() {
      return Ok(());
    }
  }
  let mut problems = Vec::new();
  for identity in &target.identities {
    if !identity.exists() {
      if target.identities_named {
        problems.push(format!("{} does not exist", identity.display()));
      }
      continue;
    }
    // libssh2 would block on a FIFO: a key is a regular file.
    if let Err(e) = crate::source::regular_file(identity) {
      problems.push(format!("{}: {e}", identity.display()));
      continue;
    }
    tried.push(identity.display().to_string());
    match session.userauth_pubkey_file(&target.user, None, identity, None) {
      Ok(()) if session.authenticated() => return Ok(()),
      Ok(()) => {}
      Err(e) if e.code() == ssh2::ErrorCode::Session(-16) => {
        problems.push(format!("{}: cannot read the key: {}", identity.display(), e.message()));
      }
      Err(_) => {}
    }
  }
  let tried =
    if tried.is_empty() { "no key (no ssh-agent, no identity file)".to_owned() } else { tried.join(", ") };
  let mut message =
    format!("authentication as {}@{} failed: the server accepted none of: {tried}", target.user, target.name);
  for p in problems {
    message.push_str(&format!("\n  {p}"));
  }
  message.push_str(
    "\n  Add the public key to the user's ~/.ssh/authorized_keys on the host, or name the right key \
     with `IdentityFile` in ~/.ssh/config or `ansible_ssh_private_key_file` in the inventory.",
  );
  Err(ConnectError::Auth(message))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn fingerprints_match_openssh() {
    // `ssh-keygen -lf` of this key prints SHA256:YpzcMIRuBNsVxIr1tQXN8yhwNJqUt3wZDMABsT8cVEo.
    let blob = STANDARD
      .decode("AAAAC3NzaC1lZDI1NTE5AAAAIOjoW3as4yPUA5g0XcdEPmHcaqtbGoqTUfQX9fG5SeHC")
      .unwrap_or_default();
    assert_eq!(fingerprint(&blob), "SHA256:YpzcMIRuBNsVxIr1tQXN8yhwNJqUt3wZDMABsT8cVEo");
  }

  #[test]
  fn appended_known_hosts_lines_start_on_a_line_of_their_own() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("known_hosts");
    std::fs::write(&file, "a ssh-ed25519 AAAA").unwrap_or_else(|e| panic!("{e}"));
    let _ = append(&file, "b ssh-ed25519 BBBB\n");
    let _ = append(&file, "c ssh-ed25519 CCCC\n");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    assert_eq!(text, "a ssh-ed25519 AAAA\nb ssh-ed25519 BBBB\nc ssh-ed25519 CCCC\n");
    let fresh = dir.path().join("new/known_hosts");
    let _ = append(&fresh, "d ssh-ed25519 DDDD\n");
    assert_eq!(std::fs::read_to_string(&fresh).unwrap_or_default(), "d ssh-ed25519 DDDD\n");
  }

  #[test]
  fn known_host_key_types_come_first() {
    assert!(host_key_preference(&[]).starts_with("ssh-ed25519,ecdsa"));
    assert!(host_key_preference(&["ssh-rsa"]).starts_with("rsa-sha2-512,rsa-sha2-256,ssh-rsa,ssh-ed25519"));
  }

  #[test]
  fn known_names_bracket_other_ports() {
    assert_eq!(super::super::lookup_name("10.0.0.1", 22), "10.0.0.1");
    assert_eq!(super::super::lookup_name("10.0.0.1", 2222), "[10.0.0.1]:2222");
  }
}
