//! The bounded queue of text frames waiting to be written to one connection.
//!
//! Replaces a tokio `mpsc` channel, which allocates a block of slots as soon
//! as it is created (~1.5 KiB per connection). Most peers idle, so this queue
//! starts empty and only allocates once something is sent to it.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the connection task; a wake-up with nobody waiting is kept for later.
    ready: Notify,
    capacity: usize,
}

struct Queue {
    items: VecDeque<Utf8Bytes>,
    /// The connection is gone: refuse messages instead of holding them.
    closed: bool,
}

/// The sending side, cloned into every swarm the connection's peers are in.
#[derive(Clone)]
pub struct Outbox(Arc<Shared>);

/// The receiving side, owned by the connection task.
pub struct Inbox(Arc<Shared>);

/// A queue that holds at most `capacity` (at least 1) messages.
pub fn channel(capacity: usize) -> (Outbox, Inbox) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            items: VecDeque::new(),
            closed: false,
        }),
        ready: Notify::new(),
        capacity: capacity.max(1),
    });
    (Outbox(shared.clone()), Inbox(shared))
}

impl Outbox {
    /// Queues without waiting; gives the message back if the queue is full
    /// or the connection has closed.
    pub fn try_send(&self, message: Utf8Bytes) -> Result<(), Utf8Bytes> {
        let mut queue = self.0.queue.lock();
        if queue.closed || queue.items.len() >= self.0.capacity {
            return Err(message);
        }
        queue.items.push_back(message);
        drop(queue);
        self.0.ready.notify_one();
        Ok(())
    }
}

impl Inbox {
    /// Waits for the next message. Cancel-safe: nothing is taken until it returns.
    pub async fn recv(&mut self) -> Utf8Bytes {
        loop {
            if let Some(message) = self.try_recv() {
                return message;
            }
            self.0.ready.notified().await;
        }
    }

    pub fn try_recv(&mut self) -> Option<Utf8Bytes> {
        self.0.queue.lock().items.pop_front()
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        let mut queue = self.0.queue.lock();
        queue.closed = true;
        queue.items = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_fifo_that_refuses_after_close() {
        let (tx, mut rx) = channel(2);
        assert!(tx.try_send("a".into()).is_ok());
        assert!(tx.try_send("b".into()).is_ok());
        assert!(tx.try_send("c".into()).is_err(), "full");
        assert_eq!(rx.recv().await.as_str(), "a");
        assert_eq!(rx.try_recv().unwrap().as_str(), "b");
        assert!(rx.try_recv().is_none());
        drop(rx);
        assert!(tx.try_send("d".into()).is_err(), "closed");
    }

    #[tokio::test]
    async fn recv_wakes_on_send() {
        let (tx, mut rx) = channel(1);
        let waiter = tokio::spawn(async move { rx.recv().await });
        tokio::task::yield_now().await;
        tx.try_send("x".into()).unwrap();
        assert_eq!(waiter.await.unwrap().as_str(), "x");
    }
}
