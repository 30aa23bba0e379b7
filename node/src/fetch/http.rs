//! Fetching a model by its content hash from its registered locators (`http://` and
//! `https://`): each locator in turn, each attempt streamed with a size cap (the registered
//! size) and a timeout, retried with a doubling backoff when the failure may pass (a
//! timeout, a dropped connection, a server error). A locator that serves wrong bytes, more
//! or fewer than the registered size, or refuses the request is dropped at once and the next
//! one tried. The bytes are returned only if they hash to the model's hash.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::{body::Incoming, Uri};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use sp_core::hexdisplay::HexDisplay;

use super::{FetchError, LOG_TARGET};

impl FetchError {
	/// Whether another attempt at the same locator may succeed.
	fn may_pass(&self) -> bool {
		match self {
			Self::Timeout(_) | Self::Connection(_) => true,
			Self::Status(status) => *status >= 500,
			_ => false,
		}
	}
}

/// How hard to try each locator.
#[derive(Debug, Clone, Copy)]
pub struct FetchPolicy {
	/// Longest one attempt may take, from the request to the last byte.
	pub timeout: Duration,
	/// Attempts after the first at one locator, for failures that may pass.
	pub retries: u32,
	/// Wait before the first retry, doubled before each next one.
	pub backoff: Duration,
}

/// A model fetched, and the locators dropped before one served it.
pub struct Fetched {
	/// The model's bytes, of its size and hash.
	pub bytes: Vec<u8>,
	/// Each locator tried in vain, with its last failure.
	pub dropped: Vec<(String, FetchError)>,
}

/// The model `hash` of `size` bytes from the first of `locators` that serves it; otherwise
/// each locator's last failure. `progress` is told the bytes received so far.
pub async fn fetch(
	locators: &[String],
	hash: &[u8; 32],
	size: u64,
	policy: FetchPolicy,
	progress: &mut (dyn FnMut(u64) + Send),
) -> Result<Fetched, Vec<(String, FetchError)>> {
	let connector = hyper_rustls::HttpsConnectorBuilder::new()
		.with_native_roots()
		.map_err(|error| {
			let error = FetchError::Connection(format!("no TLS root certificates: {error}"));
			locators.iter().map(|locator| (locator.clone(), error.clone())).collect::<Vec<_>>()
		})?
		.https_or_http()
		.enable_http1()
		.build();
	let client: Client<_, http_body_util::Empty<hyper::body::Bytes>> =
		Client::builder(TokioExecutor::new()).build(connector);
	let mut failures = Vec::new();
	for locator in locators {
		let mut backoff = policy.backoff;
		let mut attempt = 0;
		let failure = loop {
			let result = match locator_uri(locator) {
				Ok(uri) => tokio::time::timeout(
					policy.timeout,
					fetch_once(&client, uri, hash, size, progress),
				)
				.await
				.unwrap_or(Err(FetchError::Timeout(policy.timeout))),
				Err(error) => Err(error),
			};
			match result {
				Ok(bytes) => return Ok(Fetched { bytes, dropped: failures }),
				Err(error) if error.may_pass() && attempt < policy.retries => {
					log::warn!(target: LOG_TARGET, "{locator}: {error}; retrying in {backoff:?}");
					tokio::time::sleep(backoff).await;
					backoff *= 2;
					attempt += 1;
				}
				Err(error) => break error,
			}
		};
		failures.push((locator.clone(), failure));
	}
	Err(failures)
}

/// `locator` as an `http://` or `https://` URI.
fn locator_uri(locator: &str) -> Result<Uri, FetchError> {
	let uri: Uri = locator.parse().map_err(|_| FetchError::BadLocator)?;
	match (uri.scheme_str(), uri.host()) {
		(Some("http" | "https"), Some(_)) => Ok(uri),
		_ => Err(FetchError::BadLocator),
	}
}

/// One attempt at `uri`: its body, if it is exactly `size` bytes hashing to `hash`.
async fn fetch_once<C>(
	client: &Client<C, http_body_util::Empty<hyper::body::Bytes>>,
	uri: Uri,
	hash: &[u8; 32],
	size: u64,
	progress: &mut (dyn FnMut(u64) + Send),
) -> Result<Vec<u8>, FetchError>
where
	C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
	let connection = |error: &dyn std::fmt::Display| FetchError::Connection(error.to_string());
	let response = client.get(uri).await.map_err(|error| connection(&error))?;
	if response.status() != hyper::StatusCode::OK {
		return Err(FetchError::Status(response.status().as_u16()));
	}
	let mut body: Incoming = response.into_body();
	let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(64 << 20));
	while let Some(frame) = body.frame().await {
		let frame = frame.map_err(|error| connection(&error))?;
		let Ok(data) = frame.into_data() else { continue };
		if bytes.len() as u64 + data.len() as u64 > size {
			return Err(FetchError::TooLong(size));
		}
		bytes.extend_from_slice(&data);
		progress(bytes.len() as u64);
	}
	if (bytes.len() as u64) < size {
		return Err(FetchError::TooShort { got: bytes.len() as u64, size });
	}
	let found = sp_crypto_hashing::blake2_256(&bytes);
	if found != *hash {
		return Err(FetchError::HashMismatch(HexDisplay::from(&found).to_string()));
	}
	Ok(bytes)
}
