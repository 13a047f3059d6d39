//! Hostile values on real testbed hosts and through every resource that writes
//! what a user declares: each value is refused by the check, or arrives exactly
//! as declared where its consumer reads it (the login shells of real users over
//! real sshd, the environment.d generator, `go env`, the JSON of VS Code's
//! settings, sysctl.d, the shell running a command's guards), and no command in
//! any value ever runs.

use crate::fleet::Fleet;
use crate::safety_values::{
  GENERATOR, GO_FREE, bounded, corpus, declared, expand, literal, literal_raw, refuse, refused,
  unquote_generator,
};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Prints a figure line on stderr.
fn say(line: &str) {
  std::io::Write::write_all(&mut std::io::stderr(), format!("{line}\n").as_bytes()).ok();
}

/// A directory that commands in values would write to. It lives in the
/// machine's `/tmp`, which the testbed's hosts share, and every user may write
/// into it, so a value run on a host as any user leaves its file here.
fn marks() -> tempfile::TempDir {
  let dir = tempfile::Builder::new().prefix("cv-marks-").tempdir().unwrap_or_else(|e| panic!("{e}"));
  std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap_or_else(|e| panic!("{e}"));
  dir
}

/// The fixed corpus with its `{marks}` placeholders pointing at `marks`.
fn values(marks: &Path) -> Vec<String> {
  let m = marks.display().to_string();
  corpus().iter().map(|v| v.replace("{marks}", &m)).collect()
}

/// The names of the files values in the corpus would create when run.
fn mark_names() -> Vec<String> {
  let mut names: Vec<String> = corpus()
    .iter()
    .flat_map(|v| v.match_indices("{marks}/").map(|(i, _)| v[i + 8..].to_owned()).collect::<Vec<_>>())
    .map(|rest| rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>())
    .filter(|n| !n.is_empty())
    .collect();
  names.extend(["ref1", "ref2", "p", "q"].map(str::to_owned));
  names.sort();
  names.dedup();
  names
}

/// Every file under `dir`, not following links.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
  for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
    let path = entry.path();
    match entry.file_type() {
      Ok(t) if t.is_dir() => walk(&path, out),
      Ok(_) => out.push(path),
      Err(_) => {}
    }
  }
}

/// Fails if `marks` holds anything, or if a file named like one a value would
/// create exists anywhere under `dirs`.
fn assert_no_marks(marks: &Path, dirs: &[PathBuf]) -> usize {
  let found: Vec<_> = std::fs::read_dir(marks).into_iter().flatten().flatten().map(|e| e.file_name()).collect();
  assert!(found.is_empty(), "a value ran a command: {found:?} in {}", marks.display());
  let names = mark_names();
  let mut files = Vec::new();
  for dir in dirs {
    walk(dir, &mut files);
  }
  for f in &files {
    let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    assert!(!names.contains(&name), "a value ran a command: {} exists", f.display());
  }
  files.len()
}

/// `path` with `.` and `..` resolved as text, and repeated slashes folded.
fn lexical(path: &str) -> PathBuf {
  let mut out = PathBuf::from("/");
  for c in Path::new(path).components() {
    match c {
      Component::ParentDir => {
        out.pop();
      }
      Component::Normal(n) => out.push(n),
      _ => {}
    }
  }
  out
}

/// A shell word (POSIX sh and fish alike) holding exactly `s`, which has no
/// backslash.
fn sq(s: &str) -> String {
  format!("'{}'", s.replace('\'', "'\\''"))
}

/// Runs `command` on a host as `user` through OpenSSH, bounded in time.
fn ssh(fleet: &Fleet, host: &str, user: &str, command: &str) -> Vec<u8> {
  let home = fleet.home();
  let mut cmd = Command::new("ssh");
  cmd
    .args(["-F", &home.join(".ssh/config").display().to_string()])
    .args(["-o", &format!("UserKnownHostsFile={}", home.join(".ssh/known_hosts").display())])
    .args(["-o", "BatchMode=yes", "-l", user, host, command]);
  let out = bounded(cmd, Duration::from_secs(30));
  assert!(out.status.success(), "ssh {user}@{host} {command}: {}", String::from_utf8_lossy(&out.stderr));
  out.stdout
}

/// The variables of `env -0` output.
fn env_vars(out: &[u8]) -> BTreeMap<String, String> {
  out
    .split(|b| *b == 0)
    .filter_map(|e| String::from_utf8_lossy(e).split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
    .collect()
}

/// Runs converge on the fleet; it must succeed.
fn converge(fleet: &Fleet, playbook: &str) {
  let path = fleet.write_playbook(playbook);
  let mut cmd = fleet.run_command(&[]);
  cmd.arg(&path);
  let out = bounded(cmd, Duration::from_secs(120));
  let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
  assert_eq!(out.status.code(), Some(0), "converge failed:\n{text}");
}

/// The user each testbed host logs in as, and the consumers that user's login
/// shell is: (name, shell and flags).
const USERS: [(&str, &str, &[(&str, &str)]); 4] = [
  ("h01", "dev-bash", &[("bash -l", "bash -lc"), ("bash -i", "bash -ic")]),
  ("h02", "dev-zsh", &[("zsh -c", "zsh -c"), ("zsh -l", "zsh -lc")]),
  ("h03", "dev-dash", &[("dash -l", "dash -lc")]),
  ("h04", "dev-fish", &[("fish -c", "fish -c"), ("fish -l", "fish -lc")]),
];

#[test]
fn hostile_values_converged_on_real_hosts_are_read_back_exactly_by_each_login_shell() {
  let fleet = Fleet::start(4);
  let marks = marks();
  let values = values(marks.path());
  let reference = format!("ref $(touch {m}/ref1) `touch {m}/ref2` ${{HOME}}", m = marks.path().display());
  let mut figures = crate::safety_values::Figures { values: values.len() * 4, ..Default::default() };

  // Which values the check accepts, per resource (check-time context).
  let mut exports = Vec::new();
  let mut dirs: Vec<String> = Vec::new();
  let mut go_values: Vec<String> = Vec::new();
  let mut proxies: Vec<String> = Vec::new();
  let fixed: BTreeMap<String, String> =
    [("HOME".to_owned(), "/home/x".to_owned()), ("CV_REF".to_owned(), reference.clone())].into();
  for (i, value) in values.iter().enumerate() {
    if !refuse(&mut figures, refused(&format!("export CV_{i} = {}\n", literal(value)))) {
      exports.push((format!("CV_{i}"), declared(value)));
    }
    if !refuse(&mut figures, refused(&format!("path prepend [{}]\n", literal(value)))) {
      let rendered = declared(value);
      if !dirs.iter().any(|d| expand(d, &fixed) == expand(&rendered, &fixed)) {
        dirs.push(rendered);
      }
    }
    if !refuse(&mut figures, refused(&format!("goenv {{\n  GOPRIVATE = {}\n}}\n", literal(value)))) {
      go_values.push(declared(value));
    }
    let url = format!("https://proxy.example.com/{value}");
    if !refuse(&mut figures, refused(&format!("proxy [{}, direct]\n", literal(&url)))) {
      let rendered = declared(&url);
      if !proxies.contains(&rendered) {
        proxies.push(rendered);
      }
    }
  }

  let mut common = fleet.inventory();
  for (name, value) in &exports {
    common.push_str(&format!("export {name} = {}\n", literal_raw(value)));
  }
  let items: Vec<String> = dirs.iter().map(|d| literal_raw(d)).collect();
  common.push_str(&format!("path prepend [{}]\n", items.join(", ")));
  let items: Vec<String> = proxies.iter().map(|p| literal_raw(p)).collect();
  common.push_str(&format!("proxy [{}, direct]\n", items.join(", ")));

  // The go env file holds one value per variable: each round sets four
  // variables on each of the four hosts, sixteen values per converge.
  let per_round = GO_FREE.len() * USERS.len();
  let rounds: Vec<&[String]> = go_values.chunks(per_round).collect();
  let mut consumers = 0;
  for (round, chunk) in rounds.iter().enumerate() {
    let mut playbook = common.clone();
    let mut want: Vec<(usize, &str, &String)> = Vec::new();
    for (k, (host, _, _)) in USERS.iter().enumerate() {
      let mine: Vec<&String> = chunk.iter().skip(k * GO_FREE.len()).take(GO_FREE.len()).collect();
      if mine.is_empty() {
        continue;
      }
      playbook.push_str(&format!("hosts \"{host}\" {{\n  goenv {{\n"));
      for (j, value) in mine.iter().enumerate() {
        playbook.push_str(&format!("    {} = {}\n", GO_FREE[j], literal_raw(value)));
        want.push((k, GO_FREE[j], value));
      }
      playbook.push_str("  }\n}\n");
    }
    converge(&fleet, &playbook);

    // `go env` as each user, on the file converge wrote on the host.
    for (k, (host, user, _)) in USERS.iter().enumerate() {
      let home = fleet.host_path(host, &format!("/home/{user}"));
      let mut names: Vec<&str> = want.iter().filter(|(h, _, _)| *h == k).map(|(_, n, _)| *n).collect();
      names.push("GOPROXY");
      let mut cmd = Command::new(crate::apply::go());
      cmd
        .arg("env")
        .arg("-json")
        .args(&names)
        .env_clear()
        .env("HOME", &home)
        .env("PATH", "/usr/bin:/bin")
        .env("GOTOOLCHAIN", "local")
        .current_dir(marks.path());
      let out = bounded(cmd, Duration::from_secs(60));
      assert!(out.status.success(), "go env on {host}: {}", String::from_utf8_lossy(&out.stderr));
      let seen: BTreeMap<String, String> =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("go env -json: {e}"));
      for (_, name, value) in want.iter().filter(|(h, _, v)| *h == k && !v.is_empty()) {
        assert_eq!(seen.get(*name), Some(*value), "go env {name} on {host}");
        figures.consumer_reads += 1;
      }
      if round == 0 {
        assert_eq!(seen.get("GOPROXY"), Some(&format!("{},direct", proxies.join(","))), "{host}");
        figures.consumer_reads += proxies.len();
      }
    }
    if round > 0 {
      continue;
    }

    // Each user's shells, with a clean environment that holds the hostile
    // reference variable, and the plain `ssh host cmd` as sshd starts it.
    for (host, user, shells) in USERS {
      let home = format!("/home/{user}");
      let clean = format!(
        "exec env -i HOME={home} USER={user} PATH=/usr/bin:/bin TERM=dumb CV_REF={}",
        sq(&reference)
      );
      let mut runs: Vec<(String, Vec<u8>, bool)> = shells
        .iter()
        .map(|(name, shell)| {
          (format!("{host} {name}"), ssh(&fleet, host, user, &format!("{clean} {shell} 'exec env -0'")), true)
        })
        .collect();
      if user != "dev-dash" {
        // dash reads no file for `ssh host cmd`.
        runs.push((format!("{host} ssh host cmd"), ssh(&fleet, host, user, "exec env -0"), false));
      }
      let mut base: BTreeMap<String, String> = [("HOME".to_owned(), home.clone())].into();
      // Written only where the facts find systemd.
      // The generator resolves links itself and would leave `/proc/PID/root`:
      // it reads a copy of the host's directory.
      let written = fleet.read(host, &format!("{home}/.config/environment.d/60-converge.conf"));
      let copy = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
      let generator = (written.is_some() && Path::new(GENERATOR).is_file()).then(|| {
        std::fs::create_dir_all(copy.path().join("environment.d")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(copy.path().join("environment.d/60-converge.conf"), written.unwrap_or_default())
          .unwrap_or_else(|e| panic!("{e}"));
        let mut cmd = Command::new(GENERATOR);
        cmd
          .env_clear()
          .env("HOME", &home)
          .env("PATH", "/usr/bin:/bin")
          .env("CV_REF", &reference)
          .env("XDG_CONFIG_HOME", copy.path())
          .current_dir(marks.path());
        let out = bounded(cmd, Duration::from_secs(30));
        assert!(out.status.success(), "generator: {}", String::from_utf8_lossy(&out.stderr));
        let env: BTreeMap<String, String> = String::from_utf8_lossy(&out.stdout)
          .lines()
          .filter_map(|l| l.split_once('='))
          .map(|(k, v)| (k.to_owned(), unquote_generator(v)))
          .collect();
        env
      });
      for (consumer, out, with_ref) in &runs {
        if *with_ref {
          base.insert("CV_REF".to_owned(), reference.clone());
        } else {
          base.remove("CV_REF");
        }
        // Without the reference variable, entries naming it and unset ones are
        // one directory to the shell: only the exports are compared.
        let path_dirs = if *with_ref { dirs.as_slice() } else { &[] };
        check_env(consumer, &env_vars(out), &exports, path_dirs, &base, &mut figures);
        consumers += 1;
      }
      if let Some(env) = generator {
        base.insert("CV_REF".to_owned(), reference.clone());
        check_env(&format!("{host} environment.d"), &env, &exports, &dirs, &base, &mut figures);
        consumers += 1;
      }
    }
  }

  let mut dirs_searched = vec![fleet.workdir().to_path_buf()];
  for (host, _, _) in USERS {
    dirs_searched.push(fleet.host_path(host, "/home"));
  }
  let files = assert_no_marks(marks.path(), &dirs_searched);
  say(&figures.report("fleet: export, path, goenv, proxy"));
  say(&format!(
    "fleet: {consumers} consumers checked on {} hosts, {} converges, {files} files searched for marks",
    USERS.len(),
    rounds.len()
  ));
  assert!(figures.accepted > 100 && consumers >= 12, "{}", figures.report("fleet"));
}

/// Asserts a consumer's environment holds every export and the path entries.
fn check_env(
  consumer: &str,
  env: &BTreeMap<String, String>,
  exports: &[(String, String)],
  dirs: &[String],
  base: &BTreeMap<String, String>,
  figures: &mut crate::safety_values::Figures,
) {
  for (name, value) in exports {
    let want = expand(value, base);
    let seen = match env.get(name) {
      None if want.is_empty() && consumer.ends_with("environment.d") => Some(&want),
      seen => seen,
    };
    assert_eq!(seen, Some(&want), "{consumer} reads {name} differently; declared {value:?}");
    figures.consumer_reads += 1;
  }
  let entry = |e: &str| if e.is_empty() { ".".to_owned() } else { e.to_owned() };
  let want: Vec<String> = dirs.iter().map(|d| entry(&expand(d, base))).collect();
  let path = env.get("PATH").cloned().unwrap_or_default();
  let seen: Vec<String> = path.split(':').map(entry).collect();
  assert!(seen.starts_with(&want), "{consumer}: PATH {path:?} does not start with {want:?}");
  figures.consumer_reads += dirs.len();
}
