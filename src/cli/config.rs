//! The checked settings of one run, made from [`Arguments`].

use crate::cli::arguments::{
  Arguments, ColorChoice, Command, EnforceArgs, FleetArgs, Format, OutputArgs, Shell,
};
use crate::cli::vars::ExtraVars;
use std::io::IsTerminal;
use std::path::PathBuf;

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subcommand {
  Check { paths: Vec<PathBuf>, vars: ExtraVars },
  Completions(Shell),
  Man,
  Fmt { paths: Vec<PathBuf>, check: bool },
  Lsp,
  Run(Box<Run>),
  Schedule(Schedule),
  Inventory(crate::cli::inventory::InventoryArgs),
}

/// `converge schedule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
  pub every: String,
  pub cron: bool,
  pub install: bool,
  pub name: String,
  pub unit_dir: Option<PathBuf>,
  /// The arguments `converge enforce` is to run with.
  pub enforce: Vec<String>,
}

/// `converge enforce`: where the report and metrics go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enforce {
  pub report: PathBuf,
  pub metrics: PathBuf,
}

/// Pull mode: the playbooks come from a git checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Git {
  pub url: String,
  pub branch: Option<String>,
  pub checkout: PathBuf,
}

/// `converge [--plan] PLAYBOOK...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
  pub playbooks: Vec<PathBuf>,
  pub root: Option<PathBuf>,
  /// False for `--plan`.
  pub apply: bool,
  /// Build the verify matrix after planning or applying.
  pub verify: bool,
  /// `converge verify`: show the matrix only.
  pub verify_only: bool,
  /// `converge verify --probe`: request the module proxies from each host.
  pub probe: bool,
  pub forks: usize,
  pub limit: Option<String>,
  pub host_key_policy: Option<crate::host::ssh::HostKeyPolicy>,
  pub ssh_config: Option<PathBuf>,
  pub connect_timeout: std::time::Duration,
  pub timeout: std::time::Duration,
  /// This machine only, without SSH.
  pub local: bool,
  /// converge's state directory; `None` when there is no home to put it in.
  pub state_dir: Option<PathBuf>,
  pub lock_wait: std::time::Duration,
  /// `--plan --out FILE`.
  pub out: Option<PathBuf>,
  /// `--no-guards` (or `--out`): plan without running the playbooks' guards.
  pub no_guards: bool,
  /// `--no-prune`: what left the playbook stays on the hosts.
  pub no_prune: bool,
  /// `--force-remove`: what left the playbook goes even where edited by hand.
  pub force_remove: bool,
  /// `converge apply PLAN`.
  pub saved: Option<PathBuf>,
  /// `converge enforce`.
  pub enforce: Option<Enforce>,
  pub git: Option<Git>,
  /// `-e`/`--var`, `--var-file`: above every other variable.
  pub vars: ExtraVars,
}

/// The default state directory: `$XDG_STATE_HOME/converge`, else
/// `~/.local/state/converge`.
pub fn default_state_dir() -> Option<PathBuf> {
  let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
  nonempty("XDG_STATE_HOME")
    .filter(|p| p.is_absolute())
    .or_else(|| nonempty("HOME").map(|h| h.join(".local/state")))
    .map(|d| d.join("converge"))
}

impl Run {
  fn new(playbooks: Vec<PathBuf>, root: Option<PathBuf>, apply: bool, verify: bool, fleet: FleetArgs) -> Run {
    use crate::cli::arguments::HostKeyChecking;
    use crate::host::ssh::HostKeyPolicy;
    Run {
      playbooks,
      root,
      apply,
      verify,
      verify_only: false,
      probe: false,
      forks: fleet.forks.unwrap_or(crate::fleet::DEFAULT_FORKS).max(1),
      limit: fleet.limit,
      host_key_policy: fleet.host_key_checking.map(|c| match c {
        HostKeyChecking::Strict => HostKeyPolicy::Strict,
        HostKeyChecking::AcceptNew => HostKeyPolicy::AcceptNew,
      }),
      ssh_config: fleet.ssh_config,
      connect_timeout: std::time::Duration::from_secs(fleet.connect_timeout.max(1)),
      timeout: std::time::Duration::from_secs(fleet.timeout.max(1)),
      local: fleet.local,
      state_dir: fleet.state_dir.or_else(default_state_dir),
      lock_wait: std::time::Duration::from_secs(fleet.lock_timeout),
      out: None,
      no_guards: false,
      no_prune: false,
      force_remove: false,
      saved: None,
      enforce: None,
      git: None,
      vars: ExtraVars::new(),
    }
  }

  fn enforce(args: EnforceArgs, fleet: FleetArgs) -> Run {
    let mut run = Run::new(args.playbooks, None, true, args.verify, fleet);
    let dir = run.state_dir.clone().unwrap_or_else(|| PathBuf::from(".converge"));
    run.enforce = Some(Enforce {
      report: args.report.unwrap_or_else(|| dir.join("report.json")),
      metrics: args.metrics.unwrap_or_else(|| dir.join("converge.prom")),
    });
    run.git = args.git.map(|url| Git {
      url,
      branch: args.branch,
      checkout: args.checkout.unwrap_or_else(|| dir.join("checkout")),
    });
    run
  }
}

/// The command line `converge enforce` gets from `converge schedule`: the same
/// arguments, paths made absolute (a timer does not start where you are).
fn enforce_argv(args: &EnforceArgs, fleet: &FleetArgs) -> Vec<String> {
  let cwd = std::env::current_dir().unwrap_or_default();
  let abs = |p: &PathBuf| cwd.join(p).display().to_string();
  let mut argv = Vec::new();
  let mut opt = |name: &str, value: Option<String>| {
    if let Some(v) = value {
      argv.push(format!("--{name}"));
      argv.push(v);
    }
  };
  opt("report", args.report.as_ref().map(abs));
  opt("metrics", args.metrics.as_ref().map(abs));
  opt("git", args.git.clone());
  opt("branch", args.branch.clone());
  opt("checkout", args.checkout.as_ref().map(abs));
  opt("forks", fleet.forks.map(|f| f.to_string()));
  opt("limit", fleet.limit.clone());
  opt(
    "host-key-checking",
    fleet.host_key_checking.map(|c| {
      match c {
        crate::cli::arguments::HostKeyChecking::Strict => "strict",
        crate::cli::arguments::HostKeyChecking::AcceptNew => "accept-new",
      }
      .to_owned()
    }),
  );
  opt("ssh-config", fleet.ssh_config.as_ref().map(abs));
  opt("state-dir", fleet.state_dir.as_ref().map(abs));
  opt("connect-timeout", (fleet.connect_timeout != 10).then(|| fleet.connect_timeout.to_string()));
  opt("timeout", (fleet.timeout != 300).then(|| fleet.timeout.to_string()));
  opt("lock-timeout", (fleet.lock_timeout != 60).then(|| fleet.lock_timeout.to_string()));
  if fleet.local {
    argv.push("--local".to_owned());
  }
  if args.verify {
    argv.push("--verify".to_owned());
  }
  argv.extend(crate::cli::vars::argv(&args.vars, &cwd));
  let playbooks: Vec<String> = if args.git.is_some() {
    args.playbooks.iter().map(|p| p.display().to_string()).collect()
  } else {
    args.playbooks.iter().map(abs).collect()
  };
  if !playbooks.is_empty() {
    argv.push("--".to_owned());
    argv.extend(playbooks);
  }
  argv
}

/// How to show results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
  pub format: Format,
  /// Colour on standard error (diagnostics, progress).
  pub stderr_color: bool,
  /// Colour on standard output (plans, verify matrices): `--color always`
  /// colours it even when it is piped.
  pub stdout_color: bool,
  pub width: usize,
  /// `-q` is -1, `-v` 1, `-vv` 2.
  pub verbosity: i8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
  pub subcommand: Subcommand,
  pub output: Output,
}

impl Config {
  /// The settings of this process's command line. A Terraform or Ansible habit,
  /// a usage error or a bad `--var` is reported on standard error, and gives
  /// the exit code instead; so do `--help` and `--version` (code 0).
  pub fn from_env() -> Result<Config, i32> {
    use crate::cli::commands::{EXIT_ERROR, EXIT_OK};
    use clap::Parser;
    use std::io::Write;
    let args: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    if let Some(habit) = crate::cli::habits::find(&args, &|p| p.exists()) {
      let _ = std::io::stderr().write_all(habit.render().as_bytes());
      return Err(EXIT_ERROR);
    }
    let arguments = match Arguments::try_parse() {
      Ok(a) => a,
      Err(e) => {
        let _ = e.print();
        return Err(if e.use_stderr() { EXIT_ERROR } else { EXIT_OK });
      }
    };
    Config::from_arguments(arguments).map_err(|e| {
      let _ = writeln!(std::io::stderr(), "error: {e}");
      EXIT_ERROR
    })
  }

  pub fn from_arguments(arguments: Arguments) -> Result<Config, crate::cli::vars::VarError> {
    let read = crate::cli::vars::read;
    let (subcommand, output) = match arguments.command {
      Some(Command::Check { paths, vars, output }) => {
        (Subcommand::Check { paths, vars: read(&vars)? }, output)
      }
      Some(Command::Completions { shell }) => (Subcommand::Completions(shell), OutputArgs::default()),
      Some(Command::Man) => (Subcommand::Man, OutputArgs::default()),
      Some(Command::Inventory(args)) => (Subcommand::Inventory(args), OutputArgs::default()),
      Some(Command::Fmt { check, paths, output }) => (Subcommand::Fmt { paths, check }, output),
      Some(Command::Lsp { .. }) => (Subcommand::Lsp, OutputArgs::default()),
      Some(Command::Verify { playbooks, probe, vars, fleet, output }) => (
        Subcommand::Run(Box::new(Run {
          verify_only: true,
          probe,
          vars: read(&vars)?,
          ..Run::new(playbooks, None, false, true, fleet)
        })),
        output,
      ),
      Some(Command::Apply { plan, vars, fleet, output }) => (
        Subcommand::Run(Box::new(Run {
          saved: Some(plan),
          vars: read(&vars)?,
          ..Run::new(Vec::new(), None, true, false, fleet)
        })),
        output,
      ),
      Some(Command::Enforce { enforce, fleet, output }) => {
        let vars = read(&enforce.vars)?;
        (Subcommand::Run(Box::new(Run { vars, ..Run::enforce(enforce, fleet) })), output)
      }
      Some(Command::Schedule { every, cron, install, name, unit_dir, enforce, fleet }) => {
        let enforce = enforce_argv(&enforce, &fleet);
        (
          Subcommand::Schedule(Schedule { every, cron, install, name, unit_dir, enforce }),
          OutputArgs::default(),
        )
      }
      None => (
        Subcommand::Run(Box::new(Run {
          no_guards: arguments.no_guards || arguments.out.is_some(),
          no_prune: arguments.no_prune,
          force_remove: arguments.force_remove,
          out: arguments.out,
          vars: read(&arguments.vars)?,
          ..Run::new(arguments.playbooks, arguments.root, !arguments.plan, arguments.verify, arguments.fleet)
        })),
        arguments.output,
      ),
    };
    Ok(Config { subcommand, output: Output::new(&output) })
  }
}

impl Output {
  fn new(args: &OutputArgs) -> Output {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = |terminal: bool| match args.color {
      ColorChoice::Always => true,
      ColorChoice::Never => false,
      ColorChoice::Auto => !no_color && terminal,
    };
    let width = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(100).clamp(40, 200);
    Output {
      format: args.format,
      stderr_color: color(std::io::stderr().is_terminal()),
      stdout_color: color(std::io::stdout().is_terminal()),
      width,
      verbosity: if args.quiet { -1 } else { i8::try_from(args.verbose).unwrap_or(i8::MAX) },
    }
  }
}
