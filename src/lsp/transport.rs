//! The stdio transport: LSP messages framed by a `Content-Length` header.
//!
//! The header and the body are bounded before anything is allocated: a client
//! (or anything else writing to the server's standard input) that announces a
//! body of a terabyte gets an error and the server stops, instead of trying to
//! allocate it.

use lsp_server::{Connection, Message};
use std::io::{self, BufRead, Read, Write};

/// The largest message body read: room for a document of
/// [`crate::source::MAX_INPUT_BYTES`] with every character escaped in JSON.
pub const MAX_MESSAGE_BYTES: usize = 6 * crate::source::MAX_INPUT_BYTES as usize;

/// How many messages the reader reads ahead of the server.
const READ_AHEAD: usize = 16;

/// The longest header line, and the most header lines, of one message.
const MAX_HEADER_LINE: u64 = 1024;
const MAX_HEADERS: usize = 16;

/// Why the reader stopped reading standard input, when it was an error.
pub(crate) type ReadFailure = std::sync::Arc<std::sync::Mutex<Option<io::Error>>>;

/// A connection over the process's standard input and output. The reader
/// stops after `exit`, at the end of the input, or at input that is not LSP,
/// whose error it leaves in the [`ReadFailure`] before the connection's
/// receiver sees the end.
pub(crate) fn stdio() -> (Connection, ReadFailure) {
  let (writer_sender, writer_receiver) = crossbeam_channel::bounded::<Message>(0);
  // A few messages read ahead let the server see that more changes are
  // waiting, and take them all before checking.
  let (reader_sender, reader_receiver) = crossbeam_channel::bounded::<Message>(READ_AHEAD);
  // The writer ends when the connection is dropped.
  std::thread::spawn(move || {
    let stdout = io::stdout();
    writer_receiver.into_iter().try_for_each(|message| {
      let mut out = stdout.lock();
      message.write(&mut out)?;
      out.flush()
    })
  });
  let failure = ReadFailure::default();
  let failed = failure.clone();
  std::thread::spawn(move || {
    let stdin = io::stdin();
    let mut stdin = stdin.lock();
    loop {
      match read(&mut stdin) {
        Ok(Some(message)) => {
          let exit = matches!(&message, Message::Notification(n) if n.method == "exit");
          if reader_sender.send(message).is_err() || exit {
            break;
          }
        }
        Ok(None) => break,
        Err(e) => {
          if let Ok(mut slot) = failed.lock() {
            *slot = Some(e);
          }
          break;
        }
      }
    }
    // `reader_sender` is dropped here, after the failure is recorded.
  });
  (Connection { sender: writer_sender, receiver: reader_receiver }, failure)
}

fn invalid(message: String) -> io::Error {
  io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Reads one message; `None` at the end of the input between messages.
pub fn read(input: &mut impl BufRead) -> io::Result<Option<Message>> {
  let mut size = None;
  let mut headers = 0;
  loop {
    let mut line = String::new();
    let n = input.by_ref().take(MAX_HEADER_LINE).read_line(&mut line)?;
    if n == 0 && headers == 0 {
      return Ok(None);
    }
    if !line.ends_with("\r\n") {
      return Err(invalid(format!("a message header is cut short or longer than {MAX_HEADER_LINE} bytes")));
    }
    if line == "\r\n" {
      break;
    }
    headers += 1;
    if headers > MAX_HEADERS {
      return Err(invalid(format!("a message has more than {MAX_HEADERS} header lines")));
    }
    let (name, value) = line
      .trim_end()
      .split_once(": ")
      .ok_or_else(|| invalid(format!("malformed header {:?}", line.trim_end())))?;
    if name.eq_ignore_ascii_case("Content-Length") {
      let value: usize = value.parse().map_err(|_| invalid(format!("malformed Content-Length {value:?}")))?;
      size = Some(value);
    }
  }
  let size = size.ok_or_else(|| invalid("a message has no Content-Length".to_owned()))?;
  if size > MAX_MESSAGE_BYTES {
    return Err(invalid(format!(
      "a message of {size} bytes is larger than the limit of {} MiB",
      MAX_MESSAGE_BYTES >> 20
    )));
  }
  let mut body = vec![0; size];
  input.read_exact(&mut body)?;
  serde_json::from_slice(&body).map(Some).map_err(|e| invalid(format!("a message is not JSON-RPC: {e}")))
}

#[cfg(test)]
mod tests {
  use super::*;

  fn frame(body: &str) -> String {
    format!("Content-Length: {}\r\n\r\n{body}", body.len())
  }

  #[test]
  fn reads_framed_messages_until_the_end() {
    let body = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
    let text = frame(body) + &frame(body);
    let mut input = text.as_bytes();
    assert!(matches!(read(&mut input), Ok(Some(Message::Notification(_)))));
    assert!(matches!(read(&mut input), Ok(Some(Message::Notification(_)))));
    assert!(matches!(read(&mut input), Ok(None)));
  }

  #[test]
  fn refuses_huge_lengths_long_headers_and_bad_bodies_without_allocating_them() {
    let cases = [
      "Content-Length: 1000000000000\r\n\r\n".to_owned(),
      format!("X-{}: y\r\n\r\n", "a".repeat(5000)),
      "Content-Length: -1\r\n\r\n".to_owned(),
      frame("not json"),
      "Content-Length: 10\r\n\r\n{}".to_owned(),
      "\r\n".to_owned(),
      "Content-Length: 2\r\n".repeat(20) + "\r\n{}",
    ];
    for case in cases {
      let result = read(&mut case.as_bytes());
      assert!(result.is_err(), "{case:.60?}: {result:?}");
    }
  }
}
