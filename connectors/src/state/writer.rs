//! [`Writer`]: a thread of its own that runs a store's commits one after another, so that a
//! commit's work (building pages, writing them, `fsync`) goes on beside the caller's work
//! instead of blocking the thread that polls the caller's futures.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use futures::channel::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// The sending end of a writer thread. The thread runs the jobs sent to it in the order they
/// were sent, and ends once every `Writer` for it is dropped and its queue is empty.
#[derive(Debug)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts a thread named `name`.
    pub(crate) fn spawn(name: &str) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                for job in queue {
                    // A job that panics loses only its own answer (its caller sees the answer
                    // channel closed); the thread goes on with the next.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                }
            })?;
        Ok(Writer { jobs })
    }

    /// Queues `work`; its result comes back on the receiver. The receiver is cancelled, never
    /// answered, if the work panicked (or, which the loop above rules out, if the thread is
    /// gone).
    pub(crate) fn submit<T, F>(&self, work: F) -> oneshot::Receiver<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (answer, receiver) = oneshot::channel();
        // A job that cannot be sent is dropped with its answer's sender: the receiver is
        // cancelled.
        let _ = self.jobs.send(Box::new(move || {
            let _ = answer.send(work());
        }));
        receiver
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn jobs_run_in_order_on_the_thread() {
        let writer = Writer::spawn("test-writer").unwrap();
        let here = std::thread::current().id();
        let answers: Vec<_> = (0..5)
            .map(|i| writer.submit(move || (i, std::thread::current().id())))
            .collect();
        for (i, a) in answers.into_iter().enumerate() {
            let (n, thread) = block_on(a).unwrap();
            assert_eq!(n, i);
            assert_ne!(thread, here);
        }
    }

    #[test]
    fn a_panicking_job_loses_its_answer_only() {
        let writer = Writer::spawn("test-writer").unwrap();
        let lost = writer.submit(|| -> u32 { panic!("boom") });
        assert!(block_on(lost).is_err());
        let next = writer.submit(|| 7);
        assert_eq!(block_on(next).unwrap(), 7);
    }
}
