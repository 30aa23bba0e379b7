//! Prometheus metrics of model fetching and of the model store.

use std::time::Duration;

use haca_engine::ModelStore;
use prometheus_endpoint::{
	register, CounterVec, Gauge, HistogramOpts, HistogramVec, Opts, PrometheusError, Registry, U64,
};

/// Bytes fetched and fetch latency per source, failures per source and reason, and the
/// store's size.
#[derive(Clone)]
pub struct FetchMetrics {
	bytes: CounterVec<U64>,
	latency: HistogramVec,
	failures: CounterVec<U64>,
	store_bytes: Gauge<U64>,
	store_models: Gauge<U64>,
}

impl FetchMetrics {
	/// Registers the metrics in `registry`.
	pub fn register(registry: &Registry) -> Result<Self, PrometheusError> {
		Ok(Self {
			bytes: register(
				CounterVec::new(
					Opts::new("haca_model_fetch_bytes_total", "Model bytes fetched, by source"),
					&["source"],
				)?,
				registry,
			)?,
			latency: register(
				HistogramVec::new(
					HistogramOpts::new(
						"haca_model_fetch_seconds",
						"Time to fetch a model, from the first request to its last byte",
					)
					.buckets(vec![0.1, 0.5, 2.0, 10.0, 60.0, 300.0]),
					&["source"],
				)?,
				registry,
			)?,
			failures: register(
				CounterVec::new(
					Opts::new(
						"haca_model_fetch_failures_total",
						"Sources dropped while fetching a model, by source and reason \
						 (hash_mismatch: wrong bytes)",
					),
					&["source", "reason"],
				)?,
				registry,
			)?,
			store_bytes: register(
				Gauge::new("haca_model_store_bytes", "Bytes of models in the model store")?,
				registry,
			)?,
			store_models: register(
				Gauge::new("haca_model_store_models", "Models in the model store")?,
				registry,
			)?,
		})
	}

	/// A model of `bytes` fetched from `source` in `latency`.
	pub fn fetched(&self, source: &str, bytes: u64, latency: Duration) {
		self.bytes.with_label_values(&[source]).inc_by(bytes);
		self.latency.with_label_values(&[source]).observe(latency.as_secs_f64());
	}

	/// A `source` dropped for `reason`.
	pub fn failed(&self, source: &str, reason: &str) {
		self.failures.with_label_values(&[source, reason]).inc();
	}

	/// The store's size, read from `store`.
	pub fn stored(&self, store: &ModelStore) {
		let models = store.list().unwrap_or_default();
		self.store_bytes.set(models.iter().map(|model| model.size).sum());
		self.store_models.set(models.len() as u64);
	}
}
