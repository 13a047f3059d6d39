//! `converge lsp` as a process, and the editor files that must stay in step
//! with the language. The features are tested end to end with a real LSP
//! client in tests/lsp/ (pytest-lsp, run by scripts/test.sh).

use crate::test::{binary, root};
use converge::check::resource::KINDS;
use std::io::{BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `converge lsp` process, killed by its PID when the test ends however it
/// ends.
struct Server(Child);

impl Drop for Server {
  fn drop(&mut self) {
    let _ = self.0.kill();
    let _ = self.0.wait();
  }
}

impl Server {
  fn start() -> Server {
    Server::start_with(&[])
  }

  fn start_with(extra: &[&str]) -> Server {
    let child = Command::new(binary())
      .arg("lsp")
      .args(extra)
      .stdin(Stdio::piped())
      .stdout(Stdio::piped())
      .stderr(Stdio::piped())
      .spawn()
      .expect("converge lsp starts");
    Server(child)
  }

  fn send(&mut self, raw: &[u8]) {
    let stdin = self.0.stdin.as_mut().expect("stdin");
    // The server may already have stopped reading: that is what some tests expect.
    let _ = stdin.write_all(raw).and_then(|()| stdin.flush());
  }

  fn message(&mut self, body: &str) {
    self.send(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
  }

  /// The exit status, waiting at most 20 seconds.
  fn status(&mut self) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
      if let Ok(Some(status)) = self.0.try_wait() {
        return status.code();
      }
      std::thread::sleep(Duration::from_millis(20));
    }
    None
  }
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#;

#[test]
fn converge_lsp_initializes_and_exits_zero_after_shutdown_and_exit() {
  // `--stdio` is what vscode-languageclient's stdio transport and many editor
  // configurations pass.
  for extra in [&[][..], &["--stdio"][..]] {
    initializes_and_exits_zero(extra);
  }
}

fn initializes_and_exits_zero(extra: &[&str]) {
  let mut server = Server::start_with(extra);
  server.message(INITIALIZE);
  let stdout = server.0.stdout.take().expect("stdout");
  let reply = std::thread::spawn(move || converge::lsp::transport::read(&mut BufReader::new(stdout)));
  server.message(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#);
  server.message(r#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#);
  server.message(r#"{"jsonrpc":"2.0","method":"exit"}"#);
  assert_eq!(server.status(), Some(0), "converge lsp {extra:?}");
  let reply = reply.join().expect("reader").expect("a reply").expect("a message");
  let reply = serde_json::to_value(reply).expect("JSON");
  let capabilities = &reply["result"]["capabilities"];
  for capability in [
    "completionProvider",
    "hoverProvider",
    "definitionProvider",
    "documentFormattingProvider",
    "codeActionProvider",
    "documentSymbolProvider",
  ] {
    assert!(!capabilities[capability].is_null(), "{capability}: {reply}");
  }
}

#[test]
fn converge_lsp_stops_with_an_error_on_a_huge_content_length_instead_of_allocating_it() {
  let mut server = Server::start();
  server.send(b"Content-Length: 1000000000000000\r\n\r\n{}");
  assert_eq!(server.status(), Some(1));
  let mut stderr = String::new();
  std::io::Read::read_to_string(server.0.stderr.as_mut().expect("stderr"), &mut stderr).expect("stderr");
  assert!(stderr.contains("larger than the limit"), "{stderr}");
}

#[test]
fn converge_lsp_stops_with_an_error_on_input_that_is_not_lsp() {
  let mut server = Server::start();
  server.send(b"GET / HTTP/1.1\r\n\r\n");
  assert_eq!(server.status(), Some(1));
}

#[test]
fn the_vscode_grammar_and_the_book_highlighting_know_every_resource_kind_and_statement() {
  let grammar = std::fs::read_to_string(root().join("editors/vscode/syntaxes/goenv.tmLanguage.json"))
    .expect("the TextMate grammar");
  let grammar: serde_json::Value = serde_json::from_str(&grammar).expect("the grammar is JSON");
  let resource = grammar["repository"]["resource"]["match"].as_str().expect("a resource rule");
  let top_level = grammar["repository"]["top-level"]["match"].as_str().expect("a top-level rule");
  let highlight =
    std::fs::read_to_string(root().join("book/goenv-highlight.js")).expect("the book's highlighting");
  // The words of a keyword class of the highlight.js definition: `built_in: "go toolchain ..." + "...",`.
  let class = |name: &str| -> Vec<String> {
    let start = highlight.find(&format!("{name}:")).map_or(highlight.len(), |i| i + name.len() + 1);
    let rest = &highlight[start..];
    let end = rest.find(",\n").unwrap_or(rest.len());
    rest[..end]
      .split(|c: char| !c.is_ascii_alphanumeric())
      .filter(|w| !w.is_empty())
      .map(str::to_owned)
      .collect()
  };
  let (built_in, keyword) = (class("built_in"), class("keyword"));
  for kind in KINDS {
    let words = kind.keywords();
    assert!(resource.contains(&words.join("\\s+")), "the grammar does not know `{}`", words.join(" "));
    for word in words {
      assert!(
        built_in.iter().any(|w| w == word),
        "book/goenv-highlight.js does not know `{word}`: {built_in:?}"
      );
    }
  }
  for statement in ["inventory", "vars", "host", "group", "hosts", "handler"] {
    assert!(top_level.contains(statement), "the grammar does not know `{statement}`");
    assert!(keyword.iter().any(|w| w == statement), "book/goenv-highlight.js does not know `{statement}`");
  }
}
