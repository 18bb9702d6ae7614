//! Integration tests: real trackers and real WebSocket clients on 127.0.0.1.
//! One binary for all of them keeps link time down.

mod bad_input;
mod common;
mod lifecycle;
mod limits;
mod operators;
mod relay;
