//! The peer's settings: one typed struct read from flags, environment
//! variables and an optional TOML file (the tracker's scheme). Precedence is
//! flag > environment > file > default; clap knows where each value came
//! from, so file values fill in only what clap left at its default (the
//! tracker's `overlay_file` does the merge for both).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, ValueEnum};
use serde::{Deserialize, Serialize};
use swarmcast_tracker::config::overlay_file;
use url::Url;

/// What this process does in the swarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Super-peer beside the origin: fetches every new segment once over
    /// HTTP, announces it at once and uploads it to the swarm.
    Seeder,
    /// Stands in for a browser: plays the stream at playback speed with a
    /// simulated buffer, taking segments from peers where it can.
    Viewer,
}

/// Command line: the role, the settings, and the flags that are not settings.
#[derive(Debug, Parser)]
#[command(
    name = "swarmcast-peer",
    version,
    about = "Native swarmcast peer: a seeder beside the origin, or load-test viewers"
)]
pub struct Cli {
    /// seeder or viewer.
    pub role: Role,
    /// Read settings from this TOML file (flags and environment win over it).
    #[arg(long, short = 'c', env = "SWARMCAST_PEER_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Config,
}

/// Every tunable of the peer. Field names are the TOML keys; flags are the
/// same names in kebab-case; variables are SWARMCAST_PEER_<NAME>.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The HLS stream: a master or media playlist URL, as a page would open it.
    #[arg(long, env = "SWARMCAST_PEER_STREAM")]
    pub stream: Option<Url>,
    /// WebTorrent tracker URL (ws:// or wss://); repeat or comma-separate for several.
    #[arg(long, env = "SWARMCAST_PEER_TRACKER", value_delimiter = ',')]
    pub tracker: Vec<String>,
    /// The pages' swarmId, if they set one: joins their swarm whatever URL
    /// this peer opens, and names streams and segments as they then do.
    #[arg(long, env = "SWARMCAST_PEER_SWARM_ID")]
    pub swarm_id: Option<String>,
    /// Peers this process hosts, all on one runtime (viewers: a load test).
    #[arg(long, env = "SWARMCAST_PEER_COUNT", default_value_t = 1)]
    pub count: usize,
    /// Serve /metrics (Prometheus) and /health on this address.
    #[arg(long, env = "SWARMCAST_PEER_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Local address WebRTC binds its UDP sockets to. 0.0.0.0 means every
    /// interface but loopback; name 127.0.0.1 to connect over loopback only.
    #[arg(long, env = "SWARMCAST_PEER_UDP_BIND", default_value = "0.0.0.0")]
    pub udp_bind: IpAddr,
    /// STUN/TURN server URLs for ICE (none by default).
    #[arg(long, env = "SWARMCAST_PEER_ICE_SERVER", value_delimiter = ',')]
    pub ice_server: Vec<String>,
    /// Most connected or connecting peers per hosted peer.
    #[arg(long, env = "SWARMCAST_PEER_MAX_PEERS", default_value_t = 20)]
    pub max_peers: usize,
    /// Upload cap per hosted peer, in megabits per second (0: none).
    #[arg(long, env = "SWARMCAST_PEER_UPLOAD_MBPS", default_value_t = 0.0)]
    pub upload_mbps: f64,
    /// Download cap per hosted peer (HTTP and peers), in megabits per second (0: none).
    #[arg(long, env = "SWARMCAST_PEER_DOWNLOAD_MBPS", default_value_t = 0.0)]
    pub download_mbps: f64,
    /// Viewers: simultaneous HTTP prefetches for the swarm (the page option
    /// maxHttpDownloads). 0 leaves new segments to a seeder.
    #[arg(long, env = "SWARMCAST_PEER_MAX_HTTP_DOWNLOADS", default_value_t = 2)]
    pub max_http_downloads: usize,
    /// Viewers: forward buffer kept ahead of playback (hls.js maxBufferLength).
    #[arg(long, env = "SWARMCAST_PEER_MAX_BUFFER", default_value = "30s", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub max_buffer: Duration,
    /// Viewers: how many segments behind the newest a live viewer starts
    /// (hls.js liveSyncDurationCount).
    #[arg(long, env = "SWARMCAST_PEER_LIVE_SYNC_SEGMENTS", default_value_t = 3,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub live_sync_segments: u64,
    /// Viewers: until playback starts, how long the first fragments wait for
    /// peers instead of going to HTTP at once (the page option
    /// startupPeerWaitMs). 0: start over HTTP, as plain hls.js.
    #[arg(long, env = "SWARMCAST_PEER_STARTUP_PEER_WAIT", default_value = "0s", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub startup_peer_wait: Duration,
    /// With --count: delay between one hosted peer's start and the next.
    #[arg(long, env = "SWARMCAST_PEER_JOIN_INTERVAL", default_value = "200ms", value_parser = humantime::parse_duration)]
    #[serde(with = "humantime_serde")]
    pub join_interval: Duration,
}

impl Config {
    /// Reads the process's flags, environment and (if named) config file.
    pub fn load() -> anyhow::Result<(Role, Self)> {
        let matches = Cli::command().get_matches();
        let cli = Cli::from_arg_matches(&matches)?;
        let mut config = cli.settings;
        if let Some(path) = &cli.config {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            config = config
                .overlay_file(&text, &matches)
                .with_context(|| format!("in {}", path.display()))?;
        }
        config.check()?;
        Ok((cli.role, config))
    }

    /// Settings that parse but cannot work, named with their flag.
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.stream.is_some(),
            "--stream (or `stream` in the file) is required"
        );
        anyhow::ensure!(
            !self.tracker.is_empty(),
            "--tracker (or `tracker` in the file) is required"
        );
        for url in &self.tracker {
            let ok = Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "ws" | "wss"));
            anyhow::ensure!(ok, "--tracker {url:?} is not a ws:// or wss:// URL");
        }
        anyhow::ensure!(self.count >= 1, "--count must be at least 1");
        anyhow::ensure!(
            self.swarm_id.as_ref().is_none_or(|id| !id.is_empty()),
            "--swarm-id must not be empty"
        );
        for (flag, v) in [
            ("--upload-mbps", self.upload_mbps),
            ("--download-mbps", self.download_mbps),
        ] {
            anyhow::ensure!(v.is_finite() && v >= 0.0, "{flag} must be 0 or more");
        }
        Ok(())
    }

    /// The stream URL (present once `load` checked it).
    pub fn stream_url(&self) -> &Url {
        self.stream.as_ref().expect("checked by Config::load")
    }

    /// Applies a TOML file's values to every setting clap left at its default.
    fn overlay_file(self, text: &str, matches: &ArgMatches) -> anyhow::Result<Self> {
        overlay_file(&self, text, &Cli::command(), matches)
    }
}

/// Megabits per second as bytes per second; `None` for "no cap".
pub fn bytes_per_second(mbps: f64) -> Option<f64> {
    (mbps > 0.0).then_some(mbps * 125_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> (ArgMatches, Config) {
        let matches = Cli::command()
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(args)
            .unwrap();
        let settings = Cli::from_arg_matches(&matches).unwrap().settings;
        (matches, settings)
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let (matches, config) = parse(&["p", "viewer", "--max-peers", "3"]);
        let file = "max_peers = 7\ncount = 9\nstream = \"http://o/live.m3u8\"\n\
                    tracker = [\"ws://t\"]\njoin_interval = \"1s\"\n";
        let merged = config.overlay_file(file, &matches).unwrap();
        assert_eq!(merged.max_peers, 3);
        assert_eq!(merged.count, 9);
        assert_eq!(merged.join_interval, Duration::from_secs(1));
        assert_eq!(merged.stream_url().as_str(), "http://o/live.m3u8");
        merged.check().unwrap();
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        let (matches, config) = parse(&["p", "seeder"]);
        assert!(config.overlay_file("max_per = 1\n", &matches).is_err());
    }

    #[test]
    fn bad_settings_name_their_flag() {
        let (_, config) = parse(&["p", "viewer", "--stream", "http://o/x.m3u8"]);
        assert!(config
            .check()
            .unwrap_err()
            .to_string()
            .contains("--tracker"));
        let (_, config) = parse(&[
            "p",
            "viewer",
            "--stream",
            "http://o/x.m3u8",
            "--tracker",
            "http://t",
        ]);
        assert!(config.check().unwrap_err().to_string().contains("ws://"));
        let (_, config) = parse(&[
            "p",
            "seeder",
            "--stream",
            "http://o/x.m3u8",
            "--tracker",
            "ws://t",
            "--swarm-id",
            "",
        ]);
        assert!(config
            .check()
            .unwrap_err()
            .to_string()
            .contains("--swarm-id"));
        let bad_role = Cli::command().try_get_matches_from(["p", "watcher"]);
        assert!(bad_role.is_err());
    }
}
