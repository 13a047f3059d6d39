use super::*;
use std::process::Command;

fn sh(script: &str) -> String {
  let out = Command::new("sh").arg("-c").arg(script).output().unwrap_or_else(|e| panic!("sh: {e}"));
  String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn quoted_values_reach_every_shell_unchanged() {
  let values = ["it's", "$HOME", "${HOME}", "`id`", "$(id)", "a\"b\\c", "%s", " spaced ", "", "ünï\ncode"];
  for shell in ["sh", "bash", "dash", "zsh"] {
    for v in values {
      let out = Command::new(shell)
        .arg("-c")
        .arg(format!("printf '%s' {}", quote(v)))
        .output()
        .unwrap_or_else(|e| panic!("{shell}: {e}"));
      assert_eq!(String::from_utf8_lossy(&out.stdout), v, "{shell} with {v:?}");
    }
  }
}

#[test]
fn quoting_survives_single_quotes() {
  assert_eq!(quote("it's"), "'it'\\''s'");
}

/// Values no shell may read as anything but one word of these bytes.
const HOSTILE: [&str; 16] = [
  "$(touch pwned)",
  "`touch pwned`",
  "${HOME}",
  "it's",
  "'",
  "''\\''",
  "a\"b\\c",
  "two\nlines\n",
  "%s %n %%",
  " spaced  out ",
  "",
  "*",
  "-n",
  "a;b|c&d>e<f",
  "{}{{x}}",
  "ünï\u{1F980}\u{202E}cøde\t\r",
];

/// Runs `script` with `shell -c` in an empty directory and returns the words
/// it printed, each ended by a NUL.
fn words(shell: &str, script: &str) -> Vec<String> {
  let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
  let out = Command::new(shell)
    .arg("-c")
    .arg(script)
    .current_dir(dir.path())
    .output()
    .unwrap_or_else(|e| panic!("{shell}: {e}"));
  assert!(out.status.success(), "{shell} failed on {script:?}: {}", String::from_utf8_lossy(&out.stderr));
  assert!(!dir.path().join("pwned").exists(), "{shell} ran a value of {script:?}");
  let text = String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{shell} printed non-UTF-8: {e}"));
  let mut words: Vec<String> = text.split('\0').map(str::to_owned).collect();
  assert_eq!(words.pop().as_deref(), Some(""), "{shell}: output ends with a NUL");
  words
}

#[test]
fn each_value_of_sh_is_one_word_of_its_bytes() {
  for shell in ["sh", "dash", "bash", "zsh"] {
    for v in HOSTILE {
      let owned = v.to_owned();
      let script = sh!("printf '%s\\0' {} {} {}", v, owned, 42);
      assert_eq!(words(shell, script.as_str()), [v, v, "42"], "{shell}: {script}");
      let named = sh!("printf '%s\\0' {a} {b} {a}", a = v, b = -7);
      assert_eq!(words(shell, named.as_str()), [v, "-7", v], "{shell}: {named}");
    }
    let list = sh!("printf '%s\\0' {}", HOSTILE);
    assert_eq!(words(shell, list.as_str()), HOSTILE, "{shell}: {list}");
    let vec: Vec<String> = HOSTILE.iter().map(|v| (*v).to_owned()).collect();
    let list = sh!("printf '%s\\0' x {} y", vec);
    let mut expected = vec!["x"];
    expected.extend(HOSTILE);
    expected.push("y");
    assert_eq!(words(shell, list.as_str()), expected, "{shell}: {list}");
  }
}

#[test]
fn sh_text_nests_without_being_quoted_again() {
  let dir = "/go bin/$(touch pwned)";
  let inner = sh!("\"$HOME\"{}", dir);
  assert_eq!(inner.as_str(), "\"$HOME\"'/go bin/$(touch pwned)'");
  let outer = sh!("HOME=/h; printf '%s\\0' {d} {d}", d = inner);
  assert_eq!(words("dash", outer.as_str()), ["/h/go bin/$(touch pwned)"; 2]);
  assert_eq!(String::from(sh!("echo ${{x:-{}}} }}{{", "y")), "echo ${x:-'y'} }{");
}

#[test]
fn templates_that_do_not_fit_their_values_are_refused() {
  assert!(template_fits("a {} {}", 2, &[]));
  assert!(template_fits("{{}} ${{x}}", 0, &[]));
  assert!(template_fits("{p} {t} {p}", 0, &["p", "t"]));
  assert!(!template_fits("a {}", 2, &[]), "a value left over");
  assert!(!template_fits("a {} {}", 1, &[]), "a value missing");
  assert!(!template_fits("{p}", 0, &["p", "t"]), "a name left over");
  assert!(!template_fits("{p} {x}", 0, &["p"]), "a name not given");
  assert!(!template_fits("${HOME}", 0, &[]), "an unescaped brace is a name");
  assert!(!template_fits("${HOME:-/}", 0, &[]));
  assert!(!template_fits("a }", 0, &[]));
  assert!(!template_fits("a {", 0, &[]));
  assert!(!template_fits("{0}", 1, &[]));
  assert!(!template_fits("{:?}", 1, &[]));
}

/// The Rust files under `dir`, recursively.
fn rust_files(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
  let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
  for entry in entries.flatten() {
    let path = entry.path();
    if path.is_dir() {
      rust_files(&path, found);
    } else if path.extension().is_some_and(|e| e == "rs") {
      found.push(path);
    }
  }
}

#[test]
fn no_code_outside_this_module_quotes_for_the_shell() {
  let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
  let mut files = Vec::new();
  rust_files(&src, &mut files);
  assert!(files.len() > 20, "found the sources: {files:?}");
  // secrets.rs reads: it looks for a value in the forms quoting gives it.
  let allowed = [src.join("check/secrets.rs")];
  let quoting = ["replace('\\''", "replacen('\\''", "'\\\\''", "\"'\\''\""];
  for file in files.iter().filter(|f| !f.starts_with(src.join("host/shell")) && !allowed.contains(f)) {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    for pattern in quoting {
      assert!(
        !text.contains(pattern),
        "{} quotes for the shell by hand ({pattern}); build the text with shell::sh! instead",
        file.display()
      );
    }
  }
}

#[test]
fn base64_matches_coreutils() {
  for data in [&b""[..], b"a", b"ab", b"vm\n", b"\x00\xff binary \x01"] {
    let printed = sh(&format!("printf '%s' {} | base64 -d | base64", quote(&encode(data))));
    assert_eq!(decode(&printed), Some(data.to_vec()));
  }
  assert_eq!(encode(b"vm\n"), "dm0K");
  assert_eq!(decode("!!!!"), None);
}

#[test]
fn templates_take_arguments_as_literals_only() {
  let mut s = Script::new("n1");
  s.line("printf '%s|%s|%s' {} {} {}; echo {nonce}", &[Arg::Str("$(id)"), Arg::Bytes(b"x'y"), Arg::Num(7)]);
  assert_eq!(sh(s.text()), "$(id)|eCd5|7n1\n");
}

#[test]
fn a_body_line_equal_to_the_terminator_is_refused() {
  let mut outer = Script::new("abc");
  let mut body = Script::new("abc");
  body.fixed("echo inside");
  assert!(outer.step(&[0], &[], StepRun::Shell, &body).is_ok());
  body.fixed("__CONVERGE_STEP_abc__");
  assert!(matches!(outer.step(&[1], &[], StepRun::Shell, &body), Err(ScriptError::Terminator)));
}

#[test]
fn frames_read_only_marked_lines() {
  let out = "noise\n__STEP_n__ 1 changed\n__STEP_m__ 2 changed\n__B_n__\nk=v\n__E_n__\n";
  assert_eq!(frame::lines(out, "STEP", "n").collect::<Vec<_>>(), ["1 changed"]);
  assert_eq!(frame::between(out, "B", "E", "n"), Some("\nk=v\n"));
  assert_eq!(frame::between("__B_n__\nk=v\n", "B", "E", "n"), None);
  assert_ne!(nonce(), nonce());
}

/// A file's content as `cv_prep` gets it, printed by the way `cv_prep` prints it
/// (`printf '%b'`, or base64 for bytes with a NUL), in every POSIX shell a
/// host may run steps with: the same bytes, and nothing of them run.
#[test]
fn file_data_reaches_the_file_byte_for_byte_in_every_shell() {
  let mut all: Vec<u8> = (0..=255u8).collect();
  all.extend_from_slice(b"\\c stops %b output; \\0101 \\n \\\\ ' '' \\'");
  let mut cases: Vec<Vec<u8>> = HOSTILE.iter().map(|v| v.as_bytes().to_vec()).collect();
  cases.extend([
    all.clone(),
    all[1..].to_vec(),
    b"\\".to_vec(),
    b"\\0".to_vec(),
    b"x\\".to_vec(),
    Vec::new(),
  ]);
  cases.push(b"$(touch pwned)\n`touch pwned`\n".repeat(2000));
  for shell in ["sh", "bash", "dash"] {
    for data in &cases {
      let text = file_data(data);
      let print = r#"case $1 in b:*) printf '%s' "${1#b:}" | base64 -d ;; *) printf '%b' "${1#t:}" ;; esac"#;
      let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
      let out = Command::new(shell)
        .arg("-c")
        .arg(format!("set -- {}\n{print}", quote(&text)))
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{shell}: {e}"));
      assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
      assert_eq!(out.stdout, *data, "{shell} printed other bytes for {text:?}");
      assert!(!dir.path().join("pwned").exists(), "{shell} ran a part of {text:?}");
      assert_eq!(text.starts_with("b:"), data.contains(&0), "only bytes with a NUL go as base64");
    }
  }
}

#[test]
fn temp_names_are_two_fresh_words_of_six_letters_or_digits() {
  let a = temp_names();
  let words: Vec<&str> = a.split(' ').collect();
  assert_eq!(words.len(), 2, "{a}");
  assert!(words.iter().all(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_alphanumeric())), "{a}");
  assert_ne!(a, temp_names(), "each call draws new names");
}

#[test]
fn a_variable_argument_is_a_quoted_reference_to_a_plain_name_or_nothing() {
  let mut s = Script::new("n");
  s.line("a {} b {} c {}", &[Arg::Var("cv_H3"), Arg::Var("x;rm -rf /"), Arg::Var("1x")]);
  assert_eq!(s.text(), "a \"$cv_H3\" b '' c ''\n");
}
