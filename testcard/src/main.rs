//! `swarmcast-testcard`: writes a live or VOD HLS test card into a folder.
//! Live mode runs until interrupted and then removes what it wrote.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;
use swarmcast_testcard::{generate_vod, LiveTestcard, StreamOptions, VodOptions};

#[derive(Debug, Parser)]
#[command(version, about = "Live or VOD HLS test card made by ffmpeg")]
struct Cli {
    /// Output folder (master.m3u8 and one folder per rendition). Live mode
    /// uses a temporary folder when omitted.
    #[arg(long, required_unless_present = "vod")]
    out: Option<PathBuf>,

    /// Write a finished VOD of this many seconds (with EXT-X-ENDLIST) and exit.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..=3600))]
    vod: Option<u32>,

    /// With --vod: one file per rendition, segments addressed by EXT-X-BYTERANGE.
    #[arg(long, requires = "vod")]
    byterange: bool,

    #[command(flatten)]
    stream: StreamOptions,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    match cli.vod {
        Some(seconds) => {
            let out = cli.out.expect("clap requires --out with --vod");
            let vod = VodOptions {
                seconds,
                byterange: cli.byterange,
            };
            generate_vod(&cli.stream, vod, &out).await?;
            println!(
                "{}",
                out.join(swarmcast_testcard::MASTER_PLAYLIST).display()
            );
        }
        None => {
            let live = LiveTestcard::start(cli.stream, cli.out.as_deref()).await?;
            // Not `println!`: a closed stdout must not end the test card
            // before it stops ffmpeg and removes its folder.
            let _ = writeln!(std::io::stdout(), "{}", live.master_playlist().display());
            shutdown_signal().await;
            live.stop().await;
        }
    }
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
