//! The command line: its definition; the parsers for each argument are in
//! parsers.rs.
//!
//! Every parser returns a one-line reason; clap adds the argument's name.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::status::{CHECK_EXIT_STATUS_HELP, EXIT_STATUS_HELP};

mod parsers;

pub use parsers::parse_duration;
pub(crate) use parsers::MAX_TIMEOUT;
use parsers::{parse_load_module, parse_module_name, parse_timeout, parse_wait_path};

pub(crate) const DEFAULT_TIMEOUT: &str = "10s";

#[derive(Debug, Parser)]
#[command(
    name = "kmod-ready",
    version,
    about = "Load kernel modules through libkmod and wait until they are usable",
    long_about = "Load kernel modules through libkmod, as `modprobe MODULE` would, and wait \
until the files that make them usable exist (for nf_conntrack: \
/proc/sys/net/netfilter/nf_conntrack_max and /sys/module/nf_conntrack/parameters/hashsize). \
Meant for ExecStartPre= of snap.microk8s.daemon-kubelite.service.",
    after_help = EXIT_STATUS_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub load: LoadArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub(crate) struct LoadArgs {
    /// Modules (or aliases) to load and wait for
    #[arg(value_name = "MODULE", required = true, value_parser = os_parser(parse_load_module))]
    pub modules: Vec<String>,

    /// How long the modules may take to become ready, loading included (ms, s, m or h: 500ms, 10s, 1m)
    #[arg(long, value_name = "DURATION", default_value = DEFAULT_TIMEOUT,
          value_parser = parse_timeout, allow_hyphen_values = true)]
    pub timeout: Duration,

    /// Also wait for this path (under /proc/sys or /sys); repeatable
    #[arg(long = "wait-for", value_name = "PATH", value_parser = os_parser(parse_wait_path))]
    pub wait_for: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Say, without changing anything, whether the modules are ready, and if not why
    #[command(
        long_about = "Say, without changing anything, whether the modules are ready and, if \
not, the most likely cause and the command that fixes it: module state, readiness paths, module \
file and dependencies, kernel release and module directory, container, modprobe.d blacklist \
lines, module_blacklist= on the kernel command line, modules-load.d, and the kubelite unit and \
its drop-in. Default modules: those the kubelite drop-in gives kmod-ready, else nf_conntrack.",
        after_help = CHECK_EXIT_STATUS_HELP
    )]
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Print one JSON object (its fields are in kmod-ready-check(8)) instead of text
    #[arg(long)]
    pub json: bool,

    /// Print Prometheus metrics (kmod-ready-check(8), METRICS) instead of text; implies --next-boot
    #[arg(long, conflicts_with = "json")]
    pub prometheus: bool,

    /// Write the metrics to DIR/kmod-ready.prom (atomically) for node_exporter's textfile collector
    #[arg(long, value_name = "DIR", requires = "prometheus")]
    pub textfile_dir: Option<PathBuf>,

    /// Also judge the next boot: the kernel and command line the boot loader will use
    #[arg(long)]
    pub next_boot: bool,

    /// Print one line of at most 80 bytes for node-problem-detector (with --next-boot: about
    /// the next boot alone)
    #[arg(long, conflicts_with_all = ["json", "prometheus"])]
    pub npd: bool,

    /// Modules (or aliases) to check [default: those of the kubelite drop-in, else nf_conntrack]
    #[arg(value_name = "MODULE", value_parser = os_parser(parse_module_name))]
    pub modules: Vec<String>,
}

/// How loading logs. Not for `check`, which logs nothing: it prints a report.
#[derive(Debug, Args)]
pub(crate) struct OutputArgs {
    /// Where to log: the journal when stderr is connected to it (auto), or always one of them
    #[arg(long, value_name = "TARGET", value_enum, default_value_t = LogTarget::Auto)]
    pub log: LogTarget,

    /// Log more (repeat for more detail)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Log less: warnings only; twice: errors only
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogTarget {
    Auto,
    Journal,
    Stderr,
}

/// Lets a parser see arguments that are not UTF-8, to reject them by name.
fn os_parser<T: Clone + Send + Sync + 'static>(
    parse: fn(&std::ffi::OsStr) -> Result<T, String>,
) -> impl TypedValueParser<Value = T> {
    clap::builder::OsStringValueParser::new().try_map(move |raw: OsString| parse(&raw))
}

/// A duration as the log lines say it: "10 s", or "1500 ms" when it is not
/// whole seconds.
pub(crate) fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() != 0 || duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{} s", duration.as_secs())
    }
}

/// Parses the command line. A usage error becomes its first line, so that
/// `systemctl status` shows the reason rather than clap's usage block.
pub(crate) fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Cli, clap::Error> {
    let cli = Cli::try_parse_from(args)?;
    // As clap names the argument in its own errors.
    let (modules, argument) = match &cli.command {
        Some(Command::Check(check)) => (&check.modules, "[MODULE]..."),
        None => (&cli.load.modules, "<MODULE>..."),
    };
    if let Some(reason) = module_option(modules, argument) {
        let error = Cli::command().error(clap::error::ErrorKind::ValueValidation, reason);
        return Err(error);
    }
    Ok(cli)
}

/// A module option among the modules, as in modprobe's `modprobe
/// nf_conntrack hashsize=65536`: kmod-ready takes the options of
/// modprobe.d, and says where this one goes.
fn module_option(modules: &[String], argument: &str) -> Option<String> {
    let mut module = "MODULE";
    for name in modules {
        if name.contains('=') {
            return Some(format!(
                "invalid value '{name}' for '{argument}': a module option, not a module; \
                 kmod-ready loads a module with its options from modprobe.d: write \
                 `options {module} {name}` in /etc/modprobe.d/FILE.conf"
            ));
        }
        module = name;
    }
    None
}

/// Whether `err` is `--help` or `--version` (printed, status 0).
pub(crate) fn is_help_or_version(err: &clap::Error) -> bool {
    help_or_version(err).is_some()
}

/// What `err` prints on stdout when it is `--help` or `--version`: "the
/// help" or "the version".
pub(crate) fn help_or_version(err: &clap::Error) -> Option<&'static str> {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp => Some("the help"),
        ErrorKind::DisplayVersion => Some("the version"),
        _ => None,
    }
}

/// A usage error on one line, the argument and the reason: clap's first
/// paragraph ("unexpected argument '--x' found", "the following required
/// arguments were not provided: <MODULE>...").
pub(crate) fn error_reason(err: &clap::Error) -> String {
    let text = err.to_string();
    let first_paragraph: Vec<&str> = text
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect();
    let joined = first_paragraph.join(" ");
    joined
        .strip_prefix("error: ")
        .unwrap_or(&joined)
        .to_string()
}
