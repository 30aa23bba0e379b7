//! Models shared between nodes over the chain's own libp2p network: a request-response
//! protocol (`/<genesis hash>/haca/models/1`) whose request names a model by its hash and a
//! byte range of it, at most [`CHUNK_BYTES`], and whose answer is those bytes, or that the
//! peer does not serve the model, or that it is busy.
//!
//! Every node answers from its model store unless its operator turned serving off
//! (`--no-model-serving`), each peer at most [`PEER_REQUESTS_PER_SECOND`] chunks a second (a
//! flood is refused, `Busy`, and costs the peer reputation). A node fetching a model asks
//! its connected peers in turn, chunk after chunk; when a peer fails, the next one goes on
//! from where it stopped. Only bytes of the registered size that hash to the model are kept;
//! a peer that alone served bytes of another hash is reported and dropped.

use std::{
	collections::HashMap,
	sync::Arc,
	time::{Duration, Instant},
};

use codec::{Decode, Encode};
use futures::StreamExt;
use haca_engine::ModelStore;
use sc_network::{
	request_responses::{IfDisconnected, IncomingRequest, OutgoingResponse},
	service::traits::NetworkService,
	NetworkBackend, ProtocolName, ReputationChange,
};
use sc_network_sync::SyncingService;
use sc_network_types::PeerId;
use sp_core::hexdisplay::HexDisplay;

use super::{FetchError, LOG_TARGET};
use haca_runtime::opaque::Block;

/// Most bytes one answer carries.
pub const CHUNK_BYTES: u32 = 1 << 20;

/// Most chunk requests the node answers one peer in a second.
pub const PEER_REQUESTS_PER_SECOND: u32 = 64;

/// Requests waiting for an answer; more are dropped by the network.
const INBOUND_QUEUE: usize = 64;

/// Longest a peer may take to answer one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Times a busy peer is asked again, a second apart, before the next peer is tried.
const BUSY_RETRIES: u32 = 3;

/// What a peer that asks for chunks faster than it may, or sends a request that does not
/// decode, loses.
const FLOOD: ReputationChange = ReputationChange::new(-(1 << 10), "model requests over the limit");
const BAD_REQUEST: ReputationChange = ReputationChange::new(-(1 << 12), "malformed model request");
/// What a peer that served bytes of another hash loses.
const WRONG_BYTES: ReputationChange =
	ReputationChange::new_fatal("served a model's bytes that do not hash to it");

/// A request for `len` bytes of `model` from `offset`.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, Debug)]
pub struct ChunkRequest {
	/// The model's blake2-256 hash.
	pub model: [u8; 32],
	/// The first byte wanted.
	pub offset: u64,
	/// Bytes wanted, at most [`CHUNK_BYTES`].
	pub len: u32,
}

/// The answer to a [`ChunkRequest`].
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub enum ChunkResponse {
	/// The bytes asked for (fewer at the model's end).
	Chunk(Vec<u8>),
	/// The node does not serve this model.
	NotHeld,
	/// The asking peer is over its rate limit: ask again later.
	Busy,
}

/// The protocol's name on the chain whose genesis hash is `genesis`.
pub fn protocol_name(genesis: &[u8]) -> ProtocolName {
	format!("/{}/haca/models/1", HexDisplay::from(&genesis)).into()
}

/// Answers peers' chunk requests from the node's model store.
pub struct PeerServer {
	requests: async_channel::Receiver<IncomingRequest>,
	store: ModelStore,
	/// Per peer: the start of its current one-second window and its requests in it.
	windows: HashMap<PeerId, (Instant, u32)>,
}

impl PeerServer {
	/// The protocol's configuration, and the server of its requests when `serving` (without
	/// it the node fetches from peers but answers none).
	pub fn new<N: NetworkBackend<Block, <Block as sp_runtime::traits::Block>::Hash>>(
		protocol: ProtocolName,
		store: ModelStore,
		serving: bool,
	) -> (Option<Self>, N::RequestResponseProtocolConfig) {
		let (sender, requests) = async_channel::bounded(INBOUND_QUEUE);
		let max_response = u64::from(CHUNK_BYTES) + 16;
		let config = N::request_response_config(
			protocol,
			Vec::new(),
			ChunkRequest { model: [0; 32], offset: 0, len: 0 }.encoded_size() as u64,
			max_response,
			REQUEST_TIMEOUT,
			serving.then_some(sender),
		);
		let server = serving.then(|| Self { requests, store, windows: HashMap::new() });
		(server, config)
	}

	/// Answers requests until the network stops.
	pub async fn run(mut self) {
		while let Some(IncomingRequest { peer, payload, pending_response }) =
			self.requests.next().await
		{
			let (result, reputation_changes) = match ChunkRequest::decode(&mut &payload[..]) {
				Ok(request) => {
					let (response, cost) = self.answer(peer, request);
					(Ok(response.encode()), cost.into_iter().collect())
				}
				Err(error) => {
					log::debug!(target: LOG_TARGET, "peer {peer}: malformed model request: {error}");
					(Err(()), vec![BAD_REQUEST])
				}
			};
			let response = OutgoingResponse { result, reputation_changes, sent_feedback: None };
			let _ = pending_response.send(response);
		}
	}

	/// The answer to `peer`'s `request`, and what it costs the peer.
	fn answer(
		&mut self,
		peer: PeerId,
		request: ChunkRequest,
	) -> (ChunkResponse, Option<ReputationChange>) {
		if !self.within_limit(peer) {
			log::debug!(target: LOG_TARGET, "peer {peer}: over its model request limit, refused");
			return (ChunkResponse::Busy, Some(FLOOD));
		}
		let len = request.len.min(CHUNK_BYTES);
		match self.store.read_chunk(&request.model, request.offset, len) {
			Some(chunk) => (ChunkResponse::Chunk(chunk), None),
			None => (ChunkResponse::NotHeld, None),
		}
	}

	/// Counts a request of `peer`; whether it is within [`PEER_REQUESTS_PER_SECOND`].
	fn within_limit(&mut self, peer: PeerId) -> bool {
		let now = Instant::now();
		let second = Duration::from_secs(1);
		if self.windows.len() > 1024 {
			self.windows.retain(|_, (start, _)| now.duration_since(*start) < second);
		}
		let (start, count) = self.windows.entry(peer).or_insert((now, 0));
		if now.duration_since(*start) >= second {
			(*start, *count) = (now, 0);
		}
		*count += 1;
		*count <= PEER_REQUESTS_PER_SECOND
	}
}

/// The node's connected peers, as a source of models.
#[derive(Clone)]
pub struct PeerSource {
	/// The network to send requests on.
	pub network: Arc<dyn NetworkService>,
	/// Who the node is connected to.
	pub sync: Arc<SyncingService<Block>>,
	/// The protocol's name.
	pub protocol: ProtocolName,
	/// Longest one peer may take to serve the rest of a model.
	pub timeout: Duration,
}

impl PeerSource {
	/// The model `hash` of `size` bytes from the connected peers, each asked in turn; each
	/// peer dropped, with why.
	pub async fn fetch(
		&self,
		hash: &[u8; 32],
		size: u64,
	) -> Result<(Vec<u8>, Vec<(String, FetchError)>), Vec<(String, FetchError)>> {
		let peers: Vec<PeerId> = match self.sync.peers_info().await {
			Ok(peers) => peers.into_iter().map(|(peer, _)| peer).collect(),
			Err(_) => Vec::new(),
		};
		let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(64 << 20));
		let (mut served, mut dropped) = (Vec::new(), Vec::new());
		for peer in peers {
			let before = bytes.len();
			// A peer that answers each chunk just in time is cut off as a hanging locator is.
			let failure =
				tokio::time::timeout(self.timeout, self.fetch_from(peer, hash, size, &mut bytes))
					.await
					.unwrap_or(Err(FetchError::Timeout(self.timeout)))
					.err();
			if bytes.len() > before {
				served.push(peer);
			}
			if let Some(failure) = failure {
				dropped.push((format!("peer {peer}"), failure));
				continue;
			}
			let found = sp_crypto_hashing::blake2_256(&bytes);
			if found == *hash {
				return Ok((bytes, dropped));
			}
			// Wrong bytes: from the one peer that served them all, it is reported; from
			// several, which one lied is unknown, and all are dropped.
			let found = FetchError::HashMismatch(HexDisplay::from(&found).to_string());
			log::warn!(
				target: LOG_TARGET,
				"model 0x{}: peers {served:?}: {found}",
				HexDisplay::from(hash)
			);
			if let [liar] = served[..] {
				self.network.report_peer(liar, WRONG_BYTES);
			}
			dropped.extend(served.drain(..).map(|peer| (format!("peer {peer}"), found.clone())));
			bytes.clear();
		}
		Err(dropped)
	}

	/// Appends the rest of the model, from `bytes.len()`, as `peer` serves it.
	async fn fetch_from(
		&self,
		peer: PeerId,
		hash: &[u8; 32],
		size: u64,
		bytes: &mut Vec<u8>,
	) -> Result<(), FetchError> {
		let mut busy = 0;
		while (bytes.len() as u64) < size {
			let offset = bytes.len() as u64;
			let len = (size - offset).min(CHUNK_BYTES.into()) as u32;
			let request = ChunkRequest { model: *hash, offset, len };
			let answer = self
				.network
				.request(
					peer,
					self.protocol.clone(),
					request.encode(),
					None,
					IfDisconnected::ImmediateError,
				)
				.await
				.map_err(|error| FetchError::Connection(error.to_string()))?;
			let response = ChunkResponse::decode(&mut &answer.0[..])
				.map_err(|error| FetchError::Connection(format!("undecodable answer: {error}")))?;
			match response {
				ChunkResponse::Chunk(chunk) if chunk.len() as u64 > u64::from(len) => {
					return Err(FetchError::TooLong(size))
				}
				ChunkResponse::Chunk(chunk) if chunk.len() as u64 != u64::from(len) => {
					return Err(FetchError::TooShort { got: offset + chunk.len() as u64, size })
				}
				ChunkResponse::Chunk(chunk) => bytes.extend_from_slice(&chunk),
				ChunkResponse::NotHeld => return Err(FetchError::NotHeld),
				ChunkResponse::Busy if busy < BUSY_RETRIES => {
					busy += 1;
					tokio::time::sleep(Duration::from_secs(1)).await;
				}
				ChunkResponse::Busy => return Err(FetchError::Busy),
			}
		}
		Ok(())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_peer_over_its_limit_is_refused_until_its_next_second() {
		let dir = std::env::temp_dir().join(format!("haca-peers-{}", std::process::id()));
		let store = ModelStore::new(&dir, 1 << 20);
		let model = b"a model".to_vec();
		let hash = sp_crypto_hashing::blake2_256(&model);
		store.insert(&hash, &model, &[]).unwrap();
		let (_, requests) = async_channel::bounded(1);
		let mut server = PeerServer { requests, store, windows: HashMap::new() };
		let (flooder, other) = (PeerId::random(), PeerId::random());
		let request = ChunkRequest { model: hash, offset: 2, len: 3 };
		for _ in 0..PEER_REQUESTS_PER_SECOND {
			assert_eq!(
				server.answer(flooder, request),
				(ChunkResponse::Chunk(b"mod".to_vec()), None)
			);
		}
		assert_eq!(server.answer(flooder, request), (ChunkResponse::Busy, Some(FLOOD)));
		// Other peers are served meanwhile, and a model the node lacks is not held.
		assert_eq!(server.answer(other, request).0, ChunkResponse::Chunk(b"mod".to_vec()));
		let unknown = ChunkRequest { model: [7; 32], ..request };
		assert_eq!(server.answer(other, unknown).0, ChunkResponse::NotHeld);
		// A new second, a new allowance.
		server.windows.get_mut(&flooder).unwrap().0 -= Duration::from_secs(1);
		assert_eq!(server.answer(flooder, request).0, ChunkResponse::Chunk(b"mod".to_vec()));
		// A request for more than a chunk gets a chunk.
		let long = vec![1u8; CHUNK_BYTES as usize + 10];
		let long_hash = sp_crypto_hashing::blake2_256(&long);
		server.store = ModelStore::new(&dir, 4 << 20);
		server.store.insert(&long_hash, &long, &[]).unwrap();
		let all = ChunkRequest { model: long_hash, offset: 0, len: u32::MAX };
		match server.answer(other, all).0 {
			ChunkResponse::Chunk(chunk) => assert_eq!(chunk.len(), CHUNK_BYTES as usize),
			answer => panic!("{answer:?}"),
		}
		let _ = std::fs::remove_dir_all(dir);
	}
}
