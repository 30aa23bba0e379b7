#!/usr/bin/env bash
# One-time set-up of a Debian machine (with rustup) for building and testing HACA chain.
#
# Installs the system packages the Substrate build needs, makes the runtime's wasm build
# work, and writes an untracked `.cargo/config.toml` so that plain `cargo build` /
# `cargo test` need no environment typed by hand. Safe to run again: finished steps are
# detected and skipped. Run as root, or as a user with sudo.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$HOME/.cache/haca-target}
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"

log() { printf '[setup] %s\n' "$*"; }

apt_install() {
	local missing=()
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing Debian packages: ${missing[*]}"
	$sudo_cmd apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
}

# --- 1. System packages for the native build -----------------------------------------
apt_install protobuf-compiler clang libclang-dev pkg-config make g++

# Node.js (>= 20.10) and npm for the JavaScript client and its end-to-end tests: Debian's
# packages when the machine has none; Node 20 from the npm registry when Debian's is older.
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
node_is_recent() {
	node -e 'const [a, b] = process.versions.node.split(".").map(Number);
		process.exit(a > 20 || (a === 20 && b >= 10) ? 0 : 1)'
}
if ! node_is_recent; then
	log "installing Node.js 20 from the npm registry into /usr/local"
	$sudo_cmd npm install -g --prefix /usr/local node@20
	hash -r
	node_is_recent || { log "Node.js >= 20.10 is needed (have $(node --version))"; exit 1; }
fi

# --- 2. The wasm32 target for the runtime --------------------------------------------
# Preferred: rustup's own targets. Fallback (rustup cannot download components): Debian's
# rustc-web toolchain with its library sources, linked into rustup as `debian-web`, and a
# `wasm32v1-none` sysroot built once from those sources.
wasm_env=""
has_rustup_wasm() {
	rustup target list --installed 2>/dev/null | grep -qE '^wasm32(v1-none|-unknown-unknown)$' &&
		rustup component list --installed 2>/dev/null | grep -q '^rust-src'
}

debian_sysroot=/usr/lib/rustlib/wasm32v1-none/lib
wasm_ld=/usr/lib/llvm-19/bin/wasm-ld

build_debian_sysroot() {
	apt_install rustc-web cargo-web rust-web-src lld-19
	rustup toolchain list | grep -q '^debian-web' || rustup toolchain link debian-web /usr
	if ls "$debian_sysroot"/libcore-*.rlib >/dev/null 2>&1; then
		return 0
	fi
	log "building a wasm32v1-none sysroot (core, alloc) from Debian's Rust sources"
	local probe
	probe=$(mktemp -d)
	mkdir -p "$probe/src"
	cat >"$probe/Cargo.toml" <<'TOML'
[package]
name = "sysroot-probe"
version = "0.0.0"
edition = "2021"
[lib]
crate-type = ["cdylib"]
[profile.release]
panic = "abort"
TOML
	cat >"$probe/src/lib.rs" <<'RS'
#![no_std]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! { loop {} }
RS
	(cd "$probe" && CARGO_TARGET_DIR="$probe/target" RUSTFLAGS="-C embed-bitcode=yes" RUSTC_BOOTSTRAP=1 \
		CARGO_TARGET_WASM32V1_NONE_LINKER="$wasm_ld" \
		cargo +debian-web build --quiet --release --target wasm32v1-none -Zbuild-std=core,alloc)
	$sudo_cmd mkdir -p "$debian_sysroot"
	$sudo_cmd cp "$probe"/target/wasm32v1-none/release/deps/lib{core,alloc,compiler_builtins}-*.rlib "$debian_sysroot/"
	rm -rf "$probe"
	# The wasm builder's cached std artefacts refer to the old sysroot.
	rm -rf "$target_dir"/*/wbuild
}

# HACA_WASM_ROUTE=debian forces the fallback (to test it on a machine where rustup works).
if [ "${HACA_WASM_ROUTE:-auto}" = debian ]; then
	build_debian_sysroot
	wasm_env=debian
elif has_rustup_wasm; then
	log "rustup already has a wasm32 target and rust-src"
elif [ -x "$wasm_ld" ] && ls "$debian_sysroot"/libcore-*.rlib >/dev/null 2>&1; then
	log "using the Debian wasm toolchain set up earlier"
	wasm_env=debian
elif timeout 60 rustup target add wasm32v1-none >/dev/null 2>&1 &&
	timeout 60 rustup component add rust-src >/dev/null 2>&1; then
	log "installed wasm32v1-none and rust-src with rustup"
else
	log "rustup cannot add the wasm target here; using Debian's rustc-web route"
	build_debian_sysroot
	wasm_env=debian
fi

# The test suite checks formatting and lints: rustup's rustfmt and clippy (in its default
# profile; added here for minimal installs).
for component in rustfmt clippy; do
	rustup component list --installed 2>/dev/null | grep -q "^$component" ||
		timeout 120 rustup component add "$component" >/dev/null 2>&1 ||
		log "rustup could not add $component; install it before running the tests"
done

# --- 3. Cargo configuration (untracked) ----------------------------------------------
mkdir -p "$repo_root/.cargo"
{
	echo "# Written by scripts/setup.sh; not committed. Re-run the script to regenerate."
	echo "[build]"
	echo "target-dir = \"$target_dir\""
	if [ "$wasm_env" = debian ]; then
		echo
		echo "[env]"
		echo "WASM_BUILD_TOOLCHAIN = \"debian-web\""
		echo "CARGO_TARGET_WASM32V1_NONE_LINKER = \"$wasm_ld\""
	fi
} >"$repo_root/.cargo/config.toml"
log "wrote .cargo/config.toml (target dir: $target_dir)"

# --- 4. JavaScript packages (pinned by their package-lock.json); the web page links the JS
# client (clients/js) and is tested in Debian's Chromium.
apt_install chromium
for package in clients/js clients/web zombienet; do
	lock="$repo_root/$package/package-lock.json"
	installed="$repo_root/$package/node_modules/.package-lock.json"
	if [ ! -f "$installed" ] || [ "$lock" -nt "$installed" ]; then
		log "installing the npm packages of $package"
		(cd "$repo_root/$package" && npm ci --no-audit --no-fund --loglevel=error)
	fi
done

# --- 5. Python packages (model generation, ONNX conformance), in a virtual environment ---
apt_install python3-venv
venv="$target_dir/haca-venv"
requirements="$repo_root/scripts/python-requirements.txt"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! cmp -s "$requirements" "$venv/.haca-requirements"; then
	log "installing the Python packages of scripts/python-requirements.txt into $venv"
	"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
	cp "$requirements" "$venv/.haca-requirements"
fi

# --- 6. Heavy models (a ResNet-18, a BERT-tiny), generated, not downloaded: too large for the
# repository, they are what off-chain registration, fetching and the benchmarks are tried on.
heavy="$repo_root/offchain-workers/models/heavy"
stamp="$(sha256sum "$repo_root/scripts/gen_heavy_models.py" "$repo_root/scripts/gen_exports.py" \
	"$requirements" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$heavy/.generated-by" 2>/dev/null)" != "$stamp" ]; then
	log "generating the heavy models into $heavy"
	rm -rf "$heavy"
	(cd "$repo_root/scripts" && "$venv/bin/python" gen_heavy_models.py "$heavy")
	echo "$stamp" > "$heavy/.generated-by"
fi
