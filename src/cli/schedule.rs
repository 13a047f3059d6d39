//! Scheduled enforcement: the files that make a host run `converge enforce`
//! again and again with nobody at the keyboard, so drift is put right within
//! one interval instead of at the next manual run.
//!
//! Two schedulers are supported. A systemd timer is the better one: it counts
//! the interval from the end of the previous run, so runs never pile up, and it
//! spreads the hosts of a fleet with a random delay. Cron is the fallback for
//! hosts without systemd; it fires on the wall clock, so only intervals that
//! divide an hour or a day evenly can be written as a crontab line.
//!
//! This module only renders text and writes files; enabling the timer
//! (`systemctl daemon-reload`, `systemctl enable --now NAME.timer`) or loading
//! the crontab (`crontab -l`, `crontab -`) is left to the caller.

use crate::host::shell::{cron, systemd};
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// The unit and marker name used when the caller gives none.
pub const DEFAULT_NAME: &str = "converge-enforce";

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
/// The longest interval [`parse_interval`] accepts, in seconds.
const MAX_INTERVAL: u64 = 365 * DAY;
/// The longest random delay [`default_jitter`] chooses.
const MAX_DEFAULT_JITTER: Duration = Duration::from_secs(5 * MINUTE);
/// systemd unit names have at most 255 bytes, and `.service` is appended.
const MAX_NAME_LEN: usize = 240;

/// What to schedule: one run of `converge enforce` every `every`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
  /// The unit name (`NAME.service`, `NAME.timer`) and the crontab marker name:
  /// letters, digits and `_ . @ -`. [`DEFAULT_NAME`] unless the caller has
  /// several schedules on one host.
  pub name: String,
  /// How long from the end of one run to the start of the next (systemd), or
  /// between two starts (cron).
  pub every: Duration,
  /// The longest random delay added to each start (`RandomizedDelaySec=`), so
  /// the hosts of a fleet do not all run at once. Cron ignores it.
  pub jitter: Duration,
  /// The command line: the absolute path of converge, `enforce`, then its
  /// arguments.
  pub exec: Vec<String>,
  /// The absolute directory the command runs in.
  pub working_dir: PathBuf,
  /// System units, run by root from `/etc/systemd/system`, rather than user
  /// units from `~/.config/systemd/user`. User timers run only while the user's
  /// service manager does: when logged in, or always after
  /// `loginctl enable-linger`.
  pub system: bool,
}

impl Schedule {
  /// A schedule named [`DEFAULT_NAME`] with the [`default_jitter`] of `every`.
  pub fn new(every: Duration, exec: Vec<String>, working_dir: PathBuf, system: bool) -> Self {
    Schedule {
      name: DEFAULT_NAME.to_owned(),
      every,
      jitter: default_jitter(every),
      exec,
      working_dir,
      system,
    }
  }

  /// Checks what both schedulers need: a valid name, an interval
  /// [`parse_interval`] would accept, an absolute program and working
  /// directory, and no text a unit file line or a crontab line cannot hold.
  pub fn check(&self) -> Result<(), ScheduleError> {
    check_name(&self.name)?;
    let every = self.every;
    if every < Duration::from_secs(MINUTE) || every > Duration::from_secs(MAX_INTERVAL) {
      return Err(ScheduleError::Every { every });
    }
    let program = self.exec.first().ok_or(ScheduleError::EmptyExec)?;
    if !program.starts_with('/') {
      return Err(ScheduleError::RelativeProgram { program: program.clone() });
    }
    if let Some(arg) = self.exec.iter().find(|a| a.chars().any(char::is_control)) {
      return Err(ScheduleError::ControlCharacter { arg: arg.clone() });
    }
    working_dir(&self.working_dir)?;
    Ok(())
  }
}

/// The random delay to use when the caller gives none: a tenth of the
/// interval, at most five minutes, in whole seconds.
pub fn default_jitter(every: Duration) -> Duration {
  Duration::from_secs((every / 10).min(MAX_DEFAULT_JITTER).as_secs())
}

/// Why a text is not an interval.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid interval \"{text}\": expected {expected}")]
pub struct IntervalError {
  /// The text as given.
  pub text: String,
  /// What an interval has to look like.
  pub expected: IntervalExpectation,
}

/// What [`parse_interval`] expected and did not find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntervalExpectation {
  NumberAndUnit,
  NotZero,
  AtLeastAMinute,
  AtMostAYear,
}

impl fmt::Display for IntervalExpectation {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(match self {
      IntervalExpectation::NumberAndUnit => "a number and a unit, like 30m, 1h or 1d",
      IntervalExpectation::NotZero => "an interval longer than zero, like 30m, 1h or 1d",
      IntervalExpectation::AtLeastAMinute => {
        "at least 1m: a converge run takes seconds, and a timer firing more than once a minute would \
         start while the previous run still holds converge's lock, only to wait on it"
      }
      IntervalExpectation::AtMostAYear => "at most 365d",
    })
  }
}

/// Parses an interval the way systemd writes time spans: numbers with units,
/// optionally several and separated by spaces (`30m`, `15min`, `45 min`,
/// `2h30m`, `1d`). Units: `s`/`sec`/`second`, `m`/`min`/`minute`,
/// `h`/`hr`/`hour`, `d`/`day`, each also with a plural `s`. The interval must
/// be between one minute and 365 days.
pub fn parse_interval(text: &str) -> Result<Duration, IntervalError> {
  let error = |expected| IntervalError { text: text.to_owned(), expected };
  let mut rest = text.trim();
  if rest.is_empty() {
    return Err(error(IntervalExpectation::NumberAndUnit));
  }
  let mut total: u64 = 0;
  while !rest.is_empty() {
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    if digits == 0 {
      return Err(error(IntervalExpectation::NumberAndUnit));
    }
    // Only digits are left, so a failure is an overflow.
    let number: u64 = rest[..digits].parse().map_err(|_| error(IntervalExpectation::AtMostAYear))?;
    rest = rest[digits..].trim_start();
    let letters = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
    let unit = unit_seconds(&rest[..letters]).ok_or_else(|| error(IntervalExpectation::NumberAndUnit))?;
    total = number
      .checked_mul(unit)
      .and_then(|seconds| total.checked_add(seconds))
      .ok_or_else(|| error(IntervalExpectation::AtMostAYear))?;
    rest = rest[letters..].trim_start();
  }
  match total {
    0 => Err(error(IntervalExpectation::NotZero)),
    t if t < MINUTE => Err(error(IntervalExpectation::AtLeastAMinute)),
    t if t > MAX_INTERVAL => Err(error(IntervalExpectation::AtMostAYear)),
    t => Ok(Duration::from_secs(t)),
  }
}

fn unit_seconds(unit: &str) -> Option<u64> {
  Some(match unit {
    "s" | "sec" | "secs" | "second" | "seconds" => 1,
    "m" | "min" | "mins" | "minute" | "minutes" => MINUTE,
    "h" | "hr" | "hrs" | "hour" | "hours" => HOUR,
    "d" | "day" | "days" => DAY,
    _ => return None,
  })
}

/// Writes a duration as a systemd time span, largest unit first: `30min`,
/// `2h 30min`, `1d`, `1min 30s`. systemd reads it back; people read it too.
pub fn format_interval(duration: Duration) -> String {
  let mut seconds = duration.as_secs();
  let mut parts = Vec::new();
  for (unit, size) in [("d", DAY), ("h", HOUR), ("min", MINUTE), ("s", 1)] {
    if seconds >= size {
      parts.push(format!("{}{unit}", seconds / size));
      seconds %= size;
    }
  }
  let millis = duration.subsec_millis();
  if millis > 0 {
    parts.push(format!("{millis}ms"));
  }
  if parts.is_empty() { "0".to_owned() } else { parts.join(" ") }
}

/// Why a [`Schedule`] cannot be rendered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
  #[error("invalid schedule name \"{name}\": expected {expected}")]
  Name { name: String, expected: &'static str },
  #[error("invalid interval {}: expected between 1m and 365d", format_interval(*.every))]
  Every { every: Duration },
  #[error("nothing to schedule: the command line is empty")]
  EmptyExec,
  #[error(
    "the program \"{program}\" is not an absolute path: a scheduled run does not search the PATH of your shell"
  )]
  RelativeProgram { program: String },
  #[error("the argument {arg:?} contains a control character, which a unit file or crontab line cannot hold")]
  ControlCharacter { arg: String },
  #[error("invalid working directory \"{}\": expected {expected}", .dir.display())]
  WorkingDir { dir: PathBuf, expected: &'static str },
}

fn check_name(name: &str) -> Result<(), ScheduleError> {
  let error = |expected| Err(ScheduleError::Name { name: name.to_owned(), expected });
  if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "_.@-".contains(c)) {
    return error("letters, digits and _ . @ -");
  }
  if name.len() > MAX_NAME_LEN {
    return error("at most 240 characters");
  }
  if name.starts_with('@') || name.ends_with('@') {
    return error("@ neither first nor last, as systemd reads a@b as instance b of the template a@");
  }
  Ok(())
}

/// The working directory as unit file and crontab text.
fn working_dir(dir: &Path) -> Result<&str, ScheduleError> {
  let error = |expected| Err(ScheduleError::WorkingDir { dir: dir.to_owned(), expected });
  let Some(text) = dir.to_str() else {
    return error("UTF-8 text");
  };
  if !dir.is_absolute() {
    return error("an absolute path");
  }
  if dir.components().any(|c| c == Component::ParentDir) {
    return error("a path without .. (systemd refuses it)");
  }
  if text.chars().any(char::is_control) {
    return error("no control characters");
  }
  if text.ends_with(|c: char| c.is_whitespace() || c == '\\') {
    // systemd strips trailing whitespace, and a final backslash continues the line.
    return error("no whitespace or backslash at the end");
  }
  Ok(text)
}

/// The two systemd units of a [`Schedule`]: a oneshot service that runs
/// converge, and the timer that starts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Units {
  /// `NAME.service`
  pub service_name: String,
  /// The service unit file.
  pub service: String,
  /// `NAME.timer`
  pub timer_name: String,
  /// The timer unit file, the one to enable.
  pub timer: String,
}

/// Renders the service and timer units of `s`.
///
/// The timer starts the service five minutes after boot (or at once when it is
/// enabled later than that), then `every` after each run ends, plus up to
/// `jitter` at random. Counting from the end of a run means runs never pile
/// up; `Persistent=` only applies to calendar timers, so it is not used.
pub fn systemd_units(s: &Schedule) -> Result<Units, ScheduleError> {
  s.check()?;
  let dir = working_dir(&s.working_dir)?;
  let name = &s.name;
  let mut service = vec!["[Unit]".to_owned(), format!("Description=converge enforce ({name})")];
  if s.system {
    // A user manager cannot see system targets, so only system units wait for the network.
    service.push("Wants=network-online.target".to_owned());
    service.push("After=network-online.target".to_owned());
  }
  service.extend([String::new(), "[Service]".to_owned(), "Type=oneshot".to_owned()]);
  if s.system {
    // Without `User=`, systemd gives a system service neither HOME nor USER nor
    // SHELL (systemd.exec(5)): converge would plan `~/.bashrc` as `/.bashrc`
    // and find no state directory. With it, they come from root's passwd entry.
    service.push("User=root".to_owned());
  }
  service.extend([
    // WorkingDirectory= takes the rest of the line as it is: no quotes, only specifiers.
    format!("WorkingDirectory={}", systemd::verbatim(dir)),
    format!("ExecStart={}", systemd::command_line(&s.exec)),
    "Nice=10".to_owned(),
    // Not `idle`: on a busy disk it can starve a run indefinitely while it holds converge's lock.
    "IOSchedulingClass=best-effort".to_owned(),
    "IOSchedulingPriority=7".to_owned(),
  ]);

  let mut timer = vec![
    "[Unit]".to_owned(),
    format!("Description=Run converge enforce ({name}) every {}", format_interval(s.every)),
    String::new(),
    "[Timer]".to_owned(),
    "OnBootSec=5min".to_owned(),
    format!("OnUnitInactiveSec={}", format_interval(s.every)),
  ];
  if !s.jitter.is_zero() {
    timer.push(format!("RandomizedDelaySec={}", format_interval(s.jitter)));
  }
  timer
    .extend(["AccuracySec=1min", "", "[Install]", "WantedBy=timers.target"].into_iter().map(str::to_owned));

  Ok(Units {
    service_name: format!("{name}.service"),
    service: lines(&service),
    timer_name: format!("{name}.timer"),
    timer: lines(&timer),
  })
}

fn lines(lines: &[String]) -> String {
  lines.iter().flat_map(|line| [line.as_str(), "\n"]).collect()
}

/// Why a crontab cannot run a [`Schedule`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
  #[error(
    "cron cannot run converge every {} evenly: use a systemd timer, or an interval that divides an hour \
     (like 15m or 30m) or a day (like 2h or 6h)",
    format_interval(*.every)
  )]
  Interval { every: Duration },
  #[error(
    "the crontab has \"# BEGIN converge {name}\" without a matching \"# END converge {name}\" after it; \
     complete or remove that block with crontab -e"
  )]
  UnclosedBlock { name: String },
  #[error(transparent)]
  Schedule(#[from] ScheduleError),
}

/// The crontab line of `s`, for a user's crontab (`crontab -l`; root's for a
/// system schedule): `cd DIR && COMMAND`, quoted for `/bin/sh`, with `%`
/// escaped for cron. There is no `flock` (converge takes its own lock) and no
/// redirection: converge writes its own report, and cron mails whatever else
/// it prints.
///
/// Cron fires on the clock, so only intervals that divide an hour
/// (`*/M * * * *`) or a day (`0 */H * * *`) are accepted, and `jitter` is not
/// used.
pub fn cron_line(s: &Schedule) -> Result<String, CronError> {
  s.check()?;
  let dir = working_dir(&s.working_dir)?;
  let fields = cron_fields(s.every).ok_or(CronError::Interval { every: s.every })?;
  Ok(format!("{fields} {}", cron::command(dir, &s.exec)))
}

/// The five time fields for `every`, when cron can run it evenly.
fn cron_fields(every: Duration) -> Option<String> {
  if every.subsec_nanos() != 0 || !every.as_secs().is_multiple_of(MINUTE) {
    return None;
  }
  let minutes = every.as_secs() / MINUTE;
  let fields = match minutes {
    0 => return None,
    1 => "* * * * *".to_owned(),
    m if m < 60 && 60 % m == 0 => format!("*/{m} * * * *"),
    60 => "0 * * * *".to_owned(),
    1440 => "0 0 * * *".to_owned(),
    m if m % 60 == 0 && m < 1440 && 1440 % m == 0 => format!("0 */{} * * *", m / 60),
    _ => return None,
  };
  Some(fields)
}

/// Returns `current` (a crontab's text) with the [`cron_line`] of `s` between
/// `# BEGIN converge NAME` and `# END converge NAME`. An earlier block of the
/// same name is replaced where it stands (later duplicates are dropped);
/// otherwise the block is appended. Every other byte stays as it was, and
/// installing the same schedule twice gives the same text.
pub fn install_cron(s: &Schedule, current: &str) -> Result<String, CronError> {
  let line = cron_line(s)?;
  let begin = format!("# BEGIN converge {}", s.name);
  let end = format!("# END converge {}", s.name);
  let block = format!("{begin}\n{line}\n{end}\n");
  let mut crontab = String::with_capacity(current.len() + block.len());
  let mut placed = false;
  let mut rest = current.split_inclusive('\n');
  while let Some(text) = rest.next() {
    if text.trim() != begin {
      crontab.push_str(text);
      continue;
    }
    if !rest.by_ref().any(|text| text.trim() == end) {
      return Err(CronError::UnclosedBlock { name: s.name.clone() });
    }
    if !placed {
      crontab.push_str(&block);
      placed = true;
    }
  }
  if !placed {
    if !crontab.is_empty() && !crontab.ends_with('\n') {
      crontab.push('\n');
    }
    crontab.push_str(&block);
  }
  Ok(crontab)
}

/// Why the units could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
  #[error(transparent)]
  Schedule(#[from] ScheduleError),
  #[error("cannot create {}: {source}", .dir.display())]
  CreateDir { dir: PathBuf, source: std::io::Error },
  #[error("cannot write {}: {source}", .path.display())]
  Write { path: PathBuf, source: std::io::Error },
}

/// Writes the [`systemd_units`] of `s` into `dir` (created when missing),
/// service first, each atomically with mode 0644, and returns their paths.
/// The caller then runs `systemctl daemon-reload` and
/// `systemctl enable --now NAME.timer` (with `--user` for user units).
pub fn install_systemd(s: &Schedule, dir: &Path) -> Result<Vec<PathBuf>, InstallError> {
  let units = systemd_units(s)?;
  fs::create_dir_all(dir).map_err(|source| InstallError::CreateDir { dir: dir.to_owned(), source })?;
  let mut written = Vec::with_capacity(2);
  for (name, text) in [(&units.service_name, &units.service), (&units.timer_name, &units.timer)] {
    let path = dir.join(name);
    crate::atomic::write(&path, text.as_bytes(), Some(0o644))
      .map_err(|source| InstallError::Write { path: path.clone(), source })?;
    written.push(path);
  }
  Ok(written)
}

/// Where units are installed: `/etc/systemd/system` for system units; for user
/// units `$XDG_CONFIG_HOME/systemd/user`, or `~/.config/systemd/user` when that
/// variable is unset or not absolute. `None` when neither variable helps.
pub fn default_unit_dir(system: bool) -> Option<PathBuf> {
  unit_dir(system, std::env::var_os("XDG_CONFIG_HOME"), std::env::var_os("HOME"))
}

fn unit_dir(system: bool, config_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
  if system {
    return Some(PathBuf::from("/etc/systemd/system"));
  }
  let absolute = |value: Option<OsString>| value.map(PathBuf::from).filter(|path| path.is_absolute());
  absolute(config_home)
    .map(|config| config.join("systemd/user"))
    .or_else(|| absolute(home).map(|home| home.join(".config/systemd/user")))
}

#[cfg(test)]
mod tests;
