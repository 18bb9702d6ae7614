//! Segment digests in media playlists: the tag format any packager can
//! write, and the playlist surgery that adds it. Shared by the origin (which
//! publishes digests as it serves) and the `swarmcast-digest` command (which
//! writes them into a folder once). The format is specified in the README.

pub mod hash;
pub mod playlist;
pub mod resolve;
pub mod tag;
