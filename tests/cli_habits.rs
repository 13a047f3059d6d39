//! The command line as Ansible and Terraform users type it: examples in every
//! `--help`, completions loaded by the real shells, the man page rendered by
//! `man`, `-e`/`--var` above every other variable, Terraform's and Ansible's
//! words answered with the right command, a playbook from standard input, and
//! `NO_COLOR`.

use crate::test::{Test, binary};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Runs converge in `dir` with `stdin` as standard input, killed after 60 s.
fn converge(dir: &Path, args: &[&str], stdin: &str) -> Output {
  let mut child = Command::new(binary())
    .args(args)
    .current_dir(dir)
    .env("COLUMNS", "100")
    .env("NO_COLOR", "1")
    .env("XDG_STATE_HOME", dir.join("state"))
    .env("HOME", "/home/dev")
    .env_remove("GOENV")
    .env_remove("XDG_CONFIG_HOME")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap_or_else(|e| panic!("cannot run converge: {e}"));
  if let Some(mut input) = child.stdin.take() {
    let _ = input.write_all(stdin.as_bytes());
  }
  wait(child, Duration::from_secs(60))
}

/// Waits for `child` at most `limit`, killing it by PID past that.
fn wait(mut child: std::process::Child, limit: Duration) -> Output {
  let start = std::time::Instant::now();
  while child.try_wait().ok().flatten().is_none() {
    if start.elapsed() > limit {
      let _ = child.kill();
      let _ = child.wait();
      panic!("{:?} ran longer than {limit:?}", binary());
    }
    std::thread::sleep(Duration::from_millis(20));
  }
  child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
}

fn text(out: &Output) -> String {
  format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

// ---- help, completions, man ----------------------------------------------

#[test]
fn every_subcommand_help_has_examples() {
  for sub in ["", "check", "verify", "apply", "enforce", "schedule", "fmt", "completions", "man"] {
    let args: Vec<&str> = [sub, "--help"].into_iter().filter(|a| !a.is_empty()).collect();
    let run = Test::new().args(&args).run();
    assert!(
      run.stdout.contains("\nExamples:\n  "),
      "`converge {sub} --help` has no examples:\n{}",
      run.stdout
    );
    let short: Vec<&str> = [sub, "-h"].into_iter().filter(|a| !a.is_empty()).collect();
    let run = Test::new().args(&short).run();
    assert!(run.stdout.contains("\nExamples:\n  "), "`converge {sub} -h` has no examples");
  }
}

/// Runs `script` in `shell` (with `-c`), bounded in time.
fn shell(shell: &str, args: &[&str], env: &[(&str, &Path)]) -> Output {
  let mut command = Command::new(shell);
  command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
  for (k, v) in env {
    command.env(k, v);
  }
  let child = command.spawn().unwrap_or_else(|e| panic!("cannot run {shell}: {e}"));
  wait(child, Duration::from_secs(60))
}

fn completions(shell_name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let out = converge(dir.path(), &["completions", shell_name], "");
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
  let name = match shell_name {
    "zsh" => "_converge",
    "fish" => "converge.fish",
    _ => "converge.bash",
  };
  let file = dir.path().join(name);
  std::fs::write(&file, &out.stdout).unwrap_or_else(|e| panic!("{e}"));
  (dir, file)
}

#[test]
fn bash_loads_the_completions() {
  let (_dir, file) = completions("bash");
  let script = "source \"$COMPLETIONS\" && complete -p converge";
  let out = shell("bash", &["--norc", "--noprofile", "-c", script], &[("COMPLETIONS", &file)]);
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
  assert!(String::from_utf8_lossy(&out.stdout).contains("converge"), "{}", text(&out));
  // Through the process substitution the help shows.
  let bin = binary();
  let out = shell(
    "bash",
    &["--norc", "--noprofile", "-c", "source <(\"$CONVERGE\" completions bash) && complete -p converge"],
    &[("CONVERGE", &bin)],
  );
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn zsh_loads_the_completions_with_compinit() {
  let (dir, _file) = completions("zsh");
  let script = "fpath=(\"$FPATH_DIR\" $fpath); autoload -U compinit; compinit -u -d \"$FPATH_DIR/zcompdump\"; \
                print -r -- \"${_comps[converge]}\"";
  let out = shell("zsh", &["-f", "-c", script], &[("FPATH_DIR", dir.path())]);
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
  assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "_converge", "{}", text(&out));
}

#[test]
fn fish_completes_subcommands_and_options() {
  let (_dir, file) = completions("fish");
  let script = "source $COMPLETIONS; complete -C 'converge ch'; complete -C 'converge --pl'";
  let out = shell("fish", &["--no-config", "-c", script], &[("COMPLETIONS", &file)]);
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
  let stdout = String::from_utf8_lossy(&out.stdout);
  assert!(stdout.lines().any(|l| l.starts_with("check")), "no `check` completion:\n{stdout}");
  assert!(stdout.lines().any(|l| l.starts_with("--plan")), "no `--plan` completion:\n{stdout}");
}

#[test]
fn the_man_page_renders_with_man() {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let out = converge(dir.path(), &["man"], "");
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
  let page = dir.path().join("converge.1");
  std::fs::write(&page, &out.stdout).unwrap_or_else(|e| panic!("{e}"));
  let mut command = Command::new("man");
  command
    .arg("-l")
    .arg(&page)
    .env("MANPAGER", "cat")
    .env("PAGER", "cat")
    .env("MANWIDTH", "100")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
  let child = command.spawn().unwrap_or_else(|e| panic!("cannot run man (install man-db): {e}"));
  let out = wait(child, Duration::from_secs(60));
  let stderr = String::from_utf8_lossy(&out.stderr);
  assert_eq!(out.status.code(), Some(0), "{stderr}");
  assert!(!stderr.contains("warning"), "man warns:\n{stderr}");
  let rendered = String::from_utf8_lossy(&out.stdout);
  for part in ["NAME", "SYNOPSIS", "EXAMPLES", "CONVERGE CHECK", "CONVERGE APPLY", "--var", "NO_COLOR"] {
    assert!(rendered.contains(part), "the man page lacks {part:?}:\n{rendered}");
  }
}

// ---- --var -----------------------------------------------------------------

/// A playbook whose `level` is defined at every level of a playbook's own
/// inventory: the playbook, `all`, a parent group, a child group, the host.
const EVERY_LEVEL: &str = r#"
vars {
  level = "playbook"
}
group "all" {
  vars {
    level = "all"
  }
}
group "fleet" {
  children = ["web"]
  vars {
    level = "parent group"
  }
}
group "web" {
  hosts = ["dev01"]
  vars {
    level = "group"
  }
}
host "dev01" {
  vars {
    level = "host"
  }
}
managed block "/etc/motd" {
  content = "level={{ level }}\n"
}
"#;

/// An Ansible INI inventory with `level` on the group and on the host line.
const INI: &str = "[web]\ndev01 level=ini_host\n\n[web:vars]\nlevel=ini_group\n";
const INI_PLAYBOOK: &str = "inventory \"inv.ini\"\nvars {\n  level = \"playbook\"\n}\nmanaged block \"/etc/motd\" {\n  content = \"level={{ level }}\\n\"\n}\n";

/// The value of `level` the plan writes for `dev01` (this machine, `--local`).
fn planned_level(files: &[(&str, &str)], extra: &[&str]) -> String {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  for (name, content) in files {
    std::fs::write(dir.path().join(name), content).unwrap_or_else(|e| panic!("{e}"));
  }
  std::fs::create_dir_all(dir.path().join("root")).unwrap_or_else(|e| panic!("{e}"));
  let mut args = vec!["--plan", "--local", "-l", "dev01", "--root", "root", "--format", "json", "site.goenv"];
  args.extend_from_slice(extra);
  let out = converge(dir.path(), &args, "");
  assert_eq!(out.status.code(), Some(2), "{}", text(&out));
  let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
  let diff = doc["hosts"][0]["steps"][0]["changes"][0]["diff"].as_str().unwrap_or_default().to_owned();
  diff
    .lines()
    .find_map(|l| l.strip_prefix("+level="))
    .unwrap_or_else(|| panic!("no level in the plan:\n{}", text(&out)))
    .to_owned()
}

#[test]
fn var_wins_over_every_level_of_a_playbook_inventory() {
  let files = [("site.goenv", EVERY_LEVEL)];
  assert_eq!(planned_level(&files, &[]), "host");
  assert_eq!(planned_level(&files, &["-e", "level=cli"]), "cli");
  assert_eq!(planned_level(&files, &["--var", "level=cli"]), "cli");
  assert_eq!(planned_level(&files, &["--extra-vars", "level=cli"]), "cli");
}

#[test]
fn var_wins_over_ini_group_and_host_variables() {
  let files = [("site.goenv", INI_PLAYBOOK), ("inv.ini", INI)];
  assert_eq!(planned_level(&files, &[]), "ini_host");
  assert_eq!(planned_level(&files, &["-e", "level=cli"]), "cli");
}

#[test]
fn var_files_in_yaml_and_json_and_the_later_var_wins() {
  let files = [
    ("site.goenv", EVERY_LEVEL),
    ("vars.yml", "# extra\nlevel: yaml\n"),
    ("vars.json", "{\"level\": \"json\"}"),
  ];
  assert_eq!(planned_level(&files, &["--var-file", "vars.yml"]), "yaml");
  assert_eq!(planned_level(&files, &["--var-file", "vars.json"]), "json");
  assert_eq!(planned_level(&files, &["-e", "@vars.yml"]), "yaml");
  assert_eq!(planned_level(&files, &["-e", "@vars.yml", "-e", "@vars.json"]), "json");
  assert_eq!(planned_level(&files, &["-e", "level=cli", "--var-file", "vars.yml"]), "cli");
  assert_eq!(planned_level(&files, &["-e", "level=one", "-e", "level=two"]), "two");
  assert_eq!(planned_level(&files, &["-e", "{\"level\": \"inline\"}"]), "inline");
}

#[test]
fn a_plan_saved_with_var_is_applied_only_with_the_same_var() {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(dir.path().join("site.goenv"), EVERY_LEVEL).unwrap_or_else(|e| panic!("{e}"));
  std::fs::create_dir_all(dir.path().join("root")).unwrap_or_else(|e| panic!("{e}"));
  let plan = [
    "--plan",
    "--local",
    "-l",
    "dev01",
    "--root",
    "root",
    "--out",
    "p.json",
    "-e",
    "level=cli",
    "site.goenv",
  ];
  let out = converge(dir.path(), &plan, "");
  assert_eq!(out.status.code(), Some(2), "{}", text(&out));
  let out = converge(dir.path(), &["apply", "p.json", "--local", "-l", "dev01"], "");
  assert!(text(&out).contains("stale"), "without the -e the plan comes out different:\n{}", text(&out));
  assert!(!dir.path().join("root/etc/motd").exists());
  let out = converge(dir.path(), &["apply", "p.json", "--local", "-l", "dev01", "-e", "level=cli"], "");
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
  let motd = std::fs::read_to_string(dir.path().join("root/etc/motd")).unwrap_or_default();
  assert!(motd.contains("level=cli\n"), "{motd}");
}

#[test]
fn var_defines_what_the_playbook_leaves_undefined_at_check() {
  let playbook = "managed block \"/etc/motd\" {\n  content = \"{{ motd }}\\n\"\n}\n";
  Test::new().file("site.goenv", playbook).args(&["check"]).status(1).stderr_contains("E300").run();
  Test::new().file("site.goenv", playbook).args(&["check", "-e", "motd=hello"]).run();
}

#[test]
fn a_var_value_is_checked_like_a_playbook_value() {
  let playbook = "go toolchain \"{{ v }}\" {\n  sha256 = \"904b924d435eaea086515bc63235b192ea441bd8c9b198c507e85009e6e4c7f0\"\n}\n";
  Test::new()
    .file("site.goenv", playbook)
    .args(&["check", "-e", "v=latest"])
    .status(1)
    .stderr_contains("E400")
    .run();
}

#[test]
fn bad_vars_are_refused_with_a_reason() {
  let ok = "sysctl \"fs.file-max\" = 1\n";
  for (args, part) in [
    (&["check", "-e", "novalue"][..], "is not KEY=VALUE"),
    (&["check", "-e", "1x=a"][..], "is not a variable name"),
    (&["check", "-e", "host=x"][..], "is defined by converge"),
    (&["check", "-e", "@missing.yml"][..], "cannot read the variables file `missing.yml`"),
    (&["check", "--var-file", "list.yml"][..], "not a YAML or JSON mapping"),
    (&["check", "--var-file", "broken.yml"][..], "not a YAML or JSON mapping"),
  ] {
    Test::new()
      .file("site.goenv", ok)
      .file("list.yml", "- a\n- b\n")
      .file("broken.yml", "a: [\n")
      .args(args)
      .status(1)
      .stderr_contains(part)
      .run();
  }
}

#[test]
fn a_var_file_is_read_bounded_and_never_from_a_fifo() {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(dir.path().join("site.goenv"), "sysctl \"fs.file-max\" = 1\n")
    .unwrap_or_else(|e| panic!("{e}"));
  let fifo = dir.path().join("vars.fifo");
  let status = Command::new("mkfifo").arg(&fifo).status().unwrap_or_else(|e| panic!("{e}"));
  assert!(status.success());
  let out = converge(dir.path(), &["check", "--var-file", "vars.fifo"], "");
  assert_eq!(out.status.code(), Some(1), "{}", text(&out));
  assert!(text(&out).contains("FIFO") || text(&out).contains("fifo"), "{}", text(&out));
}

#[test]
fn schedule_passes_vars_to_enforce() {
  let run = Test::new()
    .file("vars.yml", "a: b\n")
    .args(&["schedule", "--every", "1h", "-e", "x=1", "--var-file", "vars.yml"])
    .run();
  assert!(run.stdout.contains(r#""--var" "x=1""#), "{}", run.stdout);
  let file = run.dir.path().join("vars.yml");
  assert!(run.stdout.contains(&format!(r#""--var-file" "{}""#, file.display())), "{}", run.stdout);
}

// ---- Terraform's and Ansible's words ----------------------------------------

#[test]
fn terraform_plan_points_to_dash_dash_plan() {
  Test::new()
    .file("site.goenv", "sysctl \"fs.file-max\" = 1\n")
    .args(&["plan", "site.goenv"])
    .status(1)
    .stderr("error: converge has no `plan` command: `converge --plan` shows what would change and changes nothing\n\n  try: converge --plan site.goenv\n")
    .run();
}

#[test]
fn a_playbook_named_plan_is_still_a_playbook() {
  Test::new().file("plan", "sysctl \"fs.file-max\" = 1\n").args(&["check", "plan"]).run();
}

#[test]
fn apply_without_a_plan_file_explains_both_ways() {
  for args in [&["apply"][..], &["apply", "-auto-approve"][..]] {
    Test::new()
      .args(args)
      .status(1)
      .stderr_contains("`converge apply` applies a plan saved by `converge --plan --out FILE`")
      .stderr_contains("try: converge\n")
      .run();
  }
}

#[test]
fn ansible_check_and_diff_point_to_plan() {
  Test::new()
    .args(&["site.goenv", "--check", "--diff"])
    .status(1)
    .stderr_contains("`--check` is Ansible's dry run; converge's is `--plan`")
    .stderr_contains("try: converge site.goenv --plan\n")
    .run();
  // `fmt --check` is converge's own.
  Test::new().file("a.goenv", "sysctl \"fs.file-max\" = 1\n").args(&["fmt", "--check"]).run();
}

#[test]
fn terraform_flags_and_ansible_inventory() {
  Test::new()
    .args(&["--plan", "-var", "a=b"])
    .status(1)
    .stderr_contains("try: converge --plan --var a=b\n")
    .run();
  Test::new()
    .args(&["--plan", "-out=p.bin"])
    .status(1)
    .stderr_contains("try: converge --plan --out=p.bin\n")
    .run();
  Test::new()
    .args(&["-i", "hosts.ini", "site.goenv"])
    .status(1)
    .stderr_contains("inventory \"hosts.ini\"")
    .run();
  Test::new().args(&["validate"]).status(1).stderr_contains("try: converge check\n").run();
}

#[test]
fn misspelt_subcommand_gets_did_you_mean() {
  Test::new()
    .args(&["chekc"])
    .status(1)
    .stderr_contains(
      "converge has no `chekc` command, and no playbook `chekc` exists; did you mean `converge check`?",
    )
    .run();
}

// ---- standard input, NO_COLOR ---------------------------------------------

#[test]
fn a_playbook_is_read_from_standard_input() {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let out = converge(dir.path(), &["check", "-"], "sysctl \"fs.file-max\" = 1\n");
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
  assert_eq!(String::from_utf8_lossy(&out.stderr), "valid: 1 file, 1 host, 1 resource\n");
  let out = converge(dir.path(), &["check", "-"], "go toolchian \"1.22.5\"\n");
  assert_eq!(out.status.code(), Some(1), "{}", text(&out));
  assert!(text(&out).contains("<stdin>:1:1"), "{}", text(&out));
  std::fs::create_dir_all(dir.path().join("root")).unwrap_or_else(|e| panic!("{e}"));
  let out = converge(
    dir.path(),
    &["--plan", "--root", "root", "-"],
    "managed block \"/etc/motd\" {\n  content = \"hi\\n\"\n}\n",
  );
  assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn fmt_formats_standard_input_to_standard_output_and_writes_no_file() {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let out = converge(dir.path(), &["fmt", "-"], "proxy [ direct ]\n");
  assert_eq!(out.status.code(), Some(0), "{}", text(&out));
  assert_eq!(String::from_utf8_lossy(&out.stdout), "proxy [direct]\n");
  assert!(!dir.path().join("-").exists(), "fmt wrote a file named `-`");
  let out = converge(dir.path(), &["fmt", "--check", "-"], "proxy [ direct ]\n");
  assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn standard_input_is_read_bounded() {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let huge = format!("# {}\n", "x".repeat(17 << 20));
  let out = converge(dir.path(), &["check", "-"], &huge);
  assert_eq!(out.status.code(), Some(1), "{}", text(&out));
  assert!(text(&out).contains("cannot read `-`"), "{}", text(&out));
  assert!(text(&out).contains("MiB"), "{}", text(&out));
}

/// Runs `converge ARGS` on a terminal (`script` gives it one), with `NO_COLOR`
/// as given; returns what the terminal showed.
fn on_a_terminal(no_color: Option<&str>, args: &str) -> String {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(dir.path().join("site.goenv"), "go toolchian \"1.22.5\"\n")
    .unwrap_or_else(|e| panic!("{e}"));
  let line = format!("'{}' {args}", binary().display());
  let mut command = Command::new("script");
  command
    .args(["-qec", &line, "/dev/null"])
    .current_dir(dir.path())
    .env("TERM", "xterm-256color")
    .env_remove("NO_COLOR")
    .env_remove("CLICOLOR_FORCE")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
  if let Some(v) = no_color {
    command.env("NO_COLOR", v);
  }
  let child = command.spawn().unwrap_or_else(|e| panic!("cannot run script: {e}"));
  text(&wait(child, Duration::from_secs(60)))
}

#[test]
fn no_color_set_and_not_empty_turns_colour_off_unless_always() {
  let escape = '\u{1b}';
  assert!(on_a_terminal(None, "check").contains(escape), "no colour on a terminal");
  assert!(on_a_terminal(Some(""), "check").contains(escape), "an empty NO_COLOR must not turn colour off");
  assert!(!on_a_terminal(Some("1"), "check").contains(escape), "NO_COLOR=1 must turn colour off");
  assert!(!on_a_terminal(Some("1"), "--help").contains(escape), "NO_COLOR=1 must turn colour off in --help");
  assert!(
    on_a_terminal(Some("1"), "check --color always").contains(escape),
    "--color always wins over NO_COLOR"
  );
}

// ---- the end of a run ------------------------------------------------------

#[test]
fn a_fleet_run_ends_with_the_hosts_that_failed_and_why() {
  // A port nothing listens on: taken from the kernel, then given back.
  let port = std::net::TcpListener::bind("127.0.0.1:0")
    .and_then(|l| l.local_addr())
    .map(|a| a.port())
    .unwrap_or_else(|e| panic!("{e}"));
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let mut playbook = String::new();
  for n in 1..=12 {
    playbook.push_str(&format!("host \"web{n:02}\" {{\n  address = \"127.0.0.1\"\n  port = {port}\n}}\n"));
  }
  playbook.push_str("export GOFLAGS = \"-mod=mod\"\n");
  std::fs::write(dir.path().join("fleet.goenv"), playbook).unwrap_or_else(|e| panic!("{e}"));
  let out = converge(dir.path(), &["--plan", "fleet.goenv"], "");
  assert_eq!(out.status.code(), Some(1), "{}", text(&out));
  let stderr = String::from_utf8_lossy(&out.stderr);
  // Each host's progress line says why, and the recap closes the output.
  assert!(stderr.contains("web07: unreachable ("), "{stderr}");
  assert!(stderr.contains(&format!("cannot connect to 127.0.0.1:{port}")), "{stderr}");
  let recap: Vec<&str> = stderr.lines().rev().take(12).collect::<Vec<_>>().into_iter().rev().collect();
  assert_eq!(recap.first().copied(), Some("12 of 12 hosts failed:"), "{stderr}");
  assert_eq!(recap.last().copied(), Some("  and 2 more"), "{stderr}");
  let named =
    recap.iter().filter(|l| l.starts_with("  web") && l.contains("(unreachable): cannot connect")).count();
  assert_eq!(named, 10, "{stderr}");
}
