//! Browser shell: executes engine actions with WebSocket, WebRTC, fetch and timers.
