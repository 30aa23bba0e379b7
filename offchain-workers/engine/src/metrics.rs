//! Prometheus metrics of the engine.

use std::time::Duration;

use prometheus_endpoint::{
	register, Counter, CounterVec, Gauge, Histogram, HistogramOpts, Opts, PrometheusError,
	Registry, U64,
};

use crate::EngineError;

/// The engine's metrics: jobs run, failures by reason, latency, queue depth, cache hits.
#[derive(Clone)]
pub struct EngineMetrics {
	runs: Counter<U64>,
	failures: CounterVec<U64>,
	latency: Histogram,
	queue_depth: Gauge<U64>,
	cache: CounterVec<U64>,
}

impl EngineMetrics {
	/// Registers the metrics in `registry`.
	pub fn register(registry: &Registry) -> Result<Self, PrometheusError> {
		Ok(Self {
			runs: register(
				Counter::new("haca_inference_runs_total", "Inferences run successfully")?,
				registry,
			)?,
			failures: register(
				CounterVec::new(
					Opts::new("haca_inference_failures_total", "Engine failures by reason"),
					&["reason"],
				)?,
				registry,
			)?,
			latency: register(
				Histogram::with_opts(
					HistogramOpts::new("haca_inference_latency_seconds", "Inference latency")
						.buckets(vec![0.001, 0.005, 0.02, 0.1, 0.5, 2.0, 10.0]),
				)?,
				registry,
			)?,
			queue_depth: register(
				Gauge::new("haca_inference_queue_depth", "Inferences waiting for a worker")?,
				registry,
			)?,
			cache: register(
				CounterVec::new(
					Opts::new("haca_inference_cache_lookups_total", "Model plan cache lookups"),
					&["result"],
				)?,
				registry,
			)?,
		})
	}

	/// Records the outcome of a load (`latency: None`) or a run.
	pub(crate) fn outcome(&self, error: Option<&EngineError>, latency: Option<Duration>) {
		match (error, latency) {
			(Some(error), _) => self.failures.with_label_values(&[error.label()]).inc(),
			(None, Some(latency)) => {
				self.runs.inc();
				self.latency.observe(latency.as_secs_f64());
			}
			(None, None) => {}
		}
	}

	/// Records the queue depth after a submission.
	pub(crate) fn queue_depth(&self, depth: usize) {
		self.queue_depth.set(depth as u64);
	}

	/// Records a plan cache lookup.
	pub(crate) fn cache_lookup(&self, hit: bool) {
		self.cache.with_label_values(&[if hit { "hit" } else { "miss" }]).inc();
	}
}
