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
use std::process::Command;
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
  std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777))
    .unwrap_or_else(|e| panic!("{e}"));
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
  let found: Vec<_> =
    std::fs::read_dir(marks).into_iter().flatten().flatten().map(|e| e.file_name()).collect();
  assert!(found.is_empty(), "a value ran a command: {found:?} in {}", marks.display());
  let names = mark_names();
  let mut files = Vec::new();
  for dir in dirs {
    walk(dir, &mut files);
  }
  for f in &files {
    let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // The files of hostile paths are named like anything.
    let placed = std::fs::read(f).is_ok_and(|b| b.starts_with(b"cv-path-"));
    assert!(placed || !names.contains(&name), "a value ran a command: {} exists", f.display());
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
  let (code, text) = try_converge(fleet, playbook);
  assert_eq!(code, 0, "converge failed:\n{text}");
}

/// Runs converge on the fleet: its exit code and output.
fn try_converge(fleet: &Fleet, playbook: &str) -> (i32, String) {
  let path = fleet.write_playbook(playbook);
  let mut cmd = fleet.run_command(&[]);
  cmd.arg(&path);
  let out = bounded(cmd, Duration::from_secs(120));
  let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
  (out.status.code().unwrap_or(-1), text)
}

/// The user each testbed host logs in as, and the consumers that user's login
/// shell is: (name, shell and flags).
/// A consumer: its name and the shell with its flags.
type Shell = (&'static str, &'static str);

const USERS: [(&str, &str, &[Shell]); 4] = [
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
      let clean =
        format!("exec env -i HOME={home} USER={user} PATH=/usr/bin:/bin TERM=dumb CV_REF={}", sq(&reference));
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

/// What a converged host or tree must hold afterwards.
enum Want {
  /// The file holds exactly these bytes.
  File(String, Vec<u8>),
  /// The managed block `marker` of the file holds these lines.
  Block(String, String, String),
  /// The VS Code machine settings map this key to this string.
  Setting(String, String),
}

/// Where a playbook is converged: the user's home as the host sees it, and
/// how a path on the host is reached from here.
struct Target<'a> {
  name: &'static str,
  home: String,
  real: Box<dyn Fn(&str) -> PathBuf + 'a>,
  /// Converges a playbook of host variables and resources: its exit code
  /// and output.
  apply: Box<Apply<'a>>,
  /// Whether `command` resources run there (not under `--root`, which would
  /// run them on this machine).
  commands: bool,
}

/// Converges host variables and resources: the exit code and the output.
type Apply<'a> = dyn Fn(&str, &str) -> (i32, String) + 'a;

/// Figures per resource: (tried, refused, read back).
type Counts = BTreeMap<&'static str, (usize, usize, usize)>;

fn count(counts: &mut Counts, what: &'static str, refused: bool) -> bool {
  let e = counts.entry(what).or_default();
  e.0 += 1;
  if refused {
    e.1 += 1;
  }
  refused
}

/// Sends every value through file, template (from a host variable), managed
/// block, VS Code settings and command guards, and hostile paths through
/// `file`; converges once, twice, and checks every byte.
fn contents(target: &Target, marks: &Path, escape: &Path, counts: &mut Counts) {
  let mut values = values(marks);
  values.retain(|v| v.len() < 100_000 || v.bytes().all(|b| b == b'x'));
  let mut vars = String::new();
  let mut body = String::new();
  let mut wants = Vec::new();
  let mut settings = String::new();
  for (i, value) in values.iter().enumerate() {
    // A converged file costs a good part of a second: each value goes through
    // one of the three file writers, every fourth one through a command.
    let file = format!("file \"~/cv/f{i}\" {{\n  content = {}\n}}\n", literal_raw(value));
    if i % 3 == 0 && !count(counts, "file content", !refused(&file).is_empty()) {
      body.push_str(&file);
      wants.push(Want::File(format!("{}/cv/f{i}", target.home), value.clone().into_bytes()));
    }
    let var = format!("  v{i} = {}\n", literal(value));
    let template = format!("template \"~/cv/t{i}\" {{\n  content = \"{{{{ v{i} }}}}\"\n}}\n");
    if i % 3 == 1
      && !count(
        counts,
        "template of a host variable",
        !refused(&format!("vars {{\n{var}}}\n{template}")).is_empty(),
      )
    {
      vars.push_str(&var);
      body.push_str(&template);
      wants.push(Want::File(format!("{}/cv/t{i}", target.home), value.clone().into_bytes()));
    }
    for (k, content) in
      [value.clone(), format!("a\n# END converge: m{i}\n# BEGIN converge: m{i}\nb")].iter().enumerate()
    {
      if k == 1 && i > 0 || k == 0 && i % 3 != 2 {
        continue;
      }
      let marker = format!("m{i}x{k}");
      let block = format!(
        "managed block \"~/cv/blocks\" {{\n  marker = \"{marker}\"\n  content = {}\n}}\n",
        literal_raw(content)
      );
      if !count(counts, "managed block content", !refused(&block).is_empty()) {
        body.push_str(&block);
        wants.push(Want::Block(format!("{}/cv/blocks", target.home), marker, content.clone()));
      }
    }
    // Setting strings are templates, as every other kind's: a value that
    // looks like one is written inside `{% raw %}`, and arrives exactly.
    let setting = format!("  \"cv.k{i}\" = {}\n", literal_raw(value));
    if !count(counts, "vscode setting", !refused(&format!("vscode settings {{\n{setting}}}\n")).is_empty()) {
      settings.push_str(&setting);
      wants.push(Want::Setting(format!("cv.k{i}"), value.clone()));
    }
    if target.commands && i % 4 == 0 && !value.contains('\0') {
      let print = |to: &str| format!("printf '%s' {} > \"$HOME/{to}{i}\"", sq(value));
      let command = format!(
        "command {} {{\n  only_if = {}\n  unless = {}\n}}\n",
        literal_raw(&print("cvc")),
        literal_raw(&print("cvo")),
        literal_raw(&format!("{}; false", print("cvu")))
      );
      if !count(counts, "command line and guards", !refused(&command).is_empty()) {
        body.push_str(&command);
        for to in ["cvc", "cvo", "cvu"] {
          wants.push(Want::File(format!("{}/{to}{i}", target.home), value.clone().into_bytes()));
        }
      }
    }
  }
  if !settings.is_empty() {
    body.push_str(&format!("vscode settings {{\n{settings}}}\n"));
  }

  // Hostile paths: each file is refused or lands exactly where its path says.
  let mut paths: Vec<String> = values.iter().filter(|v| v.len() < 200).cloned().collect();
  let e = escape.display().to_string();
  paths.extend(
    [".", "..", "", "x/", "a//b", "a/./b", "../up", "a/../../up2", "~", "$HOME/h", "${HOME}/h2"]
      .map(str::to_owned),
  );
  let mut placed: BTreeMap<PathBuf, usize> = BTreeMap::new();
  for (i, value) in paths.iter().enumerate() {
    let file =
      format!("file {} {{\n  content = \"cv-path-{i}\\n\"\n}}\n", literal(&format!("~/cvp/{value}")));
    if count(counts, "file path", !refused(&file).is_empty()) {
      continue;
    }
    // Only a leading `~/` or `$HOME/` is the home: a `$HOME` further on is
    // part of a name.
    let rendered = declared(value);
    let at = lexical(&format!("{}/cvp/{rendered}", target.home));
    if Path::new(&format!("{}/cvp", target.home)).starts_with(&at)
      || placed.keys().any(|p| p.starts_with(&at) || at.starts_with(p))
    {
      // The directory itself or one path twice: not a file of its own.
      continue;
    }
    placed.insert(at, i);
    body.push_str(&file);
  }

  let apply = |vars: &str, body: &str| {
    let (code, text) = (target.apply)(vars, body);
    assert_eq!(code, 0, "{}: converge failed:\n{text}", target.name);
  };
  let started = std::time::Instant::now();
  apply(&vars, &body);
  let first = snapshot(target, &wants);
  let took = started.elapsed();
  // Run again, nothing changes (commands would run again, as they say).
  if !target.commands {
    apply(&vars, &body);
  }
  say(&format!("{}: first converge {took:?}, second {:?}", target.name, started.elapsed() - took));
  assert!(
    first == snapshot(target, &wants),
    "{}: a second converge changed what the first wrote",
    target.name
  );

  let settings_file = (target.real)(&format!("{}/.vscode-server/data/Machine/settings.json", target.home));
  let settings: serde_json::Value = std::fs::read(&settings_file)
    .ok()
    .map(|b| serde_json::from_slice(&b).unwrap_or_else(|e| panic!("{}: settings.json: {e}", target.name)))
    .unwrap_or_default();
  for want in &wants {
    match want {
      Want::File(path, bytes) => {
        let seen = std::fs::read((target.real)(path)).ok();
        assert!(seen.as_ref() == Some(bytes), "{}: {path} differs from {:?}", target.name, trim(bytes));
        let what = if path.contains("/cv/t") {
          "template of a host variable"
        } else if path.contains("/cv/f") {
          "file content"
        } else {
          "command line and guards"
        };
        bump(counts, what);
      }
      Want::Block(path, marker, content) => {
        let text = std::fs::read_to_string((target.real)(path)).unwrap_or_default();
        let begin = format!("# BEGIN converge: {marker}\n");
        let end = format!("# END converge: {marker}\n");
        let seen = text.find(&begin).map(|at| {
          let inner = &text[at + begin.len()..];
          inner[..inner.find(&end).unwrap_or(inner.len())].to_owned()
        });
        if content.is_empty() {
          assert_eq!(seen, None, "{}: an empty block is no block", target.name);
        } else {
          let lines = if content.ends_with('\n') { content.clone() } else { format!("{content}\n") };
          assert_eq!(seen.as_deref(), Some(lines.as_str()), "{}: block {marker} in {path}", target.name);
        }
        bump(counts, "managed block content");
      }
      Want::Setting(key, value) => {
        assert_eq!(settings[key].as_str(), Some(value.as_str()), "{}: setting {key}", target.name);
        bump(counts, "vscode setting");
      }
    }
  }
  // Paths that climb out of the home: refused when planned, nothing written.
  for (k, path) in [format!("../../../../../../../../..{e}/out"), format!("{e}/../../../../../..{e}/out2")]
    .iter()
    .enumerate()
  {
    let file =
      format!("file {} {{\n  content = \"cv-path-escape\\n\"\n}}\n", literal(&format!("~/cvp/{path}")));
    if count(counts, "file path", !refused(&file).is_empty()) {
      continue;
    }
    let (code, text) = (target.apply)("", &file);
    assert!(code != 0 && text.contains("leads out of"), "{}: {path:?} was not refused:\n{text}", target.name);
    assert!(
      !(target.real)(&format!("{e}/out")).exists()
        && !escape.join(format!("out{}", if k == 1 { "2" } else { "" })).exists()
    );
    counts.entry("file path").or_default().1 += 1;
  }
  // Every hostile-path file, found wherever it is, is where its path says.
  let mut found = Vec::new();
  walk(&(target.real)(&target.home), &mut found);
  walk(&(target.real)(&escape.display().to_string()), &mut found);
  walk(escape, &mut found);
  let mut seen = 0;
  for f in found {
    let Ok(text) = std::fs::read_to_string(&f) else { continue };
    let Some(i) = text.strip_prefix("cv-path-").and_then(|t| t.trim_end().parse::<usize>().ok()) else {
      continue;
    };
    let want = placed.iter().find(|(_, j)| **j == i).map(|(p, _)| (target.real)(&p.display().to_string()));
    assert_eq!(Some(&f), want.as_ref(), "{}: the file of path {:?} is elsewhere", target.name, paths[i]);
    seen += 1;
  }
  assert_eq!(seen, placed.len(), "{}: files of hostile paths missing: {placed:?}", target.name);
  counts.entry("file path").or_default().2 += seen;
}

fn bump(counts: &mut Counts, what: &'static str) {
  counts.entry(what).or_default().2 += 1;
}

fn trim(bytes: &[u8]) -> String {
  let s = String::from_utf8_lossy(bytes);
  s.chars().take(80).collect()
}

/// The bytes of every file the wants name.
fn snapshot(target: &Target, wants: &[Want]) -> Vec<Option<Vec<u8>>> {
  let mut paths: Vec<String> = wants
    .iter()
    .filter_map(|w| match w {
      Want::File(p, _) | Want::Block(p, _, _) => Some(p.clone()),
      Want::Setting(..) => None,
    })
    .collect();
  paths.push(format!("{}/.vscode-server/data/Machine/settings.json", target.home));
  paths.iter().map(|p| std::fs::read((target.real)(p)).ok()).collect()
}

fn report(target: &str, counts: &Counts) {
  for (what, (tried, refused, read)) in counts {
    say(&format!("{target}: {what}: {tried} values tried, {refused} refused, {read} read back exactly"));
  }
}

#[test]
fn hostile_file_contents_paths_settings_and_guards_arrive_exactly_on_a_real_host() {
  let fleet = Fleet::start(1);
  let marks = marks();
  let escape = marks_escape();
  let target = Target {
    name: "h01",
    home: "/home/dev-bash".to_owned(),
    real: Box::new(|p| fleet.host_path("h01", p)),
    apply: Box::new(|vars, body| {
      try_converge(&fleet, &format!("host \"h01\" {{\n  vars {{\n{vars}  }}\n}}\n{body}"))
    }),
    commands: true,
  };
  let mut counts = Counts::new();
  contents(&target, marks.path(), escape.path(), &mut counts);
  report("h01", &counts);
  assert_no_marks(marks.path(), &[fleet.workdir().to_path_buf(), fleet.host_path("h01", "/home")]);
}

#[test]
fn hostile_file_contents_paths_and_settings_arrive_exactly_in_a_root_tree() {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let root = dir.path().join("root");
  std::fs::create_dir_all(root.join("home/dev")).unwrap_or_else(|e| panic!("{e}"));
  let marks = marks();
  let escape = marks_escape();
  let target = Target {
    name: "--root",
    home: "/home/dev".to_owned(),
    real: Box::new(|p| root.join(p.trim_start_matches('/'))),
    apply: Box::new(|vars, body| {
      let file = dir.path().join("site.goenv");
      std::fs::write(&file, format!("vars {{\n{vars}}}\n{body}")).unwrap_or_else(|e| panic!("{e}"));
      let mut cmd = Command::new(crate::test::binary());
      cmd
        .arg(&file)
        .arg("--root")
        .arg(&root)
        .env("HOME", "/home/dev")
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("NO_COLOR", "1")
        .current_dir(dir.path());
      let out = bounded(cmd, Duration::from_secs(120));
      let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
      (out.status.code().unwrap_or(-1), text)
    }),
    commands: false,
  };
  let mut counts = Counts::new();
  contents(&target, marks.path(), escape.path(), &mut counts);
  report("--root", &counts);
  // Nothing left the tree: the escape directory outside it stays empty.
  let mut outside = Vec::new();
  walk(escape.path(), &mut outside);
  assert!(outside.is_empty(), "written outside the --root tree: {outside:?}");
  assert_no_marks(marks.path(), &[dir.path().to_path_buf()]);
}

/// A directory outside every home that hostile paths climb to.
fn marks_escape() -> tempfile::TempDir {
  marks()
}

#[test]
fn a_nul_byte_in_a_path_on_the_host_is_refused_at_check() {
  // No path on a host can hold one; applied, it failed the whole host with
  // "cannot gather facts".
  for playbook in [
    "file \"~/a\\u{0}b\" {\n  content = \"x\"\n}\n",
    "template \"/etc/a\\u{0}\" {\n  content = \"x\"\n}\n",
    "managed block \"~/.bashrc\\u{0}\" {\n  content = \"x\"\n}\n",
    "command \"true\" {\n  creates = \"/opt/x\\u{0}y\"\n}\n",
  ] {
    assert_eq!(refused(playbook), ["E413"], "{playbook}");
  }
}

#[test]
fn hostile_sysctl_values_are_refused_or_written_exactly_in_a_root_tree() {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let root = dir.path().join("root");
  std::fs::create_dir_all(root.join("home/dev")).unwrap_or_else(|e| panic!("{e}"));
  let marks = marks();
  let mut declared_values = Vec::new();
  let mut counts = Counts::new();
  for (i, value) in values(marks.path()).iter().enumerate() {
    let set = format!("sysctl \"cv.k{i}\" = {}\n", literal(value));
    if !count(&mut counts, "sysctl value", !refused(&set).is_empty()) {
      declared_values.push((format!("cv.k{i}"), declared(value), set));
    }
  }
  let playbook: String = declared_values.iter().map(|(_, _, s)| s.as_str()).collect();
  let file = dir.path().join("site.goenv");
  std::fs::write(&file, &playbook).unwrap_or_else(|e| panic!("{e}"));
  let mut cmd = Command::new(crate::test::binary());
  cmd
    .arg(&file)
    .arg("--root")
    .arg(&root)
    .env("HOME", "/home/dev")
    .env("XDG_STATE_HOME", dir.path().join("state"))
    .env("NO_COLOR", "1")
    .current_dir(dir.path());
  let out = bounded(cmd, Duration::from_secs(60));
  let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
  assert_eq!(out.status.code(), Some(0), "{text}");
  // sysctl.d: `key = value`, spaces around both dropped, `#` and `;` start a
  // comment line.
  let written = std::fs::read_to_string(root.join("etc/sysctl.d/90-converge.conf")).unwrap_or_default();
  let seen: BTreeMap<&str, &str> = written
    .lines()
    .filter(|l| !l.starts_with(['#', ';']))
    .filter_map(|l| l.split_once('='))
    .map(|(k, v)| (k.trim(), v.trim()))
    .collect();
  for (key, value, _) in &declared_values {
    assert_eq!(seen.get(key.as_str()), Some(&value.as_str()), "sysctl {key}");
    bump(&mut counts, "sysctl value");
  }
  report("--root", &counts);
  assert_no_marks(marks.path(), &[dir.path().to_path_buf()]);
}

#[test]
fn hostile_host_names_addresses_and_users_are_refused_at_check() {
  let marks = marks();
  let m = marks.path().display().to_string();
  let mut values = values(marks.path());
  values.extend([
    format!("-oProxyCommand=touch {m}/proxycommand"),
    "-oLocalCommand=id".to_owned(),
    "h01 -p 22".to_owned(),
    "user@host".to_owned(),
    "[::1]".to_owned(),
  ]);
  let mut counts = Counts::new();
  let mut accepted = Vec::new();
  for value in &values {
    for (what, playbook) in [
      ("host name", format!("host {} {{}}\n", literal(value))),
      ("host address", format!("host \"h\" {{\n  address = {}\n}}\n", literal(value))),
      ("host user", format!("host \"h\" {{\n  user = {}\n}}\n", literal(value))),
    ] {
      let codes = refused(&playbook);
      if !count(&mut counts, what, !codes.is_empty()) {
        accepted.push((what, value.clone()));
      }
    }
  }
  for (what, (tried, refused, _)) in &counts {
    say(&format!("check: {what}: {tried} values tried, {refused} refused"));
  }
  // What a shell or ssh would read as more than one plain word, an option or
  // an expansion is never a host, an address or a user.
  let hostile = |v: &str| {
    v.is_empty()
      || v.starts_with('-')
      || v.chars().any(|c| c.is_whitespace() || c.is_control() || "$`;&|<>(){}'\"\\*?!#~%=,".contains(c))
  };
  let bad: Vec<_> = accepted.iter().filter(|(_, v)| hostile(v)).collect();
  assert!(bad.is_empty(), "accepted at check: {bad:#?}");
  // Plain ones pass, for each of the three.
  for plain in ["h01", "dev-bash", "127.0.0.1", "git.example.com"] {
    for playbook in [
      format!("host \"{plain}\" {{}}\n"),
      format!("host \"h\" {{\n  address = \"{plain}\"\n}}\n"),
      format!("host \"h\" {{\n  user = \"{plain}\"\n}}\n"),
    ] {
      assert_eq!(refused(&playbook), Vec::<String>::new(), "{playbook}");
    }
  }
  assert_no_marks(marks.path(), &[]);
}
