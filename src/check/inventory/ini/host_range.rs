//! Host ranges such as `www[01:50].example.com` and `db-[a:f]`, expanded as
//! Ansible's `expand_hostname_range` expands them.

/// The letters a letter range runs over, in the order of Python's
/// `string.ascii_letters`, which Ansible uses.
const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// The most hosts one host pattern may expand to: more is a typo, not a fleet.
pub(super) const MAX_EXPANDED: usize = 65_536;

/// A host range that cannot be expanded: the byte range of the bad part of the
/// pattern, and what to say.
pub(super) struct RangeError {
  pub(super) from: usize,
  pub(super) to: usize,
  pub(super) message: String,
  pub(super) help: String,
}

/// The host names of a pattern with zero or more ranges, such as
/// `db[01:03]-[a:b]`, in Ansible's order.
pub(super) fn expand(pattern: &str) -> Result<Vec<String>, RangeError> {
  let mut names = vec![String::new()];
  let mut done = 0;
  while let Some(open) = pattern[done..].find('[').map(|i| done + i) {
    let literal = &pattern[done..open];
    let Some(close) = pattern[open..].find(']').map(|i| open + i) else {
      return Err(RangeError {
        from: open,
        to: pattern.len(),
        message: format!("expected `]` to close the host range `{}`", &pattern[open..]),
        help: "close the range with `]`, as in `web[01:05]`".to_owned(),
      });
    };
    let items = range_items(&pattern[open + 1..close]).map_err(|(message, help)| RangeError {
      from: open,
      to: close + 1,
      message,
      help,
    })?;
    if names.len().saturating_mul(items.len()) > MAX_EXPANDED {
      return Err(RangeError {
        from: 0,
        to: pattern.len(),
        message: format!("expected at most {MAX_EXPANDED} hosts from `{pattern}`, found more"),
        help: "split the pattern into smaller ranges on several lines".to_owned(),
      });
    }
    names =
      names.iter().flat_map(|name| items.iter().map(move |item| format!("{name}{literal}{item}"))).collect();
    done = close + 1;
  }
  let tail = &pattern[done..];
  for name in &mut names {
    name.push_str(tail);
  }
  Ok(names)
}

/// The values of the range `inner` (the text between `[` and `]`): numbers
/// (zero padding kept) or single letters, with an optional step. Errors are a
/// message and a help line.
fn range_items(inner: &str) -> Result<Vec<String>, (String, String)> {
  let shown = format!("[{inner}]");
  let (begin, end, step) = match inner.split(':').collect::<Vec<_>>().as_slice() {
    [begin, end] => (*begin, *end, None),
    [begin, end, step] => (*begin, *end, Some(*step)),
    _ => {
      return Err((
        format!("expected `[start:end]` or `[start:end:step]` in a host range, found `{shown}`"),
        "write the range as `[01:50]`, `[a:f]` or `[0:10:2]`".to_owned(),
      ));
    }
  };
  // Ansible starts an empty start at 0.
  let begin = if begin.is_empty() { "0" } else { begin };
  if end.is_empty() {
    return Err((
      format!("expected an end after `:` in the host range `{shown}`"),
      format!("write the last value after `:`, as in `[{begin}:9]`"),
    ));
  }
  let step = match step {
    None => 1,
    Some(step) => match step.parse::<usize>() {
      Ok(step) if step > 0 => step,
      _ => {
        return Err((
          format!("expected a step of 1 or more in the host range `{shown}`, found `{step}`"),
          format!("write a whole number after the second `:`, as in `[{begin}:{end}:2]`"),
        ));
      }
    },
  };
  let counts_down = || {
    (
      format!("expected the start of the host range `{shown}` to come before its end"),
      format!("write the smaller value first, as in `[{end}:{begin}]`"),
    )
  };
  if let (Some(b), Some(e)) = (letter(begin), letter(end)) {
    if b > e {
      return Err(counts_down());
    }
    return Ok(LETTERS[b..=e].chars().step_by(step).map(String::from).collect());
  }
  let numeric = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
  if !numeric(begin) || !numeric(end) {
    return Err((
      format!("expected two numbers or two single letters in the host range `{shown}`"),
      "write a range such as `[01:50]` or `[a:f]`".to_owned(),
    ));
  }
  let width = if begin.len() > 1 && begin.starts_with('0') {
    if end.len() != begin.len() {
      let w = begin.len().max(end.len());
      return Err((
        format!(
          "expected `{end}` to have as many digits as `{begin}` in the zero-padded host range `{shown}`"
        ),
        format!("pad both ends to the same width, as in `[{begin:0>w$}:{end:0>w$}]`"),
      ));
    }
    begin.len()
  } else {
    0
  };
  let too_many = || {
    (
      format!("expected at most {MAX_EXPANDED} hosts from the host range `{shown}`, found more"),
      "split it into smaller ranges on several lines".to_owned(),
    )
  };
  let (Ok(b), Ok(e)) = (begin.parse::<u64>(), end.parse::<u64>()) else { return Err(too_many()) };
  if b > e {
    return Err(counts_down());
  }
  if (e - b) / step as u64 >= MAX_EXPANDED as u64 {
    return Err(too_many());
  }
  Ok((b..=e).step_by(step).map(|n| format!("{n:0width$}")).collect())
}

/// The index in [`LETTERS`] of a one-letter string.
fn letter(text: &str) -> Option<usize> {
  let mut chars = text.chars();
  match (chars.next(), chars.next()) {
    (Some(c), None) if c.is_ascii_alphabetic() => LETTERS.find(c),
    _ => None,
  }
}
