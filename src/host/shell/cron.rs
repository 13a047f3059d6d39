//! Commands in crontab lines (crontab(5)): cron hands the rest of the line to
//! `/bin/sh -c`, after turning each `%` that has no backslash before it into a
//! newline.

/// `cd DIR && ARGS...` for a crontab line: every word quoted for `/bin/sh`
/// (as it is when that is safe), then `%` escaped for cron. The caller refuses
/// control characters, which a crontab line cannot hold.
pub fn command<S: AsRef<str>>(dir: &str, args: &[S]) -> String {
  let mut command = format!("cd {} &&", word(dir));
  for arg in args {
    command.push(' ');
    command.push_str(&word(arg.as_ref()));
  }
  escape(&command)
}

/// One word for `/bin/sh`: as it is when that is safe, otherwise quoted.
fn word(text: &str) -> String {
  let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:,+=@%".contains(c);
  if !text.is_empty() && text.chars().all(safe) {
    return text.to_owned();
  }
  super::quote(text)
}

/// Escapes `%`, which cron turns into a newline, as `\%`. Cron reads `\\%` as
/// a backslash and a newline, so a `%` after a backslash (always inside single
/// quotes here) gets `''` between them: the shell drops it, cron sees no `\\`.
fn escape(command: &str) -> String {
  let mut escaped = String::with_capacity(command.len());
  for c in command.chars() {
    if c == '%' {
      if escaped.ends_with('\\') {
        escaped.push_str("''");
      }
      escaped.push_str("\\%");
    } else {
      escaped.push(c);
    }
  }
  escaped
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn words_are_bare_only_when_safe() {
    assert_eq!(word("/usr/local/bin/converge"), "/usr/local/bin/converge");
    assert_eq!(word("pct=50%"), "pct=50%");
    assert_eq!(word(""), "''");
    assert_eq!(word("it's"), r"'it'\''s'");
    assert_eq!(word("$HOME"), "'$HOME'");
    assert_eq!(command("/srv", &["a%b", r"c\%d"]), r"cd /srv && a\%b 'c\''\%d'");
  }
}
