//! A fixed set of worker threads fed by a bounded queue.

use std::{
	sync::{
		atomic::{AtomicUsize, Ordering},
		mpsc, Arc, Mutex,
	},
	thread,
	time::{Duration, Instant},
};

use crate::{panics, EngineError};

type Task = Box<dyn FnOnce() + Send>;

/// How long a waiting side polls before it sleeps. Waking a sleeping thread costs tens of
/// microseconds (more on virtual machines), far more than running a small model; polling
/// this briefly hands work and results over without it when they follow closely.
const POLL: Duration = Duration::from_micros(200);

/// Polls `try_take` for up to [`POLL`]; `None` if nothing came.
fn poll<T>(mut try_take: impl FnMut() -> Option<T>) -> Option<T> {
	let start = Instant::now();
	loop {
		if let Some(taken) = try_take() {
			return Some(taken);
		}
		if start.elapsed() >= POLL {
			return None;
		}
		std::hint::spin_loop();
	}
}

/// Waits up to `timeout` for a result from the pool (polling first, see [`POLL`]).
pub(crate) fn wait<R>(receiver: &mpsc::Receiver<R>, timeout: Duration) -> Option<R> {
	poll(|| receiver.try_recv().ok()).or_else(|| receiver.recv_timeout(timeout).ok())
}

/// Worker threads taking tasks from a bounded queue; a full queue refuses new tasks.
pub(crate) struct Pool {
	sender: mpsc::SyncSender<Task>,
	queued: Arc<AtomicUsize>,
}

impl Pool {
	/// Starts `threads` workers behind a queue of `depth` waiting tasks.
	pub(crate) fn new(threads: usize, depth: usize) -> Self {
		let (sender, receiver) = mpsc::sync_channel::<Task>(depth);
		let receiver = Arc::new(Mutex::new(receiver));
		let queued = Arc::new(AtomicUsize::new(0));
		for index in 0..threads {
			let receiver = receiver.clone();
			let queued = queued.clone();
			thread::Builder::new()
				.name(format!("haca-inference-{index}"))
				.spawn(move || loop {
					// A task that follows the last one closely is taken without sleeping.
					let next = poll(|| receiver.try_lock().ok()?.try_recv().ok());
					let task = match next
						.map(Ok)
						.unwrap_or_else(|| receiver.lock().expect("queue lock").recv())
					{
						Ok(task) => task,
						// The pool was dropped: no more work.
						Err(_) => return,
					};
					queued.fetch_sub(1, Ordering::Relaxed);
					// A task that panics (tract's runs catch their own) ends alone, unanswered:
					// its caller stops waiting; the worker goes on.
					let _ = panics::catch(task);
				})
				.expect("inference worker thread starts");
		}
		Self { sender, queued }
	}

	/// Queues `work`; its result arrives on the returned channel.
	pub(crate) fn submit<R: Send + 'static>(
		&self,
		work: impl FnOnce() -> R + Send + 'static,
	) -> Result<mpsc::Receiver<R>, EngineError> {
		let (result_sender, result_receiver) = mpsc::channel();
		let task: Task = Box::new(move || {
			// The caller may have timed out and gone: nobody to tell.
			let _ = result_sender.send(work());
		});
		self.queued.fetch_add(1, Ordering::Relaxed);
		self.sender.try_send(task).map_err(|_| {
			self.queued.fetch_sub(1, Ordering::Relaxed);
			EngineError::Busy
		})?;
		Ok(result_receiver)
	}

	/// Tasks waiting for a worker.
	pub(crate) fn queued(&self) -> usize {
		self.queued.load(Ordering::Relaxed)
	}
}
