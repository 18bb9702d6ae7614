//! WebTorrent tracker messages (JSON over WebSocket).
