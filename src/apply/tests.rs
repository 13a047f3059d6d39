use super::*;
use crate::plan::change::Payload;

#[test]
fn base64_matches_coreutils() {
  let b64 = crate::host::shell::encode;
  assert_eq!(b64(b""), "");
  assert_eq!(b64(b"a"), "YQ==");
  assert_eq!(b64(b"ab"), "YWI=");
  assert_eq!(b64(b"vm\n"), "dm0K");
}

/// The host checks a controller file's sha256 again as it arrived: a file
/// that changed after the controller's check is removed, nothing runs.
#[test]
fn a_payload_that_arrives_with_another_sha256_runs_nothing() -> Result<(), Box<dyn std::error::Error>> {
  use crate::host::transport::Transport;
  let dir = tempfile::tempdir()?;
  let file = dir.path().join("go.tgz");
  let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
  std::fs::write(&file, &data)?;
  let (good, len) = sha256_file(&file)?;
  let host_dir = dir.path().join("host").display().to_string();
  let info = HostInfo { home: "/nonexistent".to_owned(), ..HostInfo::default() };
  let run = |sha256: &str| -> Result<(Option<i32>, String), Box<dyn std::error::Error>> {
    let payload = Payload { path: file.clone(), sha256: sha256.to_owned(), dir: host_dir.clone() };
    let change = Change::Run {
      summary: "x".to_owned(),
      script: "cp -- \"$CONVERGE_PAYLOAD\" \"$CONVERGE_PAYLOAD.seen\"; rm -f -- \"$CONVERGE_PAYLOAD\""
        .to_owned(),
      system: false,
      payload: Some(payload),
    };
    let nonce = crate::host::shell::nonce();
    let mut body = Script::new(&nonce);
    body.fixed("set -e");
    let mut sent = Vec::new();
    change_script(
      &mut body,
      0,
      &change,
      None,
      &info,
      "",
      &mut vec![(file.clone(), len)].into_iter(),
      &mut sent,
    );
    let mut local = crate::host::transport::Local { name: "localhost".to_owned() };
    let out = local.run_input(input_of(body.text(), &nonce, &sent), Duration::from_secs(30))?;
    Ok((out.status, String::from_utf8_lossy(&out.stderr).into_owned()))
  };
  let (status, said) = run(&"0".repeat(64))?;
  assert_eq!(status, Some(1), "{said}");
  assert!(said.contains("sha256 mismatch") && said.contains("nothing was changed"), "{said}");
  let left: Vec<_> = std::fs::read_dir(&host_dir)?.collect();
  assert!(left.is_empty(), "the damaged file is removed: {left:?}");
  let (status, said) = run(&good)?;
  assert_eq!(status, Some(0), "{said}");
  let seen: Vec<_> = std::fs::read_dir(&host_dir)?.flatten().map(|e| e.path()).collect();
  assert_eq!(seen.len(), 1, "{seen:?}");
  assert_eq!(std::fs::read(&seen[0])?, data, "the file arrives byte for byte");
  Ok(())
}

#[test]
fn a_killed_script_is_named_as_such() {
  assert_eq!(
    ended_early(None, "noise\n"),
    "the apply script ended before its end marker (it was killed by a signal): noise"
  );
  assert_eq!(
    ended_early(Some(137), ""),
    "the apply script ended before its end marker (exit status 137: killed by signal 9)"
  );
}

#[test]
fn a_temporary_copy_is_never_more_open_than_its_file_and_always_writable_by_its_owner() {
  assert_eq!(super::creation_umask(Some(0o644)), "133");
  assert_eq!(super::creation_umask(Some(0o600)), "177");
  assert_eq!(super::creation_umask(Some(0o400)), "177", "the owner writes the copy; chmod takes it away");
  assert_eq!(super::creation_umask(Some(0o444)), "133");
  assert_eq!(super::creation_umask(Some(0o000)), "177");
  assert_eq!(super::creation_umask(Some(0o755)), "077", "no umask gives execute bits");
  assert_eq!(super::creation_umask(Some(0o4644)), "077");
  assert_eq!(super::creation_umask(None), "022");
}
