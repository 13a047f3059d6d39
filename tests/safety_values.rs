//! Hostile values sent through `export`, `path`, `goenv` and `proxy`: each one
//! is either refused by the check with a coded diagnostic, or, converged into a
//! `--root` tree, read back by every real consumer (bash, zsh, dash and fish in
//! their modes, the systemd environment.d generator, the go command) as exactly
//! the declared value, and no command in it ever runs.

use crate::test::binary;
use converge::check::resolver;
use converge::diagnostic::Diagnostics;
use converge::source::Sources;
use converge::syntax::parser;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The user's home inside the tree, as converge sees it.
const HOME: &str = "/home/dev";
/// A variable every consumer has, referred to by some values. Its value is
/// hostile too: expanding it must not run what it holds.
const REF_NAME: &str = "CV_REF";
pub(crate) const GENERATOR: &str =
  "/usr/lib/systemd/user-environment-generators/30-systemd-environment-d-generator";

/// Runs a command in its own process group, killed (the whole group) after
/// `limit`.
pub(crate) fn bounded(mut cmd: Command, limit: Duration) -> Output {
  cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
  let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
  let pid = child.id();
  let mut out = child.stdout.take();
  let mut err = child.stderr.take();
  let reader = std::thread::spawn(move || {
    let mut b = Vec::new();
    if let Some(o) = out.as_mut() {
      let _ = o.read_to_end(&mut b);
    }
    b
  });
  let err_reader = std::thread::spawn(move || {
    let mut b = Vec::new();
    if let Some(e) = err.as_mut() {
      let _ = e.read_to_end(&mut b);
    }
    b
  });
  let start = Instant::now();
  let status = loop {
    match child.try_wait() {
      Ok(Some(status)) => break Some(status),
      Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(10)),
      _ => break None,
    }
  };
  // Whatever the shell left behind in its group goes too.
  let _ = Command::new("kill").arg("-KILL").arg("--").arg(format!("-{pid}")).stderr(Stdio::null()).status();
  let status = status.unwrap_or_else(|| {
    let _ = child.wait();
    panic!("{cmd:?} did not finish within {limit:?}")
  });
  let stdout = reader.join().unwrap_or_default();
  let stderr = err_reader.join().unwrap_or_default();
  Output { status, stdout, stderr }
}

/// The diagnostics of `converge check` on a playbook, through the library.
fn check(text: &str) -> Diagnostics {
  let mut sources = Sources::new();
  let id = sources.add(Path::new("values.goenv"), text);
  let (ast, mut diagnostics) = parser::parse(id, sources.text(id));
  let dir = crate::test::root().join("playbooks");
  let (_, found) = resolver::resolve(&[converge::check::loader::LoadedFile { ast, dir }], &mut sources);
  diagnostics.extend(found);
  diagnostics
}

/// The error codes of a check; each must carry a span.
pub(crate) fn refused(text: &str) -> Vec<String> {
  let diagnostics = check(text);
  let errors: Vec<_> = diagnostics.iter().filter(|d| d.is_error()).collect();
  for d in &errors {
    assert!(!d.labels.is_empty(), "diagnostic without a span for {text:?}: {}", d.message);
    assert!(!d.code.as_str().is_empty());
  }
  errors.iter().map(|d| d.code.as_str().to_owned()).collect()
}

/// A playbook string literal holding exactly `s`.
pub(crate) fn literal(s: &str) -> String {
  let mut out = String::from("\"");
  for c in s.chars() {
    match c {
      '"' => out.push_str("\\\""),
      '\\' => out.push_str("\\\\"),
      '\n' => out.push_str("\\n"),
      '\t' => out.push_str("\\t"),
      '\r' => out.push_str("\\r"),
      c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
      c => out.push(c),
    }
  }
  out.push('"');
  out
}

/// What a value declares once templates are rendered (check-time context:
/// only `host`).
pub(crate) fn declared(value: &str) -> String {
  if !converge::check::text::is_template(value) {
    return value.to_owned();
  }
  let context = minijinja::Value::from(minijinja::value::Serde(&BTreeMap::from([("host", "localhost")])));
  converge::check::text::render(value, &context).unwrap_or_else(|e| panic!("{value:?} passed the check: {e}"))
}

/// `$NAME` and `${NAME}` replaced as a consumer with `vars` expands them;
/// unset names are empty. (Only values the check accepted come here.)
pub(crate) fn expand(value: &str, vars: &BTreeMap<String, String>) -> String {
  let mut out = String::new();
  let mut rest = value;
  while let Some(i) = rest.find('$') {
    out.push_str(&rest[..i]);
    let after = &rest[i + 1..];
    let (name, used) = match after.strip_prefix('{') {
      Some(braced) => {
        let end = braced.find('}').unwrap_or_else(|| panic!("accepted {value:?}"));
        (&braced[..end], end + 2)
      }
      None => {
        let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        (&after[..end], end)
      }
    };
    out.push_str(vars.get(name).map_or("", String::as_str));
    rest = &after[used..];
  }
  out.push_str(rest);
  out
}

/// A shell consumer: its name, its command line, and variables it adds.
type Consumer<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);

/// A `--root` tree, a directory that commands in values would write to, and an
/// empty working directory for the consumers.
struct Tree {
  dir: tempfile::TempDir,
}

impl Tree {
  fn new() -> Tree {
    let tree = Tree { dir: tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")) };
    for d in ["root/home/dev", "marks", "cwd"] {
      std::fs::create_dir_all(tree.dir.path().join(d)).unwrap_or_else(|e| panic!("{e}"));
    }
    tree
  }

  fn root(&self) -> PathBuf {
    self.dir.path().join("root")
  }

  fn home(&self) -> PathBuf {
    self.root().join("home/dev")
  }

  fn marks(&self) -> PathBuf {
    self.dir.path().join("marks")
  }

  fn cwd(&self) -> PathBuf {
    self.dir.path().join("cwd")
  }

  /// Applies the playbook to the tree; it must succeed.
  fn apply(&self, playbook: &str) {
    let file = self.dir.path().join("site.goenv");
    std::fs::write(&file, playbook).unwrap_or_else(|e| panic!("{e}"));
    let root = self.root();
    let mut cmd = Command::new(binary());
    cmd
      .arg(&file)
      .arg("--root")
      .arg(&root)
      .env("HOME", HOME)
      // Its own state directory: other tests' runs never hold its lock.
      .env("XDG_STATE_HOME", self.dir.path().join("state"))
      .env("NO_COLOR", "1")
      .env_remove("GOENV")
      .env_remove("XDG_CONFIG_HOME")
      .current_dir(self.cwd());
    let out = bounded(cmd, Duration::from_secs(120));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "apply failed:\n{text}\nplaybook:\n{playbook}");
  }

  /// The variables every consumer starts with (besides what the tree sets).
  fn base_env(&self) -> Vec<(String, String)> {
    vec![
      ("HOME".into(), self.home().display().to_string()),
      ("PATH".into(), "/usr/bin:/bin".into()),
      ("TERM".into(), "dumb".into()),
      (REF_NAME.into(), self.ref_value()),
    ]
  }

  fn ref_value(&self) -> String {
    format!("ref $(touch {m}/ref1) `touch {m}/ref2` ${{HOME}}", m = self.marks().display())
  }

  /// Each shell consumer's environment (`env -0`), by consumer name.
  fn shells(&self) -> Vec<(&'static str, BTreeMap<String, String>)> {
    let ssh: &[(&str, &str)] = &[("SSH_CLIENT", "10.0.0.1 50000 22")];
    let cases: [Consumer; 7] = [
      ("bash -l", &["bash", "-lc", "exec env -0"], &[]),
      ("bash -i", &["bash", "-ic", "exec env -0"], &[]),
      ("ssh host cmd (bash)", &["bash", "-c", "exec env -0"], ssh),
      ("zsh -c", &["zsh", "-c", "exec env -0"], &[]),
      ("zsh -l", &["zsh", "-lc", "exec env -0"], &[]),
      ("dash -l", &["dash", "-lc", "exec env -0"], &[]),
      ("fish -c", &["fish", "-c", "exec env -0"], &[]),
    ];
    cases
      .iter()
      .map(|(name, argv, extra)| {
        let mut cmd = Command::new(argv[0]);
        cmd.args(&argv[1..]).env_clear().current_dir(self.cwd());
        for (k, v) in self.base_env() {
          cmd.env(k, v);
        }
        for (k, v) in *extra {
          cmd.env(k, v);
        }
        let out = bounded(cmd, Duration::from_secs(30));
        assert!(out.status.success(), "{name} failed: {}", String::from_utf8_lossy(&out.stderr));
        let mut vars = BTreeMap::new();
        for entry in out.stdout.split(|b| *b == 0).filter(|e| !e.is_empty()) {
          let entry = String::from_utf8_lossy(entry);
          if let Some((k, v)) = entry.split_once('=') {
            vars.insert(k.to_owned(), v.to_owned());
          }
        }
        (*name, vars)
      })
      .collect()
  }

  /// What the systemd user manager gets from environment.d: the real generator
  /// on the tree's files. `None` when this machine has no generator.
  fn environment_d(&self) -> Option<BTreeMap<String, String>> {
    if !Path::new(GENERATOR).is_file() {
      return None;
    }
    let mut cmd = Command::new(GENERATOR);
    cmd.env_clear().current_dir(self.cwd()).env("XDG_CONFIG_HOME", self.home().join(".config"));
    for (k, v) in self.base_env() {
      cmd.env(k, v);
    }
    let out = bounded(cmd, Duration::from_secs(30));
    assert!(out.status.success(), "generator: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Some(
      text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), unquote_generator(v)))
        .collect(),
    )
  }

  /// `go env -json NAMES...` as the user runs it.
  fn go_env(&self, names: &[&str]) -> BTreeMap<String, String> {
    let mut cmd = Command::new(crate::apply::go());
    cmd.arg("env").arg("-json").args(names).env_clear().current_dir(self.cwd()).env("GOTOOLCHAIN", "local");
    for (k, v) in self.base_env() {
      cmd.env(k, v);
    }
    let out = bounded(cmd, Duration::from_secs(60));
    assert!(out.status.success(), "go env: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("go env -json: {e}"))
  }

  /// Fails if any command from a value ran: nothing in the marks directory or
  /// in the consumers' working directory.
  fn assert_nothing_ran(&self) {
    for dir in [self.marks(), self.cwd()] {
      let found: Vec<_> =
        std::fs::read_dir(&dir).into_iter().flatten().flatten().map(|e| e.file_name()).collect();
      assert!(found.is_empty(), "a value ran a command: {found:?} in {}", dir.display());
    }
  }
}

/// A value as the generator prints it: bare, or in double quotes with C and
/// shell escapes.
pub(crate) fn unquote_generator(v: &str) -> String {
  let Some(inner) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else { return v.to_owned() };
  let bytes = inner.as_bytes();
  let mut out = Vec::new();
  let mut i = 0;
  while i < bytes.len() {
    if bytes[i] != b'\\' || i + 1 == bytes.len() {
      out.push(bytes[i]);
      i += 1;
      continue;
    }
    let c = bytes[i + 1];
    i += 2;
    match c {
      b'n' => out.push(b'\n'),
      b't' => out.push(b'\t'),
      b'r' => out.push(b'\r'),
      b'0'..=b'7' => {
        let digits = &inner[i - 1..(i + 2).min(inner.len())];
        out.push(u8::from_str_radix(digits, 8).unwrap_or(0));
        i += 2;
      }
      c => out.push(c),
    }
  }
  String::from_utf8_lossy(&out).into_owned()
}

/// Go variables `go env` prints as written, one value each per run.
/// (`CGO_CFLAGS`, `PKG_CONFIG` and the like are not: `go env` shows them
/// split and re-quoted.)
pub(crate) const GO_FREE: &[&str] = &["GOPRIVATE", "GONOPROXY", "GONOSUMDB", "GOINSECURE"];

/// What one batch of values went through.
#[derive(Default)]
pub(crate) struct Figures {
  pub(crate) values: usize,
  pub(crate) refused: BTreeMap<String, usize>,
  pub(crate) accepted: usize,
  pub(crate) consumer_reads: usize,
}

impl Figures {
  fn add(&mut self, other: Figures) {
    self.values += other.values;
    self.accepted += other.accepted;
    self.consumer_reads += other.consumer_reads;
    for (k, n) in other.refused {
      *self.refused.entry(k).or_default() += n;
    }
  }

  pub(crate) fn report(&self, what: &str) -> String {
    format!(
      "{what}: {} values tried, {} accepted and read back {} times by real consumers, refused by code: {:?}",
      self.values, self.accepted, self.consumer_reads, self.refused
    )
  }
}

/// Counts a checked value; true when it was refused.
pub(crate) fn refuse(figures: &mut Figures, codes: Vec<String>) -> bool {
  match codes.first() {
    None => {
      figures.accepted += 1;
      false
    }
    Some(code) => {
      *figures.refused.entry(code.clone()).or_default() += 1;
      true
    }
  }
}

/// Sends `values` through every resource and consumer, and asserts the
/// property. `marks` in a value stands for the directory commands would write
/// to.
fn hostile(values: &[String]) -> Figures {
  let tree = Tree::new();
  let marks = tree.marks().display().to_string();
  let values: Vec<String> = values.iter().map(|v| v.replace("{marks}", &marks)).collect();
  let mut figures = Figures { values: values.len() * 4, ..Figures::default() };

  let base: BTreeMap<String, String> = tree.base_env().into_iter().collect();
  // export NAME = VALUE, and path prepend [VALUE]: each checked alone.
  let mut exports = Vec::new();
  let mut dirs: Vec<String> = Vec::new();
  for (i, value) in values.iter().enumerate() {
    let name = format!("CV_{i}");
    let set = format!("export {name} = {}\n", literal(value));
    if !refuse(&mut figures, refused(&set)) {
      exports.push((name, declared(value)));
    }
    let dir = format!("path prepend [{}]\n", literal(value));
    if refuse(&mut figures, refused(&dir)) {
      continue;
    }
    // Two entries naming one directory (`$HOME/x`, `${HOME}/x`) are one entry
    // to the shells: keep the first.
    let rendered = declared(value);
    if !dirs.iter().any(|d| expand(d, &base) == expand(&rendered, &base)) {
      dirs.push(rendered);
    }
  }
  // goenv and proxy: written raw into the go env file.
  let mut go_values: Vec<(String, String)> = Vec::new();
  let mut proxies: Vec<String> = Vec::new();
  for value in &values {
    let name = GO_FREE[go_values.len() % GO_FREE.len()];
    let goenv = format!("goenv {{\n  {name} = {}\n}}\n", literal(value));
    if !refuse(&mut figures, refused(&goenv)) {
      go_values.push((name.to_owned(), declared(value)));
    }
    let url = format!("https://proxy.example.com/{value}");
    let proxy = format!("proxy [{}, direct]\n", literal(&url));
    if !refuse(&mut figures, refused(&proxy)) {
      let rendered = declared(&url);
      if !proxies.contains(&rendered) {
        proxies.push(rendered);
      }
    }
  }

  // Everything accepted, converged at once, read back by every consumer.
  let mut playbook = String::new();
  for (name, value) in &exports {
    // The declared value is already rendered: write it as a template that
    // renders to itself, so the tree gets exactly it.
    playbook.push_str(&format!("export {name} = {}\n", literal_raw(value)));
  }
  if !dirs.is_empty() {
    let items: Vec<String> = dirs.iter().map(|d| literal_raw(d)).collect();
    playbook.push_str(&format!("path prepend [{}]\n", items.join(", ")));
  }
  if !proxies.is_empty() {
    let items: Vec<String> = proxies.iter().map(|p| literal_raw(p)).collect();
    playbook.push_str(&format!("proxy [{}, direct]\n", items.join(", ")));
  }
  if !playbook.is_empty() {
    tree.apply(&playbook);
  }

  let home = tree.home().display().to_string();
  // fish parses the whole file before it runs any of it.
  let fish_file = tree.home().join(".config/fish/conf.d/converge.fish");
  if fish_file.exists() {
    let mut cmd = Command::new("fish");
    cmd.arg("-n").arg(&fish_file).env_clear().env("HOME", tree.home()).current_dir(tree.cwd());
    let out = bounded(cmd, Duration::from_secs(30));
    assert!(out.status.success(), "fish -n: {}", String::from_utf8_lossy(&out.stderr));
    figures.consumer_reads += 1;
  }
  let mut consumers = tree.shells();
  let generator = tree.environment_d();
  if let Some(env) = &generator {
    consumers.push(("environment.d generator", env.clone()));
  }
  for (consumer, env) in &consumers {
    for (name, value) in &exports {
      let want = expand(value, &base);
      // The user manager drops a variable whose value is empty.
      let seen = match env.get(name) {
        None if want.is_empty() && consumer.starts_with("environment.d") => Some(&want),
        seen => seen,
      };
      assert_eq!(seen, Some(&want), "{consumer} reads {name} differently; declared {value:?}");
      figures.consumer_reads += 1;
    }
    if !dirs.is_empty() {
      // An entry that expands to nothing is the working directory, which fish
      // writes as `.`.
      let entry = |e: &str| if e.is_empty() { ".".to_owned() } else { e.to_owned() };
      let want: Vec<String> = dirs.iter().map(|d| entry(&expand(d, &base))).collect();
      let path = env.get("PATH").cloned().unwrap_or_default();
      let seen: Vec<String> = path.split(':').map(entry).collect();
      assert!(seen.starts_with(&want), "{consumer}: PATH {path:?} does not start with {want:?}");
      figures.consumer_reads += dirs.len();
    }
  }
  assert!(home.starts_with('/'));

  // The go command reads the go env file as written.
  if !proxies.is_empty() {
    let seen = tree.go_env(&["GOPROXY"]);
    let want = format!("{},direct", proxies.join(","));
    assert_eq!(seen.get("GOPROXY"), Some(&want), "go env GOPROXY");
    figures.consumer_reads += proxies.len();
  }
  // One value per variable at a time, converged into the same tree: an empty
  // value means the go command's default, so it is not compared.
  for chunk in go_values.chunks(GO_FREE.len()) {
    let mut goenv = String::from("goenv {\n");
    for (name, value) in chunk {
      goenv.push_str(&format!("  {name} = {}\n", literal_raw(value)));
    }
    goenv.push_str("}\n");
    tree.apply(&goenv);
    let names: Vec<&str> = chunk.iter().map(|(n, _)| n.as_str()).collect();
    let seen = tree.go_env(&names);
    for (name, value) in chunk.iter().filter(|(_, v)| !v.is_empty()) {
      assert_eq!(seen.get(name), Some(value), "go env {name}");
      figures.consumer_reads += 1;
    }
  }
  tree.assert_nothing_ran();
  figures
}

/// A playbook literal for an already rendered value: template syntax in it is
/// kept as text with minijinja's raw block.
pub(crate) fn literal_raw(value: &str) -> String {
  if converge::check::text::is_template(value) {
    literal(&format!("{{% raw %}}{value}{{% endraw %}}"))
  } else {
    literal(value)
  }
}

/// The fixed corpus; `{marks}` is where commands would leave a file.
pub(crate) fn corpus() -> Vec<String> {
  let big_quotes: String = "a\"b'c\\d$e`f;g|h&i ".repeat(100_000 / 18);
  let mut v: Vec<String> = [
    "$(touch {marks}/subst)",
    "$((1+1))",
    "`touch {marks}/backtick`",
    "x; touch {marks}/semicolon",
    "x && touch {marks}/and",
    "x || touch {marks}/or",
    "x | tee {marks}/pipe",
    "x\ntouch {marks}/newline",
    "x\rtouch {marks}/cr",
    "\"; touch {marks}/dq; \"",
    "'; touch {marks}/sq; '",
    "\"'\"'",
    "\"",
    "'",
    "\\",
    "a\\",
    "\\\\",
    "a\\nb",
    "\\$(touch {marks}/escaped)",
    "\\`touch {marks}/escaped2\\`",
    "\\0",
    "\\x41\\u0041\\e[31m",
    "100%",
    "%s%n%%",
    "{{ }}",
    "{{ 6 * 7 }}",
    "{% if true %}x{% endif %}",
    "{{ '$(touch ' ~ '{marks}/template)' }}",
    "é ü 漢字 🚀",
    "\u{202e}rtl\u{200b}",
    "\u{f600}\u{fdd0}\u{fffd}",
    "/etc/passwd",
    "*",
    "/etc/*",
    "?",
    "[a-z]",
    "-e",
    "-n",
    "--",
    "--help",
    "",
    " ",
    "  lead",
    "trail  ",
    "a\tb",
    "${HOME}/x",
    "$HOME/x",
    "${CV_REF}",
    "$CV_REF$CV_REF",
    "$CV_UNSET",
    "${CV_UNSET}x",
    "$HOMEx",
    "${HOME:-x}",
    "${HOME:+x}",
    "${#HOME}",
    "${HOME",
    "${}",
    "$1",
    "$$",
    "$",
    "a$",
    "$ x",
    "$_",
    "~",
    "~/x",
    "~root",
    "a~",
    "!",
    "!!",
    "#",
    "a # b",
    "a=b",
    "=",
    "<(touch {marks}/procsub)",
    ">{marks}/redirect",
    "{marks}",
    "\u{7f}",
    "\u{1b}[31m",
    "\u{0}",
    "\u{85}",
    "x:y",
    ",",
    "a|b,c",
  ]
  .iter()
  .map(|s| (*s).to_owned())
  .collect();
  v.push("x".repeat(100_000));
  v.push(big_quotes);
  v
}

#[test]
fn hostile_values_are_refused_or_read_back_exactly_by_every_consumer() {
  let corpus = corpus();
  let mut figures = Figures::default();
  for batch in corpus.chunks(12) {
    figures.add(hostile(batch));
  }
  let report = figures.report("fixed corpus");
  std::io::Write::write_all(&mut std::io::stderr(), format!("{report}\n").as_bytes()).ok();
  assert!(figures.accepted > 50 && figures.refused.values().sum::<usize>() > 50, "{report}");
  assert!(figures.refused.contains_key("E420"), "{report}");
}

/// Pieces hostile values are made of.
fn piece() -> impl Strategy<Value = String> {
  prop_oneof![
    4 => "[a-z/._-]{1,4}",
    2 => prop::sample::select(vec![
      "$", "(", ")", "`", "\\", "\"", "'", ";", "&", "|", "{", "}", "{{", "}}", "%", "~", "#", "*", "?", "!",
      ":", ",", " ", "\n", "\t", "=", "<", ">", "[", "]", "é", "漢", "🚀", "\u{1b}",
    ])
    .prop_map(str::to_owned),
    1 => prop::sample::select(vec![
      "$(touch {marks}/p)", "`touch {marks}/q`", "$HOME", "${HOME}", "$CV_REF", "${CV_UNSET}", "\\$",
    ])
    .prop_map(str::to_owned),
    1 => any::<char>().prop_map(|c| c.to_string()),
  ]
}

proptest! {
  #![proptest_config(ProptestConfig { cases: 6, max_shrink_iters: 24, failure_persistence: None, ..ProptestConfig::default() })]
  #[test]
  fn generated_hostile_values_are_refused_or_read_back_exactly(
    values in prop::collection::vec(prop::collection::vec(piece(), 0..8).prop_map(|p| p.concat()), 8)
  ) {
    let figures = hostile(&values);
    let report = figures.report("generated batch");
    std::io::Write::write_all(&mut std::io::stderr(), format!("{report}\n").as_bytes()).ok();
  }
}

/// `converge check` on files in a fresh directory: exit status and output.
fn check_cli(files: &[(&str, &str)]) -> (i32, String) {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  for (name, text) in files {
    std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
  }
  let mut cmd = Command::new(binary());
  cmd.args(["check", "--color", "never", files[0].0]).current_dir(dir.path()).env("NO_COLOR", "1");
  let out = bounded(cmd, Duration::from_secs(60));
  let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
  (out.status.code().unwrap_or(-1), text)
}

#[test]
fn command_substitution_in_exports_and_path_entries_is_refused_at_check() {
  let marks = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
  let m = marks.path().display().to_string();
  for playbook in [
    format!("export X = \"$(touch {m}/x)\"\n"),
    format!("export X = \"`touch {m}/x`\"\n"),
    format!("path prepend [\"/opt/$(touch {m}/x)/bin\"]\n"),
    format!("export MANPATH append [\"${{X-$(touch {m}/x)}}\"]\n"),
  ] {
    let (status, text) = check_cli(&[("site.goenv", &playbook)]);
    assert_eq!(status, 1, "{playbook}{text}");
    assert!(text.contains("E420"), "{playbook}{text}");
  }
  // A value from an INI host variable is refused for that host.
  let inventory = format!("[web]\nweb1 greeting=\"$(touch {m}/ini)\"\nweb2 greeting=hello\n");
  let playbook = "inventory \"hosts.ini\"\n\nhosts \"web\" {\n  export GREETING = \"{{ greeting }}\"\n}\n";
  let (status, text) = check_cli(&[("site.goenv", playbook), ("hosts.ini", &inventory)]);
  assert_eq!(status, 1, "{text}");
  assert!(text.contains("E420") && text.contains("web1") && !text.contains("web2"), "{text}");
  assert_eq!(std::fs::read_dir(marks.path()).map(|d| d.count()).unwrap_or(1), 0);
}

#[test]
fn a_value_that_renders_to_command_substitution_at_plan_time_changes_nothing() {
  // Known only once facts are gathered: refused when planned, nothing written.
  let tree = Tree::new();
  let m = tree.marks().display().to_string();
  let playbook = format!(
    "vars {{\n  greeting = \"$(touch {m}/plan)\"\n}}\nexport GREETING = \"{{{{ greeting }}}}{{{{ facts.goos }}}}\"\n"
  );
  let file = tree.dir.path().join("site.goenv");
  std::fs::write(&file, &playbook).unwrap_or_else(|e| panic!("{e}"));
  let mut cmd = Command::new(binary());
  cmd
    .arg(&file)
    .arg("--root")
    .arg(tree.root())
    .env("HOME", HOME)
    .env("XDG_STATE_HOME", tree.dir.path().join("state"))
    .env("NO_COLOR", "1")
    .current_dir(tree.cwd());
  let out = bounded(cmd, Duration::from_secs(120));
  let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
  assert_eq!(out.status.code(), Some(1), "{text}");
  assert!(text.contains("`$(...)` is command substitution"), "{text}");
  assert!(!tree.home().join(".config/converge/env.sh").exists(), "{text}");
  assert!(!tree.home().join(".profile").exists(), "{text}");
  // The plan names the code for that host's resource.
  let mut cmd = Command::new(binary());
  cmd
    .arg(&file)
    .args(["--plan", "--format", "json", "--root"])
    .arg(tree.root())
    .env("HOME", HOME)
    .env("XDG_STATE_HOME", tree.dir.path().join("state"))
    .current_dir(tree.cwd());
  let out = bounded(cmd, Duration::from_secs(120));
  let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
  let step = &doc["hosts"][0]["steps"][0];
  assert_eq!(step["errors"][0]["code"], "E420", "{doc}");
  assert_eq!(step["changes"], serde_json::json!([]), "{doc}");
  tree.assert_nothing_ran();
}

#[test]
fn fish_reads_every_reference_form_and_the_rest_of_its_file() {
  let tree = Tree::new();
  tree.apply(
    "export A = \"${HOME}/x\"\nexport B = \"$HOME/y\"\nexport C = \"it's \\\"q\\\" a\\\\b\"\npath prepend [\"${HOME}/go/bin\"]\n",
  );
  let file = tree.home().join(".config/fish/conf.d/converge.fish");
  let mut cmd = Command::new("fish");
  cmd.arg("-n").arg(&file).env_clear().env("HOME", tree.home()).env("PATH", "/usr/bin:/bin");
  let out = bounded(cmd, Duration::from_secs(30));
  assert!(out.status.success(), "fish -n: {}", String::from_utf8_lossy(&out.stderr));
  let fish = tree.shells().into_iter().find(|(n, _)| *n == "fish -c").map(|(_, e)| e).unwrap_or_default();
  let home = tree.home().display().to_string();
  assert_eq!(fish.get("A"), Some(&format!("{home}/x")));
  assert_eq!(fish.get("B"), Some(&format!("{home}/y")));
  assert_eq!(fish.get("C").map(String::as_str), Some("it's \"q\" a\\b"));
  assert!(fish.get("PATH").is_some_and(|p| p.starts_with(&format!("{home}/go/bin:"))), "{fish:?}");
}

#[test]
fn environment_d_keeps_backslashes_quotes_and_spaces() {
  if !Path::new(GENERATOR).is_file() {
    panic!("{GENERATOR} is missing; scripts/test.sh installs systemd");
  }
  let tree = Tree::new();
  tree.apply(
    "export A = \"C:\\\\Users\\\\dev\"\nexport B = \" \\\"q\\\" 'x' \"\npath prepend [\"/opt/a\\\\b\"]\n",
  );
  let env = tree.environment_d().unwrap_or_default();
  assert_eq!(env.get("A").map(String::as_str), Some("C:\\Users\\dev"), "{env:?}");
  assert_eq!(env.get("B").map(String::as_str), Some(" \"q\" 'x' "), "{env:?}");
  assert!(env.get("PATH").is_some_and(|p| p.starts_with("/opt/a\\b:")), "{env:?}");
}

#[test]
fn sysctl_values_with_shell_syntax_or_not_a_number_are_refused() {
  for (value, want) in [
    ("\"524288; touch /tmp/x\"", "E421"),
    ("\"524288 # more\"", "E421"),
    ("\"lots\"", "E421"),
    ("\"0x80000\"", "E421"),
  ] {
    let playbook = format!("sysctl \"fs.inotify.max_user_watches\" = {value}\n");
    let (status, text) = check_cli(&[("site.goenv", &playbook)]);
    assert_eq!(status, 1, "{playbook}{text}");
    assert!(text.contains(want), "{playbook}{text}");
  }
  let (status, text) =
    check_cli(&[("site.goenv", "sysctl \"net.ipv4.tcp_rmem\" = \"4096 87380 6291456\"\n")]);
  assert_eq!(status, 0, "{text}");
  // Rendered from facts: refused when planned, the sysctl.d file not written.
  let tree = Tree::new();
  let file = tree.dir.path().join("site.goenv");
  std::fs::write(&file, "sysctl \"fs.inotify.max_user_watches\" = \"1; {{ facts.goos }}\"\n")
    .unwrap_or_else(|e| panic!("{e}"));
  let mut cmd = Command::new(binary());
  cmd
    .arg(&file)
    .args(["--format", "json", "--root"])
    .arg(tree.root())
    .env("HOME", HOME)
    .env("XDG_STATE_HOME", tree.dir.path().join("state"))
    .current_dir(tree.cwd());
  let out = bounded(cmd, Duration::from_secs(120));
  let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
  assert_eq!(out.status.code(), Some(1), "{doc}");
  assert_eq!(doc["hosts"][0]["steps"][0]["errors"][0]["code"], "E421", "{doc}");
  assert!(!tree.root().join("etc/sysctl.d/90-converge.conf").exists());
}

#[test]
fn a_second_run_over_a_large_exported_value_finishes() {
  // The facts round trip reads the files back: more than a pipe holds.
  let tree = Tree::new();
  let playbook = format!("export BIG = {}\n", literal(&"x".repeat(100_000)));
  tree.apply(&playbook);
  tree.apply(&playbook);
  let shells = tree.shells();
  for (consumer, env) in &shells {
    assert_eq!(env.get("BIG").map(String::len), Some(100_000), "{consumer}");
  }
}

/// `/etc/environment` as `pam_env` reads it (Linux-PAM's `_parse_env_file`):
/// a `#` ends the line, a value that starts with a quote loses its quotes,
/// nothing is expanded.
fn pam_environment(text: &str) -> BTreeMap<String, String> {
  let mut out = BTreeMap::new();
  for line in text.lines() {
    let line = line.trim_start_matches([' ', '\t']);
    let line = line.split('#').next().unwrap_or_default();
    let line = line.strip_prefix("export ").unwrap_or(line);
    let Some((key, value)) = line.split_once('=') else { continue };
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
      continue;
    }
    let value = if value.starts_with(['"', '\'']) {
      let chars: Vec<char> = value.chars().collect();
      let mut kept = String::new();
      for (i, c) in chars.iter().enumerate().skip(1) {
        if (*c != '"' && *c != '\'') || i + 1 < chars.len() {
          kept.push(*c);
        }
      }
      kept
    } else {
      value.to_owned()
    };
    out.insert(key.to_owned(), value);
  }
  out
}

#[test]
fn system_exports_are_read_back_exactly_from_the_system_files() {
  let tree = Tree::new();
  let marks = tree.marks().display().to_string();
  let base: BTreeMap<String, String> = tree.base_env().into_iter().collect();
  let mut exports = Vec::new();
  let (mut tried, mut refused_count) = (0, 0);
  for (i, value) in corpus().iter().enumerate() {
    let value = value.replace("{marks}", &marks);
    if value.len() > 2000 || converge::check::text::is_template(&value) {
      continue;
    }
    tried += 1;
    let export = format!("export CV_{i} = {} {{\n  scope = \"system\"\n}}\n", literal(&value));
    if refused(&export).is_empty() {
      exports.push((format!("CV_{i}"), value));
    } else {
      refused_count += 1;
    }
  }
  let playbook: String = exports
    .iter()
    .map(|(name, value)| format!("export {name} = {} {{\n  scope = \"system\"\n}}\n", literal(value)))
    .collect();
  tree.apply(&playbook);
  let root = tree.root().display().to_string();
  let source_sh = format!(". '{root}/etc/profile.d/converge.sh'; exec env -0");
  let source_fish = format!("source '{root}/etc/fish/conf.d/converge-system.fish'; exec env -0");
  let mut reads = 0;
  for argv in [
    vec!["dash", "-c", &source_sh],
    vec!["bash", "-c", &source_sh],
    vec!["zsh", "-c", &source_sh],
    vec!["fish", "-c", &source_fish],
  ] {
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..]).env_clear().current_dir(tree.cwd());
    for (k, v) in tree.base_env() {
      cmd.env(k, v);
    }
    let out = bounded(cmd, Duration::from_secs(30));
    assert!(out.status.success(), "{}: {}", argv[0], String::from_utf8_lossy(&out.stderr));
    let env: BTreeMap<String, String> = out
      .stdout
      .split(|b| *b == 0)
      .filter_map(|e| String::from_utf8_lossy(e).split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
      .collect();
    for (name, value) in &exports {
      assert_eq!(env.get(name), Some(&expand(value, &base)), "{} reads {name}; declared {value:?}", argv[0]);
      reads += 1;
    }
  }
  // PAM gets the values that need no expansion, exactly; the others not at all.
  let pam = pam_environment(&String::from_utf8_lossy(
    &std::fs::read(tree.root().join("etc/environment")).unwrap_or_default(),
  ));
  for (name, value) in &exports {
    let plain = !value.contains('$');
    assert_eq!(pam.get(name), plain.then_some(value), "/etc/environment {name}");
    reads += 1;
  }
  tree.assert_nothing_ran();
  let report = format!(
    "system scope: {tried} values tried, {} accepted and read back {reads} times, {refused_count} refused",
    exports.len()
  );
  std::io::Write::write_all(&mut std::io::stderr(), format!("{report}\n").as_bytes()).ok();
  assert!(exports.len() > 20 && refused_count > 20, "{report}");
}

#[test]
fn go_settings_rendered_from_facts_get_the_check_time_checks_when_planned() {
  let tree = Tree::new();
  let file = tree.dir.path().join("site.goenv");
  let playbook =
    "goenv {\n  GOFLAGS = \"{{ facts.goos }}\"\n}\nproxy [\"https://a.example.com/{{ facts.goos }}|x\"]\n";
  std::fs::write(&file, playbook).unwrap_or_else(|e| panic!("{e}"));
  let mut cmd = Command::new(binary());
  cmd
    .arg(&file)
    .args(["--format", "json", "--root"])
    .arg(tree.root())
    .env("HOME", HOME)
    .env("XDG_STATE_HOME", tree.dir.path().join("state"))
    .current_dir(tree.cwd());
  let out = bounded(cmd, Duration::from_secs(120));
  let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
  assert_eq!(out.status.code(), Some(1), "{doc}");
  let codes: Vec<&str> = doc["hosts"][0]["steps"]
    .as_array()
    .into_iter()
    .flatten()
    .filter_map(|s| s["errors"][0]["code"].as_str())
    .collect();
  assert_eq!(codes, ["E405", "E402"], "{doc}");
  assert!(!tree.home().join(".config/go/env").exists(), "{doc}");
}
