//! `converge schedule`: the timer or cron line that runs `converge enforce`.

use super::{EXIT_ERROR, EXIT_OK};
use crate::report::reporter::Reporter;

/// `converge schedule`: the systemd service and timer (or the cron line) that
/// run `converge enforce` with the same arguments every INTERVAL; printed, or
/// installed with `--install`.
pub fn schedule(args: &crate::cli::config::Schedule, reporter: &Reporter) -> i32 {
  use crate::cli::schedule::{
    Schedule, cron_line, default_unit_dir, install_cron, install_systemd, systemd_units,
  };
  let fail = |message: &str| {
    reporter.note(&format!("error: {message}"));
    EXIT_ERROR
  };
  let every = match crate::cli::schedule::parse_interval(&args.every) {
    Ok(d) => d,
    Err(e) => return fail(&format!("--every: {e}")),
  };
  let exe = match std::env::current_exe() {
    Ok(p) => p.display().to_string(),
    Err(e) => return fail(&format!("cannot tell where this converge binary is: {e}")),
  };
  let cwd = match std::env::current_dir() {
    Ok(d) => d,
    Err(e) => return fail(&format!("cannot read the current directory: {e}")),
  };
  let mut exec = vec![exe, "enforce".to_owned()];
  exec.extend(args.enforce.iter().cloned());
  let root = {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
  };
  let mut schedule = Schedule::new(every, exec, cwd, root);
  schedule.name.clone_from(&args.name);
  if args.cron {
    if !args.install {
      return match cron_line(&schedule) {
        Ok(line) => {
          reporter.line(&line);
          EXIT_OK
        }
        Err(e) => fail(&e.to_string()),
      };
    }
    let current = std::process::Command::new("crontab").arg("-l").output();
    let current = match current {
      Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
      // `crontab -l` fails when there is no crontab yet.
      Ok(_) => String::new(),
      Err(e) => return fail(&format!("cannot run crontab: {e}")),
    };
    let text = match install_cron(&schedule, &current) {
      Ok(t) => t,
      Err(e) => return fail(&e.to_string()),
    };
    return match crontab_write(&text) {
      Ok(()) => {
        reporter.note(&format!("Installed the cron entry `{}` (crontab -l shows it).", schedule.name));
        EXIT_OK
      }
      Err(e) => fail(&e),
    };
  }
  let units = match systemd_units(&schedule) {
    Ok(u) => u,
    Err(e) => return fail(&e.to_string()),
  };
  if !args.install {
    reporter
      .line(&format!("# {}\n{}\n# {}\n{}", units.service_name, units.service, units.timer_name, units.timer));
    return EXIT_OK;
  }
  let Some(dir) = args.unit_dir.clone().or_else(|| default_unit_dir(root)) else {
    return fail("no unit directory: set HOME or pass --unit-dir");
  };
  let written = match install_systemd(&schedule, &dir) {
    Ok(w) => w,
    Err(e) => return fail(&e.to_string()),
  };
  for path in &written {
    reporter.note(&format!("wrote {}", path.display()));
  }
  if args.unit_dir.is_some() {
    reporter.note(&format!(
      "Enable it with `systemctl{} enable --now {}`.",
      if root { "" } else { " --user" },
      units.timer_name
    ));
    return EXIT_OK;
  }
  let systemctl = |verb: &[&str]| {
    let mut cmd = std::process::Command::new("systemctl");
    if !root {
      cmd.arg("--user");
    }
    cmd.args(verb).output()
  };
  for verb in [&["daemon-reload"][..], &["enable", "--now", units.timer_name.as_str()][..]] {
    match systemctl(verb) {
      Ok(out) if out.status.success() => {}
      Ok(out) => {
        return fail(&format!(
          "`systemctl {}` failed: {} (the unit files are written)",
          verb.join(" "),
          String::from_utf8_lossy(&out.stderr).trim()
        ));
      }
      Err(e) => return fail(&format!("cannot run systemctl: {e} (the unit files are written)")),
    }
  }
  reporter.note(&format!(
    "Enabled {}; `systemctl{} list-timers` shows when it runs next.",
    units.timer_name,
    if root { "" } else { " --user" }
  ));
  EXIT_OK
}

/// Replaces the user's crontab with `text`.
fn crontab_write(text: &str) -> Result<(), String> {
  use std::io::Write;
  let mut child = std::process::Command::new("crontab")
    .arg("-")
    .stdin(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .map_err(|e| format!("cannot run crontab: {e}"))?;
  if let Some(mut stdin) = child.stdin.take() {
    stdin.write_all(text.as_bytes()).map_err(|e| format!("cannot write to crontab: {e}"))?;
  }
  let out = child.wait_with_output().map_err(|e| format!("crontab: {e}"))?;
  if out.status.success() {
    Ok(())
  } else {
    Err(format!("`crontab -` failed: {}", String::from_utf8_lossy(&out.stderr).trim()))
  }
}
