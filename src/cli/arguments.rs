//! The command line as clap sees it. [`crate::cli::config::Config`] turns it into the
//! checked settings the commands use.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Keeps the Go development environment of Linux hosts exactly as declared in
/// `.goenv` playbooks.
#[derive(Parser, Debug)]
#[command(
  name = "converge",
  version,
  args_conflicts_with_subcommands = true,
  max_term_width = 100,
  after_help = examples::RUN
)]
pub struct Arguments {
  #[command(subcommand)]
  pub command: Option<Command>,

  /// Playbook files or directories (default: the `*.goenv` files here).
  #[arg(value_name = "PLAYBOOK")]
  pub playbooks: Vec<PathBuf>,

  /// Show what would change and change nothing. Exit 0: nothing to do; 2: changes
  /// pending; 1: error.
  #[arg(long)]
  pub plan: bool,

  /// Converge this directory as if it were `/` (image building, tests).
  #[arg(long, value_name = "DIR")]
  pub root: Option<PathBuf>,

  /// After applying (or planning), run `converge verify` on every host.
  #[arg(long)]
  pub verify: bool,

  /// With `--plan`: also save the plan to FILE, for `converge apply FILE`.
  #[arg(long, value_name = "FILE", requires = "plan")]
  pub out: Option<PathBuf>,

  /// With `--plan`: run no command the playbooks wrote (`unless`, `only_if`
  /// guards); the commands they guard show as "decided at apply". Implied by
  /// `--out`.
  #[arg(long, requires = "plan")]
  pub no_guards: bool,

  /// Remove nothing that left the playbook: what converge wrote for resources
  /// no longer declared stays on the hosts.
  #[arg(long)]
  pub no_prune: bool,

  /// Remove what left the playbook even where it was edited by hand since
  /// converge wrote it (without, such drift is kept and shown).
  #[arg(long, conflicts_with = "no_prune")]
  pub force_remove: bool,

  #[command(flatten)]
  pub vars: VarArgs,

  #[command(flatten)]
  pub fleet: FleetArgs,

  #[command(flatten)]
  pub output: OutputArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
  /// Show the resolved inventory as `ansible-inventory` shows it: `--list`
  /// (the default), `--host NAME` or `--graph`. Contacts no host.
  Inventory(crate::cli::inventory::InventoryArgs),
  /// Check playbooks for errors without contacting any host. Exit 0 when valid,
  /// 1 when not.
  #[command(after_help = examples::CHECK)]
  Check {
    /// Playbook files or directories (default: the `*.goenv` files here; `-`
    /// reads one from standard input).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    vars: VarArgs,
    #[command(flatten)]
    output: OutputArgs,
  },
  /// Prove that every shell and tool on every host sees the declared Go
  /// environment: a matrix of consumer × expectation. Exit 0 when every cell
  /// holds, 1 otherwise. Changes nothing.
  #[command(after_help = examples::VERIFY)]
  Verify {
    /// Playbook files or directories (default: the `*.goenv` files here).
    #[arg(value_name = "PLAYBOOK")]
    playbooks: Vec<PathBuf>,
    /// Also request each declared GOPROXY entry and GOSUMDB from every host,
    /// with the host's own proxy variables (`curl`, 10 s each): status and
    /// latency.
    #[arg(long)]
    probe: bool,
    #[command(flatten)]
    vars: VarArgs,
    #[command(flatten)]
    fleet: FleetArgs,
    #[command(flatten)]
    output: OutputArgs,
  },
  /// Apply a plan saved by `converge --plan --out FILE`, exactly as planned. A
  /// host that changed since planning is refused as stale; the others are
  /// applied. Exit 0 when every host was applied, 1 otherwise.
  #[command(after_help = examples::APPLY)]
  Apply {
    /// The saved plan.
    #[arg(value_name = "PLAN")]
    plan: PathBuf,
    #[command(flatten)]
    vars: VarArgs,
    #[command(flatten)]
    fleet: FleetArgs,
    #[command(flatten)]
    output: OutputArgs,
  },
  /// Converge every host and write a JSON report and Prometheus metrics: the
  /// command a timer runs. Each change is labelled drift, intent or new. Exit 1
  /// when any host failed or was unreachable.
  #[command(after_help = examples::ENFORCE)]
  Enforce {
    #[command(flatten)]
    enforce: EnforceArgs,
    #[command(flatten)]
    fleet: FleetArgs,
    #[command(flatten)]
    output: OutputArgs,
  },
  /// Print (or install) a systemd service and timer, or a cron line, that run
  /// `converge enforce` with the given arguments every INTERVAL.
  #[command(after_help = examples::SCHEDULE)]
  Schedule {
    /// How often: `30m`, `1h`, `1d`.
    #[arg(long, value_name = "INTERVAL")]
    every: String,
    /// A cron line instead of systemd units.
    #[arg(long)]
    cron: bool,
    /// Write the units (and enable the timer) or the crontab entry instead of
    /// printing them.
    #[arg(long)]
    install: bool,
    /// The units' name (`NAME.service`, `NAME.timer`).
    #[arg(long, value_name = "NAME", default_value = "converge-enforce")]
    name: String,
    /// Where `--install` writes the units (default: /etc/systemd/system as
    /// root, ~/.config/systemd/user otherwise).
    #[arg(long, value_name = "DIR")]
    unit_dir: Option<PathBuf>,
    #[command(flatten)]
    enforce: EnforceArgs,
    #[command(flatten)]
    fleet: FleetArgs,
  },
  /// Serve the Language Server Protocol on stdin and stdout, for editors.
  Lsp {
    /// Accepted for clients that pass it (vscode-languageclient's stdio
    /// transport, many editor configurations): stdin and stdout are the only
    /// transport.
    #[arg(long)]
    stdio: bool,
  },
  /// Rewrite playbooks in the canonical layout, keeping comments.
  #[command(after_help = examples::FMT)]
  Fmt {
    /// Change nothing; list the files that are not formatted and exit 1 if any.
    #[arg(long)]
    check: bool,
    /// Playbook files or directories (default: the `*.goenv` files here).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
  },
  /// Print the completion script of a shell on standard output.
  #[command(after_help = examples::COMPLETIONS)]
  Completions {
    /// The shell.
    #[arg(value_enum)]
    shell: Shell,
  },
  /// Print the manual page (roff) on standard output.
  #[command(after_help = examples::MAN)]
  Man,
}

/// The shells `converge completions` writes scripts for.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shell {
  Bash,
  Zsh,
  Fish,
}

/// Variables from the command line: Ansible's extra vars.
#[derive(Args, Debug, Clone, Default)]
pub struct VarArgs {
  /// Set variables for every host, above every other definition (as Ansible's
  /// extra vars): `KEY=VALUE` (the value is a string), a YAML or JSON mapping,
  /// or `@FILE`. Repeatable; a later one wins.
  #[arg(long = "var", short = 'e', visible_alias = "extra-vars", value_name = "KEY=VALUE")]
  pub var: Vec<String>,

  /// Read variables from a YAML or JSON file holding a mapping (as `-e
  /// @FILE`). Read before every `--var`, in the order given.
  #[arg(long, value_name = "FILE")]
  pub var_file: Vec<PathBuf>,
}

/// What `converge enforce` reads and writes.
#[derive(Args, Debug, Clone, Default)]
pub struct EnforceArgs {
  /// Playbook files or directories (default: the `*.goenv` files here, or in
  /// the `--git` checkout).
  #[arg(value_name = "PLAYBOOK")]
  pub playbooks: Vec<PathBuf>,

  /// Where to write the JSON report (default: STATE_DIR/report.json).
  #[arg(long, value_name = "FILE")]
  pub report: Option<PathBuf>,

  /// Where to write Prometheus metrics in the textfile collector's format
  /// (default: STATE_DIR/converge.prom).
  #[arg(long, value_name = "FILE")]
  pub metrics: Option<PathBuf>,

  /// Pull mode: clone (or fast-forward) this git repository first and read the
  /// playbooks from the checkout, as ansible-pull does.
  #[arg(long, value_name = "URL")]
  pub git: Option<String>,

  /// The branch to check out with `--git` (default: the remote's default).
  #[arg(long, value_name = "BRANCH", requires = "git")]
  pub branch: Option<String>,

  /// Where `--git` keeps its checkout (default: STATE_DIR/checkout).
  #[arg(long, value_name = "DIR", requires = "git")]
  pub checkout: Option<PathBuf>,

  /// After applying, run `converge verify` on every host: its matrices go into
  /// the report and its cells into the metrics (`converge_verify_cells`); a
  /// failing cell makes the exit status 1.
  #[arg(long)]
  pub verify: bool,

  #[command(flatten)]
  pub vars: VarArgs,
}

/// How to reach hosts.
#[derive(Args, Debug, Clone, Default)]
pub struct FleetArgs {
  /// Hosts converged at once (default: one per host, up to 256).
  #[arg(long, short = 'f', value_name = "N")]
  pub forks: Option<usize>,

  /// Only these hosts or groups: `web1`, `dev*`, `fleet:!ci`, `fleet:&gpu`.
  #[arg(long, short = 'l', value_name = "PATTERN")]
  pub limit: Option<String>,

  /// What to do with a host key that is not in known_hosts (default: as
  /// `StrictHostKeyChecking` in ~/.ssh/config says, else refuse). A changed key
  /// is always refused.
  #[arg(long, value_enum, value_name = "POLICY")]
  pub host_key_checking: Option<HostKeyChecking>,

  /// The ssh client configuration to read instead of ~/.ssh/config.
  #[arg(long, short = 'F', value_name = "FILE")]
  pub ssh_config: Option<PathBuf>,

  /// Seconds to wait for a host to accept the connection and answer the
  /// SSH handshake, counted from the host's turn (a bounded number of hosts
  /// handshake at once).
  #[arg(long, value_name = "SECONDS", default_value_t = 10)]
  pub connect_timeout: u64,

  /// Seconds a host's facts or apply may take before the host is given up.
  #[arg(long, value_name = "SECONDS", default_value_t = 300)]
  pub timeout: u64,

  /// Converge this machine only, as the inventory host named like it (or
  /// `--limit NAME`), without SSH: pull mode.
  #[arg(long)]
  pub local: bool,

  /// converge's own state: the ledger of what it applied per host, the run
  /// lock, reports (default: $XDG_STATE_HOME/converge or
  /// ~/.local/state/converge).
  #[arg(long, value_name = "DIR")]
  pub state_dir: Option<PathBuf>,

  /// Seconds to wait for another run's lock, on the controller and on each
  /// host, before giving up having changed nothing.
  #[arg(long, value_name = "SECONDS", default_value_t = 60)]
  pub lock_timeout: u64,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKeyChecking {
  /// Refuse hosts whose key is not in known_hosts.
  Strict,
  /// Trust and record the key of a host seen for the first time.
  AcceptNew,
}

#[derive(Args, Debug, Clone, Default)]
pub struct OutputArgs {
  /// Output format.
  #[arg(long, value_enum, default_value_t = Format::Human)]
  pub format: Format,

  /// When to use colour.
  #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
  pub color: ColorChoice,

  /// Say more on standard error: `-v` each host's time per phase (connect,
  /// facts, plan, apply, verify) and connections; `-vv` also what converge
  /// asked each host in its facts round trip.
  #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "quiet")]
  pub verbose: u8,

  /// Say less: no progress and, for people, no plan body; the summary,
  /// failures and errors remain. JSON and markdown are unchanged.
  #[arg(short, long)]
  pub quiet: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
  /// Text for people.
  #[default]
  Human,
  /// Machine-readable JSON on standard output.
  Json,
  /// Markdown for a pull-request comment (plans only).
  Markdown,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ColorChoice {
  /// Colour on a terminal, unless `NO_COLOR` is set and not empty.
  #[default]
  Auto,
  /// Colour even when piped, and whatever `NO_COLOR` says.
  Always,
  Never,
}

/// The example section of each `--help`.
mod examples {
  pub const RUN: &str = "\
Examples:
  converge check                      check the *.goenv files here
  converge --plan                     show what would change; exit 2 when something would
  converge --plan -l web1 site.goenv  plan one host of the inventory
  converge                            plan and apply (Terraform's `apply -auto-approve`)
  converge --plan --out plan.bin      save the plan for review, then `converge apply plan.bin`
  converge -e go_version=1.23.4       override a variable for every host (Ansible's -e)
  converge --root /tmp/img --plan     plan a directory tree as if it were /
  cat site.goenv | converge --plan -  read the playbook from standard input";

  pub const CHECK: &str = "\
Examples:
  converge check                      every *.goenv file here
  converge check site.goenv roles/    a file and the *.goenv files of a directory
  converge check --format json        one JSON document for editors and CI
  converge check -e go_version=1.23.4 check with a variable set on the command line
  converge check - < site.goenv       read the playbook from standard input";

  pub const VERIFY: &str = "\
Examples:
  converge verify                     what every shell and tool sees on every host
  converge verify -l dev01            one host
  converge verify --format markdown   a table for a pull-request comment
  converge verify --probe             also request the module proxies from each host";

  pub const APPLY: &str = "\
Examples:
  converge --plan --out plan.bin      plan and save the plan
  converge apply plan.bin             apply exactly that plan; changed hosts are refused as stale";

  pub const ENFORCE: &str = "\
Examples:
  converge enforce                    converge, write report.json and converge.prom
  converge enforce --report /var/lib/node_exporter/converge.json
  converge enforce --local --git https://git.example.com/goenv.git
                                      pull mode: this machine, playbooks from git
  converge enforce --verify           also verify every host: cells in the report and metrics";

  pub const SCHEDULE: &str = "\
Examples:
  converge schedule --every 30m                print a systemd service and timer
  converge schedule --every 1h --install       write them and enable the timer
  converge schedule --every 1d --cron          a crontab line instead";

  pub const FMT: &str = "\
Examples:
  converge fmt                        rewrite the *.goenv files here
  converge fmt --check                list the files that are not formatted; exit 1 if any";

  pub const COMPLETIONS: &str = "\
Examples:
  source <(converge completions bash)
  converge completions zsh > \"${fpath[1]}/_converge\"
  converge completions fish > ~/.config/fish/completions/converge.fish";

  pub const MAN: &str = "\
Examples:
  converge man | man -l -
  converge man > /usr/local/share/man/man1/converge.1";
}
