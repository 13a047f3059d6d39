//! Words of Terraform and Ansible, and misspelt subcommands, on converge's
//! command line: each gets a clear message naming the command that does what
//! was meant, and a non-zero exit, instead of "cannot read `plan`".

use std::path::Path;

/// The subcommands, for "did you mean".
const SUBCOMMANDS: &[&str] =
  &["check", "verify", "apply", "enforce", "schedule", "fmt", "completions", "man"];

/// What was typed, why it does not work, and the command line to run instead
/// (`None` when there is no single right one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Habit {
  pub(crate) message: String,
  pub(crate) instead: Option<Vec<String>>,
}

impl Habit {
  /// The text printed on standard error.
  pub(crate) fn render(&self) -> String {
    let mut text = format!("error: {}\n", self.message);
    if let Some(argv) = &self.instead {
      let line: Vec<String> = argv.iter().map(|a| shell_word(a)).collect();
      text.push_str(&format!("\n  try: {}\n", format!("converge {}", line.join(" ")).trim_end()));
    }
    text
  }
}

/// A word quoted for a POSIX shell when it needs to be.
fn shell_word(word: &str) -> String {
  let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
  if plain { word.to_owned() } else { crate::host::shell::sh!("{}", word).into() }
}

/// Finds the first habit in `args` (the arguments after the program name).
/// `exists` says whether a path exists, so that a playbook called `plan` is
/// still read as one.
pub(crate) fn find(args: &[String], exists: &dyn Fn(&Path) -> bool) -> Option<Habit> {
  let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
  let (args, rest) = args.split_at(end);
  if args.iter().any(|a| ["-h", "--help", "-V", "--version"].contains(&a.as_str())) {
    return None;
  }
  let first = args.first().map(String::as_str);
  // `converge inventory` takes Ansible's own `-i`, as `ansible-inventory` does.
  if first == Some("inventory") {
    return None;
  }
  let with = |replace: &[&str], from: usize| -> Vec<String> {
    let mut out: Vec<String> = replace.iter().map(|s| (*s).to_owned()).collect();
    out.extend(args.iter().skip(from).cloned());
    out.extend(rest.iter().cloned());
    out
  };
  if let Some(word) = first.filter(|w| !w.starts_with('-') && !exists(Path::new(w)))
    && let Some(habit) = subcommand_word(word, &with)
  {
    return Some(habit);
  }
  if first == Some("apply") && !args.iter().skip(1).any(|a| !a.starts_with('-')) {
    let flags: Vec<&String> = args.iter().skip(1).filter(|a| !is_auto_approve(a)).collect();
    let mut instead = vec![];
    instead.extend(flags.into_iter().cloned());
    instead.extend(rest.iter().cloned());
    return Some(Habit {
      message: "`converge apply` applies a plan saved by `converge --plan --out FILE`, and no plan file was \
                given; `converge` alone plans and applies at once, asking nothing (Terraform's `apply \
                -auto-approve`)"
        .to_owned(),
      instead: Some(instead),
    });
  }
  let fmt = first == Some("fmt");
  let mut fixed: Vec<String> = Vec::new();
  let mut notes: Vec<String> = Vec::new();
  for arg in args {
    let (flag, value) = match arg.split_once('=') {
      Some((f, v)) if f.starts_with('-') => (f, Some(v)),
      _ => (arg.as_str(), None),
    };
    let replacement: Option<(&[&str], String)> = match flag {
      "--check" | "-C" if !fmt => {
        Some((&["--plan"], format!("`{flag}` is Ansible's dry run; converge's is `--plan`")))
      }
      "--diff" | "-D" => Some((
        &[],
        format!(
          "`{flag}`: converge always shows the diff of every file it changes, in the plan and when applying"
        ),
      )),
      "--syntax-check" => {
        Some((&[], "`--syntax-check` is Ansible's; converge's is `converge check`".to_owned()))
      }
      "-auto-approve" | "--auto-approve" => {
        Some((&[], format!("`{flag}`: converge never asks before applying; drop it")))
      }
      "-var" => Some((&["--var"], "Terraform's `-var` is converge's `--var` (or `-e`)".to_owned())),
      "-var-file" => Some((&["--var-file"], "Terraform's `-var-file` is converge's `--var-file`".to_owned())),
      "-out" => Some((&["--out"], "Terraform's `-out` is converge's `--out` (with `--plan`)".to_owned())),
      "-detailed-exitcode" | "--detailed-exitcode" => Some((
        &[],
        format!(
          "`{flag}`: `converge --plan` always exits 0 with nothing to do, 2 with changes pending, 1 on error"
        ),
      )),
      "-i" | "--inventory" | "--inventory-file" => {
        return Some(Habit {
          message: format!(
            "`{flag}`: converge reads the inventory a playbook names, with `inventory \"hosts.ini\"` in the \
             playbook (an Ansible INI inventory is read as it is)"
          ),
          instead: None,
        });
      }
      _ => None,
    };
    match replacement {
      Some((words, note)) => {
        for w in words {
          let w = match value {
            Some(v) => format!("{w}={v}"),
            None => (*w).to_owned(),
          };
          if !fixed.contains(&w) {
            fixed.push(w);
          }
        }
        notes.push(note);
      }
      None => fixed.push(arg.clone()),
    }
  }
  if notes.is_empty() {
    return None;
  }
  fixed.extend(rest.iter().cloned());
  Some(Habit { message: notes.join("\n       "), instead: Some(fixed) })
}

fn is_auto_approve(arg: &str) -> bool {
  arg == "-auto-approve" || arg == "--auto-approve"
}

/// `converge plan`, `converge init`, `converge chek`...
fn subcommand_word(word: &str, with: &dyn Fn(&[&str], usize) -> Vec<String>) -> Option<Habit> {
  let habit =
    |message: &str, instead: Option<Vec<String>>| Some(Habit { message: message.to_owned(), instead });
  match word {
    "plan" | "diff" => habit(
      &format!(
        "converge has no `{word}` command: `converge --plan` shows what would change and changes nothing"
      ),
      Some(with(&["--plan"], 1)),
    ),
    "validate" | "lint" => habit(
      &format!(
        "converge has no `{word}` command: `converge check` checks playbooks without contacting hosts"
      ),
      Some(with(&["check"], 1)),
    ),
    "format" => habit("converge's formatter is `converge fmt`", Some(with(&["fmt"], 1))),
    "init" => habit(
      "converge needs no `init`: it reads playbooks as they are and keeps no providers or modules; \
       `converge check` checks them",
      Some(with(&["check"], 1)),
    ),
    "run" | "up" | "converge" => habit(
      &format!("converge has no `{word}` command: `converge` alone plans and applies"),
      Some(with(&[], 1)),
    ),
    _ if SUBCOMMANDS.contains(&word) || word == "help" => None,
    _ if !word.contains(['.', '/']) => {
      let near = crate::diagnostic::did_you_mean(word, SUBCOMMANDS.iter().copied())?;
      habit(
        &format!(
          "converge has no `{word}` command, and no playbook `{word}` exists; did you mean `converge {near}`?"
        ),
        Some(with(&[near], 1)),
      )
    }
    _ => None,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn run(line: &str) -> Option<Habit> {
    let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    find(&args, &|p| p == Path::new("site.goenv"))
  }

  fn instead(line: &str) -> Option<String> {
    run(line).and_then(|h| h.instead).map(|a| a.join(" "))
  }

  #[test]
  fn terraform_plan_is_dash_dash_plan() {
    assert_eq!(instead("plan site.goenv -l web"), Some("--plan site.goenv -l web".to_owned()));
  }

  #[test]
  fn a_playbook_called_plan_is_read() {
    let args = vec!["plan".to_owned()];
    assert_eq!(find(&args, &|_| true), None);
  }

  #[test]
  fn ansible_check_diff_is_plan_once() {
    assert_eq!(instead("site.goenv --check --diff"), Some("site.goenv --plan".to_owned()));
    assert_eq!(run("fmt --check"), None);
  }

  #[test]
  fn apply_without_a_plan_file() {
    assert_eq!(instead("apply -auto-approve"), Some(String::new()));
    assert_eq!(instead("apply --local"), Some("--local".to_owned()));
    assert_eq!(run("apply plan"), None);
  }

  #[test]
  fn misspelt_subcommands() {
    assert_eq!(instead("chek site.goenv"), Some("check site.goenv".to_owned()));
    assert_eq!(instead("verfy"), Some("verify".to_owned()));
    assert_eq!(run("missing.goenv"), None);
    // Short words are not taken for a three-letter command.
    assert_eq!(run("ci"), None);
  }

  #[test]
  fn terraform_single_dash_flags() {
    assert_eq!(instead("--plan -var a=b"), Some("--plan --var a=b".to_owned()));
    assert_eq!(instead("--plan -out=p.bin"), Some("--plan --out=p.bin".to_owned()));
  }

  #[test]
  fn the_command_to_run_instead_is_quoted_for_the_shell() {
    let habit = run("plan my site.goenv");
    let text = habit.map(|h| h.render()).unwrap_or_default();
    assert!(text.ends_with("try: converge --plan my site.goenv\n"), "{text}");
    let args = vec!["plan".to_owned(), "it's here.goenv".to_owned()];
    let text = find(&args, &|_| false).map(|h| h.render()).unwrap_or_default();
    let quoted: String = crate::host::shell::sh!("{}", "it's here.goenv").into();
    assert!(text.ends_with(&format!("try: converge --plan {quoted}\n")), "{text}");
  }

  #[test]
  fn words_after_double_dash_are_playbooks() {
    assert_eq!(run("--plan -- --check"), None);
  }
}
