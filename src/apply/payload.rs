//! Controller files a step sends to the host (a prebuilt tool, say): each is
//! checked against the sha256 the playbook gives before a byte goes out, and
//! read once per run however many hosts need it.

use crate::plan::change::Payload;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

/// Controller files whose sha256 was checked in this run, by path and
/// expected sha256: the size and modification time they had then, and the
/// outcome (the size checked, or why the file may not be sent). Hosts in
/// parallel read a large file once.
type CheckedFiles = BTreeMap<(PathBuf, String), ((u64, Option<SystemTime>), Result<u64, String>)>;
static CHECKED: Mutex<CheckedFiles> = Mutex::new(BTreeMap::new());

/// Checks a controller file against its sha256 before it is sent: the number
/// of bytes to send, or why nothing may be.
pub(super) fn check_payload(payload: &Payload) -> Result<u64, String> {
  let shown = payload.path.display();
  let meta =
    std::fs::metadata(&payload.path).map_err(|e| format!("cannot read {shown}: {e}; nothing was changed"))?;
  if !meta.is_file() {
    return Err(format!("{shown} is not a regular file; nothing was changed"));
  }
  let stamp = (meta.len(), meta.modified().ok());
  let expected = payload.sha256.to_ascii_lowercase();
  let mut cache = CHECKED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
  let key = (payload.path.clone(), expected.clone());
  if let Some((seen, outcome)) = cache.get(&key)
    && *seen == stamp
  {
    return outcome.clone();
  }
  let outcome = sha256_file(&payload.path)
    .map_err(|e| format!("cannot read {shown}: {e}; nothing was changed"))
    .and_then(|(sum, len)| {
      if sum == expected {
        Ok(len)
      } else {
        Err(format!(
          "sha256 mismatch for {shown}: expected {expected}, got {sum}; nothing was sent, nothing was changed"
        ))
      }
    });
  cache.insert(key, (stamp, outcome.clone()));
  outcome
}

/// The sha256 of a file, read a block at a time, and its length.
pub(super) fn sha256_file(path: &std::path::Path) -> std::io::Result<(String, u64)> {
  use sha2::Digest;
  use std::io::Read;
  let mut file = std::fs::File::open(path)?;
  let mut hasher = sha2::Sha256::new();
  let mut block = vec![0u8; 1 << 20];
  let mut len = 0u64;
  loop {
    let n = match file.read(&mut block) {
      Ok(0) => break,
      Ok(n) => n,
      Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
      Err(e) => return Err(e),
    };
    hasher.update(&block[..n]);
    len += n as u64;
  }
  Ok((crate::plan::ledger::hex(&hasher.finalize()), len))
}
