//! `converge completions SHELL` and `converge man`: the completion scripts and
//! the manual page, generated from the same clap definition as `--help`.

use crate::cli::arguments::{Arguments, Shell};
use clap::CommandFactory;
use std::io::Write;

/// Writes the completion script of `shell` to `out`.
pub fn completions(shell: Shell, out: &mut dyn Write) {
  let mut command = Arguments::command();
  let generator = match shell {
    Shell::Bash => clap_complete::Shell::Bash,
    Shell::Zsh => clap_complete::Shell::Zsh,
    Shell::Fish => clap_complete::Shell::Fish,
  };
  clap_complete::generate(generator, &mut command, "converge", out);
}

/// Writes the manual page, converge(1), in roff: the main command, then a
/// section per subcommand with its options and examples.
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
  let mut command = Arguments::command();
  command.build();
  let man = clap_mangen::Man::new(command.clone());
  man.render_title(out)?;
  man.render_name_section(out)?;
  man.render_synopsis_section(out)?;
  man.render_description_section(out)?;
  man.render_options_section(out)?;
  render_examples(&command, "EXAMPLES", out)?;
  for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
    let name = format!("converge {}", sub.get_name());
    writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
    if let Some(about) = sub.get_long_about().or(sub.get_about()) {
      writeln!(out, "{}", roff_text(&about.to_string()))?;
    }
    let sub_man = clap_mangen::Man::new(sub.clone());
    let mut sections = Vec::new();
    sub_man.render_synopsis_section(&mut sections)?;
    sub_man.render_options_section(&mut sections)?;
    // The subcommand's sections become subsections of its own section.
    let text = format!("\n{}", String::from_utf8_lossy(&sections)).replace("\n.SH ", "\n.SS ");
    out.write_all(&text.as_bytes()[1..])?;
    render_examples(sub, "Examples", out)?;
  }
  man.render_version_section(out)?;
  Ok(())
}

/// The `after_help` example block, kept as preformatted lines.
fn render_examples(command: &clap::Command, title: &str, out: &mut dyn Write) -> std::io::Result<()> {
  let Some(text) = command.get_after_help().map(ToString::to_string) else { return Ok(()) };
  let body = text.strip_prefix("Examples:\n").unwrap_or(&text);
  if title == "EXAMPLES" {
    writeln!(out, ".SH EXAMPLES")?;
  } else {
    writeln!(out, ".SS {title}")?;
  }
  writeln!(out, ".nf")?;
  for line in body.lines() {
    writeln!(out, "{}", roff_text(line))?;
  }
  writeln!(out, ".fi")
}

/// Text safe in roff: backslashes escaped, no line starting with a control character.
fn roff_text(text: &str) -> String {
  text
    .lines()
    .map(|l| {
      let l = l.replace('\\', "\\e");
      if l.starts_with('.') || l.starts_with('\'') { format!("\\&{l}") } else { l }
    })
    .collect::<Vec<_>>()
    .join("\n")
}
