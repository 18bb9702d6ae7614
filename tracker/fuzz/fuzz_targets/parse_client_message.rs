//! Feeds arbitrary text frames to the tracker's request parser
//! (`ClientMessage::from_json`). It must never panic, and whatever it accepts
//! must survive `to_json` and a second parse unchanged, since the loader sends
//! requests built with the same types.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swarmcast_protocol::tracker::ClientMessage;

fuzz_target!(|text: &str| {
    match ClientMessage::from_json(text) {
        Ok(message) => {
            let again = ClientMessage::from_json(&message.to_json())
                .unwrap_or_else(|err| panic!("own output does not parse: {err}"));
            assert_eq!(again, message, "round trip changed the request");
        }
        Err(err) => {
            // The tracker formats the error into `failure reason` and asks
            // whether to close the socket.
            let _ = (err.to_string(), err.is_syntax());
        }
    }
});
