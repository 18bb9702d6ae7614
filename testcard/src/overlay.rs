//! The picture burned into every frame: wall-clock time, segment and frame
//! numbers, and the rendition name, so a person comparing two tabs can read
//! the live delay and tell which rendition each tab plays.
//!
//! Built as one ffmpeg filter graph: the shared text is drawn once at the
//! largest size, then split and scaled per rendition before the name is drawn.

use crate::Rendition;

/// The font drawtext asks fontconfig for (Debian package fonts-dejavu-core).
const FONT: &str = "DejaVu Sans Mono";

/// A `-filter_complex` graph that reads `[0:v]` and produces one labelled
/// output `[v0]`, `[v1]`, ... per rendition of `ladder` (smallest first).
pub fn filter_graph(ladder: &[Rendition], fps: u32, segment_seconds: u32) -> String {
    let largest = *ladder.last().expect("at least one rendition");
    let frames_per_segment = fps * segment_seconds;
    let big = largest.height() / 12;
    // Inside drawtext text, `:` must be escaped once for the option parser and
    // the strftime colons once more for the expansion: hence `\:` and `\\\:`.
    let clock = r"%{localtime\:%H\\\:%M\\\:%S}";
    let counters = format!(r"seg %{{eif\:trunc(n/{frames_per_segment})\:d}}  frame %{{n}}");
    let mut graph = format!(
        "[0:v]drawtext=font={FONT}:fontsize={big}:fontcolor=white:box=1:boxcolor=black@0.6:\
         boxborderw=8:x=24:y=24:text='{clock}  {counters}',split={n}",
        n = ladder.len()
    );
    for i in 0..ladder.len() {
        graph.push_str(&format!("[s{i}]"));
    }
    for (i, r) in ladder.iter().enumerate() {
        let scale = if *r == largest {
            "null".to_string()
        } else {
            format!("scale={}:{}", r.width(), r.height())
        };
        let size = r.height() / 10;
        graph.push_str(&format!(
            ";[s{i}]{scale},drawtext=font={FONT}:fontsize={size}:fontcolor=yellow:box=1:\
             boxcolor=black@0.6:boxborderw=8:x=24:y=h-th-24:text='{r}'[v{i}]"
        ));
    }
    graph
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_labelled_output_per_rendition_scaled_from_the_largest() {
        let ladder = ["360p".parse().unwrap(), "540p".parse().unwrap()];
        let graph = filter_graph(&ladder, 30, 2);
        assert!(graph.contains("split=2[s0][s1]"), "{graph}");
        assert!(graph.contains("[s0]scale=640:360,"), "{graph}");
        assert!(graph.contains("[s1]null,"), "{graph}");
        assert!(graph.contains("text='360p'[v0]") && graph.contains("text='540p'[v1]"));
        assert!(
            graph.contains("trunc(n/60)"),
            "segment number from 60 frames per segment"
        );
    }
}
