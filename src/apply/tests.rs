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

/// A host plan of `steps` for a home directory on this machine, applied
/// with the local transport.
fn local_plan(home: &std::path::Path, steps: Vec<crate::plan::planner::Step>) -> HostPlan {
  HostPlan {
    host: "localhost".to_owned(),
    info: HostInfo { home: home.display().to_string(), ..HostInfo::default() },
    steps,
    error: None,
    facts_hash: String::new(),
    facts: Default::default(),
    files: Vec::new(),
    read: Default::default(),
    ledger_base: String::new(),
    ledger_sha256: "absent".to_owned(),
    notes: Vec::new(),
    secrets: Default::default(),
  }
}

fn write_change(path: &std::path::Path, before: Option<&str>, after: &str) -> Change {
  use crate::plan::change::FileState;
  let state = |d: &str| FileState { data: d.as_bytes().into(), mode: None, owner: None };
  Change::Write {
    path: path.display().to_string(),
    before: before.map(state),
    after: state(after),
    system: false,
  }
}

fn step_of(name: &str, changes: Vec<Change>) -> crate::plan::planner::Step {
  crate::plan::planner::Step { name: name.to_owned(), changes, ..Default::default() }
}

fn apply_locally(plan: &HostPlan) -> Result<(String, HostOutcome), Box<dyn std::error::Error>> {
  let nonce = crate::host::shell::nonce();
  let frame = Frame { root: "", nonce: &nonce, run: "test", at: 0, lock_wait: Duration::from_secs(5) };
  let mut sent = Vec::new();
  let text = script(plan, &frame, &mut sent);
  let mut local = crate::host::transport::Local { name: "localhost".to_owned() };
  let options =
    ApplyOptions { root: String::new(), timeout: Duration::from_secs(60), lock_wait: Duration::from_secs(5) };
  let outcome = apply_host(plan, &mut local, &options).map_err(|e| format!("{e:?}"))?;
  Ok((text, outcome))
}

/// Two steps that change one file (an `export` and a `path` both add their
/// block to env.sh) write it once, with what the last of them leaves; a file
/// only one of them changes is written with them.
#[test]
fn steps_that_change_one_file_write_it_once() -> Result<(), Box<dyn std::error::Error>> {
  let home = tempfile::tempdir()?;
  let shared = home.path().join("env.sh");
  let own = home.path().join("own");
  std::fs::write(&shared, "user\n")?;
  let plan = local_plan(
    home.path(),
    vec![
      step_of(
        "export",
        vec![write_change(&shared, Some("user\n"), "user\nA\n"), write_change(&own, None, "o\n")],
      ),
      step_of("path", vec![write_change(&shared, Some("user\nA\n"), "user\nA\nB\n")]),
    ],
  );
  let (text, outcome) = apply_locally(&plan)?;
  let preps =
    text.lines().filter(|l| l.starts_with("cv_prep ") && l.contains(&*shared.display().to_string())).count();
  assert_eq!(preps, 1, "{text}");
  assert_eq!(outcome.steps.iter().map(|(_, o)| o.clone()).collect::<Vec<_>>(), vec![StepOutcome::Changed; 2]);
  assert!(outcome.error.is_none(), "{:?}", outcome.error);
  assert_eq!(std::fs::read_to_string(&shared)?, "user\nA\nB\n");
  assert_eq!(std::fs::read_to_string(&own)?, "o\n");
  // Applied again, the same plan finds the files already as it leaves them.
  let again = local_plan(
    home.path(),
    vec![step_of("path", vec![write_change(&shared, Some("user\nA\nB\n"), "user\nA\nB\nC\n")])],
  );
  let (_, outcome) = apply_locally(&again)?;
  assert_eq!(outcome.steps[0].1, StepOutcome::Changed);
  assert_eq!(std::fs::read_to_string(&shared)?, "user\nA\nB\nC\n");
  Ok(())
}

/// When the write the steps share fails, each of them fails, and the shared
/// file keeps its old bytes: the first step's change is not half there.
#[test]
fn steps_written_together_fail_together_and_leave_the_file_as_it_was()
-> Result<(), Box<dyn std::error::Error>> {
  let home = tempfile::tempdir()?;
  let shared = home.path().join("env.sh");
  std::fs::write(&shared, "user\n")?;
  // The second step's other file cannot be made: its directory is a file.
  std::fs::write(home.path().join("blocked"), "")?;
  let unmakeable = home.path().join("blocked").join("file");
  let plan = local_plan(
    home.path(),
    vec![
      step_of("export", vec![write_change(&shared, Some("user\n"), "user\nA\n")]),
      step_of(
        "path",
        vec![write_change(&shared, Some("user\nA\n"), "user\nA\nB\n"), write_change(&unmakeable, None, "x")],
      ),
    ],
  );
  let (_, outcome) = apply_locally(&plan)?;
  for (name, o) in &outcome.steps {
    assert!(matches!(o, StepOutcome::Failed(why) if why.contains("blocked")), "{name}: {o:?}");
  }
  assert_eq!(std::fs::read_to_string(&shared)?, "user\n");
  let left: Vec<_> = std::fs::read_dir(home.path())?
    .flatten()
    .map(|e| e.file_name().to_string_lossy().into_owned())
    .filter(|n| n.starts_with(".converge"))
    .collect();
  assert!(left.is_empty(), "temporary files left: {left:?}");
  Ok(())
}
