//! `swarmcast-digest FOLDER`: adds segment digests to every media playlist of
//! an HLS folder, in place, for servers other than swarmcast-origin. The tag
//! format is in the origin README.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use swarmcast_origin::cli::existing_dir;
use swarmcast_origin::folder::add_digests;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Adds #EXT-X-SWARMCAST-DIGEST tags (SHA-256 of each segment or byte range) to the media playlists of an HLS folder, in place"
)]
struct Cli {
    /// The HLS folder; every .m3u8 under it is processed (multivariant playlists are left as they are).
    #[arg(value_name = "FOLDER", value_parser = existing_dir)]
    folder: PathBuf,

    /// Change nothing; exit with status 1 if a playlist lacks current digests.
    #[arg(long)]
    check: bool,
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let outcomes = add_digests(&cli.folder, !cli.check)?;
    let mut out = std::io::stdout().lock();
    let mut stale = 0;
    for o in &outcomes {
        let state = match (o.stale, cli.check) {
            (false, _) => "up to date",
            (true, false) => "updated",
            (true, true) => "stale",
        };
        stale += usize::from(o.stale);
        let missing = match o.without_digest {
            0 => String::new(),
            n => format!(", {n} without (missing, outside the folder or still changing)"),
        };
        // A closed stdout is no reason to fail once the work is done.
        let _ = writeln!(
            out,
            "{}: {state}: {} digests{missing}",
            o.playlist.display(),
            o.with_digest
        );
    }
    if cli.check && stale > 0 {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
