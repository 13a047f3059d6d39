use super::*;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn schedule(every: &str) -> Result<Schedule, IntervalError> {
  let exec = vec!["/usr/local/bin/converge".to_owned(), "enforce".to_owned()];
  Ok(Schedule::new(parse_interval(every)?, exec, PathBuf::from("/srv/fleet"), true))
}

fn strings(words: &[&str]) -> Vec<String> {
  words.iter().map(|w| (*w).to_owned()).collect()
}

#[test]
fn parses_intervals() {
  let accepted = [
    ("30m", 30 * MINUTE),
    ("1h", HOUR),
    ("90s", 90),
    ("2h30m", 2 * HOUR + 30 * MINUTE),
    ("2h 30min", 2 * HOUR + 30 * MINUTE),
    ("1d", DAY),
    ("15min", 15 * MINUTE),
    ("45 min", 45 * MINUTE),
    (" 1h ", HOUR),
    ("1m", MINUTE),
    ("60sec", MINUTE),
    ("1m30s", 90),
    ("3 days", 3 * DAY),
    ("2hrs", 2 * HOUR),
    ("1 hour 5 minutes", HOUR + 5 * MINUTE),
    ("365d", 365 * DAY),
  ];
  for (text, seconds) in accepted {
    assert_eq!(parse_interval(text), Ok(Duration::from_secs(seconds)), "{text}");
  }
  use IntervalExpectation::*;
  let rejected = [
    ("", NumberAndUnit),
    ("  ", NumberAndUnit),
    ("3x", NumberAndUnit),
    ("30", NumberAndUnit),
    ("m", NumberAndUnit),
    ("1.5h", NumberAndUnit),
    ("-5m", NumberAndUnit),
    ("1h30", NumberAndUnit),
    ("1M", NumberAndUnit),
    ("5 m x", NumberAndUnit),
    ("1h,30m", NumberAndUnit),
    ("0m", NotZero),
    ("0h 0s", NotZero),
    ("30s", AtLeastAMinute),
    ("59 sec", AtLeastAMinute),
    ("366d", AtMostAYear),
    ("999999999999999999d", AtMostAYear),
    ("99999999999999999999999m", AtMostAYear),
  ];
  for (text, expected) in rejected {
    assert_eq!(parse_interval(text), Err(IntervalError { text: text.to_owned(), expected }), "{text}");
  }
}

#[test]
fn interval_errors_say_what_was_expected() {
  let message = |text| parse_interval(text).err().map(|e| e.to_string());
  assert_eq!(
    message("3x").as_deref(),
    Some(r#"invalid interval "3x": expected a number and a unit, like 30m, 1h or 1d"#)
  );
  let short = message("30s").unwrap_or_default();
  assert!(short.starts_with(r#"invalid interval "30s": expected at least 1m: "#), "{short}");
  assert!(short.contains("lock"), "{short}");
}

#[test]
fn formats_intervals_as_systemd_spans() {
  let cases = [
    (Duration::from_secs(30 * MINUTE), "30min"),
    (Duration::from_secs(2 * HOUR + 30 * MINUTE), "2h 30min"),
    (Duration::from_secs(DAY), "1d"),
    (Duration::from_secs(90), "1min 30s"),
    (Duration::from_millis(1500), "1s 500ms"),
    (Duration::ZERO, "0"),
  ];
  for (duration, span) in cases {
    assert_eq!(format_interval(duration), span);
  }
}

#[test]
fn default_jitter_is_a_tenth_up_to_five_minutes() {
  let cases = [(30 * MINUTE, 3 * MINUTE), (HOUR, 5 * MINUTE), (DAY, 5 * MINUTE), (MINUTE, 6), (95, 9)];
  for (every, jitter) in cases {
    assert_eq!(default_jitter(Duration::from_secs(every)), Duration::from_secs(jitter), "{every}");
  }
}

#[test]
fn validates_names() -> TestResult {
  let base = schedule("1h")?;
  for name in ["converge-enforce", "fleet@prod", "a.b_c-1", "A9", &"a".repeat(240)] {
    assert_eq!(Schedule { name: name.to_owned(), ..base.clone() }.check(), Ok(()), "{name}");
  }
  for name in ["", "a b", "a/b", "é", "x;y", "50%", "@x", "x@", &"a".repeat(241)] {
    let error = Schedule { name: name.to_owned(), ..base.clone() }.check();
    assert!(matches!(&error, Err(ScheduleError::Name { name: n, .. }) if n == name), "{name}: {error:?}");
  }
  Ok(())
}

#[test]
fn checks_command_interval_and_directory() -> TestResult {
  let base = schedule("1h")?;
  let with_exec = |exec: &[&str]| Schedule { exec: strings(exec), ..base.clone() }.check();
  assert_eq!(with_exec(&[]), Err(ScheduleError::EmptyExec));
  assert_eq!(
    with_exec(&["converge", "enforce"]),
    Err(ScheduleError::RelativeProgram { program: "converge".to_owned() })
  );
  assert_eq!(
    with_exec(&["/bin/converge", "a\nb"]),
    Err(ScheduleError::ControlCharacter { arg: "a\nb".to_owned() })
  );
  for every in [Duration::from_secs(30), Duration::from_secs(400 * DAY)] {
    assert_eq!(Schedule { every, ..base.clone() }.check(), Err(ScheduleError::Every { every }));
  }
  let non_utf8 = PathBuf::from(std::ffi::OsStr::from_bytes(b"/srv/\xff"));
  for dir in [PathBuf::from("fleet"), "/srv/../etc".into(), "/srv/fleet ".into(), "/srv/a\\".into(), non_utf8]
  {
    let error = Schedule { working_dir: dir.clone(), ..base.clone() }.check();
    assert!(
      matches!(&error, Err(ScheduleError::WorkingDir { dir: d, .. }) if *d == dir),
      "{dir:?}: {error:?}"
    );
  }
  let empty = Schedule { exec: Vec::new(), ..base };
  assert_eq!(systemd_units(&empty), Err(ScheduleError::EmptyExec));
  assert_eq!(cron_line(&empty), Err(CronError::Schedule(ScheduleError::EmptyExec)));
  Ok(())
}

#[test]
fn renders_the_service() -> TestResult {
  let system = systemd_units(&schedule("30m")?)?;
  assert_eq!(system.service_name, "converge-enforce.service");
  assert_eq!(
    system.service,
    "[Unit]\n\
       Description=converge enforce (converge-enforce)\n\
       Wants=network-online.target\n\
       After=network-online.target\n\
       \n\
       [Service]\n\
       Type=oneshot\n\
       User=root\n\
       WorkingDirectory=/srv/fleet\n\
       ExecStart=\"/usr/local/bin/converge\" \"enforce\"\n\
       Nice=10\n\
       IOSchedulingClass=best-effort\n\
       IOSchedulingPriority=7\n"
  );
  let user = systemd_units(&Schedule { system: false, ..schedule("30m")? })?;
  assert!(!user.service.contains("network-online"), "{}", user.service);
  assert!(!user.service.contains("[Install]"), "{}", user.service);
  assert!(!user.service.contains("User="), "a user manager runs its units as that user: {}", user.service);
  Ok(())
}

#[test]
fn quotes_the_command_and_directory_for_systemd() -> TestResult {
  let s = Schedule {
    name: "fleet@prod".to_owned(),
    exec: strings(&["/opt/my tools/converge", "enforce", "--var", r#"msg=50% "done" $HOME \o/"#, "it's"]),
    working_dir: PathBuf::from("/srv/my fleet/50%/$HOME"),
    ..schedule("30m")?
  };
  let units = systemd_units(&s)?;
  assert!(units.service.contains("\nWorkingDirectory=/srv/my fleet/50%%/$HOME\n"), "{}", units.service);
  let exec = r#"ExecStart="/opt/my tools/converge" "enforce" "--var" "msg=50%% \"done\" $$HOME \\o/" "it's""#;
  assert!(units.service.contains(&format!("\n{exec}\n")), "{}", units.service);
  assert_eq!(
    (units.service_name.as_str(), units.timer_name.as_str()),
    ("fleet@prod.service", "fleet@prod.timer")
  );
  Ok(())
}

#[test]
fn renders_the_timer() -> TestResult {
  let units = systemd_units(&schedule("30m")?)?;
  assert_eq!(units.timer_name, "converge-enforce.timer");
  assert_eq!(
    units.timer,
    "[Unit]\n\
       Description=Run converge enforce (converge-enforce) every 30min\n\
       \n\
       [Timer]\n\
       OnBootSec=5min\n\
       OnUnitInactiveSec=30min\n\
       RandomizedDelaySec=3min\n\
       AccuracySec=1min\n\
       \n\
       [Install]\n\
       WantedBy=timers.target\n"
  );
  let unjittered = systemd_units(&Schedule { jitter: Duration::ZERO, ..schedule("2h30m")? })?;
  assert!(unjittered.timer.contains("\nOnUnitInactiveSec=2h 30min\n"), "{}", unjittered.timer);
  assert!(!unjittered.timer.contains("RandomizedDelaySec"), "{}", unjittered.timer);
  assert!(!unjittered.timer.contains("Persistent"), "{}", unjittered.timer);
  Ok(())
}

#[test]
fn writes_cron_lines_for_even_intervals() -> TestResult {
  let command = "cd /srv/fleet && /usr/local/bin/converge enforce";
  let cases = [
    ("1m", "* * * * *"),
    ("5m", "*/5 * * * *"),
    ("30m", "*/30 * * * *"),
    ("60m", "0 * * * *"),
    ("1h", "0 * * * *"),
    ("2h", "0 */2 * * *"),
    ("8h", "0 */8 * * *"),
    ("1d", "0 0 * * *"),
    ("24h", "0 0 * * *"),
  ];
  for (every, fields) in cases {
    assert_eq!(cron_line(&schedule(every)?)?, format!("{fields} {command}"), "{every}");
  }
  Ok(())
}

#[test]
fn refuses_cron_lines_for_uneven_intervals() -> TestResult {
  for every in ["45m", "7h", "90s", "25h", "2d"] {
    let s = schedule(every)?;
    assert_eq!(cron_line(&s), Err(CronError::Interval { every: s.every }), "{every}");
  }
  let message = cron_line(&schedule("45m")?).err().map(|e| e.to_string());
  assert_eq!(
    message.as_deref(),
    Some(
      "cron cannot run converge every 45min evenly: use a systemd timer, or an interval that divides \
         an hour (like 15m or 30m) or a day (like 2h or 6h)"
    )
  );
  Ok(())
}

#[test]
fn quotes_the_cron_command_for_sh_and_cron() -> TestResult {
  let s = Schedule {
    exec: strings(&["/usr/local/bin/converge", "enforce", "--var", "pct=50%", r"a\%b", ""]),
    working_dir: PathBuf::from("/srv/it's here"),
    ..schedule("30m")?
  };
  assert_eq!(
    cron_line(&s)?,
    r"*/30 * * * * cd '/srv/it'\''s here' && /usr/local/bin/converge enforce --var pct=50\% 'a\''\%b' ''"
  );
  Ok(())
}

/// What vixie cron and cronie do to a command before `/bin/sh -c`: `\%`
/// becomes `%`, and the first other `%` ends the command.
fn cron_unescape(command: &str) -> String {
  let mut out = String::new();
  let mut escaped = false;
  for c in command.chars() {
    if escaped {
      if c == '%' {
        out.pop();
      }
      out.push(c);
      escaped = false;
    } else if c == '\\' {
      out.push(c);
      escaped = true;
    } else if c == '%' {
      break;
    } else {
      out.push(c);
    }
  }
  out
}

#[test]
fn cron_command_runs_with_every_argument_intact() -> TestResult {
  let tmp = tempfile::tempdir()?;
  let dir = tmp.path().join(r"it's 50% \%dir");
  fs::create_dir(&dir)?;
  let args = ["it's", "50%", r"a\%b", r"c\\%d", "$HOME", "\"q\"", "", "x y", "`id`", "*", "%"];
  let mut exec = strings(&["/bin/sh", "-c", r#"printf '%s|' "$PWD" "$@""#, "sh"]);
  exec.extend(strings(&args));
  let s = Schedule { exec, working_dir: dir.clone(), ..schedule("30m")? };
  let line = cron_line(&s)?;
  let command = line.splitn(6, ' ').nth(5).unwrap_or_default();
  let output = Command::new("/bin/sh").arg("-c").arg(cron_unescape(command)).output()?;
  assert!(output.status.success(), "{line}: {}", String::from_utf8_lossy(&output.stderr));
  let expected: String = std::iter::once(dir.to_string_lossy().into_owned())
    .chain(args.iter().map(|a| (*a).to_owned()))
    .map(|a| a + "|")
    .collect();
  assert_eq!(String::from_utf8_lossy(&output.stdout), expected, "{line}");
  Ok(())
}

#[test]
fn install_cron_replaces_its_block_and_keeps_the_rest() -> TestResult {
  let s = schedule("30m")?;
  let line = cron_line(&s)?;
  let current = "MAILTO=ops@example.com\n\
                   # nightly backup\n\
                   0 3 * * * /usr/bin/backup  --all\n\
                   # BEGIN converge converge-enforce\n\
                   */10 * * * * cd /old && /old/converge enforce\n\
                   # END converge converge-enforce\n\
                   # BEGIN converge other\n\
                   0 * * * * cd /x && /x/converge enforce\n\
                   # END converge other\n\
                   @reboot /usr/bin/true";
  let expected = format!(
    "MAILTO=ops@example.com\n\
       # nightly backup\n\
       0 3 * * * /usr/bin/backup  --all\n\
       # BEGIN converge converge-enforce\n\
       {line}\n\
       # END converge converge-enforce\n\
       # BEGIN converge other\n\
       0 * * * * cd /x && /x/converge enforce\n\
       # END converge other\n\
       @reboot /usr/bin/true"
  );
  let installed = install_cron(&s, current)?;
  assert_eq!(installed, expected);
  assert_eq!(install_cron(&s, &installed)?, installed);
  Ok(())
}

#[test]
fn install_cron_appends_a_new_block() -> TestResult {
  let s = schedule("1h")?;
  let block =
    format!("# BEGIN converge converge-enforce\n{}\n# END converge converge-enforce\n", cron_line(&s)?);
  assert_eq!(install_cron(&s, "")?, block);
  let installed = install_cron(&s, "MAILTO=\n0 3 * * * /usr/bin/backup")?;
  assert_eq!(installed, format!("MAILTO=\n0 3 * * * /usr/bin/backup\n{block}"));
  assert_eq!(install_cron(&s, &installed)?, installed);
  let twice = format!("# a\n{block}# b\n{block}# c\n");
  assert_eq!(install_cron(&s, &twice)?, format!("# a\n{block}# b\n# c\n"));
  Ok(())
}

#[test]
fn install_cron_refuses_an_unclosed_block() -> TestResult {
  let s = schedule("1h")?;
  let current = "# BEGIN converge converge-enforce\n0 * * * * true\n# END converge other\n0 3 * * * backup\n";
  assert_eq!(install_cron(&s, current), Err(CronError::UnclosedBlock { name: s.name.clone() }));
  Ok(())
}

#[test]
fn install_systemd_writes_both_units() -> TestResult {
  let tmp = tempfile::tempdir()?;
  let target = tmp.path().join("config/systemd/user");
  let s = Schedule { system: false, ..schedule("1h")? };
  let written = install_systemd(&s, &target)?;
  assert_eq!(written, vec![target.join("converge-enforce.service"), target.join("converge-enforce.timer")]);
  let units = systemd_units(&s)?;
  for (path, text) in written.iter().zip([&units.service, &units.timer]) {
    assert_eq!(&fs::read_to_string(path)?, text);
    assert_eq!(fs::metadata(path)?.permissions().mode() & 0o7777, 0o644, "{}", path.display());
  }
  assert_eq!(fs::read_dir(&target)?.count(), 2, "no temporary file is left");

  let elsewhere = tmp.path().join("never");
  let invalid = Schedule { name: "a b".to_owned(), ..s };
  assert!(matches!(install_systemd(&invalid, &elsewhere), Err(InstallError::Schedule(_))));
  assert!(!elsewhere.exists());
  Ok(())
}

#[test]
#[allow(clippy::print_stderr)]
fn systemd_analyze_verifies_the_units() -> TestResult {
  let tmp = tempfile::tempdir()?;
  let base = Schedule {
    exec: strings(&["/bin/sh", "-c", "exit 0", "50%", "%z", "$HOME", r#"a"b\c"#, "it's", ";"]),
    working_dir: PathBuf::from("/srv/my fleet/50%z/$x/\"q\""),
    jitter: Duration::from_millis(1500),
    ..schedule("2h30m")?
  };
  let schedules =
    [base.clone(), Schedule { name: "fleet@prod".to_owned(), system: false, jitter: Duration::ZERO, ..base }];
  for s in schedules {
    let written = install_systemd(&s, tmp.path())?;
    let output = match Command::new("systemd-analyze").args(["verify", "--man=no"]).args(&written).output() {
      Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
        eprintln!("skipped: systemd-analyze is not installed");
        return Ok(());
      }
      result => result?,
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}: {stderr}", s.name);
    // systemd only warns about settings it ignores; those warnings name the unit.
    assert!(!stderr.contains(&s.name), "{}: {stderr}", s.name);
  }
  Ok(())
}

#[test]
fn chooses_the_unit_directory() {
  let some = |s: &str| Some(OsString::from(s));
  assert_eq!(unit_dir(true, some("/c"), some("/h")), Some(PathBuf::from("/etc/systemd/system")));
  assert_eq!(unit_dir(true, None, None), Some(PathBuf::from("/etc/systemd/system")));
  assert_eq!(unit_dir(false, some("/c"), some("/h")), Some(PathBuf::from("/c/systemd/user")));
  assert_eq!(unit_dir(false, some(""), some("/h")), Some(PathBuf::from("/h/.config/systemd/user")));
  assert_eq!(unit_dir(false, some("rel"), some("/h")), Some(PathBuf::from("/h/.config/systemd/user")));
  assert_eq!(unit_dir(false, None, some("/h")), Some(PathBuf::from("/h/.config/systemd/user")));
  assert_eq!(unit_dir(false, None, some("")), None);
  assert_eq!(unit_dir(false, None, None), None);
}
