//! Text in systemd unit files (systemd.syntax(7), systemd.service(5)).

/// A command line for `ExecStart=` and its kin: each word in double quotes,
/// with backslash and double quote escaped, and `%` and `$` doubled so that
/// systemd expands neither specifiers nor environment variables.
///
/// systemd reads prefixes such as `-` or `@` from the first word even when it
/// is quoted: the caller makes sure the program is an absolute path.
pub fn command_line<S: AsRef<str>>(words: &[S]) -> String {
  let mut line = String::new();
  for (i, word) in words.iter().enumerate() {
    if i > 0 {
      line.push(' ');
    }
    line.push('"');
    for c in word.as_ref().chars() {
      match c {
        '\\' => line.push_str("\\\\"),
        '"' => line.push_str("\\\""),
        '%' => line.push_str("%%"),
        '$' => line.push_str("$$"),
        c => line.push(c),
      }
    }
    line.push('"');
  }
  line
}

/// A setting that takes the rest of its line as it is, with specifiers
/// expanded (such as `WorkingDirectory=`): `%` doubled, nothing else changed.
/// The caller refuses control characters and a trailing backslash or
/// whitespace, which no quoting can carry.
pub fn verbatim(value: &str) -> String {
  value.replace('%', "%%")
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn words_are_quoted_for_systemd() {
    let words = ["/opt/my tools/converge", "enforce", r#"msg=50% "done" $HOME \o/"#, "it's", ";", ""];
    assert_eq!(
      command_line(&words),
      r#""/opt/my tools/converge" "enforce" "msg=50%% \"done\" $$HOME \\o/" "it's" ";" """#
    );
    assert_eq!(command_line::<&str>(&[]), "");
    assert_eq!(verbatim("/srv/50%/$HOME"), "/srv/50%%/$HOME");
  }
}
