//! The ffmpeg command line for a test card: lavfi sources, the overlay, x264 +
//! AAC per rendition, and the HLS muxer set up for live or VOD output.
//! Kept free of I/O so every mode's flags are checked by unit tests.

use std::ffi::OsString;
use std::path::Path;

use crate::encryption::KEY_INFO_FILE;
use crate::overlay::filter_graph;
use crate::{Rendition, SegmentFormat, StreamOptions};

/// Frames per second of the test card.
pub const FPS: u32 = 30;

/// What ffmpeg should produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A sliding-window live stream paced at real time, running until killed.
    Live {
        /// Continue the numbering of an existing playlist after a restart.
        resume: bool,
    },
    /// A finished VOD of this many seconds, encoded as fast as possible.
    Vod { seconds: u32, byterange: bool },
}

/// Name of the multivariant playlist in the output folder.
pub const MASTER_PLAYLIST: &str = "master.m3u8";
/// Name of each rendition's media playlist inside its own folder.
pub const MEDIA_PLAYLIST: &str = "stream.m3u8";

/// Name of the audio rendition's folder (with `alt_audio`).
pub const AUDIO_FOLDER: &str = "audio";
/// The audio rendition's group, named in each video variant's AUDIO attribute.
const AUDIO_GROUP: &str = "aud";

/// ffmpeg's `-var_stream_map`: which output streams make up each variant,
/// and the variant's name (its folder). With `alt_audio`, the one audio
/// stream is a rendition of its own that every video variant refers to;
/// `default:yes` makes ffmpeg list it only as EXT-X-MEDIA, not also as an
/// audio-only variant.
fn var_stream_map(ladder: &[Rendition], alt_audio: bool) -> String {
    let mut variants = Vec::new();
    if alt_audio {
        variants.push(format!(
            "a:0,agroup:{AUDIO_GROUP},name:{AUDIO_FOLDER},language:en,default:yes"
        ));
    }
    for (i, r) in ladder.iter().enumerate() {
        variants.push(if alt_audio {
            format!("v:{i},agroup:{AUDIO_GROUP},name:{r}")
        } else {
            format!("v:{i},a:{i},name:{r}")
        });
    }
    variants.join(" ")
}

/// Arguments for ffmpeg, writing into `out` (which must exist).
pub fn ffmpeg_args(options: &StreamOptions, mode: Mode, out: &Path) -> Vec<OsString> {
    let ladder = options.ladder();
    let largest = *ladder.last().expect("clap requires at least one rendition");
    let gop = FPS * options.segment_seconds;
    let duration = match mode {
        Mode::Vod { seconds, .. } => format!(":duration={seconds}"),
        Mode::Live { .. } => String::new(),
    };

    let mut args: Vec<String> = vec!["-hide_banner".into(), "-nostdin".into(), "-y".into()];
    args.extend(["-loglevel".into(), "warning".into()]);
    if matches!(mode, Mode::Live { .. }) {
        args.push("-re".into()); // pace the lavfi sources at wall-clock speed
    }
    args.extend([
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        format!(
            "testsrc2=size={}x{}:rate={FPS}{duration}",
            largest.width(),
            largest.height()
        ),
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        format!("sine=frequency=1000:sample_rate=48000{duration}"),
        "-filter_complex".into(),
        filter_graph(&ladder, FPS, options.segment_seconds),
    ]);
    for (i, r) in ladder.iter().enumerate() {
        args.extend(["-map".into(), format!("[v{i}]")]);
        if !options.alt_audio {
            args.extend(["-map".into(), "1:a".into()]);
        }
        args.extend([format!("-b:v:{i}"), format!("{}k", r.video_kbps())]);
        args.extend([
            format!("-maxrate:v:{i}"),
            format!("{}k", r.video_kbps() * 3 / 2),
        ]);
        args.extend([
            format!("-bufsize:v:{i}"),
            format!("{}k", r.video_kbps() * 2),
        ]);
    }
    if options.alt_audio {
        args.extend(["-map".into(), "1:a".into()]);
    }
    // veryfast + zerolatency: no B-frames or lookahead, the cheapest setting
    // that still looks clean (CPU figures in the README). A fixed GOP of one
    // segment, with scene-cut keyframes off, makes every segment independent.
    args.extend(
        [
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-tune",
            "zerolatency",
            "-profile:v",
            "high",
            "-pix_fmt",
            "yuv420p",
        ]
        .map(String::from),
    );
    args.extend([
        "-g".into(),
        gop.to_string(),
        "-keyint_min".into(),
        gop.to_string(),
        "-sc_threshold".into(),
        "0".into(),
    ]);
    args.extend(["-c:a", "aac", "-b:a", "96k", "-ac", "2"].map(String::from));

    let ext = options.segment_format().extension();
    let mut flags = vec!["independent_segments"];
    args.extend([
        "-f".into(),
        "hls".into(),
        "-hls_time".into(),
        options.segment_seconds.to_string(),
    ]);
    let segment_name = match mode {
        Mode::Live { resume } => {
            // temp_file: segments and playlists appear atomically (write, then
            // rename), so the origin never serves a half-written file.
            flags.extend(["delete_segments", "temp_file", "program_date_time"]);
            if resume {
                // Carry on the media sequence numbers after a restart, and tell
                // players the timestamps jump.
                flags.extend(["append_list", "discont_start"]);
            }
            args.extend(["-hls_list_size".into(), options.window.to_string()]);
            format!("seg_%05d.{ext}")
        }
        Mode::Vod { byterange, .. } => {
            args.extend(["-hls_playlist_type", "vod", "-hls_list_size", "0"].map(String::from));
            if byterange {
                flags.push("single_file");
                format!("stream.{ext}")
            } else {
                format!("seg_%05d.{ext}")
            }
        }
    };
    args.extend(["-hls_flags".into(), flags.join("+")]);
    if options.segment_format() == SegmentFormat::Fmp4 {
        args.extend(
            [
                "-hls_segment_type",
                "fmp4",
                "-hls_fmp4_init_filename",
                "init.mp4",
            ]
            .map(String::from),
        );
    }
    args.extend([
        "-var_stream_map".into(),
        var_stream_map(&ladder, options.alt_audio),
        "-master_pl_name".into(),
        MASTER_PLAYLIST.into(),
    ]);

    let mut args: Vec<OsString> = args.into_iter().map(OsString::from).collect();
    if options.aes128 {
        args.push("-hls_key_info_file".into());
        args.push(out.join(KEY_INFO_FILE).into_os_string());
    }
    args.push("-hls_segment_filename".into());
    args.push(out.join("%v").join(segment_name).into_os_string());
    args.push(out.join("%v").join(MEDIA_PLAYLIST).into_os_string());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(options: &StreamOptions, mode: Mode) -> Vec<String> {
        ffmpeg_args(options, mode, Path::new("/out"))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    fn value_of<'a>(args: &'a [String], flag: &str) -> &'a str {
        let i = args
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("{flag} missing"));
        &args[i + 1]
    }

    #[test]
    fn live_is_paced_windowed_and_deletes_old_segments() {
        let a = args(&StreamOptions::default(), Mode::Live { resume: false });
        assert!(a.contains(&"-re".to_string()));
        assert_eq!(value_of(&a, "-hls_list_size"), "10");
        assert_eq!(value_of(&a, "-hls_time"), "2");
        assert_eq!(value_of(&a, "-g"), "60");
        assert_eq!(
            value_of(&a, "-hls_flags"),
            "independent_segments+delete_segments+temp_file+program_date_time"
        );
        assert_eq!(
            value_of(&a, "-var_stream_map"),
            "v:0,a:0,name:360p v:1,a:1,name:540p"
        );
        assert_eq!(value_of(&a, "-master_pl_name"), "master.m3u8");
        assert_eq!(value_of(&a, "-hls_segment_filename"), "/out/%v/seg_%05d.ts");
        assert_eq!(a.last().unwrap(), "/out/%v/stream.m3u8");
    }

    #[test]
    fn restarted_live_continues_the_playlist() {
        let a = args(&StreamOptions::default(), Mode::Live { resume: true });
        assert!(value_of(&a, "-hls_flags").ends_with("+append_list+discont_start"));
    }

    #[test]
    fn vod_runs_unpaced_for_a_fixed_duration() {
        let vod = Mode::Vod {
            seconds: 12,
            byterange: false,
        };
        let a = args(&StreamOptions::default(), vod);
        assert!(
            !a.contains(&"-re".to_string()),
            "VOD must encode faster than real time"
        );
        assert!(value_of(&a, "-i").ends_with(":duration=12"));
        assert_eq!(value_of(&a, "-hls_playlist_type"), "vod");
        assert_eq!(value_of(&a, "-hls_list_size"), "0");
        assert!(!value_of(&a, "-hls_flags").contains("delete_segments"));
    }

    #[test]
    fn byterange_vod_writes_one_file_per_rendition() {
        let options = StreamOptions {
            fmp4: true,
            ..StreamOptions::default()
        };
        let a = args(
            &options,
            Mode::Vod {
                seconds: 4,
                byterange: true,
            },
        );
        assert!(value_of(&a, "-hls_flags").contains("single_file"));
        assert_eq!(value_of(&a, "-hls_segment_type"), "fmp4");
        assert_eq!(value_of(&a, "-hls_segment_filename"), "/out/%v/stream.m4s");
    }

    #[test]
    fn custom_ladder_and_segment_length() {
        let options = StreamOptions {
            renditions: vec!["720p".parse().unwrap(), "180p".parse().unwrap()],
            segment_seconds: 4,
            window: 5,
            ..StreamOptions::default()
        };
        let a = args(&options, Mode::Live { resume: false });
        assert_eq!(
            value_of(&a, "-var_stream_map"),
            "v:0,a:0,name:180p v:1,a:1,name:720p"
        );
        assert!(value_of(&a, "-i").starts_with("testsrc2=size=1280x720"));
        assert_eq!(value_of(&a, "-g"), "120");
        assert_eq!(value_of(&a, "-hls_list_size"), "5");
    }

    #[test]
    fn alt_audio_is_one_rendition_shared_by_every_video_variant() {
        let options = StreamOptions {
            alt_audio: true,
            ..StreamOptions::default()
        };
        let a = args(&options, Mode::Live { resume: false });
        assert_eq!(
            value_of(&a, "-var_stream_map"),
            "a:0,agroup:aud,name:audio,language:en,default:yes \
             v:0,agroup:aud,name:360p v:1,agroup:aud,name:540p"
        );
        let maps: Vec<_> = a
            .iter()
            .zip(&a[1..])
            .filter(|(flag, _)| *flag == "-map")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(
            maps,
            ["[v0]", "[v1]", "1:a"],
            "one audio stream, not one per video"
        );
    }

    #[test]
    fn aes128_points_ffmpeg_at_the_key_info_file() {
        let options = StreamOptions {
            aes128: true,
            ..StreamOptions::default()
        };
        let a = args(&options, Mode::Live { resume: false });
        assert_eq!(value_of(&a, "-hls_key_info_file"), "/out/enc.keyinfo");
        let plain = args(&StreamOptions::default(), Mode::Live { resume: false });
        assert!(!plain.contains(&"-hls_key_info_file".to_string()));
    }
}
