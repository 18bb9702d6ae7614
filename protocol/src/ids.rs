//! 20-byte identifiers (info_hash, peer_id, offer_id) and their latin1 JSON form.
