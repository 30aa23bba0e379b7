//! A local HTTP server of a model, standing for the locators a model is registered with.

use std::{
	io::{Read, Write},
	net::{TcpListener, TcpStream},
	sync::atomic::{AtomicUsize, Ordering},
	sync::Arc,
	time::Duration,
};

/// A local HTTP server of the model, on a free port, answering each path its way: `/good`
/// the model, `/wrong` other bytes of its size, `/long` the model and more, `/hang` never,
/// `/flaky` 503 the first time and then the model, any other 404. Its threads end with the
/// test process.
pub fn serve(model: Vec<u8>) -> String {
	let listener = TcpListener::bind("127.0.0.1:0").unwrap();
	let address = listener.local_addr().unwrap();
	let flaky = Arc::new(AtomicUsize::new(0));
	std::thread::spawn(move || {
		for stream in listener.incoming() {
			let (model, flaky) = (model.clone(), flaky.clone());
			std::thread::spawn(move || answer(stream.unwrap(), &model, &flaky));
		}
	});
	format!("http://{address}")
}

fn answer(mut stream: TcpStream, model: &[u8], flaky: &AtomicUsize) {
	let mut request = Vec::new();
	let mut buffer = [0u8; 1024];
	while !request.windows(4).any(|window| window == b"\r\n\r\n") {
		match stream.read(&mut buffer) {
			Ok(0) | Err(_) => return,
			Ok(read) => request.extend_from_slice(&buffer[..read]),
		}
	}
	let request = String::from_utf8_lossy(&request);
	let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
	let ok = |body: &[u8]| {
		let mut response =
			format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
		response.extend_from_slice(body);
		response
	};
	let status = |code: &str| format!("HTTP/1.1 {code}\r\nContent-Length: 0\r\n\r\n").into_bytes();
	let response = match path.as_str() {
		"/good" => ok(model),
		"/wrong" => ok(&vec![7u8; model.len()]),
		"/long" => ok(&[model, b"and more"].concat()),
		"/hang" => {
			std::thread::sleep(Duration::from_secs(60));
			return;
		}
		"/flaky" if flaky.fetch_add(1, Ordering::SeqCst) == 0 => status("503 Service Unavailable"),
		"/flaky" => ok(model),
		_ => status("404 Not Found"),
	};
	let _ = stream.write_all(&response);
}
