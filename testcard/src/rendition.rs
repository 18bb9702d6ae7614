//! One rung of the test card's bitrate ladder, named the way people say it
//! ("360p"), so the CLI, the folder names and the burned-in label all agree.

use std::fmt;
use std::str::FromStr;

/// A 16:9 rendition identified by its picture height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rendition {
    height: u32,
}

/// Heights outside this range are either unwatchable or too costly for a test card.
const HEIGHTS: std::ops::RangeInclusive<u32> = 90..=1080;

impl Rendition {
    pub fn new(height: u32) -> Result<Self, String> {
        if !HEIGHTS.contains(&height) {
            return Err(format!(
                "rendition height {height} is outside {}..={}",
                HEIGHTS.start(),
                HEIGHTS.end()
            ));
        }
        if !height.is_multiple_of(2) {
            return Err(format!("rendition height {height} must be even (yuv420p)"));
        }
        Ok(Self { height })
    }

    pub fn height(self) -> u32 {
        self.height
    }

    /// 16:9 width, rounded to an even number as yuv420p requires.
    pub fn width(self) -> u32 {
        (self.height * 16 / 9 + 1) & !1
    }

    /// Video bitrate in kbit/s: about 0.08 bit per pixel at 30 fps, which
    /// keeps the busy test pattern clean at veryfast without wasting bytes.
    pub fn video_kbps(self) -> u32 {
        let pixels_per_second = u64::from(self.width()) * u64::from(self.height) * 30;
        (pixels_per_second * 8 / 100 / 1000) as u32
    }
}

impl fmt::Display for Rendition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}p", self.height)
    }
}

impl FromStr for Rendition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s
            .strip_suffix('p')
            .ok_or_else(|| format!("rendition `{s}` must look like 360p"))?;
        let height = digits
            .parse()
            .map_err(|_| format!("rendition `{s}` must look like 360p"))?;
        Self::new(height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_names_into_even_16_9_sizes() {
        let r: Rendition = "360p".parse().unwrap();
        assert_eq!((r.width(), r.height()), (640, 360));
        let r: Rendition = "540p".parse().unwrap();
        assert_eq!((r.width(), r.height()), (960, 540));
        let r: Rendition = "90p".parse().unwrap();
        assert_eq!(r.width() % 2, 0);
        assert_eq!(r.to_string(), "90p");
    }

    #[test]
    fn bitrate_grows_with_size() {
        let small: Rendition = "360p".parse().unwrap();
        let large: Rendition = "720p".parse().unwrap();
        assert_eq!(small.video_kbps(), 552);
        assert!(large.video_kbps() > 3 * small.video_kbps());
    }

    #[test]
    fn rejects_bad_names_with_a_reason() {
        assert!("360".parse::<Rendition>().unwrap_err().contains("360p"));
        assert!("abcp".parse::<Rendition>().unwrap_err().contains("360p"));
        assert!("361p".parse::<Rendition>().unwrap_err().contains("even"));
        assert!("4320p"
            .parse::<Rendition>()
            .unwrap_err()
            .contains("outside"));
    }
}
