//! Atomic file replacement: a temporary file in the same directory, written and
//! fsynced, given the old file's mode and owner, then renamed over the old one,
//! and the directory fsynced. A reader sees the old bytes or the new ones, never
//! a mix, and a crash leaves at worst a stray temporary file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Replaces `path` with `bytes`. A new file gets `mode` (or 0644); an existing
/// one keeps its mode and owner unless `mode` is given.
pub fn write(path: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
  let dir = match path.parent() {
    Some(d) if !d.as_os_str().is_empty() => d,
    _ => Path::new("."),
  };
  let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
  let old = fs::metadata(path).ok();
  let tmp = dir.join(format!(".{}.converge-{}", name.to_string_lossy(), std::process::id()));
  let result = (|| {
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
    file.write_all(bytes)?;
    let perm = mode.or(old.as_ref().map(|m| m.mode() & 0o7777)).unwrap_or(0o644);
    file.set_permissions(fs::Permissions::from_mode(perm))?;
    if let Some(m) = &old {
      // Keeping the owner needs privileges when it is not ours; do it when we can.
      let _ = std::os::unix::fs::fchown(&file, Some(m.uid()), Some(m.gid()));
    }
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
  })();
  // Name the file and keep the cause (a full disk says "No space left on device").
  result.map_err(|e| {
    let _ = fs::remove_file(&tmp);
    io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn replaces_content_and_keeps_mode() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("f");
    fs::write(&path, "old")?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640))?;
    write(&path, b"new", None)?;
    assert_eq!(fs::read_to_string(&path)?, "new");
    assert_eq!(fs::metadata(&path)?.mode() & 0o777, 0o640);
    assert_eq!(fs::read_dir(dir.path())?.count(), 1, "no temporary file is left");
    Ok(())
  }

  #[test]
  fn new_file_gets_the_given_mode() -> io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("g");
    write(&path, b"x", Some(0o600))?;
    assert_eq!(fs::metadata(&path)?.mode() & 0o777, 0o600);
    Ok(())
  }
}
