//! The fact cache kept on the host beside the ledger: answers that need a
//! program (the login shell's environment, `go version`, `go env GOENV`) are
//! reused only while every file they depend on is unchanged. Each test changes
//! an input behind converge's back and sees the plan follow.

use crate::apply::go;
use crate::converge_test;
use crate::test::{NO_CHANGES, Transport, Tree};

const CACHE: &str = "/home/dev/.local/state/converge/facts.cache";

fn put_go_in(tree: &Tree) {
  std::fs::create_dir_all(tree.path("/usr/local/go/bin")).unwrap_or_else(|e| panic!("{e}"));
  std::os::unix::fs::symlink(go(), tree.path("/usr/local/go/bin/go")).unwrap_or_else(|e| panic!("{e}"));
}

/// The version the test Go reports, `1.22.5`.
fn go_version() -> String {
  let out = std::process::Command::new(go())
    .arg("version")
    .env("GOTOOLCHAIN", "local")
    .env("GOTELEMETRY", "off")
    .output()
    .unwrap_or_else(|e| panic!("{e}"));
  let text = String::from_utf8_lossy(&out.stdout);
  text.split_whitespace().nth(2).unwrap_or_default().trim_start_matches("go").to_owned()
}

/// Applies twice: the second run's facts find converge's state directory and
/// keep their answers in the cache.
fn converge_and_cache(tree: &Tree, playbook: &str) {
  tree.apply(playbook);
  tree.apply(playbook);
  let cache = String::from_utf8_lossy(&tree.read(CACHE)).into_owned();
  assert!(cache.ends_with("\nend\n"), "the cache is written whole: {cache:?}");
}

converge_test!(a_changed_startup_file_reaches_the_plan_through_the_fact_cache);
fn a_changed_startup_file_reaches_the_plan_through_the_fact_cache(transport: Transport) {
  let tree = Tree::new(transport);
  put_go_in(&tree);
  tree.write("/home/dev/.profile", b". \"$HOME/.goenv-profile\"\n");
  tree.write("/home/dev/.goenv-profile", b"export GOPATH=\"$HOME/go\"\n");
  let playbook = "goenv {\n  GOPRIVATE = \"git.example.com\"\n}\n";
  converge_and_cache(&tree, playbook);
  assert!(tree.path("/home/dev/.config/go/env").is_file());
  let cache = String::from_utf8_lossy(&tree.read(CACHE)).into_owned();
  assert!(
    cache.lines().any(|l| l.starts_with("sh.GOPATH\t") && l.ends_with("/home/dev/go")),
    "the login shell's answer is cached: {cache}"
  );
  let (status, text) = tree.plan(playbook);
  assert!(status == 0 && text.contains(NO_CHANGES), "{text}");

  // A file the profile sources by name moves the go env file: same size, so
  // only the stat's times and inode tell.
  tree.write("/home/dev/.goenv-profile", b"export GOENV=\"$HOME/.config/cstm/go.env\"\n");
  let (status, text) = tree.plan(playbook);
  assert_eq!(status, 2, "the plan sees the new GOENV through the cache:\n{text}");
  assert!(text.contains("cstm/go.env"), "{text}");
  tree.apply(playbook);
  assert!(tree.path("/home/dev/.config/cstm/go.env").is_file());

  // The profile itself, with a variable the plan reports as overriding the go
  // env file.
  converge_and_cache(&tree, playbook);
  tree.write("/home/dev/.profile", b"export GOPRIVATE=\"other.example.com\"\n");
  let (_, text) = tree.plan(playbook);
  assert!(
    text.contains("exports GOPRIVATE=other.example.com, which overrides the go env file"),
    "the login shell's GOPRIVATE is seen through the cache:\n{text}"
  );
}

// What the startup files source is kept in the cache too (awk reads them only
// when one changed): a file sourced since the last run is followed, and so is
// a later change to that file alone.
converge_test!(a_file_newly_sourced_by_a_startup_file_is_followed_through_the_fact_cache);
fn a_file_newly_sourced_by_a_startup_file_is_followed_through_the_fact_cache(transport: Transport) {
  let tree = Tree::new(transport);
  put_go_in(&tree);
  tree.write("/home/dev/.profile", b"export GOPATH=\"$HOME/go\"\n");
  let playbook = "goenv {\n  GOPRIVATE = \"git.example.com\"\n}\n";
  converge_and_cache(&tree, playbook);
  let cache = String::from_utf8_lossy(&tree.read(CACHE)).into_owned();
  assert!(
    cache.lines().any(|l| l.starts_with("rc.srcs\t") && !l.contains(".more-go")),
    "the home directory sources nothing yet: {cache}"
  );
  let (status, text) = tree.plan(playbook);
  assert!(status == 0 && text.contains(NO_CHANGES), "{text}");

  tree.write("/home/dev/.more-go", b"export GOPRIVATE=\"first.example.com\"\n");
  tree.write("/home/dev/.profile", b"export GOPATH=\"$HOME/go\"\n. \"$HOME/.more-go\"\n");
  let (_, text) = tree.plan(playbook);
  assert!(text.contains("exports GOPRIVATE=first.example.com, which overrides"), "{text}");
  converge_and_cache(&tree, playbook);
  let cache = String::from_utf8_lossy(&tree.read(CACHE)).into_owned();
  assert!(
    cache.lines().any(|l| l.starts_with("rc.srcs\t") && l.contains("/home/dev/.more-go")),
    "the sourced file is kept: {cache}"
  );

  // Only the sourced file changes, to bytes of the same length: the profile's
  // stat is as it was, so the cached list of sourced files is what finds it.
  tree.write("/home/dev/.more-go", b"export GOPRIVATE=\"other.example.com\"\n");
  let (_, text) = tree.plan(playbook);
  assert!(text.contains("exports GOPRIVATE=other.example.com, which overrides"), "{text}");

  // The sourced file now takes the value from a file it reads with a program:
  // the stat cannot see that file, so the login shell's answer is not cached.
  tree.write("/home/dev/.goprivate", b"a.example.com\n");
  tree.write("/home/dev/.more-go", b"export GOPRIVATE=\"$(cat \"$HOME/.goprivate\")\"\n");
  converge_and_cache(&tree, playbook);
  let cache = String::from_utf8_lossy(&tree.read(CACHE)).into_owned();
  assert!(cache.lines().any(|l| l == "rc.cacheable\t"), "{cache}");
  tree.write("/home/dev/.goprivate", b"b.example.com\n");
  let (_, text) = tree.plan(playbook);
  assert!(text.contains("exports GOPRIVATE=b.example.com, which overrides"), "{text}");

  // A startup file that now runs a program: the login shell's answer is no
  // longer cached, and a plan still sees what it exports.
  tree.write("/home/dev/.profile", b"export GOPRIVATE=\"$(echo run.example.com)\"\n");
  converge_and_cache(&tree, playbook);
  let cache = String::from_utf8_lossy(&tree.read(CACHE)).into_owned();
  assert!(cache.lines().any(|l| l == "rc.cacheable\t"), "{cache}");
  assert!(!cache.lines().any(|l| l.starts_with("sh.GOPRIVATE\t")), "{cache}");
  let (_, text) = tree.plan(playbook);
  assert!(text.contains("exports GOPRIVATE=run.example.com, which overrides"), "{text}");
}

// converge's own env file (its path functions `eval`) leaves the login shell's
// answer cached: a no-op run starts no login shell.
converge_test!(the_env_file_converge_writes_keeps_the_login_shells_answer_cached);
fn the_env_file_converge_writes_keeps_the_login_shells_answer_cached(transport: Transport) {
  let tree = Tree::new(transport);
  put_go_in(&tree);
  let playbook =
    "export GOPROXY = \"https://proxy.example.com,direct\"\npath prepend [\"/usr/local/go/bin\"]\n";
  converge_and_cache(&tree, playbook);
  let env = String::from_utf8_lossy(&tree.read("/home/dev/.config/converge/env.sh")).into_owned();
  assert!(env.contains("# BEGIN converge: functions") && env.contains("eval"), "{env}");
  let cache = String::from_utf8_lossy(&tree.read(CACHE)).into_owned();
  assert!(
    cache.lines().any(|l| l.starts_with("rc.srcs\t") && l.contains("/.config/converge/env.sh")),
    "{cache}"
  );
  assert!(cache.lines().any(|l| l == "rc.cacheable\t1"), "{cache}");
  assert!(
    cache.lines().any(|l| l == "sh.GOPROXY\thttps://proxy.example.com,direct"),
    "the login shell's answer is cached: {cache}"
  );
}

// The signature names the facts script's text: a cache another converge kept
// (whose scan or answers may differ) is not used, though every stat matches.
converge_test!(a_fact_cache_kept_by_another_facts_script_is_not_used);
fn a_fact_cache_kept_by_another_facts_script_is_not_used(transport: Transport) {
  let tree = Tree::new(transport);
  put_go_in(&tree);
  let playbook = "goenv {\n  GOPRIVATE = \"git.example.com\"\n}\n";
  converge_and_cache(&tree, playbook);
  let cache = String::from_utf8_lossy(&tree.read(CACHE)).into_owned();
  let planted = cache
    .lines()
    .map(|l| if l.starts_with("sh.GOPRIVATE\t") { "sh.GOPRIVATE\tplanted.example.com" } else { l })
    .collect::<Vec<_>>()
    .join("\n")
    + "\n";
  // The planted answer is used while the signature is this script's own...
  tree.write(CACHE, planted.as_bytes());
  let (_, text) = tree.plan(playbook);
  assert!(text.contains("exports GOPRIVATE=planted.example.com"), "the cache is read:\n{text}");
  // ...and not once the signature names another script.
  let (id, rest) = planted.split_once(';').unwrap_or_else(|| panic!("{planted}"));
  assert_eq!(id.len(), 16, "{planted}");
  tree.write(CACHE, format!("0123456789abcdef;{rest}").as_bytes());
  let (status, text) = tree.plan(playbook);
  assert!(status == 0 && !text.contains("planted"), "{text}");
}

converge_test!(the_plan_flags_login_shell_exports_of_gocache_gomodcache_and_cgo_enabled);
fn the_plan_flags_login_shell_exports_of_gocache_gomodcache_and_cgo_enabled(transport: Transport) {
  let tree = Tree::new(transport);
  put_go_in(&tree);
  tree.write(
    "/home/dev/.profile",
    b"export GOCACHE=/var/tmp/shell-cache\nexport GOMODCACHE=/var/tmp/shell-mod\nexport CGO_ENABLED=1\n",
  );
  let playbook =
    "goenv {\n  GOCACHE = \"/var/tmp/cache\"\n  GOMODCACHE = \"/var/tmp/mod\"\n  CGO_ENABLED = \"0\"\n}\n";
  let (_, text) = tree.plan(playbook);
  for (name, value) in
    [("GOCACHE", "/var/tmp/shell-cache"), ("GOMODCACHE", "/var/tmp/shell-mod"), ("CGO_ENABLED", "1")]
  {
    assert!(
      text.contains(&format!("exports {name}={value}, which overrides the go env file")),
      "{name}:\n{text}"
    );
  }
}

converge_test!(a_replaced_go_reaches_the_plan_through_the_fact_cache);
fn a_replaced_go_reaches_the_plan_through_the_fact_cache(transport: Transport) {
  let tree = Tree::new(transport);
  put_go_in(&tree);
  let version = go_version();
  let playbook =
    format!("assert go_version == \"{version}\"\nfile \"~/.marker\" {{\n  content = \"x\"\n}}\n");
  converge_and_cache(&tree, &playbook);
  let cache = String::from_utf8_lossy(&tree.read(CACHE)).into_owned();
  assert!(cache.contains(&format!("go version go{version}")), "go's answer is cached: {cache}");

  // Another go in its place: the old answer must not be used.
  std::fs::remove_file(tree.path("/usr/local/go/bin/go")).unwrap_or_else(|e| panic!("{e}"));
  std::fs::write(tree.path("/usr/local/go/bin/go"), "#!/bin/sh\necho 'go version go1.19.1 linux/amd64'\n")
    .unwrap_or_else(|e| panic!("{e}"));
  std::fs::set_permissions(
    tree.path("/usr/local/go/bin/go"),
    std::os::unix::fs::PermissionsExt::from_mode(0o755),
  )
  .unwrap_or_else(|e| panic!("{e}"));
  let (status, text) = tree.plan(&playbook);
  assert_eq!(status, 1, "the assertion sees the new go:\n{text}");
  assert!(text.contains("1.19.1"), "{text}");
}

// A dry run reads the cache but never writes it: `--plan` changes nothing on
// the host, converge's own state included.
converge_test!(a_plan_writes_no_fact_cache);
fn a_plan_writes_no_fact_cache(transport: Transport) {
  let tree = Tree::new(transport);
  let playbook = "file \"~/.marker\" {\n  content = \"x\"\n}\n";
  tree.apply(playbook);
  assert!(tree.path("/home/dev/.local/state/converge").is_dir());
  let (status, text) = tree.plan(playbook);
  assert_eq!(status, 0, "{text}");
  assert!(!tree.path(CACHE).exists(), "a plan wrote the fact cache");
}

/// `assert kernel` compares the host's whole release, what follows the numbers
/// included: a release one patch level above the host's is newer than it.
#[test]
fn assert_kernel_compares_the_full_release_not_only_its_numbers() {
  let tree = Tree::new(Transport::Local);
  let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned();
  let newer = format!("{release}.1");
  let (status, text) =
    tree.plan(&format!("assert kernel >= \"{release}\"\nassert kernel <= \"{release}\"\n"));
  assert_eq!(status, 0, "{text}");
  let (status, text) = tree.plan(&format!("assert kernel >= \"{newer}\"\n"));
  assert_eq!(status, 1, "{release} is older than {newer}:\n{text}");
  assert!(text.contains("which is not >="), "{text}");
}

/// The facts a cgo build needs: a C compiler and the userland's word size.
#[test]
fn facts_tell_whether_a_c_compiler_is_present_and_the_userlands_word_size() {
  let tree = Tree::new(Transport::Local);
  let cc = ["cc", "gcc"].iter().any(|c| {
    std::process::Command::new("sh")
      .arg("-c")
      .arg(format!("command -v {c}"))
      .output()
      .is_ok_and(|o| o.status.success())
  });
  let (status, text) =
    tree.plan(&format!("assert has_cc == {}\nassert long_bit == {}\n", u8::from(cc), usize::BITS));
  assert_eq!(status, 0, "{text}");
  let (status, text) = tree.plan("assert long_bit == 16\n");
  assert_eq!(status, 1, "{text}");
}
