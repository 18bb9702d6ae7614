//! Command-line flags of `swarmcast-origin`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use swarmcast_testcard::StreamOptions;

use crate::mounts::{Mount, Prefix};

/// URL prefix of the embedded live test card; scripts and tests rely on it.
pub const LIVE_PREFIX: &str = "/live";

#[derive(Debug, Parser)]
#[command(
    version,
    about = "HLS origin: serves HLS folders (and optionally a live test card) with CORS, byte ranges and cache headers"
)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Run the live test card and serve it at /live/ (master playlist /live/master.m3u8).
    #[arg(long)]
    pub testcard: bool,

    /// Serve this HLS folder at --root-prefix.
    #[arg(long, value_name = "DIR", value_parser = existing_dir)]
    pub root: Option<PathBuf>,

    /// URL prefix for --root.
    #[arg(long, value_name = "PREFIX", default_value = "/", requires = "root")]
    pub root_prefix: Prefix,

    /// Serve folder DIR at URL prefix PREFIX (repeatable), e.g. --mount /dist=dist.
    #[arg(long = "mount", value_name = "PREFIX=DIR")]
    pub mounts: Vec<Mount>,

    /// Origins allowed by CORS (repeatable, or comma-separated); `*` allows all.
    #[arg(
        long = "cors-origin",
        value_name = "ORIGIN",
        value_delimiter = ',',
        default_value = "*"
    )]
    pub cors_origins: Vec<String>,

    /// Memory for keeping files in RAM, in MiB (0: read every request from disk).
    /// Files up to 1/16 of it are kept; a copy is used only while the file is unchanged.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub cache_mb: u64,

    /// Publish the SHA-256 of every segment in the media playlists served under
    /// this prefix (a --mount's, --root-prefix, or /live; repeatable, or comma-separated).
    #[arg(long = "digests", value_name = "PREFIX", value_delimiter = ',')]
    pub digests: Vec<Prefix>,

    /// Publish segment digests in the live test card's playlists.
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        action = clap::ArgAction::Set,
        help_heading = "Test card (with --testcard)"
    )]
    pub testcard_digests: bool,

    #[command(flatten, next_help_heading = "Test card (with --testcard)")]
    pub stream: StreamOptions,
}

impl Cli {
    /// The rules between flags that clap cannot check: each --digests prefix
    /// must be one that is served.
    pub fn check(&self) -> Result<(), String> {
        let served = self.prefixes();
        for prefix in &self.digests {
            if !served.contains(prefix) {
                let list: Vec<String> = served.iter().map(ToString::to_string).collect();
                return Err(format!(
                    "--digests {prefix}: no folder is served at {prefix} (served: {})",
                    if list.is_empty() {
                        "none".into()
                    } else {
                        list.join(", ")
                    }
                ));
            }
        }
        Ok(())
    }

    /// Every prefix a folder is served at.
    fn prefixes(&self) -> Vec<Prefix> {
        let mut prefixes: Vec<Prefix> = self.mounts.iter().map(|m| m.prefix().clone()).collect();
        if self.root.is_some() {
            prefixes.push(self.root_prefix.clone());
        }
        if self.testcard {
            prefixes.push(LIVE_PREFIX.parse().expect("a valid prefix"));
        }
        prefixes
    }
}

/// Clap value parser for a folder that must exist.
pub fn existing_dir(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    if path.is_dir() {
        Ok(path)
    } else {
        Err(format!("`{s}` is not a folder"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_other_scripts_rely_on() {
        let cli = Cli::try_parse_from([
            "swarmcast-origin",
            "--listen",
            "127.0.0.1:0",
            "--testcard",
            "--mount",
            "/dist=.",
            "--mount",
            "/=.",
        ])
        .unwrap();
        assert!(cli.testcard);
        assert_eq!(cli.mounts.len(), 2);
        assert_eq!(cli.cors_origins, ["*"]);
        assert_eq!(cli.stream.segment_seconds, 2);
        assert_eq!(cli.cache_mb, 256);
        assert!(cli.testcard_digests, "on for the test card by default");
        assert!(cli.digests.is_empty(), "off for other folders by default");
    }

    #[test]
    fn digests_name_served_prefixes() {
        let cli = Cli::try_parse_from([
            "swarmcast-origin",
            "--mount",
            "/vod/=.",
            "--root",
            ".",
            "--root-prefix",
            "/r",
            "--digests",
            "/vod,/r",
            "--testcard",
            "--testcard-digests",
            "false",
        ])
        .unwrap();
        assert_eq!(cli.check(), Ok(()));
        assert!(!cli.testcard_digests);

        let cli = Cli::try_parse_from([
            "swarmcast-origin",
            "--mount",
            "/vod=.",
            "--digests",
            "/live",
        ])
        .unwrap();
        let err = cli.check().unwrap_err();
        assert!(
            err.contains("--digests /live: no folder is served at /live (served: /vod)"),
            "{err}"
        );
    }

    #[test]
    fn bad_flags_are_explained() {
        let err = Cli::try_parse_from(["swarmcast-origin", "--listen", "localhost"]).unwrap_err();
        assert!(err.to_string().contains("--listen"), "{err}");
        let err = Cli::try_parse_from(["swarmcast-origin", "--root", "/no/such/dir"]).unwrap_err();
        assert!(err.to_string().contains("not a folder"), "{err}");
        let err = Cli::try_parse_from(["swarmcast-origin", "--mount", "dist"]).unwrap_err();
        assert!(err.to_string().contains("PREFIX=DIR"), "{err}");
        let err = Cli::try_parse_from(["swarmcast-origin", "--digests", "vod"]).unwrap_err();
        assert!(err.to_string().contains("must start with /"), "{err}");
        let err =
            Cli::try_parse_from(["swarmcast-origin", "--testcard-digests", "yes"]).unwrap_err();
        assert!(err.to_string().contains("--testcard-digests"), "{err}");
    }
}
