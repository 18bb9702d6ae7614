//! The binary, versioned peer-to-peer protocol spoken over WebRTC data channels.
