//! What the controller knows of a host's files: the bytes each file the facts
//! round trip reads held when converge last saw or wrote it, kept in the
//! controller's state directory (`files/HOST/`: an index from request to
//! sha256, and one file per content, named by its sha256, mode 0600).
//!
//! With them the facts round trip sends a file's expected sha256 instead of
//! asking for its bytes; the host answers "same" when its file hashes to it,
//! and its bytes otherwise. In pull mode (`--local`) the controller is the
//! host itself: the store is the same, and spares a `base64` per file. A content is used only when its stored bytes hash
//! to their name, so a damaged or stale store costs bytes on the wire, never a
//! wrong plan.

use crate::host::facts::Request;
use sha2::Digest;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Larger stored contents are not used (nor kept): their bytes travel.
const MAX_FILE: u64 = 4 << 20;
/// The largest index read.
const MAX_INDEX: u64 = 1 << 20;

/// The contents the controller holds for a host's file requests.
#[derive(Clone, Debug, Default)]
pub struct Known {
  /// By request (`file:~/.bashrc`, `goenv:`): its sha256 (hex) and bytes.
  files: BTreeMap<String, (String, Vec<u8>)>,
  /// The index as read, request to sha256: an unchanged index is not written.
  index: BTreeMap<String, String>,
}

/// The directory of `host`'s contents in `state_dir`.
fn host_dir(state_dir: &Path, host: &str) -> PathBuf {
  let safe: String =
    host.chars().map(|c| if c.is_ascii_alphanumeric() || "._-@".contains(c) { c } else { '_' }).collect();
  state_dir.join("files").join(safe)
}

/// A file's bytes, when it is a regular file no larger than `max`.
fn read_bounded(path: &Path, max: u64) -> Option<Vec<u8>> {
  let file = std::fs::File::open(path).ok()?;
  if !file.metadata().ok()?.is_file() {
    return None;
  }
  let mut data = Vec::new();
  file.take(max + 1).read_to_end(&mut data).ok()?;
  (data.len() as u64 <= max).then_some(data)
}

/// Lower-case hexadecimal sha256.
pub fn sha256_hex(data: &[u8]) -> String {
  sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

fn is_sha256(text: &str) -> bool {
  text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether the facts script can answer `request` with a hash.
fn hashable(request: &Request) -> bool {
  matches!(request, Request::File(_) | Request::GoEnvFile)
}

impl Known {
  /// What `state_dir` holds for `host`'s `queries`. Nothing when the store is
  /// missing or unreadable.
  pub fn load(state_dir: &Path, host: &str, queries: &[Request]) -> Known {
    let dir = host_dir(state_dir, host);
    let index: BTreeMap<String, String> = read_bounded(&dir.join("index.json"), MAX_INDEX)
      .and_then(|text| serde_json::from_slice(&text).ok())
      .unwrap_or_default();
    let mut files = BTreeMap::new();
    for request in queries.iter().filter(|r| hashable(r)) {
      let key = request.describe();
      let Some(sha) = index.get(&key).filter(|s| is_sha256(s)) else { continue };
      let Some(data) = read_bounded(&dir.join(sha), MAX_FILE) else { continue };
      if sha256_hex(&data) == *sha {
        files.insert(key, (sha.clone(), data));
      }
    }
    Known { files, index }
  }

  /// Knows `data` for `request` (tests of what is built on it).
  #[cfg(test)]
  pub(crate) fn with(mut self, request: &Request, data: &[u8]) -> Known {
    self.files.insert(request.describe(), (sha256_hex(data), data.to_vec()));
    self
  }

  /// The expected sha256 and bytes for `request`, when the controller has them.
  pub fn get(&self, request: &Request) -> Option<&(String, Vec<u8>)> {
    if !hashable(request) {
      return None;
    }
    self.files.get(&request.describe())
  }

  /// Keeps `files` (by request, as [`Request::describe`] names them) as what
  /// `host` holds, replacing what was kept; contents no longer named are
  /// removed. Writes nothing when nothing changed.
  pub fn record(
    &self,
    state_dir: &Path,
    host: &str,
    files: &BTreeMap<String, Vec<u8>>,
  ) -> std::io::Result<()> {
    let files: BTreeMap<&String, &Vec<u8>> =
      files.iter().filter(|(_, data)| data.len() as u64 <= MAX_FILE).collect();
    let index: BTreeMap<String, String> = files.iter().map(|(k, d)| ((*k).clone(), sha256_hex(d))).collect();
    if index == self.index {
      return Ok(());
    }
    let dir = host_dir(state_dir, host);
    std::fs::create_dir_all(&dir)?;
    for (key, data) in &files {
      let path = dir.join(&index[*key]);
      if read_bounded(&path, MAX_FILE).is_none_or(|old| old != **data) {
        crate::atomic::write(&path, data, Some(0o600))?;
      }
    }
    let text = serde_json::to_vec(&index).map_err(std::io::Error::other)?;
    crate::atomic::write(&dir.join("index.json"), &text, Some(0o600))?;
    // Contents no request names any more.
    let kept: std::collections::BTreeSet<&String> = index.values().collect();
    for entry in std::fs::read_dir(&dir)?.flatten() {
      let name = entry.file_name().to_string_lossy().into_owned();
      if is_sha256(&name) && !kept.contains(&name) {
        let _ = std::fs::remove_file(entry.path());
      }
    }
    Ok(())
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_content_is_used_only_while_its_bytes_hash_to_its_name() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let bashrc = Request::File("~/.bashrc".to_owned());
    let queries = vec![bashrc.clone(), Request::Sysctl("vm.x".to_owned())];
    let files = BTreeMap::from([(bashrc.describe(), b"export A=1\n".to_vec())]);
    Known::default().record(dir.path(), "h1", &files)?;
    let known = Known::load(dir.path(), "h1", &queries);
    assert_eq!(known.get(&bashrc).map(|(_, d)| d.clone()), Some(b"export A=1\n".to_vec()));
    assert!(Known::load(dir.path(), "h2", &queries).get(&bashrc).is_none(), "another host knows nothing");
    // A content damaged in the store is not used.
    let sha = sha256_hex(b"export A=1\n");
    std::fs::write(dir.path().join("files/h1").join(&sha), b"export A=2\n")?;
    assert!(Known::load(dir.path(), "h1", &queries).get(&bashrc).is_none());
    // A content no request names is removed.
    Known::default().record(dir.path(), "h1", &BTreeMap::from([(bashrc.describe(), b"new\n".to_vec())]))?;
    assert!(!dir.path().join("files/h1").join(&sha).exists());
    Ok(())
  }
}
