//! The stream settings shared by the `swarmcast-testcard` binary and the
//! origin's `--testcard` mode, as one clap argument group so both spell the
//! flags the same way.

use std::path::PathBuf;

use crate::command::{AUDIO_FOLDER, MASTER_PLAYLIST};
use crate::encryption::{KEY_FILE, KEY_INFO_FILE};
use crate::Rendition;

/// Container of the media segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentFormat {
    /// MPEG-TS `.ts` segments.
    Ts,
    /// Fragmented MP4 `.m4s` segments with an `EXT-X-MAP` init segment.
    Fmp4,
}

impl SegmentFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Ts => "ts",
            Self::Fmp4 => "m4s",
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct StreamOptions {
    /// Renditions of the multivariant playlist, by picture height.
    #[arg(long, value_delimiter = ',', default_value = "360p,540p")]
    pub renditions: Vec<Rendition>,

    /// Target segment duration in seconds (every segment starts on a keyframe).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub segment_seconds: u32,

    /// Segments kept in a live playlist; older segment files are deleted.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub window: u32,

    /// Fragmented MP4 segments (with an EXT-X-MAP init segment) instead of MPEG-TS.
    #[arg(long)]
    pub fmp4: bool,

    /// Audio as its own rendition (EXT-X-MEDIA TYPE=AUDIO) that every video
    /// rendition references, instead of muxed into each.
    #[arg(long)]
    pub alt_audio: bool,

    /// Encrypt segments with AES-128 (EXT-X-KEY); the key is served beside
    /// master.m3u8. MPEG-TS only: ffmpeg cannot encrypt fMP4 segments.
    #[arg(long, conflicts_with = "fmp4")]
    pub aes128: bool,

    /// The ffmpeg executable to run.
    #[arg(long, env = "SWARMCAST_FFMPEG", default_value = "ffmpeg")]
    pub ffmpeg: PathBuf,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            renditions: vec![Rendition::new(360).unwrap(), Rendition::new(540).unwrap()],
            segment_seconds: 2,
            window: 10,
            fmp4: false,
            alt_audio: false,
            aes128: false,
            ffmpeg: PathBuf::from("ffmpeg"),
        }
    }
}

impl StreamOptions {
    pub fn segment_format(&self) -> SegmentFormat {
        if self.fmp4 {
            SegmentFormat::Fmp4
        } else {
            SegmentFormat::Ts
        }
    }

    /// Renditions sorted from smallest to largest, without duplicates, so the
    /// master playlist lists them in a stable order.
    pub fn ladder(&self) -> Vec<Rendition> {
        let mut ladder = self.renditions.clone();
        ladder.sort();
        ladder.dedup();
        ladder
    }

    /// The folder of each media playlist, named as in the master playlist:
    /// one per rendition, plus the audio rendition's.
    pub fn media_folders(&self) -> Vec<String> {
        let mut folders: Vec<String> = self.ladder().iter().map(ToString::to_string).collect();
        if self.alt_audio {
            folders.push(AUDIO_FOLDER.to_string());
        }
        folders
    }

    /// Every file and folder the test card writes at the top of its output.
    pub fn outputs(&self) -> Vec<String> {
        let mut outputs = vec![MASTER_PLAYLIST.to_string()];
        outputs.extend(self.media_folders());
        if self.aes128 {
            outputs.extend([KEY_FILE, KEY_INFO_FILE].map(String::from));
        }
        outputs
    }
}
