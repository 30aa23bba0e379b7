//! A fixed set of worker threads fed by a bounded queue.

use std::{
	sync::{
		atomic::{AtomicUsize, Ordering},
		mpsc, Arc, Mutex,
	},
	thread,
};

use crate::EngineError;

type Task = Box<dyn FnOnce() + Send>;

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
					let task = match receiver.lock().expect("queue lock").recv() {
						Ok(task) => task,
						// The pool was dropped: no more work.
						Err(_) => return,
					};
					queued.fetch_sub(1, Ordering::Relaxed);
					task();
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
