//! The template's SQS queues, in memory: a function's work queue (read by an event source
//! mapping), its dead-letter queue, and the OnFailure queues of the asynchronous functions.
//!
//! A message is visible, or in flight until its visibility timeout ends; each receive counts,
//! and a message received `maxReceiveCount` times moves to the dead-letter queue on the next
//! receive, as SQS does. Waiting messages can be listed (`GET /_local/queues`) and redriven
//! (`POST /_local/queues/<queue>/redrive`): a dead-letter queue's messages go back to the queue
//! that feeds them, as SQS's `StartMessageMoveTask` does; an OnFailure record's event is
//! invoked again (see [`crate::runner::shared`]).

use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{sync::Notify, time::Instant};

/// One message.
#[derive(Debug, Clone)]
pub struct Message {
    pub message_id: String,
    pub body: String,
    /// Receives so far (SQS's `ApproximateReceiveCount`).
    pub receive_count: u64,
    /// When it was sent, epoch ms (SQS's `SentTimestamp`).
    pub sent_ms: u64,
    /// The trace it belongs to, and the hop it hangs under.
    pub trace: String,
    pub parent: String,
    visible_at: Instant,
}

/// A queue as `GET /_local/queues` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QueueView {
    pub name: String,
    /// Messages that can be received now.
    pub visible: usize,
    /// Messages received and not yet deleted or visible again.
    pub in_flight: usize,
}

/// What a receive gave: messages to hand the function, and those that moved to the
/// dead-letter queue instead.
#[derive(Debug, Default)]
pub struct Received {
    pub messages: Vec<Message>,
    pub dead_lettered: Vec<Message>,
}

/// The queues by logical id.
#[derive(Clone, Default)]
pub struct Queues {
    queues: Arc<Mutex<BTreeMap<String, Vec<Message>>>>,
    changed: Arc<Notify>,
}

impl Queues {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<Message>>> {
        self.queues.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes `name` exist (empty), so it is listed before anything reaches it.
    pub fn declare(&self, name: &str) {
        self.lock().entry(name.to_owned()).or_default();
    }

    /// Sends a message; returns its id.
    pub fn send(&self, queue: &str, body: String, trace: String, parent: String) -> String {
        let message_id = uuid::Uuid::new_v4().to_string();
        self.push(
            queue,
            Message {
                message_id: message_id.clone(),
                body,
                receive_count: 0,
                sent_ms: crate::runner::util::now_ms(),
                trace,
                parent,
                visible_at: Instant::now(),
            },
        );
        message_id
    }

    fn push(&self, queue: &str, message: Message) {
        self.lock()
            .entry(queue.to_owned())
            .or_default()
            .push(message);
        self.changed.notify_waiters();
    }

    /// Up to `max` visible messages, each made invisible for `visibility` and its receive
    /// counted; a message already received `dead_letter.1` times goes to `dead_letter.0`
    /// instead.
    pub fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
        dead_letter: Option<&(String, u64)>,
    ) -> Received {
        let now = Instant::now();
        let mut received = Received::default();
        let mut queues = self.lock();
        let Some(messages) = queues.get_mut(queue) else {
            return received;
        };
        let mut kept = Vec::with_capacity(messages.len());
        for mut m in messages.drain(..) {
            if received.messages.len() >= max || m.visible_at > now {
                kept.push(m);
                continue;
            }
            match dead_letter {
                Some((_, max_receives)) if m.receive_count >= *max_receives => {
                    received.dead_lettered.push(m);
                }
                _ => {
                    m.receive_count += 1;
                    m.visible_at = now + visibility;
                    received.messages.push(m.clone());
                    kept.push(m);
                }
            }
        }
        *messages = kept;
        if let Some((dlq, _)) = dead_letter {
            for m in &received.dead_lettered {
                let mut moved = m.clone();
                moved.visible_at = now;
                queues.entry(dlq.clone()).or_default().push(moved);
            }
        }
        received
    }

    /// Makes these messages visible again at `at` (or at once when `at` has passed).
    pub fn release(&self, queue: &str, message_ids: &[String], at: Instant) {
        let mut released = false;
        if let Some(messages) = self.lock().get_mut(queue) {
            for m in messages
                .iter_mut()
                .filter(|m| message_ids.contains(&m.message_id))
            {
                m.visible_at = at;
                released = true;
            }
        }
        if released {
            self.changed.notify_waiters();
        }
    }

    /// Deletes these messages (the function handled them).
    pub fn delete(&self, queue: &str, message_ids: &[String]) {
        if let Some(messages) = self.lock().get_mut(queue) {
            messages.retain(|m| !message_ids.contains(&m.message_id));
        }
    }

    /// When the next message of `queue` becomes visible (`None`: the queue is empty).
    pub fn next_visible(&self, queue: &str) -> Option<Instant> {
        self.lock().get(queue)?.iter().map(|m| m.visible_at).min()
    }

    /// Waits until something is sent or `until`, whichever comes first.
    pub async fn changed_or(&self, until: Instant) {
        let notified = self.changed.notified();
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(until) => {}
        }
    }

    /// Removes and returns every message of `queue` (a redrive takes them all).
    pub fn take_all(&self, queue: &str) -> Vec<Message> {
        self.lock()
            .get_mut(queue)
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Puts messages back on `queue` as new, visible at once (their receives start again, as
    /// with SQS's move task).
    pub fn put_back(&self, queue: &str, messages: Vec<Message>) {
        let now = Instant::now();
        for mut m in messages {
            m.receive_count = 0;
            m.visible_at = now;
            self.push(queue, m);
        }
    }

    /// Every queue with its counts.
    pub fn list(&self) -> Vec<QueueView> {
        let now = Instant::now();
        self.lock()
            .iter()
            .map(|(name, messages)| {
                let visible = messages.iter().filter(|m| m.visible_at <= now).count();
                QueueView {
                    name: name.clone(),
                    visible,
                    in_flight: messages.len() - visible,
                }
            })
            .collect()
    }

    /// Messages in `queue`, visible or not.
    pub fn depth(&self, queue: &str) -> usize {
        self.lock().get(queue).map_or(0, Vec::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_message_received_max_times_moves_to_the_dead_letter_queue() {
        let q = Queues::default();
        let dlq = ("dlq".to_owned(), 2);
        q.send("work", "{}".into(), "t".into(), "p".into());
        for round in 1..=2 {
            let r = q.receive("work", 10, Duration::ZERO, Some(&dlq));
            assert_eq!(r.messages.len(), 1, "round {round}");
            assert_eq!(r.messages[0].receive_count, round);
        }
        let r = q.receive("work", 10, Duration::ZERO, Some(&dlq));
        assert!(r.messages.is_empty());
        assert_eq!(r.dead_lettered.len(), 1);
        assert_eq!(q.depth("work"), 0);
        assert_eq!(q.depth("dlq"), 1);
        // Redriven: back on the work queue with its receives counted from zero.
        let moved = q.take_all("dlq");
        q.put_back("work", moved);
        let r = q.receive("work", 10, Duration::ZERO, Some(&dlq));
        assert_eq!(r.messages[0].receive_count, 1);
    }

    #[tokio::test]
    async fn an_invisible_message_is_not_received_again_until_its_timeout() {
        let q = Queues::default();
        q.send("work", "{}".into(), "t".into(), "p".into());
        q.send("work", "{}".into(), "t".into(), "p".into());
        let first = q.receive("work", 1, Duration::from_secs(60), None);
        assert_eq!(first.messages.len(), 1, "at most the batch size");
        let second = q.receive("work", 10, Duration::from_secs(60), None);
        assert_eq!(second.messages.len(), 1, "only the other one");
        assert!(
            q.receive("work", 10, Duration::from_secs(60), None)
                .messages
                .is_empty()
        );
        assert_eq!(
            q.list(),
            [QueueView {
                name: "work".into(),
                visible: 0,
                in_flight: 2
            }]
        );
        q.delete("work", &[first.messages[0].message_id.clone()]);
        assert_eq!(q.depth("work"), 1);
    }
}
