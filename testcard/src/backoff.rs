//! How long to wait before restarting a crashed ffmpeg: quickly at first,
//! then less and less often while it keeps crashing, so a broken setup logs
//! a line now and then instead of spinning the CPU.

use std::time::Duration;

const FIRST: Duration = Duration::from_millis(500);
const MAX: Duration = Duration::from_secs(30);
/// A run at least this long counts as healthy and resets the delay.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: FIRST }
    }
}

impl Backoff {
    /// The delay before the next start, given how long the last run lasted.
    pub fn after_run(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= HEALTHY_RUN {
            self.next = FIRST;
        }
        let delay = self.next;
        self.next = (self.next * 2).min(MAX);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_a_cap_and_resets_after_a_healthy_run() {
        let mut b = Backoff::default();
        let quick = Duration::from_secs(1);
        let delays: Vec<_> = (0..8).map(|_| b.after_run(quick).as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        assert_eq!(b.after_run(Duration::from_secs(120)), FIRST);
        assert_eq!(b.after_run(quick), FIRST * 2);
    }
}
