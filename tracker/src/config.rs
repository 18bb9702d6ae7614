//! The tracker's settings: one typed struct read from flags, environment
//! variables and an optional TOML file, and printable as commented TOML.
//!
//! Precedence is flag > environment > file > default. Clap knows where each
//! value came from, so file values fill in only what clap left at its default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command, CommandFactory, FromArgMatches, Parser};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// Command line: the settings plus the two flags that are not settings.
#[derive(Debug, Parser)]
#[command(
    name = "swarmcast-tracker",
    version,
    about = "WebTorrent-compatible WebSocket tracker"
)]
pub struct Cli {
    /// Read settings from this TOML file (flags and environment win over it).
    #[arg(long, short = 'c', env = "SWARMCAST_TRACKER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the default settings as commented TOML and exit.
    #[arg(long, short = 'p')]
    pub print_config: bool,
    #[command(flatten)]
    pub settings: Config,
}

/// Every tunable of the tracker. Field names are the TOML keys; flags are
/// the same names in kebab-case; variables are SWARMCAST_TRACKER_<NAME>.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address for WebSocket clients and the HTTP endpoints.
    #[arg(
        long,
        env = "SWARMCAST_TRACKER_LISTEN",
        default_value = "127.0.0.1:8000"
    )]
    pub listen: SocketAddr,
    /// Worker threads; 0 means one per CPU core.
    #[arg(long, env = "SWARMCAST_TRACKER_WORKERS", default_value_t = 0)]
    pub workers: usize,
    /// PEM certificate chain; with tls_key, serve wss:// and https://.
    #[arg(long, env = "SWARMCAST_TRACKER_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for tls_cert.
    #[arg(long, env = "SWARMCAST_TRACKER_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// How long clients are told to wait between announces.
    #[arg(long, env = "SWARMCAST_TRACKER_ANNOUNCE_INTERVAL", default_value = "2m", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub announce_interval: Duration,
    /// A peer that has not announced for this long leaves its swarm.
    #[arg(long, env = "SWARMCAST_TRACKER_PEER_TIMEOUT", default_value = "5m", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub peer_timeout: Duration,
    /// An empty swarm (and its download count) is forgotten after this long.
    #[arg(long, env = "SWARMCAST_TRACKER_SWARM_TIMEOUT", default_value = "1m", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub swarm_timeout: Duration,
    /// How often expired peers and swarms are swept.
    #[arg(long, env = "SWARMCAST_TRACKER_CLEANUP_INTERVAL", default_value = "10s", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub cleanup_interval: Duration,
    /// A connection silent for half of this gets a ping; silent for all of it
    /// (or stuck in a handshake or a write) is closed.
    #[arg(long, env = "SWARMCAST_TRACKER_IDLE_TIMEOUT", default_value = "2m", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Most offers relayed per announce; extra offers are ignored.
    #[arg(long, env = "SWARMCAST_TRACKER_MAX_OFFERS", default_value_t = 10)]
    pub max_offers: usize,
    /// Cap on a client's numwant, which also bounds the offers relayed.
    #[arg(long, env = "SWARMCAST_TRACKER_MAX_NUMWANT", default_value_t = 50)]
    pub max_numwant: usize,
    /// Largest WebSocket message in bytes; larger ones close the connection.
    #[arg(long, env = "SWARMCAST_TRACKER_MAX_MESSAGE_SIZE", default_value_t = 64 * 1024)]
    pub max_message_size: usize,
    /// Largest WebSocket frame in bytes; larger ones close the connection.
    #[arg(long, env = "SWARMCAST_TRACKER_MAX_FRAME_SIZE", default_value_t = 64 * 1024)]
    pub max_frame_size: usize,
    /// Most open connections; more are refused at accept.
    #[arg(
        long,
        env = "SWARMCAST_TRACKER_MAX_CONNECTIONS",
        default_value_t = 200_000
    )]
    pub max_connections: usize,
    /// Most open connections from one IP address.
    #[arg(
        long,
        env = "SWARMCAST_TRACKER_MAX_CONNECTIONS_PER_IP",
        default_value_t = 1024
    )]
    pub max_connections_per_ip: usize,
    /// Most swarms one connection may be in; announces beyond get a failure reason.
    #[arg(
        long,
        env = "SWARMCAST_TRACKER_MAX_SWARMS_PER_CONNECTION",
        default_value_t = 1024
    )]
    pub max_swarms_per_connection: usize,
    /// Messages queued for one connection; further ones are dropped.
    #[arg(long, env = "SWARMCAST_TRACKER_SEND_QUEUE", default_value_t = 64)]
    pub send_queue: usize,
    /// Swarms listed one by one in the offload statistics (`/stats.json`,
    /// `/metrics`), the busiest first; all swarms are summed as well.
    #[arg(long, env = "SWARMCAST_TRACKER_STATS_TOP_SWARMS", default_value_t = 10, value_parser = clap::value_parser!(u16).range(0..=1000))]
    pub stats_top_swarms: u16,
    /// Answer scrapes without info_hash with every swarm.
    #[arg(long, env = "SWARMCAST_TRACKER_ALLOW_FULL_SCRAPE", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_full_scrape: bool,
}

impl Config {
    /// Reads the process's flags, environment and (if named) config file.
    /// Returns `None` after printing the defaults for `--print-config`.
    pub fn load() -> anyhow::Result<Option<Self>> {
        let matches = Cli::command().get_matches();
        let cli = Cli::from_arg_matches(&matches)?;
        if cli.print_config {
            print!("{}", Self::commented_defaults()?);
            return Ok(None);
        }
        let mut config = cli.settings;
        if let Some(path) = &cli.config {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            config = config
                .overlay_file(&text, &matches)
                .with_context(|| format!("in {}", path.display()))?;
        }
        Ok(Some(config))
    }

    /// The built-in defaults, ignoring the environment.
    pub fn defaults() -> Self {
        let command = Cli::command().mut_args(|arg| arg.env(None));
        let matches = command.get_matches_from(["swarmcast-tracker"]);
        Cli::from_arg_matches(&matches)
            .expect("defaults parse")
            .settings
    }

    /// Applies a TOML file's values to every setting clap left at its default.
    fn overlay_file(self, text: &str, matches: &ArgMatches) -> anyhow::Result<Self> {
        overlay_file(&self, text, &Cli::command(), matches)
    }

    /// The defaults as TOML, each key preceded by its flag's help text.
    pub fn commented_defaults() -> anyhow::Result<String> {
        let defaults = toml::Table::try_from(Self::defaults())?;
        let command = Cli::command();
        let mut out = String::from("# swarmcast-tracker settings (defaults shown)\n");
        for arg in command.get_arguments() {
            let key = arg.get_id().as_str();
            if matches!(key, "config" | "print_config" | "help" | "version") {
                continue;
            }
            let help = arg
                .get_long_help()
                .or(arg.get_help())
                .map(ToString::to_string);
            out.push('\n');
            for line in help.unwrap_or_default().lines() {
                out.push_str(&format!("# {line}\n"));
            }
            match defaults.get(key) {
                Some(value) => out.push_str(&format!("{key} = {value}\n")),
                None => out.push_str(&format!("# {key} = \"\"\n")),
            }
        }
        Ok(out)
    }

    /// Worker threads to start, resolving 0 to the number of cores.
    pub fn worker_threads(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// `settings` with a TOML file's values for every setting clap left at its
/// default (flags and environment win). Unknown keys are errors. Also how
/// swarmcast-peer reads its file.
pub fn overlay_file<T: Serialize + DeserializeOwned>(
    settings: &T,
    text: &str,
    command: &Command,
    matches: &ArgMatches,
) -> anyhow::Result<T> {
    let file: toml::Table = toml::from_str(text)?;
    let mut merged = toml::Table::try_from(settings)?;
    for (key, value) in file {
        // Unknown keys go through so that deserialising names them.
        let known = command.get_arguments().any(|a| a.get_id() == key.as_str());
        let from_user = known
            && matches!(
                matches.value_source(&key),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            );
        if !from_user {
            merged.insert(key, value);
        }
    }
    Ok(merged.try_into()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_defaults_parse_back_to_defaults() {
        let text = Config::commented_defaults().unwrap();
        assert!(text.contains("# Most offers relayed per announce"));
        let parsed: Config = toml::from_str(&text).unwrap();
        assert_eq!(
            toml::Table::try_from(parsed).unwrap(),
            toml::Table::try_from(Config::defaults()).unwrap()
        );
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let command = Cli::command().mut_args(|arg| arg.env(None));
        let matches = command.get_matches_from(["t", "--max-offers", "3"]);
        let config = Cli::from_arg_matches(&matches).unwrap().settings;
        let file = "max_offers = 7\nmax_numwant = 9\npeer_timeout = \"250ms\"\n";
        let merged = config.overlay_file(file, &matches).unwrap();
        assert_eq!(merged.max_offers, 3);
        assert_eq!(merged.max_numwant, 9);
        assert_eq!(merged.peer_timeout, Duration::from_millis(250));
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        let matches = Cli::command()
            .mut_args(|arg| arg.env(None))
            .get_matches_from(["t"]);
        let config = Config::defaults();
        assert!(config.overlay_file("max_ofers = 1\n", &matches).is_err());
    }
}
